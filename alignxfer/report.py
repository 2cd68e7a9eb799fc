"""What the gather stage declares and what ``snakemake --report`` shows (light: no torch, no pandas,
so the Snakefile can import it).

* :func:`table_stems`: the tables gather writes (``results/tables/<stem>.md|csv``, an HTML page of
  each under ``results/report/``), derived from the metric files the workflow asks for, so every
  table is a declared output whatever the tasks and settings (``zero_shot_delex``, ``probe``, …).
* :func:`overview_rst`: the headline result and the claims summary, included by the report's
  workflow description (``report/workflow.rst``) so they are the first thing a reader sees.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

RETRIEVAL = "retrieval"
_METRIC_PATH = re.compile(r"(?:^|/)metrics/(?P<task>[^/]+)/(?P<setting>[^/]+)/.+/seed[^/]*\.json$")


def table_metrics(task: str) -> tuple[str, tuple[str, ...]]:
    """(primary metric, every metric its metric files report) of a registered task (alignxfer.registry)."""
    from alignxfer import registry

    registry.builtins()
    spec = registry.TASKS.get(task)
    return (spec.primary_metric, spec.metric_names) if spec else ("accuracy", ("accuracy",))


def table_stem(task: str, setting: str, metric: str, primary: bool) -> str:
    return f"{task}_{setting}" if primary else f"{task}_{setting}_{metric}"


def table_stems(metric_paths: Iterable[str]) -> list[str]:
    """Stems of every table gather writes for these metric files (order: first appearance; the
    retrieval table when a retrieval metric file is among them)."""
    stems, retrieval = [], False
    for path in metric_paths:
        path = str(path)
        if f"/{RETRIEVAL}/" in path or path.startswith(f"{RETRIEVAL}/"):
            retrieval = retrieval or "/baselines/" not in path
            continue
        m = _METRIC_PATH.search(path)
        if not m or m["setting"] == "baselines":
            continue
        primary, metrics = table_metrics(m["task"])
        for metric in metrics:
            stem = table_stem(m["task"], m["setting"], metric, metric == primary)
            if stem not in stems:
                stems.append(stem)
    return stems + ([RETRIEVAL] if retrieval else [])


def _cell(text: str) -> str:
    return str(text).replace("\n", " ").replace("|", "/") or "–"


def _list_table(headers: list[str], rows: list[list[str]], widths: list[int] | None = None) -> list[str]:
    out = [".. list-table::", "   :header-rows: 1"]
    if widths:
        out.append("   :widths: " + " ".join(map(str, widths)))
    out.append("")
    for row in [headers] + rows:
        out.append("   * - " + _cell(row[0]))
        out += [f"     - {_cell(c)}" for c in row[1:]]
    return out + [""]


def overview_rst(claims: list[dict], headline: list[dict], note: str = "") -> str:
    """reStructuredText for the top of the report: ``headline`` rows ``{"table", "arm", "score",
    "diff", "ci_low", "ci_high", "p_holm", "ref"}`` and each claim's verdict."""
    out = ["Headline result", "~~~~~~~~~~~~~~~", ""]
    if headline:
        rows = []
        for h in headline:
            diff = "" if h.get("diff") is None or math.isnan(h["diff"]) else f"{h['diff']:+.1f}"
            ci = (
                ""
                if h.get("ci_low") is None or math.isnan(h["ci_low"])
                else f"[{h['ci_low']:+.1f}, {h['ci_high']:+.1f}]"
            )
            p = h.get("p_holm")
            p = "" if p is None or math.isnan(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")
            rows.append([h["table"], h["arm"], f"{h['score']:.1f}", diff, ci, p])
        ref = headline[0].get("ref", "base")
        out += _list_table(["table", "arm", "avg (points)", f"Δ vs {ref}", "95% CI", "Holm p"], rows)
    else:
        out += ["No fine-tuned task results in this run.", ""]
    if note:
        out += [note, ""]
    out += ["Claims", "~~~~~~", ""]
    rows = [[str(c["id"]), c["verdict"], c.get("control_verdict") or "–", c["claim"]] for c in claims]
    out += (
        _list_table(["#", "verdict", "vs mlm control", "claim"], rows, [3, 12, 12, 73])
        if rows
        else ["No claims judged.", ""]
    )
    return "\n".join(out) + "\n"
