import multiprocessing as mp
import sqlite3

from alignxfer.config import validate_config
from alignxfer.tracking import (
    RUN_RECORD,
    UNKNOWN_RUN,
    JobTracker,
    flatten,
    link_of,
    read_run_record,
    run_of,
    write_run_record,
)


def _job(args):
    uri, project, index = args
    cfg = validate_config({"study": "concurrency"})
    with JobTracker(
        rule="pretrain",
        wildcards={"objective": f"arm{index}"},
        params={"budget": {"steps": index}},
        config=cfg,
        project_dir=project,
        uri=uri,
    ) as tracker:
        for step in range(30):
            tracker.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
            tracker.flush()
        return tracker.run_id, tracker.enabled


def test_concurrent_jobs_never_meet_a_locked_database(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    ctx = mp.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.map(_job, [(uri, str(tmp_path), i) for i in range(4)])
    assert all(enabled for _, enabled in results), "a tracker was disabled by an MLflow error"
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("concurrency")
    runs = client.search_runs([exp.experiment_id])
    assert len(runs) == 4
    for run in runs:
        assert run.info.status == "FINISHED"
        assert run.data.tags["rule"] == "pretrain"
        assert run.data.tags["job"].startswith("pretrain[objective=arm")
        assert len(client.get_metric_history(run.info.run_id, "loss")) == 30
        assert "budget.steps" in run.data.params


def test_tracking_failure_never_fails_the_job(tmp_path, capsys):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    uri = f"sqlite:///{blocker / 'mlflow.db'}"  # a path below a file: cannot be created
    cfg = validate_config({})
    with JobTracker(rule="gather", wildcards={}, params={}, config=cfg, project_dir=tmp_path, uri=uri) as tracker:
        tracker.log_metrics({"x": 1.0})
        (tmp_path / "output.txt").write_text("done")
    assert (tmp_path / "output.txt").read_text() == "done"
    assert not tracker.enabled
    assert "tracking is off for this job (gather)" in capsys.readouterr().err


def test_failed_job_is_marked_failed_and_runs_are_linked_through_run_records(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = validate_config({"study": "links"})
    model = tmp_path / "model"
    model.mkdir()
    assert run_of(model) == UNKNOWN_RUN  # a folder made without tracking (or before run records)
    with JobTracker(
        rule="pretrain", wildcards={"objective": "weam"}, params={}, config=cfg, project_dir=tmp_path, uri=uri
    ) as pre:
        write_run_record(model, pre, {"base_run_id": "b0"})
    record = read_run_record(model)
    assert record["job"] == "pretrain[objective=weam]" and record["experiment"] == "links"
    try:
        with JobTracker(
            rule="finetune", wildcards={"seed": 1}, params={}, config=cfg, project_dir=tmp_path, uri=uri
        ) as ft:
            assert run_of(model) == pre.run_id
            assert link_of(model, "base_run_id") == "b0"
            assert link_of(model, "pretrain_run_id") == UNKNOWN_RUN
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    rows = sqlite3.connect(tmp_path / "mlflow.db").execute("select name, status from runs").fetchall()
    assert sorted(rows) == [("finetune[seed=1]", "FAILED"), ("pretrain[objective=weam]", "FINISHED")]
    assert ft.run_id != pre.run_id
    # a job without a run leaves no record; a broken record reads as unknown
    off = JobTracker(rule="finetune", wildcards={}, params={}, config=cfg, project_dir=tmp_path, enabled=False)
    with off:
        assert write_run_record(tmp_path, off) is None
    assert not (tmp_path / RUN_RECORD).exists()
    (model / RUN_RECORD).write_text("{not json")
    assert run_of(model) == UNKNOWN_RUN and link_of(model, "base_run_id") == UNKNOWN_RUN


def test_flatten():
    assert flatten("", {"a": {"b": 1, "c": {"d": 2}}, "e": [1]}) == {"a.b": 1, "a.c.d": 2, "e": [1]}


def test_child_runs_are_nested_and_carry_their_own_wildcards(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    cfg = validate_config({"study": "nested"})
    with JobTracker(
        rule="translate_train",
        wildcards={"lang": "de", "objective": "weam"},
        params={},
        config=cfg,
        project_dir=tmp_path,
        uri=uri,
        tags={"setting": "translate_train"},
    ) as parent:
        for seed in (1, 2):
            with parent.child({"seed": seed}, tags={"extra": "x"}) as child:
                child.log_metrics({"de.accuracy": 0.5 + seed / 10})
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("nested")
    children = client.search_runs([exp.experiment_id], filter_string="tags.seed = '2'")
    assert len(children) == 1
    tags = children[0].data.tags
    assert tags["mlflow.parentRunId"] == parent.run_id
    assert tags["job"] == "translate_train[lang=de,objective=weam,seed=2]"
    assert tags["setting"] == "translate_train" and tags["extra"] == "x" and tags["objective"] == "weam"
    assert tags["git_commit"] == client.get_run(parent.run_id).data.tags["git_commit"]
    assert children[0].data.metrics["de.accuracy"] == 0.7
    assert len(client.search_runs([exp.experiment_id])) == 3


def test_child_of_a_disabled_tracker_is_disabled(tmp_path):
    cfg = validate_config({})
    parent = JobTracker(rule="x", wildcards={}, params={}, config=cfg, project_dir=tmp_path, enabled=False)
    with parent.start() as p, p.child({"seed": 1}) as child:
        child.log_metrics({"a": 1.0})
    assert child.run_id is None and not child.enabled
