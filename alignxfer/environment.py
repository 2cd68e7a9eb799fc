"""The software and hardware a study ran on: resolved package versions, the lock file they were
installed from, and the CPU features that decide bf16 and can change the last digits of results.

* :func:`cpu_features` -- model name and the SIMD/matrix features of ``/proc/cpuinfo``
  (AVX2, AVX-512, AVX-512 BF16, AMX) and which of them torch uses.
* :func:`read_lock` / :func:`lock_differences` -- ``requirements.lock`` (``name==version`` per line)
  and where the installed packages differ from it.
* :func:`collect` -- everything above in one dict (``results/environment.json``).
* :func:`environment_tags` -- the few values worth a tag on every MLflow run (cheap: no torch import).
* ``python -m alignxfer.environment --lock requirements.lock`` writes the lock from the running
  environment (``pip freeze`` without the editable project, local version labels such as
  ``+cpu`` dropped, so the same file serves CPU and CUDA builds), and ``envs/alignxfer.yaml``
  (the conda environment of ``--sdm conda``) from the lock: every locked package pinned
  (:func:`conda_env_text`; Snakemake copies an env file before conda reads it, so the file
  cannot point at the lock, and its content is what Snakemake hashes: a new lock, a new env).
  :func:`conda_env_differences` says where an env file and the lock disagree (a test).
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

LOCK_FILE = "requirements.lock"
CONDA_ENV_FILE = "envs/alignxfer.yaml"
#: /proc/cpuinfo flags that matter here: bf16 autocast on CPU needs avx512_bf16 or amx_bf16
CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")
#: packages named on every run's tags
KEY_PACKAGES = ("torch", "transformers", "tokenizers", "datasets", "numpy", "mlflow", "snakemake")


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them (``PyYAML`` == ``pyyaml``, ``sil_thot`` == ``sil-thot``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_packages() -> dict[str, str]:
    """{normalized name: version} of every distribution importable in this interpreter."""
    from importlib import metadata

    out = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            out.setdefault(normalize(name), dist.version)
    return dict(sorted(out.items()))


def read_lock(path) -> dict[str, str]:
    """{normalized name: version} of a ``name==version`` file (comments and options skipped)."""
    pins = {}
    for lineno, raw in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;]+)(\s*;.*)?", line)
        if not match:
            raise ValueError(f"{path}:{lineno}: expected 'name==version', got {raw!r}")
        pins[normalize(match.group(1))] = match.group(3)
    return pins


def _public(version: str) -> str:
    return version.split("+", 1)[0]


def lock_differences(lock: dict[str, str], installed: dict[str, str]) -> list[str]:
    """Packages of ``lock`` installed at another version (a local label like ``+cpu`` is ignored)."""
    return [
        f"{name}: locked {want}, installed {installed[name]}"
        for name, want in sorted(lock.items())
        if name in installed and _public(installed[name]) != _public(want)
    ]


def freeze_lines(project: str = "alignxfer") -> list[str]:
    """``pip freeze --exclude-editable`` of this interpreter, without ``project`` and local labels."""
    out = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = []
    for line in out.splitlines():
        if "==" not in line or line.startswith(("-", "#")):
            continue
        name, version = line.split("==", 1)
        if normalize(name) == normalize(project):
            continue
        lines.append(f"{name}=={_public(version.strip())}")
    return sorted(lines, key=lambda s: normalize(s.split("==")[0]))


def write_lock(path, lines: list[str]) -> Path:
    from .io import atomic_open

    header = [
        "# The resolved environment of this project: `pip install -c requirements.lock -e '.[test]'`",
        "# (scripts/setup.sh does). Written by `python -m alignxfer.environment --lock requirements.lock`",
        f"# from a working environment (Python {platform.python_version()}, {platform.machine()}); kept",
        "# consistent with pyproject.toml and envs/ by tests/test_lock.py. A constraints file: packages",
        "# that a platform does not need (e.g. CUDA libraries) are simply not installed. Local version",
        "# labels are dropped (torch==X matches X+cpu and the CUDA build).",
    ]
    with atomic_open(path) as handle:
        handle.write("\n".join(header + lines) + "\n")
    return Path(path)


def lock_lines(path) -> list[str]:
    """The ``name==version`` lines of a lock file, in its order (comments and options skipped)."""
    read_lock(path)  # a bad line fails here, naming the file and line
    return [
        line.split("#", 1)[0].strip()
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.split("#", 1)[0].strip() and not line.lstrip().startswith("-")
    ]


def conda_env_text(lines: list[str], python: str | None = None) -> str:
    """``envs/alignxfer.yaml`` for the lock's ``lines``: Python ``python`` (default: this
    interpreter's major.minor) from conda-forge, every locked package pinned through pip."""
    python = python or ".".join(platform.python_version_tuple()[:2])
    header = [
        "# Software environment of every rule, for `snakemake --sdm conda`: the locked environment",
        f"# ({LOCK_FILE}), every package pinned. Written from the lock by",
        f"# `python -m alignxfer.environment --lock {LOCK_FILE}` (or `--conda-env {CONDA_ENV_FILE}`);",
        "# tests/test_environment_lock.py fails when the two disagree. The package itself is imported",
        "# from the checkout by each workflow script. torch from PyPI is its CUDA build on Linux (the lock",
        '# drops local labels): see README, "Paper scale and clusters" (GPUs).',
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={python}",
        "  - pip",
        "  - pip:",
    ]
    return "\n".join(header + [f"      - {line}" for line in lines]) + "\n"


