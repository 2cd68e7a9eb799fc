"""Ecosystem conventions: the licence pyproject names, a default profile that gives plain
`snakemake` the machine's cores."""

import os

import pytest
import tomllib
import yaml

from tests.workflow_helpers import REPO, smoke_config, snakemake


def test_license_file_is_the_one_pyproject_names():
    license_ = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["license"]["text"]
    text = (REPO / "LICENSE").read_text()
    assert license_ == "MIT" and text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


@pytest.mark.slow  # runs one job (rule environment) through Snakemake
def test_default_profile_gives_plain_snakemake_the_machine_cores(tmp_path):
    assert yaml.safe_load((REPO / "profiles" / "default" / "profile.yaml").read_text())["cores"] == "all"
    config = smoke_config(tmp_path)
    without = snakemake(tmp_path, config, "--workflow-profile", "none", "results/environment.json")
    assert without.returncode != 0 and "cores have to be specified" in without.stdout + without.stderr
    plain = snakemake(tmp_path, config, "-p", "results/environment.json")  # no --cores: the default profile's
    text = plain.stdout + plain.stderr
    assert plain.returncode == 0, text[-3000:]
    assert "Using workflow specific profile" in text and f"Provided cores: {os.cpu_count()}" in text, text[-2000:]
    assert (tmp_path / "results" / "environment.json").exists()
