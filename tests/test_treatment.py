"""Held-out treatment checks: the arms' own pool and data order, the check file, the table."""

from __future__ import annotations

import json

import pytest
import torch

from alignxfer import data as D
from alignxfer.pretraining import arm_data_seed, continue_pretraining
from alignxfer.treatment import not_learned, read_checks, write_treatment_table
from tests.helpers_models import TINY_BUDGET, make_base_model, make_pair_data, make_tokenizer

torch.set_num_threads(1)
HELDOUT = {"fraction": 0.3, "arm_fraction": 0.4, "max_pairs": 64}


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    root = tmp_path_factory.mktemp("treat")
    tok = make_tokenizer(root / "tok")
    data, align = make_pair_data(root, tok)
    return {"tok": tok, "data": data, "align": align, "base": make_base_model(root / "base", tok, seed=0, dropout=0.1)}


def test_parts_are_disjoint_and_keyed_by_the_english_side():
    split = {"fraction": 0.2, "arm_fraction": 0.3}
    parts = [D.pretrain_part([i, i + 1, 7], 13, split) for i in range(3000)]
    share = {p: parts.count(p) / len(parts) for p in D.PARTS}
    assert abs(share["heldout"] - 0.2) < 0.03 and abs(share["arm"] - 0.3) < 0.03
    assert parts == [D.pretrain_part([i, i + 1, 7], 13, split) for i in range(3000)]
    assert D.pretrain_part([1, 2], 13, None) == "base"
    with pytest.raises(ValueError, match="sum to less than 1"):
        D.pretrain_part([1], 13, {"fraction": 0.6, "arm_fraction": 0.5})
    assert arm_data_seed(13) != 13 and arm_data_seed(13) != arm_data_seed(14)


def test_arm_trains_on_its_pool_and_writes_the_check(fx, tmp_path):
    all_pairs = D.load_pairs(fx["data"], max_length=16)
    parts = [D.pretrain_part(e.src, 13, HELDOUT) for e in all_pairs]
    assert "heldout" in parts and "arm" in parts  # the fixture exercises both
    summary = continue_pretraining(
        "tlm",
        fx["base"],
        {"de": fx["data"]},
        None,
        tmp_path / "model",
        tmp_path / "history.jsonl",
        budget=TINY_BUDGET,
        options={},
        seed=13,
        bf16=False,
        log_every=2,
        heldout=HELDOUT,
        heldout_path=tmp_path / "heldout.json",
        split_seed=13,
        check_alignments={"symmetrized": {"de": fx["align"]}, "intersection": {"de": fx["align"]}},
    )
    assert summary["pairs"] == parts.count("arm") and summary["pretrain_seed"] == 13
    check = json.loads((tmp_path / "heldout.json").read_text())
    assert check["pairs"] == parts.count("heldout") and check["pretrain_seed"] == 13
    for state in ("before", "after"):
        values = check[state]
        for key in (
            "mlm_loss",
            "unigram_entropy",
            "unigram_cross_entropy",
            "tlm_loss_visible",
            "tlm_loss_hidden",
            "ranking_accuracy",
            "weam_cp_loss",
            "aligned_word_distance_ratio",
        ):
            assert isinstance(values[key], float), (state, key)
        assert values["tlm_translation_gain"] == pytest.approx(values["tlm_loss_hidden"] - values["tlm_loss_visible"])
        assert 0.0 <= values["ranking_accuracy"] <= 1.0
    assert check["before"] != check["after"]  # the arm moved
    assert check["mechanism"]["metric"] == "tlm_translation_gain" and check["mechanism"]["learned"] in (True, False)


def test_treatment_table_and_not_learned(tmp_path):
    base = {
        "objective": "base",
        "pretrain_seed": 13,
        "pairs": 40,
        "after": {"mlm_loss": 5.0, "unigram_entropy": 5.5, "unigram_cross_entropy": 6.0},
        "mechanism": {
            "metric": "mlm_loss",
            "after": 5.0,
            "reference": "unigram_cross_entropy",
            "reference_value": 6.0,
            "learned": True,
        },
    }
    tlm = {
        "objective": "tlm",
        "pretrain_seed": 13,
        "pairs": 40,
        "before": {"tlm_translation_gain": 0.1},
        "after": {"mlm_loss": 5.0, "tlm_translation_gain": 0.1},
        "mechanism": {
            "metric": "tlm_translation_gain",
            "before": 0.1,
            "after": 0.1,
            "improvement": 0.0,
            "learned": False,
        },
    }
    paths = []
    for c in (tlm, base):
        paths.append(tmp_path / f"{c['objective']}.json")
        paths[-1].write_text(json.dumps(c))
    checks = write_treatment_table(paths, tmp_path / "treatment.md")
    assert [c["objective"] for c in checks] == ["base", "tlm"]
    table = (tmp_path / "treatment.md").read_text()
    assert "| tlm | 13 | 40 |" in table and "**no**" in table
    assert not_learned(paths) == [
        {"objective": "tlm", "pretrain_seed": 13, "metric": "tlm_translation_gain", "before": 0.1, "after": 0.1}
    ]
    assert not_learned(read_checks(paths)) == not_learned(paths)
