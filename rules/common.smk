# Config validation, the study's dimensions, wildcard constraints and input functions.
import sys
from pathlib import Path

sys.path.insert(0, workflow.basedir)

from snakemake.exceptions import WorkflowError

from alignxfer import registry
from alignxfer.alignment_quality import gold_sets
from alignxfer.config import (
    alignment_objectives,
    dataset_tasks,
    ConfigError,
    describe_base,
    missing_checksums,
    PIN_HINT,
    unpinned_revisions,
    validate_config,
)

try:  # imports the config's plugins (objectives and tasks of one's own) first
    validate_config(config, source=", ".join(map(str, workflow.configfiles)) or "config")
except ConfigError as err:
    raise WorkflowError(str(err))
# the registered plug-ins (alignxfer.registry: built-ins and the config's plugins)
ALIGNMENT_OBJECTIVES = alignment_objectives()
HUB_TASKS = dataset_tasks()  # tasks prepared from Hugging Face datasets (rules prepare_task_*)
CORPUS_TASKS = [t for t, spec in registry.TASKS.items() if spec.data == "corpus"]  # from the study's corpus

for _problem in missing_checksums(config):  # the download jobs refuse these files
    print(f"WARNING: {_problem}", file=sys.stderr)
_unpinned = unpinned_revisions(config)  # hub branches can move: pin commits for a study
if _unpinned:
    print(
        f"WARNING: {len(_unpinned)} hub source(s) not pinned to a commit (a branch can move); {PIN_HINT}:\n  "
        + "\n  ".join(_unpinned),
        file=sys.stderr,
    )


onstart:
    # before any job runs (so before Snakemake deletes an old output): writable results, complete
    # model/tokenizer folders, one probe of the tracking server, the experiment created once
    from alignxfer.preflight import PreflightError, run_all as _preflight

    try:
        for _warning in _preflight(config):
            print(_warning, file=sys.stderr)
    except PreflightError as err:
        raise WorkflowError(str(err))


SOURCE = config["corpus"]["source"]
LABELLED = SOURCE == "ddtp"
LANGS = config["corpus"]["languages"]  # pre-training bitext languages (each paired with en)
EVAL_LANGS = LANGS + config["corpus"]["eval_languages"]
OBJECTIVES = config["pretraining"]["objectives"]
ARMS = [o for o in OBJECTIVES if o != "base"]
SEEDS = config["finetuning"]["seeds"]
# pre-training seeds of the arms; fine-tuning seed SEEDS[i] uses the arm of PRETRAIN_SEEDS[i mod n]
PRETRAIN_SEEDS = config["pretraining"]["seeds"] or [config["seed"]]
# fine-tuned tasks: those from the corpus (topic) and the enabled dataset tasks (xnli, mlqa)
DATASET_TASKS = [t for t in HUB_TASKS if config["tasks"][t]["enabled"]]
FINETUNED_TASKS = [t for t in CORPUS_TASKS if config["tasks"][t]["enabled"]] + DATASET_TASKS
# test languages besides English: a corpus task uses the corpus languages, a dataset task its own list
TASK_LANGS = {**{t: EVAL_LANGS for t in CORPUS_TASKS}, **{t: config["tasks"][t]["languages"] for t in DATASET_TASKS}}
# the tasks with a zero-shot evaluation rule of their own (its outputs list the task's languages)
ZERO_SHOT_TASKS = list(dict.fromkeys(["topic"] + FINETUNED_TASKS))
ALL_LANGS = sorted(set(EVAL_LANGS).union(*TASK_LANGS.values()))
THREADS = config["threads"]
GPUS = config["gpus_per_job"]  # Snakemake resource `gpu` of every model job
PRETRAIN_MEM_MB_PER_GPU = 32000  # host memory of a pre-training job per GPU (one process each); SLURM mem_mb
ENV = "../envs/alignxfer.yaml"
GROUP_SEEDS = config["finetuning"]["group_seeds"]  # translate-train: one job for all seeds
# log/benchmark name of a translate-train job: per language, or per seed without group_seeds
# alignment quality (the alignment_quality table): the gold set of each pre-training language that has one
QUALITY = config["alignment"]["enabled"] and config["alignment"]["quality"]["enabled"]
GOLD = {lang: spec for lang, spec in gold_sets(config).items() if lang in LANGS} if QUALITY else {}
TRANSLATE_TRAIN_JOB = "translate_train/{task}/{objective}/{lang}" + ("" if GROUP_SEEDS else ".seed{seed}")
FINETUNE_HPARAMS = {
    k: v for k, v in config["finetuning"].items() if k not in ("seeds", "group_seeds", "translate_train_epochs")
}


