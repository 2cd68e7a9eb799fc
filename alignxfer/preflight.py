"""Checks the workflow runs once before its jobs start (``onstart`` in rules/common.smk).

Snakemake deletes a job's old outputs before the job runs. A job that then fails because of
something that was wrong from the start (a read-only log folder, a damaged model folder it reads)
has destroyed finished results for nothing. These checks find such problems while nothing has
been deleted yet, and each message names the folder and what to do. The tracking server is
probed once here and the experiment is created once, so that jobs starting together neither
stall on an unreachable server nor race to create the experiment (alignxfer.tracking).
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path


class PreflightError(RuntimeError):
    """Something found before any job ran; the message says where and what to do."""


# -- writable results ------------------------------------------------------------------------------
def unwritable_dirs(root: str | Path, limit: int = 5) -> list[Path]:
    """Folders at or below ``root`` in which this process cannot create or delete files."""
    root = Path(root)
    if not root.exists():
        parent = root.parent if str(root.parent) else Path(".")
        return [] if os.access(parent, os.W_OK | os.X_OK) else [parent]
    found = []
    for folder, dirs, _files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]  # atomic temporaries
        if not os.access(folder, os.W_OK | os.X_OK):
            found.append(Path(folder))
            if len(found) >= limit:
                break
    return found


def check_writable(project_dir: str | Path = ".", folders=("results",)) -> None:
    for name in folders:
        bad = unwritable_dirs(Path(project_dir) / name)
        if bad:
            listed = ", ".join(str(b) for b in bad)
            raise PreflightError(
                f"cannot write to {listed}: jobs could not write their outputs or logs there, and Snakemake would "
                f"delete old outputs before they fail. Make the folder writable (chmod -R u+w {bad[0]}) or run "
                "the workflow from a copy you can write (--directory)."
            )


# -- model and tokenizer folders --------------------------------------------------------------------
def safetensors_problem(path: str | Path) -> str | None:
    """Why ``path`` is not a complete safetensors file (None if its header and size agree)."""
    path = Path(path)
    size = path.stat().st_size
    if size < 8:
        return f"{path} is {size} bytes long, shorter than a safetensors header"
    with open(path, "rb") as handle:
        (header_len,) = struct.unpack("<Q", handle.read(8))
        if header_len > size - 8:
            return f"{path} is truncated: its header announces {header_len} bytes, the file has {size}"
        try:
            header = json.loads(handle.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return f"{path} has a damaged header (not JSON)"
    try:
        end = max((int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"), default=0)
    except (KeyError, TypeError, ValueError, IndexError):
        return f"{path} has a damaged header (tensor offsets missing)"
    expected = 8 + header_len + end
    if size < expected:
        return f"{path} is truncated: {size} bytes of the {expected} its header describes"
    return None


def folder_problems(folder: str | Path) -> list[str]:
    """What is wrong with a model/tokenizer folder the workflow reads (empty list if nothing)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    problems = []
    if (folder / "tokenizer_config.json").exists() and not (folder / "tokenizer.json").exists():
        problems.append(
            f"{folder}: tokenizer.json is missing (tokenizer_config.json is there); the workflow needs the "
            "fast tokenizer's tokenizer.json"
        )
    weights = sorted(folder.glob("*.safetensors"))
    if (folder / "config.json").exists() and not weights and not list(folder.glob("pytorch_model*.bin")):
        problems.append(f"{folder}: config.json but no model weights (model.safetensors)")
    for file in weights:
        why = safetensors_problem(file)
        if why:
            problems.append(why)
    return problems


def workflow_folders(config: dict, project_dir: str | Path = ".") -> list[Path]:
    """The model and tokenizer folders that jobs of this workflow read."""
    project_dir = Path(project_dir)
    folders = [project_dir / "results" / "tokenizer"]
    folders += sorted((project_dir / "results" / "models").glob("*/model"))
    name = (config.get("base") or {}).get("name")
    if name and Path(name).expanduser().is_dir():
        folders.append(Path(name).expanduser())
    return folders


