# Model-free baselines of the topic task (majority class, English TF-IDF + logistic regression)
# on the same splits as the arms: extra rows of the topic tables (alignxfer/baselines.py).


rule baselines:
    input:
        train="results/data/topic/train.en.jsonl",
        dev="results/data/topic/dev.en.jsonl",
        labels="results/data/topic/labels.json",
        tests=expand("results/data/topic/test.{lang}.jsonl", lang=eval_languages("topic", "zero_shot")),
    output:
        metrics=baseline_files(),
    log:
        logpath("baselines/topic"),
    conda:
        ENV
    params:
        languages=eval_languages("topic", "zero_shot"),
    script:
        "../workflow_scripts/baselines.py"
