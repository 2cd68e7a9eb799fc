# Binds rule load_base to alignxfer.pretraining.load_base (paper scale: a pretrained model).
from alignxfer.io import write_jsonl
from alignxfer.jobs import job

with job(snakemake) as ctx:
    from alignxfer.pretraining import load_base

    ctx.tracker.log_metrics(load_base(ctx.params.name, ctx.output.model))
    write_jsonl(ctx.output.history, [])  # no pre-training happened in this workflow
