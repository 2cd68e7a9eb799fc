"""WEAM, the Word-Exchange Aligning Model (Yang et al. 2021) -- a reconstruction.

The paper's full text was not available; this follows its abstract and its Figure 1 caption
("The multilingual prediction task predicts the masked tokens. The cross-lingual prediction task
utilizes a word alignment matrix to swap the representations of aligned words in parallel
sentences, then predicts the masked tokens in the swapped sentences.") as set out in
docs/research.md §2. What is implemented, exactly:

1. Input: a sentence pair (x English, y other) and its symmetrized word alignment (FastAlign,
   grow-diag-final-and), each side truncated to ``max_length - 2`` subwords; links to words cut off
   by truncation are dropped.
2. Masking: x and y are masked **independently** (BERT 80/10/10 at ``mask_prob``, special tokens
   never) and encoded **separately** as ``[CLS] x [SEP]`` and ``[CLS] y [SEP]`` by the shared
   encoder: H^x (n x d) and H^y (m x d), positions including the special tokens.
3. L_MP (multilingual prediction): MLM cross-entropy at every masked position of x from H^x and
   of y from H^y (the model's own MLM head, applied only at those positions).
4. Token alignment matrix A (n x m, binary before normalisation), from the word links and the
   word->subword map (``subword_mapping``):
   ``first``: A[p, q] = 1 for the first subword p of word i and the first subword q of word j, for
   every link (i, j); ``all``: A[p, q] = 1 for every subword p of i and every subword q of j.
   ``[CLS]``/``[SEP]``/padding are never aligned. A_x = A with each non-empty row divided by its
   sum; A_y = A^T likewise row-normalised. Rows without links stay zero.
5. Swap: H~^x = A_x . H^y (the average of the representations aligned to each x token) and
   H~^y = A_y . H^x. A position is *aligned* when its row of A_x (resp. A_y) is non-empty.
6. L_CP (cross-lingual prediction): MLM cross-entropy, with the same head, at the positions that
   are both masked and aligned: the masked token of x at position p is predicted from H~^x[p]
   (built from y's representations only), and likewise for y.
7. L = L_MP + lambda * L_CP. Each of L_MP and L_CP is the mean over its predicted tokens of both
   sides (0 when a batch has none). ``loss_mp`` and ``loss_cp`` are logged.

``swap_layer`` (indexing as Hugging Face's ``hidden_states``: 0 = embedding output, k = output of
encoder layer k, negative values count from the top, -1 = last layer):

* ``-1`` (or L): swap the final-layer representations as above; the MLM head reads H~ directly.
* an inner layer k < L: encode x and y up to layer k (h^x_k, h^y_k); the swapped sequence for x is
  ``s^x = h^x_k`` with every aligned position replaced by ``(A_x . h^y_k)[p]`` (unaligned positions,
  including ``[CLS]``/``[SEP]``, keep their own x representation); layers k+1..L then run on s^x
  with x's attention mask, and L_CP reads the masked-and-aligned positions of that output. The
  ordinary H^x comes from layers k+1..L on h^x_k (computed once up to k, shared by both paths).
  Likewise for y. Gradients flow through both the swapped and the source branches.

Defaults in config.yaml: mask_prob 0.15, lambda 1, swap_layer -1, subword_mapping first; the
paper configuration uses mask_prob 0.3 and lambda 1 (both unverified, see docs/research.md §1).
"""

from __future__ import annotations

import torch

from ..data import word_positions
from ..modeling import encode, encode_from, encode_until, mean_of, mlm_loss_sum, num_layers, resolve_layer
from . import WEAMOptions
from .base import Objective
from .mlm import masked_side


