"""The training loop of every stage: one function for pre-training and fine-tuning, one process or many.

:func:`train` runs ``steps`` optimizer steps of an objective (:class:`alignxfer.objectives.base.Objective`,
or fine-tuning's task loss, :class:`alignxfer.tasks.base.TaskLoss`):
AdamW with linear warmup and decay (:mod:`.optim`), gradient accumulation (``batch_size`` is the
micro-batch of one forward pass; a step consumes ``gradient_accumulation`` of them), gradient-norm
clipping, bf16 autocast where native (:mod:`.precision`), the length-bucketed step stream
(:class:`.batching.BucketBatcher`), resumable checkpoints (:mod:`.checkpoints`) and a history of
windowed means. The ``group`` (:mod:`.group`) decides which micro-batches this process computes
and sums gradients and logged values across processes; its one-process form does neither.
Fine-tuning passes its own step stream (``batcher``: :class:`.batching.EpochBatches`) and an
``on_step`` hook that scores dev at the end of each epoch, keeps the best epoch and may stop early.

Reproducibility: the data order and every masking decision derive statelessly from
``(seed, epoch)`` / ``(seed, step, micro-batch)``; dropout draws from torch's global generator,
whose state is checkpointed; a resumed run ends with bit-identical weights.
"""

from __future__ import annotations

import time

from alignxfer import console
from alignxfer import data as D
from alignxfer.io import write_jsonl
from alignxfer.modeling import count_parameters

from .batching import BucketBatcher
from .checkpoints import fingerprint as settings_fingerprint
from .checkpoints import load_checkpoint, rng_state, save_checkpoint, set_rng_state
from .group import SingleProcess
from .optim import linear_schedule, make_optimizer, optimizer_step, warmup_steps
from .precision import autocast, resolve_bf16
from .runtime import select_device


class _Window:
    """Sums of the loss components over the steps since the last history record."""

    def __init__(self, names: list[str], saved: dict | None = None):
        self.names = names
        self.sums = {n: 0.0 for n in names}
        self.steps, self.tokens = 0, 0
        if saved is not None:  # partial sums of the logging window a checkpoint fell into
            self.sums = {n: float(saved["sums"][n]) for n in names}
            self.steps = int(saved["steps"])

    def add(self, values: dict, tokens: int) -> None:
        for n in self.names:
            self.sums[n] += values[n]
        self.steps += 1
        self.tokens += tokens

    def means(self) -> dict:
        return {n: self.sums[n] / self.steps for n in self.names}

    def reset(self) -> None:
        self.sums = {n: 0.0 for n in self.names}
        self.steps, self.tokens = 0, 0

    def state(self) -> dict:
        return {"sums": self.sums, "steps": self.steps}


def _micro_steps(
    model, objective, examples, batcher, group, *, seed, step, accumulation, device, use_bf16, names
) -> tuple[dict, int]:
    """Forward and backward of this process's micro-batches of one optimizer step; returns the
    step's loss components (means over the micro-batches), its tokens and its examples."""
    values = {n: 0.0 for n in names}
    tokens = examples_seen = 0
    for micro in range(accumulation):
        indices = batcher.next()
        if not group.owns(micro):
            continue  # another rank's micro-batch (every rank reads every batch: same data position)
        batch = objective.collate([examples[i] for i in indices], D.stateless_generator(seed, step, micro))
        n_tokens = objective.tokens(batch)
        batch = D.move(batch, device)
        with autocast(device, use_bf16):
            loss, parts = objective.loss(model, batch)
        (loss / accumulation).backward()
        values["loss"] += float(loss.detach()) / accumulation
        for c in objective.components:
            values[f"loss_{c}"] += float(parts[c]) / accumulation
        tokens += n_tokens
        examples_seen += len(indices)
    return values, tokens, examples_seen


