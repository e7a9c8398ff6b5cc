#!/usr/bin/env bash
# Optional tooling: a Python venv with delphi 0.1.3 (eai-delphi) to check Featurescope's delphi export and
# import against delphi's own code. Not needed to build, run or test Featurescope.
#
#   scripts/delphi-check/setup.sh            # makes $DELPHI_VENV (default .build/delphi-venv)
#
# torch is reused from the system Python when present (--system-site-packages); delphi's GPU-only and
# heavy imports (vllm, sentence_transformers, faiss, sparsify) are replaced by import stubs (stubs/stub_package.py),
# which a CPU check of its result analysis and LatentDataset never calls.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${DELPHI_VENV:-$here/../../.build/delphi-venv}"
python="${PYTHON:-python3}"
if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -c "import torch" 2>/dev/null || "$venv/bin/python" -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
"$venv/bin/python" -m pip install --quiet --no-deps "eai-delphi==0.1.3"
# delphi's own requirements for what the check imports (result_analysis, LatentDataset, RunConfig).
"$venv/bin/python" -m pip install --quiet orjson pandas "plotly>=5,<6" "kaleido==0.2.1" scikit-learn simple_parsing \
    safetensors jaxtyping tqdm numpy asyncer blobfile transformers datasets beartype
echo "delphi venv ready: $venv"
"$venv/bin/python" -c "import delphi, torch; print('delphi', delphi.__version__, 'torch', torch.__version__)"
