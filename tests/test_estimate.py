"""python -m alignxfer.estimate: job counts from the planned DAG, FLOP arithmetic, the one-GPU config."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAPER = REPO / "configs" / "paper.yaml"
ONE_GPU = REPO / "configs" / "paper-1gpu.yaml"


def test_parameter_count_matches_transformers():
    import torch
    from transformers import BertConfig, BertModel

    from alignxfer.estimate import PUBLISHED, all_params, encoder_params

    m = PUBLISHED["mbert"]
    with torch.device("meta"):
        model = BertModel(
            BertConfig(
                vocab_size=m["vocab"],
                hidden_size=m["hidden"],
                num_hidden_layers=m["layers"],
                intermediate_size=m["intermediate"],
                max_position_embeddings=m["positions"],
            ),
            add_pooling_layer=False,
        )
    assert all_params(m) == sum(p.numel() for p in model.parameters())
    assert encoder_params(m) == sum(p.numel() for n, p in model.named_parameters() if not n.startswith("embeddings"))


def test_paper_estimate_counts_the_planned_dag():
    from alignxfer.config import validate_config
    from alignxfer.estimate import estimate, report
    from tests.test_paper_scale import expected_paper_jobs, merged

    result = estimate([PAPER])
    counts = {rule: row["jobs"] for rule, row in result["per_rule"].items()}
    expected = expected_paper_jobs(validate_config(merged(REPO / "config.yaml", PAPER)))
    assert counts == expected
    assert result["jobs"] == sum(expected.values()) > 800
    rules = result["per_rule"]
    # translate-train dominates (600 jobs); the audit put the whole DAG at 250-400 A100 GPU-hours
    assert rules["translate_train"]["gpu_s"] > 0.8 * sum(r["gpu_s"] for r in rules.values())
    assert 250 <= result["gpu_hours"] <= 450
    assert not rules["align"]["gpu"] and rules["pretrain"]["gpu"]
    text = report(result)
    assert "ASSUMED" in text and "PUBLISHED" in text and "translate_train" in text


def test_one_gpu_config_is_xnli_only_and_about_a_day():
    from alignxfer.estimate import estimate

    result = estimate([PAPER, ONE_GPU])
    rules = result["per_rule"]
    assert "evaluate_zero_shot_mlqa" not in rules and rules["gather"]["jobs"] == 1  # XNLI-only tables
    assert rules["prepare_task_english"]["jobs"] == 1
    assert 12 <= result["wall_hours"] <= 30  # on one GPU
    # halving the assumed utilisation roughly doubles the FLOP-bound part
    slower = estimate([PAPER, ONE_GPU], assumed={"mfu": 0.05}, jobs=result["planned"])
    assert slower["gpu_hours"] > 1.3 * result["gpu_hours"]
