"""Data-parallel pre-training: one job, several devices (GPUs, or CPU processes in the tests).

A job with ``gpu: N`` (config ``gpus_per_job: N``, N >= 2) trains with N processes, one device
each, joined by ``torch.distributed`` (``nccl`` on CUDA, ``gloo`` on CPU). The unit of work that
is shared out is the **micro-batch**: one optimizer step of the loop consumes
``gradient_accumulation`` micro-batches of ``batch_size`` examples; with N processes, rank ``r``
computes the micro-batches ``r, r + N, r + 2N, ...`` of every step, the gradients (already divided
by ``gradient_accumulation``) are summed across ranks, and every rank takes the same optimizer
step. Every rank draws every micro-batch from the same batcher and masks it with the same
stateless generator ``(seed, step, micro)`` as a one-device run, so a run on N devices computes
**the same optimizer steps on the same batches with the same masks** as a run on one device with
the same config (up to floating-point summation order and dropout, whose random draws differ per
rank): the number of devices changes the speed, never the experiment, and a checkpoint written
with N devices resumes with any other number. Hence ``gradient_accumulation`` must be a multiple of
N for every device to be busy (config validation enforces it); ``batch_size`` is the micro-batch
of one device.

Processes: the job's own process is rank 0 -- it keeps the MLflow tracker, gets the loop's
callbacks, writes the history, the checkpoints and the final model; ranks 1..N-1 are started with
``python -m alignxfer.parallel SPEC`` (not ``multiprocessing``: a Snakemake script has no
``__main__`` guard to re-import), rebuild the same model, objective and examples from the same
picklable ``setup`` call, train and write nothing. Their output goes to a file that rank 0 copies
into the job's log when they end. When one process fails, the others are stopped and the job
fails with that process's error.
"""

from __future__ import annotations

import datetime
import importlib
import os
import pickle
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

from . import registry
from .training.group import Group
from .training.runtime import set_threads

#: environment variables set in the started ranks (torchrun's names)
RANK_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE")
#: how long ranks wait for each other (process-group rendezvous and each collective)
TIMEOUT = datetime.timedelta(minutes=30)


def default_backend(device) -> str:
    return "nccl" if torch.device(device).type == "cuda" else "gloo"


# --------------------------------------------------------------------------------------------
# launching


def _function(ref):
    module, _, name = ref.partition(":")
    target = importlib.import_module(module)
    for part in name.split("."):
        target = getattr(target, part)
    return target


def _ref(function) -> str:
    return f"{function.__module__}:{function.__qualname__}"


def _run_rank(setup_ref: str, args: tuple, kwargs: dict, rank: int, devices: list, backend: str, callback=None):
    """Build (``setup``) and train on rank ``rank`` of an initialised process group."""
    from .training.loop import train

    device = torch.device(devices[rank])
    if device.type == "cuda":
        torch.cuda.set_device(device)
    prepared = _function(setup_ref)(*args, **kwargs)
    group = Group(rank, len(devices), device, backend)
    summary = train(
        prepared["model"],
        prepared["objective"],
        prepared["examples"],
        **prepared["train"],
        device=device,
        callback=callback,
        group=group,
    )
    return summary, prepared


