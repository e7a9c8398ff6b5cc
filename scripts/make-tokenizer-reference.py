#!/usr/bin/env python3
"""Optional tooling: writes the tokenizer reference data under Tests/Fixtures/tokenizers/.

  strings.json                 >= 1,000 varied test strings (deterministic)
  llamacpp-<model>.json        llama.cpp's ids for each string (llama-cpp-python,
                               vocab_only, add_bos=False, special=False) and the
                               strings whose detokenized ids do not give the string back
  hf/<name>/tokenizer.json     small Hugging Face tokenizers built from the GGUF vocabularies
  hf-<name>.json               the `tokenizers` library's ids (add_special_tokens=True)
  gguf/<name>.gguf             vocabulary-only GGUFs cut from the models (llama-bpe, gpt-2,
                               SentencePiece with add_space_prefix), with llamacpp-tiny-<name>.json
  chat-templates.json          the models' chat templates rendered by jinja2

Needs: pip install llama-cpp-python tokenizers gguf
Usage: scripts/make-tokenizer-reference.py [--qwen PATH] [--gemma PATH] [--smollm PATH]
"""
import argparse
import hashlib
import json
import os
import random
import sys

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "tokenizers")
CACHE = os.environ.get("FEATURESCOPE_CACHE_DIR") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "featurescope")

QWEN2_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3_REGEX = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"


