"""slipway benchmarks, each side by side with its peer in the same run (see bench/README.md).

    python bench/run.py [ingest|hash|dedup|all] [--size-mb N] [--runs N] [--bin PATH]
    python bench/run.py models [--quick] [...]   # model inference vs its peers: bench/models/compare.py
    python bench/run.py tracking [--quick] [...] # slipway server vs mlflow server: bench/tracking/compare.py
    python bench/run.py train [--quick] [...]    # slipway train vs xgboost.train: bench/train/compare.py
    python bench/run.py serving [--quick] [...]  # slipway serve vs FastAPI/uvicorn, MLServer: bench/serving/compare.py
    python bench/run.py monitor [--quick] [...]  # drift statistics vs SciPy and Evidently: bench/monitor/compare.py

Prints a table and appends one JSON line per result to bench/results/results.jsonl. Ratios are
peer / slipway (for times and bytes: > 1 means slipway is faster or smaller).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"
RESULTS = BENCH_DIR / "results" / "results.jsonl"

sys.path.insert(0, str(BENCH_DIR))
from gen_csv import generate  # noqa: E402

# Runs one command in a fresh process and reports its wall time and the peak RSS of its process
# tree: RUSAGE_CHILDREN of a process that has only that one child is exactly the child's maxrss.
MEASURE = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
wall = time.perf_counter() - t0
rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(sys.argv[1], "w") as f:
    json.dump({"rc": rc, "wall_s": wall, "max_rss_mb": rss_kib / 1024}, f)
"""

PANDAS_PEER = "import sys, pandas as pd; df = pd.read_csv(sys.argv[1]); df.describe()"


class BenchError(Exception):
    pass


def measure(cmd: list[str], cwd: Path) -> dict:
    out = WORK_DIR / "measure.json"
    proc = subprocess.run([sys.executable, "-c", MEASURE, str(out), *cmd], cwd=cwd,
                          stderr=subprocess.PIPE, text=True)
    result = json.loads(out.read_text())
    if proc.returncode != 0 or result["rc"] != 0:
        # Rerun for the message: the wrapper discards the command's stderr to keep timing clean.
        err = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True).stderr
        raise BenchError(f"command failed (exit {result['rc']}): {' '.join(cmd)}\n{err[-2000:]}")
    return result


def median_of(runs: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in runs)


def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "system": platform.platform()}


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def synthetic_csv(size_mb: float) -> Path:
    path = WORK_DIR / f"synthetic_{size_mb:g}mb_seed42.csv"
    done = path.with_suffix(".done")
    if not (path.exists() and done.exists()):
        print(f"generating {path.name} ({size_mb:g} MiB)...", file=sys.stderr, flush=True)
        generate(path, size_mb=size_mb, seed=42, missing=0.001)
        done.touch()
    return path


