"""Writes a small delphi run with delphi 0.1.3's own code (optional tooling), the golden input of
Tests/LatentCacheTests/DelphiWrittenRunTests:

    .build/delphi-venv/bin/python scripts/delphi-check/make-delphi-run.py Tests/Fixtures/delphi/run

A toy two-layer model stands in for the language model; delphi's LatentCache runs it with a JumpReLU "SAE"
per hookpoint (latents are 0 or ≥ 0.5, so delphi's |a| > 1e-5 and firing-count > 0 rules agree) and writes
latents/<hookpoint>/ (save_splits, save_config) and log/hookpoint_firing_counts.pt (save_firing_counts).
run_config.json is RunConfig.save_json; explanations and detection/fuzz scores are written the way delphi's
pipeline writes them (orjson.dumps of the explanation string and of the ClassifierOutput list).
"""
import sys
from pathlib import Path

import orjson
import torch
from torch import nn

from delphi.config import CacheConfig, ConstructorConfig, RunConfig, SamplerConfig
from delphi.latents.cache import LatentCache

# delphi.scorers' package __init__ imports every client (vllm, httpx, tiktoken…); its sample module alone
# needs none of them, so it is loaded from its file as a submodule of a bare package entry.
def _classifier_output():
    import importlib.util
    import types

    import delphi

    base = Path(delphi.__file__).parent / "scorers"
    for name, path in (("delphi.scorers", base), ("delphi.scorers.classifier", base / "classifier")):
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(path)]
        sys.modules.setdefault(name, pkg)
    spec = importlib.util.spec_from_file_location("delphi.scorers.classifier.sample", base / "classifier" / "sample.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.ClassifierOutput


ClassifierOutput = _classifier_output()

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
torch.manual_seed(5)
vocab, d, width, rows, ctx = 50, 8, 20, 8, 32
hookpoints = ["layers.0", "layers.1"]


class Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList([nn.Linear(d, d) for _ in range(2)])
        self.device = torch.device("cpu")

    def forward(self, ids):
        x = self.embed(ids)
        for layer in self.layers:
            x = torch.tanh(layer(x)) * 3
        return x


model = Toy()
encoders = {h: torch.randn(d, width) for h in hookpoints}


def sae(h):
    def encode(x):
        z = x @ encoders[h]
        return z * (z > 0.5)
    return encode


tokens = torch.randint(0, vocab, (rows, ctx), dtype=torch.int32)
cache_cfg = CacheConfig(dataset_repo="fixture/toy", dataset_split="train[:1%]", batch_size=4, cache_ctx_len=ctx,
                        n_tokens=rows * ctx, n_splits=2)
(out / "log").mkdir(exist_ok=True)
cache = LatentCache(model, {h: sae(h) for h in hookpoints}, batch_size=cache_cfg.batch_size, log_path=out / "log")
cache.run(cache_cfg.n_tokens, tokens)
cache.save_splits(n_splits=cache_cfg.n_splits, save_dir=out / "latents")
cache.save_config(save_dir=out / "latents", cfg=cache_cfg, model_name="toy/Toy-2L")

run_cfg = RunConfig(
    cache_cfg=cache_cfg,
    constructor_cfg=ConstructorConfig(example_ctx_len=16, min_examples=2, n_non_activating=4),
    sampler_cfg=SamplerConfig(n_examples_train=8, n_examples_test=8, n_quantiles=4),
    model="toy/Toy-2L", sparse_model="toy/jumprelu", hookpoints=hookpoints,
    explainer_model="Qwen/Qwen2.5-Coder-1.5B-Instruct", explainer_provider="openrouter",
    seed=11, num_gpus=0, pipeline_num_proc=1,
)
run_cfg.save_json(out / "run_config.json", indent=4)

# What delphi's pipeline writes for two latents of each hookpoint.
(out / "explanations").mkdir(exist_ok=True)
for scorer in ("detection", "fuzz"):
    (out / "scores" / scorer).mkdir(parents=True, exist_ok=True)
for h in hookpoints:
    for latent in (1, 3):
        name = f"{h}_latent{latent}"
        (out / "explanations" / f"{name}.txt").write_bytes(orjson.dumps(f"Tokens {latent} of {h}, \"quoted\" ✓"))
        for scorer in ("detection", "fuzz"):
            samples = []
            for i in range(6):
                activating = i % 2 == 0
                prediction = None if i == 5 else bool((i + latent) % 3)
                samples.append(ClassifierOutput(
                    str_tokens=[f"t{j}" for j in range(4)],
                    activations=[0.0, 1.5 + i, 0.0, 0.25] if activating else [0.0, 0.0, 0.0, 0.0],
                    distance=i // 2 if activating else -1, activating=activating, prediction=prediction,
                    probability=None if i >= 4 else 0.125 * i,
                    correct=None if prediction is None else prediction == activating))
            (out / "scores" / scorer / f"{name.replace('/', '--')}.txt").write_bytes(orjson.dumps(samples))
print("wrote", sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()))
