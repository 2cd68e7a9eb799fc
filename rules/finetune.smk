# Fine-tuning and evaluation.
#  - zero-shot: one fine-tuning on English per task x arm x seed (model kept), then one evaluation
#    job per task x arm x seed over every test language (inference only, so adding a language
#    reruns these cheap jobs and no training);
#  - translate-train: fine-tune on the target-language version of the training documents and
#    evaluate on that language; with finetuning.group_seeds (default) one job per task x arm x
#    language loops over the seeds (one nested MLflow run per seed; changing the seed list reruns
#    these jobs), without it one job per seed (the paper config: more parallel jobs on a cluster).
#    The fine-tuned models are scored in the job and not kept (at paper scale they would be 600
#    copies of mBERT). Adding a language runs only that language's jobs;
#  - retrieval: no fine-tuning, one job per arm over every language.
# Jobs are this coarse on purpose: each Python job pays ~6 s of imports (torch, transformers,
# mlflow), which at one job per language would dominate the default study's run time.
# Every evaluation writes X.predictions.jsonl beside its metric file X.json (one line per test
# example: id, gold, pred, correct, scores), the input of gather's paired bootstrap.
# Every registered task (alignxfer.registry, plug-ins included) uses these rules; a task's test
# languages are TASK_LANGS[task] (rules/common.smk), so the zero-shot evaluation, whose outputs
# list the languages, has one rule per task, generated in a loop.


rule finetune:
    """Fine-tune one arm on English for one task and seed; keep the best dev epoch."""
    input:
        model=lambda wc: model_path(wc.objective, wc.seed),
        train=task_data("train.en.jsonl"),
        dev=task_data("dev.en.jsonl"),
        labels=task_data("labels.json"),
    output:
        model=directory("results/finetune/{task}/{objective}/en/seed{seed}/model"),
        history="results/finetune/{task}/{objective}/en/seed{seed}/history.jsonl",
        dev="results/finetune/{task}/{objective}/en/seed{seed}/dev.json",
    log:
        logpath("finetune/{task}/{objective}/en/seed{seed}"),
    benchmark:
        benchpath("finetune/{task}/{objective}/en/seed{seed}")
    priority: 10  # gates the zero-shot evaluations
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=min(GPUS, 1),  # fine-tuning, evaluation and retrieval use one device
    params:
        hparams=lambda wc: task_hparams(wc.task),
        pretrain_seed=lambda wc: pretrain_seed_for(wc.objective, wc.seed),
    script:
        "../workflow_scripts/finetune.py"


for _task in ZERO_SHOT_TASKS:  # evaluate_zero_shot (topic), evaluate_zero_shot_<task> for the others

    rule:
        """Score one English-fine-tuned model on every test language; metric JSON and predictions per language."""
        name:
            registry.zero_shot_rule(_task)
        input:
            model="results/finetune/{task}/{objective}/en/seed{seed}/model",
            tests=lambda wc: expand(
                "results/data/{task}/test.{lang}.jsonl",
                task=registry.TASKS[wc.task].data_task,
                lang=eval_languages(wc.task, "zero_shot"),
            ),
            labels=task_data("labels.json"),
        output:
            metrics=zero_shot_metrics(_task),
            predictions=predictions_of(zero_shot_metrics(_task)),
        log:
            logpath("evaluate_zero_shot/{task}/{objective}/seed{seed}"),
        wildcard_constraints:
            task=_task,
        conda:
            ENV
        threads: THREADS
        resources:
            gpu=min(GPUS, 1),  # fine-tuning, evaluation and retrieval use one device
        params:
            hparams=lambda wc: task_hparams(wc.task),
            languages=lambda wc: eval_languages(wc.task, "zero_shot"),
            pretrain_seed=lambda wc: pretrain_seed_for(wc.objective, wc.seed),
        script:
            "../workflow_scripts/evaluate_zero_shot.py"


rule translate_train:
    """Fine-tune on a language's translated training set and test on it, per seed (model not kept)."""
    input:
        # every pre-training run the job's fine-tuning seeds continue (one per seed, nested)
        model=lambda wc: sorted(set(seed_models(wc).values())),
        train=task_data("train.{lang}.jsonl"),
        dev=task_data("dev.{lang}.jsonl"),
        test=task_data("test.{lang}.jsonl"),
        labels=task_data("labels.json"),
    output:
        history=seed_paths("results/finetune/{task}/{objective}/{lang}/seed{seed}/history.jsonl"),
        dev=seed_paths("results/finetune/{task}/{objective}/{lang}/seed{seed}/dev.json"),
        metrics=seed_paths("results/metrics/{task}/translate_train/{objective}/{lang}/seed{seed}.json"),
        predictions=seed_paths("results/metrics/{task}/translate_train/{objective}/{lang}/seed{seed}.predictions.jsonl"),
    log:
        logpath(TRANSLATE_TRAIN_JOB),
    benchmark:
        benchpath(TRANSLATE_TRAIN_JOB)
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=min(GPUS, 1),  # fine-tuning, evaluation and retrieval use one device
    params:
        hparams=lambda wc: translate_train_hparams(wc.task),
        seeds=job_seeds,
        models=seed_models,
        pretrain_seeds=seed_pretrain_seeds,
    script:
        "../workflow_scripts/translate_train.py"


rule retrieval:
    """Sentence retrieval with one arm's mean-pooled hidden states, every language, no fine-tuning."""
    input:
        model=lambda wc: model_path(wc.objective),  # an arm's first pre-training seed
        pairs=expand("results/data/retrieval/en-{lang}.jsonl", lang=EVAL_LANGS),
    output:
        metrics=expand("results/metrics/retrieval/{{objective}}/{lang}.json", lang=EVAL_LANGS),
        predictions=expand("results/metrics/retrieval/{{objective}}/{lang}.predictions.jsonl", lang=EVAL_LANGS),
    log:
        logpath("retrieval/{objective}"),
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=min(GPUS, 1),  # fine-tuning, evaluation and retrieval use one device
    params:
        layer=config["tasks"]["retrieval"]["layer"],
        max_length=config["tasks"]["retrieval"]["max_length"],
        pool_size=config["tasks"]["retrieval"]["pool_size"],
        seed=config["seed"],
        languages=EVAL_LANGS,
    script:
        "../workflow_scripts/retrieval.py"
