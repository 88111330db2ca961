#!/usr/bin/env python3
"""`slipway train` (xgboost) vs XGBoost's Python API on the same data and parameters, in one run.

    .venv/bin/python bench/train/compare.py [--quick] [--bin PATH] [--reps N] [--rows N] [--rounds N]
    .venv/bin/python bench/run.py train [same options]

The data: a seeded synthetic table (bench/train/gen_data.py; 1,000,000 rows x 20 float features,
binary label), a CSV cached in bench/work/train/. The parameters: binary:logistic, hist, depth 6,
eta 0.1, 256 bins, logloss evaluated on train and validation every round, 500 rounds, 2 threads,
70/15/15 random split.

Contestants, each a fresh process per repetition, alternating, median wall time reported:
  - slipway: `slipway --store <fresh> train bench.yaml` — reads the CSV, hashes it as a dataset
    version, splits, fits the (no-op) transforms, trains through libxgboost's C API (Debian's
    1.7.4), converts to the engine's bundle, evaluates with the engine, writes the bundle and
    records the run (params, 500-step training curves, metrics, artifacts);
  - python xgboost <Debian version>: bench/train/py_peer.py under /usr/bin/python3 with Debian's
    python3-xgboost — the same libxgboost version as slipway: the like-with-like peer;
  - python xgboost <.venv version>: the same script under .venv's Python (xgboost 3.2, a newer
    library whose tree code differs), for reference.

Overhead = slipway total / peer total - 1 (target <= 5% against the like-with-like peer). The
time slipway spends outside XGBoost comes from its own stage timings (`slipway train` with
SLIPWAY_PROGRESS=1 prints "[  0.51s] stage" lines on stderr), shown per stage.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH_DIR = HERE.parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(HERE))
from run import RESULTS, git_commit, machine_info  # noqa: E402
from gen_data import write as write_data  # noqa: E402

WORK = BENCH_DIR / "work" / "train"
SYSTEM_PYTHON = Path("/usr/bin/python3")
TARGET_OVERHEAD = 0.05


def params(depth: int) -> dict:
    # Everything that decides the work, spelled out: XGBoost 1.7 and 3.x differ in defaults
    # (tree_method auto -> approx vs hist), so nothing is left to a default.
    return {"objective": "binary:logistic", "eval_metric": "logloss", "tree_method": "hist", "max_depth": depth,
            "eta": 0.1, "max_bin": 256, "min_child_weight": 1, "subsample": 1, "colsample_bytree": 1}


def data_file(rows: int, features: int) -> Path:
    path = WORK / f"synthetic_{rows}x{features}_seed7.csv"
    if not path.exists():
        print(f"generating {path.name}...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        write_data(path, rows, features, 7)
        print(f"  {time.perf_counter() - t0:.0f} s, {path.stat().st_size / 1e6:.0f} MB", file=sys.stderr)
    return path


def config_yaml(data: Path, args) -> str:
    p = params(args.depth)
    lines = [
        "# bench/train: written by compare.py",
        "data:",
        f"  file: {data}",
        "  target: label",
        "split: {method: random, train: 0.7, validation: 0.15, test: 0.15}",
        "model:",
        "  kind: xgboost",
        "  task: binary",
        "  params:",
        f"    n_estimators: {args.rounds}",
        *[f"    {k}: {v}" for k, v in p.items()],
        f"seed: {args.seed}",
        f"threads: {args.threads}",
        "experiment: bench-train",
    ]
    return "\n".join(lines) + "\n"


def run_timed(cmd: list[str], env: dict | None = None) -> dict:
    """Runs cmd in a fresh process; wall time, peak RSS (wait4), stdout, and stderr lines with the
    time (s since start) each arrived."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    lines: list[tuple[float, str]] = []
    out: list[bytes] = []

    def read_err():
        for raw in proc.stderr:
            lines.append((time.perf_counter() - t0, raw.decode(errors="replace").rstrip("\n")))

    def read_out():
        out.append(proc.stdout.read())

    threads = [threading.Thread(target=read_err), threading.Thread(target=read_out)]
    for t in threads:
        t.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    for t in threads:
        t.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"rc": proc.returncode, "wall_s": wall, "max_rss_mb": usage.ru_maxrss / 1024,
            "stdout": b"".join(out).decode(errors="replace"), "stderr": lines}


