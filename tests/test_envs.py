"""envs/*.yaml (for --sdm conda) must pin the same packages as pyproject.toml."""

from pathlib import Path

import tomllib
import yaml

REPO = Path(__file__).resolve().parent.parent


def test_conda_env_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for env_file in (REPO / "envs").glob("*.yaml"):
        env = yaml.safe_load(env_file.read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
        assert sorted(pip) == sorted(project), f"{env_file.name} differs from pyproject.toml"


def test_every_rule_declares_the_env_log_and_script():
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        assert text.count("script:") == text.count("conda:") == text.count("log:"), smk.name
