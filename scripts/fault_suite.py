"""Bad inputs through the real workflow: each case must fail with a clear message naming the
file, line or key, printed without a Python traceback, and leave nothing half-written (or, for
text the workflow is meant to take, be taken and counted).

    PYTHONPATH=. python scripts/fault_suite.py [--keep DIR] [-k SUBSTRING[,SUBSTRING...]]

Config cases plan the workflow (`snakemake -n`); data cases run it up to the download of the
pair (`--until download_pair`) on a tiny `corpus.source: local` study; the scenario cases run a
local study up to the alignments (`--until symmetrize`) and then break one thing at a time (odd
text, an alignment file, a model/tokenizer folder, the tracking database, a full disk, a
read-only folder), checking that what was computed before is still there, byte for byte. Prints
one line per case and `clear: N / tried: M`; exit status 1 if any case was not clear.
docs/faults.md lists the messages; tests/test_reliability.py and tests/test_faults_*.py cover
the same checks in the test suite.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
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


def _zip(folder: Path, name: str, mode: int | None = None, data: bytes = b"Hallo\n") -> dict:
    path = folder / "en-de.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("c/train.en", b"Hello\n")
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
        archive.writestr(info, data)
    return {"format": "moses", "path": str(path), "en": {"member": "c/train.en"}, "xx": {"member": name}}


def _tsv(folder: Path, lines: list[str]) -> dict:
    (folder / "en-de.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return {"format": "tsv", "path": str(folder / "en-de.tsv")}


# (name, kind, overlay or pair-builder, expected text)
CONFIG_CASES = [
    ("config key typo", {"finetuning": {"seedz": [1]}}, "finetuning: unknown key(s) ['seedz']"),
    ("wrong type", {"finetuning": {"epochs": "two"}}, "finetuning.epochs: expected integer"),
    ("empty seed list", {"finetuning": {"seeds": []}}, "finetuning.seeds"),
    ("unknown language", {"corpus": {"languages": ["xx"]}}, "corpus.languages[0]: 'xx' is not allowed"),
    ("apt option injection", {"corpus": {"ddtp": {"architecture": "amd64 trusted=yes"}}}, "corpus.ddtp.architecture"),
    (
        "apt line injection",
        {"corpus": {"ddtp": {"suite": "bookworm\ndeb [trusted=yes] http://x/ y main"}}},
        "corpus.ddtp.suite",
    ),
    (
        "odd contrastive batch",
        {"base": {"training": {"objective": "contrastive", "batch_size": 15}}},
        "base.training.batch_size: 15 is odd",
    ),
    ("split leaves nothing", {"prepare": {"split": {"test": 0.5, "dev": 0.3, "train": 0.3}}}, "prepare.split"),
    ("empty pre-training seed list", {"pretraining": {"seeds": []}}, "pretraining.seeds: [] should be non-empty"),
]

DATA_CASES = [
    ("ragged bitext", lambda d: _moses(d, de=GOOD_DE[:2]), "train.de has 2 lines"),
    (
        "invalid UTF-8",
        lambda d: _moses(d, raw_de=b"Hallo Welt .\nDas ist \xff .\nGuten Morgen .\n"),
        "train.de:2: invalid UTF-8",
    ),
    (
        "wrong sha256",
        lambda d: {**_moses(d), "xx": {"path": str(d / "train.de"), "sha256": "0" * 64}},
        "sha256 mismatch: expected 000",
    ),
    ("archive member ../", lambda d: _archive(d, _member("../../etc/passwd")), "has an absolute path or '..'"),
    ("archive member absolute", lambda d: _archive(d, _member("/etc/passwd")), "has an absolute path or '..'"),
    (
        "archive hard link outside",
        lambda d: _archive(d, _member("c/train.de", "lnk", "/etc/hostname")),
        "is a hard link",
    ),
    (
        "archive symlink outside",
        lambda d: _archive(d, _member("c/train.de", "sym", "/etc/hostname")),
        "is a symbolic link",
    ),
    ("archive device file", lambda d: _archive(d, _member("c/train.de", "chr")), "is a device file"),
    (
        "archive missing member",
        lambda d: {**_archive(d, _member("c/other.de")), "xx": {"member": "c/train.de"}},
        "no member 'c/train.de'",
    ),
    ("zip member ../", lambda d: _zip(d, "../../etc/passwd"), "has an absolute path or '..'"),
    ("zip member absolute", lambda d: _zip(d, "/etc/passwd"), "has an absolute path or '..'"),
    ("zip symlink", lambda d: _zip(d, "c/train.de", 0o120777, b"/etc/hostname"), "is a symbolic link"),
    ("zip device file", lambda d: _zip(d, "c/train.de", 0o020644), "is a device file"),
    (
        "tab inside a tsv text",
        lambda d: _tsv(d, ["Hello world .\tHallo Welt .", "This is\ta test .\tDas ist ein Test ."]),
        "en-de.tsv:2: expected 2 tab-separated fields (en, xx), found 3; format tsv takes one tab a line",
    ),
]


def local_study(folder: Path, pair: dict, languages=("de",), pairs: dict | None = None) -> dict:
    cfg = yaml.safe_load((REPO / "configs" / "smoke.yaml").read_text())
    cfg["corpus"] = {"source": "local", "languages": list(languages), "local": {"pairs": pairs or {"de": pair}}}
    cfg["tasks"] = {**cfg.get("tasks", {}), "topic": {"enabled": False}}
    return cfg


NOBODY = ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def run(
    folder: Path, cfg: dict, *args: str, env: dict | None = None, user: list | None = None
) -> tuple[int, str, float]:
    path = folder / "overlay.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    full_env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}",
        "PYTHONPATH": str(REPO),
        **(env or {}),
    }
    started = time.monotonic()
    result = subprocess.run(
        [
            *(user or []),
            sys.executable,
            "-m",
            "snakemake",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(folder),
            "--configfile",
            str(path),
            "--cores",
            "1",
            *args,
        ],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=900,
        cwd=folder,
    )
    return result.returncode, result.stdout + result.stderr, time.monotonic() - started


def snapshot(folder: Path) -> dict[str, str]:
    """sha256 of every result file (logs and benchmarks aside): what a failed run must not lose."""
    out = {}
    for path in sorted((folder / "results").rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and rel.parts[1] not in ("logs", "benchmarks"):
            out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def lost(before: dict, folder: Path) -> list[str]:
    after = snapshot(folder)
    return [p for p, digest in before.items() if after.get(p) != digest]


def partials(folder: Path) -> list[str]:
    return (
        [str(p) for p in (folder / "results").rglob(".*") if p.name.endswith((".tmp", ".old"))]
        if (folder / "results").exists()
        else []
    )


class Outcome:
    """One case's verdict and the console line that shows it."""

    def __init__(self, name: str, ok: bool, line: str, took: float, why: str = ""):
        self.name, self.ok, self.line, self.took, self.why = name, ok, line, took, why


