"""What pre-training (:mod:`alignxfer.pretraining`) and fine-tuning (:mod:`alignxfer.tasks.base`) share.

* :mod:`.precision` -- one bf16 probe (``auto``: native bf16 only, :func:`alignxfer.devices.native_bf16`)
  and the autocast context;
* :mod:`.runtime` -- the device (first CUDA GPU, else the CPU) and torch's thread count;
* :mod:`.optim` -- AdamW without decay on biases and LayerNorm weights, the linear warmup/decay
  schedule, a config section's optimisation settings;
* :mod:`.batching` -- length-bucketed batches: the step stream of pre-training and the epochs of
  fine-tuning, and sorted evaluation batches;
* :mod:`.checkpoints` -- resumable state, written atomically, matched by a settings fingerprint;
* :mod:`.saving` -- a model with its tokenizer and card, saved atomically;
* :mod:`.group` -- the process group the loop talks to: :class:`~.group.SingleProcess` (rank 0 of
  one: owns every micro-batch, reductions return their input) or a ``torch.distributed``
  :class:`~.group.Group` (:mod:`alignxfer.parallel` starts the ranks);
* :mod:`.loop` -- the step loop of pre-training (:func:`~.loop.train`).

Nothing here imports :mod:`alignxfer.pretraining` or :mod:`alignxfer.parallel` (no import circle:
both import from here). This ``__init__`` imports nothing, so ``alignxfer.data`` can use
:mod:`.batching` without pulling in the loop.
"""