# A stage line of `slipway train` (pipeline.h TrainOptions::on_stage, printed on stderr with
# SLIPWAY_PROGRESS=1): "[  0.51s] fitting feature transforms on 70000 training rows", the time
# since slipway's clock started. Step lines ("  step    10  train-logloss ...") are not stages.
STAGE_LINE = re.compile(r"^\[\s*([0-9.]+)s\]\s*(.*)$")
TRAIN_STAGE = re.compile(r"^training xgboost\b", re.I)


def stages(lines: list[tuple[float, str]], wall: float) -> list[tuple[str, float]]:
    """(stage, seconds) from slipway's own stage times; the first entry is the time before its
    clock started (process start, store, config), the last stage runs to the process's exit (for
    the evaluation stage: evaluating, writing the bundle, recording the run, exiting)."""
    marks = []
    for arrived, text in lines:
        m = STAGE_LINE.match(text.strip())
        if m:
            marks.append((arrived, float(m.group(1)), m.group(2)))
    if not marks:
        return [("(no stage lines: is SLIPWAY_PROGRESS=1 honoured?)", wall)]
    offset = marks[0][0] - marks[0][1]  # process start -> slipway's clock start (arrival minus printed)
    out = [("(start: process, store, config)", max(offset, 0.0))]
    for i, (_, t, text) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else wall - offset
        label = text if i + 1 < len(marks) else text + " (+ bundle, run record, exit)"
        out.append((label[:100], end - t))
    return out


class Contestant:
    def __init__(self, name: str, label: str):
        self.name, self.label, self.runs = name, label, []

    def command(self, rep: int) -> list[str]:
        raise NotImplementedError


class Slipway(Contestant):
    def __init__(self, binary: Path, config: Path, args):
        version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
        super().__init__("slipway", f"slipway train ({version or binary.name}, libxgboost linked)")
        self.binary, self.config, self.args = binary, config, args

    def run(self, rep: int) -> dict:
        store = WORK / "store"
        shutil.rmtree(store, ignore_errors=True)
        init = subprocess.run([str(self.binary), "--store", str(store), "init"], capture_output=True, text=True)
        if init.returncode != 0:
            raise SystemExit(f"slipway init failed: {init.stderr}")
        got = run_timed([str(self.binary), "--store", str(store), "train", str(self.config)],
                        env={"SLIPWAY_PROGRESS": "1"})
        if got["rc"] != 0:
            raise SystemExit(f"slipway train failed (exit {got['rc']}):\n" +
                             "\n".join(s for _, s in got["stderr"][-40:]))
        got["stages"] = stages(got["stderr"], got["wall_s"])
        return got


class PythonPeer(Contestant):
    def __init__(self, python: Path, version: str, data: Path, args):
        super().__init__(f"python xgboost {version}", f"xgboost.train {version} ({python})")
        self.python, self.data, self.args = python, data, args

    def run(self, rep: int) -> dict:
        out_dir = WORK / "peer_out"
        cmd = [str(self.python), str(HERE / "py_peer.py"), str(self.data), str(out_dir),
               "--params", json.dumps(params(self.args.depth)), "--rounds", str(self.args.rounds),
               "--threads", str(self.args.threads), "--seed", str(self.args.seed)]
        got = run_timed(cmd)
        if got["rc"] != 0:
            raise SystemExit(f"{self.name} failed (exit {got['rc']}):\n" + "\n".join(s for _, s in got["stderr"][-40:]))
        got["report"] = json.loads(next(ln for ln in got["stdout"].splitlines() if ln.startswith("{")))
        return got


