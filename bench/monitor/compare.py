"""Drift statistics, slipway against SciPy and Evidently in the same run.

    .venv/bin/python bench/run.py monitor [--quick] [--rows N] [--ks-columns K] [--evidently-rows N]

Data: ROWS x (30 numeric + 5 categorical) columns for a reference and a current sample, written as
raw float64 / uint8 files under bench/work/monitor/ (generated once per size, seeded). A few numeric
columns are shifted by 0.02-0.1 sd and two categorical columns change their mix.

Measured, each in a fresh process (wall time and peak RSS):
  * KS per column: bench/monitor/drift_bench (drop NaN, radix sort both, merge walk, p-value) vs
    scipy.stats.ks_2samp(method='auto') on the same arrays; at ROWS and at 1M rows (the first 1M).
  * chi-squared per categorical column from the raw values: slipway (count strings, pool, test) vs
    np.unique(return_counts) + scipy.stats.chi2_contingency.
  * the whole dataset with default tests, columns in parallel, and the streaming path (reference
    quantile bins + 64k-row chunks) — vs Evidently's DataDriftPreset on the first --evidently-rows
    rows (it holds everything in pandas; 10M x 35 does not fit comfortably on a small machine).
Prints a table and appends one JSON line per result to bench/results/results.jsonl
(ratio = peer / slipway: above 1 means slipway is faster or smaller).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

BENCH_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = BENCH_DIR.parent
WORK = BENCH_DIR / "work" / "monitor"
sys.path.insert(0, str(BENCH_DIR))
from run import RESULTS, git_commit, machine_info  # noqa: E402

# Runs a command and reports wall time and the peak RSS of that one child.
MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
print(json.dumps({"rc": p.returncode, "wall_s": wall, "peak_rss_mb": rss, "stdout": p.stdout, "stderr": p.stderr[-3000:]}))
"""

SCIPY_KS = r"""
import json, sys, time
import numpy as np
from scipy import stats
d, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = []
for k in range(cols):
    a = np.fromfile(f"{d}/ref_num_{k}.f64", count=rows)
    b = np.fromfile(f"{d}/cur_num_{k}.f64", count=rows)
    t0 = time.perf_counter()
    r = stats.ks_2samp(a[~np.isnan(a)], b[~np.isnan(b)], method="auto")
    out.append({"seconds": time.perf_counter() - t0, "statistic": float(r.statistic), "p_value": float(r.pvalue)})
print(json.dumps(out))
"""

SCIPY_CHI2 = r"""
import json, sys, time
import numpy as np
from scipy import stats
d, rows, cols = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = []
for k in range(cols):
    a = np.fromfile(f"{d}/ref_cat_{k}.u8", dtype=np.uint8, count=rows).astype(str)
    b = np.fromfile(f"{d}/cur_cat_{k}.u8", dtype=np.uint8, count=rows).astype(str)
    t0 = time.perf_counter()
    ka, ca = np.unique(a, return_counts=True)
    kb, cb = np.unique(b, return_counts=True)
    keys = np.union1d(ka, kb)
    ta = np.zeros(len(keys)); ta[np.searchsorted(keys, ka)] = ca
    tb = np.zeros(len(keys)); tb[np.searchsorted(keys, kb)] = cb
    r = stats.chi2_contingency(np.array([ta, tb]))
    out.append({"seconds": time.perf_counter() - t0, "statistic": float(r.statistic), "p_value": float(r.pvalue)})
print(json.dumps(out))
"""

EVIDENTLY = r"""
import json, sys, time
import numpy as np, pandas as pd
d, rows, num, cat = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
from evidently.legacy.report import Report
from evidently.legacy.metric_preset import DataDriftPreset
from evidently.legacy.pipeline.column_mapping import ColumnMapping
def frame(side):
    cols = {f"num_{k}": np.fromfile(f"{d}/{side}_num_{k}.f64", count=rows) for k in range(num)}
    for k in range(cat):
        cols[f"cat_{k}"] = pd.Categorical(np.char.add("cat", np.fromfile(f"{d}/{side}_cat_{k}.u8", dtype=np.uint8, count=rows).astype(str)))
    return pd.DataFrame(cols)
ref, cur = frame("ref"), frame("cur")
mapping = ColumnMapping(numerical_features=[f"num_{k}" for k in range(num)], categorical_features=[f"cat_{k}" for k in range(cat)])
t0 = time.perf_counter()
report = Report(metrics=[DataDriftPreset()])
report.run(reference_data=ref, current_data=cur, column_mapping=mapping)
res = report.as_dict()["metrics"][0]["result"]
print(json.dumps({"seconds": time.perf_counter() - t0, "drifted_columns": res["number_of_drifted_columns"],
                  "dataset_drift": bool(res["dataset_drift"])}))
"""


