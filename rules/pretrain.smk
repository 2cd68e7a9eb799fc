# The base model ("mBERT" of the study) and the continued-pre-training arms.
# Checkpoints live beside the model and are not outputs, so --rerun-incomplete resumes.
# gpu (config gpus_per_job) >= 2: data-parallel training, one process per GPU (alignxfer/parallel.py).

if config["base"]["source"] == "scratch":

    rule pretrain_base:
        """Train the study's base model (the 'mBERT') from scratch on the bitext."""
        input:
            tokenized=tokenized_dirs(),
            tokenizer="results/tokenizer",
        output:
            model=directory("results/models/base/model"),
            history="results/models/base/history.jsonl",
            heldout="results/models/base/heldout.json",
        log:
            logpath("pretrain_base"),
        benchmark:
            benchpath("pretrain_base")
        conda:
            ENV
        threads: config["base"]["threads"]
        resources:
            gpu=GPUS,
        params:
            architecture=config["base"]["architecture"],
            training=config["base"]["training"],
            seed=config["seed"],
            heldout=config["pretraining"]["heldout"],
            bf16=config["pretraining"]["bf16"],
            checkpoint_every=config["pretraining"]["checkpoint_every"],
            checkpoint_dir="results/models/base/checkpoints",
        script:
            "../workflow_scripts/pretrain_base.py"

else:

    localrules:
        load_base,

    rule load_base:
        """Save a pretrained base model (hub id or folder) as the study's base."""
        output:
            model=directory("results/models/base/model"),
            history="results/models/base/history.jsonl",
        log:
            logpath("load_base"),
        conda:
            ENV
        params:
            name=config["base"]["name"],
            revision=config["base"]["revision"],  # a hub commit (null: main)
        script:
            "../workflow_scripts/load_base.py"


rule pretrain:
    """Continue pre-training the base with one objective under the shared budget (one arm)."""
    input:
        base="results/models/base/model",
        tokenized=tokenized_dirs(),
        alignments=lambda wc: alignment_files(wc.objective),
        # the held-out checks' alignment measures (WEAM's cross-lingual loss, aligned-word distance)
        check_symmetrized=alignment_files("weam") if CHECK_ALIGNMENTS else [],
        check_intersection=alignment_files("word_aligned") if CHECK_ALIGNMENTS else [],
    output:
        model=directory("results/models/{objective}/p{pseed}/model"),
        history="results/models/{objective}/p{pseed}/history.jsonl",
        heldout="results/models/{objective}/p{pseed}/heldout.json",
    log:
        logpath("pretrain/{objective}.p{pseed}"),
    benchmark:
        benchpath("pretrain/{objective}.p{pseed}")
    wildcard_constraints:
        objective=_alternatives(ARMS),
    # the arms gate every fine-tuning job: run them before the base arm's fine-tuning. Snakemake
    # does not pass a priority on to a job's inputs, so align and symmetrize carry a higher one
    priority: 20
    conda:
        ENV
    threads: THREADS
    resources:
        gpu=GPUS,
        # host memory grows with the processes of a data-parallel job (one per GPU)
        mem_mb=PRETRAIN_MEM_MB_PER_GPU * GPUS if GPUS else 8000,
    params:
        budget=config["pretraining"]["budget"],
        options=lambda wc: config["pretraining"][wc.objective],
        seed=lambda wc: int(wc.pseed),  # the pre-training seed: data order, masks, dropout
        split_seed=config["seed"],  # the study seed: which pairs are base / arm / held-out
        heldout=config["pretraining"]["heldout"],
        bf16=config["pretraining"]["bf16"],
        checkpoint_every=config["pretraining"]["checkpoint_every"],
        checkpoint_dir=lambda wc: f"results/models/{wc.objective}/p{wc.pseed}/checkpoints",
        languages=LANGS,
    script:
        "../workflow_scripts/pretrain.py"
