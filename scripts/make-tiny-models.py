#!/usr/bin/env python3
"""Tiny random-initialised Hugging Face checkpoints and their float32 references (optional tooling).

For the families whose real weights the tests cannot fetch (gpt2, gpt_neox, gemma2, llama with llama3 RoPE
scaling, qwen2 from a folder, gemma3), this builds a seeded model with transformers (`from_config`), gives
every norm gain and bias random values (so that a mis-mapped or mis-folded one shows), saves it with
`save_pretrained(safe_serialization=True)` (gemma3 in shards) to Tests/Fixtures/tiny-models/<family>/, loads
that folder back in float32 and writes reference.json next to it: for three fixed id sequences, the logits of
every vocabulary id at every position, blocks.L.attn.hook_z (the input of o_proj / c_proj / dense, head-major)
and blocks.L.hook_resid_post of every layer at six positions, and 8 greedy tokens; all in float32 with eager
attention (the JSON layout of scripts/make-model-reference.py). Each folder also gets a small tokenizer.json trained with the `tokenizers` library
in its family's layout, and reference.json the ids it gives a few strings (with and without special tokens).

    python3 scripts/make-tiny-models.py [FAMILY ...]
"""
import json, os, sys

import torch
import transformers
from tokenizers import Tokenizer, models, trainers, pre_tokenizers, normalizers, decoders, processors, Regex
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
                                  tie_word_embeddings=True, bos_token_id=0, eos_token_id=4), torch.float16),
    "gemma3": ("Gemma3TextConfig", dict(hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                                        num_attention_heads=4, num_key_value_heads=1, head_dim=32,
                                        query_pre_attn_scalar=20, sliding_window=8, max_position_embeddings=128,
                                        layer_types=["sliding_attention", "sliding_attention", "full_attention",
                                                     "sliding_attention"],
                                        bos_token_id=2, eos_token_id=1, pad_token_id=0), torch.float32),
}

# Tokenizers: trained on this text with the `tokenizers` library in the layout of each family's tokenizer.json.
CORPUS = ["The quick brown fox jumps over the lazy dog. Meanwhile, in Paris, the museum opened at 9:30.",
          "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
          "Ünïcödé tëxt, 数字 12345 and emoji 🙂 — \"quotes\" (parens) [brackets] {braces}"] * 3
SPECIAL = ["<|endoftext|>", "<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<|im_end|>"]
def bytelevel(kind):
    """GPT-2 / Pythia (ByteLevel), Llama 3 (Split + ByteLevel, ignore_merges, BOS) or Qwen2 (NFC, Split + ByteLevel)."""
    tok = Tokenizer(models.BPE())
    if kind == "gpt2":
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    else:
        rx = {"llama3": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
              "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"}[kind]
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(rx), "isolated"),
                                                      pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        if kind == "qwen2": tok.normalizer = normalizers.NFC()
    tok.decoder = decoders.ByteLevel()
    tr = trainers.BpeTrainer(vocab_size=VOCAB, special_tokens=SPECIAL, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(CORPUS, tr)
    if kind == "llama3":
        tok.post_processor = processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B",
                                                           special_tokens=[("<|begin_of_text|>", 1)])
    j = json.loads(tok.to_str())
    if kind == "llama3": j["model"]["ignore_merges"] = True
    return j
def gemma():
    """Gemma: BPE with byte fallback over "▁"-normalized text, byte tokens <0x00>… after the specials, BOS."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split(" ", "merged_with_previous")
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    specials = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
    tr = trainers.BpeTrainer(vocab_size=512 - 256, special_tokens=specials, show_progress=False)
    tok.train_from_iterator(CORPUS, tr)
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A <bos> $B", special_tokens=[("<bos>", 2)])
    j = json.loads(tok.to_str())
    old = j["model"]["vocab"]
    vocab = {t: i for t, i in old.items() if i < len(specials)}
    for b in range(256): vocab["<0x%02X>" % b] = len(specials) + b
    for t, i in sorted(old.items(), key=lambda kv: kv[1]):
        if i >= len(specials): vocab[t] = len(vocab)
    j["model"]["vocab"] = vocab
    return j
TOKENIZERS = {"gpt2": lambda: bytelevel("gpt2"), "gpt_neox": lambda: bytelevel("gpt2"), "llama3": lambda: bytelevel("llama3"),
              "qwen2": lambda: bytelevel("qwen2"), "gemma2": gemma, "gemma3": gemma}
TOKENIZER_CASES = ["Hello world", "The quick brown fox", "  leading spaces and\ttabs\n\nnewlines", "fibonacci(n - 1) + 12345",
                   "Ünïcödé 数字 🙂", "<|endoftext|> literal specials <bos> <end_of_turn>", "", "x"]


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
        tok_json = TOKENIZERS[family]()
        with open(os.path.join(out, "tokenizer.json"), "w") as f:
            json.dump(tok_json, f, ensure_ascii=False, indent=1)
        tok = Tokenizer.from_str(json.dumps(tok_json))
        ref["tokenizer"] = [{"text": t, "ids": tok.encode(t, add_special_tokens=False).ids,
                             "ids_with_special": tok.encode(t).ids} for t in TOKENIZER_CASES]
        with open(os.path.join(out, "reference.json"), "w") as f:
            json.dump(ref, f, separators=(",", ":"))
        print(family, dtype, sorted(os.listdir(out)))


if __name__ == "__main__":
    main()
