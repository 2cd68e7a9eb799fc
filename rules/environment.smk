# The environment record of the study: resolved package versions, the lock file, CPU features.


rule environment:
    """Record the software and hardware of this study (package versions, requirements.lock and
    whether the installed packages match it, CPU features: AVX2 / AVX-512 BF16 / AMX, torch's
    view) in results/environment.json and in MLflow (tags and artifact of its run)."""
    input:
        lock=os.path.join(workflow.basedir, "requirements.lock"),
    output:
        "results/environment.json",
    log:
        logpath("environment"),
    conda:
        ENV
    params:
        cpu_flags=cpu_flag_summary(),
    script:
        "../workflow_scripts/environment.py"