def check_folders(config: dict, project_dir: str | Path = ".") -> None:
    messages = []
    base_name = (config.get("base") or {}).get("name")
    for folder in workflow_folders(config, project_dir):
        for problem in folder_problems(folder):
            if base_name and Path(base_name).expanduser() == folder:
                fix = "base.name points at this folder: save the model there again (save_pretrained) or point base.name elsewhere"
            else:
                fix = f"delete {folder} and rerun: the workflow rebuilds it"
            messages.append(f"{problem}; {fix}")
    if messages:
        raise PreflightError(
            "a folder the jobs read is incomplete (nothing was deleted):\n  - " + "\n  - ".join(messages)
        )


# -- tracking -----------------------------------------------------------------------------------------
def tracking_uri(config: dict, project_dir: str | Path = ".") -> str:
    from .tracking import default_uri

    return (config.get("tracking") or {}).get("uri") or default_uri(project_dir)


def check_tracking(config: dict, project_dir: str | Path = ".") -> str | None:
    """Probe the tracking server once; when unreachable, turn tracking off for every job started
    from this process (environment variable, inherited) and return the one warning to print."""
    from .tracking import UNREACHABLE_ENV, server_unreachable

    tracking = config.get("tracking") or {}
    if not tracking.get("enabled", True):
        return None
    why = server_unreachable(tracking_uri(config, project_dir))
    if why is None:
        os.environ.pop(UNREACHABLE_ENV, None)
        return None
    os.environ[UNREACHABLE_ENV] = why
    return (
        f"WARNING: tracking server {why}: MLflow tracking is off for this run of the workflow (its outputs are "
        "unaffected). Start the server or set MLFLOW_TRACKING_URI / tracking.uri to one that answers."
    )


def check_tracking_database(config: dict, project_dir: str | Path = ".") -> None:
    """An SQLite tracking URI must name an SQLite database (or nothing yet: MLflow creates it).
    A file that is something else (overwritten, truncated, a copy gone wrong) would make every job
    print an MLflow error and record nothing; this says so once, before any job."""
    import sqlite3

    from .tracking import _sqlite_path

    tracking = config.get("tracking") or {}
    if not tracking.get("enabled", True):
        return
    path = _sqlite_path(tracking_uri(config, project_dir))
    if path is None or not path.exists() or (path.is_file() and path.stat().st_size == 0):
        return
    problem = None
    if not path.is_file():
        problem = "is not a file"
    else:
        try:
            con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
            try:
                con.execute("select count(*) from sqlite_master").fetchone()
            finally:
                con.close()
        except sqlite3.Error as err:
            if not any(word in str(err) for word in ("locked", "busy")):  # another writer: fine
                problem = f"is not an SQLite database ({err})"
    if problem:
        raise PreflightError(
            f"the tracking database {path} {problem}: MLflow could record no run of this workflow there. Move the "
            "file away (a new database is then created) or point MLFLOW_TRACKING_URI / tracking.uri at a valid "
            "one; tracking.enabled: false runs the workflow without tracking. Nothing was run or deleted."
        )


def create_experiment(config: dict, project_dir: str | Path = ".") -> str | None:
    """Create the study's experiment once, before the jobs start (None when tracking is off or failed:
    the jobs then report it themselves)."""
    from .tracking import UNREACHABLE_ENV, JobTracker

    tracking = config.get("tracking") or {}
    if not tracking.get("enabled", True) or os.environ.get(UNREACHABLE_ENV):
        return None
    tracker = JobTracker(
        rule="workflow",
        wildcards={},
        params={},
        config=config,
        project_dir=project_dir,
        uri=tracking.get("uri"),
        experiment=tracking.get("experiment"),
    )

    def _create():
        from mlflow.tracking import MlflowClient

        return tracker._experiment_id(MlflowClient(tracking_uri=tracker.uri))

    return tracker._safe("create_experiment", _create)


def run_all(config: dict, project_dir: str | Path = ".") -> list[str]:
    """Every check of ``onstart``; raises PreflightError, returns the warnings to print."""
    check_writable(project_dir)
    check_folders(config, project_dir)
    check_tracking_database(config, project_dir)
    warnings = [w for w in [check_tracking(config, project_dir)] if w]
    create_experiment(config, project_dir)
    return warnings