def train(
    model,
    objective,
    examples: list,
    *,
    steps: int,
    batch_size: int,
    learning_rate: float,
    warmup_ratio: float = 0.0,
    weight_decay: float = 0.0,
    gradient_accumulation: int = 1,
    max_grad_norm: float | None = 1.0,
    seed: int = 0,
    bf16="auto",
    device=None,
    checkpoint_dir=None,
    checkpoint_every: int = 0,
    settings: dict | None = None,
    history_path=None,
    log_every: int = 10,
    callback=None,
    label: str = "",
    group=None,
    batcher=None,
    on_step=None,
) -> dict:
    """Train ``model`` in place on ``objective`` for ``steps`` optimizer steps; returns a summary.

    ``settings`` (JSON-able) joins the loop's own hyperparameters in the checkpoint fingerprint.
    ``callback(step, metrics)`` receives every history record. ``group``: this process's
    :class:`~.group.Group` in a data-parallel run (started by :func:`alignxfer.parallel.run`);
    only its main process prints, calls ``callback`` and writes the history and checkpoints.
    None: :class:`~.group.SingleProcess`. ``batcher``: the step stream (None: a
    :class:`~.batching.BucketBatcher` of ``batch_size`` seeded by ``seed``). ``log_every`` 0: no
    history records. ``on_step(step, values, examples, lr)``, after every optimizer step with the
    step's loss components, its examples and the learning rate of the next step: True stops the run.
    """
    group = group or SingleProcess()
    device = select_device(device)
    use_bf16 = resolve_bf16(bf16, device)
    accumulation = int(gradient_accumulation)
    model.to(device)
    group.start(model, seed)
    objective.check_model(model)
    objective.setup(model, device)
    model.train()
    optimizer = make_optimizer(model, learning_rate, weight_decay)
    scheduler = linear_schedule(optimizer, steps, warmup_steps(steps, warmup_ratio))
    batcher = batcher or BucketBatcher([objective.length(e) for e in examples], batch_size, seed)
    params = [p for p in model.parameters() if p.requires_grad]
    fingerprint = settings_fingerprint(
        {
            "settings": settings or {},
            "objective": objective.name,
            "options": objective.options,
            "steps": steps,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "warmup_ratio": warmup_ratio,
            "weight_decay": weight_decay,
            "gradient_accumulation": accumulation,
            "max_grad_norm": max_grad_norm,
            "seed": seed,
            "bf16": use_bf16,
            "examples": len(examples),
            "parameters": count_parameters(model),
        }
    )
    state = load_checkpoint(checkpoint_dir, fingerprint, device) if checkpoint_dir is not None else None
    step, history, elapsed_before, saved_window = _resume(state, model, optimizer, scheduler, batcher, group)
    resumed_from = step
    if state is not None and group.main:
        print(f"[{label}] resumed from step {step} ({checkpoint_dir})", flush=True)

    names = ["loss"] + [f"loss_{c}" for c in objective.components]
    window = _Window(names, saved_window)
    run_tokens = 0
    t_run = time.perf_counter()
    t_window = t_run

    while step < steps:
        optimizer.zero_grad(set_to_none=True)
        lr = scheduler.get_last_lr()[0]
        step_values, step_tokens, step_examples = _micro_steps(
            model,
            objective,
            examples,
            batcher,
            group,
            seed=seed,
            step=step,
            accumulation=accumulation,
            device=device,
            use_bf16=use_bf16,
            names=names,
        )
        *summed, step_tokens = group.reduce_step(params, [step_values[n] for n in names] + [step_tokens])
        step_values = dict(zip(names, summed))
        step_tokens = int(round(step_tokens))
        run_tokens += step_tokens
        optimizer_step(params, optimizer, scheduler, max_grad_norm)
        step += 1
        window.add(step_values, step_tokens)

        record = None
        if log_every and (step % log_every == 0 or step == steps):
            now = time.perf_counter()
            record = {
                "step": step,
                **window.means(),
                "lr": lr,
                "tokens_per_s": window.tokens / max(now - t_window, 1e-9),
                "elapsed_s": elapsed_before + now - t_run,
            }
            history.append(record)
            if group.main:
                _print_record(label, record, names, steps, resumed_from, now - t_run)
            window.reset()
            t_window = now

        if checkpoint_dir is not None and checkpoint_every and step % checkpoint_every == 0 and step < steps:
            _save(
                checkpoint_dir,
                fingerprint,
                group,
                model,
                optimizer,
                scheduler,
                batcher,
                step=step,
                history=history,
                window=window,
                elapsed_s=elapsed_before + time.perf_counter() - t_run,
            )

        if record is not None and callback is not None and group.main:
            callback(step, dict(record))
        if on_step is not None and on_step(step, step_values, step_examples, scheduler.get_last_lr()[0]):
            break

    run_time = time.perf_counter() - t_run
    if history_path is not None and group.main:
        write_jsonl(history_path, history)
    return _summary(
        objective,
        steps,
        resumed_from,
        examples,
        model,
        use_bf16,
        device,
        names,
        history,
        tokens_per_s=run_tokens / max(run_time, 1e-9),
        elapsed_s=elapsed_before + run_time,
    )


def _resume(state: dict | None, model, optimizer, scheduler, batcher, group) -> tuple[int, list, float, dict | None]:
    """Load a checkpoint's state into the run; ``(step, history, elapsed_s, logging window)`` (zeros without one)."""
    if state is None:
        return 0, [], 0.0, None
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    batcher.load_state_dict(state["data"])
    rng = group.rng_state_of_checkpoint(state)
    if rng is not None:
        set_rng_state(rng)
    return int(state["step"]), list(state["history"]), float(state["elapsed_s"]), state["window"]


def _save(
    checkpoint_dir,
    fingerprint: str,
    group,
    model,
    optimizer,
    scheduler,
    batcher,
    *,
    step: int,
    history: list,
    window: _Window,
    elapsed_s: float,
) -> None:
    """Write a checkpoint (the main process; every process's RNG state when there are several)."""
    rng = rng_state()
    rng_ranks = group.gather(rng)
    if not group.main:
        return
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "data": batcher.state_dict(),
        "rng": rng,
        "step": step,
        "history": history,
        "window": window.state(),
        "elapsed_s": elapsed_s,
    }
    if rng_ranks is not None:
        state["rng_ranks"] = rng_ranks
    save_checkpoint(checkpoint_dir, step, state, fingerprint)


def _print_record(
    label: str, record: dict, names: list[str], steps: int, resumed_from: int, run_seconds: float
) -> None:
    parts_text = " ".join(f"{n} {record[n]:.4f}" for n in names)
    step = record["step"]
    print(
        f"{console.label(label)} step {step}/{steps} {parts_text} lr {record['lr']:.3e} "
        f"{record['tokens_per_s']:.0f} tok/s {record['elapsed_s']:.1f}s, "
        f"ETA {console.eta(step - resumed_from, steps - resumed_from, run_seconds)}",
        flush=True,
    )


def _summary(
    objective,
    steps,
    resumed_from,
    examples,
    model,
    use_bf16,
    device,
    names,
    history,
    *,
    tokens_per_s: float,
    elapsed_s: float,
) -> dict:
    summary = {
        "objective": objective.name,
        "steps": steps,
        "resumed_from_step": resumed_from,
        "examples": len(examples),
        "parameters": count_parameters(model),
        "bf16": use_bf16,
        "device": str(device),
        "tokens_per_s": tokens_per_s,
        "elapsed_s": elapsed_s,
    }
    last = history[-1] if history else {}
    for n in names:
        if n in last:
            summary[f"final_{n}"] = last[n]
    return summary
