#!/usr/bin/env python3
"""The peer of `slipway train` in the training benchmark: the same pipeline with XGBoost's Python API.

    PYTHON bench/train/py_peer.py DATA.csv OUT_DIR --params JSON --rounds N --threads T --seed S

Runs under any Python with numpy and xgboost (the .venv's xgboost 3.2, Debian's /usr/bin/python3
with python3-xgboost 1.7.4), so it uses nothing else: no pandas, no scikit-learn.

  load      read the numeric CSV (header names, then np.loadtxt) into a float32 matrix
  split     seeded random 70/15/15 train/validation/test row split, as slipway's split.random
  dmatrix   xgboost.DMatrix of the training and validation splits (numpy, nthread=T)
  train     xgboost.train(params, rounds, evals=[train, validation]): every round evaluated on
            both, as slipway's trainer does (its training curves)
  evaluate  predict the test split; AUC, log loss, accuracy, precision, recall, F1, confusion
  save      the booster as XGBoost JSON, the metrics as JSON

Prints one JSON line: {"xgboost": version, "phases": {name: seconds}, "metrics": {...}, ...}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402
import xgboost as xgb  # noqa: E402

T_IMPORTED = time.perf_counter()


def load_csv(path: str) -> tuple[list[str], np.ndarray]:
    """A numeric CSV without missing fields: numpy's C reader (numpy >= 1.23), as fast as pandas'."""
    with open(path) as f:
        names = f.readline().strip().split(",")
    return names, np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)


def auc(y: np.ndarray, p: np.ndarray) -> float:
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p), dtype=np.float64)
    ps = p[order]
    # average ranks over ties
    starts = np.r_[0, np.flatnonzero(np.diff(ps)) + 1]
    ends = np.r_[starts[1:], len(ps)]
    avg = (starts + ends + 1) / 2.0
    ranks[order] = np.repeat(avg, ends - starts)
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("out_dir")
    ap.add_argument("--params", required=True, help="XGBoost params as JSON")
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--target", default="label")
    a = ap.parse_args()
    phases = {"start+import": T_IMPORTED - T_START}

    t = time.perf_counter()
    names, table = load_csv(a.data)
    phases["load"] = time.perf_counter() - t

    t = time.perf_counter()
    target = names.index(a.target)
    features = [i for i in range(len(names)) if i != target]
    n = table.shape[0]
    perm = np.random.default_rng(a.seed).permutation(n)
    n_train, n_valid = int(round(n * 0.7)), int(round(n * 0.15))
    parts = {"train": perm[:n_train], "validation": perm[n_train:n_train + n_valid], "test": perm[n_train + n_valid:]}
    xs = {k: np.ascontiguousarray(table[np.sort(idx)][:, features]) for k, idx in parts.items()}
    ys = {k: table[np.sort(idx), target] for k, idx in parts.items()}
    del table
    phases["split"] = time.perf_counter() - t

    t = time.perf_counter()
    dtrain = xgb.DMatrix(xs["train"], label=ys["train"], nthread=a.threads)
    dvalid = xgb.DMatrix(xs["validation"], label=ys["validation"], nthread=a.threads)
    phases["dmatrix"] = time.perf_counter() - t

    t = time.perf_counter()
    params = {**json.loads(a.params), "nthread": a.threads, "seed": a.seed}
    curves: dict = {}
    booster = xgb.train(params, dtrain, num_boost_round=a.rounds, evals=[(dtrain, "train"), (dvalid, "validation")],
                        evals_result=curves, verbose_eval=False)
    phases["train"] = time.perf_counter() - t

    t = time.perf_counter()
    p = booster.predict(xgb.DMatrix(xs["test"], nthread=a.threads)).astype(np.float64)
    y = ys["test"].astype(np.int64)
    eps = 1e-15
    pc = np.clip(p, eps, 1 - eps)
    pred = (p >= 0.5).astype(np.int64)
    tp, fp = int(((pred == 1) & (y == 1)).sum()), int(((pred == 1) & (y == 0)).sum())
    fn, tn = int(((pred == 0) & (y == 1)).sum()), int(((pred == 0) & (y == 0)).sum())
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    metrics = {"auc": auc(y, p), "logloss": float(-np.mean(y * np.log(pc) + (1 - y) * np.log(1 - pc))),
               "accuracy": (tp + tn) / len(y), "precision": precision, "recall": recall,
               "f1": 2 * precision * recall / max(precision + recall, 1e-300),
               "confusion": [[tn, fp], [fn, tp]]}
    phases["evaluate"] = time.perf_counter() - t

    t = time.perf_counter()
    os.makedirs(a.out_dir, exist_ok=True)
    booster.save_model(os.path.join(a.out_dir, "model.json"))
    with open(os.path.join(a.out_dir, "metrics.json"), "w") as f:
        json.dump({"test": metrics, "curves": curves}, f)
    phases["save"] = time.perf_counter() - t

    print(json.dumps({"xgboost": xgb.__version__, "python": sys.executable, "rows": n, "features": len(features),
                      "rows_train": len(parts["train"]), "phases": phases, "metrics": metrics,
                      "rounds": booster.num_boosted_rounds(), "in_process_s": time.perf_counter() - T_START}))


if __name__ == "__main__":
    main()
