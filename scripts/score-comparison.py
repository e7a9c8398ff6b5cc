#!/usr/bin/env python3
"""Helper of scripts/score-comparison: reads a cache part's annotation log (the JSON records inside
annotations.log) to pick latents and to correlate the newest score of each method per latent (Spearman)."""
import glob
import json
import sys


def records(cache, part):
    path = glob.glob(f"{cache}/parts/*-{part}/annotations.log")[0]
    text = open(path, "rb").read().decode("utf-8", "replace")
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


def scores(cache, part):
    out = {}
    for r in records(cache, part):
        if r["kind"] == "score" and (r.get("metrics") or {}).get("score") is not None:
            out.setdefault(r["method"], {})[r["latent"]] = r["metrics"]["score"]
    return out


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


def main():
    mode, cache, part = sys.argv[1:4]
    s = scores(cache, part)
    if mode == "latents":
        both = sorted(set(s.get("detection", {})) & set(s.get("fuzz", {})))
        print(",".join(str(l) for l in both[: int(sys.argv[4])]))
        return
    latents = [int(x) for x in sys.argv[4].split(",")]
    methods = [m for m in ["detection", "fuzz", "embedding", "simulation", "surprisal", "intervention", "intervention-random"] if m in s]
    print("method               n   mean    median")
    for m in methods:
        v = sorted(s[m][l] for l in latents if l in s[m])
        if v:
            print(f"{m:20s} {len(v):3d}  {sum(v) / len(v):.3f}  {v[len(v) // 2]:.3f}")
    print("\nSpearman rho (n = latents scored by both)")
    print(" " * 20 + "".join(f"{m[:12]:>13s}" for m in methods))
    for a in methods:
        row = f"{a:20s}"
        for b in methods:
            common = [l for l in latents if l in s[a] and l in s[b]]
            rho = pearson(ranks([s[a][l] for l in common]), ranks([s[b][l] for l in common]))
            row += f"{rho:9.2f}({len(common):2d})"
        print(row)


main()
