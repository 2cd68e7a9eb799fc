"""Determinism across core counts: two fresh smoke studies, one per ``--cores``, compared byte for byte.

    PYTHONPATH=. python scripts/cores_pair.py --workdir DIR [--cores 1,2] [--reuse REF]
    PYTHONPATH=. python scripts/cores_pair.py --compare STUDY_A STUDY_B     # two finished studies, any config

Each study is ``tests/workflow_helpers.smoke_config`` in ``DIR/cores<N>`` (an empty folder, its own
MLflow database), run with ``snakemake --cores N`` to its end. ``--reuse REF`` takes a finished
smoke study (e.g. the kill suite's reference, run with ``--cores 2``) as the study of the core
count it was run with instead of running it again (``REF/cores.txt`` or ``--reuse-cores`` says which).

Prints, for ``results/metrics/**`` and ``results/tables/**``, the files compared and every file that
differs (or exists in one study only), and, for all other files under ``results/`` (models,
histories, manifests), how many are identical, how many differ only in timing fields (wall-clock
seconds, throughput) and which differ otherwise. Exit status 0 when the metric files and tables are
identical.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "scripts"))

from kill_suite import compare, known_difference, run_reference  # noqa: E402


def run_study(workdir: Path, cores: int) -> float:
    """A fresh smoke study in ``workdir`` with ``--cores cores`` (the kill suite's reference run)."""
    workdir.mkdir(parents=True, exist_ok=False)
    started = time.monotonic()
    run_reference(workdir, cores)
    (workdir / "cores.txt").write_text(f"{cores}\n")
    return time.monotonic() - started


def other_files(a: Path, b: Path) -> tuple[int, int, int, list[str]]:
    """(identical, timing-only, run records, differing) among the files under results/ outside
    metrics and tables (kill_suite.known_difference)."""
    same = timing = records = 0
    differ = []
    skip = ("metrics", "tables", "logs", "benchmarks")
    files_a = {p.relative_to(a) for p in (a / "results").rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in (b / "results").rglob("*") if p.is_file()}
    for rel in sorted(files_a | files_b):
        if rel.parts[1] in skip:
            continue
        if rel not in files_a or rel not in files_b:
            differ.append(f"only in one study: {rel}")
        elif (a / rel).read_bytes() == (b / rel).read_bytes():
            same += 1
        elif (known := known_difference(a / rel, b / rel)) == "run record":
            records += 1
        elif known == "timing fields only":
            timing += 1
        else:
            differ.append(f"differs: {rel}")
    return same, timing, records, differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="where the two smoke studies are run (not with --compare)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar="STUDY", help="only compare two finished studies")
    parser.add_argument("--cores", default="1,2", help="the two core counts")
    parser.add_argument("--reuse", type=Path, help="a finished smoke study to take as one of the two")
    parser.add_argument("--reuse-cores", type=int, help="the --cores of --reuse (default: its cores.txt)")
    args = parser.parse_args()
    if args.compare:
        return report(*(study.resolve() for study in args.compare))
    if args.workdir is None:
        parser.error("--workdir is required (or --compare two finished studies)")
    cores = [int(c) for c in args.cores.split(",")]
    if len(cores) != 2:
        parser.error("--cores takes two core counts, e.g. 1,2")
    studies = {}
    if args.reuse:
        reuse = args.reuse.resolve()
        if not (reuse / "results" / "tables").is_dir():
            parser.error(f"{reuse} is not a finished study (no results/tables)")
        given = args.reuse_cores or (
            int((reuse / "cores.txt").read_text()) if (reuse / "cores.txt").is_file() else None
        )
        if given not in cores:
            parser.error(f"--reuse {reuse}: say its core count with --reuse-cores (one of {cores})")
        studies[given] = reuse
        print(f"--cores {given}: {reuse} (reused)", flush=True)
    for n in cores:
        if n not in studies:
            studies[n] = args.workdir.resolve() / f"cores{n}"
            print(f"--cores {n}: {studies[n]} ...", flush=True)
            print(f"--cores {n}: done in {run_study(studies[n], n):.0f} s", flush=True)
    return report(studies[cores[0]], studies[cores[1]])


def report(a: Path, b: Path) -> int:
    """Print how the results of two studies compare; 0 when their metric files and tables are identical."""
    compared, differences = compare(a, b)
    print(f"metric files and tables: {compared} compared, {len(differences)} differ")
    for line in differences:
        print(f"  {line}")
    same, timing, records, differ = other_files(a, b)
    print(
        f"other results files: {same} identical, {timing} differ only in timing fields, {records} are MLflow "
        f"run records (run ids differ by nature), {len(differ)} differ"
    )
    for line in differ:
        print(f"  {line}")
    return 0 if not differences else 1


if __name__ == "__main__":
    raise SystemExit(main())
