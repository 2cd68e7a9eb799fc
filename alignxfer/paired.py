"""Paired tests over test examples from per-example prediction files (``X.predictions.jsonl``).

:func:`mcnemar` is the exact McNemar test of two systems scored on the same examples (only the
discordant examples count: a binomial test of ``b`` successes in ``b + c`` trials at 1/2).
:func:`compare_predictions` joins two prediction files on ``id``; :func:`retrieval_comparisons`
compares every retrieval arm with a reference arm per language and correctness key (raw and
centred, both directions).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

from alignxfer.io import read_jsonl

#: correctness keys of a retrieval predictions file (alignxfer.tasks.retrieval.write_predictions)
RETRIEVAL_KEYS = ("correct", "correct_en_xx", "correct_centred", "correct_en_xx_centred")


def mcnemar(a: Sequence[bool], b: Sequence[bool]) -> dict:
    """Exact two-sided McNemar test of paired correctness vectors ``a`` and ``b``.

    Returns ``{"n", "a_only", "b_only", "diff", "p_value", "test"}``; ``diff`` is
    accuracy(a) - accuracy(b). With no discordant pair the p-value is 1.
    """
    from scipy.stats import binomtest

    if len(a) != len(b):
        raise ValueError(f"paired vectors differ in length: {len(a)} and {len(b)}")
    if not len(a):
        raise ValueError("no paired examples")
    a_only = sum(1 for x, y in zip(a, b) if x and not y)
    b_only = sum(1 for x, y in zip(a, b) if y and not x)
    discordant = a_only + b_only
    p = 1.0 if discordant == 0 else float(binomtest(a_only, discordant, 0.5).pvalue)
    return {
        "n": len(a),
        "a_only": a_only,
        "b_only": b_only,
        "diff": (a_only - b_only) / len(a),
        "p_value": p,
        "test": "exact McNemar (two-sided binomial on discordant pairs)",
    }


def read_predictions(path) -> dict[str, dict]:
    rows = {}
    for lineno, row in enumerate(read_jsonl(path), 1):
        if "id" not in row:
            raise ValueError(f"{path}:{lineno}: prediction line has no 'id'")
        if row["id"] in rows:
            raise ValueError(f"{path}:{lineno}: duplicate id {row['id']!r}")
        rows[row["id"]] = row
    return rows


def compare_predictions(path_a, path_b, key: str = "correct") -> dict:
    """McNemar of two prediction files over the same ids (they must hold the same ids)."""
    a, b = read_predictions(path_a), read_predictions(path_b)
    if set(a) != set(b):
        only_a, only_b = sorted(set(a) - set(b))[:3], sorted(set(b) - set(a))[:3]
        raise ValueError(
            f"{path_a} and {path_b} hold different examples (e.g. only in the first: {only_a}, only in the "
            f"second: {only_b}); paired tests need the same test examples (same pool size and seed)"
        )
    ids = sorted(a)
    for path, rows in ((path_a, a), (path_b, b)):
        if any(key not in rows[i] for i in ids):
            raise ValueError(f"{path}: some lines lack {key!r}")
    return mcnemar([bool(a[i][key]) for i in ids], [bool(b[i][key]) for i in ids])


def retrieval_comparisons(
    metrics_root, objectives: Iterable[str], langs: Iterable[str], reference: str, keys: Sequence[str] = RETRIEVAL_KEYS
) -> list[dict]:
    """One row per (objective != reference, language, key): McNemar of the arm against
    ``reference`` on ``{metrics_root}/retrieval/{objective}/{lang}.predictions.jsonl``."""
    root = Path(metrics_root) / "retrieval"
    rows = []
    for objective in objectives:
        if objective == reference:
            continue
        for lang in langs:
            arm = root / objective / f"{lang}.predictions.jsonl"
            ref = root / reference / f"{lang}.predictions.jsonl"
            for key in keys:
                rows.append({"objective": objective, "reference": reference, "lang": lang, "key": key,
                             **compare_predictions(arm, ref, key)})
    return rows
