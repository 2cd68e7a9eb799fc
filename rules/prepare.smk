# Cleaning and the split by document: pre-training bitext, task train/dev/test, retrieval pairs.


rule prepare_english:
    """Clean the English documents and split them by document into pre-training/train/dev/test pools."""
    input:
        docs="results/corpus/en.jsonl",
        # document_selection "translated" ranks English documents by their translations into the
        # pre-training languages (not eval_languages: adding one reruns no English fine-tuning)
        pairs=(
            expand("results/corpus/en-{lang}.jsonl", lang=LANGS)
            if config["prepare"]["document_selection"] == "translated"
            else []
        ),
    output:
        train="results/data/topic/train.en.jsonl",
        dev="results/data/topic/dev.en.jsonl",
        test="results/data/topic/test.en.jsonl",
        labels="results/data/topic/labels.json",
        summary="results/data/summary/en.json",
    log:
        logpath("prepare_english"),
    conda:
        ENV
    params:
        options=config["prepare"],
        seed=config["seed"],
    script:
        "../workflow_scripts/prepare_english.py"


rule prepare_pair:
    """Clean one language pair's bitext and keep only pre-training-pool documents."""
    input:
        docs="results/corpus/en-{lang}.jsonl",
        english_train="results/data/topic/train.en.jsonl" if LABELLED else [],
        english_dev="results/data/topic/dev.en.jsonl" if LABELLED else [],
        english_test="results/data/topic/test.en.jsonl" if LABELLED else [],
        # every English test document's text stays out of this pair's pre-training and training
        # text, also of those without a translation into {lang}
        english_docs="results/corpus/en.jsonl" if LABELLED else [],
    output:
        pretrain_en="results/data/pretrain/en-{lang}.en",
        pretrain_xx="results/data/pretrain/en-{lang}.{lang}",
        pretrain_ids="results/data/pretrain/en-{lang}.ids",
        train="results/data/topic/train.{lang}.jsonl",
        dev="results/data/topic/dev.{lang}.jsonl",
        test="results/data/topic/test.{lang}.jsonl",
        retrieval="results/data/retrieval/en-{lang}.jsonl",
        summary="results/data/summary/en-{lang}.json",
    log:
        logpath("prepare_pair/en-{lang}"),
    conda:
        ENV
    params:
        options=config["prepare"],
        seed=config["seed"],
    script:
        "../workflow_scripts/prepare_pair.py"


# Dataset tasks (xnli, mlqa): task files from Hugging Face datasets (hub or local copies), see
# alignxfer.tasks.hub. English train/dev/test and the label list in one job; every other
# language's test file, and its translate-train files, in jobs of their own, so that adding a
# test language prepares only that language.
# They read the hub, so on a cluster they run on the submitting machine, like the downloads.


localrules:
    prepare_task_english,
    prepare_task_test,
    prepare_task_translated,


rule prepare_task_english:
    """Write a dataset task's English train/dev data and its labels."""
    output:
        train="results/data/{task}/train.en.jsonl",
        dev="results/data/{task}/dev.en.jsonl",
        test="results/data/{task}/test.en.jsonl",
        labels="results/data/{task}/labels.json",
        summary="results/data/summary/{task}/en.json",
    log:
        logpath("prepare_task_english/{task}"),
    wildcard_constraints:
        task=_alternatives(DATASET_TASKS),
    conda:
        ENV
    params:
        parts=lambda wc: {
            "train": task_source(wc.task, "train", "en", config["tasks"][wc.task]["max_train_examples"]),
            "dev": task_source(wc.task, "dev", "en"),
            "test": task_source(wc.task, "test", "en"),
        },
        seed=config["seed"],
    script:
        "../workflow_scripts/prepare_task.py"


rule prepare_task_test:
    """Write a dataset task's test set of one language."""
    output:
        test="results/data/{task}/test.{lang}.jsonl",
        summary="results/data/summary/{task}/test.{lang}.json",
    log:
        logpath("prepare_task_test/{task}/{lang}"),
    wildcard_constraints:
        task=_alternatives(DATASET_TASKS),
    conda:
        ENV
    params:
        parts=lambda wc: {"test": task_source(wc.task, "test", wc.lang)},
        seed=config["seed"],
    script:
        "../workflow_scripts/prepare_task.py"


rule prepare_task_translated:
    """Write a dataset task's translated training data of one language (translate-train)."""
    output:
        train="results/data/{task}/train.{lang}.jsonl",
        dev="results/data/{task}/dev.{lang}.jsonl",
        summary="results/data/summary/{task}/translated.{lang}.json",
    log:
        logpath("prepare_task_translated/{task}/{lang}"),
    wildcard_constraints:
        task=_alternatives(DATASET_TASKS),
    conda:
        ENV
    params:
        parts=lambda wc: {
            "train": task_source(wc.task, "translate_train", wc.lang, config["tasks"][wc.task]["max_train_examples"]),
            "dev": task_source(wc.task, "translate_dev", wc.lang),
        },
        seed=config["seed"],
    script:
        "../workflow_scripts/prepare_task.py"