def expect_error(name, rc, out, took, expected, folder, before=None) -> Outcome:
    """Clear: failed, the message is on the console, no traceback, nothing lost, no partial file."""
    gone = lost(before, folder) if before is not None else []
    left = partials(folder)
    ok = rc != 0 and expected in out and "Traceback" not in out and not gone and not left
    line = next((ln.strip() for ln in out.splitlines() if expected in ln), "(expected text not found)")
    why = " | ".join(
        x
        for x in [
            f"rc {rc}" if rc == 0 else "",
            "traceback on the console" if "Traceback" in out else "",
            f"lost {gone[:3]}" if gone else "",
            f"partial files {left[:3]}" if left else "",
        ]
        if x
    )
    return Outcome(name, ok, line, took, why)


# -- scenarios: a local study up to the alignments, then one thing broken at a time ----------------
ALIGN_TARGETS = ("results/align/en-de/symmetrized.txt", "results/align/en-de/intersection.txt")
NBSP = "\u00a0"
LONG_WORDS = 5000


def odd_bitext(folder: Path) -> dict:
    """A moses bitext of ordinary lines with the odd ones mixed in (each kind several times, so
    that some of each land in the pre-training pool whatever the split)."""
    en, de = [], []
    for i in range(80):
        en.append(f"the cat number {i} sits on the mat .")
        de.append(f"die Katze Nummer {i} sitzt auf der Matte .")
    for i in range(10):
        en.append(f"left ||| right number {i} is here .")
        de.append(f"links ||| rechts Nummer {i} ist hier .")
        en.append(f"a tab\there number {i} .")
        de.append(f"ein Tab\thier Nummer {i} .")
        en.append(f"no{NBSP}break space number {i} .")
        de.append(f"kein{NBSP}Umbruch Nummer {i} .")
    for i in range(3):
        en.append("")
        de.append(f"nur Deutsch {i} .")
        en.append("")
        de.append("")
    en.append(" ".join(f"w{i}" for i in range(LONG_WORDS)))
    de.append(" ".join(f"v{i}" for i in range(LONG_WORDS)))
    (folder / "odd.en").write_text("\n".join(en) + "\n", encoding="utf-8")
    (folder / "odd.de").write_text("\n".join(de) + "\n", encoding="utf-8")
    return {"format": "moses", "en": {"path": str(folder / "odd.en")}, "xx": {"path": str(folder / "odd.de")}}


