# Binds rule alignment_quality to alignxfer.alignment_quality.write_tables.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.alignment_quality import write_tables
    from alignxfer.io import read_json

    reports = {}
    for path in ctx.input.reports:
        lang = Path(path).parent.name.split("-", 1)[1]  # results/align/en-{lang}/gold_quality.json
        reports[lang] = read_json(path)
    gold = {lang: {"name": name} for lang, name in dict(ctx.params.gold).items()}
    rows = write_tables(
        reports,
        list(ctx.params.langs),
        ctx.output.md,
        ctx.output.csv,
        eval_langs=list(ctx.params.eval_langs),
        gold=gold,
    )
    metrics = {}
    for lang, rep in reports.items():
        for row in rep["results"]:
            if row["method"] == rep["configured"]:
                metrics[f"aer_{lang}_{row['segmentation']}"] = row["aer"]
    ctx.tracker.log_metrics(metrics)
    ctx.tracker.log_artifact(ctx.output.md)
    ctx.tracker.log_artifact(ctx.output.csv)
