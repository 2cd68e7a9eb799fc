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
the ``control`` arm (``mlm``) with its 95% CI and p-value from the paired hierarchical bootstrap
(:mod:`alignxfer.stats`, :class:`Comparator`; per-example predictions ``X.predictions.jsonl``
beside the metric files add the test-document level), Holm's correction across the arms of each
column, and the minimal detectable effect. Model-free baselines
(``results/metrics/{task}/baselines/{name}/{lang}.json``) are extra rows, never arms.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from alignxfer import stats
from alignxfer.io import atomic_open, read_json
from alignxfer.report import table_stem

SCALE = 100.0  # metric values are fractions; tables are in points
RETRIEVAL = "retrieval"
NO_FINETUNING = "no_finetuning"  # the setting column of retrieval rows
#: the difference the study wants to be able to detect (points): "is seed std small enough for it?"
TARGET_DIFFERENCE = 2.0

COLUMNS = [
    "task",
    "setting",
    "objective",
    "lang",
    "train_lang",
    "seed",
    "metric",
    "value",
    "primary",
    "n",
    "layer",
    "majority_baseline",
    "file",
    "pretrain_seed",
    "train_docs",
]
BASELINE_COLUMNS = ["task", "setting", "baseline", "lang", "metric", "value", "n", "file"]
NO_PRETRAIN_SEED = -1  # the pretrain_seed of metric files without one (a single pre-training run)


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
        if rec.get("baseline") is not None:  # a model-free baseline: see load_baselines
            continue
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
                    "pretrain_seed": rec.get("pretrain_seed"),
                    "train_docs": rec.get("train_docs"),
                }
            )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["seed"] = df["seed"].astype("Int64")
    df["pretrain_seed"] = df["pretrain_seed"].astype("Int64")
    key = ["task", "setting", "objective", "lang", "pretrain_seed", "seed", "metric"]
    dup = df[df.duplicated(key, keep=False)]
    if len(dup):
        first = dup.iloc[0]
        same = (dup[key[:-1]].astype(object).fillna("") == first[key[:-1]].astype(object).fillna("")).all(axis=1)
        files = sorted(set(dup[same]["file"]))
        raise ValueError(f"several metric files for the same run: {files}")
    return df


def load_baselines(metric_files: Iterable) -> pd.DataFrame:
    """One row per (baseline file, metric) of the model-free baselines among ``metric_files``
    (records with a ``baseline`` field: ``{"task", "setting", "baseline", "lang", "n", "metrics"}``)."""
    rows = []
    for path in metric_files:
        rec = read_json(path)
        if rec.get("baseline") is None:
            continue
        missing = [k for k in ("task", "lang", "metrics") if rec.get(k) is None]
        if missing:
            raise ValueError(f"{path}: baseline file lacks {missing}")
        for metric, value in rec["metrics"].items():
            rows.append(
                {
                    "task": rec["task"],
                    "setting": rec.get("setting") or ("no_finetuning" if rec["task"] == RETRIEVAL else "zero_shot"),
                    "baseline": rec["baseline"],
                    "lang": rec["lang"],
                    "metric": metric,
                    "value": math.nan if value is None else float(value),
                    "n": rec.get("n"),
                    "file": str(path),
                }
            )
    return pd.DataFrame(rows, columns=BASELINE_COLUMNS)


def predictions_path(metric_path) -> Path:
    """The per-example predictions file beside a metric file: ``X.json`` -> ``X.predictions.jsonl``."""
    path = Path(metric_path)
    return path.with_name(path.name[: -len(".json")] + ".predictions.jsonl") if path.name.endswith(".json") else path


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
    """Scores in points, rows (objective, seed) — (objective, pretrain_seed, seed) when metric files
    carry ``pretrain_seed`` (-1 for those without) —, columns = languages, plus ``avg`` (and ``avg_xx``)."""
    sub = df[(df["task"] == task) & (df["setting"] == setting) & (df["metric"] == metric)]
    if sub.empty:
        return pd.DataFrame()
    langs = language_order(sub["lang"])
    index = ["objective", "seed"]
    if (
        "pretrain_seed" in sub.columns and sub["pretrain_seed"].notna().any()
    ):  # several pre-training runs: one row per (pretrain_seed, seed)
        sub = sub.assign(pretrain_seed=sub["pretrain_seed"].fillna(NO_PRETRAIN_SEED))
        index = ["objective", "pretrain_seed", "seed"]
    mat = sub.pivot_table(index=index, columns="lang", values="value", aggfunc="first") * SCALE
    mat = mat.reindex(columns=langs)
    mat["avg"] = mat[langs].mean(axis=1, skipna=False)
    xx = [lang for lang in langs if lang != "en"]
    if "en" in langs and xx:
        mat["avg_xx"] = mat[xx].mean(axis=1, skipna=False)
    objectives = ordered_unique(sub["objective"])
    mat = mat.reindex(index=sorted(mat.index, key=lambda k: (objectives.index(k[0]),) + tuple(k[1:])))
    mat.columns.name = None
    return mat


