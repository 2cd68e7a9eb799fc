# Binds rule evaluate_zero_shot(_<task>) to alignxfer.tasks.runs.zero_shot: the English-trained model on
# every test language, one JSON each.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "train_lang": "en", "setting": "zero_shot"}) as ctx:
    from alignxfer.tasks.runs import zero_shot
    from alignxfer.tracking import link_of, run_of

    ctx.tracker.set_tags({"pretrain_seed": str(ctx.params.pretrain_seed)})
    links = {  # from the run record the fine-tuning job left in the model's folder
        "finetune_run_id": run_of(ctx.input.model),
        "pretrain_run_id": link_of(ctx.input.model, "pretrain_run_id"),
    }
    ctx.tracker.set_tags(links)
    zero_shot(
        wc.task,
        ctx.input.model,
        ctx.input.tests,
        ctx.input.labels,
        ctx.output.metrics,
        ctx.output.predictions,
        ctx.params.languages,
        meta={
            "task": wc.task,
            "setting": "zero_shot",
            "objective": wc.objective,
            "lang": None,
            "train_lang": "en",
            "seed": int(wc.seed),
            "pretrain_seed": int(ctx.params.pretrain_seed),
        },
        hparams=ctx.params.hparams,
        threads=ctx.threads,
        tracker=ctx.tracker,
        tags={**links, "pretrain_seed": str(ctx.params.pretrain_seed)},  # each language's nested run
        label=f"evaluate_zero_shot {wc.task}/{wc.objective}/seed{wc.seed}",
    )
