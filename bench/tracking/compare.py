#!/usr/bin/env python3
"""`slipway server` vs MLflow's own tracking server, side by side in one run, with ratios.

    .venv/bin/python bench/tracking/compare.py [--quick] [--bin PATH] [--reps N] [--runs N]
    .venv/bin/python bench/run.py tracking [same options]

Both servers run at once on this machine: `mlflow server` with its SQLite backend (default
workers) and `slipway server` on a fresh store. Every measurement alternates between them, one
repetition each, so both see the same machine state; the median of the repetitions is reported.

1. metric logging throughput (points/s):
   - the MLflow client (MlflowClient.log_batch with 1,000 metrics per call, and log_metric one
     point per call), the same client object code against both servers;
   - raw HTTP log-batch bodies (1,000 metrics) through one keep-alive requests.Session;
   - wrk (if installed) POSTing freshly numbered log-batch bodies from a Lua script over a few
     keep-alive connections: the server's throughput with a client that is not the bottleneck;
2. 10,000 runs in one experiment (each: runs/create, log-batch of 3 params, 2 metrics and a tag,
   runs/update to FINISHED; several concurrent HTTP clients), then listing and searching them:
   search_runs paging through all runs with max_results=1000, a metric filter with order_by
   paging through the matches, the first 100 by a metric (what a UI shows), each through the
   MLflow client and as raw HTTP;
3. get_metric_history of one 100,000-point series, through the client and as raw HTTP.

The raw HTTP read rows (listing, searching, history) time the HTTP exchanges only: from sending each
request to having its whole response body. The bench's own JSON decoding of the answer (needed for
the next page token and to check the answers) is left out of the clock for both servers: on this
machine json.loads of one 1,000-run page (~725 KB) takes 10-12 ms, more than slipway takes to
produce it, so timing it would measure Python. The client rows keep the whole client cost.

Before a number counts, both servers must give the same answers (run counts, filter matches,
history length, the order of the top 100); a mismatch is printed and the run exits 1.

Ratios are oriented like bench/run.py's: above 1 means slipway is better (slipway throughput /
MLflow throughput, MLflow time / slipway time). Targets (issue 4): >= 50x for logging throughput
and for listing/searching 10,000 runs. One JSON line per measurement is appended to
bench/results/results.jsonl.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
BENCH_DIR = HERE.parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
from run import RESULTS, git_commit, machine_info  # noqa: E402

WORK = BENCH_DIR / "work" / "tracking"
API = "/api/2.0/mlflow/"
TS0 = 1_700_000_000_000  # fixed timestamps: the same points on both servers
KEYS, STEPS = 10, 100     # one log-batch body: 10 metric keys x 100 consecutive steps = 1,000 points
TARGET = 50.0


class BenchError(Exception):
    pass


# ----------------------------------------------------------------------------------------------
# servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One tracking server process (its own process group, so its workers stop with it)."""

    def __init__(self, name: str, label: str, cmd: list[str], port: int, log: Path, env: dict | None = None):
        self.name, self.label, self.port, self.log = name, label, port, log
        self.url = f"http://127.0.0.1:{port}"
        self._log_file = open(log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, **(env or {})}, cwd=log.parent)

    def wait_ready(self, timeout_s: float) -> float:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} server exited ({self.proc.returncode}) during startup:\n"
                                 f"{self.log.read_text(errors='replace')[-3000:]}")
            try:
                r = requests.get(self.url + API + "experiments/get", params={"experiment_id": "0"}, timeout=2)
                if r.status_code == 200:
                    return time.perf_counter() - started
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise BenchError(f"{self.name} server not ready after {timeout_s:.0f} s:\n"
                         f"{self.log.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self._log_file.close()


def start_mlflow(workdir: Path, workers: int | None) -> Server:
    import mlflow
    d = workdir / "mlflow"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    port = free_port()
    exe = Path(sys.executable).with_name("mlflow")
    cmd = [str(exe), "server", "--backend-store-uri", f"sqlite:///{d / 'mlflow.db'}",
           "--default-artifact-root", str(d / "artifacts"), "--host", "127.0.0.1", "--port", str(port)]
    if workers:
        cmd += ["--workers", str(workers)]
    label = f"mlflow server {mlflow.__version__} (SQLite, {workers or 'default 4'} workers)"
    return Server("mlflow", label, cmd, port, d / "server.log")


def start_slipway(binary: Path, workdir: Path) -> Server:
    d = workdir / "slipway"
    shutil.rmtree(d, ignore_errors=True)
    d.mkdir(parents=True)
    store = d / "store"
    init = subprocess.run([str(binary), "--store", str(store), "init"], capture_output=True, text=True)
    if init.returncode != 0:
        raise BenchError(f"slipway init failed: {init.stderr}")
    port = free_port()
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
    cmd = [str(binary), "--store", str(store), "server", "--host", "127.0.0.1", "--port", str(port)]
    return Server("slipway", f"slipway server ({version or binary.name})", cmd, port, d / "server.log")


# ----------------------------------------------------------------------------------------------
# request bodies and helpers


def batch_metrics(first_step: int, keys: int = KEYS, steps: int = STEPS) -> list[dict]:
    return [{"key": f"m{k}", "value": (first_step + s) * 0.001 + k, "timestamp": TS0 + first_step + s,
             "step": first_step + s} for k in range(keys) for s in range(steps)]


def post(session: requests.Session, server: Server, route: str, body, timeout: float = 120) -> dict:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    r = session.post(server.url + API + route, data=data, headers={"Content-Type": "application/json"},
                     timeout=timeout)
    if r.status_code != 200:
        raise BenchError(f"{server.name}: POST {route} -> {r.status_code}: {r.text[:500]}")
    return r.json() if r.content else {}


def new_experiment(session: requests.Session, server: Server, name: str) -> str:
    return post(session, server, "experiments/create", {"name": name})["experiment_id"]


def new_run(session: requests.Session, server: Server, experiment_id: str, name: str = "") -> str:
    body = {"experiment_id": experiment_id, "start_time": TS0}
    if name:
        body["run_name"] = name
    return post(session, server, "runs/create", body)["run"]["info"]["run_id"]


def timed(fn, min_s: float, min_calls: int, max_calls: int) -> tuple[int, float]:
    """Calls fn(i) until min_s seconds and min_calls calls have passed (or max_calls); (calls, seconds)."""
    calls, started = 0, time.perf_counter()
    while calls < max_calls and (calls < min_calls or time.perf_counter() - started < min_s):
        fn(calls)
        calls += 1
    return calls, time.perf_counter() - started


# ----------------------------------------------------------------------------------------------
# 1. logging throughput


class Logging:
    def __init__(self, servers: list[Server], args):
        self.servers, self.args = servers, args
        self.session = {s.name: requests.Session() for s in servers}
        from mlflow.tracking import MlflowClient
        self.client = {s.name: MlflowClient(tracking_uri=s.url) for s in servers}
        self.step = {s.name: 0 for s in servers}  # every point logged to a server gets a fresh step
        # (kind, server) -> the client process's CPU seconds per wall second: near 1 means the
        # client, not the server, is the bottleneck
        self.client_cpu: dict[tuple[str, str], list[float]] = {}
        self.wrk_errors: dict[str, int] = {}  # server -> failed wrk requests (not counted as throughput)
        self.experiment = {s.name: new_experiment(self.session[s.name], s, f"bench-logging-{time.time_ns()}")
                           for s in servers}

    def fresh_run(self, server: Server) -> str:
        return new_run(self.session[server.name], server, self.experiment[server.name])

    def next_steps(self, server: Server, n: int) -> int:
        first = self.step[server.name]
        self.step[server.name] += n
        return first

    def client_batch(self, server: Server) -> float:
        from mlflow.entities import Metric
        client, run = self.client[server.name], self.fresh_run(server)

        def one(_i):
            first = self.next_steps(server, STEPS)
            client.log_batch(run, metrics=[Metric(m["key"], m["value"], m["timestamp"], m["step"])
                                           for m in batch_metrics(first)], synchronous=True)
        cpu0 = time.process_time()
        calls, secs = timed(one, self.args.min_s, 3, 10_000)
        self.client_cpu.setdefault(("batch", server.name), []).append((time.process_time() - cpu0) / secs)
        return calls * KEYS * STEPS / secs

    def client_single(self, server: Server) -> float:
        client, run = self.client[server.name], self.fresh_run(server)

        def one(_i):
            step = self.next_steps(server, 1)
            client.log_metric(run, "loss", step * 0.001, timestamp=TS0 + step, step=step, synchronous=True)
        cpu0 = time.process_time()
        calls, secs = timed(one, self.args.min_s, 10, 1_000_000)
        self.client_cpu.setdefault(("single", server.name), []).append((time.process_time() - cpu0) / secs)
        return calls / secs

    def raw_batch(self, server: Server) -> float:
        session, run = self.session[server.name], self.fresh_run(server)
        # Only the HTTP exchange is timed: each body is serialised before its clock starts.
        calls, busy = 0, 0.0
        while calls < 3 or busy < self.args.min_s:
            body = json.dumps({"run_id": run, "metrics": batch_metrics(self.next_steps(server, STEPS))}).encode()
            t0 = time.perf_counter()
            post(session, server, "runs/log-batch", body)
            busy += time.perf_counter() - t0
            calls += 1
        return calls * KEYS * STEPS / busy

    def wrk_batch(self, server: Server) -> float:
        run = self.fresh_run(server)
        # Each wrk run numbers its steps from its own offset so no point repeats on a server.
        offset = self.next_steps(server, 10**9)
        script = WORK / f"wrk_{server.name}.lua"
        script.write_text(WRK_LUA.replace("@RUN_ID@", run).replace("@OFFSET@", str(offset))
                          .replace("@KEYS@", str(KEYS)).replace("@STEPS@", str(STEPS)))
        cmd = ["wrk", "-t", "1", "-c", str(self.args.wrk_connections), "-d", f"{self.args.wrk_seconds}s",
               "--timeout", "30s", "-s", str(script), server.url + API + "runs/log-batch"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("{")), None)
        if proc.returncode != 0 or line is None:
            raise BenchError(f"wrk failed ({proc.returncode}): {proc.stdout[-1000:]} {proc.stderr[-1000:]}")
        got = json.loads(line)
        bad = got["status_errors"] + got["connect"] + got["read"] + got["write"] + got["timeout"]
        if bad:
            self.wrk_errors[server.name] = self.wrk_errors.get(server.name, 0) + bad
        ok = got["requests"] - got["status_errors"]
        return ok * KEYS * STEPS / (got["duration_us"] / 1e6)


