"""The treatment-check table: did each pre-training job learn its own objective?

Reads the held-out check files the pre-training jobs write (``results/models/{objective}/heldout.json``,
see :mod:`alignxfer.heldout`) and writes ``results/tables/treatment.md``: per job, held-out MLM
loss against the unigram entropy and cross-entropy of the same masked tokens, and the job's
mechanism before (the base it started from) and after, with the verdict.

:func:`not_learned` is what a claims writer calls: the jobs whose mechanism did not move, so
that a claim about an arm can say plainly that the arm did not learn its objective.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from pathlib import Path

from .io import atomic_open


def read_checks(paths: Iterable) -> list[dict]:
    """The held-out check files, in a fixed order (objective, pre-training seed)."""
    checks = []
    for path in paths:
        try:
            check = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise ValueError(f"{path}: not a readable held-out check file ({err})") from None
        for key in ("objective", "after", "mechanism"):
            if key not in check:
                raise ValueError(f"{path}: held-out check file without {key!r}")
        check["path"] = str(path)
        checks.append(check)
    return sorted(checks, key=lambda c: (c["objective"] != "base", c["objective"], c.get("pretrain_seed", 0)))


def not_learned(paths_or_checks: Iterable) -> list[dict]:
    """``[{"objective", "pretrain_seed", "metric", "before", "after"}]`` for every job whose
    mechanism was not learned (``learned`` false; undetermined ones, ``learned`` null, are not listed)."""
    items = list(paths_or_checks)
    checks = items if items and isinstance(items[0], dict) else read_checks(items)
    out = []
    for c in checks:
        m = c["mechanism"]
        if m.get("learned") is False:
            out.append(
                {
                    "objective": c["objective"],
                    "pretrain_seed": c.get("pretrain_seed"),
                    "metric": m["metric"],
                    "before": m.get("before", m.get("reference_value")),
                    "after": m.get("after"),
                }
            )
    return out


def _fmt(value, digits=3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}f}"


def treatment_table(checks: list[dict]) -> str:
    lines = [
        "# Treatment checks (held-out pre-training bitext)",
        "",
        "Every pre-training job scored on pairs no job trained on (fixed masks, dropout off). MLM loss "
        "against the unigram entropy of the same masked tokens (the best a unigram model fitted to "
        "them can do) and the cross-entropy of the base part's word frequencies; the job's own "
        "mechanism before (the base it started from) and after. `learned`: the mechanism improved "
        "by more than the tolerance (base: MLM loss below the unigram cross-entropy).",
        "",
        "| job | pre-training seed | pairs | MLM loss | unigram entropy | unigram cross-entropy | mechanism | before | after | learned |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---|",
    ]
    for c in checks:
        a, m = c["after"], c["mechanism"]
        before = m.get("before", m.get("reference_value"))
        learned = {True: "yes", False: "**no**", None: "undetermined"}[m.get("learned")]
        metric = m["metric"] + (" (vs unigram cross-entropy)" if "reference" in m else "")
        lines.append(
            f"| {c['objective']} | {c.get('pretrain_seed', '–')} | {c.get('pairs', '–')} | {_fmt(a.get('mlm_loss'))} "
            f"| {_fmt(a.get('unigram_entropy'))} | {_fmt(a.get('unigram_cross_entropy'))} | {metric} "
            f"| {_fmt(before)} | {_fmt(m.get('after'))} | {learned} |"
        )
    lines += [
        "",
        "Every measure of every job (after; before in parentheses):",
        "",
        "| job | seed | tlm visible | tlm hidden | tlm gain | weam cp | aligned dist. ratio | ranking acc. |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    keys = (
        "tlm_loss_visible",
        "tlm_loss_hidden",
        "tlm_translation_gain",
        "weam_cp_loss",
        "aligned_word_distance_ratio",
        "ranking_accuracy",
    )
    for c in checks:
        a, b = c["after"], c.get("before") or {}
        cells = [_fmt(a.get(k)) + (f" ({_fmt(b.get(k))})" if b else "") for k in keys]
        lines.append(f"| {c['objective']} | {c.get('pretrain_seed', '–')} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_treatment_table(paths: Iterable, out_path) -> list[dict]:
    """Write the treatment-check table to ``out_path`` (atomically); returns the checks read."""
    checks = read_checks(paths)
    with atomic_open(out_path) as handle:
        handle.write(treatment_table(checks))
    return checks
