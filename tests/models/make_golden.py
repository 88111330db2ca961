#!/usr/bin/env python3
"""Regenerates the golden models in tests/data/models/ and their MANIFEST.json.

    .venv/bin/python tests/models/make_golden.py

Each model is trained by the real library (versions pinned in requirements-dev.txt) on real data
with fixed seeds and one thread, then saved in that library's own format next to
`<name>.inputs.csv` (held-out rows; an empty field is a missing value) and `<name>.expected.csv`
(that library's own predictions on exactly those rows). The C++ importer tests load the model,
score the inputs and compare with the expected outputs. MANIFEST.json says, for every model, what
each file holds. Running it twice gives the same bytes.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden_common import OUT  # noqa: E402
from golden_onnx import helper_models, normalizer_models, sklearn_models  # noqa: E402
from golden_trees import lightgbm_models, xgboost_models  # noqa: E402

MANIFEST_VERSION = 1
SIZE_LIMIT = 200 * 1024


def remove_previous() -> None:
    """Deletes what the previous run listed in MANIFEST.json (so a renamed model leaves no stale
    files) and nothing else: other tests keep their own files under tests/data/models/."""
    manifest = OUT / "MANIFEST.json"
    if not manifest.exists():
        return
    for e in json.loads(manifest.read_text())["models"]:
        for key in ("file", "inputs", "expected"):
            (OUT / e[key]).unlink(missing_ok=True)
    manifest.unlink()


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    remove_previous()
    entries = (xgboost_models() + lightgbm_models() + sklearn_models() + normalizer_models()
               + helper_models())
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "generator": "tests/models/make_golden.py",
        "float_tolerance": {"float32_paths_max_abs": 1e-5,
                            "note": "compare against the originating library's column; class "
                                    "decisions must be identical"},
        "models": sorted(entries, key=lambda e: e["name"]),
    }
    (OUT / "MANIFEST.json").write_text(json.dumps(manifest, indent=2) + "\n")
    ours = {OUT / "MANIFEST.json", OUT / "README.md"} | {
        OUT / e[k] for e in entries for k in ("file", "inputs", "expected")}
    total = sum(p.stat().st_size for p in ours)
    width = max(len(e["name"]) for e in entries)
    for e in manifest["models"]:
        extra = e.get("max_abs_diff_sklearn_vs_onnxruntime")
        print(f"{e['name']:<{width}}  {e['bytes']:>8} B  {e['task']:<10}"
              + (f"  sklearn vs onnxruntime max |diff| {extra:.3g}" if extra is not None else ""))
    print(f"{len(entries)} models, {total / 1024:.0f} KiB in {OUT}")
    too_big = [e["name"] for e in entries if e["bytes"] > SIZE_LIMIT]
    if too_big or total > 3 * 1024 * 1024:
        print(f"error: golden files too large: {too_big or 'total'}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
