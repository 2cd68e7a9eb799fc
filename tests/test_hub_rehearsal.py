"""A rehearsal of the real hub, offline: configs/paper.yaml's DAG end to end on a hub cache laid out
like the real repositories (tests/helpers_hub.py), with HF_HUB_OFFLINE=1.

Only sizes shrink (overlay below): one language (de), three arms (base, the mlm control, weam),
one seed, a few steps, short sequences, a tiny model under mBERT's id. Everything else is
configs/paper.yaml as shipped: the hub ids and revisions (main; MLQA's refs/convert/parquet with
data_dir), the pretrained tokenizer and base, gpus_per_job 1 (run with ALIGNXFER_ALLOW_CPU=1, as
this machine has no GPU), both tasks in both settings, retrieval and gather. The bitext is the one
part not on the hub: a file:// archive in OPUS's Moses layout stands in for TED2020's de-en.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.helpers_hub import mbert_stand_in, mlqa_repos, squad_repo, xnli_repo
from tests.helpers_tasks import TASK_WORDS, XNLI_DE, XNLI_EN, opus_zip, squad_rows

REPO = Path(__file__).resolve().parent.parent
PAPER = REPO / "configs" / "paper.yaml"


def bitext() -> tuple[list[str], list[str]]:
    """132 distinct parallel lines from the task sentences (so the tiny vocabulary covers them)."""
    en = [r[0] for r in XNLI_EN] + [r[1] for r in XNLI_EN]
    de = [r[0] for r in XNLI_DE] + [r[1] for r in XNLI_DE]
    pairs = [(f"{en[i]} and {en[j]}", f"{de[i]} und {de[j]}") for i in range(len(en)) for j in range(len(en)) if i != j]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def build_hub(home: Path, work: Path) -> dict:
    """The hub cache of every repository configs/paper.yaml reads (for the overlay's languages)."""
    hub = home / "hub"
    commits = {
        "facebook/xnli": xnli_repo(hub, {"en": XNLI_EN, "de": XNLI_DE}),
        "rajpurkar/squad": squad_repo(hub, squad_rows("en")),
        "facebook/mlqa": mlqa_repos(
            hub,
            {
                "mlqa.en.en": {"validation": squad_rows("en"), "test": squad_rows("en")},
                "mlqa.de.de": {"validation": squad_rows("de"), "test": squad_rows("de")},
                "mlqa-translate-train.de": {"train": squad_rows("de"), "validation": squad_rows("de")},
            },
        ),
        "google-bert/bert-base-multilingual-cased": mbert_stand_in(
            hub, work, TASK_WORDS + ["und", "and", ",", "."], max_position_embeddings=128
        ),
    }
    return commits


def overlay(work: Path) -> Path:
    en, de = bitext()
    url, sha = opus_zip(work / "en-de.txt.zip", "de-en", "de", en, de)
    cfg = {
        "corpus": {"languages": ["de"], "url": {"pairs": {"de": {"url": url, "sha256": sha}}}},
        "pretraining": {
            "objectives": ["base", "mlm", "weam"],
            "budget": {"steps": 4, "batch_size": 4, "max_length": 24, "learning_rate": 1.0e-3},
        },
        "finetuning": {"seeds": [12], "epochs": 1, "batch_size": 4, "max_length": 48},
        "tasks": {
            "xnli": {"languages": ["de"]},
            "mlqa": {"languages": ["de"], "max_length": 64, "doc_stride": 16, "max_query_length": 16, "n_best": 5},
            "retrieval": {"layer": -1, "max_length": 24},  # the tiny model has 2 layers, not 12
        },
        "threads": 1,
        "tracking": {"enabled": False},
    }
    path = work / "rehearsal.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def rehearse(root: Path) -> tuple[subprocess.CompletedProcess, float]:
    home, work, study = root / "hf", root / "work", root / "study"
    for folder in (home, work, study):
        folder.mkdir(parents=True, exist_ok=True)
    build_hub(home, work)
    env = dict(
        os.environ,
        HF_HOME=str(home),
        HF_HUB_OFFLINE="1",
        HF_DATASETS_OFFLINE="1",
        HF_DATASETS_CACHE=str(home / "datasets"),
        ALIGNXFER_ALLOW_CPU="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        PYTHONPATH=str(REPO),
    )
    env.pop("HF_HUB_CACHE", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--cores",
        "2",
        "--resources",
        "gpu=1",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(study),
        "--configfile",
        str(PAPER),
        str(overlay(work)),
    ]
    started = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1500)
    return result, time.monotonic() - started


def jobs_per_rule(output: str) -> Counter:
    return Counter(re.findall(r"^(?:local)?rule (\w+):$", output, re.M))


@pytest.mark.slow
def test_paper_dag_runs_offline_on_the_real_hub_layout(tmp_path):
    result, seconds = rehearse(tmp_path)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    ran = jobs_per_rule(output)
    print(f"rehearsal: {sum(ran.values())} jobs in {seconds:.0f} s: {dict(sorted(ran.items()))}")
    study = tmp_path / "study"
    claims = (study / "results" / "tables" / "claims.md").read_text()
    summary = (study / "results" / "tables" / "summary.md").read_text()
    assert "google-bert/bert-base-multilingual-cased" in claims
    assert "xnli" in summary.lower() and "mlqa" in summary.lower()
    assert ran["download_pair"] == 1 and ran["load_base"] == 1 and ran["save_tokenizer"] == 1
    assert ran["prepare_task_english"] == 2 and ran["prepare_task_test"] == 2 and ran["prepare_task_translated"] == 2
    assert ran["pretrain"] == 2 and ran["finetune"] == 6 and ran["translate_train"] == 6 and ran["gather"] == 1
    # the sources resolved through the hub cache, at the revisions the paper config names
    import json

    mlqa = json.loads((study / "results" / "data" / "summary" / "mlqa" / "test.de.json").read_text())
    source = mlqa["parts"]["test"]["source"]
    assert (
        source["kind"] == "hub" and source["revision"] == "refs/convert/parquet" and source["data_dir"] == "mlqa.de.de"
    )
    assert source["files"] == ["mlqa.de.de/test/0000.parquet", "mlqa.de.de/validation/0000.parquet"]
    xnli = json.loads((study / "results" / "data" / "summary" / "xnli" / "en.json").read_text())
    assert xnli["parts"]["train"]["source"]["config"] == "en" and xnli["parts"]["train"]["source"]["kind"] == "hub"


if __name__ == "__main__":  # python -m tests.test_hub_rehearsal DIR: run it by hand and keep DIR
    out, secs = rehearse(Path(sys.argv[1]))
    print(out.stdout[-3000:], out.stderr[-6000:])
    print(
        f"rc {out.returncode} in {secs:.0f} s; jobs per rule: {dict(sorted(jobs_per_rule(out.stdout + out.stderr).items()))}"
    )
