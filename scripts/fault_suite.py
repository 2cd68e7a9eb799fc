"""Bad inputs through the real workflow: each case must fail with a clear message naming the
file, line or key, printed without a Python traceback, and leave nothing half-written.

    PYTHONPATH=. python scripts/fault_suite.py [--keep DIR] [-k SUBSTRING]

Config cases plan the workflow (`snakemake -n`); data cases run it up to the download of the
pair (`--until download_pair`) on a tiny `corpus.source: local` study. Prints one line per case
and `clear: N / tried: M`; exit status 1 if any case was not clear. docs/faults.md lists the
messages; tests/test_reliability.py covers the same checks in the test suite.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
GOOD_EN = ["Hello world .", "This is a test .", "Good morning ."]
GOOD_DE = ["Hallo Welt .", "Das ist ein Test .", "Guten Morgen ."]


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            if info.isreg():
                info.size = len(data)
                archive.addfile(info, io.BytesIO(data))
            else:
                archive.addfile(info)
    return path


def _member(name, kind="reg", link=""):
    info = tarfile.TarInfo(name)
    info.type = {"reg": tarfile.REGTYPE, "lnk": tarfile.LNKTYPE, "sym": tarfile.SYMTYPE, "chr": tarfile.CHRTYPE}[kind]
    info.linkname = link
    return info


def _moses(folder: Path, en=GOOD_EN, de=GOOD_DE, raw_de: bytes | None = None) -> dict:
    (folder / "train.en").write_text("\n".join(en) + "\n", encoding="utf-8")
    (folder / "train.de").write_bytes(raw_de if raw_de is not None else ("\n".join(de) + "\n").encode())
    return {"format": "moses", "en": {"path": str(folder / "train.en")}, "xx": {"path": str(folder / "train.de")}}


def _archive(folder: Path, member: tarfile.TarInfo, data: bytes = b"Hallo\n") -> dict:
    path = _tar(folder / "en-de.tar.gz", [(_member("c/train.en"), b"Hello\n"), (member, data)])
    return {"format": "moses", "path": str(path), "en": {"member": "c/train.en"}, "xx": {"member": member.name}}


# (name, kind, overlay or pair-builder, expected text)
CONFIG_CASES = [
    ("config key typo", {"finetuning": {"seedz": [1]}}, "finetuning: unknown key(s) ['seedz']"),
    ("wrong type", {"finetuning": {"epochs": "two"}}, "finetuning.epochs: expected integer"),
    ("empty seed list", {"finetuning": {"seeds": []}}, "finetuning.seeds"),
    ("unknown language", {"corpus": {"languages": ["xx"]}}, "corpus.languages[0]: 'xx' is not allowed"),
    ("apt option injection", {"corpus": {"ddtp": {"architecture": "amd64 trusted=yes"}}}, "corpus.ddtp.architecture"),
    ("apt line injection", {"corpus": {"ddtp": {"suite": "bookworm\ndeb [trusted=yes] http://x/ y main"}}}, "corpus.ddtp.suite"),
    ("odd contrastive batch", {"base": {"training": {"objective": "contrastive", "batch_size": 15}}}, "base.training.batch_size: 15 is odd"),
    ("split leaves nothing", {"prepare": {"split": {"test": 0.5, "dev": 0.3, "train": 0.3}}}, "prepare.split"),
]

DATA_CASES = [
    ("ragged bitext", lambda d: _moses(d, de=GOOD_DE[:2]), "train.de has 2 lines"),
    ("invalid UTF-8", lambda d: _moses(d, raw_de=b"Hallo Welt .\nDas ist \xff .\nGuten Morgen .\n"), "train.de:2: invalid UTF-8"),
    ("wrong sha256", lambda d: {**_moses(d), "xx": {"path": str(d / "train.de"), "sha256": "0" * 64}}, "sha256 mismatch: expected 000"),
    ("archive member ../", lambda d: _archive(d, _member("../../etc/passwd")), "has an absolute path or '..'"),
    ("archive member absolute", lambda d: _archive(d, _member("/etc/passwd")), "has an absolute path or '..'"),
    ("archive hard link outside", lambda d: _archive(d, _member("c/train.de", "lnk", "/etc/hostname")), "is a hard link"),
    ("archive symlink outside", lambda d: _archive(d, _member("c/train.de", "sym", "/etc/hostname")), "is a symbolic link"),
    ("archive device file", lambda d: _archive(d, _member("c/train.de", "chr")), "is a device file"),
    ("archive missing member", lambda d: {**_archive(d, _member("c/other.de")), "xx": {"member": "c/train.de"}}, "no member 'c/train.de'"),
]


def local_study(folder: Path, pair: dict) -> dict:
    cfg = yaml.safe_load((REPO / "configs" / "smoke.yaml").read_text())
    cfg["corpus"] = {"source": "local", "languages": ["de"], "local": {"pairs": {"de": pair}}}
    cfg["tasks"] = {**cfg.get("tasks", {}), "topic": {"enabled": False}}
    return cfg


def run(folder: Path, cfg: dict, *args: str) -> tuple[int, str, float]:
    path = folder / "overlay.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}", "PYTHONPATH": str(REPO)}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(folder),
         "--configfile", str(path), "--cores", "1", *args],
        capture_output=True, text=True, env=env, timeout=900,
    )
    return result.returncode, result.stdout + result.stderr, time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="run the cases in this folder and keep it")
    parser.add_argument("-k", default="", help="only the cases whose name contains this")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="fault-suite-"))
    root.mkdir(parents=True, exist_ok=True)
    base = yaml.safe_load((REPO / "configs" / "smoke.yaml").read_text())
    tried = clear = 0
    for name, overlay, expected in CONFIG_CASES + [(n, b, e) for n, b, e in DATA_CASES]:
        if args.k not in name:
            continue
        folder = root / name.replace(" ", "_").replace("/", "_")
        folder.mkdir(parents=True, exist_ok=True)
        if callable(overlay):
            cfg = local_study(folder, overlay(folder))
            rc, out, took = run(folder, cfg, "--until", "download_pair")
        else:
            cfg = {**base, **{k: ({**base.get(k, {}), **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v)
                              for k, v in overlay.items()}}
            rc, out, took = run(folder, cfg, "-n")
        partial = [p for p in (folder / "results" / "corpus").glob("en-de*")] if (folder / "results").exists() else []
        ok = rc != 0 and expected in out and "Traceback" not in out and not partial
        tried += 1
        clear += ok
        line = next((ln.strip() for ln in out.splitlines() if expected in ln), "(expected text not found)")
        print(f"{'CLEAR' if ok else 'NOT CLEAR'}  {name}  ({took:.0f} s): {line[:300]}", flush=True)
        if not ok:
            print("    rc", rc, "| traceback" if "Traceback" in out else "", "| partial outputs" if partial else "")
    print(f"clear: {clear} / tried: {tried}  (folder: {root})")
    return 0 if clear == tried else 1


if __name__ == "__main__":
    raise SystemExit(main())
