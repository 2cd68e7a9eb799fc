"""Corpus preparation: cleaning of unit pairs and the split by document.

Every document goes to exactly one pool, ``test``, ``dev``, ``train`` or ``pretrain``, chosen by
:func:`pool_of`: :func:`split_of` of a hash of ``(seed, source package)`` (:func:`group_of`; the
document id where the corpus has no sources): sibling packages of one source share a pool, and a
language's pools never depend on the other languages of the study, so adding a language touches
only that language's files.

Leaks (:class:`LeakIndex`): every unit and every sentence of every test-pool document, English
(all English test documents with ``english_docs``, also those not translated into the pair's
language) and the pair's language, is kept out of pre-training, English train/dev and
translate-train train/dev text; each summary's ``leak_check`` counts, from an index of what was
written, the test documents still sharing text with it (0, or the job fails).

* pre-training bitext (``results/data/pretrain/en-{lang}.*``): cleaned unit pairs of ``pretrain``
  documents only, without any pair one of whose sides leaks test text (``test_overlap``);
  capped at ``max_pretrain_pairs`` in an order fixed by a hash.
* topic task (labelled documents only): English train/dev/test = ``train``/``dev``/``test``
  pools (each capped); ``text`` = the document's units joined by one space. Per language,
  ``test.{lang}`` = labelled ``test`` documents that have the language (capped);
  ``train.{lang}``/``dev.{lang}`` = that language's versions of exactly the English train/dev
  documents (a subset where a translation is missing).
* retrieval pairs: cleaned unit pairs of ``test`` documents (capped; every English and every
  other-side text occurs once, so that retrieval has one right answer).

Cleaning of a unit pair, in this order (the first reason that fires is counted): ``empty``,
``identical`` (en == xx), ``too_short`` / ``too_long`` (words of :func:`alignxfer.words.segment`
on either side outside ``[min_words, max_words]``), ``length_ratio`` ((n_en+1)/(n_xx+1) or its
inverse > ``max_length_ratio``), ``test_overlap`` (pre-training pool only), ``duplicate`` (the
same (en, xx) pair was kept before, pools taken in the order test, dev, train, pretrain).
"""

from __future__ import annotations

import collections
import hashlib
import json
import re
import statistics
import unicodedata
from collections.abc import Iterable, Iterator

from alignxfer.io import write_json, write_jsonl, write_lines
from alignxfer.words import segment

SPLITS = ("test", "dev", "train", "pretrain")
POOL_ORDER = {name: i for i, name in enumerate(SPLITS)}

DEFAULT_OPTIONS = {
    "min_words": 1,
    "max_words": 200,
    "max_length_ratio": 4.0,
    # False (the documented default): the ratio of word counts itself. True: the ratio divided
    # by the pair file's median ratio (for scripts that segment into many more words, e.g. ja/zh).
    "length_ratio_by_median": False,
    "invalid_utf8": "error",
    "split": {"test": 0.15, "dev": 0.05, "train": 0.20},
    "max_pretrain_pairs": 12000,
    "max_train_docs": 2000,
    "max_translate_train_docs": 400,
    # which English train/dev/test documents: "translated" (those translated into the most corpus
    # languages first, ties in hash order) or "random" (hash order)
    "document_selection": "translated",
    "max_dev_docs": 400,
    "max_test_docs": 600,
    "max_retrieval_pairs": 500,
}

DROP_REASONS = ("empty", "identical", "too_short", "too_long", "length_ratio", "test_overlap", "duplicate")


def _options(options: dict | None) -> dict:
    merged = {**DEFAULT_OPTIONS, **(options or {})}
    merged["split"] = {**DEFAULT_OPTIONS["split"], **((options or {}).get("split") or {})}
    if merged["invalid_utf8"] not in ("error", "replace"):
        raise ValueError(f"prepare.invalid_utf8 must be 'error' or 'replace', not {merged['invalid_utf8']!r}")
    if merged["document_selection"] not in ("translated", "random"):
        raise ValueError(
            f"prepare.document_selection must be 'translated' or 'random', not {merged['document_selection']!r}"
        )
    return merged


# ----------------------------------------------------------------------------- hashing, splitting


