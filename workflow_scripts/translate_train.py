# Binds rule translate_train: for each seed, fine-tune on the target-language training data and
# test on that language. One job loops over the seeds (a job costs ~6 s of imports, more than
# training on a small translate-train set); each seed is its own MLflow run, nested under the job's.
import sys  # noqa: E402
import tempfile  # noqa: E402
from pathlib import Path  # noqa: E402

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from alignxfer.jobs import job

wc = snakemake.wildcards
tags = {"arm": wc.objective, "train_lang": wc.lang, "setting": "translate_train"}
with job(snakemake, tags=tags) as ctx:
    from alignxfer.tasks import get_task
    from alignxfer.tracking import pretraining_job

    rule, wildcards = pretraining_job(wc.objective, ctx.config)
    pretrain_runs = {}
    for seed, pseed in ctx.params.pretrain_seeds.items():  # nested: each seed's own pre-training run
        found = wildcards if rule != "pretrain" else {**wildcards, "pseed": str(pseed)}
        pretrain_runs[int(seed)] = ctx.tracker.find_run(rule, found) or "unknown"
    task = get_task(wc.task)
    outputs = zip(ctx.params.seeds, ctx.output.history, ctx.output.dev, ctx.output.metrics)
    for seed, history, dev, metrics in outputs:
        print(f"[translate_train] seed {seed}", flush=True)
        pseed = ctx.params.pretrain_seeds[int(seed)]
        tags = {"pretrain_run_id": pretrain_runs[int(seed)], "pretrain_seed": str(pseed)}
        with ctx.tracker.child({"seed": seed}, tags=tags) as run:
            # the model lives only as long as its evaluation, beside the outputs (same disk)
            Path(history).parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=Path(history).parent, prefix=".model-") as tmp:
                model_dir = Path(tmp) / "model"
                summary = task.finetune(
                    ctx.params.models[int(seed)],
                    ctx.input.train,
                    ctx.input.dev,
                    ctx.input.labels,
                    model_dir,
                    history,
                    dev,
                    hparams=ctx.params.hparams,
                    seed=int(seed),
                    threads=ctx.threads,
                    callback=lambda step, values: run.log_metrics(values, step=step),
                )
                run.log_metrics(summary)
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
                    model_dir, ctx.input.test, ctx.input.labels, metrics, meta, ctx.params.hparams, threads=ctx.threads
                )
            run.log_metrics({f"{wc.lang}.{k}": v for k, v in result["metrics"].items()})
