# Binds rule align (one direction) to alignxfer.alignment.align.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before the aligner loads: byte-identical output

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.alignment import align

    stats = align(
        ctx.input.corpus, ctx.output[0], reverse=ctx.wildcards.direction == "reverse", options=ctx.params.options
    )
    ctx.tracker.log_metrics(stats)
