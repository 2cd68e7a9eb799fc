# Binds rule retrieval_string_match: the model-free baseline (Latin-script token overlap) on the
# same candidate pools as rule retrieval. No model, no torch: a second or two.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake, tags={"task": "retrieval", "baseline": "string_match"}) as ctx:
    from alignxfer.tasks.retrieval import load_pairs, pool_size_for, string_match

    counts = {lang: len(load_pairs(pairs)) for lang, pairs in zip(ctx.params.languages, ctx.input.pairs)}
    pool_size = pool_size_for(counts, ctx.params.pool_size)
    for lang, pairs, out in zip(ctx.params.languages, ctx.input.pairs, snakemake.output.metrics):
        result = string_match(pairs, out, lang, pool_size=pool_size, pool_seed=ctx.params.seed)
        print(f"[retrieval_string_match] {lang}: {result['metrics']} (pool {pool_size})", flush=True)
        ctx.tracker.log_metrics({f"{lang}.{k}": v for k, v in result["metrics"].items()})
