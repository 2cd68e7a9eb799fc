"""The kill suite's mechanism (scripts/kill_suite.py) on a two-rule workflow: it finds a running
Snakemake script job and its rule, kills it with SIGKILL, and a rerun with --rerun-incomplete
rebuilds what the killed job had half-written. The whole study: `python scripts/kill_suite.py`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import kill_suite  # noqa: E402

SNAKEFILE = textwrap.dedent(
    """
    rule all:
        input: "results/b.txt"

    rule slow:
        output: "results/a.txt"
        log: "results/logs/slow/a.log"
        script: "slow.py"

    rule copy:
        input: "results/a.txt"
        output: "results/b.txt"
        shell: "cp {input} {output}"
    """
)

SLOW = textwrap.dedent(
    """
    import os, time
    with open(snakemake.log[0], "w") as log:
        log.write("[slow] {} threads=1\\n")
        log.flush()
        with open(snakemake.output[0], "w") as out:   # a non-atomic writer: half a file while it runs
            out.write("half")
            out.flush()
            time.sleep(float(os.environ.get("SLOW_SECONDS", "0")))
            out.write(" and the rest\\n")
    """
)


def _snakemake(workdir: Path, *args: str, env: dict | None = None, wait: bool = True):
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "--snakefile",
        str(workdir / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "1",
        *args,
    ]
    full_env = {**os.environ, **(env or {})}
    if wait:
        return subprocess.run(cmd, capture_output=True, text=True, env=full_env, timeout=600)
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=full_env, start_new_session=True
    )


def test_a_killed_job_is_found_by_rule_and_rebuilt_by_the_rerun(tmp_path):
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "slow.py").write_text(SLOW)
    proc = _snakemake(tmp_path, env={"SLOW_SECONDS": "120"}, wait=False)
    job = None
    deadline = time.monotonic() + 300
    while job is None and time.monotonic() < deadline and proc.poll() is None:
        for pid in kill_suite.children().get(proc.pid, []):
            found = kill_suite.job_of(pid, tmp_path)
            if found and kill_suite.has_started(tmp_path, found):
                job = found
        time.sleep(0.1)
    assert job is not None, "the running job was not found"
    assert (job["rule"], job["log"], job["output"]) == ("slow", "results/logs/slow/a.log", ["results/a.txt"])
    assert kill_suite.key_of(job) == "slow"
    assert (tmp_path / "results" / "a.txt").read_text() == "half"
    kill_suite.kill_tree(job["pid"])
    out, _ = proc.communicate(timeout=300)
    assert proc.returncode != 0 and "Error in rule slow" in out
    assert not (tmp_path / "results" / "a.txt").exists()  # Snakemake removed the half-written output
    rerun = _snakemake(tmp_path, "--rerun-incomplete")
    assert rerun.returncode == 0, rerun.stderr
    assert (tmp_path / "results" / "b.txt").read_text() == "half and the rest\n"


def test_the_comparison_finds_a_changed_or_missing_file(tmp_path):
    for name in ("a", "b"):
        tables = tmp_path / name / "results" / "tables"
        tables.mkdir(parents=True)
        (tables / "t.csv").write_text("x\n1\n")
        (tmp_path / name / "results" / "metrics").mkdir()
    assert kill_suite.compare(tmp_path / "a", tmp_path / "b") == (1, [])
    (tmp_path / "b" / "results" / "tables" / "t.csv").write_text("x\n2\n")
    (tmp_path / "a" / "results" / "metrics" / "m.json").write_text("{}")
    compared, differences = kill_suite.compare(tmp_path / "a", tmp_path / "b")
    assert compared == 1
    assert differences == [f"only in {tmp_path / 'a'}: results/metrics/m.json", "differs: results/tables/t.csv"]


def test_the_jobs_of_a_reference_run_are_read_from_its_console_log(tmp_path):
    log = tmp_path / "run.log"
    log.write_text(
        textwrap.dedent(
            """
        [Tue Dec  1 13:07:31 2026]
        localrule download_pair:
            input: results/corpus/en.jsonl
            output: results/corpus/en-ja.jsonl, results/corpus/en-ja.manifest.json
            log: results/logs/download_pair/en-ja.log
            jobid: 11
            wildcards: lang=ja
            resources: tmpdir=/tmp
        Select jobs to execute...
        Finished jobid: 11 (Rule: download_pair)
        [Tue Dec  1 13:07:32 2026]
        localrule align:
            output: results/align/en-de/forward.txt
            jobid: 12
            wildcards: lang=de, direction=forward
        [Tue Dec  1 13:07:33 2026]
        rule pretrain:
            output: results/models/weam/p13/model, results/models/weam/p13/history.jsonl
            wildcards: objective=weam, pseed=13
        localrule all:
            input: results/tables/x.csv
        """
        ).lstrip()
    )
    assert kill_suite.reference_jobs(log) == [
        {
            "rule": "download_pair",
            "output": ["results/corpus/en-ja.jsonl", "results/corpus/en-ja.manifest.json"],
            "wildcards": {"lang": "ja"},
        },
        {
            "rule": "pretrain",
            "output": ["results/models/weam/p13/model", "results/models/weam/p13/history.jsonl"],
            "wildcards": {"objective": "weam", "pseed": "13"},
        },
    ]


def test_a_phase_from_a_reference_forces_kills_and_rebuilds_one_job(tmp_path, monkeypatch):
    """--from-reference on the two-rule workflow: the forced job is killed in the first start,
    forced again in the second, and its output equals the reference's; `copy` is not rerun."""
    import shutil

    reference = tmp_path / "ref"
    reference.mkdir()
    (reference / "Snakefile").write_text(SNAKEFILE)
    (reference / "slow.py").write_text(SLOW)
    (reference / "config.yaml").write_text("{}\n")
    assert _snakemake(reference).returncode == 0
    work = tmp_path / "work"
    shutil.copytree(reference, work, symlinks=True)
    copy_mtime = (work / "results" / "b.txt").stat().st_mtime
    monkeypatch.setattr(kill_suite, "SNAKEFILE", work / "Snakefile")
    monkeypatch.setenv("SLOW_SECONDS", "4")
    suite = kill_suite.Suite(work, work / "config.yaml", reference, cores=[1], seed=0, max_starts=5)
    job = {"rule": "slow", "output": ["results/a.txt"], "wildcards": {}}
    suite.phase(["slow"], ("--allowed-rules", "slow", *kill_suite.RESUME_TRIGGERS), seeds=[job])
    assert suite.problems == [] and [k["key"] for k in suite.kills] == ["slow"] and suite.starts == 2
    suite.check_rerun()
    assert suite.problems == []
    assert suite.killed_outputs_vs_reference() == (1, [])
    assert (work / "results" / "b.txt").stat().st_mtime == copy_mtime  # not an allowed rule: left alone


def test_a_job_script_whose_pickle_snakemake_writes_in_double_quotes_is_read(tmp_path):
    """Snakemake writes `pickle.loads(<repr of the bytes>)`: b"…" when the bytes hold a ' and no "
    (finetune and alignment_gold jobs of the smoke study); the suite reads both quotings."""
    import pickle
    import types

    smk = types.SimpleNamespace(rule="it's", wildcards={"lang": "de"}, log=["results/logs/x.log"], output=["o"])
    data = pickle.dumps(smk, protocol=4)
    assert b"'" in data and b'"' not in data and str(data).startswith('b"')
    script = tmp_path / ".snakemake" / "scripts" / "tmpabc.x.py"
    script.parent.mkdir(parents=True)
    script.write_text(f"import pickle; snakemake = pickle.loads({data});\n")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", str(script)])
    try:
        job, deadline = None, time.monotonic() + 30
        while job is None and time.monotonic() < deadline:  # until the child has exec'd the script's line
            job = kill_suite.job_of(proc.pid, tmp_path)
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
    assert job is not None
    assert (job["rule"], job["wildcards"], job["log"], job["output"]) == (
        "it's",
        {"lang": "de"},
        "results/logs/x.log",
        ["o"],
    )
