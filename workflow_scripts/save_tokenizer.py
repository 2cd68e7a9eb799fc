# Binds rule save_tokenizer to alignxfer.tokenization.save_pretrained_tokenizer.
from alignxfer.jobs import job

with job(snakemake) as ctx:
    from alignxfer.tokenization import save_pretrained_tokenizer

    ctx.tracker.log_metrics(save_pretrained_tokenizer(ctx.params.name, ctx.output[0]))
