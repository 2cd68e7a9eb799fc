"""docs/parameters.md documents every config key and is what scripts/make_parameter_docs.py writes."""

import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import make_parameter_docs as M  # noqa: E402


def test_parameter_reference_is_up_to_date():
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_parameter_docs.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_key_of_the_default_config_is_documented():
    text, missing = M.build()
    assert not missing, missing

    def keys(cfg, prefix=""):
        for key, value in cfg.items():
            yield prefix + key
            if isinstance(value, dict) and not (prefix + key).endswith(".pairs"):
                yield from keys(value, prefix + key + ".")

    for config in [REPO / "config.yaml", *sorted((REPO / "configs").glob("*.yaml"))]:
        for key in keys(yaml.safe_load(config.read_text()) or {}):
            if ".pairs." in key:
                continue
            documented = f"| `{key}` |" in text or f"| **`{key}`** |" in text or f"## `{key}`" in text
            assert documented, f"{config.name}: {key} is not in docs/parameters.md"


def test_schema_comments_become_descriptions():
    schema = 'properties:\n  a:\n    properties:\n      # above b\n      b: {type: integer, pattern: "#x"}   # after\n'
    assert M.schema_comments(schema) == {"a.b": "above b after"}
