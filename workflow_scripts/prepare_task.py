# Binds rules prepare_task_english / prepare_task_test / prepare_task_translated to
# alignxfer.tasks.hub.prepare_task_data (task files from Hugging Face datasets or local copies).
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake, tags={"task": snakemake.wildcards.task}) as ctx:
    from alignxfer.tasks.hub import prepare_task_data

    summary = prepare_task_data(ctx.wildcards.task, ctx.params.parts, dict(ctx.output.items()), seed=ctx.params.seed)
    ctx.tracker.log_metrics(summary)
    ctx.tracker.log_artifact(ctx.output.summary)