def scenario_odd_text(root: Path) -> list[Outcome]:
    """Text the workflow takes: |||, tabs and no-break spaces inside a text, empty lines, a
    5,000-word line. Clear: the run succeeds, each is normalised or dropped and counted, and the
    aligner input keeps one ' ||| ' and one line per pair."""
    from alignxfer.alignment import SEPARATOR

    folder = root / "study"
    folder.mkdir(parents=True, exist_ok=True)
    cfg = local_study(folder, odd_bitext(folder))
    rc, out, took = run(folder, cfg, *ALIGN_TARGETS)
    base_ok = rc == 0 and "Traceback" not in out
    fail = "" if base_ok else f"the run failed (rc {rc}): {out.strip().splitlines()[-1] if out.strip() else ''}"
    results = []
    if not base_ok:
        for name in (
            "'|||' inside a text",
            "tab inside a moses text",
            "no-break space inside a text",
            "empty lines",
            "5,000-word line",
        ):
            results.append(Outcome(name, False, "", took, fail))
        return results
    corpus = (folder / "results/align/en-de/corpus.txt").read_text(encoding="utf-8").splitlines()
    sym = (folder / "results/align/en-de/symmetrized.txt").read_text(encoding="utf-8").splitlines()
    pre_en = (folder / "results/data/pretrain/en-de.en").read_text(encoding="utf-8").splitlines()
    pre_de = (folder / "results/data/pretrain/en-de.de").read_text(encoding="utf-8").splitlines()
    manifest = json.loads((folder / "results/corpus/en-de.manifest.json").read_text())
    summary = json.loads((folder / "results/data/summary/en-de.json").read_text())
    one_sep = all(line.count(SEPARATOR) == 1 for line in corpus) and len(corpus) == len(pre_en) == len(sym)
    pipes = [line for line in pre_en if "|||" in line]
    results.append(
        Outcome(
            "'|||' inside a text",
            one_sep and bool(pipes),
            f"taken: {len(pipes)} pre-training pairs hold '|||'; results/align/en-de/corpus.txt has {len(corpus)} lines, "
            f"each with one ' ||| ' (inside a text, '|||' is three '|' words), symmetrized.txt {len(sym)} lines",
            took,
            "" if one_sep and pipes else "no '|||' pair reached the aligner, or a line has another separator count",
        )
    )
    tabs = [line for line in pre_en + pre_de if "\t" in line]
    tabbed = [line for line in pre_en if line.startswith("a tab here")]
    results.append(
        Outcome(
            "tab inside a moses text",
            not tabs and bool(tabbed),
            f"taken: the tab becomes one space ({len(tabbed)} pairs 'a tab here …' in results/data/pretrain/en-de.en, "
            f"no tab left)",
            took,
            "a tab reached the pre-training text" if tabs else "",
        )
    )
    nbsp = [line for line in pre_en + pre_de if NBSP in line]
    spaced = [line for line in pre_en if line.startswith("no break space")]
    results.append(
        Outcome(
            "no-break space inside a text",
            not nbsp and bool(spaced),
            f"taken: U+00A0 becomes one space ({len(spaced)} pairs 'no break space …', no U+00A0 left)",
            took,
            "U+00A0 reached the pre-training text" if nbsp else "",
        )
    )
    empty = manifest.get("drops", {}).get("empty_line")
    results.append(
        Outcome(
            "empty lines",
            empty == 6,
            f"dropped and counted: results/corpus/en-de.manifest.json drops.empty_line = {empty} (6 lines with an empty side)",
            took,
        )
    )
    too_long = summary["drops"].get("too_long")
    long_left = [line for line in pre_en if len(line.split()) > 1000]
    results.append(
        Outcome(
            "5,000-word line",
            too_long == 1 and not long_left,
            f"dropped and counted: results/data/summary/en-de.json drops.too_long = {too_long} "
            f"(more than prepare.max_words, {(cfg.get('prepare') or {}).get('max_words', 200)} by default; the aligner's "
            "own limit is 1024)",
            took,
        )
    )
    return results