def _alternatives(values):
    return "|".join(sorted(map(str, values))) or "NONE"


wildcard_constraints:
    lang=_alternatives(ALL_LANGS),
    objective=_alternatives(OBJECTIVES),
    seed=r"\d+",
    pseed=r"\d+",
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
    """The word links an objective reads (its registry record: symmetrized, intersection or none)."""
    links = registry.OBJECTIVES[objective].alignments if objective in registry.OBJECTIVES else None
    return expand(f"results/align/en-{{lang}}/{links}.txt", lang=LANGS) if links else []


def seed_paths(pattern):
    """A per-seed output of a job that may loop over the seeds: with GROUP_SEEDS the pattern for
    every seed of the config (the job's wildcards stay), otherwise the pattern with its {seed}."""
    return expand(pattern, seed=SEEDS, allow_missing=True) if GROUP_SEEDS else pattern


def job_seeds(wildcards):
    """The fine-tuning seeds of a job that may loop over them: every seed with GROUP_SEEDS, else its own."""
    return SEEDS if GROUP_SEEDS else [int(wildcards.seed)]


def seed_models(wildcards):
    """{fine-tuning seed: the pre-trained model it continues} for the job's seeds (nested design)."""
    return {int(s): model_path(wildcards.objective, s) for s in job_seeds(wildcards)}


def seed_pretrain_seeds(wildcards):
    """{fine-tuning seed: its pre-training seed} for the job's seeds."""
    return {int(s): pretrain_seed_for(wildcards.objective, s) for s in job_seeds(wildcards)}


def eval_languages(task, setting):
    # zero-shot and the probe test English too; translate-train and the de-lexicalised sets do not
    if setting in ("zero_shot", "probe"):
        return ["en"] + TASK_LANGS[task]
    chosen = (
        config["tasks"][task].get("translate_train_languages")
        if task == "topic" and setting == "translate_train"
        else None
    )
    if chosen is None:
        return TASK_LANGS[task]
    unknown = sorted(set(chosen) - set(TASK_LANGS[task]))
    if unknown:
        raise WorkflowError(
            f"tasks.topic.translate_train_languages: {unknown} are not test languages of topic "
            f"(corpus.languages + corpus.eval_languages: {TASK_LANGS[task]})"
        )
    return [lang for lang in TASK_LANGS[task] if lang in chosen]


def zero_shot_metrics(task):
    """Output patterns of one zero-shot evaluation job of ``task``: one metric file per test language."""
    if task not in TASK_LANGS:
        return []
    return expand(
        "results/metrics/{{task}}/zero_shot/{{objective}}/{lang}/seed{{seed}}.json",
        lang=eval_languages(task, "zero_shot"),
    )


def task_hparams(task):
    """The fine-tuning hyperparameters of ``task``: finetuning's, plus the task's own ones (its
    registry record's ``hparams``; a task's non-null max_length wins). For topic exactly finetuning's."""
    keys = registry.TASKS[task].hparam_keys()
    if not keys:
        return FINETUNE_HPARAMS
    own = {k: v for k, v in config["tasks"][task].items() if k in keys and v is not None}
    return {**FINETUNE_HPARAMS, **own}


def translate_train_hparams(task):
    """task_hparams of ``task`` with finetuning.translate_train_epochs (when set) as its epochs:
    translate-train and zero_shot_matched train on a few hundred documents."""
    epochs = config["finetuning"]["translate_train_epochs"]
    hparams = task_hparams(task)
    return hparams if epochs is None else {**hparams, "epochs": epochs}


