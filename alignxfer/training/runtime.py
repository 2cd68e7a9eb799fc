"""The device a one-device job trains on and torch's thread count."""

from __future__ import annotations

import torch


def select_device(device=None) -> torch.device:
    """``device`` if given, else the first CUDA GPU if there is one, else the CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def set_threads(threads: int | None) -> None:
    """torch's intra-op threads (``None``/0: leave them; :func:`workflow_scripts.snakemake_job.set_threads` sets
    the math libraries' before torch is imported)."""
    if threads:
        torch.set_num_threads(int(threads))
