# Binds rule prepare_english to alignxfer.corpus.prepare_english.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.corpus import prepare_english

    summary = prepare_english(
        ctx.input.docs, dict(ctx.output.items()), ctx.params.options, ctx.params.seed, pair_jsonls=ctx.input.pairs
    )
    ctx.tracker.log_metrics(summary)