def task_data(name):
    """Input function: ``results/data/<task>/<name>`` (``{lang}`` filled in) of the task whose
    prepared files the job's task reads (its registry record's data_task: its own for the built-ins)."""
    return lambda wc: f"results/data/{registry.TASKS[wc.task].data_task}/{name.format(**dict(wc.items()))}"


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


def pretrain_seed_of(seed):
    """The pre-training seed of the arm that fine-tuning seed ``seed`` continues (nested design)."""
    return PRETRAIN_SEEDS[SEEDS.index(int(seed)) % len(PRETRAIN_SEEDS)]


def pretrain_seed_for(objective, seed):
    """The pre-training seed behind fine-tuning seed ``seed`` of ``objective`` (the base: the study seed)."""
    return config["seed"] if objective == "base" else pretrain_seed_of(seed)


def model_path(objective, seed=None, name="model"):
    """A pre-training job's output: the base's ``results/models/base/<name>``, an arm's
    ``results/models/<arm>/p<pretraining seed>/<name>`` (the seed of fine-tuning seed ``seed``;
    the first pre-training seed without one)."""
    if objective == "base":
        return f"results/models/base/{name}"
    pseed = PRETRAIN_SEEDS[0] if seed is None else pretrain_seed_of(seed)
    return f"results/models/{objective}/p{pseed}/{name}"


def history_files():
    return [model_path(o, None, "history.jsonl") for o in OBJECTIVES]


def all_targets():
    return (
        ["results/tables/summary.md", "results/tables/claims.md", "results/plots"]
        + gather_tables()
        + (["results/tables/alignment_quality.md"] if QUALITY else [])
        + readout_targets()
    )


# ---- gather's declared outputs and the evaluation jobs' predictions (stats)
def predictions_file(metric_pattern):
    """The per-example predictions file beside a metric file: X.json -> X.predictions.jsonl."""
    return metric_pattern[: -len(".json")] + ".predictions.jsonl"


def predictions_of(metric_paths):
    """The predictions file beside each metric file."""
    return [predictions_file(p) for p in metric_paths]


from alignxfer.report import table_stems

TABLE_STEMS = table_stems(metric_files())  # every table gather writes is a declared output


def table_subcategory(stem):
    return stem.split("_")[0] if stem != "retrieval" else "retrieval"


def gather_tables():
    """Every table and report page of gather (targets of `all`, so a deleted one is rebuilt)."""
    return (
        expand("results/tables/{stem}.{ext}", stem=TABLE_STEMS, ext=["md", "csv"])
        + expand("results/report/{stem}.html", stem=TABLE_STEMS + ["summary", "claims"])
        + ["results/report/overview.rst"]
    )


def cpu_flag_summary():
    """The CPU features of this machine (rule environment reruns on another CPU)."""
    from alignxfer.environment import cpu_features

    return ",".join(sorted(k for k, v in cpu_features()["flags"].items() if v))


# the held-out checks measure the alignment mechanisms when the study aligns words anyway
CHECK_ALIGNMENTS = config["alignment"]["enabled"] and any(o in OBJECTIVES for o in ALIGNMENT_OBJECTIVES)


def heldout_files():
    """The held-out check file of every pre-training job (a pretrained base has none)."""
    files = (
        ["results/models/base/heldout.json"] if "base" in OBJECTIVES and config["base"]["source"] == "scratch" else []
    )
    return files + expand("results/models/{objective}/p{pseed}/heldout.json", objective=ARMS, pseed=PRETRAIN_SEEDS)


def baseline_files():
    """The model-free baselines' metric files (rule baselines; topic task of the ddtp corpus)."""
    if not (LABELLED and config["tasks"]["topic"]["enabled"]):
        return []
    return expand(
        "results/metrics/topic/baselines/{name}/{lang}.json",
        name=["majority", "tfidf"],
        lang=eval_languages("topic", "zero_shot"),
    )


# readouts of issue #12 (rules/readouts.smk)


def readout_targets():
    """Outputs of rules/readouts.smk that no gather input asks for (model-free baselines)."""
    if not config["tasks"]["retrieval"]["enabled"]:
        return []
    return expand("results/metrics/retrieval/baselines/string_match/{lang}.json", lang=EVAL_LANGS) + [
        "results/tables/retrieval_mcnemar.md"
    ]
