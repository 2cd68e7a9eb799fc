# Binds rule symmetrize to alignxfer.alignment.symmetrize_files (indices checked against the corpus).
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.alignment import symmetrize_files

    stats = symmetrize_files(
        ctx.input.fwd, ctx.input.rev, ctx.output[0], ctx.params.heuristic, corpus_path=ctx.input.corpus
    )
    ctx.tracker.log_metrics(stats)
