# Binds rule symmetrize to alignxfer.alignment.symmetrize_files (+ validation against the corpus).
from alignxfer.jobs import job

with job(snakemake) as ctx:
    from alignxfer.alignment import symmetrize_files, validate_alignment

    stats = symmetrize_files(ctx.input.fwd, ctx.input.rev, ctx.output[0], ctx.params.heuristic)
    validate_alignment(ctx.output[0], ctx.input.corpus)
    ctx.tracker.log_metrics(stats)