def arm_scores(mat: pd.DataFrame, objective: str, column: str) -> list[float]:
    """Per-seed values of one arm in one column of a :func:`seed_matrix` (NaN dropped)."""
    if mat.empty or column not in mat.columns or objective not in mat.index.get_level_values(0):
        return []
    return [float(v) for v in mat.loc[objective][column].tolist() if not pd.isna(v)]


def cross_task_average(
    df: pd.DataFrame, setting: str, tasks: list[str] | None = None, column: str = "avg"
) -> pd.DataFrame:
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


# --------------------------------------------------------------------------- the bootstrap comparisons


def example_field(metric: str) -> str:
    """The per-example field of a predictions file whose mean is ``metric`` (accuracy: ``correct``)."""
    return "correct" if metric == "accuracy" else metric


def _example_record(line: str) -> dict:
    """One predictions line, parsed without its (long) ``scores`` list when that comes last, as the
    evaluation jobs write it (the bootstrap needs only the id and the per-example value)."""
    import json

    head, sep, _ = line.partition(', "scores": ')
    if sep:
        try:
            return json.loads(head + "}")
        except ValueError:
            pass
    return json.loads(line)


class Comparator:
    """Paired hierarchical bootstrap comparisons (:class:`alignxfer.stats.Bootstrap`) on the tidy
    metrics table and, where present, the per-example predictions beside each metric file.

    A *series* is ``(setting, objective)`` of one task and metric; its *runs* are the
    (pretrain_seed, seed) pairs. A comparison of series A with reference R pairs the runs both
    have (every language) and, per language, the documents every one of those runs predicted.
    All scores are in points."""

    def __init__(self, df: pd.DataFrame, boot: stats.Bootstrap | None = None, use_predictions: bool = True):
        self.df = df
        self.boot = boot or stats.Bootstrap()
        self.use_predictions = use_predictions
        self._examples: dict = {}
        self._ids: dict = {}
        self._reps: dict = {}
        self.notes: list[str] = []
        self._runs: dict = {}
        if len(df):
            pseeds = (
                df["pretrain_seed"].astype(object).where(df["pretrain_seed"].notna(), NO_PRETRAIN_SEED)
                if "pretrain_seed" in df.columns
                else [NO_PRETRAIN_SEED] * len(df)
            )
            for task, setting, obj, metric, lang, pseed, seed, value, file in zip(
                df["task"],
                df["setting"],
                df["objective"],
                df["metric"],
                df["lang"],
                pseeds,
                df["seed"],
                df["value"],
                df["file"],
            ):
                if pd.isna(value) or pd.isna(seed):
                    continue
                self._runs.setdefault((task, setting, obj, metric, lang), {})[(int(pseed), int(seed))] = (
                    float(value) * SCALE,
                    file,
                )

    # ---- data

    def runs(self, task, setting, objective, metric, lang) -> dict:
        """(pretrain_seed, seed) -> (value in points, metric file) of one series in one language."""
        return self._runs.get((task, setting, objective, metric, lang), {})

    def examples(self, metric_file, metric: str, value: float):
        """(sorted ids, per-example values in points) from the predictions beside ``metric_file``,
        or None (no file, no such field, or a file that does not reproduce the metric)."""
        key = (metric_file, metric)
        if key not in self._examples:
            self._examples[key] = None
            path = predictions_path(metric_file)
            if self.use_predictions and path.exists():
                field = example_field(metric)
                ids, vals = [], []
                with open(path, encoding="utf-8") as handle:
                    for line in handle:
                        if not line.strip():
                            continue
                        rec = _example_record(line)
                        if field not in rec:
                            ids = None
                            break
                        ids.append(str(rec["id"]))
                        vals.append(float(rec[field]))
                if ids:
                    ids_arr = np.asarray(ids)
                    vals_arr = np.asarray(vals) * SCALE
                    if len(set(ids)) != len(ids):
                        self.notes.append(f"{path}: repeated example ids; documents not resampled for it")
                    elif abs(float(vals_arr.mean()) - value) > 1e-3:
                        self.notes.append(
                            f"{path}: mean {field} {vals_arr.mean():.3f} differs from the metric "
                            f"file's {metric} {value:.3f} (stale?); documents not resampled for it"
                        )
                    else:
                        order = np.argsort(ids_arr, kind="stable")
                        ids_sorted = ids_arr[order]
                        # one array object per distinct id set: runs on the same test set share it,
                        # so the common documents of a comparison are found without set operations
                        ids_sorted = self._ids.setdefault(
                            ids_sorted.tobytes() + str(ids_sorted.dtype).encode(), ids_sorted
                        )
                        self._examples[key] = (ids_sorted, vals_arr[order])
        return self._examples[key]

    @staticmethod
    def _grid(runs: Iterable[tuple]) -> list[list[tuple]]:
        """The largest rectangular (pretrain seeds × fine-tuning seeds) grid inside ``runs`` (a
        crossed design: every pre-training seed fine-tuned with the same seeds), as its layout."""
        runs = set(runs)
        pseeds = sorted({p for p, _ in runs})
        fseeds = sorted(s for s in {s for _, s in runs} if all((p, s) in runs for p in pseeds))
        return [[(p, s) for s in fseeds] for p in pseeds] if pseeds and fseeds else []

    @staticmethod
    def _nested_layouts(per_series: list[list[dict]]) -> list[list[list[tuple]]] | None:
        """Layouts pairing the series by *fine-tuning seed* when every series has one pre-training
        seed per fine-tuning seed (the workflow's nested design: fine-tuning seed i continues the
        arm of pre-training seed i, and ``base``, trained once, has one pre-training seed for all).
        The common fine-tuning seeds are grouped by the pre-training seeds they have in every series
        (one group per pre-training seed of the arms; the base's runs follow the arm's grouping), so
        the resampling draws pre-training seeds, then fine-tuning seeds within them, identically for
        every series. None when some series has two pre-training seeds for one fine-tuning seed."""
        pseed_of = []
        for per in per_series:
            mapping: dict = {}
            for runs in per:
                for p, sd in runs:
                    mapping.setdefault(sd, set()).add(p)
            if any(len(ps) > 1 for ps in mapping.values()):
                return None
            pseed_of.append({sd: next(iter(ps)) for sd, ps in mapping.items()})
        common = set.intersection(*[{sd for _, sd in runs} for per in per_series for runs in per])
        if not common:
            return None
        groups: dict = {}
        for sd in sorted(common):
            groups.setdefault(tuple(m[sd] for m in pseed_of), []).append(sd)
        width = min(len(v) for v in groups.values())  # rectangular: the same count in every group
        ordered = [groups[k][:width] for k in sorted(groups)]
        return [[[(m[sd], sd) for sd in group] for group in ordered] for m in pseed_of]

    def _cube(self, series_runs: list[dict], lang: str, metric: str, layouts: list[list[list[tuple]]]):
        """Per series, the (P, S, D) value cube of its layout (P × S run keys), with the documents
        common to every run of every series (D = 1 with the metric values when a run has no usable
        predictions)."""
        per_doc = []
        for runs, layout in zip(series_runs, layouts):
            for row in layout:
                for key in row:
                    value, file = runs[key]
                    per_doc.append(self.examples(file, metric, value))
        if per_doc and all(e is not None for e in per_doc):
            common = per_doc[0][0]
            for ids, _ in per_doc[1:]:
                if ids is not common:
                    common = np.intersect1d(common, ids, assume_unique=True)
        else:
            common = None
        cubes, k = [], 0
        for runs, layout in zip(series_runs, layouts):
            P, S = len(layout), len(layout[0])
            if common is not None and len(common) > 1:
                cube = np.empty((P, S, len(common)))
            else:
                cube = np.empty((P, S, 1))
            for i, row in enumerate(layout):
                for j, key in enumerate(row):
                    if cube.shape[2] > 1:
                        ids, vals = per_doc[k]
                        cube[i, j] = vals if ids is common else vals[np.searchsorted(ids, common)]
                    else:
                        cube[i, j, 0] = runs[key][0]
                    k += 1
            cubes.append(cube)
        return cubes, (0 if cubes[0].shape[2] == 1 else cubes[0].shape[2])

    def replicates(self, task, metric, series: list[tuple], langs: list[str]) -> dict:
        """Paired replicate scores of several series: ``{"point": (n_series, L), "reps": (n_series,
        B, L), "n_runs", "n_pretrain", "docs": {lang: D or 0}, "paired_seeds", "design"}``.

        Pairing: runs with the same (pretrain_seed, seed) key when the series share a crossed grid
        of them; otherwise, in the nested design (one pre-training seed per fine-tuning seed, e.g.
        ``base`` against an arm), runs with the same fine-tuning seed (:meth:`_nested_layouts`);
        otherwise each series is resampled on its own grid (unpaired seeds)."""
        runs = [[self.runs(task, setting, obj, metric, lang) for lang in langs] for setting, obj in series]
        if any(not r for per in runs for r in per):
            return {}
        common = set.intersection(*[set(r) for per in runs for r in per])
        layouts = None
        paired = False
        design = "unpaired"
        if common:
            grid = self._grid(common)
            if grid and (len(grid) > 1 or len(grid[0]) > 1 or len(common) == 1):
                # a crossed grid of shared keys; a single shared run only when nothing pairs better
                layouts, paired, design = [grid] * len(series), True, "crossed"
        nested = self._nested_layouts(runs)
        if nested is not None and (
            layouts is None or len(nested[0]) * len(nested[0][0]) > len(layouts[0]) * len(layouts[0][0])
        ):
            layouts, paired, design = nested, True, "nested"
        if layouts is None:
            layouts = []
            for per in runs:
                grid = self._grid(set.intersection(*[set(r) for r in per]))
                if not grid:
                    return {}
                layouts.append(grid)
        L, n = len(langs), len(series)
        point = np.empty((n, L))
        reps = np.empty((n, self.boot.n_boot, L))
        docs = {}
        for li, lang in enumerate(langs):
            cubes, n_docs = self._cube([per[li] for per in runs], lang, metric, layouts)
            docs[lang] = n_docs
            for si, cube in enumerate(cubes):
                point[si, li] = float(cube.mean())
                key = (
                    task,
                    metric,
                    series[si],
                    lang,
                    tuple(map(tuple, layouts[si])),
                    cube.shape[2],
                    hash(cube.tobytes()),
                )
                if key not in self._reps:
                    self._reps[key] = self.boot.replicates(cube, lang)
                reps[si, :, li] = self._reps[key]
        return {
            "point": point,
            "reps": reps,
            "n_runs": [len(lay) * len(lay[0]) for lay in layouts],
            "n_pretrain": [len({p for row in lay for p, _ in row if p != NO_PRETRAIN_SEED}) for lay in layouts],
            "docs": docs,
            "paired_seeds": paired,
            "design": design,
            "langs": list(langs),
        }

    def compare(self, task, metric, a: tuple, r: tuple, langs: list[str], groups: dict | None = None) -> dict:
        """A − R per language and per group of languages (``groups``: name -> languages, default
        ``{"avg": langs}``): ``{column: stats.summarize_difference(...) + n_runs, docs}``; {} when
        either series lacks a language."""
        out = self.replicates(task, metric, [a, r], langs)
        if not out:
            return {}
        groups = groups if groups is not None else {"avg": list(langs)}
        diff_point = out["point"][0] - out["point"][1]
        diff_reps = out["reps"][0] - out["reps"][1]
        result = {}
        meta = {
            "n_runs": min(out["n_runs"]),
            "n_pretrain": min(out["n_pretrain"]),
            "paired_seeds": out["paired_seeds"],
            "docs": out["docs"],
        }
        for li, lang in enumerate(langs):
            result[lang] = {**stats.summarize_difference(diff_point[li], diff_reps[:, li]), **meta}
        for name, members in groups.items():
            idx = [langs.index(m) for m in members if m in langs]
            if idx:
                result[name] = {
                    **stats.summarize_difference(diff_point[idx].mean(), diff_reps[:, idx].mean(axis=1)),
                    **meta,
                }
        return result


