# Binds rule retrieval_paired: McNemar tests of every retrieval arm against base and mlm, per
# language and direction, raw and centred (alignxfer.paired), as a Markdown and a CSV table.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

with job(snakemake, tags={"task": "retrieval"}) as ctx:
    import csv

    from alignxfer.io import atomic_open
    from alignxfer.paired import holm, render_retrieval_comparisons, retrieval_comparisons

    rows = []
    for reference in ctx.params.references:
        if reference in ctx.params.objectives:
            rows += retrieval_comparisons("results/metrics", ctx.params.objectives, ctx.params.languages, reference)
    with atomic_open(ctx.output.md) as handle:
        handle.write(render_retrieval_comparisons(rows) + "\n")
    with atomic_open(ctx.output.csv) as handle:
        fields = ["reference", "key", "objective", "lang", "n", "a_only", "b_only", "diff", "p_value", "p_holm", "test"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        for reference in dict.fromkeys(r["reference"] for r in rows):
            for key in dict.fromkeys(r["key"] for r in rows):
                sub = [r for r in rows if r["reference"] == reference and r["key"] == key]
                for r, p in zip(sub, holm([r["p_value"] for r in sub])):
                    writer.writerow({**{k: r[k] for k in fields if k in r}, "p_holm": p})
