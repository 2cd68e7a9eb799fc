"""alignxfer.training: the pieces pre-training and fine-tuning share."""

import subprocess
import sys

import pytest
import torch

from alignxfer.training.group import SingleProcess
from alignxfer.training.optim import linear_factor, linear_schedule, make_optimizer, warmup_steps
from alignxfer.training.precision import resolve_bf16


def test_one_process_group_owns_everything_and_reduces_nothing():
    group = SingleProcess()
    assert group.main and group.rank == 0 and group.world_size == 1
    assert all(group.owns(micro) for micro in range(5))
    params = [torch.nn.Parameter(torch.ones(2))]
    params[0].grad = torch.full((2,), 3.0)
    assert group.reduce_step(params, [0.5, 7]) == [0.5, 7]
    assert params[0].grad.tolist() == [3.0, 3.0]  # untouched
    assert group.gather({"x": 1}) is None
    assert group.rng_state_of_checkpoint({"rng": "state"}) == "state"


def test_linear_schedule_warms_up_then_decays_and_never_runs_at_zero():
    factor = linear_factor(10, warmup_steps(10, 0.2))
    assert [factor(s) for s in range(10)] == pytest.approx([0.5, 1.0, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125])
    assert linear_factor(4, 0)(0) == 1.0  # no warmup: the first step at the peak
    model = torch.nn.Linear(3, 2)
    optimizer = make_optimizer(model, 1.0, 0.1)
    assert [g["weight_decay"] for g in optimizer.param_groups] == [0.1, 0.0]  # weight decayed, bias not
    assert [len(g["params"]) for g in optimizer.param_groups] == [1, 1]
    scheduler = linear_schedule(optimizer, 10, 2)
    lrs = []
    for _ in range(3):
        lrs.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    assert lrs == pytest.approx([0.5, 1.0, 1.0])


def test_one_bf16_probe_for_every_stage():
    from alignxfer.devices import native_bf16

    cpu = torch.device("cpu")
    assert resolve_bf16("auto", cpu) == native_bf16(cpu) == resolve_bf16(None, cpu) == resolve_bf16("AUTO", cpu)
    assert resolve_bf16(True, cpu) is True and resolve_bf16(False, cpu) is False
    with pytest.raises(ValueError, match="bf16 must be true, false or 'auto'"):
        resolve_bf16("sometimes", cpu)
    from alignxfer import modeling
    from alignxfer.tasks import base

    assert modeling.resolve_bf16 is base.resolve_bf16 is resolve_bf16


def test_no_import_circle_between_pretraining_and_parallel():
    code = (
        "import sys; import alignxfer.parallel; a = 'alignxfer.pretraining' in sys.modules; "
        "import alignxfer.training.loop; b = 'alignxfer.pretraining' in sys.modules; print(a, b)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
