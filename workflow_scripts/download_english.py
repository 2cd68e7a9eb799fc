# Binds rule download_english to the corpus source's fetch_english (alignxfer.sources).
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.sources import get_source

    manifest = get_source(ctx.params.source, ctx.params.options).fetch_english(
        ctx.params.cache_dir, ctx.output.docs, ctx.output.manifest
    )
    ctx.tracker.log_metrics(manifest.get("counts", {}))
    ctx.tracker.log_artifact(ctx.output.manifest)