WRK_LUA = r"""
-- POSTs log-batch bodies of @KEYS@ keys x @STEPS@ steps, each with fresh step numbers.
local run_id = "@RUN_ID@"
local offset = @OFFSET@
local nkeys, nsteps = @KEYS@, @STEPS@
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local first = offset + counter * nsteps
  counter = counter + 1
  local parts, n = {}, 0
  for k = 0, nkeys - 1 do
    for s = 0, nsteps - 1 do
      n = n + 1
      parts[n] = string.format('{"key":"m%d","value":%.3f,"timestamp":%.0f,"step":%.0f}',
                               k, (first + s) * 0.001 + k, 1700000000000 + first + s, first + s)
    end
  end
  return wrk.format(nil, nil, nil, '{"run_id":"' .. run_id .. '","metrics":[' .. table.concat(parts, ",") .. ']}')
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"duration_us":%d,"status_errors":%d,"connect":%d,"read":%d,' ..
                         '"write":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}\n', summary.requests,
                         summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
                         latency:percentile(50), latency:percentile(99)))
end
"""


# ----------------------------------------------------------------------------------------------
# 2. 10,000 runs: create, list, search


def run_auc(i: int) -> float:
    return ((i * 7919) % 10007) / 10007.0  # a permutation of the run index: no ties, ~half above 0.5