def fresh_store(binary: Path, name: str) -> Path:
    store = WORK_DIR / name
    shutil.rmtree(store, ignore_errors=True)
    proc = subprocess.run([str(binary), "--store", str(store), "init"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BenchError(f"slipway init failed: {proc.stderr}")
    return store


def objects_size(store: Path) -> int:
    root = store / "objects" if (store / "objects").is_dir() else store
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def bench_ingest(binary: Path, csv: Path, runs: int) -> list[dict]:
    mine, peer = [], []
    # One store per run, all deleted after the last: deleting ~4,000 object files just before an
    # ingest makes ext4 (without a journal, as here) skip the recently freed inodes on every file
    # the next ingest creates — a cost of the bench's own clean-up, not of ingesting.
    stores = [WORK_DIR / f"ingest_store_{i}" for i in range(runs)]
    for i in range(runs):
        store = fresh_store(binary, stores[i].name)
        mine.append(measure([str(binary), "--store", str(store), "data", "ingest", str(csv),
                             "--dataset", "bench", "-m", f"bench run {i}"], WORK_DIR))
        peer.append(measure([sys.executable, "-c", PANDAS_PEER, str(csv)], WORK_DIR))
    for store in stores:
        shutil.rmtree(store, ignore_errors=True)
    peer_name = "pandas read_csv + describe()"
    t_mine, t_peer = median_of(mine, "wall_s"), median_of(peer, "wall_s")
    m_mine, m_peer = max(r["max_rss_mb"] for r in mine), max(r["max_rss_mb"] for r in peer)
    return [
        {"what": "ingest+profile wall time", "unit": "s", "peer": peer_name, "slipway": t_mine,
         "peer_value": t_peer, "ratio": t_peer / t_mine},
        {"what": "ingest+profile peak RSS", "unit": "MB", "peer": peer_name, "slipway": m_mine,
         "peer_value": m_peer, "ratio": m_peer / m_mine},
    ]


def bench_hash(binary: Path, csv: Path, runs: int) -> list[dict]:
    size_gb = csv.stat().st_size / 1e9
    commands = {
        "slipway": [str(binary), "data", "hash", str(csv), "--json"],
        "md5sum": ["md5sum", str(csv)],
        "sha256sum": ["sha256sum", str(csv)],
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    for name, cmd in commands.items():  # one untimed pass each: warm page cache, no first-run noise
        measure(cmd, WORK_DIR)
    for _ in range(runs):
        for name, cmd in commands.items():
            times[name].append(measure(cmd, WORK_DIR)["wall_s"])
    mine = size_gb / statistics.median(times["slipway"])
    rows = []
    for peer in ("md5sum", "sha256sum"):
        theirs = size_gb / statistics.median(times[peer])
        rows.append({"what": "chunk+hash throughput (warm cache)", "unit": "GB/s", "peer": peer,
                     "slipway": mine, "peer_value": theirs, "ratio": mine / theirs})
    return rows


def bench_dedup(binary: Path, csv: Path, _runs: int) -> list[dict]:
    store = fresh_store(binary, "dedup_store")
    base_rows = sum(1 for _ in open(csv, "rb")) - 1
    grown = WORK_DIR / "dedup_grown.csv"
    extra = WORK_DIR / "dedup_extra.csv"
    generate(extra, rows=max(base_rows // 100, 1), seed=4242, missing=0.001)
    shutil.copyfile(csv, grown)
    with open(grown, "ab") as out, open(extra, "rb") as src:
        src.readline()  # same columns; drop the header
        shutil.copyfileobj(src, out, 1 << 22)

    def ingest(path: Path) -> None:
        proc = subprocess.run([str(binary), "--store", str(store), "data", "ingest", str(path), "--dataset",
                               "dedup"], capture_output=True, text=True)
        if proc.returncode != 0:
            raise BenchError(f"ingest of {path} failed: {proc.stderr[-2000:]}")

    # Same file name in both versions, as a user re-ingesting an updated export would have it.
    staged = WORK_DIR / "dedup" / "data.csv"
    staged.parent.mkdir(exist_ok=True)
    shutil.copyfile(csv, staged)
    ingest(staged)
    before = objects_size(store)
    shutil.copyfile(grown, staged)
    ingest(staged)
    growth = objects_size(store) - before
    new_size = grown.stat().st_size
    for p in (grown, extra, staged):
        p.unlink()
    shutil.rmtree(store, ignore_errors=True)
    return [{"what": "bytes stored for +1% rows", "unit": "MB", "peer": "whole-file copy (DVC-style)",
             "slipway": growth / 1e6, "peer_value": new_size / 1e6, "ratio": new_size / max(growth, 1),
             "growth_pct_of_file": 100.0 * growth / new_size}]


BENCHMARKS = {"ingest": bench_ingest, "hash": bench_hash, "dedup": bench_dedup}


def print_table(rows: list[dict]) -> None:
    head = ("benchmark", "peer", "slipway", "peer value", "peer/slipway")
    lines = [head] + [(r["what"], r["peer"], f"{r['slipway']:.3f} {r['unit']}", f"{r['peer_value']:.3f} {r['unit']}",
                       f"{r['ratio']:.2f}x") for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["models"]:  # its own options and binaries; not part of `all` (about 15 minutes)
        from models.compare import main as models_main
        return models_main(argv[1:])
    if argv[:1] in (["tracking"], ["train"], ["serving"], ["monitor"]):  # likewise their own options; not part of `all`
        import importlib.util
        spec = importlib.util.spec_from_file_location(f"bench_{argv[0]}", BENCH_DIR / argv[0] / "compare.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module.main(argv[1:])
    ap = argparse.ArgumentParser(description="slipway benchmarks against their peers")
    ap.add_argument("which", nargs="?", default="all", choices=[*BENCHMARKS, "all"])
    ap.add_argument("--size-mb", type=float, default=1024, help="size of the synthetic CSV (MiB)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per command (median reported)")
    ap.add_argument("--bin", type=Path, default=Path(os.environ.get("SLIPWAY_BIN") or
                                                      REPO_ROOT / "build/release/src/cli/slipway"))
    args = ap.parse_args(argv)
    binary = args.bin.resolve()
    if not binary.is_file():
        print(f"error: slipway binary not found at {binary} (run `make build`, or pass --bin)", file=sys.stderr)
        return 2
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    csv = synthetic_csv(args.size_mb)
    context = {"size_mb": csv.stat().st_size / 1e6, "runs": args.runs, "machine": machine_info(),
               "commit": git_commit(), "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "file": csv.name}
    names = list(BENCHMARKS) if args.which == "all" else [args.which]
    rows = []
    try:
        for name in names:
            print(f"running {name}...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            got = BENCHMARKS[name](binary, csv, args.runs)
            print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
            rows += [{"benchmark": name, **r, **context} for r in got]
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        if rows:
            RESULTS.parent.mkdir(parents=True, exist_ok=True)
            with open(RESULTS, "a") as f:
                for r in rows:
                    f.write(json.dumps(r) + "\n")
    print_table(rows)
    print(f"\n{csv.name}: {context['size_mb']:.0f} MB; {args.runs} runs; results appended to "
          f"{RESULTS.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
