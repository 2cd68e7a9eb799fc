"""MLflow for comparing runs: one metric name per measure, scores in points, per-language runs,
curves without step-0 summaries, MLflow's standard source tags, and artifact locations that move
with the project.

Conventions every workflow script follows (see README, "MLflow"):

* A score is logged under its measure's name (``accuracy``, ``macro_f1``, ``f1``, ``exact_match``,
  ``p_at_1``, ...) in points (0-100, as in the tables), never under ``<lang>.accuracy``; which
  language, arm, seed, task and setting it belongs to is in the run's tags (``lang``, ``arm``,
  ``seed``, ``task``, ``setting``), so the runs table filters, groups and charts by them.
* A job that scores several languages holds one child run per language
  (:func:`log_language_run`) and logs the average over them on its own run, tagged ``lang=avg``.
* Curves (per step / epoch) go through :class:`CurveLogger`; the job's summary is logged once, at
  the curve's last step, and a summary value that has a curve of the same name is renamed
  (``dev_accuracy`` -> ``best_dev_accuracy``) instead of adding a point at step 0.
* Every pre-training run (the base and each arm) logs the same held-out measures from its job's
  ``heldout.json`` (:func:`heldout_metrics`): ``heldout_mlm_loss`` (MLM loss on the held-out
  pairs, fixed masks: one scale for every arm, whatever its training losses are called), the
  other held-out measures as ``heldout_<measure>``, and its own mechanism check under shared
  names: ``mechanism_after`` / ``mechanism_before`` / ``mechanism_improvement`` /
  ``mechanism_learned`` (1 or 0), with tag ``mechanism`` naming the measure (``weam_cp_loss``, ...).
  The values of the trained model go at the curve's last step; an arm's ``heldout_*`` also at
  step 0 with the values of the base it started from (:func:`heldout_before`), which is what
  the arm's model was at step 0.

Artifact locations: MLflow's SQL store makes every local artifact location absolute
(``resolve_uri_if_local`` in ``SqlAlchemyStore.create_experiment``, and runs copy their
experiment's location), so a relative location cannot be stored. A project whose ``mlflow.db``
lies in the project folder (the default) is therefore *relocated*: the first job of a workflow run
in a moved or copied project (:meth:`alignxfer.tracking.JobTracker._experiment_id`, before any
artifact is written) points every location under ``.../mlartifacts`` at this project's
``mlartifacts/``, and ``python -m alignxfer.mlflow_tools ui`` does the same before it starts
``mlflow ui`` and prints the address of the experiment's runs table.
"""

from __future__ import annotations

import getpass
import json
import math
import re
import sqlite3
import sys
from pathlib import Path
from statistics import mean

#: measures logged in points (fractions in the metric files); a prefix (dev_, best_dev_) may precede
POINT_MEASURES = ("accuracy", "macro_f1", "f1", "exact_match", "precision", "recall")
_POINT = re.compile(r"^(?:.*_)?(?:(?:" + "|".join(POINT_MEASURES) + r")$|(?:p_at_|p@)\d+(?:_\w+)?$)")
ARTIFACTS_DIR = "mlartifacts"


def is_score(key: str) -> bool:
    """Whether ``key`` names a score kept as a fraction in files and shown in points."""
    return bool(_POINT.match(key))


def points(metrics: dict) -> dict:
    """``metrics`` with every score (:func:`is_score`) in points (x100); other values unchanged."""
    out = {}
    for key, value in metrics.items():
        if is_score(key) and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[key] = 100.0 * value
        else:
            out[key] = value
    return out


class CurveLogger:
    """The ``callback(step, metrics)`` of a training loop, logging to ``tracker`` in points; then
    :meth:`summary` logs the job's summary at the curve's last step without joining a curve."""

    def __init__(self, tracker, rename_prefix: str = "best_"):
        self.tracker = tracker
        self.prefix = rename_prefix
        self.keys: set[str] = set()
        self.last_step = 0

    def __call__(self, step: int, metrics: dict) -> None:
        values = points(metrics)
        self.keys.update(values)
        self.last_step = max(self.last_step, int(step or 0))
        self.tracker.log_metrics(values, step=step)

    def summary(self, summary: dict, step: int | None = None) -> dict:
        values = {(f"{self.prefix}{k}" if k in self.keys else k): v for k, v in points(summary).items()}
        self.tracker.log_metrics(values, step=self.last_step if step is None else step)
        return values


