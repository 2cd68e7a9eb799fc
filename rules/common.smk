# Config validation, the study's dimensions, wildcard constraints and input functions.
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from snakemake.exceptions import WorkflowError

from alignxfer.config import ALIGNMENT_OBJECTIVES, ConfigError, validate_config

try:
    validate_config(config, source=", ".join(map(str, workflow.configfiles)) or "config")
except ConfigError as err:
    raise WorkflowError(str(err))

SOURCE = config["corpus"]["source"]
LABELLED = SOURCE == "ddtp"
LANGS = config["corpus"]["languages"]  # pre-training bitext languages (each paired with en)
EVAL_LANGS = LANGS + config["corpus"]["eval_languages"]
OBJECTIVES = config["pretraining"]["objectives"]
ARMS = [o for o in OBJECTIVES if o != "base"]
SEEDS = config["finetuning"]["seeds"]
CLASSIFICATION_TASKS = [t for t in ("topic",) if config["tasks"][t]["enabled"]]
THREADS = config["threads"]
ENV = "../envs/alignxfer.yaml"
FINETUNE_HPARAMS = {k: v for k, v in config["finetuning"].items() if k != "seeds"}


def _alternatives(values):
    return "|".join(sorted(map(str, values))) or "NONE"


wildcard_constraints:
    lang=_alternatives(EVAL_LANGS),
    objective=_alternatives(OBJECTIVES),
    seed=r"\d+",
    task=_alternatives(CLASSIFICATION_TASKS),
    setting="zero_shot|translate_train",
    direction="forward|reverse",


def logpath(name):
    return f"results/logs/{name}.log"


def benchpath(name):
    return f"results/benchmarks/{name}.tsv"


def tokenized_dirs(wildcards=None):
    return expand("results/tokenized/en-{lang}", lang=LANGS)


def alignment_files(objective):
    if objective in ALIGNMENT_OBJECTIVES:
        return expand("results/align/en-{lang}/symmetrized.txt", lang=LANGS)
    return []


def eval_languages(setting):
    return ["en"] + EVAL_LANGS if setting == "zero_shot" else EVAL_LANGS


def metric_files():
    files = []
    for task in CLASSIFICATION_TASKS:
        for setting in config["tasks"][task]["settings"]:
            files += expand(
                "results/metrics/{task}/{setting}/{objective}/{lang}/seed{seed}.json",
                task=task,
                setting=setting,
                objective=OBJECTIVES,
                lang=eval_languages(setting),
                seed=SEEDS,
            )
    if config["tasks"]["retrieval"]["enabled"]:
        files += expand("results/metrics/retrieval/{objective}/{lang}.json", objective=OBJECTIVES, lang=EVAL_LANGS)
    return files


def history_files():
    return expand("results/models/{objective}/history.jsonl", objective=OBJECTIVES)


def all_targets():
    return ["results/tables/summary.md", "results/tables/claims.md", "results/plots"]
