"""Tracking under load: P processes x N runs each through alignxfer.tracking, all starting at the
same moment, against an SQLite file and against a real `mlflow server` (started here on a free port
with an SQLite backend). Prints, per backend, runs started / runs recorded / runs FINISHED with
all their metrics, and the failures seen (e.g. "database is locked").

    PYTHONPATH=. python scripts/load_suite.py [--processes 4] [--runs 20] [--backend sqlite,server]

Each run is what a workflow job does: JobTracker start (experiment lookup, stale-run search,
create_run, params), 5 metric steps of 3 metrics, flush, set_terminated. Exit status 1 if any
run was lost or any process turned tracking off. tests/test_faults_load.py runs a smaller load.
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import redirect_stderr
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

STEPS = 5
METRICS = ("loss", "accuracy", "tokens_per_s")


def worker(args) -> dict:
    """One process: ``runs`` runs one after the other, the first at ``start_at``."""
    uri, project, proc, runs, experiment, start_at = args
    from alignxfer.config import validate_config
    from alignxfer.tracking import JobTracker

    cfg = validate_config({"study": experiment})
    errors = io.StringIO()
    started = ids = 0
    disabled = []
    run_ids = []
    while time.time() < start_at:
        time.sleep(0.001)
    with redirect_stderr(errors):
        for i in range(runs):
            started += 1
            tracker = JobTracker(
                rule="load",
                wildcards={"proc": proc, "run": i},
                params={"proc": proc, "run": i},
                config=cfg,
                project_dir=project,
                uri=uri,
                stream=errors,
            )
            with tracker:
                for step in range(STEPS):
                    tracker.log_metrics({m: proc + i / 100 + step for m in METRICS}, step=step)
            if tracker.run_id:
                ids += 1
                run_ids.append(tracker.run_id)
            if not tracker.enabled:
                disabled.append(i)
    return {
        "proc": proc,
        "started": started,
        "with_id": ids,
        "run_ids": run_ids,
        "disabled": disabled,
        "errors": errors.getvalue(),
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(folder: Path, workers: int = 2) -> tuple[subprocess.Popen, str]:
    port = free_port()
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
            str(workers),
            "--backend-store-uri",
            f"sqlite:///{folder / 'server.db'}",
            "--default-artifact-root",
            (folder / "artifacts").as_uri(),
        ],
        stdout=open(folder / "server.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited with {proc.returncode}; see {folder / 'server.log'}")
        try:
            with urllib.request.urlopen(uri + "/health", timeout=2):
                return proc, uri
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"mlflow server did not answer within 180 s; see {folder / 'server.log'}")


def stop_server(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)


def stress(uri: str, project: Path, processes: int, runs: int, experiment: str) -> dict:
    """Run the load and count what the backend recorded."""
    from mlflow.tracking import MlflowClient

    ctx = mp.get_context("spawn")
    start_at = time.time() + 20  # after every worker has imported mlflow
    began = time.monotonic()
    with ctx.Pool(processes) as pool:
        results = pool.map(worker, [(uri, str(project), p, runs, experiment, start_at) for p in range(processes)])
    seconds = time.monotonic() - began - 20
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    recorded = client.search_runs([exp.experiment_id], max_results=50000) if exp else []
    complete = [
        r
        for r in recorded
        if r.info.status == "FINISHED"
        and all(m in r.data.metrics for m in METRICS)
        and r.data.params.get("run") is not None
    ]
    steps_ok = 0
    for run in complete[: min(len(complete), 8)]:  # every step of a sample of runs
        history = client.get_metric_history(run.info.run_id, "loss")
        steps_ok += sorted(m.step for m in history) == list(range(STEPS))
    errors = "".join(r["errors"] for r in results)
    return {
        "started": sum(r["started"] for r in results),
        "with_id": sum(r["with_id"] for r in results),
        "recorded": len(recorded),
        "finished_complete": len(complete),
        "distinct_ids": len({i for r in results for i in r["run_ids"]}),
        "disabled": sum(len(r["disabled"]) for r in results),
        "locked": errors.count("database is locked"),
        "errors": errors,
        "sample_steps_ok": f"{steps_ok}/{min(len(complete), 8)}",
        "seconds": seconds,
    }


def report(name: str, uri: str, counts: dict) -> bool:
    ok = (
        counts["started"] == counts["recorded"] == counts["finished_complete"] == counts["distinct_ids"]
        and counts["disabled"] == 0
        and counts["locked"] == 0
    )
    print(
        f"{name} ({uri}): runs started {counts['started']}, recorded {counts['recorded']}, FINISHED with all "
        f"metrics {counts['finished_complete']}, tracking turned off {counts['disabled']}, 'database is locked' "
        f"{counts['locked']}, metric steps complete in sampled runs {counts['sample_steps_ok']} "
        f"({counts['seconds']:.0f} s) -> {'OK' if ok else 'RUNS LOST'}",
        flush=True,
    )
    noise = ("INFO mlflow.", "INFO alembic.")  # the schema created on the first connection
    errors = [line for line in counts["errors"].splitlines() if line.strip() and not any(n in line for n in noise)]
    if errors:
        print("  errors:\n  " + "\n  ".join(errors)[:3000])
    return ok


def study_counts(study: Path) -> dict:
    """Jobs a finished study's Snakemake consoles report finished (rule all aside) against the
    top-level MLflow runs of its tracking database, by status."""
    import re
    import sqlite3

    logs = sorted(study.glob("kill-suite-start*.log")) or sorted(study.glob("run.log"))
    finished = 0
    locked = 0
    for log in logs:
        text = log.read_text(errors="replace")
        finished += len([m for m in re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", text) if m != "all"])
        locked += text.count("database is locked")
    for log in (study / "results" / "logs").rglob("*.log"):
        locked += log.read_text(errors="replace").count("database is locked")
    con = sqlite3.connect(study / "mlflow.db")
    rows = con.execute(
        "select r.status, count(*) from runs r where not exists (select 1 from tags t where t.run_uuid = r.run_uuid "
        "and t.key = 'mlflow.parentRunId') and exists (select 1 from tags t where t.run_uuid = r.run_uuid and "
        "t.key = 'rule' and t.value != 'workflow') group by r.status"
    ).fetchall()
    con.close()
    return {"consoles": len(logs), "jobs_finished": finished, "runs": dict(rows), "locked": locked}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--backend", default="sqlite,server")
    parser.add_argument("--server-workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument(
        "--study",
        type=Path,
        help="instead: count a finished study's jobs (its Snakemake consoles: run.log or the kill "
        "suite's kill-suite-start*.log) against the runs in its mlflow.db",
    )
    args = parser.parse_args()
    if args.study:
        counts = study_counts(args.study)
        runs = counts["runs"]
        ok = runs.get("FINISHED", 0) == counts["jobs_finished"] and not runs.get("RUNNING") and not counts["locked"]
        print(
            f"{args.study}: jobs finished (Snakemake, {counts['consoles']} consoles) {counts['jobs_finished']}, MLflow "
            f"runs FINISHED {runs.get('FINISHED', 0)}, KILLED {runs.get('KILLED', 0)}, FAILED {runs.get('FAILED', 0)}, "
            f"RUNNING {runs.get('RUNNING', 0)}; 'database is locked' {counts['locked']} -> "
            f"{'OK' if ok else 'RUNS LOST'}"
        )
        return 0 if ok else 1
    root = args.keep or Path(tempfile.mkdtemp(prefix="load-suite-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"{args.processes} processes x {args.runs} runs, starting together; folder {root}", flush=True)
    ok = True
    for backend in args.backend.split(","):
        folder = root / backend
        folder.mkdir(exist_ok=True)
        if backend == "sqlite":
            uri = f"sqlite:///{folder / 'mlflow.db'}"
            ok &= report("SQLite", uri, stress(uri, folder, args.processes, args.runs, "load-sqlite"))
        elif backend == "server":
            server, uri = start_server(folder, args.server_workers)
            try:
                ok &= report("mlflow server", uri, stress(uri, folder, args.processes, args.runs, "load-server"))
            finally:
                stop_server(server)
        else:
            parser.error(f"unknown backend {backend!r} (sqlite, server)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
