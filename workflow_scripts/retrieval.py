# Binds rule retrieval to alignxfer.tasks.retrieval.evaluate_retrieval, one JSON per language
# (plus its predictions file), every language on a candidate pool of the same size.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "task": "retrieval"}) as ctx:
    from alignxfer.tasks.retrieval import evaluate_retrieval, load_pairs, pool_size_for
    from alignxfer.tracking import run_of

    ctx.tracker.set_tags({"pretrain_run_id": run_of(ctx.input.model)})
    counts = {lang: len(load_pairs(pairs)) for lang, pairs in zip(ctx.params.languages, ctx.input.pairs)}
    pool_size = pool_size_for(counts, ctx.params.pool_size)
    print(f"[retrieval {wc.objective}] pool of {pool_size} pairs per language (available: {counts})", flush=True)
    from alignxfer.mlflow_tools import format_scores, log_average, log_language_run

    scores = {}
    for lang, pairs, out in zip(ctx.params.languages, ctx.input.pairs, snakemake.output.metrics):
        result = evaluate_retrieval(
            ctx.input.model,
            pairs,
            out,
            layer=ctx.params.layer,
            max_length=ctx.params.max_length,
            meta={"objective": wc.objective, "lang": lang},
            threads=ctx.threads,
            pool_size=pool_size,
            pool_seed=ctx.params.seed,
        )
        scores[lang] = log_language_run(ctx.tracker, lang, result["metrics"])  # p_at_1_xx_en, ... in points
        print(f"[retrieval {wc.objective}] {lang}: {format_scores(scores[lang])}", flush=True)
    print(f"[retrieval {wc.objective}] average: {format_scores(log_average(ctx.tracker, scores))}", flush=True)
