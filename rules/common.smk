# Config validation, the study's dimensions, wildcard constraints and input functions.
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from snakemake.exceptions import WorkflowError

from alignxfer.config import ALIGNMENT_OBJECTIVES, DATASET_TASKS as HUB_TASKS, ConfigError, describe_base, missing_checksums, validate_config

try:
    validate_config(config, source=", ".join(map(str, workflow.configfiles)) or "config")
except ConfigError as err:
    raise WorkflowError(str(err))

for _problem in missing_checksums(config):  # the download jobs refuse these files
    print(f"WARNING: {_problem}", file=sys.stderr)

SOURCE = config["corpus"]["source"]
LABELLED = SOURCE == "ddtp"
LANGS = config["corpus"]["languages"]  # pre-training bitext languages (each paired with en)
EVAL_LANGS = LANGS + config["corpus"]["eval_languages"]
OBJECTIVES = config["pretraining"]["objectives"]
ARMS = [o for o in OBJECTIVES if o != "base"]
SEEDS = config["finetuning"]["seeds"]
# fine-tuned tasks: topic (from the ddtp corpus) and the Hugging Face dataset tasks (xnli, mlqa)
DATASET_TASKS = [t for t in HUB_TASKS if config["tasks"][t]["enabled"]]
FINETUNED_TASKS = [t for t in ("topic",) if config["tasks"][t]["enabled"]] + DATASET_TASKS
# test languages besides English: topic uses the corpus languages, a dataset task its own list
TASK_LANGS = {"topic": EVAL_LANGS, **{t: config["tasks"][t]["languages"] for t in DATASET_TASKS}}
ALL_LANGS = sorted(set(EVAL_LANGS).union(*TASK_LANGS.values()))
THREADS = config["threads"]
GPUS = config["gpus_per_job"]  # Snakemake resource `gpu` of every model job
ENV = "../envs/alignxfer.yaml"
GROUP_SEEDS = config["finetuning"]["group_seeds"]  # translate-train: one job for all seeds
# log/benchmark name of a translate-train job: per language, or per seed without group_seeds
TRANSLATE_TRAIN_JOB = "translate_train/{task}/{objective}/{lang}" + ("" if GROUP_SEEDS else ".seed{seed}")
FINETUNE_HPARAMS = {k: v for k, v in config["finetuning"].items() if k not in ("seeds", "group_seeds")}
# task options that reach the fine-tuning code next to the shared hyperparameters
TASK_HPARAM_KEYS = ("max_length", "doc_stride", "max_query_length", "max_answer_length", "n_best")


def _alternatives(values):
    return "|".join(sorted(map(str, values))) or "NONE"


wildcard_constraints:
    lang=_alternatives(ALL_LANGS),
    objective=_alternatives(OBJECTIVES),
    seed=r"\d+",
    task=_alternatives(FINETUNED_TASKS),
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


def seed_paths(pattern):
    """A per-seed output of a job that may loop over the seeds: with GROUP_SEEDS the pattern for
    every seed of the config (the job's wildcards stay), otherwise the pattern with its {seed}."""
    return expand(pattern, seed=SEEDS, allow_missing=True) if GROUP_SEEDS else pattern


def eval_languages(task, setting):
    # zero-shot and the probe test English too; translate-train and the de-lexicalised sets do not
    return ["en"] + TASK_LANGS[task] if setting in ("zero_shot", "probe") else TASK_LANGS[task]


def zero_shot_metrics(task):
    """Output patterns of one zero-shot evaluation job of ``task``: one metric file per test language."""
    if task not in TASK_LANGS:
        return []
    return expand(
        "results/metrics/{{task}}/zero_shot/{{objective}}/{lang}/seed{{seed}}.json",
        lang=eval_languages(task, "zero_shot"),
    )


def task_hparams(task):
    """The fine-tuning hyperparameters of ``task``: finetuning's, plus the task's own options (a
    task's non-null max_length wins). For topic exactly finetuning's, as before the dataset tasks."""
    if task not in DATASET_TASKS:
        return FINETUNE_HPARAMS
    own = {k: v for k, v in config["tasks"][task].items() if k in TASK_HPARAM_KEYS and v is not None}
    return {**FINETUNE_HPARAMS, **own}


def task_source(task, part, lang, max_examples=None):
    """One part of a dataset task's data, as rule prepare_task_* passes it to alignxfer.tasks.hub."""
    return {"source": config["tasks"][task][part], "lang": lang, "max_examples": max_examples}


def metric_files():
    files = []
    for task in FINETUNED_TASKS:
        for setting in config["tasks"][task]["settings"]:
            files += expand(
                "results/metrics/{task}/{setting}/{objective}/{lang}/seed{seed}.json",
                task=task,
                setting=setting,
                objective=OBJECTIVES,
                lang=eval_languages(task, setting),
                seed=[0] if setting == "probe" else SEEDS,  # the probe is deterministic: one run, seed0
            )
    if config["tasks"]["retrieval"]["enabled"]:
        files += expand("results/metrics/retrieval/{objective}/{lang}.json", objective=OBJECTIVES, lang=EVAL_LANGS)
    return files


def history_files():
    return expand("results/models/{objective}/history.jsonl", objective=OBJECTIVES)


def all_targets():
    return ["results/tables/summary.md", "results/tables/claims.md", "results/plots"] + readout_targets()


# readouts of issue #12 (rules/readouts.smk)
def predictions_file(metric_pattern):
    """The per-example predictions file beside a metric file: X.json -> X.predictions.jsonl."""
    return metric_pattern[: -len(".json")] + ".predictions.jsonl"


def readout_targets():
    """Outputs of rules/readouts.smk that no gather input asks for (model-free baselines)."""
    if not config["tasks"]["retrieval"]["enabled"]:
        return []
    return expand("results/metrics/retrieval/baselines/string_match/{lang}.json", lang=EVAL_LANGS) + [
        "results/tables/retrieval_mcnemar.md"
    ]
