"""requirements.lock (what scripts/setup.sh installs with) agrees with pyproject.toml and envs/,
and the environment record (results/environment.json) says what a study ran on."""

import json
from pathlib import Path

import pytest
import tomllib
import yaml
from packaging.requirements import Requirement

from alignxfer import environment as E

REPO = Path(__file__).resolve().parent.parent
LOCK = E.read_lock(REPO / E.LOCK_FILE)


def _requirements() -> dict[str, list[Requirement]]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    out = {
        "pyproject.toml": [Requirement(r) for r in project["dependencies"] + project["optional-dependencies"]["test"]]
    }
    for env_file in sorted((REPO / "envs").glob("*.yaml")):
        env = yaml.safe_load(env_file.read_text())
        pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
        out[f"envs/{env_file.name}"] = [Requirement(r) for r in pip if not r.startswith("-")]
    return out


@pytest.mark.parametrize("source", sorted(_requirements()))
def test_lock_pins_every_requirement_within_its_range(source):
    for req in _requirements()[source]:
        name = E.normalize(req.name)
        assert name in LOCK, (
            f"{source}: {req} is not in requirements.lock; rerun python -m alignxfer.environment --lock requirements.lock"
        )
        assert req.specifier.contains(LOCK[name], prereleases=True), (
            f"{source}: {req} excludes the locked {name}=={LOCK[name]}"
        )


def test_setup_installs_with_the_lock():
    assert "-c requirements.lock" in (REPO / "scripts" / "setup.sh").read_text()


def test_this_environment_matches_the_lock():
    # the packages the project names directly are installed at the locked versions (a test run
    # in an environment that drifted from the lock says so here, not in a mysterious number)
    installed = E.installed_packages()
    direct = {E.normalize(r.name) for r in _requirements()["pyproject.toml"]}
    drift = [d for d in E.lock_differences(LOCK, installed) if d.split(":")[0] in direct]
    assert not drift, drift


def test_read_lock_names_the_bad_line(tmp_path):
    bad = tmp_path / "x.lock"
    bad.write_text("# c\nnumpy==2.0\ntorch>=2\n")
    with pytest.raises(ValueError, match=r"x.lock:3: expected 'name==version'"):
        E.read_lock(bad)
    assert E.lock_differences({"numpy": "2.0", "torch": "2.13.0"}, {"numpy": "2.1", "torch": "2.13.0+cpu"}) == [
        "numpy: locked 2.0, installed 2.1"
    ]


def test_environment_record_has_versions_lock_and_cpu_features(tmp_path):
    (tmp_path / E.LOCK_FILE).write_text("numpy==0.0.1\n")
    record = E.collect(tmp_path, with_torch=False)
    assert record["packages"]["numpy"] and record["lock"]["matches"] is False
    assert record["lock"]["differences"][0].startswith("numpy: locked 0.0.1")
    assert set(E.CPU_FLAGS) == set(record["cpu"]["flags"])
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    assert record["cpu"]["flags"]["avx2"] == (" avx2" in flags)
    tags = E.environment_tags()
    assert tags["env.torch"] == record["packages"]["torch"] and tags["env.cpu.avx512_bf16"] in ("true", "false")
    json.dumps(record)  # JSON-serialisable