def scenario_preflight(root: Path) -> list[Outcome]:
    """Broken things found before any job, in the finished study of scenario_odd_text: a forced
    rerun (--forcerun segment_pair) must stop before Snakemake deletes anything."""
    folder = root / "study"
    cfg = yaml.safe_load((folder / "overlay.yaml").read_text())
    results = []
    force = ("--forcerun", "segment_pair", *ALIGN_TARGETS)

    def model_folder(path: Path, weights: bytes | None, tokenizer: bool) -> None:
        import torch
        from safetensors.torch import save_file

        path.mkdir(parents=True, exist_ok=True)
        save_file({"w": torch.zeros(64, 64)}, str(path / "model.safetensors"))
        if weights is not None:
            full = (path / "model.safetensors").read_bytes()
            (path / "model.safetensors").write_bytes(full[:5000])
        (path / "config.json").write_text("{}")
        (path / "tokenizer_config.json").write_text("{}")
        if tokenizer:
            (path / "tokenizer.json").write_text("{}")

    cases = [
        (
            "truncated model.safetensors",
            lambda: model_folder(folder / "results/models/mlm/model", b"", True),
            folder / "results/models",
            None,
            "is truncated: 5000 bytes of the",
        ),
        (
            "missing tokenizer.json",
            lambda: model_folder(folder / "results/tokenizer", None, False),
            folder / "results/tokenizer",
            None,
            "tokenizer.json is missing (tokenizer_config.json is there)",
        ),
        (
            "tracking database not a database",
            lambda: (folder / "bad.db").write_text("not a database\n"),
            folder / "bad.db",
            {"MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'bad.db'}"},
            "is not an SQLite database",
        ),
    ]
    for name, make, cleanup, env, expected in cases:
        before = snapshot(folder)
        make()
        rc, out, took = run(folder, cfg, *force, env=env)
        outcome = expect_error(name, rc, out, took, expected, folder, before)
        if cleanup.is_dir():
            shutil.rmtree(cleanup)
        else:
            cleanup.unlink()
        results.append(outcome)
    return results


def scenario_alignment_files(root: Path) -> list[Outcome]:
    """An alignment file that does not fit its corpus: out-of-range indices, a wrong line count."""
    folder = root / "study"
    cfg = yaml.safe_load((folder / "overlay.yaml").read_text())
    forward = folder / "results/align/en-de/forward.txt"
    original = forward.read_bytes()
    lines = original.decode().splitlines()
    results = []
    for name, text, expected in [
        ("alignment index out of range", "\n".join(["0-0 99-99", *lines[1:]]) + "\n", "is out of range for a pair of"),
        ("alignment wrong line count", "\n".join(lines[:-1]) + "\n", f"forward.txt has {len(lines) - 1} lines but"),
    ]:
        changed = ("forward.txt", "symmetrized.txt", "intersection.txt")  # the edited file and what reads it
        keep = {p: d for p, d in snapshot(folder).items() if not p.endswith(changed)}
        forward.write_text(text)
        rc, out, took = run(folder, cfg, *ALIGN_TARGETS)
        results.append(expect_error(name, rc, out, took, expected, folder, keep))
    forward.write_bytes(original)
    return results


