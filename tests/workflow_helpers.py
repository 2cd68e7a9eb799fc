"""Run the workflow on the smoke config in a scratch folder (used by tests/test_workflow.py)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "fixtures"))

from make_ddtp_mirror import make_mirror  # noqa: E402


def smoke_config(workdir: Path, **overrides) -> Path:
    """Write the smoke config with its mirror inside ``workdir``; ``overrides`` update top-level sections."""
    mirror = workdir / "mirror"
    if not mirror.exists():
        make_mirror(mirror)
    cfg = yaml.safe_load((REPO / "configs" / "smoke.yaml").read_text())
    cfg["corpus"]["ddtp"]["mirror"] = mirror.as_uri()
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(cfg.get(key), dict):
            cfg[key] = {**cfg[key], **value}
        else:
            cfg[key] = value
    name = "smoke" + "".join(f"-{k}" for k in sorted(overrides)) + ".yaml"
    path = workdir / name
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def snakemake(workdir: Path, configfile: Path, *args: str, timeout: int = 2400) -> subprocess.CompletedProcess:
    # the smoke study takes about 9 minutes on 2 idle cores; 40 leaves room for a loaded machine
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'mlflow.db'}", "PYTHONUNBUFFERED": "1"}
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(REPO / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(configfile),
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)


def planned_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table."""
    jobs: dict[str, int] = {}
    text = result.stdout + result.stderr
    if "Nothing to be done" in text:
        return jobs
    block = text.split("Job stats:", 1)[1]
    for line in block.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        if match.group(1) != "total":
            jobs[match.group(1)] = int(match.group(2))
    return jobs