def populate(server: Server, experiment_id: str, n_runs: int, clients: int) -> float:
    """Creates n_runs finished runs (create, log-batch, update) from `clients` threads; seconds."""
    local = threading.local()

    def one(i: int) -> None:
        if not hasattr(local, "s"):
            local.s = requests.Session()
        s = local.s
        run = new_run(s, server, experiment_id, f"run-{i:05d}")
        post(s, server, "runs/log-batch", {
            "run_id": run,
            "params": [{"key": "lr", "value": str(0.01 * (1 + i % 10))}, {"key": "depth", "value": str(2 + i % 8)},
                       {"key": "seed", "value": str(i)}],
            "metrics": [{"key": "auc", "value": run_auc(i), "timestamp": TS0 + i, "step": 0},
                        {"key": "loss", "value": 1.0 - run_auc(i), "timestamp": TS0 + i, "step": 0}],
            "tags": [{"key": "family", "value": ("xgboost", "linear", "mlp")[i % 3]}]})
        post(s, server, "runs/update", {"run_id": run, "run_uuid": run, "status": "FINISHED", "end_time": TS0 + i + 1})

    started = time.perf_counter()
    with cf.ThreadPoolExecutor(clients) as ex:
        for f in cf.as_completed([ex.submit(one, i) for i in range(n_runs)]):
            f.result()
    return time.perf_counter() - started


