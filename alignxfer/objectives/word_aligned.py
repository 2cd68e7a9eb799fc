"""Word-aligned pre-training (Cao, Kitaev & Klein 2020, "Multilingual Alignment of Contextual Word
Representations").

Choices, exactly:

* Inputs are **unmasked** pairs, each side encoded separately as ``[CLS] s [SEP]``.
* Links: the intersection of the two FastAlign directions (as Cao et al.; the workflow's rule
  ``intersect`` writes ``results/align/en-{lang}/intersection.txt``), which is 1-to-1 by
  construction; the 1-to-1 filter (links whose English word and whose target word each take
  part in exactly one link of the **whole**, untruncated line) is kept as a guard for other
  alignment files; links cut off by truncation are then dropped.
* A word is represented by the last-layer vector of its **last** subword (Cao et al.).
* L_align = mean over the batch's links of ||f(x)_p - f(y)_q||^2 (squared L2 summed over the hidden
  dimensions). Cao et al. sum over links; the mean only rescales the learning rate and keeps the
  loss independent of batch size and sentence length.
* L_anchor = mean over the English content subwords (not ``[CLS]``/``[SEP]``) of
  ||f(x)_p - f0(x)_p||^2, where f0 is a frozen copy of the initial (base) model, kept in eval mode
  (no dropout) on the same device. f runs **without dropout** too (the model is put in eval mode
  for this objective's forward passes and back in training mode after), so that the anchor
  measures the drift from the base and not dropout noise (with dropout on, about half of the
  anchor's final value was dropout noise); the alignment term is then computed without dropout
  as well.
* L = L_align + ``anchor_weight`` * L_anchor; both are logged (``loss_align``, ``loss_anchor``).
  Distances are computed in fp32.
"""

from __future__ import annotations

import copy

import torch

from ..data import encode_side, one_to_one, word_positions
from ..modeling import encode
from . import WordAlignedOptions
from .base import Objective


class WordAlignedObjective(Objective):
    name = "word_aligned"
    needs_alignment = True
    components = ("align", "anchor")
    options_type = WordAlignedOptions

    #: applied to each line's full alignment before truncation (see data.load_pairs)
    link_filter = staticmethod(one_to_one)

    def setup(self, model, device):
        self.reference = copy.deepcopy(model).to(device).eval()
        for param in self.reference.parameters():
            param.requires_grad_(False)

    def collate(self, examples, generator):
        x = encode_side([e.src for e in examples], self.specials)
        y = encode_side([e.tgt for e in examples], self.specials)
        bs, ps, qs = [], [], []
        for b, e in enumerate(examples):
            if not e.links:
                continue
            last_x = word_positions(e.src_words, "last")
            last_y = word_positions(e.tgt_words, "last")
            for i, j in e.links:
                if i in last_x and j in last_y:
                    bs.append(b)
                    ps.append(last_x[i][0])
                    qs.append(last_y[j][0])
        return {
            "x": x,
            "y": y,
            "link_b": torch.tensor(bs, dtype=torch.long),
            "link_p": torch.tensor(ps, dtype=torch.long),
            "link_q": torch.tensor(qs, dtype=torch.long),
        }

    def loss(self, model, batch):
        x, y = batch["x"], batch["y"]
        was_training = model.training
        model.eval()  # no dropout on either side of the anchor (gradients still flow)
        try:
            hx = encode(model, x["input_ids"], x["attention_mask"])
            hy = encode(model, y["input_ids"], y["attention_mask"])
        finally:
            model.train(was_training)
        b, p, q = batch["link_b"], batch["link_p"], batch["link_q"]
        if len(b):
            diff = hx[b, p].float() - hy[b, q].float()
            align = diff.pow(2).sum(-1).mean()
        else:
            align = hx.sum() * 0.0
        with torch.no_grad():
            h0 = encode(self.reference, x["input_ids"], x["attention_mask"])
        content = x["content"]
        anchor = (hx[content].float() - h0[content].float()).pow(2).sum(-1).mean()
        loss = align + float(self.options["anchor_weight"]) * anchor
        return loss, {"align": align.detach(), "anchor": anchor.detach()}
