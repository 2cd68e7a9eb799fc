"""Which GPUs a job uses when several jobs share a machine with several GPUs.

Snakemake's local executor counts GPUs (``--resources gpu=N`` against each rule's
``resources: gpu=K``) but does not say *which* GPUs a job gets, and every process would otherwise
start on ``cuda:0``. :func:`claim_gpu` gives a job one GPU of its machine for its lifetime: it
takes the first free slot among ``gpu<i>.lock`` files (an exclusive ``flock``, released when the
job's process ends, also on a crash) and makes ``cuda:<i>`` torch's current device, so the
training loops' ``torch.device("cuda")`` lands there. :func:`claim_gpus` does the same for a job
with ``gpu: K`` >= 2 (data-parallel pre-training, :mod:`alignxfer.parallel`): it takes K free
slots at once and yields their indices; the job then runs one process per GPU, ``cuda:<i>``
each. ``CUDA_VISIBLE_DEVICES`` is left alone (torch reads it once, at its first CUDA call), so the
indices are those of the devices this process sees, in its own process and its children alike.

With no more visible GPUs than the job asks for (a SLURM job: the scheduler already isolated
them), nothing is claimed; with none, a job that asks for GPUs fails at once (:class:`NoCudaError`:
a CPU-only torch build, or a driver too old for the build), instead of training on the CPU for days. Lock files live under ``<lock_dir>/<hostname>/`` so that jobs
of different cluster nodes sharing a file system never wait for each other. A one-GPU job that
finds every slot taken (more concurrent GPU jobs than GPUs: ``--resources gpu`` larger than the
machine has) waits for the slot numbered by its process id modulo the GPU count, and says so in
its log; a several-GPU job polls until enough slots are free at once, holding none while it
waits (so that two such jobs can never each hold a part of what the other needs).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path


def _lock(handle, blocking: bool) -> bool:
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


@contextlib.contextmanager
def claim_slot(lock_dir, count: int) -> Iterator[int]:
    """Hold one of ``count`` slots (files ``gpu<i>.lock`` in ``lock_dir``) while the block runs; yields its index."""
    if count < 1:
        raise ValueError("there must be at least one slot")
    folder = Path(lock_dir)
    folder.mkdir(parents=True, exist_ok=True)
    handles = []
    try:
        chosen = None
        for index in range(count):
            handle = open(folder / f"gpu{index}.lock", "a+")
            if _lock(handle, blocking=False):
                handles.append(handle)
                chosen = index
                break
            handle.close()
        if chosen is None:
            chosen = os.getpid() % count
            print(f"every one of the {count} GPUs is taken by another job; waiting for GPU {chosen}", flush=True)
            handle = open(folder / f"gpu{chosen}.lock", "a+")
            handles.append(handle)
            _lock(handle, blocking=True)
        yield chosen
    finally:
        for handle in handles:
            handle.close()  # closing the file releases the lock


@contextlib.contextmanager
def claim_gpu(lock_dir="resources/gpu-slots") -> Iterator[int | None]:
    """Make a free GPU of this machine torch's current device for the block; yields its index
    (:func:`claim_gpus` with one GPU; None where ``ALIGNXFER_ALLOW_CPU=1`` lets it run without)."""
    with claim_gpus(lock_dir, 1) as indices:
        yield indices[0] if indices else None


def native_bf16(device) -> bool:
    """Whether ``device`` runs bf16 natively: a CUDA GPU of compute capability >= 8 (Ampere and later;
    V100 and T4 only emulate it, slower than fp32), or a CPU with AVX-512 BF16 / AMX."""
    import torch

    device = torch.device(device)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            return False
        major, _ = torch.cuda.get_device_capability(device)
        if major < 8:
            return False
        try:
            return bool(torch.cuda.is_bf16_supported(including_emulation=False))
        except TypeError:  # an older torch without the argument
            return True
    if device.type == "cpu":
        cpu = getattr(torch, "cpu", None)
        for check in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
            fn = getattr(cpu, check, None)
            if fn is not None and fn():
                return True
        return False
    return False


@contextlib.contextmanager
def claim_slots(lock_dir, count: int, wanted: int, poll_s: float = 5.0) -> Iterator[list[int]]:
    """Hold ``wanted`` of ``count`` slots while the block runs; yields their indices (ascending).

    One slot: :func:`claim_slot`. Several: under a short-lived ``claim.lock`` (so that two
    claimers do not split the free slots between them), take free slots without waiting; when
    there are not enough, release them all and try again ``poll_s`` seconds later.
    """
    if not 1 <= wanted <= count:
        raise ValueError(f"cannot claim {wanted} of {count} slots")
    if wanted == 1:
        with claim_slot(lock_dir, count) as index:
            yield [index]
        return
    folder = Path(lock_dir)
    folder.mkdir(parents=True, exist_ok=True)
    handles, said = [], False
    try:
        while True:
            with open(folder / "claim.lock", "a+") as mutex:
                _lock(mutex, blocking=True)
                for index in range(count):
                    handle = open(folder / f"gpu{index}.lock", "a+")
                    if _lock(handle, blocking=False):
                        handles.append((index, handle))
                        if len(handles) == wanted:
                            break
                    else:
                        handle.close()
            if len(handles) == wanted:
                break
            for _, handle in handles:
                handle.close()
            handles = []
            if not said:
                print(f"fewer than {wanted} of the {count} GPUs are free; waiting for them", flush=True)
                said = True
            time.sleep(poll_s)
        yield [index for index, _ in handles]
    finally:
        for _, handle in handles:
            handle.close()


#: set to 1 to let a job that asks for GPUs run on the CPU when it sees none (tests, CPU-only trials)
ALLOW_CPU_ENV = "ALIGNXFER_ALLOW_CPU"


class NoCudaError(RuntimeError):
    """A job asks for a GPU and torch sees none."""


def no_cuda_message(wanted: int) -> str:
    """Why a GPU job sees no CUDA device (this torch build, the driver, the scheduler) and what to do."""
    import torch

    build = torch.version.cuda
    if build is None:
        why = (
            f"this torch ({torch.__version__}) is a CPU-only build. Install a CUDA build matching the node's driver "
            "(`nvidia-smi` shows the highest CUDA version the driver supports), e.g. "
            "`pip install torch=="
            + torch.__version__.split("+")[0]
            + " --index-url https://download.pytorch.org/whl/cu126` "
            "(cu126 for drivers >= 560; see README, 'GPUs: a torch that matches the driver')"
        )
    else:
        why = (
            f"this torch ({torch.__version__}) is built for CUDA {build}, but no device is usable: "
            "no GPU on this node, CUDA_VISIBLE_DEVICES empty, or a driver older than CUDA " + build + " needs "
            "(check `nvidia-smi`; install the torch build for the driver's CUDA version from "
            "https://download.pytorch.org/whl/cuXYZ, see README, 'GPUs: a torch that matches the driver')"
        )
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    return (
        f"the job asks for {wanted} GPU(s) (config gpus_per_job / Snakemake resource gpu) but torch sees no CUDA "
        f"device{' (CUDA_VISIBLE_DEVICES=' + repr(visible) + ')' if visible is not None else ''}: {why}. It stops now "
        f"instead of training on the CPU until the time limit. To run on the CPU on purpose: gpus_per_job: 0, or "
        f"{ALLOW_CPU_ENV}=1"
    )


@contextlib.contextmanager
def claim_gpus(lock_dir="resources/gpu-slots", wanted: int = 1) -> Iterator[list[int]]:
    """Claim ``wanted`` GPUs of this machine for the block; yields their indices ([] without GPU).

    The first becomes torch's current device. A machine with no more GPUs than ``wanted`` gives
    them all without claiming (fewer than asked for: said in the log). None at all: :class:`NoCudaError`
    saying why and how to install a matching torch (unless ``ALIGNXFER_ALLOW_CPU=1``).
    """
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        if os.environ.get(ALLOW_CPU_ENV, "") not in ("", "0"):
            print(
                f"the job asks for {wanted} GPU(s) but sees no CUDA device; {ALLOW_CPU_ENV} is set: running on the CPU",
                flush=True,
            )
            yield []
            return
        raise NoCudaError(no_cuda_message(wanted))
    if count <= wanted:
        if count < wanted:
            print(f"the job asks for {wanted} GPUs but this machine shows {count}; using {count}", flush=True)
        yield list(range(count))
        return
    with claim_slots(Path(lock_dir) / socket.gethostname(), count, wanted) as indices:
        torch.cuda.set_device(indices[0])
        names = ", ".join(f"{i} ({torch.cuda.get_device_name(i)})" for i in indices)
        print(f"using GPU{'s' if wanted > 1 else ''} {names} of {count}", flush=True)
        yield indices


#: where a job's temporary model goes (translate-train: ~0.7 GB per seed at mBERT size)
MODEL_TMPDIR_ENV = "ALIGNXFER_MODEL_TMPDIR"


def model_tmpdir(default) -> Path:
    """The folder for a temporary model: ``$ALIGNXFER_MODEL_TMPDIR`` if set; inside a SLURM job
    ``$TMPDIR`` (the job's node-local scratch on most clusters) when it exists; else ``default``
    (beside the job's outputs, which on a cluster is the shared file system)."""
    chosen = os.environ.get(MODEL_TMPDIR_ENV)
    if not chosen and os.environ.get("SLURM_JOB_ID"):
        chosen = os.environ.get("TMPDIR")
    if chosen and Path(chosen).is_dir():
        return Path(chosen)
    if chosen:
        print(f"temporary model folder {chosen!r} does not exist; using {default}", flush=True)
    return Path(default)
