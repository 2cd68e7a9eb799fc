"""Pre-training runs compare on shared names (heldout_mlm_loss, mechanism_*), and a project that
moved with its mlflow.db writes its artifacts into its own mlartifacts/ (a real SQLite backend)."""

import json
import shutil
import sqlite3

import pytest

from alignxfer import heldout as H
from alignxfer import mlflow_tools as T
from alignxfer.tracking import JobTracker


def _check_file(path, job, before, after):
    """A held-out check file as alignxfer.pretraining.write_heldout_check writes it."""
    record = {
        "objective": job,
        "pretrain_seed": 13,
        "split_seed": 13,
        "pairs": 10,
        "after": after,
        "mechanism": H.judge(job, before, after),
    }
    if before is not None:
        record["before"] = before
    path.write_text(json.dumps(record))
    return path


def _tracker(project, rule, arm, **kw):
    return JobTracker(
        rule=rule,
        wildcards={"objective": arm} if arm != "base" else {},
        params={},
        config={"study": "cmp"},
        project_dir=project,
        uri=f"sqlite:///{project / 'mlflow.db'}",
        tags={"arm": arm},
        **kw,
    )


def test_base_and_arms_log_the_same_heldout_and_mechanism_names(tmp_path, capsys):
    from mlflow.tracking import MlflowClient

    base = {"mlm_loss": 5.0, "unigram_cross_entropy": 5.6, "ranking_accuracy": 0.2, "weam_cp_loss": 6.0}
    jobs = {
        "base": (None, base),
        "weam": (base, {**base, "mlm_loss": 4.9, "weam_cp_loss": 5.5}),
        "contrastive": (base, {**base, "mlm_loss": 5.1, "ranking_accuracy": 0.6}),
    }
    for arm, (before, after) in jobs.items():
        path = _check_file(tmp_path / f"{arm}.json", arm, before, after)
        with _tracker(tmp_path, "pretrain_base" if arm == "base" else "pretrain", arm) as tracker:
            curves = T.CurveLogger(tracker, rename_prefix="run_")
            curves(4, {"loss": 7.0, f"loss_{arm}": 3.0})
            curves(8, {"loss": 6.0, f"loss_{arm}": 2.0})
            # the summary of alignxfer.pretraining carries heldout_* too: the file's values win
            T.log_pretraining_summary(tracker, curves, {"loss": 6.0, "steps": 8, "heldout_mlm_loss": -1.0}, path)
    out = capsys.readouterr().out  # one console line per job
    assert "held-out MLM loss 4.900 (before 5.000); weam_cp_loss 6.000 -> 5.500: learned (10 held-out pairs)" in out
    assert "held-out MLM loss 5.000; mlm_loss 5.000 vs unigram_cross_entropy 5.600: learned" in out
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("cmp")
    runs = {r.data.tags["arm"]: r for r in client.search_runs([exp.experiment_id])}
    assert set(runs) == set(jobs)
    shared = {"heldout_mlm_loss", "mechanism_after", "mechanism_improvement", "mechanism_learned"}
    for arm, run in runs.items():
        assert shared <= set(run.data.metrics), (arm, sorted(run.data.metrics))
        for key in ("mechanism_after", "mechanism_learned", "run_loss", "steps"):  # at the curve's last step
            assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [8], (arm, key)
    assert {a: r.data.metrics["heldout_mlm_loss"] for a, r in runs.items()} == {
        "base": 5.0,
        "weam": 4.9,
        "contrastive": 5.1,
    }
    # an overlay of the arms: each arm's line starts at the base's value (its model at step 0)
    curve = {
        a: [(m.step, m.value) for m in client.get_metric_history(r.info.run_id, "heldout_mlm_loss")]
        for a, r in runs.items()
    }
    assert curve == {"base": [(8, 5.0)], "weam": [(0, 5.0), (8, 4.9)], "contrastive": [(0, 5.0), (8, 5.1)]}
    assert {a: r.data.tags["mechanism"] for a, r in runs.items()} == {
        "base": "mlm_loss",
        "weam": "weam_cp_loss",
        "contrastive": "ranking_accuracy",
    }
    weam, contrastive = runs["weam"].data.metrics, runs["contrastive"].data.metrics
    assert weam["mechanism_before"] == 6.0 and weam["mechanism_after"] == 5.5
    assert weam["mechanism_improvement"] == pytest.approx(0.5) and weam["mechanism_learned"] == 1.0
    # a score is in points, like every score in MLflow
    assert contrastive["mechanism_after"] == pytest.approx(60.0) and contrastive[
        "heldout_ranking_accuracy"
    ] == pytest.approx(60.0)
    assert contrastive["mechanism_improvement"] == pytest.approx(40.0)
    assert runs["base"].data.metrics["mechanism_improvement"] == pytest.approx(0.6)  # below word frequency
    assert "mechanism_before" not in runs["base"].data.metrics
    assert runs["weam"].data.tags["mechanism_learned"] == "true"
    assert all(r.data.tags.get("mlflow.source.type") == "JOB" for r in runs.values())


