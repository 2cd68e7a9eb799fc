# Tables (mean +- std over seeds, differences, significance), claims, plots, MLflow artifacts.


rule gather:
    input:
        metrics=metric_files(),
        histories=history_files(),
        baselines=baseline_files(),
        heldout=heldout_files(),
    output:
        summary=report("results/tables/summary.md", category="Tables", caption="../report/summary.rst"),
        claims=report("results/tables/claims.md", category="Claims", caption="../report/claims.rst"),
        plots=report(
            directory("results/plots"),
            patterns=["{name}.png"],
            category="Plots",
            caption="../report/plots.rst",
        ),
    params:
        objectives=OBJECTIVES,
        baseline="base",
        control="mlm",
        claims_config={
            "learning_rate": config["finetuning"]["learning_rate"],
            "batch_size": config["finetuning"]["batch_size"],
            "max_length": config["finetuning"]["max_length"],
            "weam_mask_prob": config["pretraining"]["weam"]["mask_prob"],
            "weam_lambda": config["pretraining"]["weam"]["lambda"],
            "seeds": SEEDS,
            "base": describe_base(config),
        },
    log:
        logpath("gather"),
    conda:
        ENV
    script:
        "../workflow_scripts/gather.py"
