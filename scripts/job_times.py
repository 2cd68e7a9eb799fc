"""Where a study's time went: wall seconds of every job per rule, from Snakemake's benchmark files.

    python scripts/job_times.py [PROJECT]        # default: the current folder

Reads ``results/benchmarks/<rule>.tsv`` and ``results/benchmarks/<rule>/<wildcards>.tsv`` (one
per job, written by each rule's ``benchmark:``) and prints a Markdown table per rule: jobs, summed
wall seconds, mean and max wall seconds, summed CPU seconds (``cpu_time``: a 2-thread job can
use up to twice its wall time) and the rule's share of all CPU seconds. Jobs without a benchmark
file (gather, the small local rules) are not counted.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path


def job_times(project: Path) -> dict[str, list[tuple[float, float]]]:
    root = project / "results" / "benchmarks"
    if not root.is_dir():
        raise SystemExit(f"{root}: no benchmark files (run the study first)")
    times: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for path in sorted(root.rglob("*.tsv")):
        rule = path.relative_to(root).parts[0].removesuffix(".tsv")
        with path.open() as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if rows:
            times[rule].append((float(rows[-1]["s"]), float(rows[-1]["cpu_time"] or 0)))
    return times


def main() -> None:
    project = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    times = job_times(project)
    cpu_total = sum(c for v in times.values() for _, c in v)
    wall_total = sum(w for v in times.values() for w, _ in v)
    print("| rule | jobs | wall s (sum) | mean | max | CPU s (sum) | CPU share |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for rule, values in sorted(times.items(), key=lambda kv: -sum(c for _, c in kv[1])):
        wall = [w for w, _ in values]
        cpu = sum(c for _, c in values)
        print(
            f"| {rule} | {len(values)} | {sum(wall):.0f} | {sum(wall) / len(wall):.1f} | {max(wall):.0f} | "
            f"{cpu:.0f} | {100 * cpu / cpu_total:.1f}% |"
        )
    print(f"| **total** | {sum(len(v) for v in times.values())} | {wall_total:.0f} | | | {cpu_total:.0f} | |")


if __name__ == "__main__":
    main()
