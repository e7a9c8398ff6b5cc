#!/usr/bin/env python3
"""Helper of scripts/score-comparison (tooling only; the product never needs Python).

  draw OUT N              pick N latents (both parts, stratified by firing density), stored in OUT/latents.json
  batches OUT K           print "part latents" lines, K latents each
  timing JSON NAME PART LATENTS T0   one timings.jsonl line for a finished `score --json`
  compare OUT             scores per method, Spearman correlations, seconds per latent
  export OUT FILE         the newest score of every method per latent as JSON lines (small, for docs/data/)
  summary JSON CACHE PART what one `score --json` did, and the newest stored record of its method per latent
"""
import glob
import json
import os
import random
import struct
import sys
import time

PARTS = ["blocks.3.attn.hook_z", "blocks.12.attn.hook_z"]
EXPLAINER = "SmolLM2-135M-Instruct.Q4_1"
METHODS = ["detection", "fuzz", "embedding", "simulation", "surprisal", "intervention", "intervention-random"]
SEED = 12


def part_dir(cache, part):
    return glob.glob(f"{cache}/parts/*-{part}")[0]


def records(cache, part):
    text = open(os.path.join(part_dir(cache, part), "annotations.log"), "rb").read().decode("utf-8", "replace")
    dec, pos = json.JSONDecoder(), 0
    while True:
        j = text.find('{"', pos)
        if j < 0:
            return
        try:
            obj, pos = dec.raw_decode(text, j)
        except ValueError:
            pos = j + 2
            continue
        if isinstance(obj, dict) and "kind" in obj and "latent" in obj:
            yield obj


def newest_scores(cache, part):
    """method → latent → the newest score record's (score, record)."""
    out = {}
    for r in records(cache, part):
        if r["kind"] == "score" and (r.get("metrics") or {}).get("score") is not None:
            out.setdefault(r["method"], {})[r["latent"]] = (r["metrics"]["score"], r)
    return out


def firing_counts(cache, part):
    data = open(os.path.join(part_dir(cache, part), "index.bin"), "rb").read()
    n = (len(data) - 64) // 64
    return [struct.unpack_from("<Q", data, 64 + 64 * i + 16)[0] for i in range(n)]


