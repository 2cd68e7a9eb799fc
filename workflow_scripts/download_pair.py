# Binds rule download_pair to the corpus source's fetch_pair (alignxfer.sources).
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.sources import get_source

    manifest = get_source(ctx.params.source, ctx.params.options).fetch_pair(
        ctx.wildcards.lang,
        ctx.params.cache_dir,
        ctx.output.docs,
        ctx.output.manifest,
        english_jsonl=ctx.input.english or None,
    )
    ctx.tracker.log_metrics(manifest.get("counts", {}))
    ctx.tracker.log_artifact(ctx.output.manifest)
