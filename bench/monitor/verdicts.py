"""Per-column drift verdicts, slipway vs Evidently (legacy DataDriftPreset) on the same CSVs.

    .venv/bin/python bench/monitor/verdicts.py [--bin build/release/src/cli/slipway]

Prints, per scenario and column, each side's test, score and verdict, and where they differ.
docs/drift.md records the result and the reasons. Needs `evidently` in the venv (not a test
dependency: the e2e suite does not import it).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[2]


def scenarios():
    rng = np.random.default_rng(7)
    cats = np.array(["a", "b", "c", "d", "e", "f"])

    def t(n, shift=0.0, scale=1.0, p=(0.45, 0.3, 0.15, 0.06, 0.03, 0.01), flag_p=0.5):
        return pd.DataFrame({
            "x": rng.normal(shift, scale, n).round(5),
            "y": rng.normal(0, 1, n).round(5),
            "cat": cats[rng.choice(6, n, p=p)],
            "flag": np.where(rng.random(n) < flag_p, "yes", "no"),
        })

    yield "small, no drift", t(800), t(800)
    yield "small, x shifted 0.3 sd, cat mix changed", t(800), t(700, shift=0.3, p=(0.3, 0.3, 0.2, 0.1, 0.06, 0.04))
    yield "small, only rare categories change", t(900), t(900, p=(0.45, 0.3, 0.15, 0.03, 0.03, 0.04))
    yield "small, weak shifts (0.12 sd), flag 0.5 -> 0.56", t(1000), t(1000, shift=0.12, flag_p=0.56)
    yield "large (200k), trivial shift 0.02 sd", t(200_000), t(200_000, shift=0.02)
    yield "large (200k), x spread x1.3", t(200_000), t(200_000, scale=1.3)


def evidently_verdicts(ref: pd.DataFrame, cur: pd.DataFrame) -> dict:
    from evidently.legacy.metric_preset import DataDriftPreset
    from evidently.legacy.pipeline.column_mapping import ColumnMapping
    from evidently.legacy.report import Report
    report = Report(metrics=[DataDriftPreset()])
    report.run(reference_data=ref, current_data=cur,
               column_mapping=ColumnMapping(numerical_features=["x", "y"], categorical_features=["cat", "flag"]))
    out = {}
    for metric in report.as_dict()["metrics"]:
        for col, v in metric["result"].get("drift_by_columns", {}).items():
            out[col] = (v["stattest_name"], float(v["drift_score"]), bool(v["drift_detected"]))
        if "dataset_drift" in metric["result"]:
            out["(dataset)"] = ("share", metric["result"]["share_of_drifted_columns"], metric["result"]["dataset_drift"])
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.environ.get("SLIPWAY_BIN") or str(REPO_ROOT / "build/release/src/cli/slipway"))
    args = ap.parse_args()
    differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, ref, cur in scenarios():
            ref.to_csv(f"{tmp}/ref.csv", index=False)
            cur.to_csv(f"{tmp}/cur.csv", index=False)
            proc = subprocess.run([args.bin, "monitor", "drift", "--reference", f"{tmp}/ref.csv", "--current",
                                   f"{tmp}/cur.csv", "--json"], capture_output=True, text=True, check=True)
            doc = json.loads(proc.stdout)
            mine = {c["column"]: (c["test"], c["p_value"] if c["p_value"] is not None else c["statistic"],
                                  c["adjusted_p_value"], c["effect"], c["drifted"]) for c in doc["columns"]}
            theirs = evidently_verdicts(ref, cur)
            print(f"\n== {name}")
            for col in ["x", "y", "cat", "flag"]:
                m, e = mine[col], theirs[col]
                mark = "" if m[4] == e[2] else "   <-- differ"
                differ += m[4] != e[2]
                adj = f" adj {m[2]:.3g}" if m[2] is not None else ""
                print(f"  {col:5} slipway {m[0]:>13} {m[1]:.3g}{adj} effect {m[3]:.3g} -> {m[4]!s:5} | "
                      f"evidently {e[0]:>28} {e[1]:.3g} -> {e[2]!s:5}{mark}")
            print(f"  dataset: slipway {doc['dataset_drift']} ({doc['share']:.2f}) | evidently "
                  f"{theirs['(dataset)'][2]} ({theirs['(dataset)'][1]:.2f})")
    print(f"\n{differ} column verdicts differ")
    return 0


if __name__ == "__main__":
    sys.exit(main())