def scenario_full_disk(root: Path) -> list[Outcome]:
    """A disk that fills while a job writes: a 20 MB tmpfs holds the study, a filler leaves 512 KB."""
    folder = root / "full-disk"
    data = root / "full-disk-data"
    data.mkdir(parents=True, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=20m", "tmpfs", str(folder)], capture_output=True, text=True
    )
    if mounted.returncode != 0:
        return [
            Outcome("full disk", False, "", 0.0, f"not testable here: mount -t tmpfs failed ({mounted.stderr.strip()})")
        ]
    try:
        small = _moses(data)
        big_en = [f"sentence number {i} of a long bitext that fills the disk ." for i in range(20000)]
        big_fr = [f"phrase numero {i} d'un long bitexte qui remplit le disque ." for i in range(20000)]
        (data / "big.en").write_text("\n".join(big_en) + "\n")
        (data / "big.fr").write_text("\n".join(big_fr) + "\n")
        big = {"format": "moses", "en": {"path": str(data / "big.en")}, "xx": {"path": str(data / "big.fr")}}
        cfg = local_study(folder, small)
        rc, out, took0 = run(folder, cfg, "--until", "download_pair")
        if rc != 0:
            return [Outcome("full disk", False, "", took0, f"the first run failed: {out.strip().splitlines()[-1]}")]
        before = snapshot(folder)
        stat = os.statvfs(folder)
        free = stat.f_bavail * stat.f_frsize
        with open(folder / "filler", "wb") as handle:
            handle.write(b"\0" * max(0, free - 512 * 1024))
        cfg = local_study(folder, small, languages=("de", "fr"), pairs={"de": small, "fr": big})
        rc, out, took = run(folder, cfg, "--until", "download_pair")
        outcome = expect_error("full disk", rc, out, took, "No space left on device", folder, before)
        if outcome.ok and (folder / "results/corpus/en-fr.jsonl").exists():
            outcome.ok, outcome.why = False, "results/corpus/en-fr.jsonl was left"
        if outcome.ok and "disk is full" not in outcome.line:
            outcome.ok, outcome.why = False, "the message does not say what to do"
        return [outcome]
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


def scenario_read_only(root: Path) -> list[Outcome]:
    """results/logs read-only for the user who runs the workflow (root writes anywhere: 'nobody')."""
    name = "read-only results folder"
    if os.geteuid() != 0 or not Path(NOBODY[0]).exists():
        return [Outcome(name, False, "", 0.0, "not testable here: needs root and setpriv to run as 'nobody'")]
    folder = Path(tempfile.mkdtemp(prefix="fault-ro-", dir="/tmp"))
    try:
        cfg = local_study(folder, _moses(folder))
        rc, out, took0 = run(folder, cfg, "--until", "download_pair")
        if rc != 0:
            return [Outcome(name, False, "", took0, f"the first run failed: {out.strip().splitlines()[-1]}")]
        os.chmod(folder, 0o755)
        subprocess.run(["chown", "-R", "65534:65534", str(folder)], check=True)
        before = snapshot(folder)
        os.chmod(folder / "results" / "logs", 0o555)
        env = {"HOME": str(folder / "home"), "XDG_CACHE_HOME": str(folder / "home" / ".cache")}
        rc, out, took = run(
            folder, cfg, "--forcerun", "download_pair", "--until", "download_pair", env=env, user=NOBODY
        )
        return [expect_error(name, rc, out, took, "cannot write to", folder, before)]
    finally:
        for path, dirs, _ in os.walk(folder):
            for d in dirs:
                os.chmod(Path(path) / d, 0o755)
        shutil.rmtree(folder, ignore_errors=True)


def scenario_ddtp_language(root: Path) -> list[Outcome]:
    """A language the DDTP mirror does not have (the smoke mirror has de, fr, ja)."""
    sys.path.insert(0, str(REPO / "tests"))
    from workflow_helpers import smoke_config

    folder = root / "ddtp-missing-language"
    folder.mkdir(parents=True, exist_ok=True)
    cfg = yaml.safe_load(smoke_config(folder).read_text())
    cfg["corpus"]["languages"] = ["de", "es"]
    rc, out, took = run(folder, cfg, "--until", "download_pair")
    return [expect_error("language missing from the source (DDTP)", rc, out, took, "has no Translation-es", folder)]


