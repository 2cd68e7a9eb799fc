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
    from alignxfer.tracking import run_of, write_run_record

    links = {"pretrain_run_id": run_of(ctx.input.model)}  # the run that made the pre-trained model
    ctx.tracker.set_tags({**links, "pretrain_seed": str(ctx.params.pretrain_seed)})
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
    write_run_record(ctx.output.model, ctx.tracker, links)  # evaluations tag both runs
