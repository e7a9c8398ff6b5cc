"""Small vocabulary-only GGUF files cut from the real models (a few thousand tokens, no
tensors) and llama.cpp's ids for the test strings on them, so the llama-bpe, gpt-2 and
SentencePiece (with add_space_prefix) paths are checked without fetching a model.
Used by make-tokenizer-reference.py."""
import os

from gguf import GGUFReader, GGUFValueType, GGUFWriter


def copy_header(reader, writer):
    """Every non-tokenizer key (llama.cpp's vocab_only load still reads the hyper-parameters)."""
    for key, field in reader.fields.items():
        if key.startswith("tokenizer.") or key.startswith("GGUF.") or key == "general.architecture":
            continue
        kind = field.types[0]
        value = field.contents()
        if kind == GGUFValueType.STRING:
            writer.add_string(key, value)
        elif kind == GGUFValueType.BOOL:
            writer.add_bool(key, value)
        elif kind == GGUFValueType.FLOAT32:
            writer.add_float32(key, value)
        elif kind == GGUFValueType.UINT32:
            writer.add_uint32(key, value)
        elif kind == GGUFValueType.INT32:
            writer.add_int32(key, value)
        elif kind == GGUFValueType.UINT64:
            writer.add_uint64(key, value)
        elif kind == GGUFValueType.ARRAY and field.types[1] in (GGUFValueType.INT32, GGUFValueType.UINT32):
            writer.add_array(key, value)


def write(reader, path, kv):
    arch = reader.fields["general.architecture"].contents()
    w = GGUFWriter(path, arch)
    copy_header(reader, w)
    for key, (kind, value) in kv.items():
        getattr(w, "add_" + kind)(key, value)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def tiny_byte_level(src, dst, pre, n_merges, extra_words=(), add_bos=None):
    r = GGUFReader(src)
    f = r.fields
    tokens = f["tokenizer.ggml.tokens"].contents()
    types = f["tokenizer.ggml.token_type"].contents()
    merges = f["tokenizer.ggml.merges"].contents()
    index = {t: i for i, t in enumerate(tokens)}
    keep = {t for t in tokens[:512] if len(t) == 1}  # the byte characters come first in both vocabularies
    kept_merges = []
    for m in merges[:n_merges]:
        a, b = m.split(" ", 1)
        if a in keep and b in keep and (a + b) in index:
            kept_merges.append(m)
            keep.add(a + b)
    keep.update(t for i, t in enumerate(tokens) if types[i] in (3, 4))
    keep.update(extra_words)
    ordered = sorted(keep, key=lambda t: (index.get(t, 1 << 30), t))
    new_types = [types[index[t]] if t in index else 1 for t in ordered]
    new_index = {t: i for i, t in enumerate(ordered)}
    kv = {"tokenizer.ggml.model": ("string", "gpt2"), "tokenizer.ggml.pre": ("string", pre),
          "tokenizer.ggml.tokens": ("array", ordered), "tokenizer.ggml.token_type": ("array", new_types),
          "tokenizer.ggml.merges": ("array", kept_merges)}
    for key in ("bos", "eos", "padding", "unknown"):
        k = f"tokenizer.ggml.{key}_token_id"
        if k in f:
            kv[k] = ("uint32", new_index[tokens[f[k].contents()]])
    if add_bos is not None:
        kv["tokenizer.ggml.add_bos_token"] = ("bool", add_bos)
    write(r, dst, kv)


def tiny_sentencepiece(src, dst, n_pieces, add_space_prefix):
    r = GGUFReader(src)
    f = r.fields
    tokens = f["tokenizer.ggml.tokens"].contents()
    types = f["tokenizer.ggml.token_type"].contents()
    scores = f["tokenizer.ggml.scores"].contents()
    normal = sorted((i for i, t in enumerate(types) if t == 1), key=lambda i: (-scores[i], i))[:n_pieces]
    keep_ids = set(normal)
    keep_ids.update(i for i, t in enumerate(types) if t == 6)          # <0x00> … <0xFF>
    keep_ids.update(range(0, 8))                                      # <pad> <eos> <bos> <unk> <mask> …
    keep_ids.update([105, 106, 107, 108, 138, 139, 203, 212])         # turns, "\n", "\n\n", "  ", "   ", <s>, </s>
    chars = {c for i in normal for c in tokens[i]}
    keep_ids.update(i for i, t in enumerate(tokens) if t in chars)
    ordered = sorted(keep_ids)
    new_index = {old: new for new, old in enumerate(ordered)}
    kv = {"tokenizer.ggml.model": ("string", "llama"), "tokenizer.ggml.pre": ("string", "default"),
          "tokenizer.ggml.tokens": ("array", [tokens[i] for i in ordered]),
          "tokenizer.ggml.scores": ("array", [float(scores[i]) for i in ordered]),
          "tokenizer.ggml.token_type": ("array", [int(types[i]) for i in ordered]),
          "tokenizer.ggml.add_space_prefix": ("bool", add_space_prefix),
          "tokenizer.ggml.add_bos_token": ("bool", True)}
    for key in ("bos", "eos", "padding", "unknown"):
        k = f"tokenizer.ggml.{key}_token_id"
        kv[k] = ("uint32", new_index[f[k].contents()])
    write(r, dst, kv)


def build_all(args, strings, dump, out, llamacpp_reference):
    folder = os.path.join(out, "gguf")
    os.makedirs(folder, exist_ok=True)
    made = {
        "llama-bpe": lambda p: tiny_byte_level(args.qwen, p, "llama-bpe", 4000,
                                               ["ĠFeaturescope", "helloworld", "ĠĠĠĠĠĠĠĠ", "1234", "Ġinterpretability"]),
        "gpt-2": lambda p: tiny_byte_level(args.smollm, p, "gpt-2", 3000),
        "spm-prefix": lambda p: tiny_sentencepiece(args.gemma, p, 3000, True),
    }
    for name, make in made.items():
        path = os.path.join(folder, f"{name}.gguf")
        make(path)
        print(f"wrote {path} ({os.path.getsize(path)} bytes)")
        llamacpp_reference(f"tiny-{name}", path, strings)
