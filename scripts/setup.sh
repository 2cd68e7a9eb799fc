#!/usr/bin/env bash
# Create .venv and install the project with its test dependencies at the locked versions
# (requirements.lock; torch 2.13.0: the CPU build; see README for a CUDA build). Idempotent: a second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install -q --upgrade pip
# every package at the version of requirements.lock (a constraints file: the resolved environment
# the study was run and tested with; regenerate: python -m alignxfer.environment --lock requirements.lock)
python -m pip install -q -c requirements.lock -e ".[test]"
python - <<'PY'
import torch, transformers, mlflow, snakemake, thot
print(f"torch {torch.__version__}, transformers {transformers.__version__}, mlflow {mlflow.__version__}")
PY
