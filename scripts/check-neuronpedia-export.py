#!/usr/bin/env python3
"""Checks `featurescope export neuronpedia` output with SAEDashboard's own classes: every batch-N.json must load
into `NeuronpediaDashboardBatch(**json)` and its `to_dict()` must give back the same keys and values.

Optional tooling:  pip download --no-deps sae-dashboard -d /tmp/sd && (cd /tmp/sd && unzip -q sae_dashboard-*.whl)
                   PYTHONPATH=/tmp/sd python3 scripts/check-neuronpedia-export.py EXPORT_DIR
(only `sae_dashboard/neuronpedia/neuronpedia_dashboard.py` is imported; it needs numpy.)
"""
import glob
import json
import sys

from sae_dashboard.neuronpedia.neuronpedia_dashboard import NeuronpediaDashboardBatch

root = sys.argv[1]
files = sorted(glob.glob(f"{root}/*/batch-*.json"))
assert files, f"no batch files under {root}"
features = 0
for path in files:
    raw = json.load(open(path))
    batch = NeuronpediaDashboardBatch(**raw)
    again = json.loads(json.dumps(batch.to_dict()))
    assert again == raw, f"{path}: to_dict() differs from the file"
    for f in batch.features:
        for a in f.activations:
            assert len(a.tokens) == len(a.values), path
            assert a.values[a.qualifying_token_index] == max(a.values), path
    features += len(batch.features)
print(f"{len(files)} batch files, {features} features: load into SAEDashboard's NeuronpediaDashboardBatch and round-trip to_dict()")
