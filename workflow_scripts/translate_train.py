# Binds rule translate_train: fine-tune on the target-language training data, test on that language.
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from alignxfer.jobs import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "train_lang": wc.lang, "setting": "translate_train"}) as ctx:
    from alignxfer.tasks import get_task
    from alignxfer.tracking import pretraining_job

    rule, wildcards = pretraining_job(wc.objective, ctx.config)
    ctx.tracker.set_tags({"pretrain_run_id": ctx.tracker.find_run(rule, wildcards) or "unknown"})
    task = get_task(wc.task)
    summary = task.finetune(
        ctx.input.model,
        ctx.input.train,
        ctx.input.dev,
        ctx.input.labels,
        ctx.output.model,
        ctx.output.history,
        ctx.output.dev,
        hparams=ctx.params.hparams,
        seed=int(wc.seed),
        threads=ctx.threads,
        callback=lambda step, metrics: ctx.tracker.log_metrics(metrics, step=step),
    )
    ctx.tracker.log_metrics(summary)
    meta = {
        "task": wc.task,
        "setting": "translate_train",
        "objective": wc.objective,
        "lang": wc.lang,
        "train_lang": wc.lang,
        "seed": int(wc.seed),
    }
    result = task.evaluate(
        ctx.output.model, ctx.input.test, ctx.input.labels, ctx.output.metrics, meta, ctx.params.hparams, threads=ctx.threads
    )
    ctx.tracker.log_metrics({f"{wc.lang}.{k}": v for k, v in result["metrics"].items()})
