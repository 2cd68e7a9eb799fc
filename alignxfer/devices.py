"""Which GPU a job uses when several jobs share a machine with several GPUs.

Snakemake's local executor counts GPUs (``--resources gpu=N`` against each rule's
``resources: gpu=1``) but does not say *which* GPU a job gets, and every process would otherwise
start on ``cuda:0``. :func:`claim_gpu` gives a job one GPU of its machine for its lifetime: it
takes the first free slot among ``gpu<i>.lock`` files (an exclusive ``flock``, released when the
job's process ends, also on a crash) and makes ``cuda:<i>`` torch's current device, so the
training loops' ``torch.device("cuda")`` lands there.

With one visible GPU (a SLURM job: the scheduler already isolated it) or none, nothing is
claimed. Lock files live under ``<lock_dir>/<hostname>/`` so that jobs of different cluster
nodes sharing a file system never wait for each other. A job that finds every slot taken (more
concurrent GPU jobs than GPUs: ``--resources gpu`` larger than the machine has) waits for the
slot numbered by its process id modulo the GPU count, and says so in its log.
"""

from __future__ import annotations

import contextlib
import os
import socket
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
    or None when there is nothing to choose (no GPU, or exactly one visible)."""
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count <= 1:
        yield 0 if count == 1 else None
        return
    with claim_slot(Path(lock_dir) / socket.gethostname(), count) as index:
        torch.cuda.set_device(index)
        print(f"using GPU {index} of {count} ({torch.cuda.get_device_name(index)})", flush=True)
        yield index