# --------------------------------------------------------------------------- tables


def _refs(objectives: list[str], baseline: str, control: str) -> list[str]:
    return [r for r in dict.fromkeys([baseline, control]) if r in objectives]


def table_groups(columns: list[str], langs: list[str]) -> dict[str, list[str]]:
    """The averaged columns of a table and their languages."""
    groups = {"avg": list(langs)}
    if "avg_xx" in columns:
        groups["avg_xx"] = [lang for lang in langs if lang != "en"]
    return groups


def build_table(
    df: pd.DataFrame,
    task: str,
    setting: str,
    metric: str,
    baseline: str = "base",
    control: str = "mlm",
    comparator: Comparator | None = None,
) -> pd.DataFrame:
    """Long table: one row per (objective, column) with mean, std, n_seeds and, for each reference
    arm R (baseline, control), the bootstrap ``diff_vs_R``, ``ci_low_vs_R``, ``ci_high_vs_R``,
    ``p_vs_R``, ``p_holm_vs_R`` (Holm across the arms of the column), ``sig_vs_R`` (from the Holm
    p), ``mde_vs_R``, plus ``docs_resampled`` (test documents resampled in that column's languages)."""
    mat = seed_matrix(df, task, setting, metric)
    if mat.empty:
        return pd.DataFrame()
    comparator = comparator or Comparator(df)
    objectives = ordered_unique(mat.index.get_level_values(0))
    refs = _refs(objectives, baseline, control)
    sub = df[(df["task"] == task) & (df["setting"] == setting) & (df["metric"] == metric)]
    langs = [c for c in mat.columns if c not in ("avg", "avg_xx")]
    groups = table_groups(list(mat.columns), langs)
    cmps = {
        (o, ref): (comparator.compare(task, metric, (setting, o), (setting, ref), langs, groups) if o != ref else {})
        for o in objectives
        for ref in refs
    }
    rows = []
    for objective in objectives:
        for column in mat.columns:
            values = arm_scores(mat, objective, column)
            summary = stats.summarize(values)
            row = {
                "task": task,
                "setting": setting,
                "metric": metric,
                "objective": objective,
                "lang": column,
                "mean": summary["mean"],
                "std": summary["std"],
                "n_seeds": summary["n"],
            }
            for ref in refs:
                cmp = cmps[(objective, ref)].get(column, {})
                for name in ("diff", "ci_low", "ci_high", "p", "mde"):
                    row[f"{name}_vs_{ref}"] = cmp.get(name, math.nan)
                row[f"n_runs_vs_{ref}"] = cmp.get("n_runs", 0)
            cols = [column] if column in langs else groups.get(column, [])
            docs = [cmps[(o, r)][next(iter(cmps[(o, r)]))]["docs"] for o in objectives for r in refs if cmps[(o, r)]]
            row["docs_resampled"] = bool(docs) and all(d.get(lang, 0) > 1 for d in docs for lang in cols)
            per_lang = []
            for lang in (c for c in cols if c in set(sub["lang"])):
                maj = sub[(sub["objective"] == objective) & (sub["lang"] == lang)]["majority_baseline"].dropna()
                per_lang.append(float(maj.mean()) * SCALE if len(maj) else math.nan)
            row["majority_baseline"] = float(np.mean(per_lang)) if per_lang else math.nan
            rows.append(row)
    long = pd.DataFrame(rows)
    for ref in refs:  # Holm across the arms (other than the reference) of each column
        long[f"p_holm_vs_{ref}"] = math.nan
        for column in mat.columns:
            mask = (long["lang"] == column) & (long["objective"] != ref)
            long.loc[mask, f"p_holm_vs_{ref}"] = stats.holm(long.loc[mask, f"p_vs_{ref}"].tolist())
        long[f"sig_vs_{ref}"] = [stats.significance_mark(p) for p in long[f"p_holm_vs_{ref}"]]
    return long


