# Binds rule train_tokenizer to alignxfer.tokenization.train_tokenizer.
from alignxfer.jobs import job

with job(snakemake) as ctx:
    from alignxfer.tokenization import train_tokenizer

    stats = train_tokenizer(
        list(ctx.input.corpora), ctx.output[0], ctx.params.vocab_size, ctx.params.lowercase, ctx.params.seed
    )
    ctx.tracker.log_metrics(stats)
