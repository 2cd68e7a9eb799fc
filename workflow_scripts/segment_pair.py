# Binds rule segment_pair to alignxfer.tokenization.write_aligner_input.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.tokenization import write_aligner_input

    lines = write_aligner_input(ctx.input.en, ctx.input.xx, ctx.output.corpus)
    ctx.tracker.log_metrics({"lines": lines})