def heldout_metrics(path) -> tuple[dict, dict]:
    """(metrics, tags) of a pre-training job's held-out check file (:mod:`alignxfer.heldout`).

    Metrics: ``heldout_<measure>`` of the trained model for every number of its ``after`` block
    (``heldout_mlm_loss`` on every run), and the job's mechanism under names shared by all arms:
    ``mechanism_after``, ``mechanism_before`` (an arm: the base it started from),
    ``mechanism_improvement`` (positive = better: an arm's change from before in the measure's
    good direction; the base's unigram cross-entropy minus its MLM loss) and ``mechanism_learned``
    (1/0); a score (``ranking_accuracy``) in points, as everywhere. Tags: ``mechanism`` (the
    measure) and ``mechanism_learned`` (true/false/unknown)."""
    check = json.loads(Path(path).read_text(encoding="utf-8"))

    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)

    metrics = {f"heldout_{k}": float(v) for k, v in (check.get("after") or {}).items() if number(v)}
    mech = check.get("mechanism") or {}
    scale = 100.0 if is_score(str(mech.get("metric", ""))) else 1.0
    if number(mech.get("after")):
        metrics["mechanism_after"] = scale * mech["after"]
    if number(mech.get("before")):
        metrics["mechanism_before"] = scale * mech["before"]
    if number(mech.get("improvement")):
        metrics["mechanism_improvement"] = scale * mech["improvement"]
    elif number(mech.get("reference_value")) and number(mech.get("after")):  # the base: below word frequency
        metrics["mechanism_improvement"] = scale * (mech["reference_value"] - mech["after"])
    learned = mech.get("learned")
    if learned is not None:
        metrics["mechanism_learned"] = float(bool(learned))
    tags = {
        "mechanism": str(mech.get("metric", "unknown")),
        "mechanism_learned": "unknown" if learned is None else str(bool(learned)).lower(),
    }
    return metrics, tags


def log_pretraining_summary(tracker, curves: CurveLogger, summary: dict, heldout_path) -> dict:
    """A pre-training job's summary at its curve's last step, its held-out numbers taken from
    ``heldout_path`` (:func:`heldout_metrics`) so that every arm logs them under the same names;
    returns the logged values."""
    metrics, tags = heldout_metrics(heldout_path) if heldout_path and Path(heldout_path).exists() else ({}, {})
    if tags:
        tracker.set_tags(tags)
        print(heldout_line(heldout_path), flush=True)
        before = heldout_before(heldout_path)
        if before:  # an arm: its model at step 0 is the base it started from
            tracker.log_metrics(before, step=0)
    rest = {k: v for k, v in summary.items() if not k.startswith("heldout_")}
    return curves.summary({**rest, **metrics})


def heldout_before(path) -> dict:
    """An arm's held-out measures of the base it started from, as ``heldout_<measure>`` in the
    units of :func:`heldout_metrics` (empty for the base): logged at step 0, so that the arms'
    ``heldout_mlm_loss`` charts overlay as lines from one common start to each arm's value."""
    check = json.loads(Path(path).read_text(encoding="utf-8"))
    return points(
        {
            f"heldout_{k}": float(v)
            for k, v in (check.get("before") or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)
        }
    )


