# FastAlign (sil-thot's port) in both directions as separate jobs, then symmetrization.
# One thread per job: byte-identical output across runs.


rule align:
    """Word-align one language pair in one direction with FastAlign (sil-thot's port)."""
    input:
        corpus="results/align/en-{lang}/corpus.txt",
    output:
        "results/align/en-{lang}/{direction}.txt",
    params:
        options={k: v for k, v in config["alignment"].items() if k not in ("enabled", "symmetrization")},
    log:
        logpath("align/en-{lang}.{direction}"),
    benchmark:
        benchpath("align/en-{lang}.{direction}")
    priority: 30  # on the path to the alignment arms: never behind fine-tuning jobs (see pretrain)
    threads: 1
    conda:
        ENV
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
    params:
        heuristic=config["alignment"]["symmetrization"],
    log:
        logpath("symmetrize/en-{lang}"),
    priority: 30
    conda:
        ENV
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
    params:
        heuristic="intersection",
    log:
        logpath("intersect/en-{lang}"),
    priority: 30
    conda:
        ENV
    script:
        "../workflow_scripts/symmetrize.py"
