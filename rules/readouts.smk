# Readouts that measure transfer rather than shared strings (issue #12):
#  - retrieval_string_match: the model-free retrieval baseline (Latin-script token overlap) on the
#    same candidate pools as rule retrieval (results/metrics/retrieval/baselines/string_match/);
#  - prepare_delex + evaluate_zero_shot_delex (setting zero_shot_delex): the English-fine-tuned
#    models on copies of the non-English test sets whose words that occur verbatim in the English
#    training text are [UNK]; one job per arm over every seed and language (inference only);
#  - probe (setting probe): a logistic regression on frozen encoder features, trained on English,
#    tested on every language; one job per arm, deterministic, so its metric files are seed0.
# The two topic settings are on when tasks.topic.settings lists them.


rule retrieval_string_match:
    input:
        pairs=expand("results/data/retrieval/en-{lang}.jsonl", lang=EVAL_LANGS),
    output:
        metrics=expand("results/metrics/retrieval/baselines/string_match/{lang}.json", lang=EVAL_LANGS),
        predictions=expand("results/metrics/retrieval/baselines/string_match/{lang}.predictions.jsonl", lang=EVAL_LANGS),
    log:
        logpath("retrieval_string_match"),
    conda:
        ENV
    params:
        pool_size=config["tasks"]["retrieval"]["pool_size"],
        seed=config["seed"],
        languages=EVAL_LANGS,
    script:
        "../workflow_scripts/retrieval_string_match.py"


rule prepare_delex:
    input:
        tests=expand("results/data/topic/test.{lang}.jsonl", lang=EVAL_LANGS),
        english_train="results/data/topic/train.en.jsonl",
    output:
        tests=expand("results/data/topic/test_delex.{lang}.jsonl", lang=EVAL_LANGS),
        summaries=expand("results/data/summary/delex.{lang}.json", lang=EVAL_LANGS),
    log:
        logpath("prepare_delex"),
    conda:
        ENV
    params:
        languages=EVAL_LANGS,
    script:
        "../workflow_scripts/prepare_delex.py"


DELEX_METRICS = "results/metrics/{{task}}/zero_shot_delex/{{objective}}/{lang}/seed{seed}.json"


rule evaluate_zero_shot_delex:
    input:
        models=expand("results/finetune/{{task}}/{{objective}}/en/seed{seed}/model", seed=SEEDS),
        tests=expand("results/data/topic/test_delex.{lang}.jsonl", lang=EVAL_LANGS),
        labels="results/data/{task}/labels.json",
    output:
        metrics=expand(DELEX_METRICS, seed=SEEDS, lang=EVAL_LANGS),
        predictions=expand(predictions_file(DELEX_METRICS), seed=SEEDS, lang=EVAL_LANGS),
    log:
        logpath("evaluate_zero_shot_delex/{task}/{objective}"),
    wildcard_constraints:
        task="topic",
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=min(GPUS, 1),
    params:
        hparams=lambda wc: task_hparams(wc.task),
        languages=EVAL_LANGS,
        seeds=SEEDS,
        pretrain_seeds=lambda wc: {int(s): pretrain_seed_for(wc.objective, s) for s in SEEDS},
    script:
        "../workflow_scripts/evaluate_zero_shot_delex.py"


PROBE_METRICS = "results/metrics/{{task}}/probe/{{objective}}/{lang}/seed0.json"


rule probe:
    input:
        model=lambda wc: model_path(wc.objective),  # an arm's first pre-training seed
        train="results/data/{task}/train.en.jsonl",
        dev="results/data/{task}/dev.en.jsonl",
        tests=expand("results/data/topic/test.{lang}.jsonl", lang=["en"] + EVAL_LANGS),
        labels="results/data/{task}/labels.json",
    output:
        metrics=expand(PROBE_METRICS, lang=["en"] + EVAL_LANGS),
        predictions=expand(predictions_file(PROBE_METRICS), lang=["en"] + EVAL_LANGS),
    log:
        logpath("probe/{task}/{objective}"),
    wildcard_constraints:
        task="topic",
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=min(GPUS, 1),
    params:
        max_length=config["finetuning"]["max_length"],
        options=config["tasks"]["topic"]["probe"],
        languages=["en"] + EVAL_LANGS,
    script:
        "../workflow_scripts/probe.py"


rule prepare_matched:
    input:
        english_train="results/data/topic/train.en.jsonl",
        english_dev="results/data/topic/dev.en.jsonl",
        train="results/data/topic/train.{lang}.jsonl",
        dev="results/data/topic/dev.{lang}.jsonl",
    output:
        train="results/data/topic/train_matched.{lang}.jsonl",
        dev="results/data/topic/dev_matched.{lang}.jsonl",
    log:
        logpath("prepare_matched/{lang}"),
    conda:
        ENV
    script:
        "../workflow_scripts/prepare_matched.py"


MATCHED_JOB = "zero_shot_matched/{task}/{objective}/{lang}" + ("" if GROUP_SEEDS else ".seed{seed}")


rule zero_shot_matched:
    input:
        model=lambda wc: sorted(set(seed_models(wc).values())),
        train="results/data/{task}/train_matched.{lang}.jsonl",
        dev="results/data/{task}/dev_matched.{lang}.jsonl",
        test="results/data/{task}/test.{lang}.jsonl",
        labels="results/data/{task}/labels.json",
    output:
        history=seed_paths("results/finetune/{task}/{objective}/matched-{lang}/seed{seed}/history.jsonl"),
        dev=seed_paths("results/finetune/{task}/{objective}/matched-{lang}/seed{seed}/dev.json"),
        metrics=seed_paths("results/metrics/{task}/zero_shot_matched/{objective}/{lang}/seed{seed}.json"),
        predictions=seed_paths(
            "results/metrics/{task}/zero_shot_matched/{objective}/{lang}/seed{seed}.predictions.jsonl"
        ),
    log:
        logpath(MATCHED_JOB),
    benchmark:
        benchpath(MATCHED_JOB)
    wildcard_constraints:
        task="topic",
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=min(GPUS, 1),
    params:
        hparams=lambda wc: translate_train_hparams(wc.task),  # as translate_train's
        seeds=job_seeds,
        models=seed_models,
        pretrain_seeds=seed_pretrain_seeds,
    script:
        "../workflow_scripts/zero_shot_matched.py"


rule retrieval_paired:
    input:
        predictions=expand(
            "results/metrics/retrieval/{objective}/{lang}.predictions.jsonl", objective=OBJECTIVES, lang=EVAL_LANGS
        ),
    output:
        md="results/tables/retrieval_mcnemar.md",
        csv="results/tables/retrieval_mcnemar.csv",
    log:
        logpath("retrieval_paired"),
    conda:
        ENV
    params:
        objectives=OBJECTIVES,
        languages=EVAL_LANGS,
        references=["base", "mlm"],
    script:
        "../workflow_scripts/retrieval_paired.py"