def alignment_matrix(examples, n: int, m: int, mapping: str) -> torch.Tensor:
    """Binary token alignment tensor (B, n, m) for padded side lengths n and m (with specials)."""
    if mapping not in ("first", "all"):
        raise ValueError(f"subword_mapping must be 'first' or 'all', got {mapping!r}")
    rows, ps, qs = [], [], []
    for b, e in enumerate(examples):
        if not e.links:
            continue
        pos_x = word_positions(e.src_words, mapping)
        pos_y = word_positions(e.tgt_words, mapping)
        for i, j in e.links:
            px, py = pos_x.get(i), pos_y.get(j)
            if px is None or py is None:
                continue
            for p in px:
                for q in py:
                    rows.append(b)
                    ps.append(p)
                    qs.append(q)
    A = torch.zeros((len(examples), n, m), dtype=torch.float32)
    if rows:
        A[torch.tensor(rows), torch.tensor(ps), torch.tensor(qs)] = 1.0
    return A


def normalise_rows(A: torch.Tensor) -> torch.Tensor:
    return A / A.sum(-1, keepdim=True).clamp(min=1.0)


class WEAMObjective(Objective):
    name = "weam"
    needs_alignment = True
    components = ("mp", "cp")
    options_type = WEAMOptions

    def check_model(self, model):
        super().check_model(model)
        resolve_layer(model, int(self.options["swap_layer"]))

    def collate(self, examples, generator):
        p = self.options["mask_prob"]
        x = masked_side([e.src for e in examples], self.specials, p, generator)
        y = masked_side([e.tgt for e in examples], self.specials, p, generator)
        A = alignment_matrix(
            examples, x["input_ids"].shape[1], y["input_ids"].shape[1], self.options["subword_mapping"]
        )
        return {"x": x, "y": y, **self.swap_matrices(A)}

    @staticmethod
    def swap_matrices(A: torch.Tensor) -> dict:
        """Row-normalised A_x (B, n, m), A_y (B, m, n) and the aligned-position masks."""
        return {
            "A_x": normalise_rows(A),
            "A_y": normalise_rows(A.transpose(1, 2)),
            "aligned_x": A.sum(2) > 0,
            "aligned_y": A.sum(1) > 0,
        }

    def forward(self, model, batch) -> dict:
        """Ordinary (H^x, H^y) and swapped (S^x, S^y) final representations."""
        x, y = batch["x"], batch["y"]
        layer = resolve_layer(model, int(self.options["swap_layer"]))
        if layer == num_layers(model):
            hx = encode(model, x["input_ids"], x["attention_mask"])
            hy = encode(model, y["input_ids"], y["attention_mask"])
            sx = torch.bmm(batch["A_x"].to(hy.dtype), hy)
            sy = torch.bmm(batch["A_y"].to(hx.dtype), hx)
        else:
            hx_k, mask_x = encode_until(model, x["input_ids"], x["attention_mask"], layer)
            hy_k, mask_y = encode_until(model, y["input_ids"], y["attention_mask"], layer)
            sx_k = torch.where(batch["aligned_x"].unsqueeze(-1), torch.bmm(batch["A_x"].to(hy_k.dtype), hy_k), hx_k)
            sy_k = torch.where(batch["aligned_y"].unsqueeze(-1), torch.bmm(batch["A_y"].to(hx_k.dtype), hx_k), hy_k)
            hx = encode_from(model, hx_k, mask_x, layer)
            hy = encode_from(model, hy_k, mask_y, layer)
            sx = encode_from(model, sx_k, mask_x, layer)
            sy = encode_from(model, sy_k, mask_y, layer)
        return {"hx": hx, "hy": hy, "sx": sx, "sy": sy}

    def loss(self, model, batch):
        out = self.forward(model, batch)
        x, y = batch["x"], batch["y"]
        mp_x, n_mp_x = mlm_loss_sum(model, out["hx"], x["labels"])
        mp_y, n_mp_y = mlm_loss_sum(model, out["hy"], y["labels"])
        cp_x, n_cp_x = mlm_loss_sum(model, out["sx"], x["labels"], select=batch["aligned_x"])
        cp_y, n_cp_y = mlm_loss_sum(model, out["sy"], y["labels"], select=batch["aligned_y"])
        mp = mean_of(mp_x + mp_y, n_mp_x + n_mp_y)
        cp = mean_of(cp_x + cp_y, n_cp_x + n_cp_y)
        loss = mp + float(self.options["lambda"]) * cp
        return loss, {"mp": mp.detach(), "cp": cp.detach()}
