# Binds rule evaluate_zero_shot: the English-trained model on every test language, one JSON each.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from alignxfer.jobs import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "train_lang": "en", "setting": "zero_shot"}) as ctx:
    from alignxfer.mlflow_tools import format_scores, log_average, log_language_run
    from alignxfer.tasks import get_task
    from alignxfer.tasks.base import EvalFiles
    from alignxfer.tracking import pretraining_job

    rule, wildcards = pretraining_job(wc.objective, ctx.config)
    if rule == "pretrain":  # the arm's pre-training run of this fine-tuning seed
        wildcards = {**wildcards, "pseed": str(ctx.params.pretrain_seed)}
    ctx.tracker.set_tags({"pretrain_seed": str(ctx.params.pretrain_seed)})
    finetune_wc = {"task": wc.task, "objective": wc.objective, "seed": wc.seed}
    links = {
        "finetune_run_id": ctx.tracker.find_run("finetune", finetune_wc) or "unknown",
        "pretrain_run_id": ctx.tracker.find_run(rule, wildcards) or "unknown",
    }
    ctx.tracker.set_tags(links)
    task = get_task(wc.task)
    scores = {}  # lang -> points, one MLflow child run per language; the average on the job's run
    outputs = zip(ctx.params.languages, ctx.input.tests, ctx.output.metrics, ctx.output.predictions)
    for lang, test, out, predictions in outputs:
        meta = {
            "task": wc.task,
            "setting": "zero_shot",
            "objective": wc.objective,
            "lang": lang,
            "train_lang": "en",
            "seed": int(wc.seed),
            "pretrain_seed": int(ctx.params.pretrain_seed),
        }
        files = EvalFiles(model=ctx.input.model, test=test, labels=ctx.input.labels, metrics=out,
                          predictions=predictions)
        result = task.evaluate(files, meta, ctx.params.hparams, threads=ctx.threads)
        scores[lang] = log_language_run(ctx.tracker, lang, result["metrics"], tags=links, extra={"n": result["n"]})
        print(f"[evaluate_zero_shot {wc.task}/{wc.objective}/seed{wc.seed}] {lang}: {format_scores(scores[lang])} "
              f"(n={result['n']})", flush=True)
    average = log_average(ctx.tracker, scores)
    print(f"[evaluate_zero_shot {wc.task}/{wc.objective}/seed{wc.seed}] average over {len(scores)} languages: "
          f"{format_scores(average)}", flush=True)
