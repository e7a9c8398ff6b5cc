#!/usr/bin/env python3
"""Records one real `/v1/completions` echo reply for the simulation scorer's endpoint test
(Tests/Fixtures/simulation/). The prompt is the scorer's all-at-once prompt (SimulationScorer.allAtOncePrompt) for a
fixed explanation and six tokens; the system text is read from SimulationScorer.swift so the two cannot drift (the
test also checks that the scorer sends exactly the recorded request). Optional tooling (standard library only).

  scripts/make-simulation-echo-fixture.py http://127.0.0.1:8091/v1 MODEL_ALIAS

with a server such as `python -m llama_cpp.server --model qwen2.5-coder-0.5b-instruct-q4_k_m.gguf --port 8091`."""
import json, pathlib, re, sys, urllib.request

root = pathlib.Path(__file__).resolve().parent.parent
src = (root / "Sources/AutoInterp/SimulationScorer.swift").read_text()
system = re.search(r'static let system = """\n(.*?)\n    """', src, re.S).group(1)
# A Swift multi-line literal: the closing delimiter's indentation (4 spaces) is stripped, a trailing backslash joins lines.
system = "".join(l[4:-1] if l.endswith("\\") else l[4:] + "\n" for l in system.split("\n")).rstrip("\n")


def shown(t):
    return t.replace("\n", "↵").replace("\t", "→")


def block(expl, toks, scores):
    text = "Explanation: %s\n\nTokens:\n" % expl + "\n".join(shown(t) for t in toks) + "\n\nActivations:\n"
    for k, t in enumerate(toks):
        text += shown(t) + "\t" + (scores[k] if scores else "unknown") + "\n"
    return text


demo = ["The", " recipe", " calls", " for", " two", " cups", " of", " flour"]
prompt = system + "\n\n" + block("baking ingredients, especially flour", demo, ["0", "2", "0", "0", "0", "3", "0", "9"]) + "\n" \
    + block("the word \"cat\"", ["The", " cat", " sat", " on", " the", " mat"], None)
base, model = sys.argv[1].rstrip("/"), sys.argv[2]
request = {"model": model, "prompt": prompt, "max_tokens": 1, "temperature": 0.0, "echo": True, "logprobs": 5}
body = json.dumps(request).encode()
reply = urllib.request.urlopen(urllib.request.Request(base + "/completions", data=body,
                                                      headers={"Content-Type": "application/json"}), timeout=3600).read()
out = root / "Tests/Fixtures/simulation"
out.mkdir(parents=True, exist_ok=True)
(out / "echo-request.json").write_text(json.dumps(request, ensure_ascii=False, indent=1) + "\n")
(out / "echo-reply-llama-cpp-python-qwen2.5-0.5b.json").write_bytes(reply)
print("wrote", out, len(reply), "bytes")
