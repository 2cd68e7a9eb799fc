# Alignment-aware and contrastive pre-training for zero-shot cross-lingual transfer.
# `snakemake --cores N` runs the study of config.yaml; see README.md and docs/architecture.md.
import os

from snakemake.utils import min_version

min_version("9.0")


# a YAML syntax error in config.yaml: name the file and line (Snakemake's own message names neither;
# for a --configfile overlay, `python -m alignxfer.config FILE` does the same)
import sys

sys.path.insert(0, workflow.basedir)
from alignxfer.config import ConfigError, check_yaml_files
from snakemake.exceptions import WorkflowError

try:
    check_yaml_files([os.path.join(workflow.basedir, "config.yaml")])
except ConfigError as err:
    raise WorkflowError(str(err))


configfile: os.path.join(workflow.basedir, "config.yaml")


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/download.smk"
include: "rules/prepare.smk"
include: "rules/tokenize.smk"
include: "rules/align.smk"
include: "rules/pretrain.smk"
include: "rules/finetune.smk"
include: "rules/baselines.smk"
include: "rules/readouts.smk"
include: "rules/gather.smk"
include: "rules/environment.smk"


rule all:
    """The whole study: tables, claims and plots."""
    default_target: True
    input:
        all_targets(),
        "results/environment.json",
