"""Hub sources through a hub cache laid out like the real repositories (offline), revision pinning,
and GPU requests on a machine without CUDA; bf16 "auto" = native only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from alignxfer.config import ConfigError, hub_sources, load_config, unpinned_revisions, validate_config

REPO = Path(__file__).resolve().parent.parent
PAPER = REPO / "configs" / "paper.yaml"


def offline_env(home: Path) -> dict:
    env = dict(
        os.environ,
        HF_HOME=str(home),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_CACHE=str(home / "datasets"),
        PYTHONPATH=str(REPO),
        HF_HUB_DISABLE_PROGRESS_BARS="1",
    )
    env.pop("HF_HUB_CACHE", None)
    return env


def test_real_layouts_load_offline_through_the_hub_cache(tmp_path):
    """XNLI's per-config parquet folders, SQuAD's plain_text, MLQA's parquet export (data_dir), and
    the errors a user meets: MLQA's loading script, an undeclared config, a repository not cached."""
    script = textwrap.dedent(
        """
        import json, sys
        from pathlib import Path
        from tests.helpers_hub import mlqa_repos, squad_repo, xnli_repo
        from tests.helpers_tasks import XNLI_DE, XNLI_EN, squad_rows
        hub = Path(sys.argv[1]) / "hub"
        xnli_repo(hub, {"en": XNLI_EN, "de": XNLI_DE})
        squad_repo(hub, squad_rows("en"))
        export = mlqa_repos(hub, {"mlqa.de.de": {"test": squad_rows("de"), "validation": squad_rows("de")}})
        from alignxfer.tasks.hub import load_rows
        out = {"export": export}
        for key, spec, lang in [
            ("xnli", {"dataset": "facebook/xnli", "config": "{lang}", "split": "test"}, "de"),
            ("squad", {"dataset": "rajpurkar/squad", "config": "plain_text", "split": "train"}, "en"),
            ("mlqa", {"dataset": "facebook/mlqa", "data_dir": "mlqa.{lang}.{lang}", "split": "test", "revision": "refs/convert/parquet"}, "de"),
            ("mlqa_pinned", {"dataset": "facebook/mlqa", "data_dir": "mlqa.{lang}.{lang}", "split": "test", "revision": export}, "de"),
        ]:
            rows, prov = load_rows(spec, lang)
            out[key] = {"prov": prov, "first": dict(rows[0]), "n": len(rows)}
        for key, spec in [
            ("script", {"dataset": "facebook/mlqa", "config": "mlqa.de.de", "split": "test"}),
            ("no_config", {"dataset": "facebook/xnli", "config": "fr", "split": "test"}),
            ("merged", {"dataset": "facebook/xnli", "split": "test"}),
            ("not_cached", {"dataset": "facebook/xnli", "config": "de", "split": "test", "revision": "0" * 40}),
        ]:
            try:
                load_rows(spec, "de")
                out[key] = None
            except Exception as err:
                out[key] = f"{type(err).__name__}: {err}"
        print("RESULT " + json.dumps(out, default=str))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "home")],
        capture_output=True,
        text=True,
        env=offline_env(tmp_path / "home"),
        cwd=REPO,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = json.loads(result.stdout.split("RESULT ", 1)[1])
    xnli = out["xnli"]
    assert xnli["n"] == 6 and xnli["first"]["premise"] == "die Katze sitzt auf der Matte"
    assert xnli["prov"]["kind"] == "hub" and len(xnli["prov"]["commit"]) == 40
    # only the chosen config's files (and the card) belong to the source
    assert xnli["prov"]["files"] == [
        "README.md",
        "de/test-00000-of-00001.parquet",
        "de/train-00000-of-00001.parquet",
        "de/validation-00000-of-00001.parquet",
    ]
    assert out["squad"]["n"] == 4 and out["squad"]["first"]["answers"]["text"] == ["on the mat"]
    mlqa = out["mlqa"]
    assert mlqa["n"] == 3 and mlqa["prov"]["commit"] == out["export"] == out["mlqa_pinned"]["prov"]["commit"]
    assert mlqa["prov"]["files"] == ["mlqa.de.de/test/0000.parquet", "mlqa.de.de/validation/0000.parquet"]
    assert "is a loading script (mlqa.py)" in out["script"] and "revision: refs/convert/parquet" in out["script"]
    assert "has no config 'fr'; its card declares ['de', 'en']" in out["no_config"]
    assert "declares configs ['de', 'en']; set 'config'" in out["merged"]
    assert "HF_HUB_OFFLINE is set: the files must already be in the hub cache" in out["not_cached"]


def test_config_and_data_dir_together_are_refused():
    with pytest.raises(ConfigError, match="give either config .* or data_dir"):
        validate_config(
            {
                "tasks": {
                    "mlqa": {
                        "enabled": True,
                        "max_length": 384,
                        "test": {
                            "dataset": "facebook/mlqa",
                            "config": "mlqa.de.de",
                            "data_dir": "mlqa.de.de",
                            "split": "test",
                        },
                    }
                }
            }
        )


def test_paper_sources_and_pinning():
    cfg = load_config(PAPER)
    sources = hub_sources(cfg)
    assert ("base", "model", "google-bert/bert-base-multilingual-cased", "main") in sources
    assert ("tasks.mlqa.test", "dataset", "facebook/mlqa", "refs/convert/parquet") in sources
    assert (
        cfg["tasks"]["mlqa"]["test"]["data_dir"] == "mlqa.{lang}.{lang}"
        and cfg["tasks"]["mlqa"]["test"]["config"] is None
    )
    problems = unpinned_revisions(cfg)
    assert (
        len(problems) == 11
        and "tasks.mlqa.test.revision: dataset 'facebook/mlqa' at 'refs/convert/parquet'" in problems
    )
    from alignxfer.pin import revision_overlay

    calls = []
    overlay = revision_overlay(
        cfg, resolve=lambda kind, repo, rev: calls.append((kind, repo, rev)) or "a" * 40, log=lambda m: None
    )
    assert overlay["base"] == {"revision": "a" * 40}
    assert overlay["tasks"]["mlqa"]["translate_dev"] == {"revision": "a" * 40}
    assert ("dataset", "facebook/mlqa", "refs/convert/parquet") in calls
    pinned = validate_config({**load_config(PAPER)} | {})
    from alignxfer.config import merge_config

    merge_config(pinned, overlay)
    assert unpinned_revisions(validate_config(pinned)) == []


# ----------------------------------------------------------------------------- GPUs


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
def test_gpu_job_without_cuda_fails_at_once_and_says_how_to_fix(tmp_path, monkeypatch):
    from alignxfer.devices import NoCudaError, claim_gpus

    monkeypatch.delenv("ALIGNXFER_ALLOW_CPU", raising=False)
    with pytest.raises(NoCudaError) as err:
        with claim_gpus(tmp_path, 1):
            pass
    message = str(err.value)
    print(message)
    assert "asks for 1 GPU(s)" in message and "torch sees no CUDA device" in message
    if torch.version.cuda is None:
        assert "CPU-only build" in message and "https://download.pytorch.org/whl/cu126" in message
    assert "gpus_per_job: 0, or ALIGNXFER_ALLOW_CPU=1" in message


def test_a_cuda_build_with_an_old_driver_is_named(monkeypatch):
    from alignxfer.devices import no_cuda_message

    monkeypatch.setattr(torch.version, "cuda", "13.0")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    message = no_cuda_message(2)
    assert "built for CUDA 13.0" in message and "a driver older than CUDA 13.0 needs" in message
    assert "CUDA_VISIBLE_DEVICES=''" in message


@pytest.mark.parametrize(
    "capability, reported, expected",
    [((7, 0), True, False), ((7, 5), True, False), ((8, 0), True, True), ((9, 0), True, True)],
)
def test_bf16_auto_is_native_only(monkeypatch, capability, reported, expected):
    """V100 (7.0) and T4 (7.5) report bf16 'supported' by emulation; auto must not use it."""
    from alignxfer import modeling
    from alignxfer.tasks import base

    seen = {}

    def is_bf16_supported(including_emulation=True):
        seen["including_emulation"] = including_emulation
        return reported if including_emulation else capability[0] >= 8

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: capability)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    cuda = torch.device("cuda")
    assert modeling.resolve_bf16("auto", cuda) is expected
    assert base.resolve_bf16("auto", cuda) is expected
    assert modeling.resolve_bf16(True, cuda) is True  # forcing it stays possible
    if capability[0] >= 8:
        assert seen["including_emulation"] is False


def test_temporary_models_go_to_node_local_tmpdir_under_slurm(tmp_path, monkeypatch):
    from alignxfer.devices import model_tmpdir

    shared, local = tmp_path / "results", tmp_path / "node-local"
    shared.mkdir()
    local.mkdir()
    monkeypatch.delenv("ALIGNXFER_MODEL_TMPDIR", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    monkeypatch.setenv("TMPDIR", str(local))
    assert model_tmpdir(shared) == shared  # not under SLURM: beside the outputs
    monkeypatch.setenv("SLURM_JOB_ID", "123")
    assert model_tmpdir(shared) == local  # the job's $TMPDIR
    monkeypatch.setenv("ALIGNXFER_MODEL_TMPDIR", str(tmp_path / "missing"))
    assert model_tmpdir(shared) == shared  # a folder that does not exist is not used (said in the log)