def heldout_line(path) -> str:
    """``[pretrain weam/13] held-out MLM loss 5.371 (before 5.466); weam_cp_loss 5.421 -> 5.364: learned``."""
    from .console import label

    check = json.loads(Path(path).read_text(encoding="utf-8"))
    mech, after, before = check.get("mechanism") or {}, check.get("after") or {}, check.get("before") or {}

    def num(v):
        return f"{v:.3f}" if isinstance(v, (int, float)) and not isinstance(v, bool) else "n/a"

    line = f"{label('pretrain')} held-out MLM loss {num(after.get('mlm_loss'))}"
    if before:
        line += f" (before {num(before.get('mlm_loss'))})"
    metric = mech.get("metric", "?")
    if "reference_value" in mech:  # the base: against word frequency
        text = f"{metric} {num(mech.get('after'))} vs {mech.get('reference')} {num(mech.get('reference_value'))}"
    else:
        text = f"{metric} {num(mech.get('before'))} -> {num(mech.get('after'))}"
    verdict = {True: "learned", False: "NOT learned", None: "not judged"}[mech.get("learned")]
    return f"{line}; {text}: {verdict} ({check.get('pairs', '?')} held-out pairs)"


def log_language_run(
    tracker,
    lang: str,
    metrics: dict,
    tags: dict | None = None,
    extra: dict | None = None,
    wildcards: dict | None = None,
) -> dict:
    """One child run of ``tracker`` for ``lang`` (tag ``lang``), its scores in points under their
    own names; returns the logged values. ``extra``: more numbers for that run (e.g. ``n``);
    ``wildcards``: more tags that name the child (e.g. ``{"seed": 2}`` in a job over seeds)."""
    values = points({k: v for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)})
    with tracker.child({**(wildcards or {}), "lang": lang}, tags=tags) as run:
        run.log_metrics({**values, **(extra or {})})
    return values


def log_average(tracker, per_language: dict[str, dict], tag: str = "avg") -> dict:
    """The mean over languages of every measure on ``tracker``'s own run, which is tagged ``lang=avg``."""
    measures = sorted(set().union(*per_language.values())) if per_language else []
    averages = {m: mean(v[m] for v in per_language.values() if m in v) for m in measures}
    tracker.set_tags({"lang": tag, "languages": ",".join(sorted(per_language))})
    tracker.log_metrics(averages)
    return averages


def format_scores(values: dict) -> str:
    """``accuracy 48.8, macro_f1 40.1`` (points) for a console line."""
    return ", ".join(f"{k} {v:.1f}" for k, v in values.items() if isinstance(v, (int, float)))


def standard_tags(git: dict, rule: str) -> dict:
    """MLflow's own source tags (the UI's Source and Version columns) from the job's git state."""
    tags = {"mlflow.source.type": "JOB", "mlflow.source.name": f"Snakefile (rule {rule})"}
    commit = git.get("git_commit")
    if commit and commit != "unknown":
        tags["mlflow.source.git.commit"] = commit
    try:
        tags["mlflow.user"] = getpass.getuser()
    except (KeyError, OSError):
        pass
    return tags


# -------------------------------------------------------------------------- moving a project


def _rebase(uri: str, root: Path) -> str | None:
    """``uri`` (a file path or file:// URI under some ``.../mlartifacts``) under ``root/mlartifacts``."""
    marker = f"/{ARTIFACTS_DIR}"
    path = uri[len("file://") :] if uri.startswith("file://") else uri
    if not path.startswith("/") or marker not in path:
        return None
    tail = path.split(marker, 1)[1]
    if tail and not tail.startswith("/"):
        return None
    new = (root / ARTIFACTS_DIR).as_posix() + tail
    new = ("file://" + new) if uri.startswith("file://") else new
    return None if new == uri else new


