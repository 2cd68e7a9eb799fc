# Binds rule pretrain_base to alignxfer.pretraining.pretrain_base.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake, tags={"arm": "base"}) as ctx:
    from alignxfer.mlflow_tools import CurveLogger, log_pretraining_summary
    from alignxfer.pretraining import pretrain_base
    from alignxfer.tracking import write_run_record

    summary = pretrain_base(
        list(ctx.input.tokenized),
        ctx.input.tokenizer,
        ctx.output.model,
        ctx.output.history,
        architecture=ctx.params.architecture,
        training=ctx.params.training,
        seed=ctx.params.seed,
        bf16=ctx.params.bf16,
        checkpoint_dir=ctx.params.checkpoint_dir,
        checkpoint_every=ctx.params.checkpoint_every,
        threads=ctx.threads,
        devices=ctx.devices,  # gpu >= 2: one process per GPU (alignxfer.parallel)
        callback=(curves := CurveLogger(ctx.tracker, rename_prefix="run_")),
        heldout=ctx.params.heldout,
        heldout_path=ctx.output.heldout,
        split_seed=ctx.params.seed,
    )
    log_pretraining_summary(ctx.tracker, curves, summary, ctx.output.heldout)  # heldout_mlm_loss, mechanism_*
    ctx.tracker.log_artifact(ctx.output.history)
    ctx.tracker.log_artifact(ctx.output.heldout)
    write_run_record(ctx.output.model, ctx.tracker)  # the arms tag it as base_run_id