def _fmt(value: float, digits: int = 1, sign: bool = False) -> str:
    if value is None or pd.isna(value):
        return "–"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def md_table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] + ["---:"] * (len(headers) - 1)) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def power_note(long: pd.DataFrame, column: str = "avg", target: float = TARGET_DIFFERENCE) -> str:
    """Whether a ``target``-point difference between two arms is detectable in this run, from the
    bootstrap minimal detectable effects (MDE) of the ``column`` comparisons."""
    mde = pd.Series(dtype=float)
    if "lang" in long.columns:
        sub = long[long["lang"] == column]
        mde = pd.concat([sub[c] for c in sub.columns if c.startswith("mde_vs_")] or [pd.Series(dtype=float)]).dropna()
    if mde.empty:
        n = int(long["n_seeds"].median()) if len(long) and "n_seeds" in long.columns else 0
        return f"With {n} seed(s) per arm and no comparison that could be resampled, no minimal detectable effect can be given."
    low, high = float(mde.min()), float(mde.max())
    verdict = (
        "**can** be reliably detected"
        if high <= target
        else "**cannot** be reliably detected"
        if low > target
        else "can be reliably detected **only for some pairs**"
    )
    return (
        f"Power: the minimal detectable effect (two-sided α = {stats.ALPHA}, power {stats.POWER}, bootstrap SE) of the "
        f"`{column}` differences is {low:.2f}–{high:.2f} points: a {target:g}-point difference between arms {verdict}."
    )


