# Binds rule save_tokenizer to alignxfer.tokenization.save_pretrained_tokenizer.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.tokenization import save_pretrained_tokenizer

    ctx.tracker.log_metrics(save_pretrained_tokenizer(ctx.params.name, ctx.output[0], revision=ctx.params.revision))
