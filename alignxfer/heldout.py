"""Held-out treatment checks: did a pre-training job learn what its objective teaches?

Every pre-training job (the base and each arm) ends by scoring its model on a held-out slice of
the pre-training bitext (``pretraining.heldout``: pairs of the ``heldout`` part of
:func:`alignxfer.data.pretrain_part`, which no job trains on; at most ``max_pairs``, in a fixed
order), with fixed masks (drawn from :data:`CHECK_SEED`, the same for every model) and dropout
off. An arm scores the base it started from too (``before``) and itself (``after``), so each file
says whether the arm moved its own mechanism. Measures (nats are mean cross-entropies):

* ``mlm_loss``: MLM loss, each side encoded alone, BERT masking at 0.15;
  ``unigram_entropy``: the entropy of the empirical distribution of those same masked tokens
  (a unigram model fitted to them, the best any unigram model can do on them);
  ``unigram_cross_entropy``: the cross-entropy on them of the base part's token frequencies
  (add-one smoothed over the vocabulary): what predicting by word frequency alone scores.
* ``tlm_loss_visible`` / ``tlm_loss_hidden``: masked-token loss of one side, 0.15 of its
  tokens masked, with the unmasked translation packed beside it (``[CLS] x [SEP] y [SEP]``,
  positions restarted, segment 0) vs alone (``[CLS] x [SEP]``), both directions;
  ``tlm_translation_gain`` = hidden - visible: how much the model uses the translation.
* ``weam_cp_loss`` (needs the symmetrized alignment): WEAM's cross-lingual loss, the masked
  tokens predicted from the aligned words' representations of the other side.
* ``aligned_word_distance`` (needs the intersection alignment): mean squared L2 distance of the
  last-layer vectors of linked words (last subwords), and ``aligned_word_distance_ratio``: that
  over the distance of the same words paired with a random other link's target word (< 1: the
  linked words are closer than chance; robust to a model that shrinks every vector).
* ``ranking_accuracy``: translation retrieval among the held-out pairs (mean-pooled last layer,
  cosine, precision@1 averaged over en->xx and xx->en).

The mechanism of each job (:data:`MECHANISMS`) is judged *learned* when it improved from
``before`` to ``after`` by more than :data:`TOLERANCE`; for the base (no before),
``mlm_loss`` must be below ``unigram_cross_entropy`` (it predicts better than word frequency).
"""

from __future__ import annotations

import math
from collections import Counter

import torch
import torch.nn.functional as F

from . import data as D
from .modeling import encode, mlm_loss_sum

CHECK_SEED = 20211
MASK_PROB = 0.15
BATCH = 32
#: job -> (metric, direction): +1 higher is better, -1 lower is better
MECHANISMS = {
    "base": ("mlm_loss", -1),
    "mlm": ("mlm_loss", -1),
    "tlm": ("tlm_translation_gain", +1),
    "weam": ("weam_cp_loss", -1),
    "word_aligned": ("aligned_word_distance_ratio", -1),
    "contrastive": ("ranking_accuracy", +1),
}
TOLERANCE = {
    "mlm_loss": 0.01,
    "tlm_translation_gain": 0.01,
    "weam_cp_loss": 0.01,
    "aligned_word_distance_ratio": 0.01,
    "ranking_accuracy": 0.01,
}


def _batches(examples):
    for start in range(0, len(examples), BATCH):
        yield start // BATCH, examples[start : start + BATCH]


def _entropy(counts: Counter) -> float:
    total = sum(counts.values())
    return -sum(c / total * math.log(c / total) for c in counts.values()) if total else float("nan")


def _mlm(model, examples, specials, unigram: Counter | None, vocab_size: int) -> dict:
    from .objectives.mlm import masked_side

    total, count, targets = 0.0, 0, Counter()
    for b, batch in _batches(examples):
        for k, side in enumerate(("src", "tgt")):
            enc = masked_side(
                [getattr(e, side) for e in batch], specials, MASK_PROB, D.stateless_generator(CHECK_SEED, b, k)
            )
            hidden = encode(model, enc["input_ids"], enc["attention_mask"])
            s, n = mlm_loss_sum(model, hidden, enc["labels"])
            total += float(s)
            count += n
            targets.update(enc["labels"][enc["labels"] != -100].tolist())
    out = {"mlm_loss": total / max(count, 1), "masked_tokens": count, "unigram_entropy": _entropy(targets)}
    if unigram is not None:
        n_all = sum(unigram.values()) + vocab_size
        out["unigram_cross_entropy"] = -sum(c * math.log((unigram[t] + 1) / n_all) for t, c in targets.items()) / max(
            count, 1
        )
    return out


