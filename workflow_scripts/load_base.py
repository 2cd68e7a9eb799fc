# Binds rule load_base to alignxfer.pretraining.load_base (paper scale: a pretrained model).
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from alignxfer.io import write_jsonl
from workflow_scripts.snakemake_job import job

with job(snakemake, tags={"arm": "base"}) as ctx:
    from alignxfer.pretraining import load_base
    from alignxfer.tracking import write_run_record

    ctx.tracker.log_metrics(load_base(ctx.params.name, ctx.output.model, revision=ctx.params.revision))
    write_jsonl(ctx.output.history, [])  # no pre-training happened in this workflow
    write_run_record(ctx.output.model, ctx.tracker)  # the arms tag it as base_run_id
