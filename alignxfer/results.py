"""The gather stage: metric JSON files -> tidy table, per-task tables with significance, summary, plots.

Everything here reads the metric JSON files alone (see docs/architecture.md), so the stage can be
rerun without any model. Scores in the tables are in points (metric x 100); the tidy
``all_metrics.csv`` keeps the raw values of the JSON files.

Per task and setting, the table has one row per pre-training arm (objective) and one column per
test language, plus

* ``avg``: the average over the table's languages, computed per seed and then summarised over
  seeds (a seed missing any language gets no average);
* ``avg_xx``: the same over the non-English languages (zero-shot tables only; it is the quantity
  comparable with translate-train, which has no English test);

with mean ± std over fine-tuning seeds, the difference to the ``baseline`` arm (``base``) and to
the ``control`` arm (``mlm``), Welch's t-test on the per-seed scores (:mod:`alignxfer.stats`) and
the minimal detectable difference for the number of seeds.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from alignxfer import stats
from alignxfer.io import atomic_open, read_json

SCALE = 100.0  # metric values are fractions; tables are in points
RETRIEVAL = "retrieval"
NO_FINETUNING = "no_finetuning"  # the setting column of retrieval rows
#: the difference the study wants to be able to detect (points): "is seed std small enough for it?"
TARGET_DIFFERENCE = 2.0

COLUMNS = [
    "task", "setting", "objective", "lang", "train_lang", "seed", "metric", "value", "primary",
    "n", "layer", "majority_baseline", "file",
]


# --------------------------------------------------------------------------- loading


def _primary_for(task: str, metrics: dict) -> str:
    from alignxfer.tasks import primary_metric

    if task == RETRIEVAL:
        return "p@1_xx_en" if "p@1_xx_en" in metrics else sorted(metrics)[0]
    name = primary_metric(task)
    if name and name in metrics:
        return name
    if "accuracy" in metrics:
        return "accuracy"
    return sorted(metrics)[0]


def load_metrics(metric_files: Iterable) -> pd.DataFrame:
    """One row per (metric file, metric): the tidy table every other function reads."""
    rows = []
    for path in metric_files:
        rec = read_json(path)
        missing = [k for k in ("task", "objective", "lang", "metrics") if rec.get(k) is None]
        if missing:
            raise ValueError(f"{path}: metric file lacks {missing}")
        task = rec["task"]
        retrieval = task == RETRIEVAL
        if not retrieval:
            missing = [k for k in ("setting", "seed") if rec.get(k) is None]
            if missing:
                raise ValueError(f"{path}: metric file of task {task!r} lacks {missing}")
        if not rec["metrics"]:
            raise ValueError(f"{path}: empty 'metrics'")
        primary = rec.get("primary_metric") or _primary_for(task, rec["metrics"])
        for metric, value in rec["metrics"].items():
            rows.append(
                {
                    "task": task,
                    "setting": NO_FINETUNING if retrieval else rec["setting"],
                    "objective": rec["objective"],
                    "lang": rec["lang"],
                    "train_lang": rec.get("train_lang"),
                    "seed": None if retrieval else int(rec["seed"]),
                    "metric": metric,
                    "value": math.nan if value is None else float(value),
                    "primary": metric == primary,
                    "n": rec.get("n"),
                    "layer": rec.get("layer"),
                    "majority_baseline": rec.get("majority_baseline"),
                    "file": str(path),
                }
            )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["seed"] = df["seed"].astype("Int64")
    key = ["task", "setting", "objective", "lang", "seed", "metric"]
    dup = df[df.duplicated(key, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        files = sorted(set(dup[(dup[key[:-1]] == first[key[:-1]]).all(axis=1)]["file"]))
        raise ValueError(f"several metric files for the same run: {files}")
    return df


def ordered_unique(values: Iterable) -> list:
    return list(dict.fromkeys(v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))))


def language_order(langs: Iterable[str]) -> list[str]:
    """English first, then the order of first appearance (the config's order in the workflow)."""
    langs = ordered_unique(langs)
    return (["en"] if "en" in langs else []) + [lang for lang in langs if lang != "en"]


def primary_metrics(df: pd.DataFrame) -> dict[str, str]:
    """task -> the metric its tables and claims use."""
    out = {}
    for task, sub in df.groupby("task", sort=False):
        prim = sub[sub["primary"]]["metric"]
        out[task] = prim.iloc[0] if len(prim) else sub["metric"].iloc[0]
    return out


def classification_tasks(df: pd.DataFrame) -> list[str]:
    return [t for t in ordered_unique(df["task"]) if t != RETRIEVAL]


# --------------------------------------------------------------------------- per-seed scores


def seed_matrix(df: pd.DataFrame, task: str, setting: str, metric: str) -> pd.DataFrame:
    """Scores in points, rows (objective, seed), columns = languages, plus ``avg`` (and ``avg_xx``)."""
    sub = df[(df["task"] == task) & (df["setting"] == setting) & (df["metric"] == metric)]
    if sub.empty:
        return pd.DataFrame()
    langs = language_order(sub["lang"])
    mat = sub.pivot_table(index=["objective", "seed"], columns="lang", values="value", aggfunc="first") * SCALE
    mat = mat.reindex(columns=langs)
    mat["avg"] = mat[langs].mean(axis=1, skipna=False)
    xx = [lang for lang in langs if lang != "en"]
    if "en" in langs and xx:
        mat["avg_xx"] = mat[xx].mean(axis=1, skipna=False)
    objectives = ordered_unique(sub["objective"])
    mat = mat.reindex(index=sorted(mat.index, key=lambda k: (objectives.index(k[0]), k[1])))
    mat.columns.name = None
    return mat


def arm_scores(mat: pd.DataFrame, objective: str, column: str) -> list[float]:
    """Per-seed values of one arm in one column of a :func:`seed_matrix` (NaN dropped)."""
    if mat.empty or column not in mat.columns or objective not in mat.index.get_level_values(0):
        return []
    return [float(v) for v in mat.loc[objective][column].tolist() if not pd.isna(v)]


def cross_task_average(df: pd.DataFrame, setting: str, tasks: list[str] | None = None, column: str = "avg") -> pd.DataFrame:
    """Per (objective, seed): the mean over ``tasks`` of each task's language average (points).

    A seed needs every task (NaN otherwise); rows are objectives, columns the tasks plus ``mean``.
    """
    tasks = tasks or classification_tasks(df)
    prim = primary_metrics(df)
    parts = {}
    for task in tasks:
        mat = seed_matrix(df, task, setting, prim[task])
        if not mat.empty and column in mat.columns:
            parts[task] = mat[column]
    if not parts:
        return pd.DataFrame()
    out = pd.DataFrame(parts)
    out["mean"] = out[list(parts)].mean(axis=1, skipna=False)
    return out


# --------------------------------------------------------------------------- tables


def _refs(objectives: list[str], baseline: str, control: str) -> list[str]:
    return [r for r in dict.fromkeys([baseline, control]) if r in objectives]


def build_table(df: pd.DataFrame, task: str, setting: str, metric: str, baseline: str = "base", control: str = "mlm") -> pd.DataFrame:
    """Long table: one row per (objective, column) with mean, std, n_seeds and, for each reference
    arm R (baseline, control), ``diff_vs_R``, ``p_vs_R``, ``sig_vs_R``, ``mdd_vs_R``."""
    mat = seed_matrix(df, task, setting, metric)
    if mat.empty:
        return pd.DataFrame()
    objectives = ordered_unique(mat.index.get_level_values(0))
    refs = _refs(objectives, baseline, control)
    sub = df[(df["task"] == task) & (df["setting"] == setting) & (df["metric"] == metric)]
    rows = []
    for objective in objectives:
        for column in mat.columns:
            values = arm_scores(mat, objective, column)
            summary = stats.summarize(values)
            row = {"task": task, "setting": setting, "metric": metric, "objective": objective, "lang": column,
                   "mean": summary["mean"], "std": summary["std"], "n_seeds": summary["n"]}
            for ref in refs:
                if objective == ref:
                    cmp = {"diff": math.nan, "p": math.nan, "mdd": math.nan}
                else:
                    cmp = stats.compare(values, arm_scores(mat, ref, column))
                row[f"diff_vs_{ref}"] = cmp["diff"]
                row[f"p_vs_{ref}"] = cmp["p"]
                row[f"sig_vs_{ref}"] = stats.significance_mark(cmp["p"])
                row[f"mdd_vs_{ref}"] = cmp["mdd"]
            langs = [column] if column in set(sub["lang"]) else [c for c in mat.columns if c in set(sub["lang"])]
            if column == "avg_xx":
                langs = [c for c in langs if c != "en"]
            per_lang = []
            for lang in langs:
                maj = sub[(sub["objective"] == objective) & (sub["lang"] == lang)]["majority_baseline"].dropna()
                per_lang.append(float(maj.mean()) * SCALE if len(maj) else math.nan)
            row["majority_baseline"] = float(np.mean(per_lang)) if per_lang else math.nan
            rows.append(row)
    return pd.DataFrame(rows)


def _fmt(value: float, digits: int = 1, sign: bool = False) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def power_note(long: pd.DataFrame, column: str = "avg", target: float = TARGET_DIFFERENCE) -> str:
    """Whether a ``target``-point difference between two arms is detectable with these seeds."""
    sub = long[long["lang"] == column]
    sds = sub["std"].dropna()
    n = int(sub["n_seeds"].median()) if len(sub) else 0
    if n < 2 or sds.empty:
        return f"With {n} seed(s) per arm no seed variance can be estimated: no test is possible."
    factor = stats.minimal_detectable_difference(1.0, n, n)
    typical = float(np.sqrt(np.mean(sds**2)))
    mdd = factor * typical
    verdict = "can" if mdd <= target else "cannot"
    return (
        f"Power: with n = {n} seeds per arm the minimal detectable difference (two-sided α = {stats.ALPHA}, "
        f"power {stats.POWER}) is {factor:.2f} × the pooled seed SD, so a {target:g}-point difference is detectable "
        f"only if the pooled SD is ≤ {target / factor:.2f} points. The RMS seed SD of the `{column}` column here is "
        f"{typical:.2f} points → MDD ≈ {mdd:.2f} points: a {target:g}-point difference between arms **{verdict}** be "
        f"reliably detected."
    )


def render_table(long: pd.DataFrame, baseline: str, control: str, title: str) -> str:
    objectives = ordered_unique(long["objective"])
    columns = ordered_unique(long["lang"])
    refs = [r for r in dict.fromkeys([baseline, control]) if f"diff_vs_{r}" in long.columns]
    cell = {(r.objective, r.lang): r for r in long.itertuples(index=False)}
    out = [f"## {title}", ""]
    rows = []
    for objective in objectives:
        row = [objective]
        for column in columns:
            r = cell.get((objective, column))
            if r is None or pd.isna(r.mean):
                row.append("–")
            elif pd.isna(r.std):
                row.append(f"{r.mean:.1f} (n={r.n_seeds})")
            else:
                row.append(f"{r.mean:.1f} ± {r.std:.1f}")
        rows.append(row)
    majority = long.groupby("lang", sort=False)["majority_baseline"].mean()
    if majority.notna().any():
        rows.append(["*majority class*"] + [_fmt(majority.get(c)) for c in columns])
    out += [f"Mean ± std over fine-tuning seeds ({long['metric'].iloc[0]}, points).", "", md_table(["arm"] + columns, rows), ""]
    for ref in refs:
        rows = []
        for objective in objectives:
            if objective == ref:
                continue
            row = [objective]
            for column in columns:
                r = cell.get((objective, column))
                diff = getattr(r, f"diff_vs_{ref}") if r is not None else math.nan
                mark = getattr(r, f"sig_vs_{ref}") if r is not None else ""
                row.append(_fmt(diff, sign=True) + (mark or ""))
            r = cell.get((objective, "avg"))
            row.append(stats.format_p(getattr(r, f"p_vs_{ref}")) if r is not None else "–")
            row.append(_fmt(getattr(r, f"mdd_vs_{ref}"), 1) if r is not None else "–")
            rows.append(row)
        if rows:
            label = "baseline" if ref == baseline else "control"
            out += [f"Difference to `{ref}` ({label}), points:", "",
                    md_table(["arm"] + columns + ["p (avg)", "MDD (avg)"], rows), ""]
    n_seeds = sorted(set(int(n) for n in long["n_seeds"] if n))
    out += [
        f"*Test*: {stats.TEST_NAME}; `*` p < {stats.ALPHA}, `**` p < {stats.ALPHA / 5:g}. "
        f"Seeds per arm: {', '.join(map(str, n_seeds)) or 'none'}. "
        "`avg` averages the languages per seed first, then over seeds (a seed missing a language has no average). "
        "Per-language marks are uncorrected for multiple comparisons (exploratory); the `avg` test is the "
        "one comparison per pair of arms. MDD = minimal detectable difference of the `avg` column "
        f"(α = {stats.ALPHA}, power {stats.POWER}, pooled seed SD). With 3 seeds a t-test has at most 4 degrees of "
        "freedom: a non-significant difference is absence of evidence, not evidence of equality.",
        "",
        power_note(long),
        "",
    ]
    return "\n".join(out)


def retrieval_table(df: pd.DataFrame, baseline: str = "base", control: str = "mlm") -> pd.DataFrame:
    """Long table: one row per (objective, metric, language|avg): value (points), binomial SE, diffs."""
    sub = df[df["task"] == RETRIEVAL]
    if sub.empty:
        return pd.DataFrame()
    langs = language_order(sub["lang"])
    objectives = ordered_unique(sub["objective"])
    refs = _refs(objectives, baseline, control)
    rows = []
    metrics = ordered_unique(sub["metric"])
    metrics.sort(key=lambda name: not sub[sub["metric"] == name]["primary"].any())
    for metric in metrics:
        m = sub[sub["metric"] == metric].set_index(["objective", "lang"])
        for objective in objectives:
            values = {}
            for lang in langs:
                if (objective, lang) in m.index:
                    r = m.loc[(objective, lang)]
                    values[lang] = (float(r["value"]) * SCALE, r["n"])
            for lang in langs + ["avg"]:
                if lang == "avg":
                    complete = len(values) == len(langs)
                    value = float(np.mean([v for v, _ in values.values()])) if complete else math.nan
                    n = sum(int(n) for _, n in values.values() if n) if complete else None
                    se = math.nan
                else:
                    value, n = values.get(lang, (math.nan, None))
                    p = value / SCALE
                    se = math.sqrt(p * (1 - p) / n) * SCALE if n and not math.isnan(p) else math.nan
                row = {"task": RETRIEVAL, "metric": metric, "objective": objective, "lang": lang,
                       "value": value, "binomial_se": se, "n_pairs": n}
                rows.append(row)
    long = pd.DataFrame(rows)
    for ref in refs:
        ref_vals = long[long["objective"] == ref].set_index(["metric", "lang"])["value"]
        long[f"diff_vs_{ref}"] = [
            math.nan if r.objective == ref else r.value - ref_vals.get((r.metric, r.lang), math.nan)
            for r in long.itertuples(index=False)
        ]
    return long


def render_retrieval(long: pd.DataFrame, baseline: str, control: str) -> str:
    out = ["## Retrieval (no fine-tuning)", ""]
    langs = ordered_unique(long["lang"])
    refs = [r for r in dict.fromkeys([baseline, control]) if f"diff_vs_{r}" in long.columns]
    for metric in ordered_unique(long["metric"]):
        m = long[long["metric"] == metric]
        cell = {(r.objective, r.lang): r for r in m.itertuples(index=False)}
        rows = []
        for objective in ordered_unique(m["objective"]):
            row = [objective] + [_fmt(cell[(objective, lang)].value) if (objective, lang) in cell else "–" for lang in langs]
            avg = cell.get((objective, "avg"))
            for ref in refs:
                row.append("" if avg is None or objective == ref else _fmt(getattr(avg, f"diff_vs_{ref}"), sign=True))
            rows.append(row)
        headers = ["arm"] + langs + [f"Δavg vs {ref}" for ref in refs]
        out += [f"Precision@1 `{metric}` (points):", "", md_table(headers, rows), ""]
    out += [
        "Mean-pooled hidden states (special and padding tokens excluded), cosine similarity, precision@1 over the "
        "held-out pairs. One pre-trained model per arm and no fine-tuning: there is no seed variance to test "
        "against, so differences carry no significance mark; the CSV gives each cell's binomial standard error "
        "(test-set sampling only, not training variance).",
        "",
    ]
    return "\n".join(out)


def summary_markdown(df: pd.DataFrame, tables: dict, baseline: str, control: str, files: list[str]) -> str:
    prim = primary_metrics(df)
    out = ["# Results summary", ""]
    for task in classification_tasks(df):
        for setting in ordered_unique(df[df["task"] == task]["setting"]):
            long = tables.get(f"{task}/{setting}")
            if long is None or long.empty:
                continue
            columns = [c for c in ("avg", "avg_xx") if c in set(long["lang"])]
            refs = [r for r in dict.fromkeys([baseline, control]) if f"diff_vs_{r}" in long.columns]
            rows = []
            for objective in ordered_unique(long["objective"]):
                row = [objective]
                for column in columns:
                    r = long[(long["objective"] == objective) & (long["lang"] == column)].iloc[0]
                    row.append(f"{r['mean']:.1f} ± {r['std']:.1f}" if not pd.isna(r["std"]) else _fmt(r["mean"]))
                r = long[(long["objective"] == objective) & (long["lang"] == "avg")].iloc[0]
                for ref in refs:
                    row.append("" if objective == ref else _fmt(r[f"diff_vs_{ref}"], sign=True) + r[f"sig_vs_{ref}"])
                rows.append(row)
            headers = ["arm"] + [f"{c} (mean ± std)" for c in columns] + [f"Δavg vs {r}" for r in refs]
            out += [f"## {task} — {setting} ({prim[task]}, points)", "", md_table(headers, rows), "", power_note(long), ""]
    ret = tables.get(RETRIEVAL)
    if ret is not None and not ret.empty:
        rows = []
        metrics = ordered_unique(ret["metric"])
        for objective in ordered_unique(ret["objective"]):
            row = [objective]
            for metric in metrics:
                r = ret[(ret["objective"] == objective) & (ret["metric"] == metric) & (ret["lang"] == "avg")]
                row.append(_fmt(r["value"].iloc[0]) if len(r) else "–")
            rows.append(row)
        out += ["## Retrieval — average over languages (points)", "", md_table(["arm"] + metrics, rows), ""]
    out += [
        f"Test: {stats.TEST_NAME}; `*` p < {stats.ALPHA}, `**` p < {stats.ALPHA / 5:g}. "
        "`avg` = average over all test languages per seed; `avg_xx` = over the non-English ones.",
        "",
        "Files: " + ", ".join(f"`{Path(f).name}`" for f in files),
        "",
    ]
    return "\n".join(out)


# --------------------------------------------------------------------------- the stage


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    with atomic_open(path) as handle:
        frame.to_csv(handle, index=False)


def _write_text(path: Path, text: str) -> None:
    with atomic_open(path) as handle:
        handle.write(text)


def read_histories(history_files: dict | None) -> dict[str, pd.DataFrame]:
    """objective -> DataFrame of its pre-training history (missing or empty files are skipped)."""
    from alignxfer.io import read_jsonl

    out = {}
    for objective, path in (history_files or {}).items():
        if path is None or not Path(path).exists():
            continue
        records = [r for r in read_jsonl(path) if "step" in r and "loss" in r]
        if records:
            out[objective] = pd.DataFrame(records)
    return out


def gather(
    metric_files: list,
    out_dir,
    baseline: str = "base",
    control: str = "mlm",
    history_files: dict | None = None,
    plots_dir=None,
) -> dict:
    """Build every table (CSV + Markdown), the summary and (with ``plots_dir``) the plots.

    Returns ``{"metrics": tidy DataFrame, "tables": {"<task>/<setting>": long DataFrame,
    "retrieval": ...}, "primary_metrics": {task: metric}, "baseline", "control", "files", "plots"}``;
    :func:`alignxfer.claims.judge_claims` takes this dict.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = load_metrics(metric_files)
    files = []
    path = out_dir / "all_metrics.csv"
    _write_csv(path, df)
    files.append(str(path))
    prim = primary_metrics(df) if len(df) else {}
    tables: dict[str, pd.DataFrame] = {}
    for task in classification_tasks(df):
        for setting in ordered_unique(df[df["task"] == task]["setting"]):
            for metric in ordered_unique(df[(df["task"] == task) & (df["setting"] == setting)]["metric"]):
                long = build_table(df, task, setting, metric, baseline, control)
                if long.empty:
                    continue
                primary = metric == prim[task]
                stem = f"{task}_{setting}" if primary else f"{task}_{setting}_{metric}"
                if primary:
                    tables[f"{task}/{setting}"] = long
                else:
                    tables[f"{task}/{setting}/{metric}"] = long
                _write_csv(out_dir / f"{stem}.csv", long)
                _write_text(out_dir / f"{stem}.md", render_table(long, baseline, control, f"{task} — {setting} — {metric}"))
                files += [str(out_dir / f"{stem}.csv"), str(out_dir / f"{stem}.md")]
    ret = retrieval_table(df, baseline, control)
    if not ret.empty:
        tables[RETRIEVAL] = ret
        _write_csv(out_dir / "retrieval.csv", ret)
        _write_text(out_dir / "retrieval.md", render_retrieval(ret, baseline, control))
        files += [str(out_dir / "retrieval.csv"), str(out_dir / "retrieval.md")]
    summary_path = out_dir / "summary.md"
    _write_text(summary_path, summary_markdown(df, tables, baseline, control, files))
    files.append(str(summary_path))

    plots = []
    if plots_dir is not None:
        from alignxfer import plots as P

        plots = P.write_plots(plots_dir, tables, read_histories(history_files))
    return {
        "metrics": df,
        "tables": tables,
        "primary_metrics": prim,
        "baseline": baseline,
        "control": control,
        "files": files,
        "plots": plots,
    }