def test_a_moved_project_writes_artifacts_into_its_own_folder(tmp_path):
    from mlflow.tracking import MlflowClient

    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    (old / "a.txt").write_text("first")
    with _tracker(old, "gather", "base") as tracker:
        tracker.log_artifact(old / "a.txt")
    shutil.copytree(old, new)  # a copy: the old project must stay untouched
    (new / "b.txt").write_text("second")
    with _tracker(new, "gather", "base") as tracker:
        tracker.log_artifact(new / "b.txt")
        run_id = tracker.run_id
    assert not list((old / "mlartifacts").rglob("b.txt"))
    assert list((new / "mlartifacts").rglob("b.txt")) and list((new / "mlartifacts").rglob("a.txt"))
    client = MlflowClient(f"sqlite:///{new / 'mlflow.db'}")
    assert client.get_run(run_id).info.artifact_uri.startswith((new / "mlartifacts").as_uri())
    con = sqlite3.connect(new / "mlflow.db")
    uris = [r[0] for r in con.execute("select artifact_uri from runs")] + [
        r[0] for r in con.execute("select artifact_location from experiments where name = 'cmp'")
    ]
    assert all(u.startswith((new / "mlartifacts").as_uri()) for u in uris), uris
    con = sqlite3.connect(old / "mlflow.db")
    assert all(str(old) in r[0] for r in con.execute("select artifact_uri from runs"))


def test_commit_is_the_code_checkouts_and_summaries_follow_the_curve(tmp_path):
    """A study in a folder of its own (snakemake --directory, not a git repository) still names
    the commit of the workflow's code; a value logged without a step lands at the curve's end."""
    import subprocess

    from mlflow.tracking import MlflowClient

    from alignxfer.tracking import CODE_DIR

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=CODE_DIR, capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("the code is not a git checkout here")
    study = tmp_path / "study"  # no git repository
    study.mkdir()
    with _tracker(study, "finetune", "weam") as tracker:
        for step in (1, 2, 3):
            tracker.log_metrics({"train_loss": 1.0 / step}, step=step)
        tracker.log_metrics({"job_seconds": 12.0})
        run_id = tracker.run_id
    run = MlflowClient(f"sqlite:///{study / 'mlflow.db'}").get_run(run_id)
    assert run.data.tags["mlflow.source.git.commit"] == head.stdout.strip() == run.data.tags["git_commit"]
    history = MlflowClient(f"sqlite:///{study / 'mlflow.db'}").get_metric_history(run_id, "job_seconds")
    assert [m.step for m in history] == [3]


def test_runs_table_address_carries_the_filter():
    assert T.runs_table_url("127.0.0.1", 5000, "1") == "http://127.0.0.1:5000/#/experiments/1/runs"
    assert T.runs_table_url("127.0.0.1", 5000, "1", "tags.arm = 'weam'") == (
        "http://127.0.0.1:5000/#/experiments/1/runs?searchFilter=tags.arm%20%3D%20%27weam%27"
    )
    assert T.runs_table_url("h", 1, None) == "http://h:1/"


def test_retrieval_and_seeded_language_runs_log_points_under_shared_names(tmp_path):
    from mlflow.tracking import MlflowClient

    with _tracker(tmp_path, "retrieval", "weam") as tracker:
        scores = {
            lang: T.log_language_run(tracker, lang, {"p@1_xx_en": p, "p@1_en_xx": p / 2, "ok": True})
            for lang, p in (("de", 0.5), ("ja", 0.25))
        }
        T.log_average(tracker, scores)
        child = T.log_language_run(tracker, "de", {"accuracy": 0.4}, wildcards={"seed": 2})
    assert scores["de"] == {"p@1_xx_en": 50.0, "p@1_en_xx": 25.0} and child == {"accuracy": 40.0}
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("cmp")
    ja = client.search_runs([exp.experiment_id], filter_string="tags.lang = 'ja'")[0].data.metrics
    assert ja == {"p_at_1_xx_en": 25.0, "p_at_1_en_xx": 12.5}
    avg = client.search_runs([exp.experiment_id], filter_string="tags.lang = 'avg'")[0].data.metrics
    assert avg["p_at_1_xx_en"] == pytest.approx(37.5)
    seeded = client.search_runs([exp.experiment_id], filter_string="tags.seed = '2'")[0].data
    assert seeded.tags["lang"] == "de" and seeded.tags["arm"] == "weam" and seeded.metrics == {"accuracy": 40.0}
