"""Bad inputs of the fault suite (scripts/fault_suite.py) at the level of the code that catches
them: each message names the file, line or key and says what to do."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from alignxfer import preflight
from alignxfer.alignment import AlignmentError, symmetrize_files, validate_alignment
from alignxfer.sources import get_source
from scripts.fault_suite import _zip as _zip_pair  # the suite's own archive builder

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "name,mode,message",
    [
        ("../../etc/passwd", None, "has an absolute path or '..'"),
        ("/etc/passwd", None, "has an absolute path or '..'"),
        ("c/train.de", 0o120777, "is a symbolic link, not a regular file"),
        ("c/train.de", 0o020644, "is a device file, not a regular file"),
        ("c/train.de", 0o010644, "is a FIFO, not a regular file"),
    ],
)
def test_hostile_zip_members_are_refused_by_a_check(tmp_path, name, mode, message):
    src = get_source("local", {"pairs": {"de": _zip_pair(tmp_path, name, mode, b"/etc/hostname")}})
    with pytest.raises(ValueError, match="refused") as err:
        src.fetch_pair("de", tmp_path / "c", tmp_path / "o.jsonl", tmp_path / "o.json")
    assert message in str(err.value) and "en-de.zip (member" in str(err.value)
    assert not (tmp_path / "o.jsonl").exists()


def test_a_plain_zip_member_is_read(tmp_path):
    src = get_source("local", {"pairs": {"de": _zip_pair(tmp_path, "c/train.de")}})
    manifest = src.fetch_pair("de", tmp_path / "c", tmp_path / "o.jsonl", tmp_path / "o.json")
    assert manifest["counts"]["documents"] == 1


def test_a_tab_inside_a_tsv_text_names_the_line_and_the_way_out(tmp_path):
    path = tmp_path / "en-de.tsv"
    path.write_text("Hello .\tHallo .\nA\ttab .\tEin Tab .\n", encoding="utf-8")
    src = get_source("local", {"pairs": {"de": {"format": "tsv", "path": str(path)}}})
    with pytest.raises(
        ValueError, match=r"en-de\.tsv:2: expected 2 tab-separated fields \(en, xx\), found 3; .*format moses"
    ):
        src.fetch_pair("de", tmp_path / "c", tmp_path / "o.jsonl", tmp_path / "o.json")


def _aligned(tmp_path: Path, forward: str, reverse: str = "0-0\n0-0\n") -> tuple[Path, Path, Path]:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("a b ||| x y\nc ||| z\n", encoding="utf-8")
    (tmp_path / "forward.txt").write_text(forward)
    (tmp_path / "reverse.txt").write_text(reverse)
    return tmp_path / "forward.txt", tmp_path / "reverse.txt", corpus


def test_alignment_indices_out_of_range_name_file_line_and_the_rebuild(tmp_path):
    fwd, rev, corpus = _aligned(tmp_path, "0-0 1-1\n0-3\n")
    with pytest.raises(
        AlignmentError,
        match=r"forward\.txt:2: link 0-3 is out of range for a pair of 1 English and 1 target"
        r" words; .*delete the alignment files .* and rerun",
    ):
        symmetrize_files(fwd, rev, tmp_path / "sym.txt", corpus_path=corpus)
    assert not (tmp_path / "sym.txt").exists()
    with pytest.raises(AlignmentError, match=r"forward\.txt:2: link 0-3 is out of range"):
        validate_alignment(fwd, corpus)


def test_alignment_line_count_names_both_files_and_the_rebuild(tmp_path):
    fwd, rev, corpus = _aligned(tmp_path, "0-0\n")
    with pytest.raises(
        AlignmentError, match=r"forward\.txt has 1 lines but .*reverse\.txt has 2; .*one line per pair: delete"
    ):
        symmetrize_files(fwd, rev, tmp_path / "sym.txt", corpus_path=corpus)
    with pytest.raises(
        AlignmentError, match=r"has 1 lines but .*corpus\.txt has 2; an alignment needs exactly one line per pair"
    ):
        validate_alignment(fwd, corpus)


def test_a_tracking_database_that_is_not_one_is_refused_before_any_job(tmp_path):
    bad = tmp_path / "mlflow.db"
    bad.write_bytes(b"this is a text file, not SQLite\n" * 20)
    cfg = {"tracking": {"uri": f"sqlite:///{bad}"}}
    with pytest.raises(
        preflight.PreflightError,
        match=rf"the tracking database {bad} is not an SQLite database "
        r"\(file is not a database\): .*Move the file away",
    ):
        preflight.check_tracking_database(cfg, tmp_path)
    preflight.check_tracking_database({"tracking": {"uri": f"sqlite:///{bad}", "enabled": False}}, tmp_path)
    good = tmp_path / "good.db"
    sqlite3.connect(good).execute("create table t (x)").connection.commit()
    preflight.check_tracking_database({"tracking": {"uri": f"sqlite:///{good}"}}, tmp_path)
    preflight.check_tracking_database(
        {"tracking": {"uri": f"sqlite:///{tmp_path / 'new.db'}"}}, tmp_path
    )  # created later
    empty = tmp_path / "empty.db"
    empty.touch()
    preflight.check_tracking_database({"tracking": {"uri": f"sqlite:///{empty}"}}, tmp_path)
    # onstart's checks include it, before the tracking probe and the experiment creation
    with pytest.raises(preflight.PreflightError, match="is not an SQLite database"):
        preflight.run_all(cfg, tmp_path)


FULL_DISK_JOB = textwrap.dedent(
    """
    import sys
    from types import SimpleNamespace
    from alignxfer.io import write_json
    from workflow_scripts.snakemake_job import job

    class Named(list):
        def items(self):
            return dict(self.__dict__).items()

    smk = SimpleNamespace(rule="prepare_pair", wildcards=Named(), params=Named(), log=[sys.argv[1]], output=Named(),
                          input=Named(), threads=1, resources=SimpleNamespace(),
                          config={"study": "faults", "tracking": {"enabled": False}})
    with job(smk):
        with open("/dev/full", "w") as handle:  # a device that is always full: writes fail with ENOSPC
            handle.write("x" * 100000)
            handle.flush()
    """
)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_a_full_disk_is_one_message_that_says_what_to_do(tmp_path):
    script = tmp_path / "job.py"
    script.write_text(FULL_DISK_JOB)
    log = tmp_path / "job.log"
    result = subprocess.run(
        [sys.executable, str(script), str(log)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=300,
    )
    assert result.returncode == 1
    assert "ERROR in prepare_pair {}: [Errno 28] No space left on device" in result.stderr
    assert "the disk is full: free space on it (df -h .) and rerun" in result.stderr
    assert "Traceback" not in result.stderr and "Traceback" in log.read_text()