def _digest(*parts) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).digest()


def split_of(doc_id: str, seed: int, fractions: dict) -> str:
    """The pool of a document: ``"test"``, ``"dev"``, ``"train"`` or ``"pretrain"``.

    A function of ``(seed, doc_id)`` and the fractions only (sha256, so stable across runs,
    machines and Python versions); ``pretrain`` takes what the three fractions leave.
    """
    cuts = []
    total = 0.0
    for name in ("test", "dev", "train"):
        frac = float(fractions.get(name, 0.0))
        if not 0.0 <= frac <= 1.0:
            raise ValueError(f"split fraction {name}={frac} is not in [0, 1]")
        total += frac
        cuts.append((total, name))
    if total > 1.0 + 1e-9:
        raise ValueError(f"split fractions sum to {total} > 1")
    u = int.from_bytes(_digest("split", seed, doc_id)[:8], "big") / 2.0**64
    for cut, name in cuts:
        if u < cut:
            return name
    return "pretrain"


def order_key(seed: int, doc_id: str, *extra) -> bytes:
    """A fixed pseudo-random order of documents (or units), independent of the split hash."""
    return _digest("order", seed, doc_id, *extra)


def group_of(doc: dict) -> str:
    """What decides a document's pool: its source package (``source``, written by the ddtp
    source from the ``Source:`` field of ``Packages``, the package name where it has none), so
    that sibling packages of one source share a pool; the document id where there is none."""
    source = doc.get("source")
    return f"source:{source}" if source else str(doc["doc_id"])


def pool_of(doc: dict, seed: int, fractions: dict) -> str:
    """:func:`split_of` of the document's :func:`group_of`."""
    return split_of(group_of(doc), seed, fractions)


# ----------------------------------------------------------------------------- text


# control characters that are not whitespace (whitespace is collapsed separately), and
# invisible format characters that carry no text: soft hyphen, zero-width space, word joiner, BOM
_DROP_CHARS = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f\u00ad\u200b\u2060\ufeff]")


def normalize(text: str) -> str:
    """Unicode NFC, control characters removed, whitespace runs collapsed to one space, stripped."""
    text = _DROP_CHARS.sub("", text)
    text = " ".join(text.split())
    return unicodedata.normalize("NFC", text)


# sentence ends: Latin/Cyrillic punctuation followed by a space, CJK full stops anywhere
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|(?<=[\u3002\uff01\uff1f\uff1b])\s*")
#: sentences narrower than this are not leak keys ("e.g.", "Features:"); whole units always are.
#: Width: characters, wide (CJK) characters counting two.
MIN_SENTENCE_WIDTH = 16


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def sentences(unit: str) -> list[str]:
    """The sentences of a normalised unit that serve as leak keys (at least MIN_SENTENCE_WIDTH wide)."""
    parts = (p.strip() for p in _SENTENCE_END.split(unit))
    return [p for p in parts if _width(p) >= MIN_SENTENCE_WIDTH]


_TRAILING = " .。!?！？:;"


def leak_key(text: str) -> str:
    """How units and sentences are compared for leakage: case-folded, trailing sentence
    punctuation dropped (a synopsis is a paragraph's first sentence without its full stop)."""
    return text.casefold().rstrip(_TRAILING)


class LeakIndex:
    """Every normalised unit (synopsis, paragraph) of the test documents and every sentence of
    them (:func:`sentences`), in every language given: a text *leaks* when it equals a test unit
    or holds a test sentence (compared by :func:`leak_key`). Boilerplate shared with a test
    document leaks too."""

    def __init__(self):
        self.keys: set[str] = set()

    def add(self, unit: str) -> None:
        if unit:
            self.keys.update(k for k in map(leak_key, [unit, *sentences(unit)]) if k)

    def leaks(self, unit: str) -> bool:
        if not unit:
            return False
        return leak_key(unit) in self.keys or any(leak_key(s) in self.keys for s in sentences(unit))

    def __len__(self) -> int:
        return len(self.keys)


def overlap_count(index: LeakIndex, units: Iterable[str]) -> int:
    """How many of ``units`` share a unit or sentence with the test documents (the summaries'
    check: must be 0 for every written pre-training, training and dev text)."""
    return sum(1 for u in units if index.leaks(u))


