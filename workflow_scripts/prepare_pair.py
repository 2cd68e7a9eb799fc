# Binds rule prepare_pair to alignxfer.corpus.prepare_pair.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.corpus import prepare_pair

    summary = prepare_pair(
        ctx.input.docs,
        ctx.wildcards.lang,
        dict(ctx.output.items()),
        ctx.params.options,
        ctx.params.seed,
        english_train=ctx.input.english_train or None,
        english_dev=ctx.input.english_dev or None,
        english_test=ctx.input.english_test or None,
        english_docs=ctx.input.english_docs or None,
    )
    ctx.tracker.log_metrics(summary)
