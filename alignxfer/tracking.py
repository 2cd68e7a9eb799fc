"""MLflow tracking for workflow jobs: one run per job, never a reason for a job to fail.

Every job of the workflow opens one :class:`JobTracker`. The run is tagged with the rule, the
wildcards, the git commit (and whether the tree was dirty) and the config hash; params come from
the rule's params. Metrics are buffered and written in batches.

The commit is that of the workflow's code (the checkout this package is imported from, as the
workflow scripts do), also when the study runs in another folder (``snakemake --directory``);
the project folder's own repository only when the code is not in one. A metric logged without a
step (a summary such as ``job_seconds``) goes at the last step this run logged, so a summary never
adds a point at step 0 behind a curve.

Concurrency: the default backend is SQLite (``sqlite:///mlflow.db`` at the project root).
SQLite fails with "database is locked" when several processes write at once, and two processes
creating the schema at the same time can crash. Every call to a SQLite backend therefore runs
under an exclusive ``fcntl`` lock on ``<db>.lock``; with a tracking server (``http://…``) no lock
is taken.

Failure: any exception from MLflow is reported once on stderr (and so in the job's log) and
disables tracking for the rest of the job; the job's own outputs are unaffected.

Tracking server (``http(s)://``): an unreachable server must not stall the jobs. MLflow retries a
failed request 7 times with exponential backoff (about 4 minutes per job), so
:func:`limit_http_retries` caps ``MLFLOW_HTTP_REQUEST_MAX_RETRIES`` / ``MLFLOW_HTTP_REQUEST_TIMEOUT``
for each job (a value the user set wins), and :func:`server_unreachable` is asked once when the
workflow is planned (rules/common.smk) and once per job before the first MLflow call: an
unreachable server turns tracking off at once with one message.

Experiment creation cannot race: the workflow creates the experiment once before its jobs start
(``onstart`` in rules/common.smk, :func:`ensure_experiment`), and every creation treats MLflow's
``RESOURCE_ALREADY_EXISTS`` (another process created it first) as success.

Runs that end badly: a job that raises marks its run FAILED with the error text in the tags
``error`` / ``error_type``; a job killed by SIGTERM/SIGINT is marked KILLED; a run left RUNNING by
a job killed with SIGKILL is marked KILLED (tag ``error``) when the same job of the same project
starts again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FLUSH_SECONDS = 15.0
FLUSH_METRICS = 500

#: per-job caps of MLflow's HTTP retries (its defaults: 7 retries, 120 s timeout, ~4 min of backoff)
HTTP_RETRY_CAPS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}
#: seconds a probe of the tracking server may take
PROBE_TIMEOUT = 5.0
#: set by the workflow when the planning probe found the server unreachable (value: the reason)
UNREACHABLE_ENV = "ALIGNXFER_TRACKING_UNREACHABLE"


def limit_http_retries(environ=None) -> dict:
    """Cap MLflow's HTTP retries/timeout in ``environ`` (os.environ) unless already set; returns the caps in force."""
    environ = os.environ if environ is None else environ
    for key, value in HTTP_RETRY_CAPS.items():
        environ.setdefault(key, value)
    return {key: environ[key] for key in HTTP_RETRY_CAPS}


def server_unreachable(uri: str, timeout: float = PROBE_TIMEOUT) -> str | None:
    """Why the tracking server at ``uri`` cannot be reached (None if it answers, or ``uri`` is not http).

    One request to ``<uri>/health`` without retries: any HTTP answer (even an error status) means a
    server is there; a refused connection, a timeout or a name that does not resolve means none is.
    """
    import urllib.error
    import urllib.request

    if not uri.startswith(("http://", "https://")):
        return None
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            return None
    except urllib.error.HTTPError:
        return None  # a server answered
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        return f"{uri} does not answer ({type(reason).__name__ if not isinstance(reason, str) else 'error'}: {reason})"


def _already_exists(err: Exception) -> bool:
    code = getattr(err, "error_code", "") or ""
    return (
        "RESOURCE_ALREADY_EXISTS" in str(code)
        or "RESOURCE_ALREADY_EXISTS" in str(err)
        or ("UNIQUE constraint failed" in str(err) and "experiments.name" in str(err))
    )


