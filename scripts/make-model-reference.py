#!/usr/bin/env python3
"""Reference logits and hooks for the engine tests (optional tooling; not needed to build or test).

For a GGUF file: Hugging Face transformers dequantizes it (`from_pretrained(dir, gguf_file=...)`), runs it in
float32, and this writes Tests/Fixtures/models/<name>.json with, per prompt: token ids (transformers' own
tokenizer of the GGUF; the tests feed these ids, so tokenizer fidelity is tested separately), per position the
logits of a fixed id subset (the reference's top 32 there plus 96 ids spread over the vocabulary) and its top-2
values, blocks.L.attn.hook_z (the o_proj input, head-major) and blocks.L.hook_resid_post of two layers at six
positions, and 8 greedy tokens.

    pip install torch transformers gguf
    python3 scripts/make-model-reference.py NAME PATH.gguf [--layers 3,12]
"""
import argparse, json, os, sys

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

PROMPTS = {
    "code": "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) +",
    "prose": "The quick brown fox jumps over the lazy dog. Meanwhile, in Paris, the museum opened at 9:30",
    "mixed": "Ünïcödé tëxt, 数字 12345 and emoji 🙂 — \"quotes\" (parens) [brackets] {braces}",
}


def r(vec):
    """A vector as floats with 7 significant digits (float32 precision)."""
    return [float("%.7g" % v) for v in vec.tolist()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("name")
    ap.add_argument("gguf")
    ap.add_argument("--layers", default=None, help="two layers to record (default: 1 and n/2)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    d, f = os.path.split(os.path.abspath(a.gguf))
    tok = AutoTokenizer.from_pretrained(d, gguf_file=f)
    model = AutoModelForCausalLM.from_pretrained(d, gguf_file=f, torch_dtype=torch.float32)
    model.eval()
    cfg = model.config
    n_layers = cfg.num_hidden_layers
    layers = [int(x) for x in a.layers.split(",")] if a.layers else [1, n_layers // 2]
    vocab = model.get_output_embeddings().weight.shape[0]
    spread = [int(i * (vocab - 1) / 95) for i in range(96)]

    captured = {}
    def pre_hook(layer):
        def h(module, args):
            captured[layer] = args[0].detach()[0].clone()
        return h
    decoder_layers = model.model.layers
    handles = [decoder_layers[l].self_attn.o_proj.register_forward_pre_hook(pre_hook(l)) for l in layers]

    out = {"name": a.name, "gguf_sha256": None, "architecture": cfg.model_type, "layers": layers,
           "transformers": __import__("transformers").__version__, "torch": torch.__version__, "prompts": []}
    for pname, text in PROMPTS.items():
        ids = tok(text, add_special_tokens=False)["input_ids"]
        t = torch.tensor([ids])
        with torch.no_grad():
            res = model(t, output_hidden_states=True)
        logits = res.logits[0].float()
        rows = []
        for p in range(len(ids)):
            row = logits[p]
            top = torch.topk(row, 32)
            sel = sorted(set(top.indices.tolist()) | set(spread))
            rows.append({"ids": sel, "values": [float("%.7g" % float(row[i])) for i in sel],
                         "top2": [float(top.values[0]), float(top.values[1])], "top1": int(top.indices[0])})
        n = len(ids)
        positions = sorted(set(int(round(i * (n - 1) / 5)) for i in range(6)))
        hooks = {"positions": positions}
        for l in layers:
            hooks[str(l)] = {"z": [r(captured[l][p]) for p in positions],
                             "resid_post": [r(res.hidden_states[l + 1][0][p]) for p in positions]}
        with torch.no_grad():
            gen = model.generate(t, max_new_tokens=8, do_sample=False)
        out["prompts"].append({"name": pname, "text": text, "ids": ids, "logits": rows, "hooks": hooks,
                               "greedy": gen[0, len(ids):].tolist()})
    for h in handles:
        h.remove()
    dest = a.out or os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "models", a.name + ".json")
    with open(dest, "w") as fh:
        json.dump(out, fh, separators=(",", ":"))
    print(dest, os.path.getsize(dest), "bytes")


if __name__ == "__main__":
    main()
