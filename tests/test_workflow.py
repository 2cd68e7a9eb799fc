"""The whole DAG on the smoke config: outputs, MLflow runs, partial reruns, lint."""

import json
import sqlite3

import pytest

from tests.workflow_helpers import REPO, planned_jobs, smoke_config, snakemake

pytestmark = pytest.mark.slow

UPSTREAM = {
    "download_english",
    "download_pair",
    "prepare_english",
    "prepare_pair",
    "segment_pair",
    "train_tokenizer",
    "tokenize_pair",
    "align",
    "symmetrize",
    "pretrain_base",
    "pretrain",
}


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
    # baselines (majority, tfidf) x (en, de, ja)
    assert len(metrics) == 36 + 24 + 12 + 6 + 24 + 18 + 2
    for path in metrics:  # every readout of issue #12 has its per-example predictions beside it
        if "/zero_shot_delex/" in str(path) or "/probe/" in str(path) or "/retrieval/" in str(path):
            assert path.with_name(path.name[: -len(".json")] + ".predictions.jsonl").exists(), path
    one = json.loads((workdir / "results/metrics/topic/zero_shot/weam/ja/seed1.json").read_text())
    assert one["setting"] == "zero_shot" and one["train_lang"] == "en" and 0 <= one["metrics"]["accuracy"] <= 1
    delex = json.loads((workdir / "results/metrics/topic/zero_shot_delex/weam/ja/seed1.json").read_text())
    assert delex["setting"] == "zero_shot_delex" and delex["train_docs"] == one["train_docs"]
    ret = json.loads((workdir / "results/metrics/retrieval/base/de.json").read_text())
    pools = {json.loads(p.read_text())["pool_size"] for p in (workdir / "results/metrics/retrieval").rglob("*.json")}
    assert pools == {ret["pool_size"]} and len(ret["layers"]) == 3
    assert "arm − base" in (workdir / "results/tables/retrieval_mcnemar.md").read_text()
    # fine-tuning seeds 1 and 2 continue the arms of pre-training seeds 13 and 14 (nested)
    assert one["pretrain_seed"] == 13
    assert (
        json.loads((workdir / "results/metrics/topic/zero_shot/weam/ja/seed2.json").read_text())["pretrain_seed"] == 14
    )
    tfidf = json.loads((workdir / "results/metrics/topic/baselines/tfidf/de.json").read_text())
    assert tfidf["baseline"] == "tfidf" and tfidf["n"] > 0
    # every pre-training job's held-out check, and the treatment table
    for objective in ("mlm", "tlm", "weam", "word_aligned", "contrastive"):
        for pseed in (13, 14):
            check = json.loads((workdir / f"results/models/{objective}/p{pseed}/heldout.json").read_text())
            assert check["pretrain_seed"] == pseed and check["pairs"] > 0 and "before" in check
    assert "| tlm | 14 |" in (workdir / "results/tables/treatment.md").read_text()
    for name in ("en", "en-de", "en-ja"):
        summary = json.loads((workdir / f"results/data/summary/{name}.json").read_text())
        assert summary["leak_check"]["grouping"] == "source package"
        assert set(summary["leak_check"]["test_documents_sharing_text_with"].values()) == {0}
        if name != "en":  # rule prepare_pair passes every English test document (english_docs)
            assert summary["test_overlap_includes_english_docs"] is True


def test_predictions_beside_metrics_and_every_table_declared(study):
    workdir, config = study
    metrics = sorted((workdir / "results/metrics/topic").rglob("seed*.json"))
    for path in metrics:
        preds = [json.loads(line) for line in path.with_name(path.stem + ".predictions.jsonl").read_text().splitlines()]
        rec = json.loads(path.read_text())
        assert len(preds) == rec["n"] and {"id", "gold", "pred", "correct", "scores"} <= set(preds[0])
        assert sum(p["correct"] for p in preds) / len(preds) == pytest.approx(rec["metrics"]["accuracy"])
    text = (workdir / "results/tables/topic_zero_shot.md").read_text()
    assert "test documents resampled in every language" in text and "Holm" in text
    assert (workdir / "results/plots/forest_topic_zero_shot.png").exists()
    # a per-task table is a declared output: deleting it makes gather rerun
    (workdir / "results/tables/topic_zero_shot.md").unlink()
    assert planned_jobs(snakemake(workdir, config, "-n", "--cores", "2")) == {"gather": 1, "all": 1}
    assert snakemake(workdir, config, "--cores", "2").returncode == 0


def test_report_shows_overview_tables_and_claims(study):
    workdir, config = study
    result = snakemake(workdir, config, "--report", "report.html")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    html = (workdir / "report.html").read_text()
    assert "Headline result" in html and "Claims" in html  # the workflow description, filled from gather
    for name in (
        "topic_zero_shot.html",
        "topic_translate_train.html",
        "retrieval.html",
        "claims.html",
        "summary.html",
        "forest_topic_zero_shot.png",
    ):
        assert name in html, name


def test_alignments_match_the_corpus(study):
    workdir, _ = study
    for lang in ("de", "ja"):
        corpus = (workdir / f"results/align/en-{lang}/corpus.txt").read_text().splitlines()
        links = (workdir / f"results/align/en-{lang}/symmetrized.txt").read_text().splitlines()
        assert len(corpus) == len(links) > 50
        assert sum(bool(line) for line in links) > 0.9 * len(links)


