"""The plug-in registries (alignxfer.registry): the schema agrees with them, and a plug-in module
registers an objective and a task that the workflow plans and runs with no other edit."""

import json
import subprocess
import sys

import pytest
import yaml

from alignxfer import registry
from alignxfer.config import ConfigError, load_schema, validate_config
from tests.workflow_helpers import planned_jobs, smoke_config, snakemake

registry.builtins()
SCHEMA = load_schema()
PLUGIN = "tests.toy_plugin"


def _section(*path):
    node = SCHEMA
    for key in path:
        node = node["properties"][key]
    return node


def _default(node):
    while "$ref" in node and "default" not in node:
        node = SCHEMA["definitions"][node["$ref"].split("/")[-1]]
    return node["default"]


def test_schema_enum_of_objectives_is_the_registry():
    enum = _section("pretraining", "objectives")["items"]["enum"]
    assert enum == ["base", *(name for name, spec in registry.OBJECTIVES.items() if spec.builtin)]


@pytest.mark.parametrize("name", sorted(registry.OBJECTIVES))
def test_schema_options_and_defaults_of_each_objective_are_its_dataclass(name):
    props = _section("pretraining", name)["properties"]
    assert {key: _default(node) for key, node in props.items()} == registry.OBJECTIVES[name].defaults()


def test_base_training_options_are_the_objectives():
    training = _section("base", "training")["properties"]
    assert _default(training["mask_prob"]) == registry.OBJECTIVES["mlm"].defaults()["mask_prob"]
    contrastive = {k: _default(v) for k, v in training["contrastive"]["properties"].items()}
    own = registry.OBJECTIVES["contrastive"].defaults()
    assert contrastive == {k: v for k, v in own.items() if k != "mask_prob"}


@pytest.mark.parametrize("name", sorted(registry.TASKS))
def test_schema_has_each_task_with_its_hyperparameters_and_defaults(name):
    props = _section("tasks", name)["properties"]
    spec = registry.TASKS[name]
    assert {k: _default(props[k]) for k in spec.hparam_keys()} == spec.defaults()


def test_finetuning_defaults_are_the_hparams_dataclass():
    from alignxfer.tasks.base import DEFAULT_HPARAMS, FinetuneHparams

    schema = {k: _default(v) for k, v in _section("finetuning")["properties"].items()}
    own = registry.option_defaults(FinetuneHparams)
    assert own == DEFAULT_HPARAMS
    # the workflow's own keys, not hyperparameters of one fine-tuning (FINETUNE_HPARAMS in rules/common.smk)
    workflow_keys = {"seeds", "group_seeds", "translate_train_epochs"}
    assert {k: v for k, v in schema.items() if k not in workflow_keys} == {k: own[k] for k in schema if k in own}
    assert set(schema) - workflow_keys <= set(own)


def test_alignment_needs_and_hub_tasks_come_from_the_registry():
    from alignxfer.config import alignment_objectives, dataset_tasks

    builtin = registry.OBJECTIVES
    assert tuple(n for n in alignment_objectives() if builtin[n].builtin) == ("weam", "word_aligned")
    assert registry.OBJECTIVES["word_aligned"].alignments == "intersection"
    assert registry.OBJECTIVES["weam"].alignments == "symmetrized"
    assert tuple(n for n in dataset_tasks() if registry.TASKS[n].builtin) == ("xnli", "mlqa")


def test_implementations_agree_with_their_records():
    for name, spec in registry.OBJECTIVES.items():
        cls = spec.load()
        assert (cls.name, cls.options_type, cls.needs_alignment) == (name, spec.options, spec.needs_alignment)
    for name, spec in registry.TASKS.items():
        task = spec.load()()
        assert (task.name, task.primary_metric, task.metric_names) == (name, spec.primary_metric, spec.metric_names)


