"""MLflow for comparison (alignxfer.mlflow_tools) and what jobs print (alignxfer.console)."""

import sqlite3

import pytest

from alignxfer import console as C
from alignxfer import mlflow_tools as T
from alignxfer.tracking import JobTracker


def _tracker(tmp_path, study="cmp", **kw):
    return JobTracker(
        rule="evaluate_zero_shot",
        wildcards={"task": "topic", "objective": "weam", "seed": 1},
        params={},
        config={"study": study},
        project_dir=tmp_path,
        uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
        tags={"arm": "weam", "setting": "zero_shot"},
        **kw,
    )


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One MLflow database for the tests that only add runs (creating one costs seconds)."""
    return tmp_path_factory.mktemp("mlflow")


def test_scores_are_points_and_other_numbers_are_not():
    assert T.points({"accuracy": 0.5, "dev_macro_f1": 0.25, "p_at_1": 0.9, "loss": 0.5, "n": 3}) == {
        "accuracy": 50.0,
        "dev_macro_f1": 25.0,
        "p_at_1": 90.0,
        "loss": 0.5,
        "n": 3,
    }


def test_per_language_child_runs_average_and_standard_tags(shared):
    from mlflow.tracking import MlflowClient

    tmp_path = shared
    with _tracker(tmp_path, study="children") as tracker:
        scores = {
            lang: T.log_language_run(
                tracker, lang, {"accuracy": acc, "macro_f1": acc / 2}, tags={"finetune_run_id": "x"}
            )
            for lang, acc in (("en", 0.6), ("de", 0.4))
        }
        T.log_average(tracker, scores)
        parent = tracker.run_id
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    exp = client.get_experiment_by_name("children")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.arm = 'weam' and tags.lang = 'de'")
    assert len(runs) == 1
    de = runs[0].data
    assert de.metrics == {"accuracy": 40.0, "macro_f1": 20.0}  # one name per measure, points
    assert de.tags["seed"] == "1" and de.tags["task"] == "topic" and de.tags["setting"] == "zero_shot"
    assert de.tags["mlflow.parentRunId"] == parent and de.tags["finetune_run_id"] == "x"
    top = client.get_run(parent).data
    assert top.metrics["accuracy"] == pytest.approx(50.0) and top.tags["lang"] == "avg"
    assert top.tags["mlflow.source.type"] == "JOB" and "mlflow.source.name" in top.tags
    assert "env.cpu.avx512_bf16" in top.tags and "env.torch" in top.tags


def test_summary_goes_after_the_curve_and_never_joins_it(shared):
    from mlflow.tracking import MlflowClient

    tmp_path = shared
    with _tracker(tmp_path, study="curves") as tracker:
        curves = T.CurveLogger(tracker)
        for step, acc in ((10, 0.3), (20, 0.5)):
            curves(step, {"dev_accuracy": acc, "train_loss": 1.0})
        logged = curves.summary({"dev_accuracy": 0.5, "steps": 20})
        run_id = tracker.run_id
    assert logged == {"best_dev_accuracy": 50.0, "steps": 20}
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    history = client.get_metric_history(run_id, "dev_accuracy")
    assert [(m.step, m.value) for m in history] == [(10, 30.0), (20, 50.0)]
    assert [m.step for m in client.get_metric_history(run_id, "best_dev_accuracy")] == [20]


def test_relocate_points_artifacts_at_the_moved_project(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    with _tracker(old) as tracker:
        tracker.log_metrics({"accuracy": 0.5})
    old.rename(new)
    db = new / "mlflow.db"
    assert T.relocate(db, new) >= 2
    con = sqlite3.connect(db)
    locations = [r[0] for r in con.execute("select artifact_location from experiments where name = 'cmp'")]
    uris = [r[0] for r in con.execute("select artifact_uri from runs")]
    assert all(str(new / "mlartifacts") in u for u in locations + uris), (locations, uris)
    assert T.relocate(db, new) == 0  # nothing left to move


REPORT = (
    "\x1b[1mBertForSequenceClassification LOAD REPORT\x1b[0m from: m\nKey | Status | \n---+---+-\n"
    "cls.predictions.bias | UNEXPECTED | \nclassifier.weight | MISSING | \nbert.pooler.dense.bias | MISSING | \n"
)


def test_expected_load_reports_are_dropped_and_real_ones_kept():
    import io
    import logging

    assert C.is_expected_load_report(REPORT)
    real = REPORT.replace("classifier.weight", "bert.encoder.layer.0.attention.self.query.weight")
    assert not C.is_expected_load_report(real)
    C.quiet_libraries()
    from transformers.utils import logging as hf_logging

    logger = hf_logging.get_logger("transformers.modeling_utils")
    seen = io.StringIO()
    handler = logging.StreamHandler(seen)  # what any handler of the job's log receives
    logger.addHandler(handler)
    try:
        logger.warning(REPORT)
        logger.warning(real)
    finally:
        logger.removeHandler(handler)
    out = seen.getvalue()
    assert out.count("LOAD REPORT") == 1 and "attention.self.query" in out and "\x1b[" not in out


def test_eta_and_labels(monkeypatch):
    assert C.eta(1, 4, 10.0) == "30s" and C.eta(1, 11, 30.0) == "5m00s" and C.eta(0, 4, 1.0) == "?"
    assert C.job_label("finetune", {"seed": "1", "objective": "weam", "task": "topic"}) == "finetune topic/weam/seed1"
    monkeypatch.setenv(C.LABEL_ENV, "finetune topic/weam/seed1")
    assert C.label("fine-tuning") == "[finetune topic/weam/seed1]"
    monkeypatch.delenv(C.LABEL_ENV)
    assert C.label("fine-tuning") == "[fine-tuning]"


def test_gather_headline_names_the_summary_and_the_arms(tmp_path):
    import pandas as pd

    rows = [
        {
            "task": "topic",
            "setting": "zero_shot",
            "objective": arm,
            "lang": lang,
            "seed": seed,
            "metric": "accuracy",
            "value": value + 0.01 * seed,
            "primary": True,
        }
        for arm, value in (("base", 0.4), ("weam", 0.5))
        for lang in ("en", "de")
        for seed in (1, 2)
    ]
    lines = C.headline({"metrics": pd.DataFrame(rows)}, [{"verdict": "not supported"}] * 2, tmp_path / "summary.md")
    assert lines[0] == f"[gather] summary: {tmp_path / 'summary.md'}"
    assert "base 41.5 ± 0.7, weam 51.5 ± 0.7" in lines[1] and lines[2] == "[gather] claims: 2 not supported"
