# Binds rule evaluate_zero_shot: the English-trained model on every test language, one JSON each.
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from alignxfer.jobs import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "train_lang": "en", "setting": "zero_shot"}) as ctx:
    from alignxfer.tasks import get_task
    from alignxfer.tracking import pretraining_job

    rule, wildcards = pretraining_job(wc.objective, ctx.config)
    if rule == "pretrain":  # the arm's pre-training run of this fine-tuning seed
        wildcards = {**wildcards, "pseed": str(ctx.params.pretrain_seed)}
    ctx.tracker.set_tags({"pretrain_seed": str(ctx.params.pretrain_seed)})
    finetune_wc = {"task": wc.task, "objective": wc.objective, "seed": wc.seed}
    ctx.tracker.set_tags(
        {
            "finetune_run_id": ctx.tracker.find_run("finetune", finetune_wc) or "unknown",
            "pretrain_run_id": ctx.tracker.find_run(rule, wildcards) or "unknown",
        }
    )
    task = get_task(wc.task)
    for lang, test, out in zip(ctx.params.languages, ctx.input.tests, snakemake.output):
        meta = {
            "task": wc.task,
            "setting": "zero_shot",
            "objective": wc.objective,
            "lang": lang,
            "train_lang": "en",
            "seed": int(wc.seed),
            "pretrain_seed": int(ctx.params.pretrain_seed),
        }
        result = task.evaluate(ctx.input.model, test, ctx.input.labels, out, meta, ctx.params.hparams, threads=ctx.threads)
        ctx.tracker.log_metrics({f"{lang}.{k}": v for k, v in result["metrics"].items()})
