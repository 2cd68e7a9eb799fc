"""Resumable training state: one folder per checkpoint, written atomically, matched by fingerprint.

A checkpoint (model, optimizer, scheduler, RNG states, data position, step, history so far) is
``<checkpoint_dir>/step-<8 digits>/state.pt`` plus ``meta.json`` with the step and the fingerprint
of the settings it was written under. Loading takes the newest; one written under other settings
is ignored (the run starts over and replaces it). Saving a new one removes the older ones.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from pathlib import Path

import torch

from alignxfer.io import atomic_dir

CHECKPOINT_PREFIX = "step-"


def fingerprint(settings: dict) -> str:
    """A short hash of JSON-able ``settings`` (key order does not matter)."""
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:16]


def checkpoints(checkpoint_dir) -> list[tuple[int, Path]]:
    """``(step, folder)`` of every complete checkpoint, newest first."""
    root = Path(checkpoint_dir)
    if not root.is_dir():
        return []
    found = []
    for path in root.iterdir():
        if path.is_dir() and path.name.startswith(CHECKPOINT_PREFIX) and (path / "state.pt").exists():
            try:
                found.append((int(path.name[len(CHECKPOINT_PREFIX) :]), path))
            except ValueError:
                continue
    return sorted(found, reverse=True)


def load_checkpoint(checkpoint_dir, fingerprint: str, device) -> dict | None:
    """The newest checkpoint's state if it was written under ``fingerprint``, else None."""
    for _step, path in checkpoints(checkpoint_dir):
        try:
            meta = json.loads((path / "meta.json").read_text())
        except (OSError, ValueError):
            continue
        if meta.get("fingerprint") != fingerprint:
            print(
                f"checkpoint {path} was written under other settings (fingerprint {meta.get('fingerprint')} "
                f"!= {fingerprint}); ignoring it and starting from step 0",
                file=sys.stderr,
            )
            return None
        return torch.load(path / "state.pt", map_location=device, weights_only=True)
    return None


def save_checkpoint(checkpoint_dir, step: int, state: dict, fingerprint: str) -> Path:
    """Write ``state`` as the checkpoint of ``step`` (atomically) and remove the older ones."""
    root = Path(checkpoint_dir)
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"{CHECKPOINT_PREFIX}{step:08d}"
    with atomic_dir(target) as tmp:
        torch.save(state, tmp / "state.pt")
        (tmp / "meta.json").write_text(json.dumps({"step": step, "fingerprint": fingerprint}) + "\n")
    for _, old in checkpoints(root):
        if old != target:
            shutil.rmtree(old, ignore_errors=True)
    return target


def remove_checkpoints(checkpoint_dir, keep: bool = False) -> None:
    """Remove every checkpoint (once the final model is saved), unless ``keep``."""
    if checkpoint_dir is None or keep:
        return
    for _, path in checkpoints(checkpoint_dir):
        shutil.rmtree(path, ignore_errors=True)


def rng_state() -> dict:
    """torch's CPU (and every CUDA device's) generator state."""
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"].cpu())
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])
