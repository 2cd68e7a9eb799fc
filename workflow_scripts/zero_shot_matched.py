# Binds rule zero_shot_matched: for each seed, fine-tune on the English originals of one
# language's translate-train documents (same documents, order, hyperparameters and stopping rule
# as translate_train) and test on that language. Models are scored in the job and not kept.
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(snakemake.scriptdir).parent))

from workflow_scripts.snakemake_job import job

wc = snakemake.wildcards
with job(snakemake, tags={"arm": wc.objective, "train_lang": "en", "setting": "zero_shot_matched"}) as ctx:
    from alignxfer.tasks import get_task
    from alignxfer.tasks.base import EvalFiles, FinetuneFiles
    from alignxfer.tracking import run_of

    task = get_task(wc.task)
    outputs = zip(ctx.params.seeds, ctx.output.history, ctx.output.dev, ctx.output.metrics, ctx.output.predictions)
    for seed, history, dev, metrics, predictions in outputs:
        print(f"[zero_shot_matched] seed {seed}", flush=True)
        pretrain_run = run_of(ctx.params.models[int(seed)])  # each seed's own pre-training run
        tags = {"pretrain_run_id": pretrain_run, "pretrain_seed": str(ctx.params.pretrain_seeds[int(seed)])}
        with ctx.tracker.child({"seed": seed}, tags=tags) as run:
            Path(history).parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=Path(history).parent, prefix=".model-") as tmp:
                model_dir = Path(tmp) / "model"
                files = FinetuneFiles(
                    model=ctx.params.models[int(seed)],
                    train=ctx.input.train,
                    dev=ctx.input.dev,
                    labels=ctx.input.labels,
                    out_model=model_dir,
                    history=history,
                    dev_metrics=dev,
                )
                summary = task.finetune(
                    files,
                    hparams=ctx.params.hparams,
                    seed=int(seed),
                    threads=ctx.threads,
                    callback=lambda step, values: run.log_metrics(values, step=step),
                )
                run.log_metrics(summary)
                meta = {
                    "task": wc.task,
                    "setting": "zero_shot_matched",
                    "objective": wc.objective,
                    "lang": wc.lang,
                    "train_lang": "en",
                    "seed": int(seed),
                    "matched_to": "translate_train",
                    "pretrain_seed": int(ctx.params.pretrain_seeds[int(seed)]),
                }
                result = task.evaluate(
                    EvalFiles(
                        model=model_dir,
                        test=ctx.input.test,
                        labels=ctx.input.labels,
                        metrics=metrics,
                        predictions=predictions,
                    ),
                    meta,
                    ctx.params.hparams,
                    threads=ctx.threads,
                )
            run.log_metrics({f"{wc.lang}.{k}": v for k, v in result["metrics"].items()})
