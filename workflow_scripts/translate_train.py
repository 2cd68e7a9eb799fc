# Binds rule translate_train: for each seed, fine-tune on the target-language training data and
# test on that language. One job loops over the seeds (a job costs ~6 s of imports, more than
# training on a small translate-train set); each seed is its own MLflow run, nested under the job's.
import os
import sys
import tempfile
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from alignxfer.jobs import job

wc = snakemake.wildcards
tags = {"arm": wc.objective, "train_lang": wc.lang, "setting": "translate_train"}
with job(snakemake, tags=tags) as ctx:
    from alignxfer.console import LABEL_ENV, job_label, label
    from alignxfer.devices import model_tmpdir
    from alignxfer.mlflow_tools import CurveLogger, format_scores, points
    from alignxfer.tasks import get_task
    from alignxfer.tasks.base import EvalFiles, FinetuneFiles
    from alignxfer.tracking import pretraining_job

    rule, wildcards = pretraining_job(wc.objective, ctx.config)
    pretrain_runs = {}
    for seed, pseed in ctx.params.pretrain_seeds.items():  # nested: each seed's own pre-training run
        found = wildcards if rule != "pretrain" else {**wildcards, "pseed": str(pseed)}
        pretrain_runs[int(seed)] = ctx.tracker.find_run(rule, found) or "unknown"
    task = get_task(wc.task)
    per_seed = []  # points of each seed; their mean on the job's run
    # one path per seed; without group_seeds each named output is a single path (a str), not a list
    paths = [
        [p] if isinstance(p, str) else list(p)
        for p in (ctx.output.history, ctx.output.dev, ctx.output.metrics, ctx.output.predictions)
    ]
    if not all(len(group) == len(ctx.params.seeds) for group in paths):
        raise ValueError(f"translate_train: {len(ctx.params.seeds)} seed(s) but outputs {paths}")
    for seed, history, dev, metrics, predictions in zip(ctx.params.seeds, *paths):
        os.environ[LABEL_ENV] = job_label("translate_train", {**dict(wc.items()), "seed": seed})
        print(f"{label()} start", flush=True)
        pseed = ctx.params.pretrain_seeds[int(seed)]
        tags = {"pretrain_run_id": pretrain_runs[int(seed)], "pretrain_seed": str(pseed)}
        with ctx.tracker.child({"seed": seed}, tags=tags) as run:
            # the model lives only as long as its evaluation: on node-local disk under SLURM ($TMPDIR),
            # else beside the outputs; ALIGNXFER_MODEL_TMPDIR overrides (alignxfer.devices.model_tmpdir)
            Path(history).parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=model_tmpdir(Path(history).parent), prefix=".model-") as tmp:
                model_dir = Path(tmp) / "model"
                curves = CurveLogger(run)
                files = FinetuneFiles(model=ctx.params.models[int(seed)], train=ctx.input.train, dev=ctx.input.dev,
                                      labels=ctx.input.labels, out_model=model_dir, history=history, dev_metrics=dev)
                summary = task.finetune(
                    files,
                    hparams=ctx.params.hparams,
                    seed=int(seed),
                    threads=ctx.threads,
                    callback=curves,
                )
                curves.summary(summary)
                meta = {
                    "task": wc.task,
                    "setting": "translate_train",
                    "objective": wc.objective,
                    "lang": wc.lang,
                    "train_lang": wc.lang,
                    "seed": int(seed),
                    "pretrain_seed": int(pseed),
                }
                result = task.evaluate(
                    EvalFiles(model=model_dir, test=ctx.input.test, labels=ctx.input.labels, metrics=metrics,
                              predictions=predictions),
                    meta, ctx.params.hparams, threads=ctx.threads,
                )
            scores = points(result["metrics"])
            run.log_metrics({**scores, "n": result["n"]}, step=curves.last_step)
            per_seed.append(scores)
            print(f"[translate_train {wc.task}/{wc.objective}/{wc.lang}] seed {seed}: {format_scores(scores)} "
                  f"(n={result['n']})", flush=True)
    if per_seed:
        average = {k: sum(s[k] for s in per_seed) / len(per_seed) for k in per_seed[0]}
        ctx.tracker.set_tags({"seeds": ",".join(map(str, ctx.params.seeds))})
        ctx.tracker.log_metrics(average)
        print(f"[translate_train {wc.task}/{wc.objective}/{wc.lang}] mean over {len(per_seed)} seeds: "
              f"{format_scores(average)}", flush=True)
