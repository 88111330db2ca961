#!/usr/bin/env python3
"""slipway's inference engine side by side with its peers, in one run, with ratios.

    .venv/bin/python bench/models/compare.py [--quick] [--models a,b] [--threads 1,2]
        [--calls N] [--runs N] [--bin-dir DIR] [--xgb-lib PATH]
    .venv/bin/python bench/run.py models [same options]

For each model made by gen_models.py (xgb_500x6, rf_100x8, lgb_cat, mlp_3x64), one after the
other so slipway and its peers share the machine's state:

1. slipway: `engine_bench --rows-csv rows_1m.csv` (the rows the peers score, columns matched by
   name) -> batch rows/s per thread count, in-process single-row latency p50/p99;
2. for xgb_500x6, XGBoost's own C API (`xgb_c_peer`, the Python wheel's libxgboost.so) -> the
   same numbers at the C level;
3. the Python peers via peers.py (XGBoost, LightGBM, onnxruntime, scikit-learn, tl2cgen).

Before any number counts, slipway's predictions on the first 2,000 rows (and the C peer's) are
compared with the model's own library (XGBoost, scikit-learn, LightGBM): the max abs difference
is printed and stored, so a fast wrong answer cannot pass. Ratios: throughput slipway / peer,
latency peer / slipway (above 1: slipway better). One JSON line per comparison is appended to
bench/results/results.jsonl (bench/run.py's format); peers.py also appends its raw numbers to
bench/results/models_peers.jsonl.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
from gen_models import REPO, WORK  # noqa: E402
from run import RESULTS, git_commit, machine_info  # noqa: E402

PEERS_JSONL = REPO / "bench" / "results" / "models_peers.jsonl"
CHECK_ROWS = 2000
TOLERANCE = 1e-5  # issue 3: float32 paths within 1e-5 of the originating library

# model -> (file slipway imports, the model's own library)
MODELS = {
    "xgb_500x6": ("xgb_500x6.json", "xgboost"),
    "rf_100x8": ("rf_100x8.onnx", "scikit-learn"),
    "lgb_cat": ("lgb_cat.txt", "lightgbm"),
    "mlp_3x64": ("mlp_3x64.onnx", "scikit-learn"),
}


def own_library(model: str, x: np.ndarray) -> np.ndarray:
    """Positive-class probabilities from the library that trained the model."""
    if model == "xgb_500x6":
        import xgboost as xgb
        booster = xgb.Booster(model_file=str(WORK / "xgb_500x6.json"))
        return np.asarray(booster.inplace_predict(x), dtype=np.float64).reshape(-1)
    if model == "lgb_cat":
        import lightgbm as lgb
        return np.asarray(lgb.Booster(model_file=str(WORK / "lgb_cat.txt")).predict(x), dtype=np.float64)
    import joblib
    return np.asarray(joblib.load(WORK / f"{model}.joblib").predict_proba(x)[:, 1], dtype=np.float64)


def last_column(path: Path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)[:, -1]


def run_json(cmd: list[str]) -> list[dict]:
    print("  $ " + " ".join(str(c) for c in cmd), file=sys.stderr, flush=True)
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"compare: {Path(cmd[0]).name} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    if proc.stderr.strip():
        print("    " + proc.stderr.strip().replace("\n", "\n    "), file=sys.stderr)
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def native_numbers(lines: list[dict]) -> dict:
    """{('batch', threads): rows/s, 'p50': µs, 'p99': µs} from engine_bench / xgb_c_peer lines."""
    out: dict = {}
    for r in lines:
        if r["what"] == "batch":
            out[("batch", r["threads"])] = r["value"]
        elif r["what"] in ("single_row_p50", "single_row_p99"):
            out[r["what"][-3:]] = r["value"] / 1000.0
    return out


def python_peers(model: str, args, n_rows: int) -> list[dict]:
    start = PEERS_JSONL.stat().st_size if PEERS_JSONL.exists() else 0
    cmd = [sys.executable, str(HERE / "peers.py"), "--models", model, "--threads", args.threads,
           "--rows", str(n_rows)]
    if args.quick:
        cmd.append("--quick")
    print("  $ " + " ".join(cmd[1:]), file=sys.stderr, flush=True)
    if subprocess.run(cmd, stdout=sys.stderr).returncode != 0:
        raise SystemExit(f"compare: peers.py failed for {model}")
    with open(PEERS_JSONL) as f:
        f.seek(start)
        return [json.loads(line) for line in f if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 rows, fewer calls (a smoke run)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset")
    ap.add_argument("--threads", default="1,2", help="thread counts for the batch runs")
    ap.add_argument("--rows", type=int, help="batch rows (default 1,000,000; --quick 100,000)")
    ap.add_argument("--calls", type=int, help="C-level single-row calls (default 100,000; --quick 10,000)")
    ap.add_argument("--runs", type=int, default=3, help="timed batch runs of the C-level programs (median)")
    ap.add_argument("--bin-dir", type=Path, default=Path(os.environ.get("SLIPWAY_BENCH_BIN_DIR")
                                                         or REPO / "build/release/bench"),
                    help="folder with engine_bench and xgb_c_peer")
    ap.add_argument("--xgb-lib", type=Path,
                    default=Path(__import__("xgboost").__file__).parent / "lib" / "libxgboost.so")
    args = ap.parse_args(argv)
    n_rows = args.rows or (100_000 if args.quick else 1_000_000)
    calls = args.calls or (10_000 if args.quick else 100_000)
    threads = [int(t) for t in args.threads.split(",")]
    models = args.models.split(",")
    engine, c_peer = args.bin_dir / "engine_bench", args.bin_dir / "xgb_c_peer"
    csv = WORK / "rows_1m.csv"
    if not csv.exists() or any(not (WORK / MODELS[m][0]).exists() for m in models):
        # One command: make the models (seeded, cached in bench/work/models) when they are not there yet.
        print("compare: generating the benchmark models (bench/models/gen_models.py, ~10 min once)", file=sys.stderr)
        subprocess.run([sys.executable, str(Path(__file__).with_name("gen_models.py"))], check=True)
    for need in (engine, csv, *(WORK / MODELS[m][0] for m in models)):
        if not need.exists():
            print(f"compare: {need} is missing (build engine_bench / xgb_c_peer, run "
                  "bench/models/gen_models.py)", file=sys.stderr)
            return 2

    context = {"benchmark": "models", "rows": n_rows, "machine": machine_info(), "commit": git_commit(),
               "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "data": "bench/work/models/rows_1m.csv"}
    # Exactly the rows slipway scored: the file's first rows, parsed as float32 as the engine does.
    x_check = np.loadtxt(csv, delimiter=",", skiprows=1, max_rows=CHECK_ROWS, dtype=np.float64).astype(np.float32)
    batch_rows, single_rows, checks, records = [], [], [], []
    for model in models:
        file, library = MODELS[model]
        print(f"== {model}", file=sys.stderr, flush=True)
        reference = own_library(model, x_check)
        common = ["--rows-csv", csv, "--rows", n_rows, "--threads-list", args.threads,
                  "--calls", calls, "--runs", args.runs, "--dump-rows", CHECK_ROWS]
        mine = native_numbers(run_json([engine, "--model", WORK / file, *common,
                                        "--dump", WORK / f"{model}.slipway_check.csv"]))
        diff = float(np.max(np.abs(last_column(WORK / f"{model}.slipway_check.csv") - reference)))
        checks.append((model, "slipway engine", library, diff))
        peers: dict[str, dict] = {}  # peer -> native_numbers-like dict
        peer_diff: dict[str, float] = {}
        if model == "xgb_500x6" and c_peer.exists():
            got = native_numbers(run_json([c_peer, "--lib", args.xgb_lib, "--model", WORK / file, *common,
                                           "--dump", WORK / f"{model}.xgb_c_check.csv"]))
            peers["xgboost C API"] = got
            peer_diff["xgboost C API"] = float(np.max(np.abs(
                last_column(WORK / f"{model}.xgb_c_check.csv") - reference)))
            checks.append((model, "xgboost C API", library, peer_diff["xgboost C API"]))
        for r in python_peers(model, args, n_rows):
            p = peers.setdefault(r["peer"], {})
            if r["metric"] == "batch_throughput":
                p[("batch", r["threads"])] = r["value"]
                peer_diff[r["peer"]] = r.get("max_abs_diff_vs_own_library", float("nan"))
            else:
                p[r["metric"][-3:]] = r["value"]
                p["python"] = True
        for peer, got in peers.items():
            for t in threads:
                if ("batch", t) not in got or ("batch", t) not in mine:
                    continue
                ratio = mine[("batch", t)] / got[("batch", t)]
                batch_rows.append((model, peer, t, got[("batch", t)], mine[("batch", t)], ratio))
                records.append({"model": model, "what": f"batch throughput, {t} thread(s)", "unit": "rows/s",
                                "peer": peer, "threads": t, "slipway": mine[("batch", t)],
                                "peer_value": got[("batch", t)], "ratio": ratio,
                                "slipway_max_abs_diff_vs_own_library": diff,
                                "peer_max_abs_diff_vs_own_library": peer_diff.get(peer)})
            if "p50" in got:
                python = got.get("python", False)
                single_rows.append((model, peer + (" (Python call)" if python else ""), got["p50"], got["p99"],
                                    mine["p50"], mine["p99"]))
                for q in ("p50", "p99"):
                    records.append({"model": model, "what": f"single-row latency {q}", "unit": "us",
                                    "peer": peer, "threads": 1, "slipway": mine[q], "peer_value": got[q],
                                    "ratio": got[q] / mine[q], "calls": calls,
                                    "comparable": not python,
                                    **({"note": "peer measured as a Python call; slipway in-process C++"}
                                       if python else {})})

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as f:
        for r in records:
            f.write(json.dumps({**context, **r}) + "\n")

    print(f"\nprediction check, first {CHECK_ROWS} rows: max |p - own library|")
    for model, who, library, d in checks:
        flag = "ok" if d <= TOLERANCE else f"OVER {TOLERANCE:g}"
        print(f"  {model:<10} {who:<16} vs {library:<13} {d:.3g}  {flag}")
    print(f"\nbatch throughput over {n_rows:,} rows (ratio = slipway / peer)")
    table([("model", "peer", "thr", "peer rows/s", "slipway rows/s", "ratio")]
          + [(m, p, str(t), f"{pv:,.0f}", f"{sv:,.0f}", f"{r:.2f}x") for m, p, t, pv, sv, r in batch_rows])
    print("\nsingle-row latency, µs (ratio = peer p50 / slipway p50; slipway is an in-process C++ call,"
          " '(Python call)' peers include the Python call and are not comparable)")
    table([("model", "peer", "peer p50", "peer p99", "slipway p50", "slipway p99", "ratio p50")]
          + [(m, p, f"{a:.2f}", f"{b:.2f}", f"{c:.3f}", f"{d:.3f}", f"{a / c:.1f}x")
             for m, p, a, b, c, d in single_rows])
    print(f"\n{len(records)} results appended to {RESULTS.relative_to(REPO)}")
    return 1 if any(d > TOLERANCE for *_, d in checks) else 0


def table(lines: list[tuple]) -> None:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for n, line in enumerate(lines):
        print("  ".join(c.rjust(w) if i >= 2 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
