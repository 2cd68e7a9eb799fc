"""Pre-training data: tokenized bitext + word alignments, truncation, masking, length-bucketed batches.

Inputs (see docs/architecture.md):

* a tokenized pair folder (``datasets.save_to_disk``) with columns ``src_ids``, ``src_word_ids``,
  ``tgt_ids``, ``tgt_word_ids`` (no special tokens, untruncated; ``*_word_ids[k]`` is the word of
  subword ``k``; src = English);
* optionally a Pharaoh alignment file, one line per dataset row, ``i-j`` pairs (0-based, i = English
  word, j = other word).

Conventions used by every objective:

* ``max_length`` is the length of one encoded side *including* ``[CLS]`` and ``[SEP]``, so each side
  keeps at most ``max_length - 2`` content subwords. Every arm truncates the same way, so every arm
  sees exactly the same subwords (TLM packs the two truncated sides into ``2 * max_length - 1``
  positions).
* A link survives truncation when both of its words keep at least one subword.
* Positions: content subword ``k`` of a side sits at position ``k + 1`` (after ``[CLS]``).
* Randomness is stateless: the data order of epoch ``e`` comes from ``(seed, e)`` and the masking
  of micro-batch ``(step, micro)`` from ``(seed, step, micro)``, so a resumed run needs only the
  data position, not a random-generator state, to reproduce the same batches.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from .alignment import parse_links
from .io import read_lines
from .training.batching import BUCKET_POOL, BucketBatcher  # noqa: F401  (the loop's batcher; re-exported)

# --------------------------------------------------------------------------------------------
# special tokens


@dataclass
class Specials:
    """Token ids an objective needs, read from a tokenizer."""

    pad: int
    cls: int
    sep: int
    mask: int
    vocab_size: int
    special_ids: tuple = ()
    #: ids drawn for the "random token" 10% of BERT masking (every non-special id)
    replacement_ids: torch.Tensor = field(default=None, repr=False)

    @classmethod
    def from_tokenizer(cls, tokenizer) -> Specials:
        missing = [
            name
            for name in ("pad_token_id", "cls_token_id", "sep_token_id", "mask_token_id")
            if getattr(tokenizer, name, None) is None
        ]
        if missing:
            raise ValueError(f"the tokenizer lacks {missing}; it needs [PAD] [CLS] [SEP] [MASK] tokens")
        vocab_size = len(tokenizer)
        special = tuple(sorted(set(tokenizer.all_special_ids)))
        keep = torch.ones(vocab_size, dtype=torch.bool)
        keep[list(special)] = False
        return cls(
            pad=tokenizer.pad_token_id,
            cls=tokenizer.cls_token_id,
            sep=tokenizer.sep_token_id,
            mask=tokenizer.mask_token_id,
            vocab_size=vocab_size,
            special_ids=special,
            replacement_ids=keep.nonzero().squeeze(1),
        )


# --------------------------------------------------------------------------------------------
# loading


class PairExample:
    """One truncated sentence pair; ``links`` are (src word, tgt word) pairs or None."""

    __slots__ = ("src", "src_words", "tgt", "tgt_words", "links", "row")

    def __init__(self, src, src_words, tgt, tgt_words, links=None, row=-1):
        self.src = src
        self.src_words = src_words
        self.tgt = tgt
        self.tgt_words = tgt_words
        self.links = links
        self.row = row

    def __len__(self) -> int:
        return len(self.src) + len(self.tgt)


def _word_count(word_ids: Sequence[int]) -> int:
    return (max(word_ids) + 1) if len(word_ids) else 0


def read_alignments(path, src_word_counts: Sequence[int], tgt_word_counts: Sequence[int]) -> list:
    """Read a Pharaoh file and check it against the dataset it belongs to.

    Returns one sorted list of ``(i, j)`` tuples per line. Fails with ValueError naming the file,
    the (1-based) line and the offending index when the line count differs from the dataset or a
    word index is out of range for its row.
    """
    lines = read_lines(path)
    if len(lines) != len(src_word_counts):
        raise ValueError(
            f"{path}: {len(lines)} alignment lines but the tokenized dataset has {len(src_word_counts)} rows; "
            "the alignment must have exactly one line per row (re-run the alignment for this pair)"
        )
    out = []
    for lineno, line in enumerate(lines, 1):
        n_src, n_tgt = src_word_counts[lineno - 1], tgt_word_counts[lineno - 1]
        links = []
        for i, j in parse_links(line, f"{path}:{lineno}"):
            token = f"{i}-{j}"
            if i >= n_src:
                raise ValueError(
                    f"{path}:{lineno}: English word index {i} (link {token!r}) is out of range: "
                    f"that row has {n_src} English words (indices 0..{n_src - 1})"
                )
            if j >= n_tgt:
                raise ValueError(
                    f"{path}:{lineno}: target word index {j} (link {token!r}) is out of range: "
                    f"that row has {n_tgt} target words (indices 0..{n_tgt - 1})"
                )
            links.append((i, j))
        out.append(sorted(set(links)))
    return out


PARTS = ("base", "arm", "heldout")


def pretrain_part(src_ids: Sequence[int], seed: int, split: dict | None) -> str:
    """Which share of the pre-training bitext a pair belongs to: ``heldout`` (never trained on:
    the held-out treatment checks), ``arm`` (the continued-pre-training arms' pool, which the
    base never sees) or ``base``. A function of the pair's full English token ids (so the same
    English sentence, paired with several languages, is in one part), the study seed and
    ``split`` = {"fraction": held-out share, "arm_fraction": the arms' share}; ``None`` puts
    everything in ``base`` (and the arms train on it too)."""
    if not split:
        return "base"
    heldout, arm = float(split.get("fraction", 0.0)), float(split.get("arm_fraction", 0.0))
    if heldout < 0 or arm < 0 or heldout + arm >= 1.0:
        raise ValueError(
            f"pretraining.heldout: fraction {heldout} + arm_fraction {arm} must be >= 0 and sum to less than 1"
        )
    digest = hashlib.sha256((f"pretrain-part\x1f{int(seed)}\x1f" + ",".join(map(str, src_ids))).encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2.0**64
    if u < heldout:
        return "heldout"
    if u < heldout + arm:
        return "arm"
    return "base"


def _load_columns(tokenized_dir) -> dict:
    import datasets

    ds = datasets.load_from_disk(str(tokenized_dir))
    needed = ["src_ids", "src_word_ids", "tgt_ids", "tgt_word_ids"]
    missing = [c for c in needed if c not in ds.column_names]
    if missing:
        raise ValueError(f"{tokenized_dir}: missing column(s) {missing}; has {ds.column_names}")
    table = ds.select_columns(needed).with_format(None)[:]
    for side in ("src", "tgt"):
        for row, (ids, wids) in enumerate(zip(table[f"{side}_ids"], table[f"{side}_word_ids"])):
            if len(ids) != len(wids):
                raise ValueError(
                    f"{tokenized_dir}: row {row}: {side}_ids has {len(ids)} entries but {side}_word_ids has {len(wids)}"
                )
    return table


def load_pairs(
    tokenized_dir,
    alignment_path=None,
    max_length: int | None = None,
    link_filter=None,
    part=None,
    split_seed: int = 0,
    split: dict | None = None,
) -> list[PairExample]:
    """Load one language pair; truncate each side to ``max_length - 2`` content subwords.

    Rows with an empty side are skipped; with ``part``, so are rows of another
    :func:`pretrain_part` (``split_seed``, ``split``). With ``alignment_path`` every example carries the links
    whose two words survive truncation; ``link_filter`` (a function of one line's full list of
    links, e.g. :func:`one_to_one`) is applied before truncation.
    """
    table = _load_columns(tokenized_dir)
    n_rows = len(table["src_ids"])
    alignments = None
    if alignment_path is not None:
        alignments = read_alignments(
            alignment_path,
            [_word_count(w) for w in table["src_word_ids"]],
            [_word_count(w) for w in table["tgt_word_ids"]],
        )
    keep = None if max_length is None else max_length - 2
    if keep is not None and keep < 1:
        raise ValueError(f"max_length {max_length} leaves no room for content between [CLS] and [SEP]")
    examples = []
    for row in range(n_rows):
        src, src_w = table["src_ids"][row], table["src_word_ids"][row]
        tgt, tgt_w = table["tgt_ids"][row], table["tgt_word_ids"][row]
        if not src or not tgt:
            continue
        if part is not None and pretrain_part(src, split_seed, split) != part:
            continue
        truncated = keep is not None and (len(src) > keep or len(tgt) > keep)
        if truncated:
            src, src_w, tgt, tgt_w = src[:keep], src_w[:keep], tgt[:keep], tgt_w[:keep]
        links = None
        if alignments is not None:
            links = alignments[row]
            if link_filter is not None:
                links = link_filter(links)
            if links and truncated:
                present_src, present_tgt = set(src_w), set(tgt_w)
                links = [(i, j) for i, j in links if i in present_src and j in present_tgt]
        examples.append(PairExample(src, src_w, tgt, tgt_w, links, row))
    return examples


def load_sentences(
    tokenized_dirs: Sequence, max_length: int, part=None, split_seed: int = 0, split: dict | None = None
) -> list[list[int]]:
    """Both sides of every pair as independent sentences, truncated, exact duplicates removed.

    English units recur across pairs (the same package description is translated into several
    languages); each distinct sentence is kept once, in first-seen order. ``part``: only pairs
    of that :func:`pretrain_part`.
    """
    keep = max_length - 2
    if keep < 1:
        raise ValueError(f"max_length {max_length} leaves no room for content between [CLS] and [SEP]")
    seen = set()
    out = []
    for directory in tokenized_dirs:
        table = _load_columns(directory)
        rows = range(len(table["src_ids"]))
        if part is not None:
            rows = [r for r in rows if pretrain_part(table["src_ids"][r], split_seed, split) == part]
        for column in ("src_ids", "tgt_ids"):
            for r in rows:
                ids = tuple(table[column][r][:keep])
                if ids and ids not in seen:
                    seen.add(ids)
                    out.append(list(ids))
    return out


def one_to_one(links: Sequence[tuple]) -> list[tuple]:
    """Links whose English word and whose target word each take part in exactly one link."""
    src_count: dict = {}
    tgt_count: dict = {}
    for i, j in links:
        src_count[i] = src_count.get(i, 0) + 1
        tgt_count[j] = tgt_count.get(j, 0) + 1
    return [(i, j) for i, j in links if src_count[i] == 1 and tgt_count[j] == 1]


# --------------------------------------------------------------------------------------------
# batching


def stateless_generator(*keys: int) -> torch.Generator:
    """A torch CPU generator seeded from integer keys (no hidden state carried between calls)."""
    seed = int(np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in keys]).generate_state(1, dtype=np.uint64)[0])
    gen = torch.Generator()
    gen.manual_seed(seed & 0x7FFFFFFFFFFFFFFF)
    return gen


# --------------------------------------------------------------------------------------------
# tensors


def pad_batch(sequences: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad to the longest sequence; returns (ids, attention_mask) as int64 tensors."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attn = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
        attn[row, : len(seq)] = 1
    return ids, attn


def encode_side(contents: Sequence[Sequence[int]], specials: Specials) -> dict:
    """``[CLS] content [SEP]`` for each row, padded; ``content`` marks content subwords."""
    seqs = [[specials.cls, *c, specials.sep] for c in contents]
    ids, attn = pad_batch(seqs, specials.pad)
    content = torch.zeros_like(attn, dtype=torch.bool)
    for row, c in enumerate(contents):
        content[row, 1 : 1 + len(c)] = True
    return {"input_ids": ids, "attention_mask": attn, "content": content}


def mask_tokens(
    input_ids: torch.Tensor,
    candidates: torch.Tensor,
    mask_prob: float,
    generator: torch.Generator,
    specials: Specials,
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking: choose ``mask_prob`` of the candidate positions of each row; of those, 80%
    become ``[MASK]``, 10% a random non-special token, 10% stay. Returns (inputs, labels) with
    labels -100 at positions that are not predicted.

    The number chosen per row is ``floor(mask_prob * n + u)``, u ~ U(0, 1): exactly ``mask_prob``
    in expectation, with less variance than independent coin flips, and no forced minimum that
    would over-mask short sentences.
    """
    inputs = input_ids.clone()
    labels = torch.full_like(input_ids, -100)
    if mask_prob <= 0:
        return inputs, labels
    rows, width = input_ids.shape
    n = candidates.sum(1).to(torch.float64)
    u = torch.rand(rows, generator=generator, dtype=torch.float64)
    k = torch.floor(mask_prob * n + u).clamp(max=n).to(torch.long)
    scores = torch.rand(rows, width, generator=generator)
    scores = scores.masked_fill(~candidates, 2.0)
    ranks = scores.argsort(1).argsort(1)
    chosen = (ranks < k.unsqueeze(1)) & candidates
    labels[chosen] = input_ids[chosen]
    action = torch.rand(rows, width, generator=generator)
    to_mask = chosen & (action < 0.8)
    to_random = chosen & (action >= 0.8) & (action < 0.9)
    inputs[to_mask] = specials.mask
    n_random = int(to_random.sum())
    if n_random:
        pick = torch.randint(len(specials.replacement_ids), (n_random,), generator=generator)
        inputs[to_random] = specials.replacement_ids[pick]
    return inputs, labels


def word_positions(word_ids: Sequence[int], mode: str) -> dict:
    """Map each word of a side to its token positions (content subword k -> position k + 1).

    ``mode``: ``first`` -> [first position], ``last`` -> [last position], ``all`` -> every position.
    """
    out: dict = {}
    for k, w in enumerate(word_ids):
        pos = k + 1
        if w not in out:
            out[w] = [pos]
        elif mode == "all":
            out[w].append(pos)
        elif mode == "last":
            out[w][0] = pos
    return out


def move(batch, device):
    """Recursively move tensors of a (nested) batch to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: move(v, device) for k, v in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(move(v, device) for v in batch)
    return batch


def count_tokens(side: dict) -> int:
    return int(side["attention_mask"].sum())
