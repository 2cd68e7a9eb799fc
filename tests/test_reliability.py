"""Faults and bad input (issue #16): what a user sees when the tracking server is down, a job
fails or is killed, a config or an input folder is broken. Each test runs the real code path."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from alignxfer import preflight
from alignxfer.config import ConfigError, check_yaml_files, validate_config
from alignxfer.config import main as config_main
from alignxfer.io import atomic_dir, atomic_open, write_json
from alignxfer.tracking import UNREACHABLE_ENV, JobTracker, limit_http_retries, server_unreachable
from workflow_scripts.snakemake_job import compute_threads, remove_leftovers

REPO = Path(__file__).resolve().parent.parent
BITEXT = REPO / "tests" / "fixtures" / "bitext"
DEAD = "http://127.0.0.1:9"  # discard port: nothing listens


# -- a job run as Snakemake runs a script: a separate Python process with a `snakemake` object -------
JOB_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from types import SimpleNamespace
    from workflow_scripts.snakemake_job import job

    class Named(list):
        def items(self):
            return dict(self.__dict__).items()

    mode, log, uri = sys.argv[1], sys.argv[2], sys.argv[3]
    smk = SimpleNamespace(rule="prepare_pair", wildcards=Named(), params=Named(), log=[log], output=Named(), input=Named(),
                          threads=1, resources=SimpleNamespace(), config={"study": "faults", "tracking": {"uri": uri}})
    smk.wildcards.lang = "de"
    with job(smk) as ctx:
        print("working", flush=True)
        if mode == "value":
            raise ValueError("corpus/en-de.jsonl:3: the pair has no English side; fix line 3")
        if mode == "bug":
            raise KeyError("no_such_key")
        if mode == "sleep":
            print("ready", flush=True)
            time.sleep(60)
    """
)


def run_job(tmp_path, mode, uri=None, env=None, wait=True):
    script = tmp_path / "job.py"
    script.write_text(JOB_SCRIPT)
    log = tmp_path / "logs" / "job.log"
    uri = uri or f"sqlite:///{tmp_path / 'mlflow.db'}"
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    cmd = [sys.executable, str(script), mode, str(log), uri]
    if not wait:
        return subprocess.Popen(
            cmd, cwd=tmp_path, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ), log
    return subprocess.run(cmd, cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=300), log


def runs(db: Path) -> list[tuple]:
    con = sqlite3.connect(db)
    rows = con.execute(
        "select r.name, r.status, (select value from tags t where t.run_uuid = r.run_uuid and t.key = 'error') "
        "from runs r order by r.start_time"
    ).fetchall()
    con.close()
    return rows


def test_a_user_error_reaches_the_log_with_its_traceback_and_the_console_as_one_message(tmp_path):
    result, log = run_job(tmp_path, "value")
    assert result.returncode == 1
    assert "ERROR in prepare_pair {'lang': 'de'}: corpus/en-de.jsonl:3: the pair has no English side" in result.stderr
    assert "Traceback" not in result.stderr and f"traceback in {log}" in result.stderr
    text = log.read_text()
    assert "working" in text and "Traceback (most recent call last)" in text
    assert "ValueError: corpus/en-de.jsonl:3: the pair has no English side" in text
    # the run is FAILED and carries the error text
    [(name, status, error)] = runs(tmp_path / "mlflow.db")
    assert (name, status) == ("prepare_pair[lang=de]", "FAILED")
    assert error == "ValueError: corpus/en-de.jsonl:3: the pair has no English side; fix line 3"


def test_a_bug_keeps_its_traceback_on_the_console_and_in_the_log(tmp_path):
    result, log = run_job(tmp_path, "bug")
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "KeyError: 'no_such_key'" in result.stderr
    assert "KeyError: 'no_such_key'" in log.read_text()


