"""Paired tests over test examples from per-example prediction files (``X.predictions.jsonl``).

:func:`mcnemar` is the exact McNemar test of two systems scored on the same examples (only the
discordant examples count: a binomial test of ``b`` successes in ``b + c`` trials at 1/2).
:func:`compare_predictions` joins two prediction files on ``id``; :func:`retrieval_comparisons`
compares every retrieval arm with a reference arm per language and correctness key (raw and
centred, both directions).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

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
                rows.append(
                    {
                        "objective": objective,
                        "reference": reference,
                        "lang": lang,
                        "key": key,
                        **compare_predictions(arm, ref, key),
                    }
                )
    return rows


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (same order as the input)."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


KEY_LABELS = {
    "correct": "xx→en",
    "correct_en_xx": "en→xx",
    "correct_centred": "xx→en centred",
    "correct_en_xx_centred": "en→xx centred",
}


def render_retrieval_comparisons(rows: list[dict]) -> str:
    """Markdown: per reference and direction, arms x languages, difference in points with the
    McNemar p-value Holm-adjusted across the arms x languages of that table."""
    out = [
        "## Retrieval: paired differences (precision@1, points)",
        "",
        "Exact McNemar test on the same query pairs (discordant pairs only); p-values Holm-adjusted "
        "across the arms × languages of each table. `*` p_Holm < 0.05.",
        "",
    ]
    for reference in dict.fromkeys(r["reference"] for r in rows):
        for key in dict.fromkeys(r["key"] for r in rows):
            sub = [r for r in rows if r["reference"] == reference and r["key"] == key]
            adjusted = holm([r["p_value"] for r in sub])
            langs = list(dict.fromkeys(r["lang"] for r in sub))
            cells = {(r["objective"], r["lang"]): (r, p) for r, p in zip(sub, adjusted)}
            out += [
                f"### {KEY_LABELS.get(key, key)}: arm − {reference}",
                "",
                "| arm | " + " | ".join(langs) + " |",
                "|---|" + "---:|" * len(langs),
            ]
            for objective in dict.fromkeys(r["objective"] for r in sub):
                row = []
                for lang in langs:
                    r, p = cells[(objective, lang)]
                    row.append(f"{100 * r['diff']:+.1f} (p={p:.3g}){'*' if p < 0.05 else ''}")
                out.append(f"| {objective} | " + " | ".join(row) + " |")
            out.append("")
    return "\n".join(out)