class Searching:
    """Timed read operations; each returns (seconds, answer) where answer is compared across servers."""

    def __init__(self, server: Server, experiment_id: str):
        from mlflow.tracking import MlflowClient
        self.server, self.eid = server, experiment_id
        self.client = MlflowClient(tracking_uri=server.url)
        self.session = requests.Session()
        self.http_s = 0.0  # raw methods: seconds spent in HTTP exchanges (see the module docstring)

    def _client_pages(self, **kw) -> list:
        out, token = [], None
        while True:
            page = self.client.search_runs([self.eid], max_results=1000, page_token=token, **kw)
            out += page
            token = page.token
            if not token:
                return out

    def _raw_post(self, body: dict) -> dict:
        """One runs/search exchange; its HTTP time is added to self.http_s, the decoding is not."""
        data = json.dumps(body)
        t0 = time.perf_counter()
        r = self.session.post(self.server.url + API + "runs/search", data=data,
                              headers={"Content-Type": "application/json"}, timeout=300)
        content = r.content
        self.http_s += time.perf_counter() - t0
        if r.status_code != 200:
            raise BenchError(f"{self.server.name}: POST runs/search -> {r.status_code}: {r.text[:500]}")
        return json.loads(content) if content else {}

    def _raw_pages(self, body: dict) -> list:
        out, token = [], None
        while True:
            got = self._raw_post({"experiment_ids": [self.eid], "max_results": 1000, **body,
                                  **({"page_token": token} if token else {})})
            out += got.get("runs", [])
            token = got.get("next_page_token")
            if not token:
                return out

    def client_all(self):
        runs = self._client_pages()
        return len(runs)

    def raw_all(self):
        return len(self._raw_pages({}))

    FILTER = "metrics.auc > 0.5"
    ORDER = ["metrics.auc DESC"]

    def client_filter(self):
        runs = self._client_pages(filter_string=self.FILTER, order_by=self.ORDER)
        return len(runs), [r.data.tags.get("mlflow.runName") or r.info.run_name for r in runs[:20]]

    def raw_filter(self):
        runs = self._raw_pages({"filter": self.FILTER, "order_by": self.ORDER})
        return len(runs), [r["info"].get("run_name") for r in runs[:20]]

    def raw_top100(self):
        got = self._raw_post({"experiment_ids": [self.eid], "max_results": 100, "order_by": self.ORDER})
        return [r["info"].get("run_name") for r in got.get("runs", [])]


def history_run(server: Server, experiment_id: str, points: int) -> str:
    s = requests.Session()
    run = new_run(s, server, experiment_id, "history")
    for first in range(0, points, 1000):
        n = min(1000, points - first)
        post(s, server, "runs/log-batch", {"run_id": run, "metrics": [
            {"key": "loss", "value": 1.0 / (1 + first + j), "timestamp": TS0 + first + j, "step": first + j}
            for j in range(n)]})
    return run


def client_history(server: Server, run: str) -> int:
    from mlflow.tracking import MlflowClient
    return len(MlflowClient(tracking_uri=server.url).get_metric_history(run, "loss"))


def raw_history(server: Server, run: str, session: requests.Session) -> tuple[int, float]:
    """(points, seconds in HTTP exchanges); decoding is not timed (module docstring)."""
    # What the client sends: pages of 25,000 (mlflow.store.tracking.GET_METRIC_HISTORY_MAX_RESULTS).
    n, token, http_s = 0, None, 0.0
    while True:
        params = {"run_id": run, "run_uuid": run, "metric_key": "loss", "max_results": 25000}
        if token:
            params["page_token"] = token
        t0 = time.perf_counter()
        r = session.get(server.url + API + "metrics/get-history", params=params, timeout=300)
        content = r.content
        http_s += time.perf_counter() - t0
        if r.status_code != 200:
            raise BenchError(f"{server.name}: get-history -> {r.status_code}: {r.text[:300]}")
        got = json.loads(content)
        n += len(got.get("metrics", []))
        token = got.get("next_page_token")
        if not token:
            return n, http_s


