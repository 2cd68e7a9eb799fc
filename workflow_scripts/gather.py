# Binds rule gather to alignxfer.results / alignxfer.claims; logs tables and plots to MLflow.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

import time
from pathlib import Path

from workflow_scripts.snakemake_job import job

with job(snakemake) as ctx:
    from alignxfer.claims import render_claims, write_claims
    from alignxfer.io import atomic_open
    from alignxfer.report import overview_rst
    from alignxfer.results import gather, headline_rows, markdown_html

    tables_dir = Path(ctx.output.summary).parent
    report_dir = Path(ctx.output.overview).parent
    # results/models/<objective>/[p<pseed>/]history.jsonl (an arm's first pre-training seed)
    histories = {Path(p).parts[2]: p for p in ctx.input.histories}
    baselines = sorted(map(str, ctx.input.baselines))  # model-free rows (rule baselines)
    started = time.perf_counter()
    out = gather(
        list(ctx.input.metrics),
        tables_dir,
        baseline=ctx.params.baseline,
        control=ctx.params.control,
        history_files=histories,
        plots_dir=ctx.output.plots,
        baseline_files=baselines,
        n_boot=ctx.params.stats["bootstrap_samples"],
        boot_seed=ctx.params.stats["bootstrap_seed"],
        expected_tables=[s for s in ctx.params.table_stems],
        html_dir=report_dir,
    )
    from alignxfer.treatment import not_learned, write_treatment_table

    checks = write_treatment_table(ctx.input.heldout, ctx.output.treatment)
    claims_config = {**ctx.params.claims_config, "not_learned": not_learned(checks) if checks else None}
    claims = write_claims(out, claims_config, ctx.output.claims)
    with atomic_open(report_dir / "claims.html") as handle:
        handle.write(markdown_html(render_claims(claims, claims_config), "claims"))
    with atomic_open(ctx.output.overview) as handle:
        handle.write(
            overview_rst(
                claims,
                headline_rows(out["tables"], ctx.params.baseline),
                "Δ and 95% CI: paired hierarchical bootstrap; Holm across the arms of each table.",
            )
        )
    print(
        f"[gather] tables, claims and plots in {time.perf_counter() - started:.1f} s: {tables_dir}/summary.md, "
        f"{ctx.output.claims}, {ctx.output.plots}/",
        flush=True,
    )
    ctx.tracker.log_artifact(str(tables_dir), "tables")
    ctx.tracker.log_artifact(ctx.output.plots, "plots")
    from alignxfer.console import headline

    print("\n".join(headline(out, claims, ctx.output.summary)), flush=True)
