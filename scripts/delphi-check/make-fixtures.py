"""Writes the golden files of Tests/Fixtures/delphi with delphi's and torch's own code (optional tooling).

    .build/delphi-venv/bin/python scripts/delphi-check/make-fixtures.py Tests/Fixtures/delphi

- torch_firing_counts.pt: `torch.save` of a dict hookpoint -> int64 tensor, as delphi's LatentCache writes
  log/hookpoint_firing_counts.pt; torch_firing_counts.json holds the same values as JSON.
- run_config.json: delphi's RunConfig.save_json(indent=4) of a CPU run with a non-default explainer model
  and sampling settings.
"""
import json
import sys
from pathlib import Path

import torch

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
counts = {
    "layers.3": torch.tensor([0, 5, 70000, 3, 2**40, 0, 9], dtype=torch.int64),
    "layers.5/mlp": torch.tensor([1, 2, 3], dtype=torch.int64),
}
torch.save(counts, out / "torch_firing_counts.pt")
(out / "torch_firing_counts.json").write_text(json.dumps({k: v.tolist() for k, v in counts.items()}))

from delphi.config import CacheConfig, ConstructorConfig, RunConfig, SamplerConfig  # noqa: E402

cfg = RunConfig(
    cache_cfg=CacheConfig(dataset_repo="fixture/tiny", dataset_split="train[:1%]", batch_size=4, cache_ctx_len=64,
                          n_tokens=1024, n_splits=2),
    constructor_cfg=ConstructorConfig(example_ctx_len=16, min_examples=3, n_non_activating=7),
    sampler_cfg=SamplerConfig(n_examples_train=24, n_examples_test=12, n_quantiles=4),
    model="HuggingFaceTB/SmolLM2-135M-Instruct",
    sparse_model="saes/L3-sparsify",
    hookpoints=["layers.3", "layers.5/mlp"],
    explainer_model="Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF",
    explainer_provider="openrouter",
    seed=7,
    num_gpus=0,
    pipeline_num_proc=1,
)
cfg.save_json(out / "run_config.json", indent=4)
print("wrote", sorted(p.name for p in out.iterdir()))

# How delphi's two JSON writers format numbers and strings: orjson (score and explanation files) and
# json.dump (config.json, run_config.json via simple_parsing), for Featurescope's PythonJSON tests.
import orjson  # noqa: E402

floats = [0.0, -0.5, 0.1, 1.5, 65504.0, 123456789.0, 1e15, 9.9e15, 1e16, 1.5e16, 1.234e17, 1e-4, 1.25e-4,
          1e-5, 2.5e-5, 1.25e-5, 9.99e-6, 1e-6, -2.5e-6, 1e-7, 6e-8, 5e-324, 1.7976931348623157e308,
          12345678901234567.0, float(torch.tensor(0.1, dtype=torch.float32)), float(torch.tensor(3.3, dtype=torch.float16))]
strings = ["plain", "quote \" backslash \\ slash /", "tab\tnewline\ncr\r bell\x07 del\x7f", "ünïcødé ✓", "emoji 😀",
           "\u2028 line separator"]
(out / "json_formats.json").write_text(json.dumps({
    "floats": [{"repr": repr(v), "orjson": orjson.dumps(v).decode(), "json": json.dumps(v)} for v in floats],
    "strings": [{"value": s, "orjson": orjson.dumps(s).decode(), "json": json.dumps(s)} for s in strings],
}, indent=1))
