"""The training loop and the public entry points: outputs, determinism, resume, bad input."""

from __future__ import annotations

import json

import pytest
import torch

from alignxfer.objectives import OBJECTIVES
from alignxfer.pretraining import continue_pretraining, load_base, pretrain_base
from tests.helpers_models import (
    PAIRS,
    TINY_ARCH,
    TINY_BUDGET,
    make_base_model,
    make_pair_data,
    make_tokenizer,
    model_state,
)

torch.set_num_threads(1)

BUDGET = TINY_BUDGET


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    root = tmp_path_factory.mktemp("pre")
    tok = make_tokenizer(root / "tok")
    data, align = make_pair_data(root, tok)
    # a second language pair: the same sentences reversed word order, so links are crossing
    rev = [
        (
            en,
            " ".join(reversed(xx.split())),
            " ".join(f"{i}-{len(xx.split()) - 1 - j}" for i, j in (map(int, link.split("-")) for link in a.split())),
        )
        for en, xx, a in PAIRS
    ]
    data2, align2 = make_pair_data(root, tok, rev, name="en-xx")
    base = make_base_model(root / "base", tok, seed=0, dropout=0.1)
    return {
        "root": root,
        "tok": tok,
        "tokenized": {"de": data, "xx": data2},
        "align": {"de": align, "xx": align2},
        "base": base,
    }


def _same(a, b) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _run(fx, tmp, objective="weam", seed=1, budget=None, **kw):
    return continue_pretraining(
        objective,
        fx["base"],
        fx["tokenized"],
        fx["align"] if OBJECTIVES[objective].needs_alignment else None,
        tmp / "model",
        tmp / "history.jsonl",
        budget=budget or BUDGET,
        options=kw.pop("options", {}),
        seed=seed,
        bf16=kw.pop("bf16", False),
        log_every=kw.pop("log_every", 2),
        **kw,
    )


