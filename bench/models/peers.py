#!/usr/bin/env python3
"""Peer inference numbers for the model benchmark: what slipway's engine has to beat.

    .venv/bin/python bench/models/peers.py [--quick] [--rows N] [--calls N] [--models a,b]

For each model made by gen_models.py (run first; it caches) and each peer that can score it:

* batch throughput (rows/s) over --rows rows (1,000,000) with 1 and 2 threads: the median of up
  to 3 timed runs after an untimed warm-up on 10,000 rows; one run when a run takes over 3 s;
* single-row latency (µs per call, p50 and p99) over --calls calls (10,000), one thread, each call
  scoring a different row; a peer slower than 5 s in total stops early and says how many calls.

Peers: XGBoost inplace_predict and DMatrix + predict (DMatrix construction counted: a caller
pays it), LightGBM Booster.predict, onnxruntime (intra_op_num_threads 1/2), scikit-learn
predict_proba (n_jobs / BLAS threads 1/2), tl2cgen compiled libraries. One JSON line per number
goes to bench/results/models_peers.jsonl; a table goes to stdout. --quick: 100,000 rows and 1,000
calls (a smoke run, numbers noisier).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from gen_models import CAT_LEVELS, FEATURES, REPO, SCORE_ROWS, SCORE_SEED, WORK, rows  # noqa: E402

RESULTS = REPO / "bench" / "results" / "models_peers.jsonl"
SINGLE_ROW_BUDGET_S = 5.0


def machine() -> dict:
    cpu = ""
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                   if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    # The load average says how much the run shared the machine (peers and slipway alike).
    return {"nproc": os.cpu_count(), "cpu": cpu, "system": platform.platform(),
            "loadavg_1m_at_start": round(os.getloadavg()[0], 2)}


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, text=True,
                              capture_output=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "diff", "--quiet", "HEAD"], cwd=REPO).returncode != 0
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def versions() -> dict:
    out = {"python": platform.python_version()}
    for mod in ("numpy", "xgboost", "lightgbm", "sklearn", "onnxruntime", "treelite", "tl2cgen"):
        try:
            out[mod] = __import__(mod).__version__
        except ImportError:
            out[mod] = None
    return out


# A peer: (name, batch(x, threads) -> predictions, single(row [1, 28]) -> predictions).
def xgb_peers(threads: int):
    import xgboost as xgb
    booster = xgb.Booster(model_file=str(WORK / "xgb_500x6.json"))
    booster.set_param({"nthread": threads})
    one = xgb.Booster(model_file=str(WORK / "xgb_500x6.json"))
    one.set_param({"nthread": 1})
    return [
        ("xgboost inplace_predict", lambda x: booster.inplace_predict(x),
         lambda r: one.inplace_predict(r)),
        ("xgboost DMatrix+predict",
         lambda x: booster.predict(xgb.DMatrix(x, nthread=threads, feature_names=FEATURES)),
         lambda r: one.predict(xgb.DMatrix(r, nthread=1, feature_names=FEATURES))),
    ]


def lgb_peers(threads: int):
    import lightgbm as lgb
    booster = lgb.Booster(model_file=str(WORK / "lgb_cat.txt"))
    return [("lightgbm predict", lambda x: booster.predict(x, num_threads=threads),
             lambda r: booster.predict(r, num_threads=1))]


def ort_peer(file: str, threads: int):
    import onnxruntime as ort

    def session(n):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = n
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.log_severity_level = 3  # onnxmltools declares label as [1]: a warning per call
        return ort.InferenceSession(str(WORK / file), opts, providers=["CPUExecutionProvider"])
    s, s1 = session(threads), session(1)
    name = s.get_inputs()[0].name
    return [("onnxruntime", lambda x: s.run(None, {name: x}),
             lambda r: s1.run(None, {name: r}))]


def sklearn_peer(file: str, threads: int):
    import joblib
    from threadpoolctl import threadpool_limits
    model, single = joblib.load(WORK / file), joblib.load(WORK / file)
    if hasattr(model, "n_jobs"):
        model.set_params(n_jobs=threads)
        single.set_params(n_jobs=1)

    def batch(x):
        with threadpool_limits(threads):
            return model.predict_proba(x)
    return [("scikit-learn predict_proba", batch, lambda r: single.predict_proba(r))]


def tl2cgen_peer(stem: str, threads: int):
    lib = WORK / f"{stem}.tl2cgen.so"
    if not lib.exists():
        return []
    import tl2cgen
    p, p1 = tl2cgen.Predictor(str(lib), nthread=threads), tl2cgen.Predictor(str(lib), nthread=1)
    return [("tl2cgen compiled", lambda x: p.predict(tl2cgen.DMatrix(x)),
             lambda r: p1.predict(tl2cgen.DMatrix(r)))]


MODELS = {
    "xgb_500x6": ("XGBoost binary, 500 trees depth 6, 28 numeric features",
                  lambda t: xgb_peers(t) + ort_peer("xgb_500x6.onnx", t)
                  + tl2cgen_peer("xgb_500x6", t)),
    "rf_100x8": ("scikit-learn RandomForestClassifier, 100 trees depth 8",
                 lambda t: sklearn_peer("rf_100x8.joblib", t) + ort_peer("rf_100x8.onnx", t)
                 + tl2cgen_peer("rf_100x8", t)),
    "lgb_cat": ("LightGBM binary, 200 trees x 63 leaves, 2 categorical features",
                lambda t: lgb_peers(t) + ort_peer("lgb_cat.onnx", t) + tl2cgen_peer("lgb_cat", t)),
    "mlp_3x64": ("StandardScaler + MLPClassifier (64, 64, 64) relu",
                 lambda t: sklearn_peer("mlp_3x64.joblib", t) + ort_peer("mlp_3x64.onnx", t)),
}


MODEL_FILES = {"xgb_500x6": "xgb_500x6.onnx", "rf_100x8": "rf_100x8.onnx",
               "lgb_cat": "lgb_cat.onnx", "mlp_3x64": "mlp_3x64.onnx"}


def positive_prob(out) -> np.ndarray:
    """The positive-class probability from any peer's output layout."""
    if isinstance(out, list):  # onnxruntime: [label, probabilities]
        out = out[1]
    a = np.asarray(out, dtype=np.float64).reshape(len(out), -1)
    return a[:, -1]


