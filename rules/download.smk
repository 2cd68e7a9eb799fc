# Corpus download: one job for the labelled English side (DDTP), one per language pair.
# Downloads are cached in resources/ and never repeated while their checksums match.
# On a cluster (e.g. --executor slurm) downloads run on the submitting machine: compute nodes
# often have no internet.


localrules:
    download_english,
    download_pair,


rule download_english:
    """Fetch the labelled English side of the corpus (DDTP) into resources/, checksummed."""
    output:
        docs="results/corpus/en.jsonl",
        manifest="results/corpus/en.manifest.json",
    log:
        logpath("download_english"),
    benchmark:
        benchpath("download_english")
    conda:
        ENV
    params:
        source=SOURCE,
        options=config["corpus"][SOURCE],
        cache_dir=f"resources/{SOURCE}",
    script:
        "../workflow_scripts/download_english.py"


rule download_pair:
    """Fetch one language's translations of the corpus into resources/, checksummed."""
    input:
        english="results/corpus/en.jsonl" if LABELLED else [],
    output:
        docs="results/corpus/en-{lang}.jsonl",
        manifest="results/corpus/en-{lang}.manifest.json",
    log:
        logpath("download_pair/en-{lang}"),
    benchmark:
        benchpath("download_pair/en-{lang}")
    conda:
        ENV
    params:
        source=SOURCE,
        # only this pair's entry, so that editing another language's source reruns nothing here
        options=lambda wc: (
            {**config["corpus"][SOURCE], "pairs": {wc.lang: config["corpus"][SOURCE]["pairs"][wc.lang]}}
            if SOURCE in ("url", "local")
            else config["corpus"][SOURCE]
        ),
        cache_dir=f"resources/{SOURCE}",
    script:
        "../workflow_scripts/download_pair.py"
