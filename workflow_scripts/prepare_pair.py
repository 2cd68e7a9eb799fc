# Binds rule prepare_pair to alignxfer.corpus.prepare_pair.
from alignxfer.jobs import job

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
    )
    ctx.tracker.log_metrics(summary)