def _read_jsonl(path, invalid_utf8: str, counts: collections.Counter) -> Iterator[tuple[int, dict]]:
    with open(path, "rb") as handle:
        for lineno, raw in enumerate(handle, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                if invalid_utf8 != "replace":
                    raise ValueError(
                        f"{path}:{lineno}: invalid UTF-8 at byte {err.start} of the line "
                        "(set prepare.invalid_utf8: replace to replace it with U+FFFD)"
                    ) from None
                line = raw.decode("utf-8", errors="replace")
                counts["invalid_utf8_replaced"] += 1
            if not line.strip():
                continue
            try:
                yield lineno, json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None


def _doc_text(units: Iterable[str]) -> str:
    return " ".join(u for u in units if u)


def _check_out(out: dict, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in out]
    if missing:
        raise ValueError(f"missing output path(s) {missing}; expected keys {list(keys)}")


def _label_counts(records: list[dict]) -> dict:
    counts = collections.Counter(r["label"] for r in records)
    return {k: counts[k] for k in sorted(counts)}


# ----------------------------------------------------------------------------- English


ENGLISH_OUT = ("train", "dev", "test", "labels", "summary")
PAIR_OUT = ("pretrain_en", "pretrain_xx", "pretrain_ids", "train", "dev", "test", "retrieval", "summary")


def translation_counts(pair_jsonls: Iterable, invalid_utf8: str = "error") -> collections.Counter:
    """For each document id, the number of pair files (languages) holding a non-empty translation of it."""
    counts: collections.Counter = collections.Counter()
    for path in pair_jsonls:
        ids = set()
        for _, doc in _read_jsonl(path, invalid_utf8, collections.Counter()):
            if any(str(u).strip() for u in doc.get("xx") or []):
                ids.add(str(doc["doc_id"]))
        counts.update(ids)
    return counts


def prepare_english(en_jsonl, out: dict, options: dict, seed: int, pair_jsonls: Iterable = ()) -> dict:
    """The English topic-task files from ``en.jsonl``; returns (and writes) the summary.

    Train, dev and test documents are drawn from their pools in hash order, or, with
    ``document_selection: translated``, those translated into the most of ``pair_jsonls``'
    languages first. Translate-train then fine-tunes on the target-language versions of these
    same training documents (a random English selection has a translation into, e.g., Chinese
    for 1.5% of its documents); the test sets of all languages overlap as much as the
    translations allow (:func:`prepare_pair` takes the English test documents first), as
    XNLI's and MLQA's parallel test sets do; and English training, English test and the other
    languages' tests all follow the label distribution of translated packages (Debian translates
    user-facing packages more than development files)."""
    _check_out(out, ENGLISH_OUT)
    opts = _options(options)
    pair_jsonls = list(pair_jsonls)
    translated = opts["document_selection"] == "translated" and bool(pair_jsonls)
    n_translations = translation_counts(pair_jsonls, opts["invalid_utf8"]) if translated else collections.Counter()
    reads = collections.Counter()
    drops = collections.Counter()
    pools: dict[str, list[dict]] = {name: [] for name in SPLITS}
    documents = collections.Counter()
    seen = set()
    labels = set()
    read = []
    for _lineno, doc in _read_jsonl(en_jsonl, opts["invalid_utf8"], reads):
        doc_id = str(doc["doc_id"])
        if doc_id in seen:
            drops["duplicate_doc_id"] += 1
            continue
        seen.add(doc_id)
        read.append((doc, pool_of(doc, seed, opts["split"]), [normalize(u) for u in doc.get("units", [])]))
    # every unit and sentence of every test-pool document (labelled or not) stays out of train/dev
    index = LeakIndex()
    for _, pool, units in read:
        if pool == "test":
            for u in units:
                index.add(u)
    units_removed = collections.Counter()
    for doc, pool, units in read:
        doc_id = str(doc["doc_id"])
        documents[pool] += 1
        label = doc.get("label")
        if label is None:
            drops["unlabelled"] += 1
            continue
        if pool in ("train", "dev"):
            clean = [u for u in units if not index.leaks(u)]
            units_removed[pool] += sum(1 for u in units if u) - sum(1 for u in clean if u)
            if any(units) and not any(clean):
                drops["all_units_in_test"] += 1
                continue
            units = clean
        text = _doc_text(units)
        if not text:
            drops["empty_text"] += 1
            continue
        labels.add(label)
        record = {"doc_id": doc_id, "text": text, "label": label}
        if doc.get("source"):
            record["source"] = doc["source"]
        pools[pool].append(record)
        if pool in ("train", "dev"):
            record["_units"] = [u for u in units if u]
    caps = {"train": opts["max_train_docs"], "dev": opts["max_dev_docs"], "test": opts["max_test_docs"]}
    selected = {}
    for split in ("test", "dev", "train"):
        # most translated first (every count is 0 without "translated"), ties in hash order
        docs = sorted(pools[split], key=lambda r: (-n_translations[r["doc_id"]], order_key(seed, r["doc_id"])))
        selected[split] = docs[: caps[split]]
    # Documents are distinct descriptions; still, no held-out text may reappear in training data.
    test_texts = {r["text"] for r in pools["test"]}
    for split in ("train", "dev"):
        kept = [r for r in selected[split] if r["text"] not in test_texts]
        drops["text_in_test"] += len(selected[split]) - len(kept)
        selected[split] = kept
    test_docs_units = [[u for u in units if u] for _, pool, units in read if pool == "test"]
    overlap = {
        split: _shared_documents(test_docs_units, (u for r in selected[split] for u in r["_units"]))
        for split in ("train", "dev")
    }
    _refuse_leaks(en_jsonl, overlap)
    for split in ("train", "dev", "test"):
        write_jsonl(out[split], [{k: v for k, v in r.items() if k != "_units"} for r in selected[split]])
    label_list = sorted(labels)
    write_json(out["labels"], label_list)
    summary = {
        "lang": "en",
        "seed": seed,
        "documents": sum(documents.values()),
        "pools": {p: {"documents": documents[p], "labelled": len(pools[p])} for p in SPLITS},
        "selected": {s: len(selected[s]) for s in ("train", "dev", "test")},
        "document_selection": "translated" if translated else "random",
        "translated_into": {
            s: dict(sorted(collections.Counter(n_translations[r["doc_id"]] for r in selected[s]).items()))
            for s in ("train", "dev", "test")
        }
        if translated
        else {},
        "label_counts": {s: _label_counts(selected[s]) for s in ("train", "dev", "test")},
        "labels": label_list,
        "drops": {k: drops[k] for k in sorted(drops) if drops[k]},
        "leak_check": {
            "grouping": "source package" if any(d.get("source") for d, _, _ in read) else "document id",
            "test_documents": len(test_docs_units),
            "test_keys": len(index),
            "units_removed": {s: units_removed[s] for s in ("train", "dev")},
            "test_documents_sharing_text_with": overlap,
        },
        "invalid_utf8_replaced": reads["invalid_utf8_replaced"],
    }
    write_json(out["summary"], summary)
    return summary


def _shared_documents(test_docs_units: Iterable[list[str]], written: Iterable[str]) -> int:
    """How many test documents share a unit or a sentence with the ``written`` texts: an index
    built from what was written, not the filter's own index, so that it checks the filter."""
    index = LeakIndex()
    for unit in written:
        index.add(unit)
    return sum(1 for units in test_docs_units if any(index.leaks(u) for u in units))


def _refuse_leaks(where, overlap: dict) -> None:
    bad = {k: v for k, v in overlap.items() if v}
    if bad:
        raise RuntimeError(
            f"{where}: test documents share text with {bad} after the leak filter; this is a bug in "
            "alignxfer.corpus, please report it with the summary"
        )


# ----------------------------------------------------------------------------- pairs


def _length_reason(en: str, xx: str, n_en: int, n_xx: int, opts: dict, median: float) -> str | None:
    if not en or not xx:
        return "empty"
    if en == xx:
        return "identical"
    if min(n_en, n_xx) < opts["min_words"]:
        return "too_short"
    if max(n_en, n_xx) > opts["max_words"]:
        return "too_long"
    ratio = (n_en + 1) / (n_xx + 1) * median
    if ratio > opts["max_length_ratio"] or 1.0 / ratio > opts["max_length_ratio"]:
        return "length_ratio"
    return None


def _median_ratio(docs: list[dict]) -> float:
    """Median of (n_xx+1)/(n_en+1) over the non-empty unit pairs (1.0 if there are none)."""
    ratios = [
        (nx + 1) / (ne + 1) for d in docs for e, x, ne, nx in zip(d["en"], d["xx"], d["n_en"], d["n_xx"]) if e and x
    ]
    return statistics.median(ratios) if ratios else 1.0


def _read_english_selection(path, split: str, seed: int, fractions: dict) -> list[dict]:
    if path is None:
        return []
    records = []
    counts = collections.Counter()
    for lineno, rec in _read_jsonl(path, "error", counts):
        doc_id = str(rec["doc_id"])
        pool = pool_of(rec, seed, fractions)
        if pool != split:
            raise ValueError(
                f"{path}:{lineno}: document {doc_id} is in pool {pool!r}, not {split!r}, under "
                f"seed {seed}: the English {split} file was made with another seed or split"
            )
        records.append(rec)
    return records


def prepare_pair(
    pair_jsonl,
    lang: str,
    out: dict,
    options: dict,
    seed: int,
    english_train=None,
    english_dev=None,
    english_docs=None,
    english_test=None,
) -> dict:
    """Pre-training bitext, topic files and retrieval pairs of one language; returns the summary.

    ``english_train``/``english_dev``: the English topic files of :func:`prepare_english` (their
    documents' translations become ``train``/``dev``; ``train`` holds at most
    ``max_translate_train_docs``, in the English file's order). ``english_test`` (optional): the
    English test file; its documents come first in this language's test set (parallel test
    sets), then the other test-pool documents in hash order. ``english_docs`` (optional): ``en.jsonl``;
    if given, the English units of *every* test-pool document (also those without a translation
    into ``lang``) are kept out of the pre-training bitext too, not only those of the pair file.
    """
    _check_out(out, PAIR_OUT)
    opts = _options(options)
    reads = collections.Counter()
    doc_drops = collections.Counter()
    docs = _read_pair_docs(pair_jsonl, lang, opts, seed, reads, doc_drops)
    median_ratio = _median_ratio(docs)
    index, test_docs_units, test_texts = _test_index(docs, english_docs, opts, seed)
    kept, units, drops = _clean_pairs(docs, index, opts, median_ratio if opts["length_ratio_by_median"] else 1.0)

    # -- pre-training bitext (already in document-hash order, units in document order)
    pretrain = kept["pretrain"][: opts["max_pretrain_pairs"]]
    write_lines(out["pretrain_en"], (en for _, _, en, _ in pretrain))
    write_lines(out["pretrain_xx"], (xx for _, _, _, xx in pretrain))
    write_lines(out["pretrain_ids"], (doc_id for doc_id, _, _, _ in pretrain))

    retrieval, ambiguous = _retrieval_pairs(kept["test"], opts, seed)
    write_jsonl(out["retrieval"], retrieval)

    # -- topic task: the test documents, then the translations of the English train/dev selection
    english_test_ids = {str(r["doc_id"]) for r in _read_english_selection(english_test, "test", seed, opts["split"])}
    test_docs = _topic_test_docs(docs, english_test_ids, opts, doc_drops)
    write_jsonl(out["test"], test_docs)
    topic = {"test": len(test_docs), "test_in_english_test": sum(r["doc_id"] in english_test_ids for r in test_docs)}
    written = {"pretrain": [u for _, _, en, xx in pretrain for u in (en, xx)]}
    units_removed = collections.Counter()
    by_id = {d["doc_id"]: d for d in docs}
    for split, path in (("train", english_train), ("dev", english_dev)):
        selection = _read_english_selection(path, split, seed, opts["split"])
        records, written[split], missing, units_removed[split] = _translated_topic_docs(
            selection, split, by_id, index, test_texts, opts, doc_drops
        )
        write_jsonl(out[split], records)
        topic[split] = len(records)
        topic[f"{split}_english"] = len(selection)
        topic[f"{split}_missing"] = missing

    overlap = {name: _shared_documents(test_docs_units, units) for name, units in written.items()}
    _refuse_leaks(pair_jsonl, overlap)
    pools = collections.Counter(d["pool"] for d in docs)
    summary = {
        "lang": lang,
        "seed": seed,
        "documents": len(docs),
        "unit_pairs": sum(units.values()),
        "pools": {
            p: {
                "documents": pools[p],
                "labelled": sum(1 for d in docs if d["pool"] == p and d["label"] is not None),
                "unit_pairs": units[p],
                "clean_pairs": len(kept[p]),
            }
            for p in SPLITS
        },
        "clean_pairs": sum(len(v) for v in kept.values()),
        "drops": {k: drops[k] for k in DROP_REASONS},
        "document_drops": {k: doc_drops[k] for k in sorted(doc_drops)},
        "median_length_ratio_xx_en": round(median_ratio, 4),
        "length_ratio_by_median": bool(opts["length_ratio_by_median"]),
        "test_overlap_includes_english_docs": english_docs is not None,
        "leak_check": {
            "grouping": "source package" if any(d.get("source") for d in docs) else "document id",
            "test_documents": len(test_docs_units),
            "test_keys": len(index),
            "units_removed": {s: units_removed[s] for s in ("train", "dev")},
            "test_documents_sharing_text_with": overlap,
        },
        "pretrain_pairs": len(pretrain),
        "pretrain_documents": len({doc_id for doc_id, _, _, _ in pretrain}),
        "retrieval_pairs": len(retrieval),
        "retrieval_skipped_repeated_text": ambiguous,
        "topic": topic,
        "label_counts": {"test": _label_counts(test_docs)},
        "invalid_utf8_replaced": reads["invalid_utf8_replaced"],
    }
    write_json(out["summary"], summary)
    return summary


def _read_pair_docs(pair_jsonl, lang: str, opts: dict, seed: int, reads, doc_drops) -> list[dict]:
    """The pair file's documents, normalised, with their pool and hash order, sorted by pool then hash."""
    docs: list[dict] = []
    seen_ids = set()
    for lineno, doc in _read_jsonl(pair_jsonl, opts["invalid_utf8"], reads):
        doc_id = str(doc["doc_id"])
        en, xx = doc.get("en") or [], doc.get("xx") or []
        if len(en) != len(xx):
            raise ValueError(
                f"{pair_jsonl}:{lineno}: document {doc_id} has {len(en)} English and {len(xx)} "
                f"{lang} units; a pair file must hold unit-aligned documents"
            )
        if doc_id in seen_ids:
            doc_drops["duplicate_doc_id"] += 1
            continue
        seen_ids.add(doc_id)
        en = [normalize(u) for u in en]
        xx = [normalize(u) for u in xx]
        docs.append(
            {
                "doc_id": doc_id,
                "en": en,
                "xx": xx,
                "n_en": [len(segment(u)) for u in en],
                "n_xx": [len(segment(u)) for u in xx],
                "label": doc.get("label"),
                "source": doc.get("source"),
                "pool": pool_of(doc, seed, opts["split"]),
                "order": order_key(seed, doc_id),
            }
        )
    docs.sort(key=lambda d: (POOL_ORDER[d["pool"]], d["order"]))
    return docs


def _test_index(docs: list[dict], english_docs, opts: dict, seed: int):
    """Every unit and sentence of a test document, on either side and of every English test document
    (``english_docs``: also those not translated into this language), which is kept out of
    pre-training, translate-train and dev text. Returns (the index, each test document's units for
    the final check, the test documents' texts)."""
    index = LeakIndex()
    test_docs_units = []
    for d in docs:
        if d["pool"] == "test":
            for u in d["en"] + d["xx"]:
                index.add(u)
            test_docs_units.append([u for u in d["en"] + d["xx"] if u])
    test_texts = {_doc_text(d["xx"]) for d in docs if d["pool"] == "test"}
    if english_docs is not None:
        pair_ids = {d["doc_id"] for d in docs}
        for _, doc in _read_jsonl(english_docs, opts["invalid_utf8"], collections.Counter()):
            if pool_of(doc, seed, opts["split"]) == "test":
                en_units = [u for u in (normalize(x) for x in doc.get("units", [])) if u]
                for u in en_units:
                    index.add(u)
                if str(doc["doc_id"]) not in pair_ids:
                    test_docs_units.append(en_units)
    return index, test_docs_units, test_texts


def _clean_pairs(docs: list[dict], index, opts: dict, median: float):
    """The clean unit pairs of every pool (length filters, no test text in pre-training, no
    repeated pair); returns (kept pairs per pool, units per pool, drops per reason)."""
    kept: dict[str, list[tuple[str, int, str, str]]] = {name: [] for name in SPLITS}
    units = collections.Counter()
    drops = collections.Counter({reason: 0 for reason in DROP_REASONS})
    seen_pairs = set()
    for d in docs:
        pool = d["pool"]
        for i, (en, xx, n_en, n_xx) in enumerate(zip(d["en"], d["xx"], d["n_en"], d["n_xx"])):
            units[pool] += 1
            reason = _length_reason(en, xx, n_en, n_xx, opts, median)
            if reason is None and pool == "pretrain" and (index.leaks(en) or index.leaks(xx)):
                reason = "test_overlap"
            if reason is None and (en, xx) in seen_pairs:
                reason = "duplicate"
            if reason is not None:
                drops[reason] += 1
                continue
            seen_pairs.add((en, xx))
            kept[pool].append((d["doc_id"], i, en, xx))
    return kept, units, drops


def _retrieval_pairs(test_pairs: list, opts: dict, seed: int) -> tuple[list[dict], int]:
    """Retrieval: test-pool pairs in a per-unit hash order, each side's text once; returns
    (the pairs, how many were skipped for a repeated text)."""
    retrieval, r_en, r_xx = [], set(), set()
    ambiguous = 0
    for doc_id, _i, en, xx in sorted(test_pairs, key=lambda p: order_key(seed, p[0], p[1])):
        if len(retrieval) >= opts["max_retrieval_pairs"]:
            break
        if en in r_en or xx in r_xx:
            ambiguous += 1
            continue
        r_en.add(en)
        r_xx.add(xx)
        retrieval.append({"doc_id": doc_id, "en": en, "xx": xx})
    return retrieval, ambiguous


def _topic_test_docs(docs: list[dict], english_test_ids: set, opts: dict, doc_drops) -> list[dict]:
    """The labelled test documents of this language: those of the English test set first, then the
    other test-pool documents in hash order, at most ``max_test_docs``."""
    test_docs = []
    for d in sorted(docs, key=lambda d: d["doc_id"] not in english_test_ids):  # stable: hash order within
        if d["pool"] != "test" or d["label"] is None:
            continue
        text = _doc_text(d["xx"])
        if not text:
            doc_drops["empty_text"] += 1
            continue
        test_docs.append({"doc_id": d["doc_id"], "text": text, "label": d["label"]})
        if len(test_docs) >= opts["max_test_docs"]:
            break
    return test_docs


def _translated_topic_docs(selection, split: str, by_id: dict, index, test_texts: set, opts: dict, doc_drops):
    """The translations of the English ``split`` documents, without any unit that holds test text;
    returns (records, the units written, English documents without a translation, units removed)."""
    records, written, missing, removed = [], [], 0, 0
    for rec in selection:
        d = by_id.get(str(rec["doc_id"]))
        if d is None or not _doc_text(d["xx"]):
            missing += 1
            continue
        # a unit pair leaks when either side holds test text (its translation then does too)
        clean = [x for e, x in zip(d["en"], d["xx"]) if x and not (index.leaks(e) or index.leaks(x))]
        removed += sum(1 for x in d["xx"] if x) - len(clean)
        text = _doc_text(clean)
        if not text:
            doc_drops["all_units_in_test"] += 1
            continue
        if text in test_texts:
            doc_drops["text_in_test"] += 1
            continue
        written.extend(clean)
        records.append({"doc_id": d["doc_id"], "text": text, "label": rec["label"]})
        if split == "train" and len(records) >= opts["max_translate_train_docs"]:
            break
    return records, written, missing, removed