def draw(out, n):
    path = os.path.join(out, "latents.json")
    if os.path.exists(path):
        return json.load(open(path))
    cache = os.path.join(out, "cache")
    chosen = {}
    for k, part in enumerate(PARTS):
        s = newest_scores(cache, part)
        both = sorted(set(s.get("detection", {})) & set(s.get("fuzz", {})))
        firing = firing_counts(cache, part)
        rows = sorted(both, key=lambda l: (firing[l], l))
        rng = random.Random(SEED + k)
        per_bin = n // len(PARTS) // 4
        picked = []
        for b in range(4):
            bin_rows = rows[b * len(rows) // 4:(b + 1) * len(rows) // 4]
            picked += rng.sample(bin_rows, min(per_bin, len(bin_rows)))
        chosen[part] = sorted(picked)
    with open(path + ".tmp", "w") as f:
        json.dump(chosen, f)
    os.replace(path + ".tmp", path)
    return chosen


def ranks(v):
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r


def pearson(x, y):
    n = len(x)
    if n < 3:
        return float("nan")
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else float("nan")


def table(out):
    """(part, latent) → method → score, for the drawn latents."""
    chosen = json.load(open(os.path.join(out, "latents.json")))
    t = {}
    for part, latents in chosen.items():
        s = newest_scores(os.path.join(out, "cache"), part)
        for l in latents:
            row = {m: s[m][l][0] for m in s if l in s[m]}
            t[(part, l)] = row
    return t


def compare(out):
    t = table(out)
    keys = sorted(t)
    methods = [m for m in METHODS if any(m in t[k] for k in keys)]
    print(f"{len(keys)} latents drawn; newest score per method (detection/fuzz rescored by $SCORER where run, else the sample's SmolLM2 judge)\n")
    print("| method | latents | mean | median |")
    print("|---|---:|---:|---:|")
    for m in methods:
        v = sorted(t[k][m] for k in keys if m in t[k])
        print(f"| {m} | {len(v)} | {sum(v) / len(v):.3f} | {v[len(v) // 2]:.3f} |")
    print("\nSpearman ρ (n = latents scored by both)\n")
    print("| | " + " | ".join(methods) + " |")
    print("|---|" + "---:|" * len(methods))
    for a in methods:
        cells = []
        for b in methods:
            common = [k for k in keys if a in t[k] and b in t[k]]
            rho = pearson(ranks([t[k][a] for k in common]), ranks([t[k][b] for k in common]))
            cells.append("—" if a == b else f"{rho:.2f} ({len(common)})")
        print(f"| {a} | " + " | ".join(cells) + " |")
    if "intervention" in methods and "intervention-random" in methods:
        common = [k for k in keys if "intervention" in t[k] and "intervention-random" in t[k]]
        tr = [t[k]["intervention"] for k in common]
        rd = [t[k]["intervention-random"] for k in common]
        wins = sum(a > b for a, b in zip(tr, rd))
        ties = sum(a == b for a, b in zip(tr, rd))
        print(f"\ntrained vs random-initialised SAE, intervention score on {len(common)} latents: "
              f"mean {sum(tr) / max(1, len(tr)):.3f} vs {sum(rd) / max(1, len(rd)):.3f}; "
              f"trained higher on {wins}, equal on {ties}, lower on {len(common) - wins - ties}")
    tpath = os.path.join(out, "timings.jsonl")
    if os.path.exists(tpath):
        per = {}
        for line in open(tpath):
            r = json.loads(line)
            if r["completed"] > 0:
                a = per.setdefault(r["name"], [0, 0.0])
                a[0] += r["completed"]
                a[1] += r["seconds"]
        print("\n| scorer | latents timed | s / latent |")
        print("|---|---:|---:|")
        for m, (n, s) in per.items():
            print(f"| {m} | {n} | {s / n:.1f} |")


def timing(path, name, part, latents, t0):
    try:
        d = json.load(open(path))
        s = d["summary"]
        row = {"name": name, "part": part, "latents": latents, "completed": s["completed"], "alreadyDone": s["alreadyDone"],
               "failures": len(s["failures"]), "seconds": d["seconds"], "wall": time.time() - float(t0)}
    except (OSError, ValueError, KeyError) as e:
        row = {"name": name, "part": part, "latents": latents, "completed": 0, "alreadyDone": 0, "failures": -1,
               "seconds": 0, "wall": time.time() - float(t0), "error": str(e)[:200]}
    print(json.dumps(row))


def export(out, path):
    chosen = json.load(open(os.path.join(out, "latents.json")))
    lines = []
    for part, latents in chosen.items():
        s = newest_scores(os.path.join(out, "cache"), part)
        for m in METHODS:
            for l in latents:
                if l in s.get(m, {}):
                    score, r = s[m][l]
                    samples = r.get("samples") or []
                    lines.append({"part": part, "latent": l, "method": m, "score": score,
                                  "model": r.get("model"), "endpoint": r.get("endpoint"),
                                  "promptVersion": r.get("promptVersion"), "explanation": r.get("explanation"),
                                  "answered": sum(1 for x in samples if x.get("prediction") is not None or x.get("simulated")),
                                  "samples": len(samples),
                                  "auc": ((r.get("metrics") or {}).get("values") or {}).get("auc",
                                                                                         (r.get("metrics") or {}).get("auc"))})
    with open(path + ".tmp", "w") as f:
        for x in lines:
            f.write(json.dumps(x, ensure_ascii=False) + "\n")
    os.replace(path + ".tmp", path)


def summary(path, cache, part):
    try:
        d = json.load(open(path))
    except (OSError, ValueError) as e:
        print("  no JSON result:", e)
        return
    s = d["summary"]
    print(f"  {d['method']} via {d['endpoint']} ({d['model']}): completed {s['completed']}, failures {len(s['failures'])}, "
          f"{d['seconds']:.1f} s")
    for f in s["failures"]:
        print("  failure:", str(f)[:300])
    newest = newest_scores(cache, part).get(d["method"], {})
    for l, (score, r) in sorted(newest.items()):
        samples = r.get("samples") or []
        answered = sum(1 for x in samples if x.get("prediction") is not None or x.get("simulated"))
        v = (r.get("metrics") or {}).get("values") or {}
        extra = {k: round(v[k], 4) for k in ("auc", "balancedAccuracy", "correlation") if k in v}
        unanswered = len((r.get("raw") or {}).get("batchFailures") or [])
        if d["method"] == "simulation":
            # Stored records keep the correlations, not the per-token predictions.
            answered = f"{len(samples) - unanswered}/{len(samples)} samples simulated"
        else:
            answered = f"{answered}/{len(samples)} samples answered"
        print(f"  latent {l}: score {score:.4f} {extra}; {answered}; {unanswered} failure lines; "
              f"explanation: {r.get('explanation')!r}")


def main():
    mode = sys.argv[1]
    if mode == "draw":
        print(json.dumps(draw(sys.argv[2], int(sys.argv[3]))))
    elif mode == "batches":
        out = sys.argv[2]
        chosen = json.load(open(os.path.join(out, "latents.json")))
        k = int(sys.argv[3])
        # Each batch takes latents spread over the density order (one per bin with k = 4), and the parts
        # alternate, so a stopped run still covers both layers and every density bin.
        batches = {}
        for p in chosen:
            firing = firing_counts(os.path.join(out, "cache"), p)
            order = sorted(chosen[p], key=lambda l: (firing[l], l))
            n_batches = (len(order) + k - 1) // k
            batches[p] = [sorted(order[b::n_batches]) for b in range(n_batches)]
        for i in range(max(len(b) for b in batches.values())):
            for p in PARTS:
                if i < len(batches.get(p, [])):
                    print(p, ",".join(map(str, batches[p][i])))
    elif mode == "timing":
        timing(*sys.argv[2:7])
    elif mode == "compare":
        compare(sys.argv[2])
    elif mode == "summary":
        summary(*sys.argv[2:5])
    elif mode == "export":
        export(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


main()
