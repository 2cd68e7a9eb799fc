# Tables (mean ± std over seeds, paired-bootstrap differences with CIs, Holm), claims, plots, an
# HTML page per table for the report, the report's overview; logs tables and plots to MLflow.


rule gather:
    """Tables, claims, plots and report pages from the metric files alone (paired bootstrap, Holm)."""
    input:
        metrics=metric_files(),
        histories=history_files(),
        baselines=baseline_files(),
        heldout=heldout_files(),
    output:
        summary="results/tables/summary.md",
        claims="results/tables/claims.md",
        treatment="results/tables/treatment.md",
        tables=expand("results/tables/{stem}.{ext}", stem=TABLE_STEMS, ext=["md", "csv"]),
        overview="results/report/overview.rst",
        summary_html=report("results/report/summary.html", category="1. Summary", caption="../report/summary.rst"),
        claims_html=report("results/report/claims.html", category="1. Summary", caption="../report/claims.rst"),
        tables_html=[
            report(
                f"results/report/{stem}.html",
                category="2. Tables",
                subcategory=table_subcategory(stem),
                caption="../report/tables.rst",
                labels={"table": stem},
            )
            for stem in TABLE_STEMS
        ],
        plots=report(
            directory("results/plots"),
            patterns=["{name}.png"],
            category="3. Plots",
            caption="../report/plots.rst",
        ),
    log:
        logpath("gather"),
    conda:
        ENV
    params:
        objectives=OBJECTIVES,
        baseline="base",
        control="mlm",
        stats=config["stats"],
        table_stems=TABLE_STEMS,
        claims_config={
            "learning_rate": config["finetuning"]["learning_rate"],
            "batch_size": config["finetuning"]["batch_size"],
            "max_length": config["finetuning"]["max_length"],
            "weam_mask_prob": config["pretraining"]["weam"]["mask_prob"],
            "weam_lambda": config["pretraining"]["weam"]["lambda"],
            "seeds": SEEDS,
            "base": describe_base(config),
            "stats": config["stats"],
        },
    script:
        "../workflow_scripts/gather.py"
