# Fine-tuning and evaluation.
#  - zero-shot: one fine-tuning on English per task x arm x seed (model kept), then one evaluation
#    job per task x arm x seed over every test language (inference only, so adding a language
#    reruns these cheap jobs and no training);
#  - translate-train: fine-tune on the target-language version of the training documents and
#    evaluate on that language, in one job per task x arm x language x seed;
#  - retrieval: no fine-tuning, one job per arm over every language.
# Jobs are this coarse on purpose: each Python job pays ~6 s of imports (torch, transformers,
# mlflow), which at one job per language would dominate the default study's run time.


rule finetune:
    input:
        model="results/models/{objective}/model",
        train="results/data/{task}/train.en.jsonl",
        dev="results/data/{task}/dev.en.jsonl",
        labels="results/data/{task}/labels.json",
    output:
        model=directory("results/finetune/{task}/{objective}/en/seed{seed}/model"),
        history="results/finetune/{task}/{objective}/en/seed{seed}/history.jsonl",
        dev="results/finetune/{task}/{objective}/en/seed{seed}/dev.json",
    params:
        hparams=FINETUNE_HPARAMS,
    log:
        logpath("finetune/{task}/{objective}/en/seed{seed}"),
    benchmark:
        benchpath("finetune/{task}/{objective}/en/seed{seed}")
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow_scripts/finetune.py"


rule evaluate_zero_shot:
    input:
        model="results/finetune/{task}/{objective}/en/seed{seed}/model",
        tests=lambda wc: expand("results/data/{task}/test.{lang}.jsonl", task=wc.task, lang=["en"] + EVAL_LANGS),
        labels="results/data/{task}/labels.json",
    output:
        expand(
            "results/metrics/{{task}}/zero_shot/{{objective}}/{lang}/seed{{seed}}.json",
            lang=["en"] + EVAL_LANGS,
        ),
    params:
        hparams=FINETUNE_HPARAMS,
        languages=["en"] + EVAL_LANGS,
    log:
        logpath("evaluate_zero_shot/{task}/{objective}/seed{seed}"),
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow_scripts/evaluate_zero_shot.py"


rule translate_train:
    input:
        model="results/models/{objective}/model",
        train="results/data/{task}/train.{lang}.jsonl",
        dev="results/data/{task}/dev.{lang}.jsonl",
        test="results/data/{task}/test.{lang}.jsonl",
        labels="results/data/{task}/labels.json",
    output:
        model=directory("results/finetune/{task}/{objective}/{lang}/seed{seed}/model"),
        history="results/finetune/{task}/{objective}/{lang}/seed{seed}/history.jsonl",
        dev="results/finetune/{task}/{objective}/{lang}/seed{seed}/dev.json",
        metrics="results/metrics/{task}/translate_train/{objective}/{lang}/seed{seed}.json",
    params:
        hparams=FINETUNE_HPARAMS,
    log:
        logpath("translate_train/{task}/{objective}/{lang}/seed{seed}"),
    benchmark:
        benchpath("translate_train/{task}/{objective}/{lang}/seed{seed}")
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow_scripts/translate_train.py"


rule retrieval:
    input:
        model="results/models/{objective}/model",
        pairs=expand("results/data/retrieval/en-{lang}.jsonl", lang=EVAL_LANGS),
    output:
        expand("results/metrics/retrieval/{{objective}}/{lang}.json", lang=EVAL_LANGS),
    params:
        layer=config["tasks"]["retrieval"]["layer"],
        max_length=config["tasks"]["retrieval"]["max_length"],
        languages=EVAL_LANGS,
    log:
        logpath("retrieval/{objective}"),
    threads: THREADS
    conda:
        ENV
    script:
        "../workflow_scripts/retrieval.py"
