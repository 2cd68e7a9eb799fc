"""Alignment quality: the study's aligner measured against hand-made (gold) word alignments.

For each study language with a gold set, :func:`evaluate` aligns the gold sentences *together
with that pair's pre-training bitext* (``results/align/en-{lang}/corpus.txt``, the file the
``align`` rule trains on), with the study's aligner options, in both directions, symmetrizes them
with every heuristic, and scores the links of the gold sentences only: alignment error rate
(AER), precision and recall, with sure/possible links as awesome-align's ``tools/aer.py`` and
Och & Ney (2003) define them, summed over all gold sentences (micro average):

* S = sure gold links, P = sure + possible gold links, A = predicted links;
* precision = |A ∩ P| / |A|, recall = |A ∩ S| / |S|, AER = 1 - (|A ∩ S| + |A ∩ P|) / (|A| + |S|).

Two segmentations of the gold sentences (``alignment.quality.segmentations``):

* ``gold``: the gold set's own tokens are the aligner's words (what AER is defined on);
* ``workflow``: each gold token is split with :func:`alignxfer.words.segment`, the segmentation
  the study's aligner sees (e.g. one word per CJK character), and a gold-token pair counts as
  linked when any of their words are linked (the usual subword-to-word projection).

Gold set format (``data/gold-alignments/README.md``): a stem ``X`` names two files,
``X.src-tgt`` (one pair a line, ``left tokens ||| right tokens``, tokens separated by ASCII spaces) and ``X.gold`` (one line a pair,
``i-j`` sure and ``ipj`` possible links, 1-indexed, ``i`` into the left side). ``english`` says
which side is English (``left`` or ``right``); links are turned English-first and 0-indexed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .alignment import (
    HEURISTICS,
    AlignmentError,
    align_sentences,
    read_corpus,
    symmetrize,
)
from .io import read_lines

REPO = Path(__file__).resolve().parent.parent
GOLD_DIR = REPO / "data" / "gold-alignments"

#: the gold sets shipped in data/gold-alignments (attribution: data/gold-alignments/README.md)
BUILTIN_GOLD = {
    "fr": {"path": str(GOLD_DIR / "enfr"), "english": "left", "name": "Hansards en-fr (HLT-NAACL 2003), 447 sentences"},
    "ja": {"path": str(GOLD_DIR / "jaen"), "english": "right", "name": "KFTT ja-en (Neubig 2011), 582 sentences"},
    "ro": {"path": str(GOLD_DIR / "roen"), "english": "right", "name": "WPT-05 ro-en, 248 sentences"},
}

SEGMENTATIONS = ("gold", "workflow")
METHODS = ("forward", "reverse") + HEURISTICS
_LINK = re.compile(r"^(\d+)([-p])(\d+)$")


class GoldError(AlignmentError):
    """A malformed gold set; the message names the file and line."""


@dataclass
class GoldSet:
    src: list = field(default_factory=list)  # English token lists
    tgt: list = field(default_factory=list)  # other-language token lists
    sure: list = field(default_factory=list)  # per sentence: set of (en i, xx j), 0-based
    possible: list = field(default_factory=list)  # per sentence: sure | possible links


def gold_sets(config: dict) -> dict:
    """The gold set of each language: the shipped ones, overridden or extended by
    ``alignment.gold`` (a language mapped to a set there replaces the shipped one)."""
    out = {lang: dict(spec) for lang, spec in BUILTIN_GOLD.items()}
    for lang, spec in (config.get("alignment", {}).get("gold") or {}).items():
        out[lang] = {"english": "left", "name": spec.get("path"), **spec}
    return out


def gold_files(spec: dict) -> tuple[Path, Path]:
    stem = Path(spec["path"])
    return stem.with_name(stem.name + ".src-tgt"), stem.with_name(stem.name + ".gold")


def read_gold(spec: dict) -> GoldSet:
    """Read a gold set (see the module docstring), English first, links 0-based."""
    text_path, gold_path = gold_files(spec)
    english = spec.get("english", "left")
    if english not in ("left", "right"):
        raise GoldError(f"gold set {spec['path']}: english must be 'left' or 'right', not {english!r}")
    texts, golds = read_lines(text_path), read_lines(gold_path)
    if len(texts) != len(golds):
        raise GoldError(
            f"{gold_path} has {len(golds)} lines but {text_path} has {len(texts)}; a gold set needs one link line per pair"
        )
    out = GoldSet()
    for n, (text, links) in enumerate(zip(texts, golds), 1):
        parts = text.split("|||")
        if len(parts) != 2:
            raise GoldError(
                f"{text_path}:{n}: expected 'left tokens ||| right tokens' (one '|||'), found {len(parts) - 1}"
            )
        # tokens are separated by ASCII spaces only: KFTT has U+3000 (ideographic space) tokens
        left, right = [t for t in parts[0].split(" ") if t], [t for t in parts[1].split(" ") if t]
        sure, possible = set(), set()
        for token in links.split():
            m = _LINK.match(token)
            if not m:
                raise GoldError(
                    f"{gold_path}:{n}: {token!r} is not a gold link 'i-j' (sure) or 'ipj' (possible), 1-indexed"
                )
            i, j = int(m.group(1)), int(m.group(3))
            if not (1 <= i <= len(left) and 1 <= j <= len(right)):
                raise GoldError(
                    f"{gold_path}:{n}: link {token} is out of range for {len(left)} left and {len(right)} right tokens "
                    "(links are 1-indexed, i into the left side)"
                )
            link = (i - 1, j - 1) if english == "left" else (j - 1, i - 1)
            possible.add(link)
            if m.group(2) == "-":
                sure.add(link)
        en, xx = (left, right) if english == "left" else (right, left)
        out.src.append(en)
        out.tgt.append(xx)
        out.sure.append(sure)
        out.possible.append(possible)
    return out


def score(predicted, sure, possible) -> dict:
    """AER, precision and recall (in %) summed over sentences; ``possible`` includes ``sure``."""
    n_a = n_s = a_s = a_p = 0
    for a, s, p in zip(predicted, sure, possible):
        a = set(a)
        n_a += len(a)
        n_s += len(s)
        a_s += len(a & s)
        a_p += len(a & p)
    return {
        "aer": 100.0 * (1.0 - (a_s + a_p) / (n_a + n_s)) if n_a + n_s else float("nan"),
        "precision": 100.0 * a_p / n_a if n_a else float("nan"),
        "recall": 100.0 * a_s / n_s if n_s else float("nan"),
        "links": n_a,
        "sure": n_s,
    }


def _resegment(sentences):
    """Split each gold token with the workflow's segmentation: (word lists, word -> token index)."""
    from .words import segment

    words, owners = [], []
    for tokens in sentences:
        w, o = [], []
        for k, token in enumerate(tokens):
            pieces = segment(token)
            w += pieces
            o += [k] * len(pieces)
        words.append(w)
        owners.append(o)
    return words, owners


