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
them) or none, nothing is claimed. Lock files live under ``<lock_dir>/<hostname>/`` so that jobs
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
from pathlib import Path
from typing import Iterator


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
    """Make a free GPU of this machine torch's current device for the block; yields its index,
    or None on a machine without GPU (:func:`claim_gpus` with one GPU)."""
    with claim_gpus(lock_dir, 1) as indices:
        yield indices[0] if indices else None


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


@contextlib.contextmanager
def claim_gpus(lock_dir="resources/gpu-slots", wanted: int = 1) -> Iterator[list[int]]:
    """Claim ``wanted`` GPUs of this machine for the block; yields their indices ([] without GPU).

    The first becomes torch's current device. A machine with no more GPUs than ``wanted`` gives
    them all without claiming (fewer than asked for: said in the log).
    """
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        yield []
        return
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