def run(
    setup,
    args: tuple = (),
    kwargs: dict | None = None,
    *,
    devices: list,
    callback=None,
    threads=None,
    backend: str | None = None,
    timeout: datetime.timedelta = TIMEOUT,
):
    """Train on ``len(devices)`` processes; this process is rank 0. Returns ``(summary, prepared)``.

    ``setup(*args, **kwargs)`` -- a module-level function, called once in every process -- returns
    ``{"model", "objective", "examples", "train": <keyword arguments of pretraining.train>}``
    (plus anything the caller wants back from rank 0's call, e.g. the tokenizer). It must build
    the same model and examples in every process (seed torch before building a model).
    ``devices``: one device per rank, e.g. ``["cuda:0", "cuda:1"]`` or ``["cpu", "cpu"]``.
    ``threads``: torch CPU threads of each process. ``callback`` runs on rank 0 only.
    """
    import torch.distributed as dist

    devices = [str(d) for d in devices]
    world = len(devices)
    if world < 2:
        raise ValueError("data-parallel training needs at least two devices")
    if len({torch.device(d).type for d in devices}) != 1:
        raise ValueError(f"all ranks need the same kind of device, got {devices}")
    backend = backend or default_backend(devices[0])
    kwargs = dict(kwargs or {})
    setup_ref = _ref(setup)
    _function(setup_ref)  # fail here, not in the started processes, when it cannot be imported

    store = dist.TCPStore("127.0.0.1", 0, world, True, timeout=timeout, wait_for_workers=False)
    workdir = Path(tempfile.mkdtemp(prefix="alignxfer-ranks-"))
    env = {
        **os.environ,
        "WORLD_SIZE": str(world),
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        # rank 0 shows the progress; the others' output is kept for errors and warnings
        "TQDM_DISABLE": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    }
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            env[var] = str(threads)
    procs, logs, watchdog = [], [], None
    print(f"data-parallel training on {world} processes ({backend}): {', '.join(devices)}", flush=True)
    initialised = False
    try:
        for rank in range(1, world):
            spec = {
                "setup": setup_ref,
                "args": args,
                "kwargs": kwargs,
                "rank": rank,
                "devices": devices,
                "backend": backend,
                "port": store.port,
                "threads": threads,
                "timeout_s": timeout.total_seconds(),
                "parent": os.getpid(),
                "plugins": sorted(registry.PLUGIN_RECORDS),  # the rank resolves the same names
            }
            spec_path = workdir / f"rank{rank}.pkl"
            spec_path.write_bytes(pickle.dumps(spec))
            log = open(workdir / f"rank{rank}.log", "w+", encoding="utf-8")
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "alignxfer.parallel", str(spec_path)],
                    env={**env, "RANK": str(rank), "LOCAL_RANK": str(rank)},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            )
        watchdog = _Watchdog(procs, logs)
        watchdog.start()
        set_threads(threads)
        dist.init_process_group(backend, store=store, rank=0, world_size=world, timeout=timeout)
        initialised = True
        summary, prepared = _run_rank(setup_ref, args, kwargs, 0, devices, backend, callback)
        dist.barrier()
        for rank, proc in enumerate(procs, start=1):
            code = proc.wait(timeout=timeout.total_seconds())
            if code != 0:
                raise RuntimeError(f"rank {rank} ended with exit code {code}")
        summary["processes"] = world
        return summary, prepared
    except BaseException as err:
        if isinstance(err, RuntimeError):  # maybe a lost peer (gloo): give it time to end and say why
            _wait(procs, 10.0)
        failed = [(r, p.poll()) for r, p in enumerate(procs, start=1) if p.poll() not in (None, 0)]
        _stop(procs)
        if failed and not isinstance(err, KeyboardInterrupt):
            rank, code = failed[0]
            raise RuntimeError(
                f"data-parallel training failed: rank {rank} ended with exit code {code} (its output is above)"
            ) from err
        raise
    finally:
        if watchdog is not None:
            watchdog.stop()
        _stop(procs)
        if initialised:
            dist.destroy_process_group()
        _print_outputs(logs)
        for log in logs:
            log.close()
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


def _print_outputs(logs) -> None:
    for rank, log in enumerate(logs, start=1):
        text = _read(log)
        if text.strip():
            print(f"--- output of rank {rank} ---\n{text.rstrip()}\n--- end of rank {rank} ---", flush=True)


def _read(log) -> str:
    log.flush()
    log.seek(0)
    return log.read()


def _wait(procs, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    for proc in procs:
        try:
            proc.wait(timeout=max(0.01, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass


def _stop(procs, grace: float = 10.0) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + grace
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Watchdog(threading.Thread):
    """Ends the job when a started rank dies while rank 0 may be blocked in a collective.

    gloo notices a lost peer and raises in rank 0 (the job then fails normally, with the rank's
    output); nccl may wait until the collective times out, so after a grace period the process
    exits with an error.
    """

    def __init__(self, procs, logs, grace: float = 60.0):
        super().__init__(daemon=True)
        self.procs, self.logs, self.grace = procs, logs, grace
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def run(self) -> None:
        while not self._stopped.wait(1.0):
            dead = [(r, p.returncode) for r, p in enumerate(self.procs, start=1) if p.poll() not in (None, 0)]
            if dead:
                if self._stopped.wait(self.grace):
                    return
                rank, code = dead[0]
                _stop(self.procs)
                _print_outputs(self.logs)
                print(f"rank {rank} ended with exit code {code}; stopping the job", file=sys.stderr, flush=True)
                os._exit(1)


def _exit_with_parent(parent: int, every_s: float = 2.0) -> None:
    """End this rank when rank 0's process is gone (killed job: no rank may wait in a collective)."""

    def watch():
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _child(spec_path: str) -> int:
    import traceback

    import torch.distributed as dist

    spec = pickle.loads(Path(spec_path).read_bytes())
    rank, devices = spec["rank"], spec["devices"]
    _exit_with_parent(spec["parent"])
    timeout = datetime.timedelta(seconds=spec["timeout_s"])
    try:
        set_threads(spec["threads"])
        registry.load_plugins(spec.get("plugins"))
        store = dist.TCPStore("127.0.0.1", spec["port"], len(devices), False, timeout=timeout)
        dist.init_process_group(spec["backend"], store=store, rank=rank, world_size=len(devices), timeout=timeout)
        _run_rank(spec["setup"], spec["args"], spec["kwargs"], rank, devices, spec["backend"])
        dist.barrier()
        dist.destroy_process_group()
    except BaseException:
        traceback.print_exc()
        sys.stdout.flush()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
