"""Builds small Hugging Face tokenizer.json files from the GGUF vocabularies (no hub access
needed) and records the `tokenizers` library's ids for the test strings.
Used by make-tokenizer-reference.py."""
import os

from gguf import GGUFReader
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

from_qwen2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
from_llama3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def gguf_vocab(path):
    f = GGUFReader(path).fields
    get = lambda k: f[k].contents() if k in f else None
    return get("tokenizer.ggml.tokens"), get("tokenizer.ggml.token_type"), get("tokenizer.ggml.merges"), \
        get("tokenizer.ggml.scores")


def byte_level_bpe(path, n_merges, extra_words=()):
    """The first `n_merges` merges of a byte-level GGUF vocabulary and the tokens they need."""
    tokens, types, merges, _ = gguf_vocab(path)
    index = {t: i for i, t in enumerate(tokens)}
    alphabet = set(pre_tokenizers.ByteLevel.alphabet())
    keep, kept_merges = set(alphabet), []
    for m in merges[:n_merges]:
        a, b = m.split(" ", 1)
        if a in keep and b in keep and (a + b) in index:
            kept_merges.append((a, b))
            keep.add(a + b)
    keep.update(extra_words)
    ordered = sorted(keep, key=lambda t: (index.get(t, 1 << 30), t))
    return {t: i for i, t in enumerate(ordered)}, kept_merges


def add(tok, content, special, normalized=False):
    tok.add_tokens([AddedToken(content, special=special, normalized=normalized)]) if not special else \
        tok.add_special_tokens([AddedToken(content, special=True, normalized=normalized)])


def build_gpt2(smollm):
    vocab, merges = byte_level_bpe(smollm, 3000)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    add(tok, "<|endoftext|>", True)
    return tok


def build_smollm2(smollm):
    vocab, merges = byte_level_bpe(smollm, 3000)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                 pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]:
        add(tok, t, True)
    return tok


def build_llama3(qwen):
    # Whole words that the merges alone would not build: ignore_merges emits them whole.
    extra = ["ĠFeaturescope", "Featurescope", "ĠĠĠĠĠĠĠĠ", "helloworld", "Ġinterpretability", "123"]
    vocab, merges = byte_level_bpe(qwen, 5000, extra)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(from_llama3), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    for t in ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]:
        add(tok, t, True)
    bos = tok.token_to_id("<|begin_of_text|>")
    tok.post_processor = processors.Sequence([
        processors.ByteLevel(trim_offsets=False),
        processors.TemplateProcessing(single="<|begin_of_text|> $A", pair="<|begin_of_text|> $A <|begin_of_text|> $B:1",
                                      special_tokens=[("<|begin_of_text|>", bos)])])
    return tok


def build_qwen25(qwen):
    vocab, merges = byte_level_bpe(qwen, 5000)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(from_qwen2), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    for t in ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]:
        add(tok, t, True)
    tok.add_tokens([AddedToken("<tool_call>", special=False, normalized=False, rstrip=True)])
    tok.add_special_tokens([AddedToken("<mask>", special=True, normalized=False, lstrip=True)])
    add(tok, "FeatureScope", False, normalized=True)
    return tok


def sentencepiece_bpe(gemma, n_pieces):
    """The `n_pieces` best-scored normal pieces of the Gemma vocabulary, their characters, the
    256 byte pieces, and merges for every split of a piece into two kept pieces (best piece first)."""
    tokens, types, _, scores = gguf_vocab(gemma)
    normal = sorted((i for i, t in enumerate(types) if t == 1), key=lambda i: (-scores[i], i))[:n_pieces]
    keep = {tokens[i] for i in normal}
    for t in list(keep):
        keep.update(t)
    keep.update(f"<0x{b:02X}>" for b in range(256))
    index = {t: i for i, t in enumerate(tokens)}
    ordered = ["<pad>", "<eos>", "<bos>", "<unk>"] + sorted(keep, key=lambda t: (index.get(t, 1 << 30), t))
    vocab = {t: i for i, t in enumerate(ordered)}
    merges = []
    for i in sorted(normal, key=lambda i: (-scores[i], i)):
        t = tokens[i]
        splits = [(t[:k], t[k:]) for k in range(1, len(t)) if t[:k] in vocab and t[k:] in vocab]
        merges += sorted(splits, key=lambda ab: (vocab[ab[0]], vocab[ab[1]]))
    return vocab, merges


def build_gemma(gemma):
    vocab, merges = sentencepiece_bpe(gemma, 4000)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True, unk_token="<unk>",
                               fuse_unk=True))
    tok.normalizer = normalizers.Replace(" ", "▁")
    tok.pre_tokenizer = pre_tokenizers.Split(" ", behavior="merged_with_previous", invert=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse()])
    for t in ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]:
        add(tok, t, True)
    add(tok, "\n", False)
    add(tok, "\n\n", False)
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", 2)])
    return tok


def build_metaspace(gemma):
    vocab, merges = sentencepiece_bpe(gemma, 4000)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    for t in ["<pad>", "<eos>", "<bos>", "<unk>"]:
        add(tok, t, True)
    tok.post_processor = processors.TemplateProcessing(single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", 2)])
    return tok


def build_all(args, strings, dump, out):
    built = {
        "gpt2": build_gpt2(args.smollm),
        "smollm2": build_smollm2(args.smollm),
        "llama3": build_llama3(args.qwen),
        "qwen2.5": build_qwen25(args.qwen),
        "gemma": build_gemma(args.gemma),
        "metaspace": build_metaspace(args.gemma),
    }
    for name, tok in built.items():
        folder = os.path.join(out, "hf", name)
        os.makedirs(folder, exist_ok=True)
        tok.save(os.path.join(folder, "tokenizer.json"), pretty=False)
        tok = Tokenizer.from_file(os.path.join(folder, "tokenizer.json"))
        ids, fails = [], []
        for i, s in enumerate(strings):
            e = tok.encode(s).ids
            ids.append(e)
            plain = tok.encode(s, add_special_tokens=False).ids
            if tok.decode(plain, skip_special_tokens=False) != s:
                fails.append(i)
        # roundtrip_fails: strings whose ids without the post-processor's tokens do not decode back.
        dump(f"hf-{name}.json", {"tokenizer": f"hf/{name}/tokenizer.json", "add_special_tokens": True,
                                 "ids": ids, "roundtrip_fails": fails})