def test_sigterm_marks_the_run_killed_and_a_sigkilled_run_is_closed_by_the_next_start(tmp_path):
    proc, log = run_job(tmp_path, "sleep", wait=False)
    for line in proc.stdout:
        if "ready" in line:
            break
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert "stopped by signal SIGTERM" in err and "Traceback" not in err
    assert runs(tmp_path / "mlflow.db")[-1][:2] == ("prepare_pair[lang=de]", "KILLED")
    # SIGKILL cannot be caught: the run stays RUNNING until the same job starts again
    proc, log = run_job(tmp_path, "sleep", wait=False)
    for line in proc.stdout:
        if "ready" in line:
            break
    proc.kill()
    proc.wait()
    assert runs(tmp_path / "mlflow.db")[-1][1] == "RUNNING"
    result, _ = run_job(tmp_path, "ok")
    assert result.returncode == 0, result.stderr
    rows = runs(tmp_path / "mlflow.db")
    assert [r[1] for r in rows] == ["KILLED", "KILLED", "FINISHED"]
    assert rows[1][2].startswith("the job was killed before it finished")


def test_an_unreachable_server_costs_a_job_seconds_not_minutes(tmp_path):
    assert server_unreachable(DEAD).startswith(DEAD)
    assert server_unreachable("sqlite:///x.db") is None
    started = time.monotonic()
    result, log = run_job(tmp_path, "ok", uri=DEAD, env={})
    took = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert took < 60, took  # MLflow alone retries for ~4 minutes
    assert result.stderr.count("[tracking]") == 1
    assert f"[tracking] {DEAD} does not answer" in result.stderr and "tracking is off for this job" in result.stderr


def test_the_workflow_probes_once_and_jobs_only_note_it_in_their_log(tmp_path, monkeypatch):
    monkeypatch.delenv(UNREACHABLE_ENV, raising=False)
    cfg = validate_config({"study": "faults", "tracking": {"uri": DEAD}})
    warning = preflight.check_tracking(cfg, tmp_path)
    assert warning.startswith(f"WARNING: tracking server {DEAD} does not answer") and "tracking is off" in warning
    assert os.environ[UNREACHABLE_ENV].startswith(DEAD)
    result, log = run_job(tmp_path, "ok", uri=DEAD, env={UNREACHABLE_ENV: os.environ[UNREACHABLE_ENV]})
    assert result.returncode == 0 and "[tracking]" not in result.stderr
    assert "[tracking] off:" in log.read_text()
    monkeypatch.delenv(UNREACHABLE_ENV)


def test_http_retries_are_capped_unless_the_user_set_them():
    env = {"MLFLOW_HTTP_REQUEST_TIMEOUT": "300"}
    assert limit_http_retries(env) == {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "300"}


def test_experiment_creation_treats_already_exists_as_success(tmp_path):
    from mlflow.tracking import MlflowClient

    from alignxfer.tracking import experiment_id

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    first = experiment_id(client, "race")

    class Late:  # a client that looked before the other process created the experiment
        def __init__(self):
            self.calls = 0

        def get_experiment_by_name(self, name):
            self.calls += 1
            return None if self.calls == 1 else client.get_experiment_by_name(name)

        def create_experiment(self, name, **kwargs):
            return client.create_experiment(name, **kwargs)  # raises RESOURCE_ALREADY_EXISTS

    assert experiment_id(Late(), "race") == first


# -- config ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key,value",
    [
        ("architecture", "amd64 trusted=yes"),
        ("architecture", "amd64]"),
        ("suite", "bookworm\ndeb [trusted=yes] http://evil.example/debian bookworm main"),
        ("suite", "bookworm\n"),
        ("component", "main contrib"),
        ("mirror", "http://deb.debian.org/debian trusted"),
        ("mirror", "[trusted=yes] http://x"),
        ("mirror", "ftp://deb.debian.org/debian"),
    ],
)
def test_apt_fields_refuse_injection(key, value):
    with pytest.raises(ConfigError, match=rf"corpus\.ddtp\.{key}: "):
        validate_config({"corpus": {"ddtp": {key: value}}})