def test_pretrain_base_outputs(fx, tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer, BertForMaskedLM

    training = {
        "steps": 8,
        "batch_size": 4,
        "max_length": 16,
        "learning_rate": 2e-3,
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
        "mask_prob": 0.15,
    }
    seen = []
    summary = pretrain_base(
        list(fx["tokenized"].values()),
        fx["tok"],
        tmp_path / "model",
        tmp_path / "history.jsonl",
        TINY_ARCH,
        training,
        seed=3,
        bf16=True,
        checkpoint_dir=tmp_path / "ck",
        checkpoint_every=4,
        threads=1,
        callback=lambda step, m: seen.append(step),
        log_every=3,
    )
    model = AutoModelForMaskedLM.from_pretrained(str(tmp_path / "model"))
    assert isinstance(model, BertForMaskedLM)
    assert model.config.hidden_size == 32 and model.config.num_hidden_layers == 2
    assert (tmp_path / "model" / "model.safetensors").exists()
    assert len(AutoTokenizer.from_pretrained(str(tmp_path / "model"))) == model.config.vocab_size
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [3, 6, 8] == seen
    for h in history:
        assert set(h) == {"step", "loss", "lr", "tokens_per_s", "elapsed_s"}
        assert h["tokens_per_s"] > 0 and h["loss"] > 0
    assert summary["steps"] == 8 and summary["bf16"] is True
    # both sides of both pairs as sentences; the English sides are shared between the pairs
    assert summary["sentences"] == 3 * len(PAIRS)
    assert not list((tmp_path / "ck").iterdir())  # checkpoints removed after success


def test_pretrain_base_contrastive(fx, tmp_path):
    """objective contrastive: pairs (batch_size / 2 per step), MLM + ranking logged, same seed ->
    same weights, and the ranking loss falls on the training pairs."""
    training = {
        "objective": "contrastive",
        "steps": 12,
        "batch_size": 8,
        "max_length": 16,
        "learning_rate": 2e-3,
        "warmup_ratio": 0.1,
        "weight_decay": 0.01,
        "mask_prob": 0.15,
        "contrastive": {"margin": 0.3},
    }

    def run(name, seed=3):
        return pretrain_base(
            list(fx["tokenized"].values()),
            fx["tok"],
            tmp_path / name,
            tmp_path / f"{name}.jsonl",
            TINY_ARCH,
            training,
            seed=seed,
            bf16=False,
            threads=1,
            log_every=4,
        )

    summary = run("a")
    assert summary["pairs"] == 2 * len(PAIRS) and "sentences" not in summary
    history = [json.loads(line) for line in (tmp_path / "a.jsonl").read_text().splitlines()]
    assert [h["step"] for h in history] == [4, 8, 12]
    assert all({"loss_rank", "loss_mlm"} <= set(h) for h in history)
    assert history[-1]["loss_rank"] < history[0]["loss_rank"]
    run("b")
    run("c", seed=4)
    a, b, c = (model_state(tmp_path / x) for x in "abc")
    assert _same(a, b) and not _same(a, c)
    with pytest.raises(ValueError, match="batch_size must be even"):
        pretrain_base(
            list(fx["tokenized"].values()),
            fx["tok"],
            tmp_path / "d",
            tmp_path / "d.jsonl",
            TINY_ARCH,
            {**training, "batch_size": 7},
            seed=3,
            threads=1,
        )
    with pytest.raises(ValueError, match="objective must be 'mlm' or 'contrastive'"):
        pretrain_base(
            list(fx["tokenized"].values()),
            fx["tok"],
            tmp_path / "e",
            tmp_path / "e.jsonl",
            TINY_ARCH,
            {**training, "objective": "tlm"},
            seed=3,
            threads=1,
        )


@pytest.mark.parametrize("objective", sorted(OBJECTIVES))
def test_every_arm_writes_model_and_history(fx, tmp_path, objective):
    from transformers import AutoModelForMaskedLM

    summary = _run(fx, tmp_path, objective, budget={**BUDGET, "steps": 4, "gradient_accumulation": 2})
    AutoModelForMaskedLM.from_pretrained(str(tmp_path / "model"))
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    expected = {"step", "loss", "lr", "tokens_per_s", "elapsed_s"} | {
        f"loss_{c}" for c in OBJECTIVES[objective].load().components
    }
    assert [h["step"] for h in history] == [2, 4]
    assert all(set(h) == expected for h in history)
    assert all(torch.isfinite(torch.tensor(h["loss"])) for h in history)
    assert summary["pairs"] == 2 * len(PAIRS)
    assert history[0]["lr"] == pytest.approx(1e-3)  # warmup 0.2 * 4 = 1 step, then decay


def test_same_seed_same_weights(fx, tmp_path):
    _run(fx, tmp_path / "a", seed=5)
    _run(fx, tmp_path / "b", seed=5)
    _run(fx, tmp_path / "c", seed=6)
    a, b, c = (model_state(tmp_path / x / "model") for x in "abc")
    assert _same(a, b)
    assert not _same(a, c)


@pytest.mark.parametrize("objective,accumulation", [("weam", 1), ("contrastive", 2)])
def test_resume_equals_uninterrupted(fx, tmp_path, objective, accumulation):
    budget = {**BUDGET, "gradient_accumulation": accumulation}
    straight = tmp_path / "straight"
    _run(fx, straight, objective, budget=budget, log_every=1)

    class Interrupted(Exception):
        pass

    def crash(step, metrics):
        if step == 3:  # the checkpoint of step 3 is written before the callback runs
            raise Interrupted

    resumed = tmp_path / "resumed"
    ck = tmp_path / "ck"
    with pytest.raises(Interrupted):
        _run(fx, resumed, objective, budget=budget, log_every=1, checkpoint_dir=ck, checkpoint_every=3, callback=crash)
    assert not (resumed / "model").exists()
    assert [p.name for p in ck.iterdir()] == ["step-00000003"]
    steps = []
    summary = _run(
        fx,
        resumed,
        objective,
        budget=budget,
        log_every=1,
        checkpoint_dir=ck,
        checkpoint_every=3,
        callback=lambda s, m: steps.append(s),
    )
    assert summary["resumed_from_step"] == 3
    assert steps == [4, 5, 6]
    assert _same(model_state(straight / "model"), model_state(resumed / "model"))
    h1 = [json.loads(x) for x in (straight / "history.jsonl").read_text().splitlines()]
    h2 = [json.loads(x) for x in (resumed / "history.jsonl").read_text().splitlines()]
    assert [h["step"] for h in h2] == [1, 2, 3, 4, 5, 6]
    assert [h["loss"] for h in h1] == [h["loss"] for h in h2]


def test_checkpoint_from_other_settings_is_ignored(fx, tmp_path, capsys):
    ck = tmp_path / "ck"

    def crash(step, metrics):
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        _run(fx, tmp_path / "a", "mlm", checkpoint_dir=ck, checkpoint_every=2, callback=crash)
    summary = _run(
        fx, tmp_path / "a", "mlm", checkpoint_dir=ck, checkpoint_every=2, budget={**BUDGET, "learning_rate": 5e-4}
    )
    assert summary["resumed_from_step"] == 0
    assert "other settings" in capsys.readouterr().err


def test_load_base_copies_a_local_model(fx, tmp_path):
    summary = load_base(fx["base"], tmp_path / "copy")
    assert summary["num_hidden_layers"] == 2 and summary["model_type"] == "bert"
    assert _same(model_state(fx["base"]), model_state(tmp_path / "copy"))


def test_bad_alignment_fails_with_file_line_index(fx, tmp_path):
    lines = fx["align"]["de"].read_text().splitlines()
    lines[1] = "0-0 1-7"
    bad = tmp_path / "bad.txt"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match=r"bad\.txt:2: target word index 7"):
        continue_pretraining(
            "weam",
            fx["base"],
            {"de": fx["tokenized"]["de"]},
            {"de": bad},
            tmp_path / "m",
            tmp_path / "h.jsonl",
            BUDGET,
            {},
            seed=1,
        )
    with pytest.raises(ValueError, match="needs word alignments"):
        continue_pretraining(
            "word_aligned",
            fx["base"],
            {"de": fx["tokenized"]["de"]},
            None,
            tmp_path / "m",
            tmp_path / "h.jsonl",
            BUDGET,
            {},
            seed=1,
        )
    with pytest.raises(ValueError, match="unknown objective"):
        continue_pretraining("nope", fx["base"], {}, None, tmp_path / "m", tmp_path / "h.jsonl", BUDGET, {}, seed=1)


def test_tlm_too_long_for_positions(fx, tmp_path):
    with pytest.raises(ValueError, match="positions"):
        _run(fx, tmp_path, "tlm", budget={**BUDGET, "max_length": 40}, options={"reset_positions": False})
