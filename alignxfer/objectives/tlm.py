"""TLM (Conneau & Lample 2019): masked LM on the concatenated pair ``[CLS] x [SEP] y [SEP]``.

* Both sides are masked independently with BERT's 80/10/10 rule at ``mask_prob`` (special tokens
  never), so a masked word can be recovered from its translation.
* Segment (token type) ids are 0 on both sides: the base never trained segment 1 (its embedding
  is still at its initialisation) and fine-tuning and test never use it, so TLM must not train
  with an embedding test time never sees. The ``[SEP]`` between the sides (and, with
  ``reset_positions``, the restarted positions) mark the boundary.
* ``reset_positions`` (XLM-style, default true): position ids restart for the second sentence.
  ``[CLS] x [SEP]`` takes positions 0..n+1 and ``y [SEP]`` takes 1..m+1, i.e. every subword of
  ``y`` sits at the very position it has when ``y`` is encoded alone as ``[CLS] y [SEP]`` (the
  restart skips position 0, which only ever holds ``[CLS]``). With ``reset_positions: false``
  positions run 0..n+m+2 across the pair.
* Each side is truncated to ``max_length - 2`` content subwords like every other arm, so the
  packed sequence has at most ``2 * max_length - 1`` positions.
* Loss: mean cross-entropy over the masked tokens of both sides.
"""

from __future__ import annotations

import torch

from ..data import mask_tokens, pad_batch
from ..modeling import encode, mean_of, mlm_loss_sum
from . import TLMOptions
from .base import Objective


class TLMObjective(Objective):
    name = "tlm"
    options_type = TLMOptions

    def check_model(self, model):
        max_pos = getattr(model.config, "max_position_embeddings", None)
        needed = 2 * self.max_length - 1 if not self.options["reset_positions"] else self.max_length
        if max_pos is not None and needed > max_pos:
            raise ValueError(
                f"objective 'tlm': a packed pair needs {needed} positions but the model has "
                f"max_position_embeddings {max_pos}"
            )

    def collate(self, examples, generator):
        sp = self.specials
        seqs, types, positions = [], [], []
        for e in examples:
            n, m = len(e.src), len(e.tgt)
            seqs.append([sp.cls, *e.src, sp.sep, *e.tgt, sp.sep])
            types.append([0] * (n + m + 3))
            if self.options["reset_positions"]:
                positions.append(list(range(n + 2)) + list(range(1, m + 2)))
            else:
                positions.append(list(range(n + m + 3)))
        ids, attn = pad_batch(seqs, sp.pad)
        token_type_ids, _ = pad_batch(types, 0)
        position_ids, _ = pad_batch(positions, 0)
        candidates = torch.zeros_like(attn, dtype=torch.bool)
        segment = torch.zeros_like(attn, dtype=torch.bool)  # True on content of y
        for row, e in enumerate(examples):
            n, m = len(e.src), len(e.tgt)
            candidates[row, 1 : 1 + n] = True
            candidates[row, n + 2 : n + 2 + m] = True
            segment[row, n + 2 : n + 2 + m] = True
        p = self.options["mask_prob"]
        # mask each side separately at rate p (so each side gets its own share of masks)
        inputs, labels_x = mask_tokens(ids, candidates & ~segment, p, generator, sp)
        inputs, labels_y = mask_tokens(inputs, candidates & segment, p, generator, sp)
        labels = torch.where(labels_x != -100, labels_x, labels_y)
        return {
            "pair": {
                "input_ids": inputs,
                "attention_mask": attn,
                "token_type_ids": token_type_ids,
                "position_ids": position_ids,
                "labels": labels,
            }
        }

    def loss(self, model, batch):
        b = batch["pair"]
        hidden = encode(model, b["input_ids"], b["attention_mask"], b["token_type_ids"], b["position_ids"])
        total, count = mlm_loss_sum(model, hidden, b["labels"])
        return mean_of(total, count), {}
