#!/usr/bin/env bash
# Optional tooling: the delphi round trip checked with delphi 0.1.3's own code (needs setup.sh's venv).
#
#   scripts/delphi-check/run.sh [FEATURESCOPE_BINARY]     (default .build/debug/featurescope)
#
# 1. `featurescope export delphi sample-data/cache` → check.py (result_analysis load_data + log_results,
#    LatentDataset);  2. `featurescope import delphi` of that run → cache-info → export again → check.py;
# 3. the same for the run delphi's own code wrote (Tests/Fixtures/delphi/run, make-delphi-run.py).
# Work folder: $DELPHI_CHECK_WORK (default a new temporary folder). Prints "delphi round trip: OK" at the end.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="${1:-$root/.build/debug/featurescope}"
venv="${DELPHI_VENV:-$root/.build/delphi-venv}"
py="$venv/bin/python"
work="${DELPHI_CHECK_WORK:-$(mktemp -d)}"
[ -x "$bin" ] || { echo "no featurescope binary at $bin (swift build first)" >&2; exit 2; }
[ -x "$py" ] || { echo "no delphi venv at $venv (run scripts/delphi-check/setup.sh)" >&2; exit 2; }

# Stubs only for the packages the venv lacks.
stubs="$work/stubs"; mkdir -p "$stubs"
for m in vllm sentence_transformers faiss sparsify; do
    if ! "$py" -c "import $m" 2>/dev/null; then
        mkdir -p "$stubs/$m"
        echo "from stub_package import install; install(__name__, globals())" > "$stubs/$m/__init__.py"
    fi
done
export PYTHONPATH="$stubs:$here/stubs${PYTHONPATH:+:$PYTHONPATH}"

echo "== export of sample-data/cache"
"$bin" export delphi "$root/sample-data/cache" --out "$work/sample-run" --force
"$py" -W ignore "$here/check.py" "$work/sample-run" --viz "$work/sample-viz"

echo "== import of that run, cache-info, export again"
"$bin" import delphi "$work/sample-run" --out "$work/imported-cache" --force
"$bin" cache-info "$work/imported-cache"
"$bin" export delphi "$work/imported-cache" --out "$work/imported-run" --force
"$py" -W ignore "$here/check.py" "$work/imported-run" --viz "$work/imported-viz"
echo "== a run written by delphi's own code (Tests/Fixtures/delphi/run): import, export, check"
"$bin" import delphi "$root/Tests/Fixtures/delphi/run" --out "$work/delphi-written-cache" --force
"$bin" export delphi "$work/delphi-written-cache" --out "$work/delphi-written-run" --splits 2 --force
"$py" -W ignore "$here/check.py" "$work/delphi-written-run" --viz "$work/delphi-written-viz" --latents 20
echo "delphi round trip: OK ($work)"
