"""The whole DAG on the smoke config: outputs, MLflow runs, partial reruns, lint."""

import json
import sqlite3

import pytest

from tests.workflow_helpers import REPO, planned_jobs, smoke_config, snakemake

pytestmark = pytest.mark.slow

UPSTREAM = {"download_english", "download_pair", "prepare_english", "prepare_pair", "segment_pair",
            "train_tokenizer", "tokenize_pair", "align", "symmetrize", "pretrain_base", "pretrain"}


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smoke")
    config = smoke_config(workdir)
    result = snakemake(workdir, config, "--cores", "2")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-8000:]
    return workdir, config


def test_whole_dag_produces_tables_claims_plots(study):
    workdir, _ = study
    summary = (workdir / "results/tables/summary.md").read_text()
    for arm in ("base", "mlm", "tlm", "weam", "word_aligned", "contrastive"):
        assert arm in summary
    claims = (workdir / "results/tables/claims.md").read_text()
    assert "supported" in claims
    assert list((workdir / "results/plots").glob("*.png"))
    metrics = list((workdir / "results/metrics").rglob("*.json"))
    # zero-shot: 6 arms x 2 seeds x (en, de, ja); translate-train: 6 x 2 x 2; retrieval 6 x 2;
    # zero_shot_delex: 6 x 2 x 2; probe: 6 x (en, de, ja), seed0; retrieval string-match baseline: 2
    assert len(metrics) == 36 + 24 + 12 + 24 + 18 + 2
    for path in metrics:  # every readout of issue #12 has its per-example predictions beside it
        if "/zero_shot_delex/" in str(path) or "/probe/" in str(path) or "/retrieval/" in str(path):
            assert path.with_name(path.name[: -len(".json")] + ".predictions.jsonl").exists(), path
    delex = json.loads((workdir / "results/metrics/topic/zero_shot_delex/weam/ja/seed1.json").read_text())
    assert delex["setting"] == "zero_shot_delex" and delex["train_docs"] == one["train_docs"]
    ret = json.loads((workdir / "results/metrics/retrieval/base/de.json").read_text())
    pools = {json.loads(p.read_text())["pool_size"] for p in (workdir / "results/metrics/retrieval").rglob("*.json")}
    assert pools == {ret["pool_size"]} and len(ret["layers"]) == 3
    assert "arm − base" in (workdir / "results/tables/retrieval_mcnemar.md").read_text()
    one = json.loads((workdir / "results/metrics/topic/zero_shot/weam/ja/seed1.json").read_text())
    assert one["setting"] == "zero_shot" and one["train_lang"] == "en" and 0 <= one["metrics"]["accuracy"] <= 1


def test_alignments_match_the_corpus(study):
    workdir, _ = study
    for lang in ("de", "ja"):
        corpus = (workdir / f"results/align/en-{lang}/corpus.txt").read_text().splitlines()
        links = (workdir / f"results/align/en-{lang}/symmetrized.txt").read_text().splitlines()
        assert len(corpus) == len(links) > 50
        assert sum(bool(line) for line in links) > 0.9 * len(links)


def test_every_job_is_an_mlflow_run_with_tags(study):
    workdir, _ = study
    db = sqlite3.connect(workdir / "mlflow.db")
    rows = db.execute("select run_uuid, name, status from runs").fetchall()
    names = [name for _, name, _ in rows]
    assert all(status == "FINISHED" for *_, status in rows)
    assert any(n.startswith("pretrain[objective=weam]") for n in names)
    # translate-train: one job per arm x language (12), one nested run per seed inside it (24)
    parents = {run: name for run, name, _ in rows if name.startswith("translate_train[") and "seed=" not in name}
    assert len(parents) == 12
    children = db.execute(
        "select r.name, t.value from runs r join tags t on t.run_uuid = r.run_uuid "
        "where r.name like 'translate_train[%seed=%' and t.key = 'mlflow.parentRunId'"
    ).fetchall()
    assert len(children) == 24 and {parent for _, parent in children} == set(parents)
    tags = dict(db.execute(
        "select key, value from tags where run_uuid = (select run_uuid from runs where name like 'evaluate_zero_shot[%objective=tlm%seed=2%')"
    ).fetchall())
    assert tags["arm"] == "tlm" and tags["seed"] == "2" and tags["setting"] == "zero_shot"
    assert tags["pretrain_run_id"] not in ("", "unknown")
    assert tags["finetune_run_id"] not in ("", "unknown")
    assert {"git_commit", "config_hash", "rule"} <= set(tags)


def test_nothing_to_do_after_a_complete_run(study):
    workdir, config = study
    assert planned_jobs(snakemake(workdir, config, "-n", "--cores", "2")) == {}


def test_finetuning_change_reruns_no_alignment_or_pretraining(study):
    workdir, _ = study
    changed = smoke_config(workdir, finetuning={"learning_rate": 5.0e-4})
    jobs = planned_jobs(snakemake(workdir, changed, "-n", "--cores", "2"))
    assert jobs.get("finetune") == 12 and jobs.get("translate_train") == 12
    assert not UPSTREAM & set(jobs), jobs


def test_adding_an_evaluation_language_reruns_only_what_it_needs(study):
    workdir, _ = study
    changed = smoke_config(workdir, corpus={"eval_languages": ["fr"]})
    jobs = planned_jobs(snakemake(workdir, changed, "-n", "--cores", "2"))
    assert jobs.get("download_pair") == 1 and jobs.get("prepare_pair") == 1
    assert jobs.get("translate_train") == 6  # fr only: one job per arm (it loops over the 2 seeds)
    assert not {"finetune", "pretrain", "pretrain_base", "align", "tokenize_pair", "train_tokenizer"} & set(jobs), jobs


def test_lint_is_quiet():
    result = snakemake(REPO, REPO / "config.yaml", "--lint")
    assert result.returncode == 0, result.stdout + result.stderr
