"""Reads a delphi run folder with delphi 0.1.3's own code (optional tooling; run it with the venv that
setup.sh makes):

    .build/delphi-venv/bin/python scripts/delphi-check/check.py RUN [--viz DIR] [--latents N]

1. delphi.log.result_analysis.load_data + log_results over RUN/scores (firing counts from
   RUN/log/hookpoint_firing_counts.pt via torch.load(weights_only=True), RUN/run_config.json), plots in --viz.
2. delphi.latents.LatentDataset over RUN/latents with RUN/run_config.json's sampler and constructor settings:
   builds the records of the first N latents of every hookpoint and checks each record's max activation and
   activating-window count against the split files read independently here.
Exit status 0 when both ran and every check held; the last line says "delphi check: OK".
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.numpy import load_file


class IdTokenizer:
    """Token ids as strings: LatentDataset needs only batch_decode (no network access to fetch a tokenizer)."""

    vocab: dict = {}

    def batch_decode(self, ids):
        return [f"<{int(i)}>" for i in (ids.tolist() if hasattr(ids, "tolist") else ids)]


def result_analysis(run: Path, viz: Path) -> None:
    from delphi.log.result_analysis import load_data, log_results

    cfg = json.loads((run / "run_config.json").read_text())
    modules = cfg["hookpoints"]
    scorers = sorted(p.name for p in (run / "scores").iterdir() if p.is_dir() and p.name in ("detection", "fuzz"))
    counts = torch.load(run / "log" / "hookpoint_firing_counts.pt", weights_only=True)
    print("firing counts:", {k: (str(v.dtype), tuple(v.shape), int(v.sum())) for k, v in counts.items()})
    df, loaded = load_data(run / "scores", modules)
    print(f"load_data: {len(df)} rows, columns {list(df.columns)}, counts for {sorted(loaded or {})}")
    assert loaded is not None and set(loaded) == set(modules), "firing counts missing for some hookpoints"
    # delphi 0.1.3's frequency_weighted_f1 indexes a tensor with a pandas Series whose labels start past 0
    # for every hookpoint after the first (KeyError: 0, whatever the files hold), so with several hookpoints
    # log_results runs once per hookpoint.
    groups = [modules] if len(modules) == 1 else [[m] for m in modules]
    for group in groups:
        out = viz if len(groups) == 1 else viz / group[0].replace("/", "--")
        out.mkdir(parents=True, exist_ok=True)
        print(f"--- log_results(modules={group}, scorer_names={scorers})")
        log_results(run / "scores", out, group, scorers)
        plots = sorted(p.name for p in out.iterdir())
        print("plots:", plots)
        assert plots, "log_results wrote no plots"


def latent_dataset(run: Path, n: int) -> None:
    from delphi.config import ConstructorConfig, SamplerConfig
    from delphi.latents import LatentDataset

    cfg = json.loads((run / "run_config.json").read_text())
    constructor = ConstructorConfig(**{k: v for k, v in cfg["constructor_cfg"].items()})
    constructor.min_examples = 1
    sampler = SamplerConfig(**cfg["sampler_cfg"])
    modules = cfg["hookpoints"]
    latents = {m: torch.arange(n) for m in modules}
    ds = LatentDataset(run / "latents", sampler, constructor, tokenizer=IdTokenizer(), modules=modules, latents=latents)
    records = list(ds)
    print(f"LatentDataset: {len(records)} records from {len(ds)} split files")
    assert records, "no records"
    ctx = constructor.example_ctx_len
    # Independent truth from the split files: per latent, max activation and windows with an activation.
    truth = {}
    for m in modules:
        for f in sorted((run / "latents" / m).glob("*.safetensors")):
            start = int(f.stem.split("_")[0])
            d = load_file(str(f))
            loc, act = d["locations"].astype(np.int64), d["activations"].astype(np.float32)
            seq_len = d["tokens"].shape[1]
            for lat in range(n):
                sel = loc[:, 2] + start == lat
                if sel.any():
                    windows = set((loc[sel, 0] * seq_len + loc[sel, 1]) // ctx)
                    truth[(m, lat)] = (float(act[sel].max()), len(windows))
    bad = 0
    for r in records:
        key = (r.latent.module_name, r.latent.latent_index)
        mx, windows = truth[key]
        got = (round(float(r.max_activation), 3), len(r.examples))
        if got != (round(mx, 3), windows):
            bad += 1
            print(f"  {key}: delphi max {got[0]} over {got[1]} windows, split files {mx:.3f} over {windows}")
    print(f"LatentDataset records checked against the split files: {len(records) - bad} agree, {bad} differ")
    assert bad == 0


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--viz", type=Path)
    ap.add_argument("--latents", type=int, default=40)
    a = ap.parse_args()
    viz = a.viz or a.run.parent / (a.run.name + "-viz")
    viz.mkdir(parents=True, exist_ok=True)
    import delphi
    print("delphi", delphi.__version__, "torch", torch.__version__)
    result_analysis(a.run, viz)
    latent_dataset(a.run, a.latents)
    print("delphi check: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
