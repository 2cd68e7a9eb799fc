# Binds rule pretrain (one arm) to alignxfer.pretraining.continue_pretraining.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake, tags={"arm": snakemake.wildcards.objective}) as ctx:
    from alignxfer.mlflow_tools import CurveLogger, log_pretraining_summary
    from alignxfer.pretraining import continue_pretraining
    from alignxfer.tracking import run_of, write_run_record

    langs = ctx.params.languages
    tokenized = dict(zip(langs, ctx.input.tokenized))
    alignments = dict(zip(langs, ctx.input.alignments)) if len(ctx.input.alignments) else None
    base_run = run_of(ctx.input.base)  # the run record the base's job left in its folder
    ctx.tracker.set_tags({"pretrain_seed": str(ctx.params.seed), "base_run_id": base_run})
    summary = continue_pretraining(
        ctx.wildcards.objective,
        ctx.input.base,
        tokenized,
        alignments,
        ctx.output.model,
        ctx.output.history,
        budget=ctx.params.budget,
        options=ctx.params.options,
        seed=ctx.params.seed,
        bf16=ctx.params.bf16,
        checkpoint_dir=ctx.params.checkpoint_dir,
        checkpoint_every=ctx.params.checkpoint_every,
        threads=ctx.threads,
        devices=ctx.devices,  # gpu >= 2: one process per GPU (alignxfer.parallel)
        callback=(curves := CurveLogger(ctx.tracker, rename_prefix="run_")),
        heldout=ctx.params.heldout,
        heldout_path=ctx.output.heldout,
        split_seed=ctx.params.split_seed,
        check_alignments={
            "symmetrized": dict(zip(langs, ctx.input.check_symmetrized)),
            "intersection": dict(zip(langs, ctx.input.check_intersection)),
        },
    )
    log_pretraining_summary(ctx.tracker, curves, summary, ctx.output.heldout)  # heldout_mlm_loss, mechanism_*
    ctx.tracker.log_artifact(ctx.output.history)
    ctx.tracker.log_artifact(ctx.output.heldout)
    write_run_record(ctx.output.model, ctx.tracker, {"base_run_id": base_run})