def write_conda_env(path, lock_path) -> Path:
    from .io import atomic_open

    with atomic_open(path) as handle:
        handle.write(conda_env_text(lock_lines(lock_path)))
    return Path(path)


def conda_env_differences(env_path, lock_path) -> list[str]:
    """Where the pip pins of the conda env file ``env_path`` and the lock ``lock_path`` disagree
    (a package missing on either side, another version, a pin that is not ``==``); [] when they agree."""
    import yaml

    env = yaml.safe_load(Path(env_path).read_text(encoding="utf-8")) or {}
    pips = [d["pip"] for d in env.get("dependencies", []) if isinstance(d, dict) and "pip" in d]
    if not pips:
        return [f"{env_path}: no pip section under dependencies"]
    pinned, out = {}, []
    for req in pips[0]:
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)", str(req).strip())
        if not match:
            out.append(f"{env_path}: {req!r} is not pinned as name==version")
            continue
        pinned[normalize(match.group(1))] = match.group(2)
    lock = read_lock(lock_path)
    for name in sorted(set(lock) | set(pinned)):
        if name not in pinned:
            out.append(f"{env_path}: {name}=={lock[name]} of {Path(lock_path).name} is missing")
        elif name not in lock:
            out.append(f"{env_path}: {name}=={pinned[name]} is not in {Path(lock_path).name}")
        elif pinned[name] != lock[name]:
            out.append(f"{env_path}: {name}=={pinned[name]}, {Path(lock_path).name} has {lock[name]}")
    return out


@lru_cache(maxsize=1)
def cpu_features() -> dict:
    """CPU model, core count and the flags of :data:`CPU_FLAGS` (``/proc/cpuinfo``; Linux)."""
    import os

    info = {"model": platform.processor() or platform.machine(), "logical_cores": os.cpu_count()}
    flags: set[str] = set()
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and info["model"] in ("", platform.machine(), platform.processor()):
            info["model"] = value.strip()
        elif key in ("flags", "Features") and not flags:
            flags = set(value.split())
    info["flags"] = {flag: flag in flags for flag in CPU_FLAGS}
    info["bf16_native"] = bool(flags & {"avx512_bf16", "amx_bf16"})
    return info


def torch_info() -> dict:
    """What torch makes of this machine (imports torch: call inside a job)."""
    try:
        import torch
    except ImportError:
        return {}
    out = {"version": torch.__version__, "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available()}
    try:
        out["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except (AttributeError, RuntimeError):
        pass
    try:
        out["mkldnn_bf16"] = bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        pass
    if torch.cuda.is_available():
        out["gpus"] = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    out["threads"] = torch.get_num_threads()
    return out


def environment_tags() -> dict:
    """MLflow tags of every run: CPU features and the versions of :data:`KEY_PACKAGES`."""
    from importlib import metadata

    cpu = cpu_features()
    tags = {
        "env.python": platform.python_version(),
        "env.cpu": str(cpu["model"])[:250],
        "env.cpu.avx2": str(cpu["flags"]["avx2"]).lower(),
        "env.cpu.avx512f": str(cpu["flags"]["avx512f"]).lower(),
        "env.cpu.avx512_bf16": str(cpu["flags"]["avx512_bf16"]).lower(),
        "env.cpu.amx_bf16": str(cpu["flags"]["amx_bf16"]).lower(),
    }
    for name in KEY_PACKAGES:
        try:
            tags[f"env.{name}"] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return tags


def fingerprint() -> str:
    """A short hash of the installed packages and CPU flags (a rule's param: it reruns on a change)."""
    blob = json.dumps({"packages": installed_packages(), "cpu": cpu_features()["flags"]}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def collect(project_dir=".", with_torch: bool = True) -> dict:
    """The record of ``results/environment.json``."""
    project_dir = Path(project_dir)
    packages = installed_packages()
    lock_path = project_dir / LOCK_FILE
    lock = {"path": LOCK_FILE, "present": lock_path.exists()}
    if lock_path.exists():
        pins = read_lock(lock_path)
        diffs = lock_differences(pins, packages)
        lock.update(
            sha256=hashlib.sha256(lock_path.read_bytes()).hexdigest(),
            packages=len(pins),
            matches=not diffs,
            differences=diffs,
            not_installed=sorted(set(pins) - set(packages)),
        )
    record = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu_features(),
        "lock": lock,
        "packages": packages,
        "fingerprint": fingerprint(),
    }
    if with_torch:
        record["torch"] = torch_info()
    return record


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", help="write this lock file from the running environment, then the conda env from it")
    parser.add_argument(
        "--conda-env", help=f"write this conda env file from the lock (default with --lock: {CONDA_ENV_FILE})"
    )
    parser.add_argument("--show", action="store_true", help="print the environment record")
    args = parser.parse_args(argv)
    if args.lock:
        lines = freeze_lines()
        write_lock(args.lock, lines)
        print(f"wrote {args.lock}: {len(lines)} packages")
    if args.lock or args.conda_env:
        lock = args.lock or LOCK_FILE
        env_file = args.conda_env or str(Path(lock).resolve().parent / CONDA_ENV_FILE)
        write_conda_env(env_file, lock)
        print(f"wrote {env_file}: {len(lock_lines(lock))} packages pinned from {lock}")
    if args.show or not (args.lock or args.conda_env):
        print(json.dumps(collect(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
