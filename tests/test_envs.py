"""envs/*.yaml (for --sdm conda) install every dependency of pyproject.toml (at the locked
versions: tests/test_environment_lock.py, tests/test_lock.py)."""

from pathlib import Path

import tomllib
import yaml
from packaging.requirements import Requirement

from alignxfer.environment import normalize

REPO = Path(__file__).resolve().parent.parent


def test_conda_env_installs_every_dependency_of_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    for env_file in (REPO / "envs").glob("*.yaml"):
        env = yaml.safe_load(env_file.read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
        pinned = {normalize(Requirement(r).name): Requirement(r) for r in pip}
        for dep in map(Requirement, project):
            assert normalize(dep.name) in pinned, f"{env_file.name} lacks {dep} of pyproject.toml"


def test_every_rule_declares_the_env_log_and_script():
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        assert text.count("script:") == text.count("conda:") == text.count("log:"), smk.name