def xgboost_version(python: Path) -> str | None:
    try:
        proc = subprocess.run([str(python), "-c", "import xgboost; print(xgboost.__version__)"], capture_output=True,
                              text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 rows, 100 rounds, 1 repetition (a smoke run)")
    ap.add_argument("--bin", type=Path, default=Path(os.environ.get("SLIPWAY_BIN") or
                                                      REPO / "build/release/src/cli/slipway"))
    ap.add_argument("--reps", type=int, help="repetitions per contestant (median; default 3, --quick 1)")
    ap.add_argument("--rows", type=int, help="rows (default 1,000,000; --quick 100,000)")
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--rounds", type=int, help="boosting rounds (default 500; --quick 100)")
    ap.add_argument("--depth", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-venv-peer", action="store_true", help="skip the .venv xgboost (3.x) reference peer")
    ap.add_argument("--omp-passive", action="store_true",
                    help="OMP_WAIT_POLICY=passive for every contestant: on a busy machine libgomp's spinning "
                         "threads otherwise slow 2-thread training down by 10x or more")
    args = ap.parse_args(argv)
    args.reps = args.reps or (1 if args.quick else 3)
    args.rows = args.rows or (100_000 if args.quick else 1_000_000)
    args.rounds = args.rounds or (100 if args.quick else 500)
    binary = args.bin.resolve()
    if not binary.is_file():
        print(f"error: slipway binary not found at {binary} (build it, or pass --bin)", file=sys.stderr)
        return 2
    WORK.mkdir(parents=True, exist_ok=True)
    data = data_file(args.rows, args.features)
    config = WORK / "bench.yaml"
    config.write_text(config_yaml(data, args))

    if args.omp_passive:
        os.environ["OMP_WAIT_POLICY"] = "passive"  # inherited by every contestant's process
    args.load_before = os.getloadavg()
    if args.load_before[0] > 1.0:
        print(f"warning: load average {args.load_before[0]:.1f} on {os.cpu_count()} cores: other work competes "
              f"with the {args.threads} training threads" + ("" if args.omp_passive else
              " (and libgomp's spinning makes that much worse: consider --omp-passive)"), file=sys.stderr)
    contestants: list[Contestant] = [Slipway(binary, config, args)]
    system_version = xgboost_version(SYSTEM_PYTHON)
    like = None
    if system_version:
        like = PythonPeer(SYSTEM_PYTHON, system_version, data, args)
        contestants.append(like)
    else:
        print("note: /usr/bin/python3 has no xgboost (apt-get install python3-xgboost): no like-with-like peer",
              file=sys.stderr)
    if not args.no_venv_peer:
        venv_version = xgboost_version(Path(sys.executable))
        if venv_version:
            contestants.append(PythonPeer(Path(sys.executable), venv_version, data, args))
    print(f"{args.rows:,} rows x {args.features} features, {args.rounds} rounds, depth {args.depth}, "
          f"{args.threads} threads, {args.reps} repetition(s)", file=sys.stderr, flush=True)
    for rep in range(args.reps):
        order = contestants if rep % 2 == 0 else contestants[::-1]
        for c in order:
            got = c.run(rep)
            c.runs.append(got)
            print(f"  rep {rep + 1}/{args.reps} {c.name}: {got['wall_s']:.2f} s", file=sys.stderr, flush=True)
    return report(contestants, like, args, data)


def report(contestants: list[Contestant], like: Contestant | None, args, data: Path) -> int:
    mine = contestants[0]
    total = {c.name: statistics.median(r["wall_s"] for r in c.runs) for c in contestants}
    rss = {c.name: max(r["max_rss_mb"] for r in c.runs) for c in contestants}
    context = {"benchmark": "train", "rows": args.rows, "features": args.features, "rounds": args.rounds,
               "depth": args.depth, "threads": args.threads, "reps": args.reps, "quick": bool(args.quick),
               "data": data.name, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", "default"),
               "loadavg_before": args.load_before[0], "loadavg_after": os.getloadavg()[0], "machine": machine_info(), "commit": git_commit(),
               "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    # slipway's stages: the median seconds of each (matched by position; the texts repeat per run)
    st_runs = [r["stages"] for r in mine.runs]
    n_st = min(len(s) for s in st_runs)
    slip_stages = [(st_runs[0][i][0], statistics.median(s[i][1] for s in st_runs)) for i in range(n_st)]
    train_idx = [i for i, (s, _) in enumerate(slip_stages) if TRAIN_STAGE.search(s)]
    slip_train = slip_stages[train_idx[0]][1] if train_idx else None

    records = []
    print(f"\ntraining: {args.rows:,} rows x {args.features} features, {args.rounds} rounds, depth {args.depth}, "
          f"{args.threads} threads; median of {args.reps}; load average {args.load_before[0]:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; OMP_WAIT_POLICY {os.environ.get('OMP_WAIT_POLICY', 'default')}")
    head = ("contestant", "total s", "peak RSS MB", "slipway overhead")
    lines = [head]
    for c in contestants:
        ov = "" if c is mine else f"{(total[mine.name] / total[c.name] - 1) * 100:+.1f}%"
        lines.append((c.label, f"{total[c.name]:.2f}", f"{rss[c.name]:.0f}", ov))
        if c is not mine:
            overhead = total[mine.name] / total[c.name] - 1
            records.append({**context, "what": "train wall time (process start to exit)", "unit": "s",
                            "peer": c.label, "slipway": total[mine.name], "peer_value": total[c.name],
                            "ratio": total[c.name] / total[mine.name], "overhead": overhead,
                            "target_overhead": TARGET_OVERHEAD if c is like else None,
                            "like_with_like": c is like, "slipway_max_rss_mb": rss[mine.name],
                            "peer_max_rss_mb": rss[c.name],
                            "slipway_values": [r["wall_s"] for r in mine.runs],
                            "peer_values": [r["wall_s"] for r in c.runs],
                            "peer_phases": median_phases(c), "slipway_stages": slip_stages})
    table(lines)
    if like is not None:
        ov = total[mine.name] / total[like.name] - 1
        print(f"\noverhead vs the like-with-like peer ({like.label}): {ov * 100:+.1f}% "
              f"(target <= {TARGET_OVERHEAD * 100:.0f}%: {'ok' if ov <= TARGET_OVERHEAD else 'MISSED'})")

    print("\nwhere the time goes (median seconds)")
    print("  slipway stages (its own stage times, SLIPWAY_PROGRESS=1):")
    for s, secs in slip_stages:
        print(f"    {secs:8.2f}  {s}")
    if slip_train is not None:
        print(f"    -> inside the xgboost training stage {slip_train:.2f} s; outside it "
              f"{total[mine.name] - slip_train:.2f} s ({(total[mine.name] - slip_train) / total[mine.name] * 100:.1f}%)")
    for c in contestants[1:]:
        ph = median_phases(c)
        inside = ph.get("dmatrix", 0) + ph.get("train", 0)
        print(f"  {c.name} phases: " + ", ".join(f"{k} {v:.2f}" for k, v in ph.items())
              + f"; process total {total[c.name]:.2f}; DMatrix+train {inside:.2f}, outside {total[c.name] - inside:.2f}")
    metrics = {c.name: c.runs[-1]["report"]["metrics"] for c in contestants[1:]}
    for name, m in metrics.items():
        print(f"  {name} test: auc {m['auc']:.4f}, logloss {m['logloss']:.4f}, accuracy {m['accuracy']:.4f}")
    if slip_train is not None:
        records.append({**context, "what": "slipway time outside the xgboost training stage", "unit": "s",
                        "peer": None, "slipway": total[mine.name] - slip_train, "peer_value": None, "ratio": None,
                        "slipway_train_stage_s": slip_train, "slipway_total_s": total[mine.name]})
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    print(f"\n{len(records)} results appended to {RESULTS.relative_to(REPO)}")
    return 0


def median_phases(c: Contestant) -> dict:
    if not c.runs or "report" not in c.runs[0]:
        return {}
    keys = c.runs[0]["report"]["phases"].keys()
    return {k: statistics.median(r["report"]["phases"][k] for r in c.runs) for k in keys}


def table(lines: list[tuple]) -> None:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for n, line in enumerate(lines):
        print("  ".join(c.rjust(w) if i >= 1 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


if __name__ == "__main__":
    sys.exit(main())