def evaluate(corpus_path, gold: GoldSet, options: dict, heuristic: str, segmentations=SEGMENTATIONS) -> dict:
    """Align the gold sentences after the bitext of ``corpus_path``; score every method.

    Returns ``{"pairs": bitext pairs, "sentences": gold sentences, "configured": heuristic,
    "results": [{"segmentation", "method", "aer", "precision", "recall", "links", "sure"}, ...],
    "seconds": ...}``."""
    started = time.perf_counter()
    src, tgt = read_corpus(corpus_path)
    n = len(src)
    results = []
    for seg in segmentations:
        if seg == "gold":
            gsrc, gtgt = gold.src, gold.tgt
            osrc = [list(range(len(s))) for s in gsrc]
            otgt = [list(range(len(t))) for t in gtgt]
        elif seg == "workflow":
            (gsrc, osrc), (gtgt, otgt) = _resegment(gold.src), _resegment(gold.tgt)
        else:
            raise ValueError(f"unknown segmentation {seg!r}; allowed: {list(SEGMENTATIONS)}")
        fwd = align_sentences(src + gsrc, tgt + gtgt, reverse=False, options=options)[n:]
        rev = align_sentences(src + gsrc, tgt + gtgt, reverse=True, options=options)[n:]
        for method in METHODS:
            if method == "forward":
                rows = fwd
            elif method == "reverse":
                rows = rev
            else:
                rows = [symmetrize(f, r, len(s), len(t), method) for f, r, s, t in zip(fwd, rev, gsrc, gtgt)]
            projected = [{(os_[i], ot[j]) for i, j in links} for links, os_, ot in zip(rows, osrc, otgt)]
            results.append({"segmentation": seg, "method": method, **score(projected, gold.sure, gold.possible)})
    return {
        "pairs": n,
        "sentences": len(gold.src),
        "configured": heuristic,
        "results": results,
        "seconds": time.perf_counter() - started,
    }


