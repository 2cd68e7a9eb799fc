# Alignment-aware and contrastive pre-training for zero-shot cross-lingual transfer.
# `snakemake --cores N` runs the study of config.yaml; see README.md and docs/architecture.md.
import os

from snakemake.utils import min_version

min_version("9.0")


configfile: os.path.join(workflow.basedir, "config.yaml")


include: "rules/common.smk"
include: "rules/download.smk"
include: "rules/prepare.smk"
include: "rules/tokenize.smk"
include: "rules/align.smk"
include: "rules/pretrain.smk"
include: "rules/finetune.smk"
include: "rules/readouts.smk"
include: "rules/gather.smk"


rule all:
    input:
        all_targets(),
    default_target: True
