# Binds rule gather to alignxfer.results / alignxfer.claims; logs tables and plots to MLflow.
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from pathlib import Path

from alignxfer.jobs import job

with job(snakemake) as ctx:
    from alignxfer.claims import write_claims
    from alignxfer.results import gather

    tables_dir = Path(ctx.output.summary).parent
    # results/models/<objective>/[p<pseed>/]history.jsonl (an arm's first pre-training seed)
    histories = {Path(p).parts[2]: p for p in ctx.input.histories}
    out = gather(
        list(ctx.input.metrics),
        tables_dir,
        baseline=ctx.params.baseline,
        control=ctx.params.control,
        history_files=histories,
        plots_dir=ctx.output.plots,
    )
    write_claims(out, ctx.params.claims_config, ctx.output.claims)
    from alignxfer.treatment import write_treatment_table

    write_treatment_table(ctx.input.heldout, tables_dir / "treatment.md")
    ctx.tracker.log_artifact(str(tables_dir), "tables")
    ctx.tracker.log_artifact(ctx.output.plots, "plots")