def flat_metrics(report: dict) -> dict:
    """MLflow metric names: ``aer/gold/grow-diag-final-and`` -> ``aer_gold_grow_diag_final_and``."""
    out = {"gold_sentences": report["sentences"], "bitext_pairs": report["pairs"], "seconds": report["seconds"]}
    for row in report["results"]:
        for key in ("aer", "precision", "recall"):
            out[f"{key}_{row['segmentation']}_{row['method']}".replace("-", "_")] = row[key]
    return out


# --------------------------------------------------------------------------------------------
# the table


COLUMNS = [
    "lang",
    "gold set",
    "segmentation",
    "method",
    "AER",
    "precision",
    "recall",
    "links",
    "sure links",
    "gold sentences",
    "bitext pairs",
]


def table_rows(reports: dict, langs, eval_langs=(), gold: dict | None = None) -> list[list[str]]:
    """One row per language × segmentation × method; a language without a gold set (or without a
    bitext) gets one row saying so. ``reports``: {lang: evaluate()'s dict with its ``gold`` name}."""
    gold = gold or {}
    rows = []
    for lang in langs:
        if lang not in reports:
            rows.append([f"en-{lang}", "no gold set (add one under alignment.gold)"] + [""] * (len(COLUMNS) - 2))
            continue
        rep = reports[lang]
        for r in rep["results"]:
            method = r["method"] + (" (configured)" if r["method"] == rep["configured"] else "")
            rows.append(
                [
                    f"en-{lang}",
                    gold.get(lang, {}).get("name", ""),
                    r["segmentation"],
                    method,
                    f"{r['aer']:.1f}",
                    f"{r['precision']:.1f}",
                    f"{r['recall']:.1f}",
                    str(r["links"]),
                    str(r["sure"]),
                    str(rep["sentences"]),
                    str(rep["pairs"]),
                ]
            )
    for lang in eval_langs:
        rows.append(
            [f"en-{lang}", "evaluation-only language: no pre-training bitext to align"] + [""] * (len(COLUMNS) - 2)
        )
    return rows


def write_tables(reports: dict, langs, md_path, csv_path, eval_langs=(), gold: dict | None = None) -> int:
    import csv

    from .io import atomic_open

    rows = table_rows(reports, langs, eval_langs, gold)
    with atomic_open(csv_path) as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    with atomic_open(md_path) as handle:
        handle.write("# Alignment quality against gold word alignments\n\n")
        handle.write(
            "AER, precision and recall in % (sure/possible links; AER = 1 - (|A∩S| + |A∩P|) / (|A| + |S|), "
            "precision = |A∩P| / |A|, recall = |A∩S| / |S|, summed over the gold sentences). The gold sentences are "
            "aligned together with the pair's pre-training bitext, with the study's aligner options; "
            "segmentation `gold` = the gold set's tokens, `workflow` = the study's word segmentation projected "
            "to the gold tokens. Lower AER is better.\n\n"
        )
        handle.write("| " + " | ".join(COLUMNS) + " |\n")
        handle.write("|" + "|".join("---" if k < 4 else "---:" for k in range(len(COLUMNS))) + "|\n")
        for row in rows:
            handle.write("| " + " | ".join(row) + " |\n")
    return len(rows)
