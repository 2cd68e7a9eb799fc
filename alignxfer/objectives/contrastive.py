"""Contrastive sentence alignment (LaBSE-style translation ranking), plus MLM to keep the head sensible.

Choices, exactly:

* Sentence vectors: each side is encoded **unmasked** as ``[CLS] s [SEP]``; ``pooling: mean``
  averages the last-layer vectors of all non-padding positions (``[CLS]`` and ``[SEP]`` included,
  as sentence-transformers do); ``pooling: cls`` takes the ``[CLS]`` vector (no extra pooler layer,
  the MLM model has none). Vectors are L2-normalised: similarities are cosines, computed in fp32.
* Ranking loss (Feng et al. 2020, additive margin softmax, bidirectional, in-batch negatives):
  S = cos(u_i, v_k) over the batch; logits = ``scale`` * (S - ``margin`` * I);
  L_rank = CE(logits, diag) + CE(logits^T, diag), i.e. x->y plus y->x as in LaBSE (summed, not
  averaged). ``scale`` 20 is SimCSE's temperature 0.05; ``margin`` 0.3 is LaBSE's.
* False negatives: the pooled bitext holds the same English unit paired with several languages
  (and repeated synopses); an off-diagonal entry whose English sides, or whose other sides, are
  identical token sequences is a translation too, so it is excluded from the softmax (set to -inf)
  rather than pushed apart.
* MLM: when ``mlm_weight`` > 0 each side is also fed a second time, BERT-masked at ``mask_prob``,
  in the same forward pass (the clean and masked copies have the same length, so they are stacked
  into one batch of 2B rows per side); L_mlm is the mean cross-entropy over the masked tokens of
  both sides. The ranking loss never sees masked inputs (retrieval and fine-tuning read clean
  text). ``mlm_weight: 0`` drops the masked copies entirely.
* L = L_rank + ``mlm_weight`` * L_mlm; logged as ``loss_rank`` and ``loss_mlm``.

Wu & Dredze's word-level InfoNCE variant is not implemented (one more module would add it).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..data import encode_side, mask_tokens
from ..modeling import encode, mean_of, mlm_loss_sum
from . import ContrastiveOptions
from .base import Objective


def pool(hidden: torch.Tensor, attention_mask: torch.Tensor, how: str) -> torch.Tensor:
    if how == "cls":
        return hidden[:, 0]
    if how == "mean":
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)
    raise ValueError(f"pooling must be 'mean' or 'cls', got {how!r}")


def ranking_loss(u: torch.Tensor, v: torch.Tensor, margin: float, scale: float, exclude=None) -> torch.Tensor:
    """Bidirectional additive-margin softmax loss over in-batch negatives (u_i matches v_i)."""
    u = F.normalize(u.float(), dim=-1)
    v = F.normalize(v.float(), dim=-1)
    sim = u @ v.T
    eye = torch.eye(len(u), dtype=torch.bool, device=u.device)
    logits = scale * (sim - margin * eye.to(sim.dtype))
    if exclude is not None:
        logits = logits.masked_fill(exclude & ~eye, float("-inf"))
    target = torch.arange(len(u), device=u.device)
    return F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)


class ContrastiveObjective(Objective):
    name = "contrastive"
    components = ("rank", "mlm")
    options_type = ContrastiveOptions

    def __init__(self, options, specials, max_length):
        super().__init__(options, specials, max_length)
        if self.options["pooling"] not in ("mean", "cls"):
            raise ValueError(f"contrastive.pooling must be 'mean' or 'cls', got {self.options['pooling']!r}")

    def _side(self, contents, generator) -> dict:
        side = encode_side(contents, self.specials)
        if self.options["mlm_weight"] > 0:
            masked, labels = mask_tokens(
                side["input_ids"], side["content"], self.options["mask_prob"], generator, self.specials
            )
            side = {
                "input_ids": torch.cat([side["input_ids"], masked]),
                "attention_mask": side["attention_mask"].repeat(2, 1),
                "labels": torch.cat([torch.full_like(labels, -100), labels]),
            }
        return side

    def collate(self, examples, generator):
        src = [tuple(e.src) for e in examples]
        tgt = [tuple(e.tgt) for e in examples]
        same = torch.tensor([[a == b or c == d for b, d in zip(src, tgt)] for a, c in zip(src, tgt)], dtype=torch.bool)
        return {
            "x": self._side([e.src for e in examples], generator),
            "y": self._side([e.tgt for e in examples], generator),
            "same": same,
        }

    def loss(self, model, batch):
        x, y = batch["x"], batch["y"]
        n = batch["same"].shape[0]
        hx = encode(model, x["input_ids"], x["attention_mask"])
        hy = encode(model, y["input_ids"], y["attention_mask"])
        how = self.options["pooling"]
        u = pool(hx[:n], x["attention_mask"][:n], how)
        v = pool(hy[:n], y["attention_mask"][:n], how)
        rank = ranking_loss(u, v, float(self.options["margin"]), float(self.options["scale"]), batch["same"])
        if self.options["mlm_weight"] > 0:
            sx, nx = mlm_loss_sum(model, hx, x["labels"])
            sy, ny = mlm_loss_sum(model, hy, y["labels"])
            mlm = mean_of(sx + sy, nx + ny)
            loss = rank + float(self.options["mlm_weight"]) * mlm
        else:
            mlm = torch.zeros((), device=rank.device)
            loss = rank
        return loss, {"rank": rank.detach(), "mlm": mlm.detach()}
