# Binds rule baselines to alignxfer.baselines.run_baselines.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.baselines import run_baselines

    langs = list(ctx.params.languages)
    tests = dict(zip(langs, ctx.input.tests))
    outputs = {(Path(p).parent.name, Path(p).stem): p for p in ctx.output.metrics}
    results = run_baselines(ctx.input.train, ctx.input.dev, ctx.input.labels, tests, outputs)
    ctx.tracker.log_metrics({f"{name}.{lang}.{k}": v for (name, lang), m in results.items() for k, v in m.items()})
