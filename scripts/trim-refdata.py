#!/usr/bin/env python3
"""Trim the SmolLM2 reference data to what the tests read, as compact JSON.

The full reference (../shared/refdata/smollm2, about 11 MB: Hugging Face float32 and llama.cpp runs of
SmolLM2-135M-Instruct, see its README) holds far more than the tests use. This keeps exactly the fields
that Tests/ModelEngineTests (EngineTestSupport.swift, TokenizerTestSupport.swift) read, with the values
unchanged, and writes them to Tests/Fixtures/smollm2. Run it again only when the reference is regenerated:

    scripts/trim-refdata.py [SOURCE_DIR] [DEST_DIR]
"""
import json
import os
import sys

PROMPTS = ["fox", "lily", "fibonacci", "swift_code", "numbers", "unicode_emoji",
           "leading_spaces", "long_paragraph", "chat_template"]
LAYERS = ["0", "5", "15", "29"]
TOKEN_FIELDS = ["llamacpp_ids_add_bos_true_special_true", "llamacpp_ids_add_bos_true_special_false"]
ENTRY_FIELDS = ["text", "llamacpp_ids", "llamacpp_ids_special_false"]


def pick(d, keys):
    """The keys of `d` among `keys` whose value is present and not null, in that order."""
    return {k: d[k] for k in keys if d.get(k) is not None}


def trim_prompt(src):
    hf = src["hf"]
    out = pick(src, ["name", "text", "chat_messages"])
    out["tokens"] = pick(src["tokens"], TOKEN_FIELDS)
    trimmed = pick(hf, ["logits_top_ids", "logits_top_values", "final_position_full_logits",
                        "activation_positions", "greedy_16"])
    trimmed["activations"] = {layer: pick(hf["activations"][layer], ["z", "resid_out"]) for layer in LAYERS}
    out["hf"] = trimmed
    return out


def trim_tokenization(src):
    return {key: [pick(e, ENTRY_FIELDS) for e in src[key]] for key in ["entries", "fuzz_entries"]}


def write(path, value):
    # ASCII escapes keep every string exact (lone surrogates, U+FEFF); floats keep Python's shortest repr.
    with open(path, "w", encoding="ascii") as f:
        json.dump(value, f, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
        f.write("\n")


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "..", "shared", "refdata", "smollm2")
    dest = sys.argv[2] if len(sys.argv) > 2 else os.path.join(root, "Tests", "Fixtures", "smollm2")
    os.makedirs(dest, exist_ok=True)
    for name in PROMPTS:
        with open(os.path.join(source, name + ".json"), encoding="utf-8") as f:
            write(os.path.join(dest, name + ".json"), trim_prompt(json.load(f)))
    with open(os.path.join(source, "tokenization.json"), encoding="utf-8") as f:
        write(os.path.join(dest, "tokenization.json"), trim_tokenization(json.load(f)))
    total = sum(os.path.getsize(os.path.join(dest, n)) for n in os.listdir(dest) if n.endswith(".json"))
    print(f"wrote {len(PROMPTS) + 1} files, {total} bytes, to {dest}")


if __name__ == "__main__":
    main()
