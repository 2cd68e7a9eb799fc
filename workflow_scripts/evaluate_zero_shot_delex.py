# Binds rule evaluate_zero_shot_delex: every seed's English-fine-tuned model on every
# de-lexicalised test set (setting zero_shot_delex), metric file + predictions file each.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "train_lang": "en", "setting": "zero_shot_delex"}) as ctx:
    from alignxfer.delex import DelexTopicTask
    from alignxfer.mlflow_tools import format_scores, log_average, log_language_run
    from alignxfer.tasks.base import EvalFiles

    task = DelexTopicTask()
    scores = {}
    metrics, predictions = iter(ctx.output.metrics), iter(ctx.output.predictions)
    for seed, model in zip(ctx.params.seeds, ctx.input.models):  # outputs: seed-major, then language
        for lang, test in zip(ctx.params.languages, ctx.input.tests):
            meta = {
                "task": wc.task,
                "setting": "zero_shot_delex",
                "objective": wc.objective,
                "lang": lang,
                "train_lang": "en",
                "seed": int(seed),
                "pretrain_seed": int(ctx.params.pretrain_seeds[int(seed)]),
            }
            out, pred = next(metrics), next(predictions)
            result = task.evaluate(
                EvalFiles(model=model, test=test, labels=ctx.input.labels, metrics=out, predictions=pred),
                meta,
                ctx.params.hparams,
                threads=ctx.threads,
            )
            scores[f"{seed}/{lang}"] = log_language_run(ctx.tracker, lang, result["metrics"], wildcards={"seed": seed})
            print(
                f"[evaluate_zero_shot_delex {wc.task}/{wc.objective}/seed{seed}] {lang}: "
                f"{format_scores(scores[f'{seed}/{lang}'])}",
                flush=True,
            )
    log_average(ctx.tracker, scores)  # over seeds and languages
