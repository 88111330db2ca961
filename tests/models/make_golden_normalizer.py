#!/usr/bin/env python3
"""Writes only the Normalizer golden models (golden_onnx.normalizer_models(): scikit-learn
Pipeline(Normalizer(norm), LogisticRegression | GradientBoostingClassifier) for norm in max, l1,
l2, converted by skl2onnx) and merges their entries into tests/data/models/MANIFEST.json, leaving
every other golden file as it is:

    .venv/bin/python tests/models/make_golden_normalizer.py

make_golden.py writes the same models as part of a full regeneration (after which
make_golden_xgb17.py must be rerun, as usual). Deterministic: fixed seeds, one thread."""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden_common import OUT  # noqa: E402
from golden_onnx import normalizer_models  # noqa: E402


def main() -> int:
    entries = normalizer_models()
    path = OUT / "MANIFEST.json"
    manifest = json.loads(path.read_text())
    names = {e["name"] for e in entries}
    models = [m for m in manifest["models"] if m["name"] not in names] + entries
    # make_golden.py keeps its own models sorted by name (make_golden_xgb17.py appends after them):
    # put these where a full regeneration would, so the two ways give the same manifest order.
    own = [m for m in models if not m["name"].startswith("xgb17_")]
    manifest["models"] = sorted(own, key=lambda e: e["name"]) + [m for m in models if m["name"].startswith("xgb17_")]
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    for e in entries:
        print(f"{e['name']:<52} {e['bytes']:>7} B  sklearn vs onnxruntime max |diff| "
              f"{e['max_abs_diff_sklearn_vs_onnxruntime']:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