def make_strings():
    """Hand-picked edge cases, seeded random mixtures of the same ingredients, random code points."""
    fixed = [
        "", " ", "  ", "\n", "\r\n", "\t", "a", "A", "hello world", " hello", "  hello", "hello ", "hello  ",
        "Hello, World!", "I'm here", "I'M HERE", "you're", "YOU'RE", "we've", "We'Ve", "she'll", "SHE'LL",
        "he'd", "it's", "IT'S", "don't", "DON'T", "'s", "'S", "'re", "'ll'", "''", "'", "'hello", "'site",
        "1", "12", "123", "1234", "12345", "1234567890", "3.14159", "1,000,000", "v1.2.3", "0x1F", "१२३", "٣٤٥",
        "Ⅻ", "½", "²³", "x²", "  1", " 12", "\t\t1", "a1b2c3", "abc123def", "123abc",
        "def f(x):\n    return x + 1\n", "if (a && b) { c(); }", "for i in range(10):\n\tprint(i)\n",
        "#include <stdio.h>\nint main(void) { return 0; }\n", "SELECT * FROM t WHERE id = 42;",
        "let x = [1, 2, 3].map { $0 * 2 }", "a\r\nb\r\n\r\nc", "line1\n\n\nline2", "\n\n\n", " \n ", "\n \n",
        "   \n", "x   \ny", "a \t b", "a\u00a0b", "a\u2003b", "a\u3000b", "\u3000\u3000", "a\u2028b", "a\u0085b",
        "日本語のテキスト", "中文文本，标点。", "한국어 텍스트", "Привет, мир!", "Γειά σου Κόσμε", "مرحبا بالعالم",
        "שלום עולם", "नमस्ते दुनिया", "สวัสดีชาวโลก", "Xin chào thế giới", "café naïve résumé", "Ünïcödé",
        "e\u0301", "\u0301", "a\u0308\u0304", "🙂", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷🇩🇪", "I ❤️ NY", "∑∫∂√∞≈≠",
        "→←↑↓", "©®™", "\u200b", "a\u200db", "\ufeffbom", "\ufffd", "\ufffd\ufffd", "\uffff", "\U0010ffff",
        "\ue000", "<0xFF>", "<0x0A>", "\\x80\\xff", "%E2%82%AC", "&amp;&lt;", "\x00", "a\x00b", "\x01\x02\x1f",
        "\x7f", "\x1b[31mred\x1b[0m", "\x0b\x0c", "<|endoftext|>", "<|im_start|>user\nhi<|im_end|>",
        "<|im_end|>", "<bos>", "<eos>", "<start_of_turn>user\nhi<end_of_turn>", "<end_of_turn>", "<pad>",
        "<unk>", "<mask>", "<|begin_of_text|>", "<|eot_id|>", "<s>", "</s>", "<unused0>", "[INST]", "<<SYS>>",
        "▁", "▁▁hello", "hello▁world", "Ġhello", "Ċ", "ĠĠ", "a" * 300, " " * 100, "\n" * 50, "1" * 100,
        "ab" * 150, "!" * 80, "=" * 64 + "\n", "-" * 120, "\t" * 40, ". " * 60, "😀" * 40,
        "The quick brown fox jumps over the lazy dog.", "THE QUICK BROWN FOX", "tHe QuIcK bRoWn",
        "https://example.com/path?q=1&r=two#frag", "user@example.org", "C:\\Windows\\System32",
        "/usr/local/bin/swift build -c release", "~/.cache/featurescope", "$HOME", "@decorator", "#hashtag",
        "x += 1; y -= 2; z *= 3", "a->b", "a=>b", "a::b", "a...b", "?!", "!!!", "...", "---", "***",
        "«quoted»", "“smart quotes”", "‘single’", "—dash–", "(parenthesis)", "[brackets]", "{braces}",
        "'quoted'", "\"double\"", "`code`", "```python\nprint('hi')\n```", "<div class=\"x\">text</div>",
        "{\"key\": [1, 2, {\"n\": null}]}", "key: value\n- item\n", "| a | b |\n|---|---|",
        "a <mask> b", "x  <mask>\n\ny", "<mask>", "<tool_call>  \n{}", "hi <|im_end|>  there", "\t<tool_call>\t",
    ]
    pieces = [
        "the", "The", "THE", "hello", "world", "Featurescope", "interpretability", "sparse", "autoencoder",
        "token", "ization", "naïve", "Ångström", "straße", "日本", "語", "中文", "한국어", "Привет", "мир",
        "Ελληνικά", "عربى", "עברית", "हिन्दी", "ไทย", "🙂", "🚀", "👩‍💻", "❤️", "é", "ñ", "ø", "ß",
        "0", "7", "42", "2024", "3.14", "1e-9", "0xFF", "100%", "$5", "€10", "¥", "½", "²", "٣", "१",
        "'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'Ve", "'M", "'LL", "'D", "'",
        " ", "  ", "   ", "    ", "\t", "\n", "\r\n", "\r", "\n\n", " \n", "\u00a0", "\u3000", "\u2009",
        ".", ",", ";", ":", "!", "?", "(", ")", "[", "]", "{", "}", "<", ">", "/", "\\", "|", "-", "_",
        "=", "+", "*", "&", "^", "%", "$", "#", "@", "~", "`", "\"", "...", "->", "==", "!=", "<=",
        "def", "return", "func", "let", "var", "class", "import", "print(", "self.", "x", "i", "j",
        "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>", "<bos>",
        "\x00", "\x07", "\x1b", "\x7f", "\ufffd", "\u200b", "\u200d", "\ufeff", "\u0301", "▁", "Ġ",
    ]
    rng = random.Random(20261206)
    out = list(fixed)
    while len(out) < 1200:
        n = rng.randint(1, 14)
        s = "".join(rng.choice(pieces) for _ in range(n))
        if rng.random() < 0.3:
            s = s.upper() if rng.random() < 0.5 else s.title()
        out.append(s)
    # Longer prose and code samples built from the pieces.
    for _ in range(40):
        out.append(" ".join(rng.choice(pieces[:48]) for _ in range(rng.randint(20, 60))))
    # Random code points: every kind of white space, apostrophes, and blocks across the planes.
    special_cps = [0x20, 0x09, 0x0A, 0x0D, 0x0B, 0x0C, 0xA0, 0x85, 0x1680, 0x2000, 0x2028, 0x3000, 0x27, 0x27]
    blocks = [(0x21, 0x7E)] * 6 + [
        (0xA1, 0x2FF), (0x300, 0x36F), (0x370, 0x3FF), (0x400, 0x4FF), (0x590, 0x6FF), (0x900, 0x97F), (0xE00, 0xE7F),
        (0x1100, 0x11FF), (0x2000, 0x206F), (0x2070, 0x209F), (0x20A0, 0x20CF), (0x2100, 0x218F), (0x2190, 0x23FF),
        (0x2460, 0x24FF), (0x2500, 0x27BF), (0x3000, 0x30FF), (0x4E00, 0x4FFF), (0xAC00, 0xAD00), (0xE000, 0xE0FF),
        (0xFB00, 0xFFFD), (0x10000, 0x1007F), (0x1D400, 0x1D7FF), (0x1F300, 0x1FAFF), (0x20000, 0x200FF)]

    def code_point():
        if rng.random() < 0.25:
            return rng.choice(special_cps)
        lo, hi = rng.choice(blocks)
        while True:
            c = rng.randint(lo, hi)
            if not 0xD800 <= c <= 0xDFFF:
                return c
    for _ in range(300):
        out.append("".join(chr(code_point()) for _ in range(rng.randint(1, 30))))
    seen, unique = set(), []
    for s in out:
        if s not in seen:
            seen.add(s)
            unique.append(s)
    return unique


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def dump(name, obj):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def llamacpp_reference(label, path, strings):
    from llama_cpp import Llama
    llm = Llama(model_path=path, vocab_only=True, verbose=False)
    ids, fails = [], []
    for i, s in enumerate(strings):
        t = llm.tokenize(s.encode("utf-8"), add_bos=False, special=False)
        ids.append(t)
        if llm.detokenize(t, special=True) != s.encode("utf-8"):
            fails.append(i)
    bos = llm.tokenize(b"x", add_bos=True, special=False)
    dump(f"llamacpp-{label}.json", {"model": os.path.basename(path), "sha256": sha256(path), "bos_of_x": bos,
                                     "add_bos": False, "special": False, "ids": ids, "roundtrip_fails": fails})