def test_note(long: pd.DataFrame, n_boot: int, boot_seed: int) -> str:
    """The test, the correction and what was resampled, for under a table."""
    n_seeds = sorted({int(n) for n in long["n_seeds"] if n}) if "n_seeds" in long.columns else []
    per_lang = long[~long["lang"].isin(["avg", "avg_xx"])] if "lang" in long.columns else long
    with_docs = ordered_unique(per_lang[per_lang["docs_resampled"].astype(bool)]["lang"]) if len(per_lang) else []
    without = [c for c in ordered_unique(per_lang["lang"]) if c not in with_docs] if len(per_lang) else []
    docs = (
        "test documents resampled in every language (per-example predictions)"
        if not without
        else f"test documents resampled in: {', '.join(with_docs) or 'none'}; not in {', '.join(without)} "
        "(no usable per-example predictions, or a metric that is not a mean over examples: test-set noise not included there)"
    )
    return (
        f"*Test*: {stats.BOOT_TEST_NAME}; B = {n_boot} replicates, RNG seed {boot_seed}; {docs}. "
        f"*Correction*: {stats.HOLM_NAME}; marks use the Holm p: `*` p < {stats.ALPHA}, `**` p < {stats.ALPHA / 5:g}. "
        f"Seeds per arm: {', '.join(map(str, n_seeds)) or 'none'}. `avg` averages the languages per replicate "
        "(a seed missing a language has no average). MDE = minimal detectable effect (power "
        f"{stats.POWER}). A non-significant difference is absence of evidence, not evidence of equality."
    )


