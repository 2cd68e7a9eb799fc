"""MLM: BERT masked language modelling on each side of the bitext as independent sentences.

The control arm: the same pairs, the same steps, only monolingual prediction. Each side is
encoded on its own as ``[CLS] x [SEP]`` / ``[CLS] y [SEP]`` (each padded to its own longest row)
and masked with BERT's 80/10/10 rule at ``mask_prob``. The loss is the mean cross-entropy over all
masked tokens of both sides (every masked token weighs the same, as if the 2B sentences formed one
batch).

:class:`SentenceMLM` is the same loss on single sentences: the from-scratch base model's objective.
"""

from __future__ import annotations

from ..data import encode_side, mask_tokens
from ..modeling import encode, mean_of, mlm_loss_sum
from . import MaskOptions
from .base import Objective


def masked_side(contents, specials, mask_prob, generator) -> dict:
    side = encode_side(contents, specials)
    side["input_ids"], side["labels"] = mask_tokens(side["input_ids"], side["content"], mask_prob, generator, specials)
    return side


def side_loss_sum(model, side):
    hidden = encode(model, side["input_ids"], side["attention_mask"])
    return mlm_loss_sum(model, hidden, side["labels"])


class SentenceMLM(Objective):
    """MLM on independent sentences (examples are lists of content ids): the base model's pre-training."""

    name = "base_mlm"
    options_type = MaskOptions

    def collate(self, examples, generator):
        return {"x": masked_side(examples, self.specials, self.options["mask_prob"], generator)}

    def loss(self, model, batch):
        total, count = side_loss_sum(model, batch["x"])
        return mean_of(total, count), {}


class MLMObjective(Objective):
    name = "mlm"
    options_type = MaskOptions

    def collate(self, examples, generator):
        p = self.options["mask_prob"]
        return {
            "x": masked_side([e.src for e in examples], self.specials, p, generator),
            "y": masked_side([e.tgt for e in examples], self.specials, p, generator),
        }

    def loss(self, model, batch):
        sx, nx = side_loss_sum(model, batch["x"])
        sy, ny = side_loss_sum(model, batch["y"])
        return mean_of(sx + sy, nx + ny), {}
