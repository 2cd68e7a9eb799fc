"""The glue between a workflow script and the package: logging, threads and tracking of one job.

A workflow script does::

    from alignxfer.jobs import job
    with job(snakemake) as ctx:
        summary = some_package_function(ctx.input..., ctx.output...)
        ctx.tracker.log_metrics(summary)

``job`` only reads the attributes every Snakemake job object has (``rule``, ``wildcards``,
``params``, ``config``, ``log``, ``threads``); the package itself never imports Snakemake.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, data):
        for stream in self.streams:
            stream.write(data)
            stream.flush()
        return len(data)

    def flush(self):
        for stream in self.streams:
            stream.flush()

    def isatty(self):
        return False


def set_threads(threads: int) -> None:
    """Limit every math library of this process to ``threads`` (call before torch is imported)."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if "torch" in sys.modules:
        import torch

        torch.set_num_threads(threads)


def _params_dict(params) -> dict:
    try:
        return {k: v for k, v in params.items()}
    except AttributeError:
        return dict(params or {})


def _gpus(smk) -> int:
    """The job's ``gpu`` resource (0 when the rule declares none)."""
    try:
        return int(getattr(smk.resources, "gpu", 0) or 0)
    except (TypeError, ValueError):
        return 0


def parallel_devices(gpus: list) -> list[str] | None:
    """The devices of a data-parallel job (``["cuda:<i>", ...]``), or None for a one-device job."""
    return [f"cuda:{i}" for i in gpus] if len(gpus) >= 2 else None


class JobContext:
    def __init__(self, smk, tracker, threads: int, gpus: list | None = None):
        self.smk = smk
        self.tracker = tracker
        self.threads = threads
        #: indices of the GPUs this job claimed ([] on a machine without GPU)
        self.gpus = list(gpus or [])
        #: one device per process for data-parallel training (gpu >= 2 and as many GPUs here), else None
        self.devices = parallel_devices(self.gpus)
        self.input = smk.input
        self.output = smk.output
        self.params = smk.params
        self.wildcards = smk.wildcards
        self.config = smk.config


@contextlib.contextmanager
def job(smk, tags: dict | None = None, project_dir: str | Path | None = None):
    """Run one workflow job: tee output to its log, pin threads, track it in MLflow."""
    from .tracking import JobTracker

    from .console import LABEL_ENV, job_label, quiet_libraries

    threads = int(getattr(smk, "threads", 1) or 1)
    set_threads(threads)
    quiet_libraries()  # no progress bars or expected load reports in the job's log
    os.environ[LABEL_ENV] = job_label(smk.rule, {k: v for k, v in smk.wildcards.items()})
    log_path = smk.log[0] if len(smk.log) else None
    project_dir = Path(project_dir or os.getcwd())
    with contextlib.ExitStack() as stack:
        if log_path:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            handle = stack.enter_context(open(log_path, "w", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(_Tee(sys.__stdout__, handle)))
            stack.enter_context(contextlib.redirect_stderr(_Tee(sys.__stderr__, handle)))
        gpus, wanted = [], _gpus(smk)
        if wanted >= 1:  # free GPUs of this machine (alignxfer.devices); several: data-parallel pre-training
            from .devices import claim_gpus

            gpus = stack.enter_context(claim_gpus(project_dir / "resources" / "gpu-slots", wanted))
        tracking = smk.config.get("tracking", {})
        wildcards = {k: v for k, v in smk.wildcards.items()}
        tracker = JobTracker(
            rule=smk.rule,
            wildcards=wildcards,
            params=_params_dict(smk.params),
            config=smk.config,
            project_dir=project_dir,
            enabled=tracking.get("enabled", True),
            uri=tracking.get("uri"),
            experiment=tracking.get("experiment"),
            tags=tags,
        )
        started = time.time()
        print(f"[{smk.rule}] {wildcards} threads={threads}", flush=True)
        with tracker:
            yield JobContext(smk, tracker, threads, gpus)
            tracker.log_metrics({"job_seconds": time.time() - started})
        print(f"[{smk.rule}] done in {time.time() - started:.1f}s", flush=True)
