"""Data-parallel pre-training (alignxfer.parallel) on CPU with gloo: two processes equal one."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from alignxfer import parallel
from alignxfer.pretraining import _setup_arm, continue_pretraining
from tests.helpers_models import TINY_BUDGET, make_base_model, make_pair_data, make_tokenizer, model_state

torch.set_num_threads(1)
# several training processes per test (5 minutes for the module on 2 shared cores): not the fast lane
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent

# gradient_accumulation 2: one micro-batch per process
BUDGET = {**TINY_BUDGET, "steps": 4, "warmup_ratio": 0.25, "gradient_accumulation": 2}


@pytest.fixture(scope="module")
def fx(tmp_path_factory):
    root = tmp_path_factory.mktemp("dist")
    tok = make_tokenizer(root / "tok")
    data, align = make_pair_data(root, tok)
    return {
        "tokenized": {"de": data},
        "align": {"de": align},
        # without dropout the only randomness is the masking, which every rank draws as one process would
        "base": make_base_model(root / "base", tok, seed=0, dropout=0.0),
        "base_dropout": make_base_model(root / "base_dropout", tok, seed=0, dropout=0.1),
    }


def _history(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def rank_paths_setup(root, *args):
    """``_setup_arm`` whose outputs go to ``root/rank<RANK>/``: shows which process writes what."""
    rank = int(os.environ.get("RANK", "0"))
    prepared = _setup_arm(*args)
    prepared["train"]["history_path"] = Path(root) / f"rank{rank}" / "history.jsonl"
    prepared["train"]["checkpoint_dir"] = Path(root) / f"rank{rank}" / "checkpoints"
    return prepared


def test_two_processes_train_like_one_and_only_rank_0_writes(fx, tmp_path):
    objective = "contrastive"  # in-batch negatives: a micro-batch is never split between processes
    one = continue_pretraining(
        objective,
        fx["base"],
        fx["tokenized"],
        None,
        tmp_path / "one" / "model",
        tmp_path / "one" / "history.jsonl",
        budget=BUDGET,
        options={},
        seed=3,
        bf16=False,
        log_every=1,
        threads=1,
        device="cpu",
    )
    seen = []
    train_kwargs = {"bf16": False, "checkpoint_dir": None, "checkpoint_every": 2, "history_path": None, "log_every": 1}
    two, prepared = parallel.run(
        rank_paths_setup,
        (tmp_path / "two", objective, fx["base"], fx["tokenized"], None, BUDGET, {}, 3, train_kwargs),
        devices=["cpu", "cpu"],
        threads=1,
        callback=lambda step, m: seen.append(step),
    )
    assert two["processes"] == 2 and two["steps"] == 4 and seen == [1, 2, 3, 4]
    # same batches, same masks, summed gradients: the same weights up to float summation order
    reference = model_state(tmp_path / "one" / "model")
    trained = {k: v.detach() for k, v in prepared["model"].state_dict().items()}
    diff = max((trained[k] - reference[k]).abs().max().item() for k in reference)
    print(f"max |w(2 processes) - w(1 process)| = {diff:.3e}")
    assert diff < 1e-5
    h1, h2 = _history(tmp_path / "one" / "history.jsonl"), _history(tmp_path / "two" / "rank0" / "history.jsonl")
    assert [h["step"] for h in h2] == [1, 2, 3, 4]
    for a, b in zip(h1, h2):
        for key in ("loss", "loss_rank", "loss_mlm", "lr"):
            assert b[key] == pytest.approx(a[key], rel=1e-5, abs=1e-6), key
    # tokens are summed over the processes, so the throughput counts both
    assert one["tokens_per_s"] > 0 and two["tokens_per_s"] > 0
    # rank 0 wrote the history and the step-2 checkpoint (with both ranks' random states); rank 1 nothing
    assert not (tmp_path / "two" / "rank1").exists()
    (checkpoint,) = (tmp_path / "two" / "rank0" / "checkpoints").iterdir()
    state = torch.load(checkpoint / "state.pt", weights_only=True)
    assert checkpoint.name == "step-00000002" and len(state["rng_ranks"]) == 2


def test_two_process_resume_equals_uninterrupted(fx, tmp_path):
    budget = {**BUDGET, "steps": 5}

    def run(out, **kw):
        return continue_pretraining(
            "weam",
            fx["base_dropout"],
            fx["tokenized"],
            fx["align"],
            out / "model",
            out / "history.jsonl",
            budget=budget,
            options={},
            seed=1,
            bf16=False,
            log_every=1,
            threads=2,
            devices=["cpu", "cpu"],
            **kw,
        )

    run(tmp_path / "straight")

    class Interrupted(Exception):
        pass

    def crash(step, metrics):
        if step == 3:
            raise Interrupted

    ck = tmp_path / "ck"
    with pytest.raises(Interrupted):
        run(tmp_path / "resumed", checkpoint_dir=ck, checkpoint_every=3, callback=crash)
    assert [p.name for p in ck.iterdir()] == ["step-00000003"] and not (tmp_path / "resumed" / "model").exists()
    steps = []
    summary = run(tmp_path / "resumed", checkpoint_dir=ck, checkpoint_every=3, callback=lambda s, m: steps.append(s))
    assert summary["resumed_from_step"] == 3 and steps == [4, 5]
    # dropout on: every rank's random state was checkpointed, so the resumed run is bit-identical
    a, b = model_state(tmp_path / "straight" / "model"), model_state(tmp_path / "resumed" / "model")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["loss"] for h in _history(tmp_path / "straight" / "history.jsonl")] == [
        h["loss"] for h in _history(tmp_path / "resumed" / "history.jsonl")
    ]
    assert not list(ck.iterdir())  # rank 0 removed the checkpoints after saving the model


def failing_setup(*args):
    if os.environ.get("RANK") == "1":
        raise RuntimeError("rank 1 cannot read its data")
    return _setup_arm(*args)


def test_a_failing_rank_fails_the_job_with_its_error(fx, tmp_path, capsys):
    train_kwargs = {"bf16": False, "checkpoint_dir": None, "checkpoint_every": 0, "history_path": None, "log_every": 1}
    with pytest.raises(RuntimeError, match="rank 1 ended with exit code 1"):
        parallel.run(
            failing_setup,
            ("mlm", fx["base"], fx["tokenized"], None, BUDGET, {}, 3, train_kwargs),
            devices=["cpu", "cpu"],
            threads=1,
        )
    assert "rank 1 cannot read its data" in capsys.readouterr().out


# ----------------------------------------------------------------------------- config and rules


def test_config_accepts_several_gpus_per_job_with_a_matching_accumulation():
    from alignxfer.config import ConfigError, validate_config

    cfg = validate_config(
        {
            "gpus_per_job": 2,
            "pretraining": {"budget": {"gradient_accumulation": 2}},
            "base": {"training": {"gradient_accumulation": 4}},
        }
    )
    assert cfg["gpus_per_job"] == 2
    with pytest.raises(ConfigError) as err:
        validate_config({"gpus_per_job": 2})
    assert "pretraining.budget.gradient_accumulation: 1 is not a multiple of gpus_per_job (2)" in str(err.value)
    assert "base.training.gradient_accumulation: 1 is not a multiple of gpus_per_job (2)" in str(err.value)
    with pytest.raises(ConfigError, match="gpus_per_job"):
        validate_config({"gpus_per_job": -1})


def test_pretraining_rules_request_gpus_per_job(tmp_path):
    from tests.workflow_helpers import smoke_config, snakemake

    config = smoke_config(
        tmp_path,
        gpus_per_job=2,
        pretraining={
            "budget": {
                "steps": 8,
                "batch_size": 4,
                "max_length": 24,
                "learning_rate": 1.0e-3,
                "gradient_accumulation": 2,
            }
        },
        base={
            "architecture": {
                "hidden_size": 32,
                "num_hidden_layers": 2,
                "num_attention_heads": 2,
                "intermediate_size": 64,
                "max_position_embeddings": 64,
            },
            "training": {
                "steps": 30,
                "batch_size": 8,
                "max_length": 24,
                "learning_rate": 1.0e-3,
                "gradient_accumulation": 2,
            },
        },
    )
    result = snakemake(
        tmp_path,
        config,
        "-n",
        "--cores",
        "1",
        "pretrain_base",
        "results/models/mlm/p13/model",
        "--resources",
        "gpu=2",
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = re.findall(r"^rule (\w+):\n(.*?)^\s+resources: ([^\n]*)", result.stdout + result.stderr, re.M | re.S)
    resources = {rule: res for rule, _, res in jobs if rule.startswith("pretrain")}
    assert set(resources) == {"pretrain_base", "pretrain"}
    assert all("gpu=2" in res.split(", ") for res in resources.values()), resources
    assert "mem_mb=64000" in resources["pretrain"].split(", ")  # 32 GB per GPU of the job


# ----------------------------------------------------------------------------- GPU slots


def test_several_gpu_slots_are_claimed_together(tmp_path):
    from alignxfer.devices import claim_slots

    with claim_slots(tmp_path, 4, 2) as first, claim_slots(tmp_path, 4, 2) as second:
        assert first == [0, 1] and second == [2, 3]
    # slots 1 and 3 taken: a job asking for two gets the two free ones
    with claim_slots(tmp_path, 4, 1) as a, claim_slots(tmp_path, 4, 1) as b:
        assert (a, b) == ([0], [1])
        with claim_slots(tmp_path, 4, 2) as pair:
            assert pair == [2, 3]


def test_several_gpu_slots_wait_without_deadlock(tmp_path):
    """A job asking for 2 of 2 slots while another holds one waits, holding nothing, until it is free."""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; sys.path.insert(0, sys.argv[2]);"
            "from alignxfer.devices import claim_slots\n"
            "with claim_slots(sys.argv[1], 2, 1) as s:\n print(s, flush=True); time.sleep(2)\n"
            "print('released', flush=True); time.sleep(1)",
            str(tmp_path),
            str(REPO),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "[0]"
    from alignxfer.devices import claim_slots

    started = time.monotonic()
    with claim_slots(tmp_path, 2, 2, poll_s=0.2) as both:
        waited = time.monotonic() - started
        assert both == [0, 1] and waited > 1.0
        assert holder.stdout.readline().strip() == "released"
    holder.wait()


def test_job_devices(tmp_path):
    from types import SimpleNamespace

    from workflow_scripts.snakemake_job import job, parallel_devices

    assert parallel_devices([]) is None and parallel_devices([3]) is None
    assert parallel_devices([1, 2]) == ["cuda:1", "cuda:2"]
    if torch.cuda.is_available():
        pytest.skip("checks the machine without GPU")
    smk = SimpleNamespace(
        rule="pretrain",
        wildcards={"objective": "mlm"},
        params={},
        config={"tracking": {"enabled": False}},
        log=[str(tmp_path / "job.log")],
        threads=1,
        resources=SimpleNamespace(gpu=2),
        input=[],
        output=[],
    )
    from alignxfer.devices import NoCudaError

    with pytest.raises(NoCudaError, match="asks for 2 GPU"):  # gpu=2 without a GPU: fails at once
        with job(smk, project_dir=tmp_path):
            pass
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ALIGNXFER_ALLOW_CPU", "1")  # on purpose: one process on the CPU
        with job(smk, project_dir=tmp_path) as ctx:
            assert ctx.gpus == [] and ctx.devices is None
    assert not (tmp_path / "resources").exists()  # nothing to claim