def measure(cmd: list[str]) -> dict:
    proc = subprocess.run([sys.executable, "-c", MEASURE, *cmd], capture_output=True, text=True)
    result = json.loads(proc.stdout)
    if result["rc"] != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{result['stderr']}")
    return result


def generate(rows: int, numeric: int, categorical: int, seed: int = 42) -> Path:
    d = WORK / f"rows{rows}_n{numeric}_c{categorical}"
    done = d / ".done"
    if done.exists():
        return d
    d.mkdir(parents=True, exist_ok=True)
    print(f"generating {rows:,} x {numeric + categorical} columns per side in {d} ...", file=sys.stderr, flush=True)
    rng = np.random.default_rng(seed)
    for k in range(numeric):
        mu, sd = rng.normal(0, 10), rng.uniform(0.5, 5)
        shift = [0.0, 0.0, 0.02, 0.05, 0.1][k % 5] * sd
        for side, delta in (("ref", 0.0), ("cur", shift)):
            x = rng.normal(mu + delta, sd, rows)
            x[rng.random(rows) < 0.001] = np.nan
            x.tofile(d / f"{side}_num_{k}.f64")
    for k in range(categorical):
        p = rng.dirichlet(np.ones(12))
        q = p if k % 3 else rng.dirichlet(np.ones(12) * 50) * 0.3 + p * 0.7
        rng.choice(12, rows, p=p).astype(np.uint8).tofile(d / f"ref_cat_{k}.u8")
        rng.choice(12, rows, p=q / q.sum()).astype(np.uint8).tofile(d / f"cur_cat_{k}.u8")
    done.touch()
    return d


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="bench/run.py monitor", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1M rows instead of 10M")
    ap.add_argument("--rows", type=int, default=None)
    ap.add_argument("--numeric", type=int, default=30)
    ap.add_argument("--categorical", type=int, default=5)
    ap.add_argument("--ks-columns", type=int, default=3, help="numeric columns timed with SciPy (each ~4 s at 10M)")
    ap.add_argument("--evidently-rows", type=int, default=1_000_000, help="0 skips Evidently")
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--bench-bin", type=Path,
                    default=Path(os.environ.get("SLIPWAY_DRIFT_BENCH") or REPO_ROOT / "build/release/bench/drift_bench"))
    args = ap.parse_args(argv)
    rows = args.rows or (1_000_000 if args.quick else 10_000_000)
    if not args.bench_bin.is_file():
        print(f"error: {args.bench_bin} not found (cmake -DSLIPWAY_BENCH=ON, build target drift_bench, "
              "or pass --bench-bin)", file=sys.stderr)
        return 2
    d = generate(rows, args.numeric, args.categorical)
    ks_cols = min(args.ks_columns, args.numeric)
    base = [str(args.bench_bin), str(d)]
    mine = measure(base + [str(rows), str(args.numeric), str(args.categorical), "--threads", str(args.threads)])
    mine_json = json.loads(mine["stdout"])
    sc_ks = measure([sys.executable, "-c", SCIPY_KS, str(d), str(rows), str(ks_cols)])
    sc_ks_json = json.loads(sc_ks["stdout"])
    sc_chi = measure([sys.executable, "-c", SCIPY_CHI2, str(d), str(rows), str(args.categorical)])
    sc_chi_json = json.loads(sc_chi["stdout"])
    one_col = measure(base + [str(rows), "1", "0", "--ks-columns", "1", "--no-dataset"])
    one_col_json = json.loads(one_col["stdout"])
    results = []

    def add(what, unit, slipway, peer_name, peer, **extra):
        results.append({"benchmark": "monitor", "what": what, "unit": unit, "peer": peer_name, "slipway": slipway,
                        "peer_value": peer, "ratio": (peer / slipway) if (slipway and peer) else None, **extra})

    for k in range(ks_cols):  # same statistic, same p-value (to 1e-6)
        a, b = mine_json["ks"][k], sc_ks_json[k]
        assert abs(a["statistic"] - b["statistic"]) < 1e-12 and abs(a["p_value"] - b["p_value"]) < 1e-6, (a, b)
    for a, b in zip(mine_json["chi2"], sc_chi_json):
        assert abs(a["p_value"] - b["p_value"]) < 1e-6, (a, b)
    add(f"KS per column, {rows:,} vs {rows:,} (median of {ks_cols} columns for SciPy)", "s",
        median([c["seconds"] for c in mine_json["ks"][:ks_cols]]), "scipy.stats.ks_2samp",
        median([c["seconds"] for c in sc_ks_json]))
    add(f"KS one column, {rows:,} vs {rows:,}: process peak RSS", "MB", one_col["peak_rss_mb"],
        "scipy.stats.ks_2samp (process, 1 column)",
        measure([sys.executable, "-c", SCIPY_KS, str(d), str(rows), "1"])["peak_rss_mb"])
    if rows > 1_000_000:
        small = json.loads(measure(base + ["1000000", "1", "0", "--ks-columns", "1", "--no-dataset"])["stdout"])
        sc_small = json.loads(measure([sys.executable, "-c", SCIPY_KS, str(d), "1000000", "1"])["stdout"])
        add("KS one column, 1,000,000 vs 1,000,000", "s", small["ks"][0]["seconds"], "scipy.stats.ks_2samp",
            sc_small[0]["seconds"])
    add(f"chi-squared per categorical column from raw values, {rows:,} vs {rows:,}", "s",
        median([c["seconds"] for c in mine_json["chi2"]]), "np.unique + scipy.stats.chi2_contingency",
        median([c["seconds"] for c in sc_chi_json]))
    add(f"whole dataset ({args.numeric} numeric + {args.categorical} categorical), default tests", "s",
        mine_json["dataset_s"], "(no peer at this size)", None, drifted_columns=mine_json["dataset_drifted_columns"],
        peak_rss_mb=mine_json["peak_rss_mb"])
    add("streaming: current counted in 64k-row chunks against reference bins", "s",
        mine_json["summary_current_s"] + mine_json["summary_drift_s"], "(exact dataset path)", mine_json["dataset_s"],
        drifted_columns=mine_json["summary_drifted_columns"])
    if args.evidently_rows > 0:
        er = min(args.evidently_rows, rows)
        ev = measure([sys.executable, "-c", EVIDENTLY, str(d), str(er), str(args.numeric), str(args.categorical)])
        ev_json = json.loads(ev["stdout"])
        mine_small = measure(base + [str(er), str(args.numeric), str(args.categorical), "--ks-columns", "0",
                                     "--threads", str(args.threads)])
        ms = json.loads(mine_small["stdout"])
        add(f"whole dataset, {er:,} vs {er:,} rows, default tests", "s", ms["dataset_s"],
            "evidently DataDriftPreset (legacy Report)", ev_json["seconds"],
            slipway_drifted=ms["dataset_drifted_columns"], evidently_drifted=ev_json["drifted_columns"])
        add(f"whole dataset, {er:,} vs {er:,} rows: process peak RSS", "MB", mine_small["peak_rss_mb"],
            "evidently DataDriftPreset (process)", ev["peak_rss_mb"])

    context = {"rows": rows, "machine": machine_info(), "commit": git_commit(),
               "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as f:
        for r in results:
            f.write(json.dumps({**r, **context}) + "\n")
    print(f"{'what':<78} {'slipway':>10} {'peer':>10} {'ratio':>7}  peer")
    for r in results:
        peer = f"{r['peer_value']:.3f}" if r["peer_value"] is not None else "-"
        ratio = f"{r['ratio']:.1f}x" if r["ratio"] else "-"
        print(f"{r['what']:<78} {r['slipway']:>10.3f} {peer:>10} {ratio:>7}  {r['peer']} ({r['unit']})")
    print(f"slipway drift_bench peak RSS (whole dataset, both frames in memory): {mine['peak_rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