def _pad(rows, pad):
    width = max(len(r) for r in rows)
    return torch.tensor([r + [pad] * (width - len(r)) for r in rows]), torch.tensor(
        [[1] * len(r) + [0] * (width - len(r)) for r in rows]
    )


def _tlm(model, examples, specials) -> dict:
    sums = {"visible": 0.0, "hidden": 0.0}
    count = 0
    for b, batch in _batches(examples):
        for k, (a, o) in enumerate((("src", "tgt"), ("tgt", "src"))):
            side = D.encode_side([getattr(e, a) for e in batch], specials)
            masked, labels = D.mask_tokens(
                side["input_ids"], side["content"], MASK_PROB, D.stateless_generator(CHECK_SEED, b, 10 + k), specials
            )
            lengths = side["attention_mask"].sum(1).tolist()
            alone = [masked[r, : lengths[r]].tolist() for r in range(len(batch))]
            others = [list(getattr(e, o)) + [specials.sep] for e in batch]
            packed = [x + y for x, y in zip(alone, others)]
            positions = [list(range(len(x))) + list(range(1, len(y) + 1)) for x, y in zip(alone, others)]
            ids, attn = _pad(packed, specials.pad)
            pos, _ = _pad(positions, 0)
            lab = torch.full_like(ids, -100)
            lab[:, : labels.shape[1]] = labels
            lab = lab.masked_fill(attn == 0, -100)
            h_vis = encode(model, ids, attn, torch.zeros_like(ids), pos)
            s_vis, n = mlm_loss_sum(model, h_vis, lab)
            h_hid = encode(model, masked, side["attention_mask"])
            s_hid, n2 = mlm_loss_sum(model, h_hid, labels)
            assert n == n2
            sums["visible"] += float(s_vis)
            sums["hidden"] += float(s_hid)
            count += n
    vis, hid = sums["visible"] / max(count, 1), sums["hidden"] / max(count, 1)
    return {"tlm_loss_visible": vis, "tlm_loss_hidden": hid, "tlm_translation_gain": hid - vis}


def _weam(model, examples, specials) -> dict:
    from .objectives.weam import WEAMObjective

    obj = WEAMObjective({"mask_prob": MASK_PROB}, specials, 10**6)
    total, count = 0.0, 0
    for b, batch in _batches(examples):
        enc = obj.collate(batch, D.stateless_generator(CHECK_SEED, b, 20))
        out = obj.forward(model, enc)
        for side, key in (("x", "sx"), ("y", "sy")):
            s, n = mlm_loss_sum(model, out[key], enc[side]["labels"], select=enc[f"aligned_{side}"])
            total += float(s)
            count += n
    return {"weam_cp_loss": total / max(count, 1), "weam_cp_tokens": count}


def _word_distance(model, examples, specials) -> dict:
    from .objectives.word_aligned import WordAlignedObjective

    obj = WordAlignedObjective({}, specials, 10**6)
    aligned, shuffled, links = 0.0, 0.0, 0
    for b, batch in _batches(examples):
        enc = obj.collate(batch, D.stateless_generator(CHECK_SEED, b, 30))
        n = len(enc["link_b"])
        if n < 2:
            continue
        hx = encode(model, enc["x"]["input_ids"], enc["x"]["attention_mask"]).float()
        hy = encode(model, enc["y"]["input_ids"], enc["y"]["attention_mask"]).float()
        vx = hx[enc["link_b"], enc["link_p"]]
        vy = hy[enc["link_b"], enc["link_q"]]
        perm = torch.roll(torch.arange(n), 1)  # every link paired with another link's target word
        aligned += float((vx - vy).pow(2).sum(-1).sum())
        shuffled += float((vx - vy[perm]).pow(2).sum(-1).sum())
        links += n
    if not links:
        return {"aligned_word_distance": float("nan"), "aligned_word_distance_ratio": float("nan"), "aligned_links": 0}
    return {
        "aligned_word_distance": aligned / links,
        "aligned_word_distance_ratio": aligned / max(shuffled, 1e-12),
        "aligned_links": links,
    }