def scenario_unreachable(root: Path) -> list[Outcome]:
    """An unreachable tracking server: one warning, tracking off, the outputs made."""
    folder = root / "unreachable"
    folder.mkdir(parents=True, exist_ok=True)
    cfg = local_study(folder, _moses(folder))
    rc, out, took = run(folder, cfg, "--until", "download_pair", env={"MLFLOW_TRACKING_URI": "http://127.0.0.1:9"})
    expected = "WARNING: tracking server http://127.0.0.1:9 does not answer"
    ok = (
        rc == 0
        and out.count(expected) == 1
        and "Traceback" not in out
        and "[tracking]" not in out
        and (folder / "results/corpus/en-de.jsonl").exists()
    )
    line = next((ln.strip() for ln in out.splitlines() if expected in ln), "(expected text not found)")
    return [Outcome("unreachable tracking server", ok, line, took, "" if ok else f"rc {rc}")]


SCENARIOS = [  # (names, function); odd text first: the next two use its study
    (
        (
            "'|||' inside a text",
            "tab inside a moses text",
            "no-break space inside a text",
            "empty lines",
            "5,000-word line",
        ),
        scenario_odd_text,
    ),
    (("truncated model.safetensors", "missing tokenizer.json", "tracking database not a database"), scenario_preflight),
    (("alignment index out of range", "alignment wrong line count"), scenario_alignment_files),
    (("language missing from the source (DDTP)",), scenario_ddtp_language),
    (("full disk",), scenario_full_disk),
    (("read-only results folder",), scenario_read_only),
    (("unreachable tracking server",), scenario_unreachable),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="run the cases in this folder and keep it")
    parser.add_argument("-k", default="", help="only the cases whose name contains one of these (comma-separated)")
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="fault-suite-"))
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)
    wanted = [k for k in args.k.split(",") if k] or [""]
    selected = lambda name: any(k in name for k in wanted)  # noqa: E731
    base = yaml.safe_load((REPO / "configs" / "smoke.yaml").read_text())
    outcomes: list[Outcome] = []

    def show(outcome: Outcome) -> None:
        outcomes.append(outcome)
        print(
            f"{'CLEAR' if outcome.ok else 'NOT CLEAR'}  {outcome.name}  ({outcome.took:.0f} s): {outcome.line[:400]}",
            flush=True,
        )
        if not outcome.ok:
            print(f"    {outcome.why}", flush=True)

    for name, overlay, expected in CONFIG_CASES + DATA_CASES:
        if not selected(name):
            continue
        folder = root / name.replace(" ", "_").replace("/", "_").replace(".", "")
        folder.mkdir(parents=True, exist_ok=True)
        if callable(overlay):
            cfg = local_study(folder, overlay(folder))
            rc, out, took = run(folder, cfg, "--until", "download_pair")
        else:
            cfg = {
                **base,
                **{
                    k: ({**base.get(k, {}), **v} if isinstance(v, dict) and isinstance(base.get(k), dict) else v)
                    for k, v in overlay.items()
                },
            }
            rc, out, took = run(folder, cfg, "-n")
        outcome = expect_error(name, rc, out, took, expected, folder)
        if list((folder / "results" / "corpus").glob("en-de*")) if (folder / "results").exists() else []:
            outcome.ok, outcome.why = False, "partial outputs in results/corpus"
        show(outcome)
    scenario_root = root / "scenarios"
    for names, function in SCENARIOS:
        if not any(selected(n) for n in names):
            continue
        if (
            function in (scenario_preflight, scenario_alignment_files)
            and not (scenario_root / "study" / ALIGN_TARGETS[0]).exists()
        ):
            for outcome in scenario_odd_text(scenario_root):
                if selected(outcome.name):
                    show(outcome)
        for outcome in function(scenario_root):
            if selected(outcome.name) or function is scenario_odd_text:
                show(outcome)
    tried = [o for o in outcomes if not o.why.startswith("not testable")]
    clear = sum(o.ok for o in tried)
    for o in outcomes:
        if o.why.startswith("not testable"):
            print(f"NOT TRIED  {o.name}: {o.why}")
    print(f"clear: {clear} / tried: {len(tried)}  (folder: {root})")
    return 0 if clear == len(tried) else 1


if __name__ == "__main__":
    raise SystemExit(main())
