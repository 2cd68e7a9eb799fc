"""The loops of the evaluation jobs, over test languages and fine-tuning seeds.

The workflow scripts bind a job's files and wildcards to one of these (and look up the MLflow runs
the job links to); the tracker is the job's (:class:`alignxfer.tracking.JobTracker`): one child run
per language or seed under the job's run, whose own run gets the mean.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def zero_shot(
    task_name: str,
    model_dir,
    tests: list,
    labels,
    metrics: list,
    predictions: list,
    languages: list,
    meta: dict,
    hparams: dict,
    threads,
    tracker,
    tags: dict,
    label: str,
) -> dict:
    """Score one English-fine-tuned model on every test language (``tests[i]`` is in ``languages[i]``,
    written to ``metrics[i]`` and ``predictions[i]``; ``meta``: the metric files' fields but ``lang``).
    Each language's scores go to a child run tagged ``tags``; returns their average (points)."""
    from alignxfer.mlflow_tools import format_scores, log_average, log_language_run
    from alignxfer.tasks import get_task
    from alignxfer.tasks.base import EvalFiles

    task = get_task(task_name)
    scores = {}  # lang -> points, one MLflow child run per language; the average on the job's run
    for lang, test, out, pred in zip(languages, tests, metrics, predictions):
        files = EvalFiles(model=model_dir, test=test, labels=labels, metrics=out, predictions=pred)
        result = task.evaluate(files, {**meta, "lang": lang}, hparams, threads=threads)
        scores[lang] = log_language_run(tracker, lang, result["metrics"], tags=tags, extra={"n": result["n"]})
        print(f"[{label}] {lang}: {format_scores(scores[lang])} (n={result['n']})", flush=True)
    average = log_average(tracker, scores)
    print(f"[{label}] average over {len(scores)} languages: {format_scores(average)}", flush=True)
    return average


def translate_train(
    task_name: str,
    seeds: list,
    models: dict,
    pretrain_seeds: dict,
    pretrain_runs: dict,
    train,
    dev,
    test,
    labels,
    outputs: dict,
    meta: dict,
    hparams: dict,
    threads,
    tracker,
    job: dict,
    label: str,
) -> dict | None:
    """For each fine-tuning seed: fine-tune ``models[seed]`` on the target language's ``train``
    (``dev`` selects the epoch), score it on ``test`` and delete it. ``outputs``: ``history``,
    ``dev``, ``metrics``, ``predictions``, each a list with one path per seed; ``meta``: the
    metric files' fields but ``seed`` and ``pretrain_seed``; ``job``: the job's wildcards (console
    labels). One child run per seed (tags: its pre-training run and seed); returns the mean (points)."""
    from alignxfer.console import LABEL_ENV, job_label
    from alignxfer.console import label as console_label
    from alignxfer.devices import model_tmpdir
    from alignxfer.mlflow_tools import CurveLogger, format_scores, points
    from alignxfer.tasks import get_task
    from alignxfer.tasks.base import EvalFiles, FinetuneFiles

    paths = [outputs[k] for k in ("history", "dev", "metrics", "predictions")]
    if not all(len(group) == len(seeds) for group in paths):
        raise ValueError(f"translate_train: {len(seeds)} seed(s) but outputs {paths}")
    task = get_task(task_name)
    per_seed = []  # points of each seed; their mean on the job's run
    for seed, history, dev_json, metric_json, predictions in zip(seeds, *paths):
        os.environ[LABEL_ENV] = job_label("translate_train", {**job, "seed": seed})
        print(f"{console_label()} start", flush=True)
        pseed = pretrain_seeds[int(seed)]
        tags = {"pretrain_run_id": pretrain_runs[int(seed)], "pretrain_seed": str(pseed)}
        with tracker.child({"seed": seed}, tags=tags) as run:
            # the model lives only as long as its evaluation: on node-local disk under SLURM ($TMPDIR),
            # else beside the outputs; ALIGNXFER_MODEL_TMPDIR overrides (alignxfer.devices.model_tmpdir)
            Path(history).parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=model_tmpdir(Path(history).parent), prefix=".model-") as tmp:
                model_dir = Path(tmp) / "model"
                curves = CurveLogger(run)
                files = FinetuneFiles(
                    model=models[int(seed)],
                    train=train,
                    dev=dev,
                    labels=labels,
                    out_model=model_dir,
                    history=history,
                    dev_metrics=dev_json,
                )
                summary = task.finetune(files, hparams=hparams, seed=int(seed), threads=threads, callback=curves)
                curves.summary(summary)
                seed_meta = {**meta, "seed": int(seed), "pretrain_seed": int(pseed)}
                result = task.evaluate(
                    EvalFiles(model=model_dir, test=test, labels=labels, metrics=metric_json, predictions=predictions),
                    seed_meta,
                    hparams,
                    threads=threads,
                )
            scores = points(result["metrics"])
            run.log_metrics({**scores, "n": result["n"]}, step=curves.last_step)
            per_seed.append(scores)
            print(f"[{label}] seed {seed}: {format_scores(scores)} (n={result['n']})", flush=True)
    if not per_seed:
        return None
    average = {k: sum(s[k] for s in per_seed) / len(per_seed) for k in per_seed[0]}
    tracker.set_tags({"seeds": ",".join(map(str, seeds))})
    tracker.log_metrics(average)
    print(f"[{label}] mean over {len(per_seed)} seeds: {format_scores(average)}", flush=True)
    return average