def _baseline_rows(
    baselines: pd.DataFrame | None, task: str, setting: str, metric: str, columns: list[str], langs: list[str]
) -> list[list[str]]:
    """Table rows of the model-free baselines of ``task``/``setting`` (points; averages over the
    languages the baseline has)."""
    if baselines is None or baselines.empty:
        return []
    sub = baselines[(baselines["task"] == task) & (baselines["setting"] == setting) & (baselines["metric"] == metric)]
    rows = []
    for name in ordered_unique(sub["baseline"]):
        values = sub[sub["baseline"] == name].groupby("lang")["value"].mean() * SCALE
        row = [f"*baseline: {name}*"]
        for column in columns:
            if column in langs:
                row.append(_fmt(values.get(column)))
            else:
                members = table_groups(columns, langs).get(column, [])
                have = [values[m] for m in members if m in values.index]
                row.append(_fmt(float(np.mean(have))) if members and len(have) == len(members) else "–")
        rows.append(row)
    return rows


def render_table(
    long: pd.DataFrame,
    baseline: str,
    control: str,
    title: str,
    baselines: pd.DataFrame | None = None,
    n_boot: int = stats.BOOT_SAMPLES,
    boot_seed: int = stats.BOOT_SEED,
) -> str:
    objectives = ordered_unique(long["objective"])
    columns = ordered_unique(long["lang"])
    langs = [c for c in columns if c not in ("avg", "avg_xx")]
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
    first = long.iloc[0]
    model_free = _baseline_rows(baselines, first["task"], first["setting"], first["metric"], columns, langs)
    majority = long.groupby("lang", sort=False)["majority_baseline"].mean()
    if majority.notna().any() and not any(r[0] == "*baseline: majority*" for r in model_free):
        # the metric files' own majority class, unless rule baselines scored it on the same split
        rows.append(["*majority class*"] + [_fmt(majority.get(c)) for c in columns])
    rows += model_free
    out += [
        f"Mean ± std over fine-tuning seeds ({long['metric'].iloc[0]}, points).",
        "",
        md_table(["arm"] + columns, rows),
        "",
    ]
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
            if r is None:
                row += ["–"] * 4
            else:
                lo, hi = getattr(r, f"ci_low_vs_{ref}"), getattr(r, f"ci_high_vs_{ref}")
                row.append("–" if pd.isna(lo) else f"[{lo:+.1f}, {hi:+.1f}]")
                row.append(stats.format_p(getattr(r, f"p_vs_{ref}")))
                row.append(stats.format_p(getattr(r, f"p_holm_vs_{ref}")))
                row.append(_fmt(getattr(r, f"mde_vs_{ref}"), 1))
            rows.append(row)
        if rows:
            label = "baseline" if ref == baseline else "control"
            out += [
                f"Difference to `{ref}` ({label}), points (marks: Holm-corrected):",
                "",
                md_table(["arm"] + columns + ["95% CI (avg)", "p (avg)", "p Holm (avg)", "MDE (avg)"], rows),
                "",
            ]
    out += [test_note(long, n_boot, boot_seed), "", power_note(long), ""]
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
                row = {
                    "task": RETRIEVAL,
                    "metric": metric,
                    "objective": objective,
                    "lang": lang,
                    "value": value,
                    "binomial_se": se,
                    "n_pairs": n,
                }
                rows.append(row)
    long = pd.DataFrame(rows)
    for ref in refs:
        ref_vals = long[long["objective"] == ref].set_index(["metric", "lang"])["value"]
        long[f"diff_vs_{ref}"] = [
            math.nan if r.objective == ref else r.value - ref_vals.get((r.metric, r.lang), math.nan)
            for r in long.itertuples(index=False)
        ]
    return long