def experiment_id(client, name: str, artifact_location: str | None = None) -> str:
    """The id of experiment ``name``, created if missing; creation by another process at the same
    moment (``RESOURCE_ALREADY_EXISTS``) counts as success."""
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return exp.experiment_id
    try:
        # MLflow 3's UI opens an experiment of unknown kind in its GenAI view; this one holds
        # training runs, so it opens on the runs table, where arms, languages and seeds compare
        return client.create_experiment(
            name, artifact_location=artifact_location, tags={"mlflow.experimentKind": "custom_model_development"}
        )
    except Exception as err:
        if not _already_exists(err):
            raise
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return exp.experiment_id


def flatten(prefix: str, value: Any, out: dict | None = None) -> dict:
    """Flatten nested dicts/lists to dotted keys: {"a": {"b": 1}} -> {"a.b": 1}."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, sub in value.items():
            flatten(f"{prefix}.{key}" if prefix else str(key), sub, out)
    else:
        out[prefix] = value
    return out


#: the checkout of the workflow's code (the package's parent folder)
CODE_DIR = Path(__file__).resolve().parent.parent


def git_state(project_dir: str | Path) -> dict:
    """The commit of ``project_dir`` and whether tracked files differ from it."""

    def run(*args):
        return subprocess.run(["git", *args], cwd=project_dir, capture_output=True, text=True, timeout=10)

    try:
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"git_commit": "unknown", "git_dirty": "unknown"}
        dirty = run("status", "--porcelain", "--untracked-files=no")
        return {"git_commit": head.stdout.strip(), "git_dirty": str(bool(dirty.stdout.strip())).lower()}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": "unknown", "git_dirty": "unknown"}


def default_uri(project_dir: str | Path) -> str:
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path(project_dir).resolve() / 'mlflow.db'}"


def _sqlite_path(uri: str) -> Path | None:
    if uri.startswith("sqlite:///"):
        return Path(uri[len("sqlite:///") :])
    return None


def metric_name(key: str) -> str:
    """``key`` as a legal MLflow metric name (``p@1_xx_en`` -> ``p_at_1_xx_en``)."""
    return re.sub(r"[^\w\-. :/]", "_", key.replace("@", "_at_"))


class JobTracker:
    """One MLflow run for one workflow job (see module docstring)."""

    def __init__(
        self,
        *,
        rule: str,
        wildcards: dict,
        params: dict | None,
        config: dict,
        project_dir: str | Path,
        enabled: bool = True,
        uri: str | None = None,
        experiment: str | None = None,
        tags: dict | None = None,
        stream=None,
    ):
        from .config import config_hash

        self.rule = rule
        self._config = config
        self.wildcards = {k: str(v) for k, v in (wildcards or {}).items()}
        self.params = params or {}
        self.project_dir = Path(project_dir).resolve()
        self.enabled = enabled
        self.uri = uri or default_uri(self.project_dir)
        self.experiment = experiment or config.get("study", "default")
        self.config_hash = config_hash(config)
        self.extra_tags = {k: str(v) for k, v in (tags or {}).items()}
        self.stream = stream or sys.stderr
        self.run_id: str | None = None
        self._git: dict | None = None  # git_state of project_dir, asked once (a child reuses it)
        self._client = None
        self._buffer: list = []
        self._last_flush = time.monotonic()
        self._last_step = 0  # the highest step logged on this run: where a step-less value goes
        lock_db = _sqlite_path(self.uri)
        self._lock_path = lock_db.with_name(lock_db.name + ".lock") if lock_db else None

    # -- plumbing -------------------------------------------------------------------------
    @property
    def job_key(self) -> str:
        inner = ",".join(f"{k}={v}" for k, v in sorted(self.wildcards.items()))
        return f"{self.rule}[{inner}]" if inner else self.rule

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock_path is None:
            yield
            return
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _safe(self, what: str, fn, *args, **kwargs):
        if not self.enabled:
            return None
        try:
            with self._locked():
                return fn(*args, **kwargs)
        except Exception as err:  # tracking must never fail a job
            self.enabled = False
            print(
                f"[tracking] MLflow {what} failed ({type(err).__name__}: {err}); tracking is off for "
                f"this job ({self.job_key}); its outputs are unaffected.",
                file=self.stream,
                flush=True,
            )
            return None

    def _git_state(self) -> dict:
        if self._git is None:
            self._git = git_state(CODE_DIR)
            if self._git["git_commit"] == "unknown" and self.project_dir != CODE_DIR:
                self._git = git_state(self.project_dir)
        return self._git

    def _experiment_id(self, client) -> str:
        artifacts = None
        db = _sqlite_path(self.uri)
        if db is not None:
            from .mlflow_tools import ARTIFACTS_DIR, moved, relocate

            artifacts = (self.project_dir / ARTIFACTS_DIR).as_uri()
            exp = client.get_experiment_by_name(self.experiment)
            if (
                exp is not None
                and db.resolve().parent == self.project_dir
                and moved(exp.artifact_location, self.project_dir)
            ):
                # the project (with its mlflow.db) was moved or copied: MLflow stores absolute artifact
                # locations, so point them here before this job writes (we hold the database's lock)
                changed = relocate(db, self.project_dir, lock=False)
                print(
                    f"[tracking] {db}: this project moved; {changed} MLflow artifact locations now under "
                    f"{self.project_dir / ARTIFACTS_DIR}",
                    file=self.stream,
                    flush=True,
                )
        return experiment_id(client, self.experiment, artifacts)

    def _close_stale_runs(self, exp_id: str) -> None:
        """Mark KILLED the runs of this job and project (and their nested runs) that a killed job left RUNNING."""
        if "'" in str(self.project_dir) or "'" in self.job_key:
            return  # not expressible in a filter string; such runs stay RUNNING
        stale = self._client.search_runs(
            [exp_id],
            filter_string=f"tags.job = '{self.job_key}' and tags.project_dir = '{self.project_dir}' "
            "and attributes.status = 'RUNNING'",
            max_results=100,
        )
        for run in stale:
            children = self._client.search_runs(
                [exp_id],
                filter_string=f"tags.mlflow.parentRunId = '{run.info.run_id}' and attributes.status = 'RUNNING'",
            )
            for dead in [*children, run]:
                self._client.set_tag(
                    dead.info.run_id, "error", "the job was killed before it finished (seen when it was started again)"
                )
                self._client.set_terminated(dead.info.run_id, "KILLED")

    # -- public API -------------------------------------------------------------------------
    def start(self) -> JobTracker:
        if self.enabled:
            why = server_unreachable(self.uri)
            if why:
                self.enabled = False
                print(
                    f"[tracking] {why}; tracking is off for this job ({self.job_key}); its outputs are unaffected.",
                    file=self.stream,
                    flush=True,
                )
                return self

        def _start():
            from mlflow.entities import Param
            from mlflow.tracking import MlflowClient

            self._client = MlflowClient(tracking_uri=self.uri)
            exp_id = self._experiment_id(self._client)
            if "mlflow.parentRunId" not in self.extra_tags:
                self._close_stale_runs(exp_id)
            tags = {
                "rule": self.rule,
                "job": self.job_key,
                "project_dir": str(self.project_dir),
                "config_hash": self.config_hash,
                **self._git_state(),
                **_standard_tags(self._git_state(), self.rule),  # mlflow.source.*, env.* (CPU, versions)
                **{f"wc.{k}": v for k, v in self.wildcards.items()},
                **self.wildcards,
                **self.extra_tags,
            }
            run = self._client.create_run(exp_id, tags=tags, run_name=self.job_key)
            self.run_id = run.info.run_id
            flat = flatten("", self.params)
            params = [Param(k[:250], str(v)[:6000]) for k, v in sorted(flat.items())]
            for i in range(0, len(params), 100):
                self._client.log_batch(self.run_id, params=params[i : i + 100])

        self._safe("start", _start)
        return self

    def set_tags(self, tags: dict) -> None:
        if self.run_id is None:
            return

        def _tags():
            from mlflow.entities import RunTag

            self._client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

        self._safe("set_tags", _tags)

    def log_metrics(self, metrics: dict, step: int | None = None) -> None:
        if self.run_id is None:
            return
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        step = self._last_step if step is None else int(step)
        self._last_step = max(self._last_step, step)
        for key, value in flatten("", metrics).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            self._buffer.append(Metric(metric_name(key), float(value), now, step))
        if len(self._buffer) >= FLUSH_METRICS or time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        if self.run_id is None or not self._buffer:
            return
        batch, self._buffer = self._buffer, []
        self._last_flush = time.monotonic()

        def _flush():
            for i in range(0, len(batch), 1000):
                self._client.log_batch(self.run_id, metrics=batch[i : i + 1000])

        self._safe("log_metrics", _flush)

    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> None:
        if self.run_id is None or not Path(path).exists():
            return
        if Path(path).is_dir():
            self._safe("log_artifacts", self._client.log_artifacts, self.run_id, str(path), artifact_path)
        else:
            self._safe("log_artifact", self._client.log_artifact, self.run_id, str(path), artifact_path)

    def child(self, wildcards: dict, tags: dict | None = None) -> JobTracker:
        """A run nested under this one (MLflow tag ``mlflow.parentRunId``) for one part of the job,
        e.g. one seed of a job that loops over seeds: its wildcards are this job's plus
        ``wildcards``, so its run name and tags are those a job of its own would have had.
        Use it as a context manager; a disabled or failed parent gives a disabled child."""
        tags = {**self.extra_tags, **(tags or {})}
        if self.run_id is not None:
            tags["mlflow.parentRunId"] = self.run_id
        child = JobTracker(
            rule=self.rule,
            wildcards={**self.wildcards, **wildcards},
            params=self.params,
            config=self._config,
            project_dir=self.project_dir,
            enabled=self.enabled and self.run_id is not None,
            uri=self.uri,
            experiment=self.experiment,
            tags=tags,
            stream=self.stream,
        )
        child._git = self._git
        return child

    def finish(self, status: str = "FINISHED") -> None:
        self.flush()
        if self.run_id is not None:
            self._safe("end", self._client.set_terminated, self.run_id, status)

    def __enter__(self) -> JobTracker:
        return self.start()

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.finish("FINISHED")
            return
        killed = issubclass(exc_type, (KeyboardInterrupt, JobKilled))
        text = f"{exc_type.__name__}: {exc}"
        self.set_tags({"error": text[:4900], "error_type": exc_type.__name__})
        self.finish("KILLED" if killed else "FAILED")


class JobKilled(BaseException):
    """Raised in a job by SIGTERM (workflow_scripts.snakemake_job), so that its run is marked KILLED."""


def _standard_tags(git: dict, rule: str) -> dict:
    """MLflow's source tags (:func:`alignxfer.mlflow_tools.standard_tags`) and the machine's
    (:func:`alignxfer.environment.environment_tags`); empty where they cannot be read."""
    try:
        from .environment import environment_tags
        from .mlflow_tools import standard_tags

        return {**standard_tags(git, rule), **environment_tags()}
    except Exception:  # a tag is never a reason to lose the run
        return {}


#: the file a tracked job leaves in a model folder it made: its MLflow run, and the runs it came from
RUN_RECORD = "mlflow_run.json"
#: the run id a job tags when the run that made its input is not known (tracking was off, or the
#: input was made before run records existed)
UNKNOWN_RUN = "unknown"


def write_run_record(folder, tracker: JobTracker, links: dict | None = None) -> Path | None:
    """Leave ``tracker``'s run in the model folder ``folder`` (:data:`RUN_RECORD`), with ``links``
    (e.g. ``{"pretrain_run_id": ...}``, the runs of the models it was made from), so that the jobs
    that read the folder tag the run that made it without searching MLflow. Nothing is written
    when the job has no run (tracking off or failed). Returns the file written."""
    if tracker.run_id is None:
        return None
    from .io import write_json

    path = Path(folder) / RUN_RECORD
    write_json(
        path,
        {
            "run_id": tracker.run_id,
            "experiment": tracker.experiment,
            "job": tracker.job_key,
            "links": {k: str(v) for k, v in sorted((links or {}).items())},
        },
    )
    return path


def read_run_record(folder) -> dict:
    """The run record of the model folder ``folder`` (:func:`write_run_record`); ``{}`` when it has
    none or it cannot be read (a run id is a tag, never a reason for a job to fail)."""
    import json

    try:
        record = json.loads((Path(folder) / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def run_of(folder) -> str:
    """The id of the MLflow run that made the model folder ``folder``, or :data:`UNKNOWN_RUN`."""
    return str(read_run_record(folder).get("run_id") or UNKNOWN_RUN)


def link_of(folder, key: str) -> str:
    """The run ``key`` (e.g. ``pretrain_run_id``) the model folder ``folder``'s run came from, or
    :data:`UNKNOWN_RUN`."""
    links = read_run_record(folder).get("links")
    return str(links.get(key) or UNKNOWN_RUN) if isinstance(links, dict) else UNKNOWN_RUN
