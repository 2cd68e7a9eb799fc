# Binds rule translate_train to alignxfer.tasks.runs.translate_train: for each seed, fine-tune on the
# target-language training data and test on that language. One job loops over the seeds (a job costs
# ~6 s of imports, more than training on a small translate-train set); each seed is its own MLflow
# run, nested under the job's.
import sys
from pathlib import Path

# the package of this checkout, also inside a conda env (--sdm conda) or on a cluster node
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

wc = snakemake.wildcards
tags = {"arm": wc.objective, "train_lang": wc.lang, "setting": "translate_train"}
with job(snakemake, tags=tags) as ctx:
    from alignxfer.tasks.runs import translate_train
    from alignxfer.tracking import run_of

    # nested: each seed's own pre-training run, from the run record in its model's folder
    pretrain_runs = {int(seed): run_of(model) for seed, model in ctx.params.models.items()}
    # one path per seed; without group_seeds each named output is a single path (a str), not a list
    outputs = {
        name: [p] if isinstance(p, str) else list(p)
        for name, p in (
            ("history", ctx.output.history),
            ("dev", ctx.output.dev),
            ("metrics", ctx.output.metrics),
            ("predictions", ctx.output.predictions),
        )
    }
    translate_train(
        wc.task,
        ctx.params.seeds,
        ctx.params.models,
        ctx.params.pretrain_seeds,
        pretrain_runs,
        ctx.input.train,
        ctx.input.dev,
        ctx.input.test,
        ctx.input.labels,
        outputs,
        meta={
            "task": wc.task,
            "setting": "translate_train",
            "objective": wc.objective,
            "lang": wc.lang,
            "train_lang": wc.lang,
        },
        hparams=ctx.params.hparams,
        threads=ctx.threads,
        tracker=ctx.tracker,
        job=dict(wc.items()),
        label=f"translate_train {wc.task}/{wc.objective}/{wc.lang}",
    )
