"""The streaming drift path over a prediction log: `slipway monitor drift --streaming` reading a log
of N records (30 numeric + 5 categorical inputs, one row each; bench/monitor/make_log.cpp writes it in
the format `slipway serve` writes) against a 1M-row reference CSV, at 1M and at N records — wall time,
records per second, and peak RSS, which must not grow with N (bounded memory). The exact path on the
1M log (every value held) is run beside it for the verdicts and the memory it needs.

    .venv/bin/python bench/monitor/log_stream.py [--records 10000000] [--bin PATH]
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH_DIR = HERE.parent
REPO = BENCH_DIR.parent
WORK = BENCH_DIR / "work" / "monitor-log"
sys.path.insert(0, str(BENCH_DIR))
from run import RESULTS, git_commit, machine_info  # noqa: E402

MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.run(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
wall = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
json.dump({"rc": p.returncode, "wall_s": wall, "max_rss_mb": rss, "stdout": p.stdout.decode(errors="replace"),
           "stderr": p.stderr.decode(errors="replace")[-2000:]}, open(sys.argv[1], "w"))
"""


def measure(cmd: list[str]) -> dict:
    out = WORK / "measure.json"
    subprocess.run([sys.executable, "-c", MEASURE, str(out), *cmd], check=True)
    r = json.loads(out.read_text())
    if r["rc"] not in (0, 1):
        raise SystemExit(f"failed ({r['rc']}): {' '.join(cmd)}\n{r['stderr']}")
    return r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=10_000_000)
    ap.add_argument("--bin", type=Path, default=REPO / "build" / "release" / "src" / "cli" / "slipway")
    ap.add_argument("--make-log", type=Path, default=REPO / "build" / "release" / "bench" / "make_log")
    ap.add_argument("--no-save", action="store_true")
    args = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in sorted({1_000_000, args.records}):
        store = WORK / f"store-{n}"
        ref = WORK / "reference.csv"
        if not (store / "logs").exists():
            shutil.rmtree(store, ignore_errors=True)
            subprocess.run([str(args.bin), "--store", str(store), "init"], check=True, capture_output=True)
            print(f"writing a log of {n:,} records...", file=sys.stderr)
            subprocess.run([str(args.make_log), str(store), "m", str(n), "1000000", str(ref)], check=True)
        base = [str(args.bin), "--store", str(store), "monitor", "drift", "--reference", str(ref),
                "--current", "log:m", "--json"]
        s = measure(base + ["--streaming"])
        rep = json.loads(s["stdout"])
        rows.append({"records": n, "path": "streaming", "wall_s": s["wall_s"], "max_rss_mb": s["max_rss_mb"],
                     "records_per_s": n / s["wall_s"],
                     "drifted": sorted(c["column"] for c in rep["columns"] if c.get("drifted"))})
        print(f"streaming {n:,}: {s['wall_s']:.1f} s ({n / s['wall_s']:,.0f} records/s), peak RSS "
              f"{s['max_rss_mb']:.0f} MB, drifted {rows[-1]['drifted']}", file=sys.stderr)
        if n == 1_000_000:
            e = measure(base)
            rep = json.loads(e["stdout"])
            rows.append({"records": n, "path": "exact", "wall_s": e["wall_s"], "max_rss_mb": e["max_rss_mb"],
                         "records_per_s": n / e["wall_s"],
                         "drifted": sorted(c["column"] for c in rep["columns"] if c.get("drifted"))})
            print(f"exact {n:,}: {e['wall_s']:.1f} s, peak RSS {e['max_rss_mb']:.0f} MB, drifted "
                  f"{rows[-1]['drifted']}", file=sys.stderr)
    print(f"{'records':>12} {'path':>10} {'seconds':>9} {'records/s':>12} {'peak RSS MB':>12}  drifted")
    for r in rows:
        print(f"{r['records']:>12,} {r['path']:>10} {r['wall_s']:>9.1f} {r['records_per_s']:>12,.0f} "
              f"{r['max_rss_mb']:>12.0f}  {','.join(r['drifted'])}")
    if not args.no_save:
        with open(RESULTS, "a") as f:
            for r in rows:
                f.write(json.dumps({"benchmark": "monitor-log", **r, "machine": machine_info(),
                                    "commit": git_commit()}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