def test_apt_fields_accept_real_values():
    ddtp = {
        "mirror": "https://snapshot.debian.org/archive/debian/20240101T000000Z",
        "suite": "bookworm-updates",
        "component": "non-free-firmware",
        "architecture": "arm64",
    }
    assert validate_config({"corpus": {"ddtp": ddtp}})["corpus"]["ddtp"] == ddtp
    validate_config({"corpus": {"ddtp": {"mirror": "file:///tmp/mirror", "suite": "updates/main"}}})


def test_the_invalid_utf8_advice_can_be_followed(tmp_path):
    from alignxfer.sources import get_source

    pair = {"de": {"format": "tsv", "path": str(BITEXT / "bad-utf8.tsv")}}
    strict = validate_config(
        {
            "corpus": {"source": "local", "languages": ["de"], "local": {"pairs": pair}},
            "tasks": {"topic": {"enabled": False}},
        }
    )
    with pytest.raises(ValueError, match=r"bad-utf8\.tsv:2: invalid UTF-8 .* set corpus\.local\.invalid_utf8: replace"):
        get_source("local", strict["corpus"]["local"]).fetch_pair(
            "de", tmp_path / "c", tmp_path / "a.jsonl", tmp_path / "a.json"
        )
    # the key the message names is accepted and reaches the source (rule download_pair passes corpus.local)
    cfg = validate_config(
        {
            "corpus": {"source": "local", "languages": ["de"], "local": {"invalid_utf8": "replace", "pairs": pair}},
            "tasks": {"topic": {"enabled": False}},
        }
    )
    manifest = get_source("local", cfg["corpus"]["local"]).fetch_pair(
        "de", tmp_path / "c", tmp_path / "b.jsonl", tmp_path / "b.json"
    )
    assert manifest["counts"]["invalid_utf8_replaced"] == 1


def test_odd_contrastive_batch_size_fails_at_validation():
    with pytest.raises(ConfigError, match=r"base\.training\.batch_size: 15 is odd; .* must be even \(e\.g\. 16\)"):
        validate_config({"base": {"training": {"objective": "contrastive", "batch_size": 15}}})
    validate_config({"base": {"training": {"objective": "mlm", "batch_size": 15}}})


def test_yaml_syntax_error_names_file_and_line(tmp_path, capsys):
    bad = tmp_path / "overlay.yaml"
    bad.write_text("study: x\ncorpus:\n  languages: [de\n  source: ddtp\n")
    with pytest.raises(ConfigError, match=rf"{bad}:4:9: not valid YAML: .*began at line 3"):
        check_yaml_files([bad])
    assert config_main([str(bad)]) == 1
    assert f"{bad}:4:9: not valid YAML" in capsys.readouterr().err
    good = tmp_path / "ok.yaml"
    good.write_text(yaml.safe_dump({"corpus": {"languages": ["de"]}}))
    assert config_main([str(good)]) == 0


# -- folders the jobs read ---------------------------------------------------------------------------
def _model_folder(path: Path) -> Path:
    import torch
    from safetensors.torch import save_file

    path.mkdir(parents=True)
    save_file({"w": torch.zeros(64, 64)}, str(path / "model.safetensors"))
    (path / "config.json").write_text("{}")
    (path / "tokenizer_config.json").write_text("{}")
    (path / "tokenizer.json").write_text("{}")
    return path


def test_truncated_weights_and_missing_tokenizer_name_the_folder(tmp_path):
    model = _model_folder(tmp_path / "results" / "models" / "mlm" / "model")
    preflight.check_folders({}, tmp_path)  # complete: nothing to say
    weights = model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])
    (model / "tokenizer.json").unlink()
    with pytest.raises(preflight.PreflightError) as info:
        preflight.check_folders({}, tmp_path)
    text = str(info.value)
    assert f"{weights} is truncated: 5000 bytes of the" in text
    assert f"{model}: tokenizer.json is missing" in text
    assert f"delete {model} and rerun" in text and "nothing was deleted" in text


