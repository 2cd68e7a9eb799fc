"""PNG plots of the gather stage (matplotlib, Agg backend; no display needed).

* ``<task>_<setting>.png``: per-language score by arm, error bars = std over seeds;
* ``pretraining_loss.png``: the pre-training loss curves (one panel per objective, components dashed);
* ``retrieval.png``: precision@1 by arm and language, both directions;
* ``forest_<task>_<setting>.png``: every arm's difference to ``base`` and to ``mlm`` per language
  and averaged, point = difference of means, bars = 95% CI of the paired hierarchical bootstrap
  (:mod:`alignxfer.stats`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from alignxfer.io import atomic_dir


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _ordered(values) -> list:
    return list(dict.fromkeys(values))


def _grouped_bars(ax, groups: list[str], series: dict[str, tuple[list, list | None]], ylabel: str) -> None:
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for i, (name, (means, errs)) in enumerate(series.items()):
        err = None if errs is None else [0.0 if pd.isna(e) else e for e in errs]
        ax.bar(x + (i - (len(series) - 1) / 2) * width, means, width, yerr=err, capsize=2, label=name)
    ax.set_xticks(x)
    ax.set_xticklabels(groups)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def plot_task_scores(long: pd.DataFrame, path, title: str) -> None:
    """Grouped bars: languages (and averages) on x, one bar per arm, error bars = seed std."""
    n_seeds = sorted({int(n) for n in long["n_seeds"] if n and not pd.isna(n)})
    title = f"{title} (error bars: std over {'/'.join(map(str, n_seeds)) or '?'} fine-tuning seeds)"
    plt = _pyplot()
    groups = _ordered(long["lang"])
    series = {}
    for objective in _ordered(long["objective"]):
        sub = long[long["objective"] == objective].set_index("lang")
        series[objective] = ([sub["mean"].get(g, np.nan) for g in groups], [sub["std"].get(g, np.nan) for g in groups])
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(groups) + 2), 4))
    _grouped_bars(ax, groups, series, f"{long['metric'].iloc[0]} (points)")
    majority = long.groupby("lang", sort=False)["majority_baseline"].mean()
    if majority.notna().any():
        xs = np.arange(len(groups))
        ys = [majority.get(g, np.nan) for g in groups]
        ax.scatter(xs, ys, marker="_", s=400, color="black", label="majority class", zorder=3)
    ax.set_title(title)
    ax.legend(fontsize=8, ncol=min(7, len(series) + 1), loc="upper center", bbox_to_anchor=(0.5, -0.1))
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=120)
    plt.close(fig)


def plot_loss_curves(histories: dict[str, pd.DataFrame], path) -> None:
    """One panel per objective: total loss (and its components, dashed) against the step."""
    plt = _pyplot()
    names = list(histories)
    cols = min(3, len(names))
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        hist = histories[name].sort_values("step")
        window = max(1, len(hist) // 25)
        for column in ["loss"] + sorted(c for c in hist.columns if c.startswith("loss_")):
            values = pd.to_numeric(hist[column], errors="coerce")
            if values.notna().sum() == 0:
                continue
            smooth = values.rolling(window, min_periods=1).mean()
            style = "-" if column == "loss" else "--"
            ax.plot(hist["step"], smooth, style, label=column, linewidth=1.2 if column == "loss" else 0.9)
        ax.set_title(name)
        ax.set_xlabel("step")
        ax.set_ylabel("loss")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(names) :]:
        ax.axis("off")
    fig.suptitle("pre-training loss (rolling mean over 1/25 of the logged points)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=120)
    plt.close(fig)


def plot_retrieval(long: pd.DataFrame, path) -> None:
    """One panel per direction: precision@1 by language (and average), one bar per arm."""
    plt = _pyplot()
    metrics = _ordered(long["metric"])
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 4), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        m = long[long["metric"] == metric]
        groups = _ordered(m["lang"])
        series = {}
        for objective in _ordered(m["objective"]):
            sub = m[m["objective"] == objective].set_index("lang")
            series[objective] = ([sub["value"].get(g, np.nan) for g in groups], None)
        _grouped_bars(ax, groups, series, "precision@1 (points)")
        ax.set_title(metric)
        ax.legend(fontsize=8, ncol=min(6, len(series)), loc="upper center", bbox_to_anchor=(0.5, -0.1))
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=120)
    plt.close(fig)


def plot_forest(long: pd.DataFrame, refs: tuple, path, title: str) -> bool:
    """One panel per reference arm: each other arm's difference (points) per language and average,
    with its 95% bootstrap CI; ``*`` after an arm's label in a row = Holm p < 0.05. False if there
    is nothing to draw."""
    refs = [r for r in refs if f"diff_vs_{r}" in long.columns]
    if not refs:
        return False
    plt = _pyplot()
    columns = _ordered(long["lang"])
    objectives = _ordered(long["objective"])
    colors = {o: f"C{i}" for i, o in enumerate(objectives)}
    n_seeds = sorted({int(n) for n in long["n_seeds"] if n and not pd.isna(n)})
    fig, axes = plt.subplots(
        1,
        len(refs),
        figsize=(5.5 * len(refs), 0.9 + 0.32 * len(columns) * max(1, len(objectives) - 1)),
        squeeze=False,
        sharey=False,
    )
    for ax, ref in zip(axes.flat, refs):
        arms = [o for o in objectives if o != ref]
        y, labels, ticks = 0.0, [], []
        for column in columns:
            for arm in arms:
                r = long[(long["objective"] == arm) & (long["lang"] == column)]
                if r.empty:
                    continue
                r = r.iloc[0]
                diff, lo, hi = r[f"diff_vs_{ref}"], r[f"ci_low_vs_{ref}"], r[f"ci_high_vs_{ref}"]
                if not pd.isna(diff):
                    err = None if pd.isna(lo) else [[diff - lo], [hi - diff]]
                    ax.errorbar(
                        [diff],
                        [y],
                        xerr=err,
                        fmt="o" if column.startswith("avg") else ".",
                        color=colors[arm],
                        capsize=2,
                        markersize=6 if column.startswith("avg") else 4,
                    )
                ticks.append(y)
                labels.append(f"{column} · {arm}{r.get(f'sig_vs_{ref}', '') or ''}")
                y -= 1
            y -= 0.6
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(ticks)
        ax.set_yticklabels(labels, fontsize=7)
        ax.set_xlabel(f"difference to {ref} ({long['metric'].iloc[0]}, points)")
        ax.set_title(f"vs {ref}", fontsize=10)
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(
        f"{title}: arm − reference, 95% paired bootstrap CI, {'/'.join(map(str, n_seeds)) or '?'} seeds per arm",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=120)
    plt.close(fig)
    return True


def write_plots(
    plots_dir,
    tables: dict,
    histories: dict[str, pd.DataFrame],
    forests: dict | None = None,
    refs: tuple = ("base", "mlm"),
) -> list[str]:
    """Write every plot into ``plots_dir`` (replaced as a whole, atomically); returns the paths."""
    names = []
    with atomic_dir(plots_dir) as tmp:
        tmp = Path(tmp)
        for key, long in (forests or {}).items():
            if long.empty:
                continue
            task, setting = key.split("/")
            name = f"forest_{task}_{setting}.png"
            if plot_forest(long, refs, tmp / name, f"{task} — {setting}"):
                names.append(name)
        for key, long in tables.items():
            if key == "retrieval" or long.empty or key.count("/") != 1:
                continue
            task, setting = key.split("/")
            name = f"{task}_{setting}.png"
            plot_task_scores(long, tmp / name, f"{task} — {setting}")
            names.append(name)
        if histories:
            plot_loss_curves(histories, tmp / "pretraining_loss.png")
            names.append("pretraining_loss.png")
        ret = tables.get("retrieval")
        if ret is not None and not ret.empty:
            plot_retrieval(ret, tmp / "retrieval.png")
            names.append("retrieval.png")
    return [str(Path(plots_dir) / name) for name in names]
