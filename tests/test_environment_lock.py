"""envs/alignxfer.yaml (the conda env of --sdm conda) is the lock: every package of
requirements.lock pinned at its version, and nothing else; regenerating it changes nothing."""

from pathlib import Path

from alignxfer import environment as E

REPO = Path(__file__).resolve().parent.parent
ENV_FILE = REPO / E.CONDA_ENV_FILE
LOCK = REPO / E.LOCK_FILE


def test_conda_env_pins_exactly_the_lock():
    assert E.conda_env_differences(ENV_FILE, LOCK) == []
    # what `python -m alignxfer.environment --conda-env envs/alignxfer.yaml` would write
    python = next(line.split("=", 1)[1] for line in ENV_FILE.read_text().splitlines() if "- python=" in line)
    assert ENV_FILE.read_text() == E.conda_env_text(E.lock_lines(LOCK), python=python)


def test_a_disagreement_is_named(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("# comment\nnumpy==2.4.6\nPyYAML==6.0.4\ntorch==2.13.0\n")
    env = tmp_path / "env.yaml"
    E.write_conda_env(env, lock)
    assert E.conda_env_differences(env, lock) == []
    assert "      - PyYAML==6.0.4" in env.read_text().splitlines()
    lock.write_text("numpy==2.4.7\nPyYAML==6.0.4\nscipy==1.17.1\n")  # numpy moved, torch gone, scipy new
    assert E.conda_env_differences(env, lock) == [
        f"{env}: numpy==2.4.6, requirements.lock has 2.4.7",
        f"{env}: scipy==1.17.1 of requirements.lock is missing",
        f"{env}: torch==2.13.0 is not in requirements.lock",
    ]
    env.write_text(env.read_text().replace("numpy==2.4.6", "numpy>=2"))
    assert f"{env}: 'numpy>=2' is not pinned as name==version" in E.conda_env_differences(env, lock)


def test_the_lock_cli_writes_the_conda_env_next_to_it(tmp_path, monkeypatch):
    lock = tmp_path / "requirements.lock"
    lock.write_text("numpy==2.4.6\n")
    (tmp_path / "envs").mkdir()
    monkeypatch.chdir(tmp_path)
    assert E.main(["--conda-env", "envs/alignxfer.yaml"]) == 0
    assert E.conda_env_differences(tmp_path / "envs" / "alignxfer.yaml", lock) == []
