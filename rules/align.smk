# FastAlign (sil-thot's port) in both directions as separate jobs, then symmetrization.
# One thread per job: byte-identical output across runs.
# alignment_quality: the aligner scored against gold word alignments (docs/alignment-quality.md).

from alignxfer.alignment import aligner_options
from alignxfer.alignment_quality import gold_files


rule align:
    """Word-align one language pair in one direction with FastAlign (sil-thot's port)."""
    input:
        corpus="results/align/en-{lang}/corpus.txt",
    output:
        "results/align/en-{lang}/{direction}.txt",
    log:
        logpath("align/en-{lang}.{direction}"),
    benchmark:
        benchpath("align/en-{lang}.{direction}")
    priority: 30  # on the path to the alignment arms: never behind fine-tuning jobs (see pretrain)
    conda:
        ENV
    threads: 1
    params:
        options=aligner_options(config["alignment"]),
    script:
        "../workflow_scripts/align.py"


rule symmetrize:
    """Symmetrise the two directions' alignments of a pair (grow-diag-final-and by default)."""
    input:
        fwd="results/align/en-{lang}/forward.txt",
        rev="results/align/en-{lang}/reverse.txt",
        corpus="results/align/en-{lang}/corpus.txt",
    output:
        "results/align/en-{lang}/symmetrized.txt",
    log:
        logpath("symmetrize/en-{lang}"),
    priority: 30
    conda:
        ENV
    params:
        heuristic=config["alignment"]["symmetrization"],
    script:
        "../workflow_scripts/symmetrize.py"


# the intersection of both directions: word_aligned's links (Cao et al.), whatever the
# symmetrization heuristic of the other arms
rule intersect:
    input:
        fwd="results/align/en-{lang}/forward.txt",
        rev="results/align/en-{lang}/reverse.txt",
        corpus="results/align/en-{lang}/corpus.txt",
    output:
        "results/align/en-{lang}/intersection.txt",
    log:
        logpath("intersect/en-{lang}"),
    priority: 30
    conda:
        ENV
    params:
        heuristic="intersection",
    script:
        "../workflow_scripts/symmetrize.py"


rule alignment_gold:
    input:
        corpus="results/align/en-{lang}/corpus.txt",
        gold=lambda wc: list(gold_files(GOLD[wc.lang])),
    output:
        "results/align/en-{lang}/gold_quality.json",
    log:
        logpath("alignment_gold/en-{lang}"),
    benchmark:
        benchpath("alignment_gold/en-{lang}")
    conda:
        ENV
    threads: 1
    params:
        options=aligner_options(config["alignment"]),
        heuristic=config["alignment"]["symmetrization"],
        gold=lambda wc: GOLD[wc.lang],
        segmentations=config["alignment"]["quality"]["segmentations"],
    script:
        "../workflow_scripts/alignment_gold.py"


rule alignment_quality:
    input:
        reports=expand("results/align/en-{lang}/gold_quality.json", lang=sorted(GOLD)),
    output:
        md=report(
            "results/tables/alignment_quality.md", category="Alignment", caption="../report/alignment_quality.rst"
        ),
        csv="results/tables/alignment_quality.csv",
    log:
        logpath("alignment_quality"),
    conda:
        ENV
    params:
        langs=LANGS,
        eval_langs=config["corpus"]["eval_languages"],
        gold={lang: spec.get("name", "") for lang, spec in GOLD.items()},
    script:
        "../workflow_scripts/alignment_quality.py"