# ----------------------------------------------------------------------------------------------
# driver


def alternate(servers: list[Server], reps: int, fn, what: str) -> dict[str, list]:
    """fn(server) -> value, reps times per server, alternating; {server name: [values]}."""
    out: dict[str, list] = {s.name: [] for s in servers}
    for rep in range(reps):
        order = servers if rep % 2 == 0 else servers[::-1]
        for s in order:
            out[s.name].append(fn(s))
        print(f"    {what} rep {rep + 1}/{reps}: " + ", ".join(
            f"{s.name} {fmt(out[s.name][-1])}" for s in servers), file=sys.stderr, flush=True)
    return out


def fmt(v) -> str:
    if isinstance(v, tuple):
        v = v[0]
    if isinstance(v, float):
        return f"{v:,.4g}"
    return str(v)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="1,000 runs, 10,000-point history, short timings")
    ap.add_argument("--bin", type=Path, default=Path(os.environ.get("SLIPWAY_BIN") or
                                                      REPO / "build/release/src/cli/slipway"))
    ap.add_argument("--reps", type=int, help="repetitions per measurement (median; default 5, --quick 3)")
    ap.add_argument("--runs", type=int, help="runs in the experiment (default 10,000; --quick 1,000)")
    ap.add_argument("--history-points", type=int, help="points in the history series (default 100,000)")
    ap.add_argument("--min-s", type=float, help="seconds per logging repetition (default 2, --quick 0.5)")
    ap.add_argument("--clients", type=int, default=8, help="concurrent HTTP clients creating the runs")
    ap.add_argument("--wrk-connections", type=int, default=4)
    ap.add_argument("--wrk-seconds", type=int, help="seconds per wrk repetition (default 5, --quick 2)")
    ap.add_argument("--mlflow-workers", type=int, help="mlflow server --workers (default: MLflow's own, 4)")
    ap.add_argument("--only", choices=["mlflow", "slipway"], help="one server only (no ratios; for testing)")
    args = ap.parse_args(argv)
    q = args.quick
    args.reps = args.reps or (3 if q else 5)
    args.runs = args.runs or (1_000 if q else 10_000)
    args.history_points = args.history_points or (10_000 if q else 100_000)
    args.min_s = args.min_s or (0.5 if q else 2.0)
    args.wrk_seconds = args.wrk_seconds or (2 if q else 5)
    binary = args.bin.resolve()
    if args.only != "mlflow" and not binary.is_file():
        print(f"error: slipway binary not found at {binary} (build it, or pass --bin)", file=sys.stderr)
        return 2
    try:
        import mlflow  # noqa: F401
        Path(sys.executable).with_name("mlflow").resolve(strict=True)
    except (ImportError, OSError):
        print("error: the full mlflow package is needed for `mlflow server`: "
              ".venv/bin/pip install -r requirements-bench.txt", file=sys.stderr)
        return 2
    have_wrk = shutil.which("wrk") is not None
    args.load_before = os.getloadavg()
    if args.load_before[0] > 1.0:
        print(f"warning: load average {args.load_before[0]:.1f} on {os.cpu_count()} cores: other work competes "
              "with the servers and the clients", file=sys.stderr)
    WORK.mkdir(parents=True, exist_ok=True)

    servers: list[Server] = []
    try:
        if args.only != "slipway":
            servers.append(start_mlflow(WORK, args.mlflow_workers))
        if args.only != "mlflow":
            servers.append(start_slipway(binary, WORK))
        for s in servers:
            print(f"{s.name}: {s.label} at {s.url}, ready after {s.wait_ready(120):.1f} s", file=sys.stderr, flush=True)
        return measure_all(servers, args, have_wrk)
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        for s in servers:
            s.stop()


