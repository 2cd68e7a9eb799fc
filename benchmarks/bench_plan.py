"""Plan (snakemake -n) a large grid and print the job count and the seconds it took.

Grid: 10 languages x 6 arms x 5 seeds x 2 settings (the goal: planning under 10 s).
    python benchmarks/bench_plan.py [--languages 10] [--seeds 5]
Baseline in the same run: planning the default study (config.yaml), for the ratio.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as C  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
LANGS = ["de", "fr", "es", "ru", "ja", "zh", "it", "pl", "nl", "pt"]


def plan(configfile: Path, workdir: Path) -> tuple[int, float]:
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "2",
            "--quiet",
            "rules",
            "--snakefile",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            "--configfile",
            str(configfile),
        ],
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(result.stdout + result.stderr)
    total = re.search(r"^total\s+(\d+)$", result.stdout + result.stderr, re.M)
    return int(total.group(1)) if total else 0, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--languages", type=int, default=10)
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    C.header("workflow planning time (snakemake -n) for a large grid")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        grid = {
            "corpus": {"languages": LANGS[: args.languages]},
            "finetuning": {"seeds": [12, 156, 78, 37, 8, 1, 2, 3, 4, 5][: args.seeds]},
            "pretraining": {"objectives": ["base", "mlm", "tlm", "weam", "word_aligned", "contrastive"]},
            "tasks": {"topic": {"settings": ["zero_shot", "translate_train"]}},
        }
        (tmp / "grid.yaml").write_text(yaml.safe_dump(grid))
        base_jobs, base_s = plan(REPO / "config.yaml", tmp)
        jobs, seconds = plan(tmp / "grid.yaml", tmp)
    print(f"default study: {base_jobs} jobs planned in {base_s:.2f} s")
    print(
        f"grid {args.languages} languages x 6 arms x {args.seeds} seeds x 2 settings: {jobs} jobs planned in {seconds:.2f} s"
    )
    print(f"ratio grid/default: {seconds / base_s:.2f}x time for {jobs / max(base_jobs, 1):.2f}x jobs")
    print("goal: under 10 s:", "met" if seconds < 10 else "NOT met")
    print("(each time is one `python -m snakemake -n` process: interpreter start and imports included)")
    print(f"# load average at end: {C.load_average()}")


if __name__ == "__main__":
    main()
