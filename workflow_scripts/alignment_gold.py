# Binds rule alignment_gold to alignxfer.alignment_quality.evaluate (one pair's gold set).
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import os

os.environ["OMP_NUM_THREADS"] = "1"  # before the aligner loads: byte-identical output, as rule align

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.alignment_quality import evaluate, flat_metrics, read_gold
    from alignxfer.io import write_json

    gold = dict(ctx.params.gold)
    report = evaluate(
        ctx.input.corpus,
        read_gold(gold),
        dict(ctx.params.options),
        ctx.params.heuristic,
        segmentations=list(ctx.params.segmentations),
    )
    ctx.tracker.log_metrics(flat_metrics(report))
    del report["seconds"]  # the file stays byte-identical across runs (the time is in MLflow and the log)
    report["gold"] = gold.get("name", "")
    write_json(ctx.output[0], report)
    from alignxfer.console import label

    for row in report["results"]:
        print(
            f"{label()} en-{ctx.wildcards.lang} {row['segmentation']:8s} {row['method']:20s} AER {row['aer']:.1f} "
            f"P {row['precision']:.1f} R {row['recall']:.1f}",
            flush=True,
        )