def chat_reference(models):
    """The models' own chat templates rendered by jinja2 (as transformers does) for a few conversations."""
    import jinja2
    from gguf import GGUFReader
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    conversations = [
        [{"role": "user", "content": "Hello!"}],
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is 2+2?"}],
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello, how can I help?"},
         {"role": "user", "content": "Write a haiku\nabout code."}],
    ]
    templates, cases = {}, []
    for label, path in models:
        fields = GGUFReader(path).fields
        if "tokenizer.chat_template" not in fields:
            continue
        template = fields["tokenizer.chat_template"].contents()
        templates[label] = template
        for messages in conversations:
            for gen in (True, False):
                text = env.from_string(template).render(messages=messages, add_generation_prompt=gen)
                cases.append({"template": label, "messages": messages, "add_generation_prompt": gen, "expected": text})
    dump("chat-templates.json", {"templates": templates, "cases": cases})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smollm", default=os.path.join(CACHE, "SmolLM2-135M-Instruct.Q4_1.gguf"))
    ap.add_argument("--qwen", default=os.path.join(CACHE, "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf"))
    ap.add_argument("--gemma", default=os.path.join(CACHE, "gemma-3-270m-q4_k_m.gguf"))
    ap.add_argument("--skip-llamacpp", action="store_true")
    ap.add_argument("--skip-hf", action="store_true")
    args = ap.parse_args()
    strings = make_strings()
    dump("strings.json", {"strings": strings})
    models = [("smollm2", args.smollm), ("qwen2", args.qwen), ("gemma3", args.gemma)]
    chat_reference(models)
    if not args.skip_llamacpp:
        for label, path in models:
            llamacpp_reference(label, path, strings)
    if not args.skip_llamacpp:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from tiny_gguf_reference import build_all as build_tiny  # noqa: E402
        build_tiny(args, strings, dump, OUT, llamacpp_reference)
    if not args.skip_hf:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from tokenizer_json_reference import build_all  # noqa: E402
        build_all(args, strings, dump, OUT)


if __name__ == "__main__":
    main()