@pytest.fixture
def open_tmp():
    """A folder 'nobody' can reach (pytest's tmp_path is private to its user)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="alignxfer-ro-", dir="/tmp"))
    yield path
    for folder, dirs, _ in os.walk(path):
        for d in dirs:
            os.chmod(Path(folder) / d, 0o755)
    shutil.rmtree(path)


def test_a_read_only_results_folder_is_found_before_any_job(open_tmp):
    """As an ordinary user (root may write anywhere): setpriv runs the check as 'nobody'."""
    if not Path("/usr/bin/setpriv").exists() or os.geteuid() != 0:
        pytest.skip("needs root and setpriv to run the check as another user")
    tmp_path = open_tmp
    logs = tmp_path / "results" / "logs"
    logs.mkdir(parents=True)
    (tmp_path / "results" / "tables").mkdir()
    os.chmod(tmp_path, 0o777)
    for d in (tmp_path / "results", tmp_path / "results" / "tables"):
        os.chmod(d, 0o777)
    os.chmod(logs, 0o555)
    code = f"from alignxfer import preflight; preflight.check_writable({str(tmp_path)!r})"
    result = subprocess.run(
        ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd="/",
    )
    if "Permission denied" in result.stderr and "alignxfer" not in result.stderr:
        pytest.skip("the checkout is not readable by nobody")
    assert result.returncode == 1
    assert f"PreflightError: cannot write to {logs}" in result.stderr
    os.chmod(logs, 0o777)
    ok = subprocess.run(
        ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        cwd="/",
    )
    assert ok.returncode == 0, ok.stderr


# -- leftovers, modes, threads ---------------------------------------------------------------------------
def test_leftovers_of_a_killed_run_are_removed_and_nothing_else(tmp_path):
    seed = tmp_path / "results" / "finetune" / "topic" / "weam" / "de" / "seed2"
    (seed / ".model-abc123" / "model").mkdir(parents=True)
    (seed / ".history.jsonl.x1.tmp").write_text("partial")
    (seed / "notes.txt").write_text("keep")
    (seed / ".other.json.x.tmp").write_text("another output's temporary")
    removed = remove_leftovers([seed / "history.jsonl", seed / "dev.json"])
    assert sorted(p.name for p in removed) == [".history.jsonl.x1.tmp", ".model-abc123"]
    assert sorted(p.name for p in seed.iterdir()) == [".other.json.x.tmp", "notes.txt"]


def test_atomic_outputs_get_the_modes_of_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"x": 1})
        with atomic_open(tmp_path / "b.txt") as handle:
            handle.write("b")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f").write_text("f")
        os.umask(0o077)
        write_json(tmp_path / "private.json", {})
    finally:
        os.umask(old)

    def mode(p):
        return stat.S_IMODE(p.stat().st_mode)

    assert (mode(tmp_path / "a.json"), mode(tmp_path / "b.txt"), mode(tmp_path / "d")) == (0o644, 0o644, 0o755)
    assert mode(tmp_path / "private.json") == 0o600


def test_compute_threads_come_from_the_config_not_the_cores_cap():
    from types import SimpleNamespace

    cfg = {"threads": 2, "base": {"threads": 3}}

    def capped(rule):  # (--cores 1)
        return SimpleNamespace(rule=rule, threads=1, config=cfg)

    assert compute_threads(capped("pretrain_base")) == 3
    assert compute_threads(capped("finetune")) == 2 and compute_threads(capped("evaluate_zero_shot_xnli")) == 2
    assert compute_threads(capped("align")) == 1  # its own threads: 1


# -- a real tracking server, eight jobs at once (issue #13) -------------------------------------------------
def _server_job(args):
    uri, project, index, start_at = args
    cfg = validate_config({"study": "race-fresh"})
    while time.time() < start_at:  # every process calls MLflow at the same moment
        time.sleep(0.001)
    with JobTracker(
        rule="finetune", wildcards={"seed": index}, params={"i": index}, config=cfg, project_dir=project, uri=uri
    ) as tracker:
        tracker.log_metrics({"accuracy": index / 10})
        return tracker.run_id, tracker.enabled


@pytest.fixture
def mlflow_server(tmp_path):
    import socket
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--backend-store-uri",
            f"sqlite:///{tmp_path / 'server.db'}",
            "--default-artifact-root",
            (tmp_path / "artifacts").as_uri(),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("mlflow server did not start within 120 s")
    yield uri
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


@pytest.mark.slow
def test_eight_jobs_starting_at_once_on_a_fresh_experiment_all_record_their_run(tmp_path, mlflow_server):
    import multiprocessing as mp

    from mlflow.tracking import MlflowClient

    jobs = 8
    ctx = mp.get_context("spawn")
    start_at = time.time() + 15  # after the workers have imported mlflow
    with ctx.Pool(jobs) as pool:
        results = pool.map(_server_job, [(mlflow_server, str(tmp_path), i, start_at) for i in range(jobs)])
    assert all(enabled for _, enabled in results), "a job turned tracking off"
    client = MlflowClient(tracking_uri=mlflow_server)
    exp = client.get_experiment_by_name("race-fresh")
    recorded = client.search_runs([exp.experiment_id])
    assert len(recorded) == jobs == len({run_id for run_id, _ in results})
    assert {r.info.status for r in recorded} == {"FINISHED"}
    assert sorted(r.data.metrics["accuracy"] for r in recorded) == [i / 10 for i in range(jobs)]


# -- hostile archives: refused by an explicit check -----------------------------------------------------
def _tar_with(path: Path, member, data: bytes = b"") -> Path:
    import io
    import tarfile

    with tarfile.open(path, "w:gz") as archive:
        ok = tarfile.TarInfo("en-de/train.en")
        ok.size = 6
        archive.addfile(ok, io.BytesIO(b"Hello\n"))
        member.size = len(data) if member.isreg() else 0
        archive.addfile(member, io.BytesIO(data) if member.isreg() else None)
    return path


@pytest.mark.parametrize(
    "name,kind,message",
    [
        ("../../etc/passwd", "reg", "has an absolute path or '..'"),
        ("/etc/passwd", "reg", "has an absolute path or '..'"),
        ("en-de/train.de", "hardlink", "is a hard link (to '/etc/hostname'), not a regular file"),
        ("en-de/train.de", "symlink", "is a symbolic link (to '/etc/hostname'), not a regular file"),
        ("en-de/train.de", "chr", "is a device file, not a regular file"),
        ("..", "dir", "has an absolute path or '..'"),
    ],
)
def test_hostile_archive_members_are_refused_by_a_check(tmp_path, name, kind, message):
    import tarfile

    from alignxfer.sources import get_source

    info = tarfile.TarInfo(name)
    info.type = {
        "reg": tarfile.REGTYPE,
        "hardlink": tarfile.LNKTYPE,
        "symlink": tarfile.SYMTYPE,
        "chr": tarfile.CHRTYPE,
        "dir": tarfile.DIRTYPE,
    }[kind]
    if kind in ("hardlink", "symlink"):
        info.linkname = "/etc/hostname"
    archive = _tar_with(tmp_path / "en-de.tar.gz", info, b"Hallo\n")
    src = get_source(
        "local",
        {
            "pairs": {
                "de": {
                    "format": "moses",
                    "path": str(archive),
                    "en": {"member": "en-de/train.en"},
                    "xx": {"member": name},
                }
            }
        },
    )
    with pytest.raises(ValueError, match=r"member .* refused") as err:
        src.fetch_pair("de", tmp_path / "c", tmp_path / "o.jsonl", tmp_path / "o.json")
    assert message in str(err.value)
    assert not (tmp_path / "o.jsonl").exists()