def agreement(peers, x: np.ndarray) -> dict[str, float]:
    """Max abs difference of each peer from the first (the model's own library) on 2,000 rows:
    a wrong conversion shows here, not as a fast number."""
    ref = positive_prob(peers[0][1](x[:2000]))
    return {name: float(np.max(np.abs(positive_prob(batch(x[:2000])) - ref)))
            for name, batch, _ in peers}


def batch_throughput(fn, x: np.ndarray) -> tuple[float, int]:
    fn(x[:10_000])
    times: list[float] = []
    while len(times) < 3:
        t = time.perf_counter()
        fn(x)
        times.append(time.perf_counter() - t)
        if times[0] > 3.0:
            break
    return len(x) / statistics.median(times), len(times)


def single_row_latency(fn, x: np.ndarray, calls: int) -> dict:
    for i in range(min(100, calls)):
        fn(x[i:i + 1])
    lat = []
    deadline = time.perf_counter() + SINGLE_ROW_BUDGET_S
    for i in range(calls):
        row = x[i % len(x):i % len(x) + 1]
        t = time.perf_counter_ns()
        fn(row)
        lat.append(time.perf_counter_ns() - t)
        if time.perf_counter() > deadline:
            break
    us = np.array(lat) / 1000.0
    return {"p50": float(np.percentile(us, 50)), "p99": float(np.percentile(us, 99)),
            "mean": float(us.mean()), "calls": len(lat)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 rows, 1,000 calls")
    ap.add_argument("--rows", type=int, help="batch rows (default 1,000,000)")
    ap.add_argument("--calls", type=int, help="single-row calls (default 10,000)")
    ap.add_argument("--threads", default="1,2", help="thread counts for the batch runs")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)
    n_rows = args.rows or (100_000 if args.quick else 1_000_000)
    calls = args.calls or (1_000 if args.quick else 10_000)
    threads = [int(t) for t in args.threads.split(",")]
    missing = [m for m in args.models.split(",") if not (WORK / MODEL_FILES[m]).exists()]
    if missing:
        print(f"peers: no {', '.join(missing)} in {WORK}; run bench/models/gen_models.py first",
              file=sys.stderr)
        return 2
    # A prefix of the scoring set, so --quick scores the first rows of rows_1m.csv (rows(n) for a
    # smaller n draws different categories).
    x = rows(max(n_rows, SCORE_ROWS), SCORE_SEED)[0][:n_rows]
    assert all(np.all(x[:, c] == np.round(x[:, c])) for c in CAT_LEVELS)
    common = {"benchmark": "models", "machine": machine(), "commit": commit(),
              "versions": versions(), "rows": n_rows, "data": f"gen_models.rows(seed={SCORE_SEED})",
              "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    print(f"{'model':<10} {'peer':<28} {'thr':>3} {'rows/s':>12} {'p50 µs':>9} {'p99 µs':>9}")
    with open(args.out, "a") as out:
        for model in args.models.split(","):
            what, make = MODELS[model]
            singles: dict[str, dict] = {}
            diffs = agreement(make(1), x)
            print(f"{model}: max |p - {next(iter(diffs))}| on 2,000 rows: "
                  + ", ".join(f"{k} {v:.2g}" for k, v in diffs.items()), flush=True)
            for t in threads:
                for name, batch, single in make(t):
                    rps, runs = batch_throughput(batch, x)
                    rec = {**common, "model": model, "what": what, "peer": name,
                           "metric": "batch_throughput", "unit": "rows/s", "threads": t,
                           "value": round(rps), "runs": runs,
                           "max_abs_diff_vs_own_library": diffs[name]}
                    out.write(json.dumps(rec) + "\n")
                    lat = ""
                    if name not in singles:
                        singles[name] = single_row_latency(single, x, calls)
                        s = singles[name]
                        for q in ("p50", "p99"):
                            out.write(json.dumps({**common, "model": model, "what": what,
                                                  "peer": name, "metric": f"single_row_{q}",
                                                  "unit": "us", "threads": 1,
                                                  "value": round(s[q], 2), "calls": s["calls"],
                                                  "mean_us": round(s["mean"], 2)}) + "\n")
                        lat = f"{s['p50']:>9.1f} {s['p99']:>9.1f}"
                        if s["calls"] < calls:
                            lat += f"  ({s['calls']} calls)"
                    out.flush()
                    print(f"{model:<10} {name:<28} {t:>3} {rps:>12,.0f} {lat}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
