# Binds rule segment_pair to alignxfer.tokenization.write_aligner_input.
from alignxfer.jobs import job

with job(snakemake) as ctx:
    from alignxfer.tokenization import write_aligner_input

    lines = write_aligner_input(ctx.input.en, ctx.input.xx, ctx.output.corpus)
    ctx.tracker.log_metrics({"lines": lines})