def measure_all(servers: list[Server], args, have_wrk: bool) -> int:
    by = {s.name: s for s in servers}
    rows: list[dict] = []          # (what, unit, higher_is_better, values per server, target, extra)
    mismatches: list[str] = []

    def add(what: str, unit: str, higher_better: bool, values: dict[str, list], target: float | None, **extra):
        med = {k: statistics.median(v) for k, v in values.items() if v}
        rows.append({"what": what, "unit": unit, "higher_better": higher_better, "median": med,
                     "values": values, "target": target, **extra})

    # 1. logging
    print("== metric logging", file=sys.stderr, flush=True)
    lg = Logging(servers, args)
    def cpu_share(kind: str) -> dict:
        return {f"client_cpu_share_{s.name}": round(statistics.median(lg.client_cpu[(kind, s.name)]), 3)
                for s in servers if (kind, s.name) in lg.client_cpu}

    add("client log_batch (1,000 metrics/call)", "points/s", True,
        alternate(servers, args.reps, lg.client_batch, "client log_batch"), TARGET)
    rows[-1].update(cpu_share("batch"))
    add("client log_metric (1 point/call)", "points/s", True,
        alternate(servers, args.reps, lg.client_single, "client log_metric"), TARGET)
    rows[-1].update(cpu_share("single"))
    add("raw HTTP log-batch, 1 keep-alive session", "points/s", True,
        alternate(servers, args.reps, lg.raw_batch, "raw log-batch"), TARGET)
    if have_wrk:
        add(f"wrk log-batch, {args.wrk_connections} connections", "points/s", True,
            alternate(servers, max(3, args.reps - 2), lg.wrk_batch, "wrk log-batch"), TARGET,
            wrk_errors=dict(lg.wrk_errors))
        for name, n in lg.wrk_errors.items():
            print(f"  note: {name} answered {n} wrk requests with an error (not counted)", file=sys.stderr)
    else:
        print("  wrk not installed (apt-get install wrk): skipping the wrk measurement", file=sys.stderr)

    # 2. runs
    print(f"== {args.runs:,} runs in one experiment", file=sys.stderr, flush=True)
    eid, searchers, create = {}, {}, {}
    for s in servers:
        session = requests.Session()
        eid[s.name] = new_experiment(session, s, f"bench-runs-{time.time_ns()}")
        secs = populate(s, eid[s.name], args.runs, args.clients)
        create[s.name] = [args.runs / secs]
        print(f"    created {args.runs:,} runs on {s.name} in {secs:.1f} s", file=sys.stderr, flush=True)
        searchers[s.name] = Searching(s, eid[s.name])
    add(f"create runs (create+log-batch+update, {args.clients} clients)", "runs/s", True, create, None,
        reps_note="1 pass")

    def answers(values: dict[str, list], what: str) -> dict[str, list]:
        """Splits (seconds, answer) pairs; records a mismatch when the servers' answers differ."""
        times = {k: [v[0] for v in vs] for k, vs in values.items()}
        got = {k: vs[0][1] for k, vs in values.items()}
        if len({json.dumps(a) for a in got.values()}) > 1:
            mismatches.append(f"{what}: " + "; ".join(f"{k} -> {str(a)[:200]}" for k, a in got.items()))
        return times

    def timing(method: str):
        def fn(server: Server):
            searcher = searchers[server.name]
            searcher.http_s = 0.0
            t0 = time.perf_counter()
            answer = getattr(searcher, method)()
            elapsed = time.perf_counter() - t0
            return (searcher.http_s if method.startswith("raw") else elapsed), answer
        return fn

    n = f"{args.runs:,}"
    list_reps = max(3, args.reps - 2)
    for what, method in ((f"client search_runs, all {n} runs (pages of 1,000)", "client_all"),
                         (f"raw HTTP runs/search, all {n} runs (pages of 1,000)", "raw_all"),
                         (f"client search_runs '{Searching.FILTER}' order_by auc, all matches", "client_filter"),
                         (f"raw HTTP runs/search '{Searching.FILTER}' order_by auc, all matches", "raw_filter"),
                         (f"raw HTTP runs/search top 100 by auc of {n}", "raw_top100")):
        vals = alternate(servers, list_reps, timing(method), method)
        add(what, "s", False, answers(vals, what), TARGET)
        expect = args.runs if method.endswith("_all") else None
        for k, vs in vals.items():
            if expect is not None and vs[0][1] != expect:
                mismatches.append(f"{what}: {k} returned {vs[0][1]} runs, expected {expect}")

    # 3. history
    print(f"== get_metric_history of a {args.history_points:,}-point series", file=sys.stderr, flush=True)
    hist_run = {}
    for s in servers:
        t0 = time.perf_counter()
        hist_run[s.name] = history_run(s, eid[s.name], args.history_points)
        print(f"    logged {args.history_points:,} points on {s.name} in {time.perf_counter() - t0:.1f} s",
              file=sys.stderr, flush=True)
    sessions = {s.name: requests.Session() for s in servers}

    def hist(kind: str):
        def fn(server: Server):
            if kind == "raw":
                got, http_s = raw_history(server, hist_run[server.name], sessions[server.name])
                return http_s, got
            t0 = time.perf_counter()
            got = client_history(server, hist_run[server.name])
            return time.perf_counter() - t0, got
        return fn

    hp = f"{args.history_points:,}"
    for kind in ("client", "raw"):
        what = f"{'client get_metric_history' if kind == 'client' else 'raw HTTP metrics/get-history'} ({hp} points)"
        vals = alternate(servers, list_reps, hist(kind), what)
        add(what, "s", False, answers(vals, what), None)
        for k, vs in vals.items():
            if vs[0][1] != args.history_points:
                mismatches.append(f"{what}: {k} returned {vs[0][1]} points, expected {args.history_points}")

    return report(rows, mismatches, by, args)