def test_planning_and_the_report_layer_import_no_torch():
    code = (
        "import sys; import alignxfer.config as c, alignxfer.report as r, alignxfer.registry as g; "
        "g.builtins(); c.validate_config({}); r.table_stems(['results/metrics/mlqa/zero_shot/mlm/de/seed1.json']); "
        "print(sorted(m for m in ('torch', 'transformers', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    # gather's layer (tables and claims) reads the task records, not the task classes
    code = (
        "import sys; import alignxfer.results as r, alignxfer.claims as c; "
        "print(r._primary_for('mlqa', {'f1': 1, 'exact_match': 1}), c._sentence_classification('xnli'), "
        "c._sentence_classification('mlqa'), 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["f1", "True", "False", "False"]


def test_registering_twice_or_a_reserved_name_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        registry.register_objective("mlm", impl="somewhere.else:Thing")
    with pytest.raises(ValueError, match="other than"):
        registry.register_objective("base", impl="x:y")
    with pytest.raises(ValueError, match="primary_metric"):
        registry.register_task("t", primary_metric="f1", metric_names=("accuracy",), impl="x:y")


def test_a_plugin_module_extends_only_its_own_configs_schema():
    cfg = validate_config(
        {
            "plugins": [PLUGIN],
            "pretraining": {"objectives": ["mlm", "target_mlm"]},
            "tasks": {"topic_short": {"enabled": True, "settings": ["zero_shot"]}},
        }
    )
    assert cfg["pretraining"]["target_mlm"] == {"mask_prob": 0.25}
    assert cfg["tasks"]["topic_short"] == {"enabled": True, "settings": ["zero_shot"], "max_length": 12}
    plain = validate_config({})
    assert "target_mlm" not in plain["pretraining"] and "topic_short" not in plain["tasks"]
    assert "plugins" not in plain  # absent key: the default config (and its hash) is unchanged
    with pytest.raises(ConfigError, match=r"pretraining.objectives\[0\]: 'target_mlm' is not allowed"):
        validate_config({"pretraining": {"objectives": ["target_mlm"]}})
    with pytest.raises(ConfigError, match=r"pretraining.target_mlm.mask_prob: expected"):
        validate_config({"plugins": [PLUGIN], "pretraining": {"target_mlm": {"mask_prob": "high"}}})


def test_a_dataset_task_plugin_gets_a_dataset_section_and_its_checks():
    plugin = "tests.toy_dataset_plugin"
    source = {"dataset": "some/dataset", "split": "train"}
    parts = {p: source for p in ("train", "dev", "test", "translate_train", "translate_dev")}
    cfg = validate_config({"plugins": [plugin], "tasks": {"paws_toy": {"enabled": True, "languages": ["de"], **parts}}})
    assert cfg["tasks"]["paws_toy"]["max_length"] is None and cfg["tasks"]["paws_toy"]["max_train_examples"] is None
    with pytest.raises(ConfigError, match=r"tasks.paws_toy: no \['translate_train', 'translate_dev'\]"):
        validate_config(
            {
                "plugins": [plugin],
                "tasks": {"paws_toy": {"enabled": True, "train": source, "dev": source, "test": source}},
            }
        )
    with pytest.raises(ConfigError, match=r"tasks.paws_toy.languages\[0\]: 'xx' is not allowed"):
        validate_config({"plugins": [plugin], "tasks": {"paws_toy": {"languages": ["xx"]}}})


def test_an_unimportable_plugin_is_a_config_error_naming_the_key():
    with pytest.raises(ConfigError, match=r"plugins\[0\]: cannot import 'no_such_module_xyz'"):
        validate_config({"plugins": ["no_such_module_xyz"]})


def _toy_config(workdir):
    """The smoke study cut to the base and the plug-in arm, one seed, no alignment or retrieval."""
    return smoke_config(
        workdir,
        plugins=[PLUGIN],
        alignment={"enabled": False},
        pretraining={"objectives": ["base", "target_mlm"], "seeds": [13]},
        finetuning={"seeds": [1]},
        tasks={"topic": {"settings": ["zero_shot"]}, "topic_short": {"enabled": True}, "retrieval": {"enabled": False}},
    )


def test_the_workflow_plans_a_plugin_objective_and_task(tmp_path):
    config = _toy_config(tmp_path)
    jobs = planned_jobs(snakemake(tmp_path, config, "-n", "--cores", "2"))
    assert jobs["pretrain"] == 1  # target_mlm
    assert jobs["evaluate_zero_shot_topic_short"] == 2  # base and target_mlm x seed 1
    assert jobs["finetune"] == 4  # topic and topic_short x 2 arms
    assert jobs["translate_train"] == 4  # topic_short only (topic: zero_shot), 2 arms x (de, ja)


@pytest.mark.slow
def test_the_workflow_runs_a_plugin_objective_and_task(tmp_path):
    config = _toy_config(tmp_path)
    result = snakemake(tmp_path, config, "--cores", "2")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-8000:]
    history = (tmp_path / "results/models/target_mlm/p13/history.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in history][-1] == yaml.safe_load(config.read_text())["pretraining"][
        "budget"
    ]["steps"]
    metric = json.loads((tmp_path / "results/metrics/topic_short/zero_shot/target_mlm/de/seed1.json").read_text())
    assert metric["task"] == "topic_short" and 0 <= metric["metrics"]["accuracy"] <= 1
    info = json.loads(
        (tmp_path / "results/finetune/topic_short/target_mlm/en/seed1/model/finetune_info.json").read_text()
    )
    assert info["hparams"]["max_length"] == 12  # the task's own hyperparameter won over finetuning.max_length
    assert (tmp_path / "results/tables/topic_short_zero_shot.md").exists()
