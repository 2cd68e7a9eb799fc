# Binds rule tokenize_pair to alignxfer.tokenization.tokenize_pair.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.tokenization import tokenize_pair

    ctx.tracker.log_metrics(tokenize_pair(ctx.input.corpus, ctx.input.tokenizer, ctx.output[0], threads=ctx.threads))
