import copy

import pytest

from alignxfer.config import ConfigError, load_config, missing_checksums, validate_config


def test_default_config_is_valid_and_defaults_are_filled():
    cfg = load_config("config.yaml")
    assert cfg["pretraining"]["budget"]["gradient_accumulation"] == 1  # filled from the schema
    assert cfg["corpus"]["languages"] == ["de", "fr", "es", "ru", "ja", "zh"]


def test_empty_config_gets_every_default():
    cfg = validate_config({})
    assert cfg["corpus"]["source"] == "ddtp"
    assert cfg["finetuning"]["seeds"] == [1, 2, 3]


@pytest.mark.parametrize(
    "bad, expected",
    [
        ({"corpus": {"languages": ["de", "xx"]}}, "corpus.languages[1]: 'xx' is not allowed"),
        ({"corpus": {"source": "opus"}}, "corpus.source: 'opus' is not allowed; allowed: ['ddtp', 'url', 'local']"),
        ({"pretraining": {"objectives": ["mlm", "weaam"]}}, "pretraining.objectives[1]: 'weaam' is not allowed"),
        ({"finetuning": {"lr": 1e-5}}, "finetuning: unknown key(s) ['lr']"),
        ({"base": {"training": {"steps": "many"}}}, "base.training.steps: expected integer"),
        ({"alignment": {"enabled": False}}, "need word alignments but alignment.enabled is false"),
        ({"corpus": {"source": "url"}}, "corpus.url.pairs: no entry for"),
        ({"base": {"source": "pretrained"}}, "base.name"),
        ({"prepare": {"split": {"test": 0.5, "dev": 0.3, "train": 0.3}}}, "prepare.split"),
        ({"corpus": {"eval_languages": ["de"]}}, "corpus.eval_languages: ['de'] are already in corpus.languages"),
    ],
)
def test_bad_config_names_the_key_and_what_is_allowed(bad, expected):
    with pytest.raises(ConfigError) as err:
        validate_config(copy.deepcopy(bad))
    assert expected in str(err.value)


def test_url_source_without_checksums_plans_but_is_listed(tmp_path):
    cfg = {
        "corpus": {
            "source": "url",
            "languages": ["de"],
            "url": {"pairs": {"de": {"format": "tsv", "url": "file:///x.tsv"}}},
        },
        "tasks": {"topic": {"enabled": False}},
    }
    validate_config(cfg)  # the DAG can be planned and inspected before the archives are fetched
    (problem,) = missing_checksums(cfg)
    assert (
        problem.startswith("corpus.url.pairs.de: a url needs its sha256")
        and "python -m alignxfer.sources.url" in problem
    )


# configs/paper.yaml validates once its bitext checksums are filled in: tests/test_paper_scale.py
@pytest.mark.parametrize("path", ["configs/smoke.yaml"])
def test_shipped_configs_validate(path):
    import os

    if not os.path.exists(path):
        pytest.skip(f"{path} not present")
    load_config(path)


def test_describe_base_names_what_the_arms_started_from():
    from alignxfer.config import describe_base

    default = load_config("config.yaml")
    assert "MLM plus translation ranking" in describe_base(default)
    assert "already aligned model" in describe_base(default)
    mlm = validate_config({"base": {"training": {"objective": "mlm"}}})
    assert describe_base(mlm) == "trained from scratch with MLM only (`base.training.objective: mlm`)."
    mbert = validate_config(
        {
            "base": {"source": "pretrained", "name": "bert-base-multilingual-cased"},
            "tokenizer": {"source": "pretrained"},
        }
    )
    assert describe_base(mbert) == "`bert-base-multilingual-cased` (pretrained)."
