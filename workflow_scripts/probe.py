# Binds rule probe: a logistic regression on the arm's frozen features, trained on English,
# tested on every language (setting probe, seed0).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "train_lang": "en", "setting": "probe"}) as ctx:
    from alignxfer.tasks.probe import run_probe
    from alignxfer.tracking import run_of

    ctx.tracker.set_tags({"pretrain_run_id": run_of(ctx.input.model)})
    langs = ctx.params.languages
    results = run_probe(
        ctx.input.model,
        ctx.input.train,
        ctx.input.dev,
        dict(zip(langs, ctx.input.tests)),
        ctx.input.labels,
        {lang: (m, p) for lang, m, p in zip(langs, ctx.output.metrics, ctx.output.predictions)},
        meta={"task": wc.task, "objective": wc.objective},
        max_length=ctx.params.max_length,
        options=dict(ctx.params.options),
        threads=ctx.threads,
    )
    from alignxfer.mlflow_tools import format_scores, log_average, log_language_run

    scores = {lang: log_language_run(ctx.tracker, lang, r["metrics"]) for lang, r in results.items()}  # points
    for lang, result in results.items():
        print(f"[probe {wc.task}/{wc.objective}] {lang}: {format_scores(scores[lang])} (l2 {result['l2']})", flush=True)
    print(f"[probe {wc.task}/{wc.objective}] average: {format_scores(log_average(ctx.tracker, scores))}", flush=True)
