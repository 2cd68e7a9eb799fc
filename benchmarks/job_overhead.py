"""What a workflow job costs before it does any work (issue #11, the study's time budget).

Runs N jobs of four kinds through a real Snakemake (``--cores 1``, in a scratch folder) and prints
the wall seconds per job of each (less Snakemake's start, timed by a second start that finds the
outputs made), as a ratio to the first:

- ``shell``: a ``shell:`` rule that touches its output (Snakemake's own cost per job);
- ``script``: a ``script:`` rule whose Python script writes its output (the interpreter and the
  pickled ``snakemake`` object);
- ``job, tracking off``: the same inside ``workflow_scripts.snakemake_job.job`` with tracking off
  and the imports a model job makes (torch, transformers' BERT classes);
- ``job, tracking on``: the same with a real MLflow run in an SQLite file (the default backend).

    python benchmarks/job_overhead.py [--jobs 4] [--workdir /tmp/job-overhead]

The last row times to the default study's ~137 jobs as ``x 137``: on 2 cores about half of that is
wall time. Nothing of the study is read or written.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SNAKEFILE = """
KINDS = ["shell", "script", "job_off", "job_on"]

rule shell:
    output: "shell/{i}.txt"
    shell: "touch {output}"

rule script:
    output: "script/{i}.txt"
    script: "plain.py"

rule job_off:
    output: "job_off/{i}.txt"
    log: "logs/job_off/{i}.log"
    script: "tracked.py"

rule job_on:
    output: "job_on/{i}.txt"
    log: "logs/job_on/{i}.log"
    script: "tracked.py"
"""

PLAIN = """
open(snakemake.output[0], "w").write("x")
"""

TRACKED = """
import sys
sys.path.insert(0, {root!r})
from workflow_scripts.snakemake_job import job

with job(snakemake, tags={{"arm": "x"}}) as ctx:
    import torch  # noqa: F401
    from transformers import BertForSequenceClassification  # noqa: F401

    open(ctx.output[0], "w").write("x")
"""


def snakemake(workdir: Path, kind: str, jobs: int) -> float:
    """Seconds of one Snakemake start that makes ``kind``'s N outputs (nothing, when they exist)."""
    # a config file, not --config: Snakemake reads `enabled: false` inside a --config value as a string
    configfile = workdir / f"{kind}.yaml"
    tracking = {"enabled": kind == "job_on", "uri": f"sqlite:///{workdir / 'mlflow.db'}"}
    configfile.write_text(json.dumps({"tracking": tracking, "threads": 1}))  # JSON is YAML
    targets = [f"{kind}/{i}.txt" for i in range(jobs)]
    cmd = [sys.executable, "-m", "snakemake", "--cores", "1", "-q", "--configfile", str(configfile), "--", *targets]
    started = time.perf_counter()
    subprocess.run(cmd, cwd=workdir, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_kind(workdir: Path, kind: str, jobs: int) -> float:
    """Wall seconds per job: a start that runs the N jobs, less a start that finds them done
    (Snakemake's own start and planning)."""
    ran = snakemake(workdir, kind, jobs)
    idle = snakemake(workdir, kind, jobs)
    return (ran - idle) / jobs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=4, help="jobs of each kind")
    parser.add_argument("--workdir", type=Path, help="scratch folder (default: a temporary one)")
    args = parser.parse_args(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="job-overhead-"))
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / "Snakefile").write_text(SNAKEFILE)
    (workdir / "plain.py").write_text(PLAIN)
    (workdir / "tracked.py").write_text(TRACKED.format(root=str(ROOT)))
    kinds = [
        ("shell", "shell"),
        ("script", "script"),
        ("job_off", "job, tracking off"),
        ("job_on", "job, tracking on"),
    ]
    # warm the page cache first: the first process to import torch, transformers and mlflow reads
    # them from disk, which would be charged to whichever kind runs first
    warm = "import torch, mlflow; from transformers import BertForSequenceClassification"
    subprocess.run([sys.executable, "-c", warm], check=True)
    seconds = {kind: run_kind(workdir, kind, args.jobs) for kind, _ in kinds}
    base = seconds["shell"]
    print(f"| job kind ({args.jobs} jobs each, --cores 1) | wall s per job | ratio to shell |")
    print("|---|---:|---:|")
    for kind, label in kinds:
        print(f"| {label} | {seconds[kind]:.2f} | {seconds[kind] / base:.1f} |")
    print(f"\nx 137 jobs (the default study): {seconds['job_on'] * 137:.0f} s of job time before any work")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
