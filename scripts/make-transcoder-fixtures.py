#!/usr/bin/env python3
"""Writes Tests/Fixtures/transcoders/: tiny transcoders saved by the real SAELens and sparsify, with the
outputs those libraries compute on fixed inputs (the Swift tests compare against them to float tolerance).

Optional tooling, run once:  python3 -m venv --system-site-packages /tmp/tc && /tmp/tc/bin/pip install sae-lens eai-sparsify
                              /tmp/tc/bin/python scripts/make-transcoder-fixtures.py [--smollm2]
--smollm2 also writes a random SAELens transcoder for SmolLM2-135M layer 3 (resid_mid → mlp_out, d_in 576)
to Tests/Fixtures/transcoders/smollm2-l3-resid-mid-to-mlp-out (f16 weights, 64 latents) for the CLI test.
"""
import json
import sys
from pathlib import Path

import os

os.environ.setdefault("SPARSIFY_DISABLE_TRITON", "1")  # the CPU path (eager embedding_bag decode)
import torch
from safetensors.torch import save_file

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "transcoders"
D_IN, D_OUT, D_SAE, N = 8, 6, 16, 5


def inputs(d_in, seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, d_in, generator=g) * 1.5


def randomize(module, seed, skip_scale=0.3):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(module.named_parameters()):
            p.copy_(torch.randn(p.shape, generator=g) * (0.05 if name == "threshold" else 0.5))
            if name == "threshold":
                p.abs_()
            if name == "W_skip":
                p.mul_(skip_scale)


def write_reference(folder, x, acts, out):
    ref = {"inputs": x.flatten().tolist(), "count": N, "d_in": x.shape[1],
           "feature_acts": acts.flatten().tolist(), "d_sae": acts.shape[1],
           "output": out.flatten().tolist(), "d_out": out.shape[1]}
    (folder / "reference.json").write_text(json.dumps(ref))


def saelens_fixtures():
    import sae_lens
    from sae_lens.saes.transcoder import (JumpReLUSkipTranscoder, JumpReLUSkipTranscoderConfig, JumpReLUTranscoder,
                                          JumpReLUTranscoderConfig, SkipTranscoder, SkipTranscoderConfig, Transcoder,
                                          TranscoderConfig)
    from sae_lens.saes.sae import SAEMetadata
    kinds = [("saelens-transcoder", Transcoder, TranscoderConfig),
             ("saelens-skip-transcoder", SkipTranscoder, SkipTranscoderConfig),
             ("saelens-jumprelu-transcoder", JumpReLUTranscoder, JumpReLUTranscoderConfig),
             ("saelens-jumprelu-skip-transcoder", JumpReLUSkipTranscoder, JumpReLUSkipTranscoderConfig)]
    for i, (name, cls, cfg_cls) in enumerate(kinds):
        cfg = cfg_cls(d_in=D_IN, d_sae=D_SAE, d_out=D_OUT, apply_b_dec_to_input=False, dtype="float32", device="cpu",
                      metadata=SAEMetadata(model_name="tiny", hook_name="blocks.1.hook_resid_mid",
                                           hook_name_out="blocks.1.hook_mlp_out", hook_head_index_out=None))
        tc = cls(cfg)
        randomize(tc, 100 + i)
        tc.eval()
        folder = OUT / name
        tc.save_model(folder)
        # Load it back through SAELens itself, so the reference is what a user's SAELens computes from the files.
        loaded = sae_lens.SAE.load_from_disk(str(folder), device="cpu")
        assert type(loaded) is cls, (type(loaded), cls)
        x = inputs(D_IN, 7 + i)
        with torch.no_grad():
            acts = loaded.encode(x)
            out = loaded(x)
        write_reference(folder, x, acts, out)
        print(name, "L0 per row", (acts > 0).sum(-1).tolist(), "version", sae_lens.__version__)


def sparsify_fixtures():
    from sparsify import SparseCoder, SparseCoderConfig
    import importlib.metadata as md
    for skip, name in [(False, "layers.1.mlp"), (True, "layers.2.mlp")]:
        cfg = SparseCoderConfig(num_latents=D_SAE, k=4, transcode=True, skip_connection=skip)
        sc = SparseCoder(D_IN, cfg, device="cpu", dtype=torch.float32)
        randomize(sc, 200 + skip)
        parent = OUT / ("sparsify-skip-transcoder" if skip else "sparsify-transcoder")
        folder = parent / name
        sc.save_to_disk(folder)
        loaded = SparseCoder.load_from_disk(folder, device="cpu")
        x = inputs(D_IN, 30 + skip)
        with torch.no_grad():
            enc = loaded.encode(x)
            dense = torch.zeros(N, D_SAE).scatter_(1, enc.top_indices, enc.top_acts)
            out = loaded(x, x).sae_out
        write_reference(folder, x, dense, out)
        print(parent.name, "k", cfg.k, "skip", skip, "version", md.version("eai-sparsify"))


def smollm2_fixture():
    """A random transcoder shaped for SmolLM2-135M layer 3: reads hook_resid_mid (the input of ln2), writes
    hook_mlp_out. Encoder columns are random unit directions scaled so a few dozen latents fire per token."""
    from sae_lens.saes.transcoder import Transcoder, TranscoderConfig
    from sae_lens.saes.sae import SAEMetadata
    d, n = 576, 64
    cfg = TranscoderConfig(d_in=d, d_sae=n, d_out=d, apply_b_dec_to_input=False, dtype="float32", device="cpu",
                           metadata=SAEMetadata(model_name="SmolLM2-135M-Instruct", hook_name="blocks.3.hook_resid_mid",
                                                hook_name_out="blocks.3.hook_mlp_out", context_size=64, prepend_bos=False))
    tc = Transcoder(cfg)
    g = torch.Generator().manual_seed(576)
    with torch.no_grad():
        w = torch.randn(d, n, generator=g)
        tc.W_enc.copy_(w / w.norm(dim=0, keepdim=True) * 0.5)
        tc.b_enc.copy_(-torch.rand(n, generator=g) * 0.5)
        tc.W_dec.copy_(torch.randn(n, d, generator=g) * 0.05)
        tc.b_dec.zero_()
    folder = OUT / "smollm2-l3-resid-mid-to-mlp-out"
    tc.save_model(folder)
    # Ship f16 weights (SAELens reads them; so does Featurescope).
    from safetensors.torch import load_file
    sd = {k: v.to(torch.float16) for k, v in load_file(folder / "sae_weights.safetensors").items()}
    save_file(sd, folder / "sae_weights.safetensors")
    c = json.loads((folder / "cfg.json").read_text())
    c["dtype"] = "float16"
    (folder / "cfg.json").write_text(json.dumps(c))
    print(folder.name, "written")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    saelens_fixtures()
    sparsify_fixtures()
    if "--smollm2" in sys.argv:
        smollm2_fixture()
