"""The glue between a workflow script and the package: logging, threads and tracking of one job.

A workflow script does::

    from workflow_scripts.snakemake_job import job
    with job(snakemake) as ctx:
        summary = some_package_function(ctx.input..., ctx.output...)
        ctx.tracker.log_metrics(summary)

``job`` only reads the attributes every Snakemake job object has (``rule``, ``wildcards``,
``params``, ``config``, ``log``, ``threads``); the package itself never imports Snakemake.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import time
import traceback
from pathlib import Path

#: errors whose message is the whole story for a user (bad input, a missing or broken file, a
#: full disk): printed as one message, without a traceback on the console (the log keeps it)
USER_ERRORS = (ValueError, OSError)


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


#: rules whose `threads:` is the config's `threads` (rules/*.smk: THREADS); pretrain_base's is
#: base.threads. Snakemake caps a job's threads at --cores, and float sums follow the thread count,
#: so these jobs take their compute threads from the config instead: the results are then the
#: same for every --cores (a job may use more threads than --cores allotted it).
CONFIG_THREAD_RULES = frozenset(
    {
        "train_tokenizer",
        "tokenize_pair",
        "pretrain",
        "finetune",
        "evaluate_zero_shot",
        "evaluate_zero_shot_xnli",
        "evaluate_zero_shot_mlqa",
        "translate_train",
        "retrieval",
        "evaluate_zero_shot_delex",
        "probe",
        "zero_shot_matched",
    }
)
#: the per-task zero-shot rules (alignxfer.registry.zero_shot_rule) are among them, plug-ins' too
CONFIG_THREAD_PREFIXES = ("evaluate_zero_shot_",)


def compute_threads(smk) -> int:
    """The job's compute threads: fixed by the config for the rules above, else Snakemake's."""
    allotted = int(getattr(smk, "threads", 1) or 1)
    config = getattr(smk, "config", None) or {}
    try:
        if smk.rule == "pretrain_base":
            return int(config["base"]["threads"])
        if smk.rule in CONFIG_THREAD_RULES or smk.rule.startswith(CONFIG_THREAD_PREFIXES):
            return int(config["threads"])
    except (KeyError, TypeError, ValueError):
        pass
    return allotted


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


#: prefixes of scratch folders a job keeps beside its outputs while it runs (translate-train's
#: temporary models); a job killed with SIGKILL leaves them, the next run of the job removes them
SCRATCH_PREFIXES = (".model-",)


def remove_leftovers(outputs) -> list[Path]:
    """Remove what a killed run of this job left beside its outputs: the atomic temporaries of its
    outputs (``.NAME.*.tmp``, ``.NAME.old``, alignxfer.io) and scratch folders (SCRATCH_PREFIXES) in
    the outputs' folders. Snakemake gives one job at a time these folders' outputs, so nothing
    here belongs to a running job. Returns what was removed."""
    import shutil

    removed = []
    parents = {}
    for out in map(Path, outputs):
        parents.setdefault(out.parent, set()).add(out.name)
    for parent, names in parents.items():
        if not parent.is_dir():
            continue
        for entry in parent.iterdir():
            mine = any(
                entry.name.startswith(f".{n}.") and (entry.name.endswith(".tmp") or entry.name == f".{n}.old")
                for n in names
            )
            if mine or entry.name.startswith(SCRATCH_PREFIXES):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


def _sigterm(signum, frame):
    from alignxfer.tracking import JobKilled

    raise JobKilled(f"stopped by signal {signal.Signals(signum).name}")


def _report_error(err: BaseException, rule: str, wildcards: dict, handle, log_path) -> bool:
    """Write the traceback of ``err`` to the job's log; True when the console should get one
    message instead of a traceback (a user-facing error, see USER_ERRORS)."""
    text = "".join(traceback.format_exception(type(err), err, err.__traceback__))
    logged = False
    if handle is not None:
        try:
            handle.write(text)
            handle.flush()
            logged = True
        except OSError:  # e.g. the disk that is full holds the log too
            pass
    from alignxfer.tracking import JobKilled

    if isinstance(err, USER_ERRORS + (JobKilled,)):
        where = f" (traceback in {log_path})" if logged else ""
        advice = ""
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            advice = (
                "; the disk is full: free space on it (df -h .) and rerun: the outputs of finished jobs are kept "
                "(Snakemake removes what this job left)"
            )
        print(f"ERROR in {rule} {wildcards}: {err}{advice}{where}", file=sys.__stderr__, flush=True)
        return True
    return False


@contextlib.contextmanager
def job(smk, tags: dict | None = None, project_dir: str | Path | None = None):
    """Run one workflow job: tee output to its log, pin threads, track it in MLflow.

    An exception is written with its traceback to the job's log (where Snakemake sends the user)
    before it leaves the job; a user-facing error (USER_ERRORS) then reaches the console as one
    message and exit status 1, any other exception is re-raised. SIGTERM ends the job through
    :class:`alignxfer.tracking.JobKilled`, so that its MLflow run is marked KILLED.
    """
    from alignxfer.console import LABEL_ENV, job_label, quiet_libraries
    from alignxfer.tracking import limit_http_retries

    threads = compute_threads(smk)
    set_threads(threads)
    limit_http_retries()
    quiet_libraries()  # no progress bars or expected load reports in the job's log
    os.environ[LABEL_ENV] = job_label(smk.rule, {k: v for k, v in smk.wildcards.items()})
    log_path = smk.log[0] if len(smk.log) else None
    project_dir = Path(project_dir or os.getcwd())
    wildcards = {k: v for k, v in smk.wildcards.items()}
    try:
        signal.signal(signal.SIGTERM, _sigterm)
    except ValueError:  # not the main thread
        pass
    try:
        with _job(smk, tags, project_dir, threads, log_path, wildcards) as ctx:
            yield ctx
    except BaseException as err:
        from alignxfer.tracking import JobKilled

        if isinstance(err, (SystemExit, GeneratorExit)):
            raise
        log_handle = None
        if log_path:
            try:
                log_handle = open(log_path, "a", encoding="utf-8")
            except OSError:
                log_handle = None
        try:
            one_message = _report_error(err, smk.rule, wildcards, log_handle, log_path)
        finally:
            if log_handle is not None:
                log_handle.close()
        if isinstance(err, JobKilled):
            raise SystemExit(128 + signal.SIGTERM) from None
        if one_message:
            raise SystemExit(1) from None
        raise


@contextlib.contextmanager
def _job(smk, tags, project_dir, threads, log_path, wildcards):
    from alignxfer import console
    from alignxfer.tracking import UNREACHABLE_ENV, JobTracker

    with contextlib.ExitStack() as stack:
        handle = None
        if log_path:
            Path(log_path).parent.mkdir(parents=True, exist_ok=True)
            handle = stack.enter_context(open(log_path, "w", encoding="utf-8"))
            stack.enter_context(contextlib.redirect_stdout(_Tee(sys.__stdout__, handle)))
            stack.enter_context(contextlib.redirect_stderr(_Tee(sys.__stderr__, handle)))
        for leftover in remove_leftovers(list(smk.output)):
            print(f"[{smk.rule}] removed {leftover}, left by an interrupted run", flush=True)
        from alignxfer.registry import load_plugins

        load_plugins(smk.config.get("plugins"))  # objectives and tasks of one's own, before any name is resolved
        gpus, wanted = [], _gpus(smk)
        if wanted >= 1:  # free GPUs of this machine (alignxfer.devices); several: data-parallel pre-training
            from alignxfer.devices import claim_gpus

            gpus = stack.enter_context(claim_gpus(project_dir / "resources" / "gpu-slots", wanted))
        tracking = smk.config.get("tracking", {})
        enabled = tracking.get("enabled", True)
        unreachable = os.environ.get(UNREACHABLE_ENV)
        if enabled and unreachable:  # the workflow warned once when it was planned; say it in the log only
            enabled = False
            if handle is not None:
                handle.write(f"[tracking] off: {unreachable} (found when the workflow was planned)\n")
        tracker = JobTracker(
            rule=smk.rule,
            wildcards=wildcards,
            params=_params_dict(smk.params),
            config=smk.config,
            project_dir=project_dir,
            enabled=enabled,
            uri=tracking.get("uri"),
            experiment=tracking.get("experiment"),
            tags=tags,
        )
        started = time.time()
        allotted = int(getattr(smk, "threads", 1) or 1)
        note = "" if allotted == threads else f" (from the config; Snakemake allotted {allotted})"
        print(f"{console.label(smk.rule)} started, threads={threads}{note}", flush=True)  # [finetune topic/weam/seed1]
        with tracker:
            yield JobContext(smk, tracker, threads, gpus)
            tracker.log_metrics({"job_seconds": time.time() - started})
        print(f"{console.label(smk.rule)} done in {time.time() - started:.1f}s", flush=True)