def relocate(db_path, project_dir, lock: bool = True) -> int:
    """Point every experiment's and run's artifact location under ``.../mlartifacts`` at
    ``project_dir/mlartifacts``; returns how many rows changed (0 when the project did not move).
    ``lock=False``: the caller holds the database's lock already (:class:`alignxfer.tracking.JobTracker`)."""
    import contextlib
    import fcntl

    db_path, root = Path(db_path), Path(project_dir).resolve()
    if not db_path.exists():
        raise FileNotFoundError(f"{db_path}: no MLflow database here (run the workflow first, or pass --db)")
    changed = 0
    with open(db_path.with_name(db_path.name + ".lock"), "a") if lock else contextlib.nullcontext() as handle:
        if lock:
            fcntl.flock(handle, fcntl.LOCK_EX)  # the workflow's jobs take the same lock (alignxfer.tracking)
        con = sqlite3.connect(db_path)
        try:
            with con:
                for table, key, column in (
                    ("experiments", "experiment_id", "artifact_location"),
                    ("runs", "run_uuid", "artifact_uri"),
                ):
                    for row_id, uri in con.execute(f"select {key}, {column} from {table}").fetchall():
                        new = _rebase(uri or "", root)
                        if new:
                            con.execute(f"update {table} set {column} = ? where {key} = ?", (new, row_id))
                            changed += 1
        finally:
            con.close()
    return changed


def moved(artifact_location: str | None, project_dir) -> bool:
    """Whether ``artifact_location`` is some project's ``mlartifacts`` folder but not ``project_dir``'s."""
    return bool(artifact_location) and _rebase(artifact_location, Path(project_dir).resolve()) is not None


def runs_table_url(host: str, port: int, experiment_id: str | None, search: str | None = None) -> str:
    """The address of the experiment's runs table (``#/experiments/<id>/runs``: MLflow 3 opens the
    table there whatever the experiment's kind), with ``search`` as its filter (``searchFilter``,
    e.g. ``tags.arm = 'weam'``). Grouping is not part of the address: Group by -> Tags -> lang."""
    from urllib.parse import quote

    base = f"http://{host}:{port}/"
    if not experiment_id:
        return base
    url = f"{base}#/experiments/{experiment_id}/runs"
    return f"{url}?searchFilter={quote(search, safe='')}" if search else url


def _experiment_id(db_path, name: str | None) -> str | None:
    con = sqlite3.connect(db_path)
    try:
        if name:
            row = con.execute("select experiment_id from experiments where name = ?", (name,)).fetchone()
        else:  # the newest experiment that holds runs
            row = con.execute(
                "select experiment_id from runs group by experiment_id order by max(start_time) desc limit 1"
            ).fetchone()
        return str(row[0]) if row else None
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    import argparse
    import os
    import subprocess

    parser = argparse.ArgumentParser(description="MLflow helpers of the workflow")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("relocate", "point artifact locations at this project"),
        ("ui", "relocate, then run mlflow ui"),
    ):
        p = sub.add_parser(name, help=text)
        p.add_argument("--db", default="mlflow.db", help="the SQLite backend (default: mlflow.db)")
        p.add_argument("--project", default=".", help="the project folder (default: .)")
        if name == "ui":
            p.add_argument("--host", default="127.0.0.1")
            p.add_argument("--port", type=int, default=5000)
            p.add_argument("--experiment", help="experiment name (default: the newest with runs)")
    args = parser.parse_args(argv)
    changed = relocate(args.db, args.project)
    print(f"{args.db}: {changed} artifact locations now under {Path(args.project).resolve() / ARTIFACTS_DIR}")
    if args.command == "ui":
        url = runs_table_url(args.host, args.port, _experiment_id(args.db, args.experiment))
        print(f"runs table: {url}", flush=True)
        exp = _experiment_id(args.db, args.experiment)
        for text, search in (
            ("one arm, per language", "tags.arm = 'weam' and tags.lang != 'avg'"),
            ("pre-training runs (heldout_mlm_loss)", "tags.rule LIKE 'pretrain%'"),
        ):
            print(f"  {text}: {runs_table_url(args.host, args.port, exp, search)}", flush=True)
        cmd = [
            "mlflow",
            "ui",
            "--backend-store-uri",
            f"sqlite:///{Path(args.db).resolve()}",
            "--default-artifact-root",
            str(Path(args.project).resolve() / ARTIFACTS_DIR),
            "--host",
            args.host,
            "--port",
            str(args.port),
        ]
        return subprocess.call(cmd, env=os.environ.copy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
