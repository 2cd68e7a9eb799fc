# Binds rule tokenize_pair to alignxfer.tokenization.tokenize_pair.
from alignxfer.jobs import job

with job(snakemake) as ctx:
    from alignxfer.tokenization import tokenize_pair

    ctx.tracker.log_metrics(tokenize_pair(ctx.input.corpus, ctx.input.tokenizer, ctx.output[0]))
