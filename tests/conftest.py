"""Shared fixtures and lanes of the test suite.

Lanes (markers in pyproject.toml): ``python -m pytest -m "not slow"`` is the fast lane (no test
that runs the workflow through Snakemake or trains for long); ``python -m pytest`` runs everything.

Shared fixtures (built once per session, read-only for the tests that use them):

* ``tiny_tokenizer`` -- a WordPiece tokenizer folder over the fixture bitext (tests/helpers_models.py);
* ``tiny_pairs`` -- that bitext tokenized and aligned: ``(tokenized folder, alignment file)``;
* ``tiny_base`` -- a tiny BERT masked-LM folder with that tokenizer (seed 0, dropout 0.1);
* ``smoke_workdir`` -- a fresh folder with the smoke config and its file:// Debian mirror
  (tests/workflow_helpers.py), as ``(folder, config file)``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
# tests/fixtures holds the mirror and data generators some test modules import by bare name
if str(TESTS / "fixtures") not in sys.path:
    sys.path.insert(0, str(TESTS / "fixtures"))


@pytest.fixture(scope="session")
def tiny_tokenizer(tmp_path_factory) -> Path:
    from tests.helpers_models import make_tokenizer

    return make_tokenizer(tmp_path_factory.mktemp("shared") / "tok")


@pytest.fixture(scope="session")
def tiny_pairs(tmp_path_factory, tiny_tokenizer) -> tuple[Path, Path]:
    from tests.helpers_models import make_pair_data

    return make_pair_data(tmp_path_factory.mktemp("shared-pairs"), tiny_tokenizer)


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, tiny_tokenizer) -> Path:
    from tests.helpers_models import make_base_model

    return make_base_model(tmp_path_factory.mktemp("shared-base") / "base", tiny_tokenizer, seed=0, dropout=0.1)


@pytest.fixture
def smoke_workdir(tmp_path) -> tuple[Path, Path]:
    from tests.workflow_helpers import smoke_config

    return tmp_path, smoke_config(tmp_path)
