# Binds rule train_tokenizer to alignxfer.tokenization.train_tokenizer.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.tokenization import train_tokenizer

    stats = train_tokenizer(
        list(ctx.input.corpora),
        ctx.output[0],
        ctx.params.vocab_size,
        ctx.params.lowercase,
        ctx.params.seed,
        threads=ctx.threads,
    )
    ctx.tracker.log_metrics(stats)
