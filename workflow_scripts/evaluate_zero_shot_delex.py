# Binds rule evaluate_zero_shot_delex: every seed's English-fine-tuned model on every
# de-lexicalised test set (setting zero_shot_delex), metric file + predictions file each.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from alignxfer.jobs import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "train_lang": "en", "setting": "zero_shot_delex"}) as ctx:
    from alignxfer.delex import DelexTopicTask
    from alignxfer.tasks.base import EvalFiles

    task = DelexTopicTask()
    metrics, predictions = iter(ctx.output.metrics), iter(ctx.output.predictions)
    for seed, model in zip(ctx.params.seeds, ctx.input.models):  # outputs: seed-major, then language
        for lang, test in zip(ctx.params.languages, ctx.input.tests):
            meta = {"task": wc.task, "setting": "zero_shot_delex", "objective": wc.objective, "lang": lang,
                    "train_lang": "en", "seed": int(seed), "pretrain_seed": int(ctx.params.pretrain_seeds[int(seed)])}
            out, pred = next(metrics), next(predictions)
            result = task.evaluate(EvalFiles(model=model, test=test, labels=ctx.input.labels, metrics=out,
                                             predictions=pred), meta, ctx.params.hparams, threads=ctx.threads)
            ctx.tracker.log_metrics({f"seed{seed}.{lang}.{k}": v for k, v in result["metrics"].items()})
