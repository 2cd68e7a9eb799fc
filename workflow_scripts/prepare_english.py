# Binds rule prepare_english to alignxfer.corpus.prepare_english.
from alignxfer.jobs import job

with job(snakemake) as ctx:
    from alignxfer.corpus import prepare_english

    summary = prepare_english(ctx.input.docs, dict(ctx.output.items()), ctx.params.options, ctx.params.seed)
    ctx.tracker.log_metrics(summary)
