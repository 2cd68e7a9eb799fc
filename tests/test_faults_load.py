"""Tracking under load (scripts/load_suite.py, smaller): processes starting runs at the same moment
lose none, against SQLite and against a real `mlflow server`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))

import load_suite  # noqa: E402


def _assert_nothing_lost(counts: dict, started: int) -> None:
    assert counts["started"] == started
    assert counts["recorded"] == counts["finished_complete"] == counts["distinct_ids"] == started, counts
    assert counts["disabled"] == 0 and counts["locked"] == 0, counts["errors"]


@pytest.mark.slow
def test_concurrent_runs_on_sqlite_are_all_recorded(tmp_path):
    counts = load_suite.stress(f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path, processes=3, runs=4, experiment="load")
    _assert_nothing_lost(counts, 12)


@pytest.mark.slow
def test_concurrent_runs_on_a_tracking_server_are_all_recorded(tmp_path):
    server, uri = load_suite.start_server(tmp_path)
    try:
        counts = load_suite.stress(uri, tmp_path, processes=3, runs=4, experiment="load")
    finally:
        load_suite.stop_server(server)
    _assert_nothing_lost(counts, 12)
