#!/usr/bin/env python3
"""Featurescope's engine against llama.cpp on the same GGUF, side by side in one run (optional tooling).

For each model: `featurescope bench --model NAME --json --threads T` (release build), then llama.cpp through
llama-cpp-python on the same file with the same threads: prompt processing of 128 random tokens (logits of the
last token, as llama-bench's pp128) and generation of 64 tokens one at a time after a 16-token prompt; medians of
--runs. Featurescope's pp is its generator's int8 prompt path (`prompt_tps_128_int8`, int8 activations like llama.cpp);
its exact Float path (`prompt_tps_128_last_logits`, what `forward` and the hooks use) is printed beside it. Prints a table and JSON with the ratios (featurescope / llama.cpp; above 1 = faster).

    pip install llama-cpp-python
    python3 scripts/bench-vs-llamacpp.py [--models smollm2-135m-instruct,qwen2.5-coder-0.5b-instruct,gemma-3-270m,qwen2.5-coder-1.5b-instruct]
"""
import argparse, json, os, random, resource, statistics, subprocess, sys, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def featurescope(name, threads, runs):
    exe = os.path.join(ROOT, ".build", "release", "featurescope")
    out = subprocess.run([exe, "bench", "--model", name, "--json", "--threads", str(threads), "--runs", str(runs)],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def model_path(name):
    exe = os.path.join(ROOT, ".build", "release", "featurescope")
    rows = json.loads(subprocess.run([exe, "model", "list", "--json"], check=True, capture_output=True, text=True).stdout)
    return next(r["path"] for r in rows if r["name"] == name)


def llamacpp(path, threads, runs):
    from llama_cpp import Llama
    llm = Llama(model_path=path, n_ctx=1024, n_batch=512, n_ubatch=512, n_threads=threads, n_threads_batch=threads,
                verbose=False)
    rng = random.Random(42)
    vocab = llm.n_vocab()
    toks = [rng.randrange(vocab) for _ in range(128)]
    llm.reset(); llm.eval(toks)  # warm-up
    pp = []
    for _ in range(runs):
        llm.reset()
        t = time.perf_counter(); llm.eval(toks); pp.append(time.perf_counter() - t)
    prompt = toks[:16]
    tg = []
    for _ in range(runs):
        llm.reset(); llm.eval(prompt)
        nxt = prompt[-1]
        t = time.perf_counter()
        for _ in range(64):
            llm.eval([nxt])
            nxt = rng.randrange(vocab)
        tg.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"prompt_tps_128": 128 / statistics.median(pp), "generate_tps": 64 / statistics.median(tg), "peak_rss_mb": rss}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="smollm2-135m-instruct,qwen2.5-coder-0.5b-instruct,gemma-3-270m,qwen2.5-coder-1.5b-instruct")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    results = []
    for name in a.models.split(","):
        fs = featurescope(name, a.threads, a.runs)
        path = model_path(name)
        lc = llamacpp(path, a.threads, a.runs)
        row = {"model": name, "file_mb": os.path.getsize(path) / 1048576, "featurescope": fs, "llama_cpp": lc,
               # Both engines' int8 prompt paths (int8 activations × stored blocks); the exact Float path is also shown.
               "prompt_ratio": fs["prompt_tps_128_int8"] / lc["prompt_tps_128"],
               "prompt_ratio_exact": fs["prompt_tps_128_last_logits"] / lc["prompt_tps_128"],
               "generate_ratio": fs["generate_tps"] / lc["generate_tps"]}
        results.append(row)
        print(f"{name:30s} pp128 {fs['prompt_tps_128_int8']:8.1f} vs {lc['prompt_tps_128']:8.1f} tok/s "
              f"(x{row['prompt_ratio']:.2f}; exact Float path {fs['prompt_tps_128_last_logits']:.1f}, "
              f"x{row['prompt_ratio_exact']:.2f})   tg {fs['generate_tps']:6.1f} vs {lc['generate_tps']:6.1f} tok/s "
              f"(x{row['generate_ratio']:.2f})   RSS {fs['peak_rss_mb']:.0f} MB (file {row['file_mb']:.0f} MB)", flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