def render_retrieval(long: pd.DataFrame, baseline: str, control: str, baselines: pd.DataFrame | None = None) -> str:
    out = ["## Retrieval (no fine-tuning)", ""]
    langs = [c for c in ordered_unique(long["lang"]) if c != "avg"]
    columns = langs + ["avg"]
    refs = [r for r in dict.fromkeys([baseline, control]) if f"diff_vs_{r}" in long.columns]
    for metric in ordered_unique(long["metric"]):
        m = long[long["metric"] == metric]
        cell = {(r.objective, r.lang): r for r in m.itertuples(index=False)}
        rows = []
        for objective in ordered_unique(m["objective"]):
            row = [objective] + [
                _fmt(cell[(objective, lang)].value) if (objective, lang) in cell else "–" for lang in columns
            ]
            avg = cell.get((objective, "avg"))
            for ref in refs:
                row.append("" if avg is None or objective == ref else _fmt(getattr(avg, f"diff_vs_{ref}"), sign=True))
            rows.append(row)
        for row in _baseline_rows(baselines, RETRIEVAL, NO_FINETUNING, metric, columns, langs):
            rows.append(row + [""] * len(refs))
        headers = ["arm"] + columns + [f"Δavg vs {ref}" for ref in refs]
        out += [f"Precision@1 `{metric}` (points):", "", md_table(headers, rows), ""]
    out += [
        "Mean-pooled hidden states (special and padding tokens excluded), cosine similarity, precision@1 over the "
        "held-out pairs. One pre-trained model per arm and no fine-tuning: there is no seed variance to test "
        "against, so differences carry no significance mark; the CSV gives each cell's binomial standard error "
        "(test-set sampling only, not training variance).",
        "",
    ]
    return "\n".join(out)


def _diff_cell(r, ref: str) -> str:
    lo, hi = r[f"ci_low_vs_{ref}"], r[f"ci_high_vs_{ref}"]
    ci = "" if pd.isna(lo) else f" [{lo:+.1f}, {hi:+.1f}]"
    return _fmt(r[f"diff_vs_{ref}"], sign=True) + (r[f"sig_vs_{ref}"] or "") + ci


def summary_markdown(
    df: pd.DataFrame,
    tables: dict,
    baseline: str,
    control: str,
    files: list[str],
    n_boot: int = stats.BOOT_SAMPLES,
    boot_seed: int = stats.BOOT_SEED,
) -> str:
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
                    row.append("" if objective == ref else _diff_cell(r, ref))
                rows.append(row)
            headers = ["arm"] + [f"{c} (mean ± std)" for c in columns] + [f"Δavg vs {r} [95% CI]" for r in refs]
            out += [
                f"## {task} — {setting} ({prim[task]}, points)",
                "",
                md_table(headers, rows),
                "",
                power_note(long),
                "",
            ]
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
        f"Test: {stats.BOOT_TEST_NAME} (B = {n_boot}, RNG seed {boot_seed}). Correction: {stats.HOLM_NAME}; "
        f"`*` Holm p < {stats.ALPHA}, `**` Holm p < {stats.ALPHA / 5:g}. "
        "`avg` = average over all test languages; `avg_xx` = over the non-English ones.",
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


def markdown_html(text: str, title: str) -> str:
    """A standalone HTML page of a Markdown file of this stage (tables rendered), for the report."""
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    style = (
        "body{font-family:sans-serif;font-size:14px;margin:1em;max-width:80em}"
        "table{border-collapse:collapse;margin:0.5em 0}th,td{border:1px solid #ccc;padding:2px 6px}"
        "td{text-align:right}td:first-child{text-align:left}th{background:#f0f0f0}"
        "code{background:#f4f4f4}blockquote{color:#555;border-left:3px solid #ccc;margin:0;padding-left:1em}"
    )
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title><style>{style}</style>'
        f"</head><body>\n{body}</body></html>\n"
    )


def headline_rows(tables: dict, baseline: str = "base") -> list[dict]:
    """The ``avg`` column of every primary table, per arm: score and the difference to ``baseline``
    with its CI and Holm p (for the report's overview)."""
    rows = []
    for key, long in tables.items():
        if key == RETRIEVAL or key.count("/") != 1 or long.empty:
            continue
        for r in long[long["lang"] == "avg"].to_dict("records"):
            values = {
                name: float(r[f"{name}_vs_{baseline}"])
                if not pd.isna(r.get(f"{name}_vs_{baseline}", math.nan))
                else math.nan
                for name in ("diff", "ci_low", "ci_high", "p_holm")
            }
            rows.append(
                {
                    "table": key.replace("/", " — "),
                    "arm": r["objective"],
                    "score": float(r["mean"]),
                    **values,
                    "ref": baseline,
                }
            )
    return rows