def test_alignment_quality_table(study):
    workdir, _ = study
    table = (workdir / "results/tables/alignment_quality.md").read_text()
    assert "| en-de | no gold set" in table  # the smoke study: de (no gold set) and ja (KFTT)
    rows = [line for line in table.splitlines() if line.startswith("| en-ja |")]
    # forward, reverse, the three symmetrizations; one segmentation (config.yaml: workflow)
    assert len(rows) == 5 and sum("(configured)" in r for r in rows) == 1
    assert all("| workflow |" in r for r in rows)
    aer = [float(r.split("|")[5]) for r in rows]
    assert all(0 < a < 100 for a in aer)
    report = json.loads((workdir / "results/align/en-ja/gold_quality.json").read_text())
    assert report["sentences"] == 582 and report["pairs"] > 50


def test_every_job_is_an_mlflow_run_with_tags(study):
    workdir, _ = study
    db = sqlite3.connect(workdir / "mlflow.db")
    rows = db.execute("select run_uuid, name, status from runs").fetchall()
    names = [name for _, name, _ in rows]
    assert all(status == "FINISHED" for *_, status in rows)
    assert {"pretrain[objective=weam,pseed=13]", "pretrain[objective=weam,pseed=14]"} <= set(names)
    # translate-train: one job per arm x language (12), one nested run per seed inside it (24)
    parents = {run: name for run, name, _ in rows if name.startswith("translate_train[") and "seed=" not in name}
    assert len(parents) == 12
    children = db.execute(
        "select r.name, t.value from runs r join tags t on t.run_uuid = r.run_uuid "
        "where r.name like 'translate_train[%seed=%' and t.key = 'mlflow.parentRunId'"
    ).fetchall()
    assert len(children) == 24 and {parent for _, parent in children} == set(parents)
    tags = dict(
        db.execute(
            "select key, value from tags where run_uuid = (select run_uuid from runs where name like 'evaluate_zero_shot[%objective=tlm%seed=2%')"
        ).fetchall()
    )
    assert tags["arm"] == "tlm" and tags["seed"] == "2" and tags["setting"] == "zero_shot"
    assert tags["pretrain_run_id"] not in ("", "unknown")
    # fine-tuning seed 2 continues the arm of pre-training seed 14: both seeds on the run
    assert tags["pretrain_seed"] == "14"
    assert db.execute("select name from runs where run_uuid = ?", (tags["pretrain_run_id"],)).fetchone()[0] == (
        "pretrain[objective=tlm,pseed=14]"
    )
    assert tags["finetune_run_id"] not in ("", "unknown")
    assert db.execute("select name from runs where run_uuid = ?", (tags["finetune_run_id"],)).fetchone()[0] == (
        "finetune[objective=tlm,seed=2,task=topic]"
    )
    assert {"git_commit", "config_hash", "rule"} <= set(tags)
    # the links come from the run records the jobs left in their model folders (no search by rule name)
    record = json.loads((workdir / "results/models/tlm/p14/model/mlflow_run.json").read_text())
    assert record["run_id"] == tags["pretrain_run_id"] and record["job"] == "pretrain[objective=tlm,pseed=14]"
    base = db.execute("select run_uuid from runs where name = 'pretrain_base'").fetchone()[0]
    assert record["links"] == {"base_run_id": base}


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


def test_runs_compare_by_tags_in_points_and_models_carry_cards(study):
    workdir, _ = study
    db = sqlite3.connect(workdir / "mlflow.db")

    def run(name_like):
        (run_id,) = db.execute("select run_uuid from runs where name like ?", (name_like,)).fetchone()
        tags = dict(db.execute("select key, value from tags where run_uuid = ?", (run_id,)).fetchall())
        metrics = dict(db.execute("select key, value from latest_metrics where run_uuid = ?", (run_id,)).fetchall())
        return tags, metrics

    file = json.loads((workdir / "results/metrics/topic/zero_shot/weam/ja/seed1.json").read_text())
    tags, metrics = run("evaluate_zero_shot[lang=ja,objective=weam,seed=1,task=topic]")
    assert {k: tags[k] for k in ("lang", "arm", "seed", "task", "setting")} == {
        "lang": "ja",
        "arm": "weam",
        "seed": "1",
        "task": "topic",
        "setting": "zero_shot",
    }
    assert metrics["accuracy"] == pytest.approx(100 * file["metrics"]["accuracy"])  # points, one name
    assert not any(k.startswith(("ja.", "de.", "en.")) for k in metrics)
    parent_tags, parent = run("evaluate_zero_shot[objective=weam,seed=1,task=topic]")
    assert parent_tags["lang"] == "avg" and 0 <= parent["accuracy"] <= 100
    assert run("pretrain[objective=weam,pseed=13]")[0]["arm"] == "weam" and run("pretrain_base")[0]["arm"] == "base"
    assert tags["mlflow.source.type"] == "JOB" and "env.cpu.avx512_bf16" in tags
    env = json.loads((workdir / "results/environment.json").read_text())
    assert env["packages"]["torch"] and "avx512_bf16" in env["cpu"]["flags"]
    for folder in (
        "results/models/base/model",
        "results/models/weam/p13/model",
        "results/finetune/topic/weam/en/seed1/model",
    ):
        assert (workdir / folder / "README.md").read_text().startswith("---\n"), folder
