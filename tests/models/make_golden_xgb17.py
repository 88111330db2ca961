"""Golden XGBoost 1.x models: written by Debian's python3-xgboost 1.7.4, so the importer is tested on
files of the 1.x format too (the .venv holds one XGBoost, 3.x). Run with Debian's interpreter:

    apt-get install python3-xgboost && /usr/bin/python3 tests/models/make_golden_xgb17.py

Trains on tests/data/flights_sample.csv (CC0) and scores the held-out rows that the 3.x golden model
uses (xgb_binary_logistic_flights.inputs.csv), so missing values are included. Appends/updates the
entries in tests/data/models/MANIFEST.json. Deterministic (fixed seeds, exact hist)."""
import csv
import hashlib
import json
import os

import numpy as np
import xgboost as xgb

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(DATA, "models")
FEATURES = ["dep_time", "sched_dep_time", "dep_delay", "distance", "hour", "minute", "month", "day"]


def number(text):
    return float(text) if text not in ("", "NA") else float("nan")


def load_training():
    xs, delays = [], []
    with open(os.path.join(DATA, "flights_sample.csv"), newline="") as f:
        for row in csv.DictReader(f):
            if row["arr_delay"] in ("", "NA"):
                continue
            xs.append([number(row[c]) for c in FEATURES])
            delays.append(float(row["arr_delay"]))
    return np.array(xs, dtype=np.float32), np.array(delays)


def load_inputs(name):
    with open(os.path.join(OUT, name), newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        assert header == FEATURES, header
        return np.array([[number(v) for v in r] for r in reader], dtype=np.float32)


def fmt(v):
    return repr(float(v))


def main():
    x, delay = load_training()
    inputs_name = "xgb_binary_logistic_flights.inputs.csv"
    x_in = load_inputs(inputs_name)
    d_in = xgb.DMatrix(x_in, missing=np.nan, feature_names=FEATURES)
    version = xgb.__version__
    entries = []

    specs = [
        ("xgb17_binary_logistic_flights", {"objective": "binary:logistic"}, (delay > 15).astype(int), 30),
        ("xgb17_multi_softprob_flights", {"objective": "multi:softprob", "num_class": 3},
         np.digitize(delay, [0, 15]), 20),
    ]
    for name, extra, label, rounds in specs:
        params = {"seed": 0, "tree_method": "exact", "max_depth": 4, "eta": 0.3, **extra}
        booster = xgb.train(params, xgb.DMatrix(x, label=label, missing=np.nan, feature_names=FEATURES), rounds)
        model_file = name + ".json"
        booster.save_model(os.path.join(OUT, model_file))
        prob = booster.predict(d_in)
        margin = booster.predict(d_in, output_margin=True)
        expected = name + ".expected.csv"
        with open(os.path.join(OUT, expected), "w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            if prob.ndim == 1:
                w.writerow(["prob", "label", "margin"])
                for p, m in zip(prob, margin):
                    w.writerow([fmt(p), int(p > 0.5), fmt(m)])
            else:
                k = prob.shape[1]
                w.writerow([f"prob_{i}" for i in range(k)] + ["label"] + [f"margin_{i}" for i in range(k)])
                for p, m in zip(prob, margin):
                    w.writerow([fmt(v) for v in p] + [int(np.argmax(p))] + [fmt(v) for v in m])
        raw = open(os.path.join(OUT, model_file), "rb").read()
        entries.append({
            "name": name, "file": model_file, "format": "xgboost-json",
            "source": {"library": "xgboost", "version": version, "api": "xgboost.train + Booster.save_model (Debian python3-xgboost)"},
            "kind": "tree_ensemble/gradient_boosted",
            "task": "binary" if prob.ndim == 1 else "multiclass",
            "objective": params["objective"], "params": params, "num_boost_round": rounds, "dataset": "flights",
            "data_notes": ["XGBoost 1.x file format (scalar base_score string); trained on tests/data/flights_sample.csv rows with an arrival delay",
                           "inputs are the held-out rows of xgb_binary_logistic_flights (missing values included)"],
            "n_features": len(FEATURES), "feature_names": FEATURES, "feature_types": ["float"] * len(FEATURES),
            "inputs": inputs_name, "expected": expected, "n_rows": int(x_in.shape[0]),
            "outputs": "prob / prob_<k>: Booster.predict; label: prob > 0.5 or argmax; margin / margin_<k>: output_margin=True",
            "missing": "NaN (an empty CSV field) is missing and takes each node's default direction",
            "bytes": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
        })

    manifest_path = os.path.join(OUT, "MANIFEST.json")
    manifest = json.load(open(manifest_path))
    names = {e["name"] for e in entries}
    manifest["models"] = [m for m in manifest["models"] if m["name"] not in names] + entries
    with open(manifest_path, "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print("wrote", ", ".join(sorted(names)), "with xgboost", version)


if __name__ == "__main__":
    main()