def gather(
    metric_files: list,
    out_dir,
    baseline: str = "base",
    control: str = "mlm",
    history_files: dict | None = None,
    plots_dir=None,
    baseline_files: list | None = None,
    n_boot: int = stats.BOOT_SAMPLES,
    boot_seed: int = stats.BOOT_SEED,
    expected_tables: list[str] | None = None,
    html_dir=None,
    forest_refs: tuple | None = None,
) -> dict:
    """Build every table (CSV + Markdown), the summary and (with ``plots_dir``) the plots.

    ``baseline_files``: model-free baselines (rows, never arms; missing ones are fine).
    ``n_boot``/``boot_seed``: the bootstrap. ``expected_tables``: table stems the workflow declares
    (a declared table without data is written as a note saying so). ``html_dir``: an HTML page of
    every Markdown table goes there (for ``snakemake --report``).

    Returns ``{"metrics": tidy DataFrame, "tables": {"<task>/<setting>": long DataFrame,
    "retrieval": ...}, "primary_metrics": {task: metric}, "baseline", "control", "files", "plots",
    "comparator", "baselines"}``; :func:`alignxfer.claims.judge_claims` takes this dict.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    df = load_metrics(metric_files)
    baselines = load_baselines(list(metric_files) + [f for f in (baseline_files or []) if Path(f).exists()])
    comparator = Comparator(df, stats.Bootstrap(n_boot, boot_seed))
    files = []
    path = out_dir / "all_metrics.csv"
    _write_csv(path, df)
    files.append(str(path))
    prim = primary_metrics(df) if len(df) else {}
    tables: dict[str, pd.DataFrame] = {}
    markdown: dict[str, str] = {}
    for task in classification_tasks(df):
        for setting in ordered_unique(df[df["task"] == task]["setting"]):
            for metric in ordered_unique(df[(df["task"] == task) & (df["setting"] == setting)]["metric"]):
                long = build_table(df, task, setting, metric, baseline, control, comparator)
                if long.empty:
                    continue
                primary = metric == prim[task]
                stem = table_stem(task, setting, metric, primary)
                if primary:
                    tables[f"{task}/{setting}"] = long
                else:
                    tables[f"{task}/{setting}/{metric}"] = long
                _write_csv(out_dir / f"{stem}.csv", long)
                markdown[stem] = render_table(
                    long, baseline, control, f"{task} — {setting} — {metric}", baselines, n_boot, boot_seed
                )
                _write_text(out_dir / f"{stem}.md", markdown[stem])
                files += [str(out_dir / f"{stem}.csv"), str(out_dir / f"{stem}.md")]
    ret = retrieval_table(df, baseline, control)
    if not ret.empty:
        tables[RETRIEVAL] = ret
        _write_csv(out_dir / "retrieval.csv", ret)
        markdown["retrieval"] = render_retrieval(ret, baseline, control, baselines)
        _write_text(out_dir / "retrieval.md", markdown["retrieval"])
        files += [str(out_dir / "retrieval.csv"), str(out_dir / "retrieval.md")]
    for stem in expected_tables or []:
        if stem not in markdown:  # declared by the workflow, no data (e.g. a metric no file reported)
            markdown[stem] = f"## {stem}\n\nNo metric files for this table in this run.\n"
            _write_text(out_dir / f"{stem}.md", markdown[stem])
            _write_csv(
                out_dir / f"{stem}.csv", pd.DataFrame(columns=["task", "setting", "metric", "objective", "lang"])
            )
    summary_path = out_dir / "summary.md"
    markdown["summary"] = summary_markdown(df, tables, baseline, control, files, n_boot, boot_seed)
    _write_text(summary_path, markdown["summary"])
    files.append(str(summary_path))
    if comparator.notes:
        print("gather: " + "\n  ".join(comparator.notes[:20]), flush=True)
    if html_dir is not None:
        html_dir = Path(html_dir)
        html_dir.mkdir(parents=True, exist_ok=True)
        for stem, text in markdown.items():
            _write_text(html_dir / f"{stem}.html", markdown_html(text, stem))

    plots = []
    if plots_dir is not None:
        from alignxfer import plots as P

        forests = {key: long for key, long in tables.items() if key.count("/") == 1 and key != RETRIEVAL}
        plots = P.write_plots(
            plots_dir, tables, read_histories(history_files), forests=forests, refs=forest_refs or (baseline, control)
        )
    return {
        "metrics": df,
        "tables": tables,
        "primary_metrics": prim,
        "baseline": baseline,
        "control": control,
        "files": files,
        "plots": plots,
        "comparator": comparator,
        "baselines": baselines,
        "markdown": markdown,
        "n_boot": n_boot,
        "boot_seed": boot_seed,
    }