def report(rows: list[dict], mismatches: list[str], by: dict[str, Server], args) -> int:
    both = "mlflow" in by and "slipway" in by
    context = {"benchmark": "tracking", "machine": machine_info(), "commit": git_commit(),
               "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "runs_in_experiment": args.runs, "history_points": args.history_points, "reps": args.reps,
               "quick": bool(args.quick), "loadavg_before": args.load_before[0], "loadavg_after": os.getloadavg()[0]}
    lines = [("measurement", "unit", "MLflow", "slipway", "ratio", "target")]
    records = []
    for r in rows:
        m, s = r["median"].get("mlflow"), r["median"].get("slipway")
        ratio = None
        if m is not None and s is not None and m > 0 and s > 0:
            ratio = s / m if r["higher_better"] else m / s
        lines.append((r["what"], r["unit"], num(m), num(s), f"{ratio:.1f}x" if ratio else "-",
                      (f">= {r['target']:g}x " + ("ok" if ratio >= r["target"] else "MISSED")) if r["target"] and ratio
                      else ""))
        if both:
            extra = {k: v for k, v in r.items() if k not in ("what", "unit", "higher_better", "median", "values",
                                                              "target")}
            records.append({**context, "what": r["what"], "unit": r["unit"], "peer": by["mlflow"].label,
                            "slipway": s, "peer_value": m, "ratio": ratio, "target": r["target"],
                            "slipway_values": r["values"].get("slipway"), "peer_values": r["values"].get("mlflow"),
                            **extra})
    if records:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        with open(RESULTS, "a") as f:
            for rec in records:
                f.write(json.dumps(rec) + "\n")
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    print()
    for k, line in enumerate(lines):
        print("  ".join(c.rjust(w) if 2 <= i <= 4 else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))).rstrip())
        if k == 0:
            print("  ".join("-" * w for w in widths))
    print(f"\nload average {args.load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after; medians of "
          f"{args.reps} (logging) / {max(3, args.reps - 2)} (reads) repetitions; ratio > 1: slipway better "
          "(throughput slipway/MLflow, time MLflow/slipway)")
    for name, s in by.items():
        print(f"  {name}: {s.label}")
    for r in rows:
        shares = {k.rsplit("_", 1)[1]: v for k, v in r.items() if k.startswith("client_cpu_share_")}
        if shares:
            print(f"  {r['what']}: the client's CPU share of wall time " +
                  ", ".join(f"{k} {v:.0%}" for k, v in shares.items()) + " (near 100%: the client is the bottleneck)")
    if records:
        print(f"{len(records)} results appended to {RESULTS.relative_to(REPO)}")
    if mismatches:
        print("\nANSWERS DIFFER between the servers (numbers above do not count):")
        for m in mismatches:
            print("  " + m)
        return 1
    return 0


def num(v) -> str:
    if v is None:
        return "-"
    if v >= 100:
        return f"{v:,.0f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.4f}"


if __name__ == "__main__":
    sys.exit(main())
