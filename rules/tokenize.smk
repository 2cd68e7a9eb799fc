# Word segmentation (shared by aligner and objectives), the tokenizer, tokenized datasets.


rule segment_pair:
    """Segment one pair's bitext into the workflow's words (CJK/kana aware)."""
    input:
        en="results/data/pretrain/en-{lang}.en",
        xx="results/data/pretrain/en-{lang}.{lang}",
    output:
        corpus="results/align/en-{lang}/corpus.txt",
    log:
        logpath("segment_pair/en-{lang}"),
    conda:
        ENV
    script:
        "../workflow_scripts/segment_pair.py"


if config["tokenizer"]["source"] == "train":

    rule train_tokenizer:
        """Train the WordPiece vocabulary on the segmented bitext."""
        input:
            corpora=expand("results/align/en-{lang}/corpus.txt", lang=LANGS),
        output:
            directory("results/tokenizer"),
        log:
            logpath("train_tokenizer"),
        benchmark:
            benchpath("train_tokenizer")
        conda:
            ENV
        threads: THREADS
        params:
            vocab_size=config["tokenizer"]["vocab_size"],
            lowercase=config["tokenizer"]["lowercase"],
            seed=config["seed"],
        script:
            "../workflow_scripts/train_tokenizer.py"

else:

    localrules:
        save_tokenizer,

    rule save_tokenizer:
        """Save the pretrained model's tokenizer as the study's tokenizer."""
        output:
            directory("results/tokenizer"),
        log:
            logpath("save_tokenizer"),
        conda:
            ENV
        params:
            name=config["base"]["name"],
            revision=config["base"]["revision"],  # a hub commit (null: main)
        script:
            "../workflow_scripts/save_tokenizer.py"


rule tokenize_pair:
    """Tokenize one pair's bitext and align word and sub-word positions."""
    input:
        corpus="results/align/en-{lang}/corpus.txt",
        tokenizer="results/tokenizer",
    output:
        directory("results/tokenized/en-{lang}"),
    log:
        logpath("tokenize_pair/en-{lang}"),
    benchmark:
        benchpath("tokenize_pair/en-{lang}")
    conda:
        ENV
    threads: THREADS
    script:
        "../workflow_scripts/tokenize_pair.py"
