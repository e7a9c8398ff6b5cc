#!/usr/bin/env python3
"""Tiny random-initialised Hugging Face checkpoints and their float32 references (optional tooling).

For the families whose real weights the tests cannot fetch (gpt2, gpt_neox, gemma2, llama with llama3 RoPE
scaling, qwen2 from a folder, gemma3), this builds a seeded model with transformers (`from_config`), gives
every norm gain and bias random values (so that a mis-mapped or mis-folded one shows), saves it with
`save_pretrained(safe_serialization=True)` (gemma3 in shards) to Tests/Fixtures/tiny-models/<family>/, loads
that folder back in float32 and writes reference.json next to it: for three fixed id sequences, the logits of
every vocabulary id at every position, blocks.L.attn.hook_z (the input of o_proj / c_proj / dense, head-major) and blocks.L.hook_resid_post of every
layer at six positions, and 8 greedy tokens; all in float32 with eager attention. The JSON layout is that of
scripts/make-model-reference.py.

    python3 scripts/make-tiny-models.py [FAMILY ...]
"""
import json, os, sys

import torch
import transformers
from transformers import AutoModelForCausalLM

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tiny-models")
VOCAB = 512

LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 16, "rope_theta": 500000.0}

# family → (config class name, kwargs, stored dtype)
FAMILIES = {
    "gpt2": ("GPT2Config", dict(n_embd=64, n_layer=2, n_head=4, n_positions=64, n_inner=None,
                                bos_token_id=0, eos_token_id=0), torch.float32),
    "gpt_neox": ("GPTNeoXConfig", dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                       intermediate_size=256, max_position_embeddings=64,
                                       rope_parameters={"rope_type": "default", "rope_theta": 10000.0,
                                                        "partial_rotary_factor": 0.25},
                                       use_parallel_residual=True, hidden_act="gelu", tie_word_embeddings=False,
                                       bos_token_id=0, eos_token_id=0), torch.float32),
    "gemma2": ("Gemma2Config", dict(hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                                    num_attention_heads=4, num_key_value_heads=2, head_dim=32,
                                    query_pre_attn_scalar=24, sliding_window=8, attn_logit_softcapping=2.0,
                                    final_logit_softcapping=3.0, max_position_embeddings=128,
                                    bos_token_id=2, eos_token_id=1, pad_token_id=0), torch.float32),
    "llama3": ("LlamaConfig", dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                   rope_parameters=LLAMA3_ROPE,
                                   tie_word_embeddings=False, bos_token_id=1, eos_token_id=2), torch.bfloat16),
    "qwen2": ("Qwen2Config", dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=128,
                                  tie_word_embeddings=True, bos_token_id=3, eos_token_id=4), torch.float16),
    "gemma3": ("Gemma3TextConfig", dict(hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                                        num_attention_heads=4, num_key_value_heads=1, head_dim=32,
                                        query_pre_attn_scalar=20, sliding_window=8, max_position_embeddings=128,
                                        layer_types=["sliding_attention", "sliding_attention", "full_attention",
                                                     "sliding_attention"],
                                        bos_token_id=2, eos_token_id=1, pad_token_id=0), torch.float32),
}

SEQUENCES = {  # fixed ids, 20+ tokens so that windows of 8 matter
    "a": [(7 * i * i + 3 * i + 1) % VOCAB for i in range(24)],
    "b": [(37 * i + 11) % VOCAB for i in range(28)],
    "c": [5, 5, 5, 9, 100, 200, 300, 400, 500, 1, 2, 3, 250, 251, 252, 17, 17, 18, 19, 511, 0, 42],
}


def r(vec):
    return [float("%.8g" % v) for v in vec.tolist()]


def build(family):
    cls_name, kwargs, dtype = FAMILIES[family]
    torch.manual_seed(1234 + sum(map(ord, family)))
    cfg = getattr(transformers, cls_name)(vocab_size=VOCAB, **kwargs)
    cfg._attn_implementation = "eager"
    model = AutoModelForCausalLM.from_config(cfg, attn_implementation="eager")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias") or "norm" in name or "ln_" in name:
                p.copy_(torch.randn_like(p) * 0.1 + (0 if name.endswith("bias") or "gemma" in family else 1))
            else:
                p.mul_(5)  # std 0.1: logits of order 1, and scores large enough for the soft-caps and windows to matter
    model.eval()
    return model, dtype


def reference(family, model):
    layers = list(range(model.config.num_hidden_layers))
    if family == "gpt2":
        blocks = model.transformer.h
        o_proj = lambda b: b.attn.c_proj
    elif family == "gpt_neox":
        blocks = model.gpt_neox.layers
        o_proj = lambda b: b.attention.dense
    else:
        blocks = model.model.layers
        o_proj = lambda b: b.self_attn.o_proj
    z, resid = {}, {}
    for l in layers:
        o_proj(blocks[l]).register_forward_pre_hook(lambda m, a, l=l: z.__setitem__(l, a[0].detach()[0].clone()))
        blocks[l].register_forward_hook(
            lambda m, a, out, l=l: resid.__setitem__(l, (out[0] if isinstance(out, tuple) else out).detach()[0].clone()))
    prompts = []
    for pname, ids in SEQUENCES.items():
        with torch.no_grad():
            logits = model(torch.tensor([ids])).logits[0].float()
        rows = []
        for p in range(len(ids)):
            top = torch.topk(logits[p], 2)
            rows.append({"ids": list(range(VOCAB)), "values": r(logits[p]),
                         "top2": [float(top.values[0]), float(top.values[1])], "top1": int(top.indices[0])})
        n = len(ids)
        positions = sorted(set(int(round(i * (n - 1) / 5)) for i in range(6)))
        hooks = {"positions": positions}
        for l in layers:
            hooks[str(l)] = {"z": [r(z[l][p]) for p in positions], "resid_post": [r(resid[l][p]) for p in positions]}
        seq = list(ids)
        for _ in range(8):  # greedy by full recomputation (no cache, no EOS stop)
            with torch.no_grad():
                seq.append(int(model(torch.tensor([seq])).logits[0, -1].argmax()))
        prompts.append({"name": pname, "ids": ids, "logits": rows, "hooks": hooks, "greedy": seq[len(ids):]})
    return {"name": family, "architecture": model.config.model_type, "layers": layers,
            "transformers": transformers.__version__, "torch": torch.__version__, "prompts": prompts}


def main():
    for family in sys.argv[1:] or FAMILIES:
        model, dtype = build(family)
        out = os.path.join(ROOT, family)
        os.makedirs(out, exist_ok=True)
        for old in os.listdir(out):
            os.remove(os.path.join(out, old))
        # gemma3 is split into shards with model.safetensors.index.json to test that layout.
        shard = {"max_shard_size": "400KB"} if family == "gemma3" else {}
        model.to(dtype).save_pretrained(out, safe_serialization=True, **shard)
        # The reference runs the saved folder loaded in float32, as a user of transformers would.
        saved = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, attn_implementation="eager")
        saved.eval()
        ref = reference(family, saved)
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
        print(family, dtype, sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
