# Cleaning and the split by document: pre-training bitext, task train/dev/test, retrieval pairs.


rule prepare_english:
    input:
        docs="results/corpus/en.jsonl",
    output:
        train="results/data/topic/train.en.jsonl",
        dev="results/data/topic/dev.en.jsonl",
        test="results/data/topic/test.en.jsonl",
        labels="results/data/topic/labels.json",
        summary="results/data/summary/en.json",
    params:
        options=config["prepare"],
        seed=config["seed"],
    log:
        logpath("prepare_english"),
    conda:
        ENV
    script:
        "../workflow_scripts/prepare_english.py"


rule prepare_pair:
    input:
        docs="results/corpus/en-{lang}.jsonl",
        english_train="results/data/topic/train.en.jsonl" if LABELLED else [],
        english_dev="results/data/topic/dev.en.jsonl" if LABELLED else [],
    output:
        pretrain_en="results/data/pretrain/en-{lang}.en",
        pretrain_xx="results/data/pretrain/en-{lang}.{lang}",
        pretrain_ids="results/data/pretrain/en-{lang}.ids",
        train="results/data/topic/train.{lang}.jsonl",
        dev="results/data/topic/dev.{lang}.jsonl",
        test="results/data/topic/test.{lang}.jsonl",
        retrieval="results/data/retrieval/en-{lang}.jsonl",
        summary="results/data/summary/en-{lang}.json",
    params:
        options=config["prepare"],
        seed=config["seed"],
    log:
        logpath("prepare_pair/en-{lang}"),
    conda:
        ENV
    script:
        "../workflow_scripts/prepare_pair.py"
