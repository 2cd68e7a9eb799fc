# Binds rule finetune (zero-shot: English training data) to the task plug-in's finetune().
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "train_lang": "en", "setting": "zero_shot"}) as ctx:
    from alignxfer.mlflow_tools import CurveLogger
    from alignxfer.tasks import get_task
    from alignxfer.tasks.base import FinetuneFiles
    from alignxfer.tracking import pretraining_job

    rule, wildcards = pretraining_job(wc.objective, ctx.config)
    if rule == "pretrain":  # the arm's pre-training run of this fine-tuning seed
        wildcards = {**wildcards, "pseed": str(ctx.params.pretrain_seed)}
    ctx.tracker.set_tags(
        {
            "pretrain_run_id": ctx.tracker.find_run(rule, wildcards) or "unknown",
            "pretrain_seed": str(ctx.params.pretrain_seed),
        }
    )
    curves = CurveLogger(ctx.tracker)  # points; the summary at the last step, dev_* -> best_dev_*
    files = FinetuneFiles(
        model=ctx.input.model,
        train=ctx.input.train,
        dev=ctx.input.dev,
        labels=ctx.input.labels,
        out_model=ctx.output.model,
        history=ctx.output.history,
        dev_metrics=ctx.output.dev,
    )
    summary = get_task(wc.task).finetune(
        files,
        hparams=ctx.params.hparams,
        seed=int(wc.seed),
        threads=ctx.threads,
        callback=curves,
    )
    curves.summary(summary)