def _ranking(model, examples, specials) -> dict:
    from .objectives.contrastive import pool

    vecs = {"src": [], "tgt": []}
    for _, batch in _batches(examples):
        for side in vecs:
            enc = D.encode_side([getattr(e, side) for e in batch], specials)
            hidden = encode(model, enc["input_ids"], enc["attention_mask"])
            vecs[side].append(F.normalize(pool(hidden, enc["attention_mask"], "mean").float(), dim=-1))
    u, v = torch.cat(vecs["src"]), torch.cat(vecs["tgt"])
    sim = u @ v.T
    gold = torch.arange(len(u))
    acc = (float((sim.argmax(1) == gold).float().mean()) + float((sim.argmax(0) == gold).float().mean())) / 2
    return {"ranking_accuracy": acc}


@torch.no_grad()
def check_model(
    model,
    specials,
    pairs: list,
    sym_pairs: list | None,
    inter_pairs: list | None,
    unigram: Counter | None,
    vocab_size: int,
) -> dict:
    """Every measure of the module docstring for one model (CPU, eval mode)."""
    was_training = model.training
    model.eval()
    try:
        out = {"pairs": len(pairs)}
        out.update(_mlm(model, pairs, specials, unigram, vocab_size))
        out.update(_tlm(model, pairs, specials))
        out.update(_ranking(model, pairs, specials))
        if sym_pairs:
            out.update(_weam(model, sym_pairs, specials))
        if inter_pairs:
            out.update(_word_distance(model, inter_pairs, specials))
    finally:
        model.train(was_training)
    return out


def judge(job: str, before: dict | None, after: dict) -> dict:
    """The job's mechanism, its values and whether it was learned (see the module docstring)."""
    metric, direction = MECHANISMS.get(job, ("mlm_loss", -1))
    value = after.get(metric)
    if before is None:
        reference = after.get("unigram_cross_entropy")
        learned = value is not None and reference is not None and value < reference
        return {
            "metric": metric,
            "after": value,
            "reference": "unigram_cross_entropy",
            "reference_value": reference,
            "learned": bool(learned),
        }
    prior = before.get(metric)
    if value is None or prior is None or any(map(math.isnan, (value, prior))):
        return {"metric": metric, "before": prior, "after": value, "learned": None}
    change = (value - prior) * direction
    return {
        "metric": metric,
        "before": prior,
        "after": value,
        "improvement": change,
        "learned": bool(change > TOLERANCE[metric]),
    }


def heldout_examples(
    tokenized_dirs: dict,
    alignments: dict | None,
    max_length: int,
    split_seed: int,
    split: dict,
    max_pairs: int,
    link_filter=None,
) -> list:
    """The held-out pairs of every language (sorted), at most ``max_pairs`` spread over the
    languages in turn; with ``alignments`` ({lang: file}) they carry links."""
    per_lang = []
    for lang in sorted(tokenized_dirs):
        align = alignments.get(lang) if alignments else None
        per_lang.append(
            D.load_pairs(
                tokenized_dirs[lang],
                align,
                max_length=max_length,
                link_filter=link_filter,
                part="heldout",
                split_seed=split_seed,
                split=split,
            )
        )
    out = []
    for i in range(max(map(len, per_lang), default=0)):
        for examples in per_lang:
            if i < len(examples) and len(out) < max_pairs:
                out.append(examples[i])
    return out


def base_unigram(tokenized_dirs, split_seed: int, split: dict) -> Counter:
    """Token frequencies of the base part of the bitext (both sides)."""
    counts: Counter = Counter()
    for directory in sorted(map(str, tokenized_dirs)):
        table = D._load_columns(directory)
        for src, tgt in zip(table["src_ids"], table["tgt_ids"]):
            if D.pretrain_part(src, split_seed, split) == "base":
                counts.update(src)
                counts.update(tgt)
    return counts
