#!/usr/bin/env python3
"""`slipway serve` vs FastAPI + uvicorn and MLServer, every server on this machine in one run.

    .venv/bin/python bench/run.py serving [--quick] [--bin PATH] [--models xgb,lr] [--servers ...] [--rounds N]
    .venv/bin/python bench/serving/compare.py [same options]

Models (trained here on synthetic data, cached in bench/work/serving/): a 500-tree depth-6
XGBoost classifier (xgboost JSON) and a scikit-learn LogisticRegression (joblib), 28 FP32
features. slipway serves bundles imported from the same files (`slipway model import`: the xgboost
JSON, and the ONNX of the logistic regression written by skl2onnx).

Servers, one at a time, each serving one model under the name "m":
  slipway         `slipway serve BUNDLE --name m` (default threads: one per core)
  fastapi-asyncio FastAPI + uvicorn, 1 worker, --loop asyncio --http h11      (bench/serving/fastapi_app.py)
  fastapi-uvloop  FastAPI + uvicorn, 1 worker, --loop uvloop --http httptools
  fastapi-2w      FastAPI + uvicorn, 2 worker processes, uvloop + httptools
  mlserver        MLServer 1.7.1 with mlserver_xgboost / mlserver_sklearn, default settings, REST and
                  gRPC. Its xgboost runtime requires the `xgboost` wheel (which would replace the
                  pinned xgboost-cpu in .venv and pull the CUDA NCCL runtime), so it lives in its own
                  venv, bench/work/mlserver-venv, which this script creates on first use with the same
                  numpy/scikit-learn/xgboost-cpu versions as .venv (mlserver-xgboost without deps).

Load, all on this (2-core) machine next to the server:
  HTTP  wrk -t2 -c32 for --seconds (10 s; --quick 3 s) with bench/serving/wrk.lua POSTing one fixed
        KServe v2 JSON body: 1 row or 1,000 rows of an `input__0` [n, 28] FP32 tensor. Requests/s,
        p50/p99 (wrk's latency histogram), and server CPU per request: utime+stime of the server's
        process tree from /proc/PID/stat before and after, over the requests answered.
  paced p99 at half of the server's own closed-loop single-row maximum: the same wrk script in
        paced mode (each connection waits in Lua delay() for the next slot of a per-thread
        schedule; see wrk.lua); the reported `late` count says how many sends missed their slot
        by more than 1 ms.
  gRPC  ghz (built once into bench/work/go with `go install`) sending ModelInfer with 1,000 rows
        as raw_input_contents (FP32) for --seconds, -c 8 over 2 connections; predictions/s.

Before measuring, every server's answers to the 1-row and the 1,000-row body are checked against
xgboost / scikit-learn in this process (max |difference| <= 1e-4), else the run exits 1.

slipway's own time per request is read from its /metrics (request, queue, compute and overhead
histograms: sum / count over each run). Ratios as bench/run.py: above 1 = slipway better
(slipway throughput / peer throughput, peer CPU or latency / slipway's). One JSON line per
measurement is appended to bench/results/results.jsonl (benchmark "serving").

--rounds N runs the whole list of servers N times, round robin (so slow drifts of the machine hit
every server alike), and reports per server and load the median of the N runs, each run's value
kept beside it (`rps_values`, `cpu_us_per_req_values`, ...).
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import requests

HERE = Path(__file__).resolve().parent
BENCH_DIR = HERE.parent
REPO = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))
from run import RESULTS, git_commit, machine_info  # noqa: E402

WORK = BENCH_DIR / "work" / "serving"
MLSERVER_VENV = BENCH_DIR / "work" / "mlserver-venv"
GO_DIR = BENCH_DIR / "work" / "go"
GHZ = GO_DIR / "bin" / "ghz"
PROTO = REPO / "proto" / "kserve" / "grpc_predict_v2.proto"
N_FEATURES = 28
TRAIN_ROWS = 100_000
MODEL_NAME = "m"
CLK_TCK = os.sysconf("SC_CLK_TCK")
MLSERVER_PINS = ["mlserver==1.7.1", "mlserver-sklearn==1.7.1", "numpy==2.2.6", "pandas==2.2.3",
                 "scipy==1.15.3", "scikit-learn==1.7.2", "xgboost-cpu==3.2.0", "protobuf==6.33.6",
                 "grpcio==1.85.3", "httptools==0.9.0",
                 # uvloop 0.22+ raises in get_event_loop() where MLServer 1.7.1's workers call it
                 "uvloop==0.21.0"]
ALL_SERVERS = ["slipway", "slipway-monitored", "slipway-monitored-ref", "slipway-sampled", "fastapi-asyncio",
               "fastapi-uvloop", "fastapi-2w", "mlserver"]
TARGETS = {"single_rps": 80_000, "cpu_us": 15.0, "paced_p99_ms": 2.0, "grpc_pred_s": 1_000_000}


class BenchError(Exception):
    pass


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# models and bodies


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """HIGGS-like: 28 numeric FP32 features, a label from a fixed nonlinear function of them."""
    w = np.random.default_rng(7).normal(0, 1, N_FEATURES)
    rng = np.random.default_rng(seed)
    x = np.round(rng.standard_normal((n, N_FEATURES)), 4).astype(np.float32)
    logit = np.tanh(x) @ w + 0.8 * x[:, 0] * x[:, 1] - 0.5 * np.abs(x[:, 2])
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int32)
    return x, y


def prepare_models(binary: Path) -> dict:
    """Trains (once, cached) and imports; {model: {peer file, bundle, kind}}."""
    import joblib
    d = WORK / "models"
    d.mkdir(parents=True, exist_ok=True)
    xgb_path, lr_path, lr_onnx = d / "xgb_500x6.json", d / "lr.joblib", d / "lr.onnx"
    x, y = None, None
    if not xgb_path.exists() or not lr_path.exists() or not lr_onnx.exists():
        x, y = synthetic(TRAIN_ROWS, 1)
    if not xgb_path.exists():
        import xgboost as xgb
        log("training the 500-tree xgboost model...")
        params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "nthread": 2,
                  "tree_method": "hist", "seed": 0}
        # Saved from a Booster (not XGBClassifier): MLServer's runtime then loads it as an
        # XGBRegressor whose predict() returns the probability, the output the others return.
        xgb.train(params, xgb.DMatrix(x, label=y), num_boost_round=500).save_model(str(xgb_path))
    if not lr_path.exists() or not lr_onnx.exists():
        from sklearn.linear_model import LogisticRegression
        from skl2onnx import to_onnx
        lr = LogisticRegression(max_iter=500).fit(x, y)
        joblib.dump(lr, lr_path)
        onx = to_onnx(lr, x[:1], target_opset={"": 17, "ai.onnx.ml": 3}, options={id(lr): {"zipmap": False}})
        lr_onnx.write_bytes(onx.SerializeToString())
    models = {"xgb": {"file": xgb_path, "source": xgb_path, "kind": "xgboost", "label": "xgboost 500 trees, depth 6",
                      "mlserver": "mlserver_xgboost.XGBoostModel"},
              "lr": {"file": lr_path, "source": lr_onnx, "kind": "sklearn", "label": "logistic regression",
                     "mlserver": "mlserver_sklearn.SKLearnModel"}}
    for name, m in models.items():
        bundle = d / f"{name}.slw"
        proc = subprocess.run([str(binary), "model", "import", str(m["source"]), "-o", str(bundle)],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise BenchError(f"slipway model import {m['source']} failed: {proc.stderr}")
        m["bundle"] = bundle
    return models


def reference_csv() -> Path:
    """The training features as a CSV whose columns are named as the log names a packed request's
    features (input__0[j]): the drift reference of slipway-monitored-ref."""
    path = WORK / "models" / "reference_input0.csv"
    if not path.exists():
        x, _ = synthetic(TRAIN_ROWS, 1)
        header = ",".join(f"input__0[{j}]" for j in range(N_FEATURES))
        np.savetxt(path, x, delimiter=",", header=header, comments="", fmt="%.4f")
    return path


def reference(model: dict, x: np.ndarray) -> np.ndarray:
    import joblib
    if model["kind"] == "xgboost":
        import xgboost as xgb
        return xgb.Booster(model_file=str(model["file"])).inplace_predict(x)
    return joblib.load(model["file"]).predict_proba(x)[:, 1]


def v2_body(x: np.ndarray, sklearn_mlserver: bool = False) -> bytes:
    body = {"inputs": [{"name": "input__0", "shape": list(x.shape), "datatype": "FP32",
                        "data": [float(f"{v:.4f}") for v in x.ravel()]}]}
    if sklearn_mlserver:  # MLServer's sklearn runtime answers predict() (labels) unless asked
        body["outputs"] = [{"name": "predict_proba"}]
    return json.dumps(body, separators=(",", ":")).encode()


def grpc_request_bin(x: np.ndarray, path: Path, sklearn_mlserver: bool = False) -> None:
    """A serialized inference.ModelInferRequest (ghz -B): raw FP32 input__0 [n, 28]."""
    from tritonclient.grpc import service_pb2 as pb
    req = pb.ModelInferRequest(model_name=MODEL_NAME)
    t = req.inputs.add(name="input__0", datatype="FP32")
    t.shape.extend(x.shape)
    req.raw_input_contents.append(np.ascontiguousarray(x, dtype="<f4").tobytes())
    if sklearn_mlserver:
        req.outputs.add(name="predict_proba")
    path.write_bytes(req.SerializeToString())


def answer_probabilities(doc: dict) -> np.ndarray:
    out = doc["outputs"][0]
    a = np.asarray(out["data"], dtype=np.float64)
    shape = out["shape"]
    if len(shape) == 2 and shape[1] == 2:  # predict_proba: [n, 2]
        a = a.reshape(shape)[:, 1]
    return a


# ----------------------------------------------------------------------------------------------
# servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tree_runq_wait_s(root: int) -> float:
    """Seconds the threads of root and its live descendants spent runnable but waiting for a CPU
    (/proc/PID/task/TID/schedstat, second field): on a shared machine, the part of the latency
    that is scheduling, not the server."""
    total = 0
    for pid in tree_pids(root):
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                total += int((task / "schedstat").read_text().split()[1])
            except (OSError, IndexError, ValueError):
                pass
    return total / 1e9


def tree_pids(root: int) -> list[int]:
    parent = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_text()
            except OSError:
                continue
            parent[int(p.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += [c for c, pp in parent.items() if pp == pid]
    return out


def tree_cpu_s(root: int) -> float:
    """utime + stime (s) of root and every live descendant (all their threads)."""
    parent, ticks = {}, {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        parent[int(p.name)] = int(fields[1])
        ticks[int(p.name)] = int(fields[11]) + int(fields[12])
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += ticks.get(pid, 0)
        todo += [c for c, pp in parent.items() if pp == pid]
    return total / CLK_TCK


class Server:
    def __init__(self, name: str, label: str, cmd: list[str], http_port: int, grpc_port: int | None,
                 workdir: Path, env: dict | None = None):
        self.name, self.label, self.http_port, self.grpc_port = name, label, http_port, grpc_port
        self.url = f"http://127.0.0.1:{http_port}"
        self.log = workdir / f"{name}.log"
        self._log_file = open(self.log, "wb")
        self.proc = subprocess.Popen(cmd, stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, **(env or {})}, cwd=workdir)

    def wait_ready(self, timeout_s: float) -> None:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout_s:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited ({self.proc.returncode}) during startup:\n"
                                 f"{self.log.read_text(errors='replace')[-3000:]}")
            try:
                r = requests.get(self.url + f"/v2/models/{MODEL_NAME}/ready" if self.name.startswith("slipway")
                                 or self.name == "mlserver" else self.url + "/v2/health/ready", timeout=2)
                if r.status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.25)
        raise BenchError(f"{self.name} not ready after {timeout_s:.0f} s:\n{self.log.read_text(errors='replace')[-3000:]}")

    def cpu_s(self) -> float:
        return tree_cpu_s(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self._log_file.close()


def ensure_mlserver_venv() -> Path:
    py = MLSERVER_VENV / "bin" / "python"
    done = MLSERVER_VENV / ".bench-ready"
    if done.exists():
        return py
    log(f"creating {MLSERVER_VENV.relative_to(REPO)} (MLServer and its runtimes)...")
    shutil.rmtree(MLSERVER_VENV, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(MLSERVER_VENV)], check=True)
    pip = [str(py), "-m", "pip", "install", "-q"]
    subprocess.run(pip + MLSERVER_PINS, check=True)
    # mlserver-xgboost depends on `xgboost` (the CUDA build); xgboost-cpu, installed above, provides
    # the same module.
    subprocess.run(pip + ["--no-deps", "mlserver-xgboost==1.7.1"], check=True)
    done.touch()
    return py


def ensure_ghz() -> Path | None:
    if GHZ.exists():
        return GHZ
    if not shutil.which("go"):
        return None
    log("building ghz v0.120.0 into bench/work/go (go install, once)...")
    env = {**os.environ, "GOPATH": str(GO_DIR), "GOFLAGS": "-mod=mod", "GOCACHE": str(GO_DIR / "cache")}
    proc = subprocess.run(["go", "install", "github.com/bojand/ghz/cmd/ghz@v0.120.0"], env=env,
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 or not GHZ.exists():
        log(f"ghz did not build (gRPC runs skipped): {proc.stderr[-1000:]}")
        return None
    return GHZ


def start_server(kind: str, model: dict, binary: Path, workdir: Path) -> Server:
    http, grpc = free_port(), free_port()
    if kind == "slipway":
        version = subprocess.run([str(binary), "--version"], capture_output=True, text=True).stdout.strip()
        cmd = [str(binary), "serve", str(model["bundle"]), "--name", MODEL_NAME, "--http-port", str(http),
               "--grpc-port", str(grpc)]
        return Server(kind, f"slipway serve ({version or 'slipway'})", cmd, http, grpc, workdir)
    if kind in ("slipway-monitored", "slipway-monitored-ref", "slipway-sampled"):
        # The same server with every prediction logged to a store and monitored inside the server
        # (drift / latency / performance windows every 5 s): the cost of monitoring, in the same run.
        store = workdir / "monitored-store"
        shutil.rmtree(store, ignore_errors=True)
        subprocess.run([str(binary), "--store", str(store), "init"], check=True, capture_output=True)
        cmd = [str(binary), "--store", str(store), "serve", str(model["bundle"]), "--name", MODEL_NAME,
               "--http-port", str(http), "--grpc-port", str(grpc), "--log-predictions", "on",
               "--monitor-interval", "5s"]
        label = "slipway serve + prediction log + monitoring"
        if kind == "slipway-sampled":  # heavy traffic: log and monitor every 10th request
            cmd += ["--log-sample-rate", "0.1"]
            label += " of 10% of requests"
        if kind == "slipway-monitored-ref":
            # Input drift too: every logged row's 28 features binned against the training data's bins
            # (a model served from a file has no lineage, so the reference is given).
            cmd += ["--reference", str(reference_csv())]
            label += " incl. input drift vs the training data"
        return Server(kind, label, cmd, http, grpc, workdir)
    if kind.startswith("fastapi"):
        import fastapi
        import uvicorn
        loop, proto, workers = {"fastapi-asyncio": ("asyncio", "h11", 1), "fastapi-uvloop": ("uvloop", "httptools", 1),
                                "fastapi-2w": ("uvloop", "httptools", 2)}[kind]
        cmd = [sys.executable, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(HERE), "--host", "127.0.0.1",
               "--port", str(http), "--loop", loop, "--http", proto, "--workers", str(workers),
               "--log-level", "warning", "--no-access-log"]
        env = {"SERVE_MODEL_KIND": model["kind"], "SERVE_MODEL_PATH": str(model["file"]),
               "SERVE_MODEL_NAME": MODEL_NAME, "OMP_NUM_THREADS": "1"}
        label = (f"FastAPI {fastapi.__version__} + uvicorn {uvicorn.__version__}, {workers} worker"
                 f"{'s' if workers > 1 else ''}, {loop}+{proto}")
        return Server(kind, label, cmd, http, None, workdir, env)
    if kind == "mlserver":
        py = ensure_mlserver_venv()
        repo = workdir / "mlserver"
        shutil.rmtree(repo, ignore_errors=True)
        (repo / MODEL_NAME).mkdir(parents=True)
        shutil.copy(model["file"], repo / MODEL_NAME / model["file"].name)
        (repo / "settings.json").write_text(json.dumps({
            "http_port": http, "grpc_port": grpc, "metrics_port": free_port(), "host": "127.0.0.1"}))
        (repo / MODEL_NAME / "model-settings.json").write_text(json.dumps({
            "name": MODEL_NAME, "implementation": model["mlserver"],
            "parameters": {"uri": f"./{model['file'].name}"}}))
        version = subprocess.run([str(py), "-c", "import mlserver; print(mlserver.__version__)"],
                                 capture_output=True, text=True).stdout.strip()
        cmd = [str(py.parent / "mlserver"), "start", str(repo)]
        return Server(kind, f"MLServer {version} ({model['mlserver'].split('.')[0]}, default settings)",
                      cmd, http, grpc, workdir, {"OMP_NUM_THREADS": "1"})
    raise ValueError(kind)


# ----------------------------------------------------------------------------------------------
# load


def slipway_metrics(server: Server) -> dict[str, tuple[float, float]]:
    """{histogram: (sum seconds, count)} summed over the model's label sets."""
    text = requests.get(server.url + "/metrics", timeout=10).text
    out: dict[str, list[float]] = {}
    for line in text.splitlines():
        m = re.match(r'nv_inference_(request_duration|queue_duration|compute_duration|server_overhead)'
                     r'(?:_seconds)?_(sum|count)\{([^}]*)\}\s+(\S+)', line)
        if m and f'model="{MODEL_NAME}"' in m.group(3):
            acc = out.setdefault(m.group(1), [0.0, 0.0])
            acc[0 if m.group(2) == "sum" else 1] += float(m.group(4))
    return {k: (v[0], v[1]) for k, v in out.items()}


def metrics_delta(before: dict, after: dict) -> dict:
    """Mean µs per request of each slipway histogram over a run."""
    res = {}
    for k, (s1, c1) in after.items():
        s0, c0 = before.get(k, (0.0, 0.0))
        if c1 > c0:
            res[f"{k}_us"] = 1e6 * (s1 - s0) / (c1 - c0)
    return res


def run_wrk(server: Server, body: Path, path: str, seconds: float, args, rate: float = 0.0) -> dict:
    script = WORK / f"wrk_{server.name}_{body.stem}_{int(rate)}.lua"
    script.write_text((HERE / "wrk.lua").read_text().replace("@BODY@", str(body)).replace("@PATH@", path)
                      .replace("@RATE@", repr(float(rate))).replace("@THREADS@", str(args.wrk_threads)))
    cmd = ["wrk", "-t", str(args.wrk_threads), "-c", str(args.connections), "-d", f"{seconds:g}s",
           "--timeout", "10s", "--latency", "-s", str(script), server.url]
    before_m = slipway_metrics(server) if server.name.startswith("slipway") else None
    cpu0, wait0 = server.cpu_s(), tree_runq_wait_s(server.proc.pid)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    cpu1, wait1 = server.cpu_s(), tree_runq_wait_s(server.proc.pid)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("WRKJSON ")), None)
    if proc.returncode != 0 or line is None:
        raise BenchError(f"wrk failed ({proc.returncode}): {proc.stdout[-1500:]} {proc.stderr[-1500:]}")
    got = json.loads(line[len("WRKJSON "):])
    errors = got["connect"] + got["read"] + got["write"] + got["timeout"] + got["status_errors"]
    ok = got["requests"] - got["status_errors"]
    secs = got["duration_us"] / 1e6
    res = {"requests": got["requests"], "errors": errors, "rps": ok / secs, "p50_ms": got["p50_us"] / 1e3,
           "p90_ms": got["p90_us"] / 1e3, "p99_ms": got["p99_us"] / 1e3, "p999_ms": got["p999_us"] / 1e3,
           "max_ms": got["max_us"] / 1e3, "cpu_us_per_req": 1e6 * (cpu1 - cpu0) / max(ok, 1),
           "server_cores": (cpu1 - cpu0) / secs, "late": got["late"],
           "runq_wait_us_per_req": 1e6 * (wait1 - wait0) / max(ok, 1)}
    if before_m is not None:
        res["slipway_metrics"] = metrics_delta(before_m, slipway_metrics(server))
    return res


def run_ghz(server: Server, request_bin: Path, seconds: float, rows: int, args) -> dict:
    cmd = [str(GHZ), "--insecure", "--proto", str(PROTO), "--call", "inference.GRPCInferenceService.ModelInfer",
           "-B", str(request_bin), "-c", str(args.grpc_concurrency), "--connections", str(args.grpc_connections),
           "-z", f"{seconds:g}s", "--max-recv-message-size", "64MB", "-O", "json",
           f"127.0.0.1:{server.grpc_port}"]
    before_m = slipway_metrics(server) if server.name == "slipway" else None
    cpu0 = server.cpu_s()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    cpu1 = server.cpu_s()
    if proc.returncode != 0:
        raise BenchError(f"ghz failed ({proc.returncode}): {proc.stdout[-1500:]} {proc.stderr[-1500:]}")
    got = json.loads(proc.stdout)
    codes = got.get("statusCodeDistribution") or {}
    ok = codes.get("OK", 0)
    # When -z runs out, ghz closes its connections under the calls still in flight (at most -c of
    # them); those fail with "use of closed network connection" and are not the server's errors.
    cut = sum(n for msg, n in (got.get("errorDistribution") or {}).items() if "use of closed network connection" in msg)
    errors = got["count"] - ok - min(cut, args.grpc_concurrency)
    secs = got["total"] / 1e9
    lat = {d["percentage"]: d["latency"] / 1e6 for d in got.get("latencyDistribution") or []}
    res = {"requests": got["count"], "errors": errors, "cut_at_end": min(cut, args.grpc_concurrency), "rps": ok / secs, "pred_s": ok * rows / secs,
           "p50_ms": lat.get(50), "p99_ms": lat.get(99), "cpu_us_per_req": 1e6 * (cpu1 - cpu0) / max(ok, 1),
           "server_cores": (cpu1 - cpu0) / secs}
    if errors:
        res["error_sample"] = str(got.get("errorDistribution"))[:300]
    if before_m is not None:
        res["slipway_metrics"] = metrics_delta(before_m, slipway_metrics(server))
    return res


def check_answers(server: Server, bodies: dict, expected: dict) -> None:
    for kind, body in bodies.items():
        r = requests.post(server.url + f"/v2/models/{MODEL_NAME}/infer", data=body.read_bytes(),
                          headers={"Content-Type": "application/json"}, timeout=60)
        if r.status_code != 200:
            raise BenchError(f"{server.name}: {kind} request -> {r.status_code}: {r.text[:500]}")
        got = answer_probabilities(r.json())
        want = expected[kind]
        if got.shape != want.shape or np.max(np.abs(got - want)) > 1e-4:
            raise BenchError(f"{server.name}: {kind} answers differ from the reference "
                             f"(max |diff| {np.max(np.abs(got - want)) if got.shape == want.shape else 'shape'}: "
                             f"{got[:4]} vs {want[:4]})")


# ----------------------------------------------------------------------------------------------
# report


def fmt(v, digits: int = 0) -> str:
    if v is None:
        return "-"
    return f"{v:,.{digits}f}"


def print_table(results: list[dict]) -> None:
    head = ("model", "load", "server", "req/s", "pred/s", "p50 ms", "p99 ms", "CPU µs/req", "srv cores",
            "slipway x thr", "slipway x CPU")
    lines = [head]
    for r in results:
        lines.append((r["model"], r["load"], r["server"], fmt(r["rps"]), fmt(r.get("pred_s")),
                      fmt(r["p50_ms"], 2), fmt(r["p99_ms"], 2), fmt(r["cpu_us_per_req"], 1),
                      fmt(r.get("server_cores"), 2),
                      "" if r.get("thr_ratio") is None else f"{r['thr_ratio']:.1f}x",
                      "" if r.get("cpu_ratio") is None else f"{r['cpu_ratio']:.1f}x"))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    for n, line in enumerate(lines):
        print("  ".join(cell.rjust(w) if i >= 3 else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))))
        if n == 0:
            print("  ".join("-" * w for w in widths))


# ----------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="slipway serve vs FastAPI/uvicorn and MLServer")
    ap.add_argument("--quick", action="store_true", help="3 s per point instead of 10")
    ap.add_argument("--seconds", type=float, default=None, help="seconds per load point")
    ap.add_argument("--bin", type=Path, default=Path(os.environ.get("SLIPWAY_BIN") or
                                                      REPO / "build/release/src/cli/slipway"))
    ap.add_argument("--models", default="xgb,lr")
    ap.add_argument("--servers", default=",".join(ALL_SERVERS))
    ap.add_argument("--loads", default="1row,1000row,paced,grpc")
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--grpc-concurrency", type=int, default=8)
    ap.add_argument("--grpc-connections", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=1,
                    help="run every server this many times, round robin, and report medians (a 2-core machine "
                         "shared with the load generator moves single runs by 5-25%%)")
    ap.add_argument("--no-save", action="store_true", help="print only; append nothing to results.jsonl")
    args = ap.parse_args(argv)
    seconds = args.seconds or (3.0 if args.quick else 10.0)
    binary = args.bin.resolve()
    if not binary.is_file():
        print(f"error: slipway binary not found at {binary} (run `make build`, or pass --bin)", file=sys.stderr)
        return 2
    if not shutil.which("wrk"):
        print("error: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    servers = [s for s in args.servers.split(",") if s]
    loads = set(args.loads.split(","))
    WORK.mkdir(parents=True, exist_ok=True)
    run_dir = WORK / "run"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir()
    context = {"loadavg_before": os.getloadavg(), "machine": machine_info(), "commit": git_commit(), "seconds": seconds,
               "connections": args.connections, "wrk_threads": args.wrk_threads,
               "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    results: list[dict] = []
    try:
        models = prepare_models(binary)
        ghz = ensure_ghz() if "grpc" in loads else None
        xs = {"1row": synthetic(1, 99)[0], "1000row": synthetic(1000, 100)[0]}
        for mname in [m for m in args.models.split(",") if m]:
            model = models[mname]
            expected = {k: reference(model, x) for k, x in xs.items()}
            for sname in [name for _ in range(max(1, args.rounds)) for name in servers]:
                mls_sk = sname == "mlserver" and model["kind"] == "sklearn"
                bodies = {}
                for k, x in xs.items():
                    bodies[k] = run_dir / f"{mname}_{k}{'_proba' if mls_sk else ''}.json"
                    bodies[k].write_bytes(v2_body(x, mls_sk))
                log(f"{mname}: starting {sname}...")
                server = start_server(sname, model, binary, run_dir)
                try:
                    server.wait_ready(120)
                    check_answers(server, bodies, expected)
                    path = f"/v2/models/{MODEL_NAME}/infer"
                    base = {"model": mname, "server": sname, "label": server.label}
                    run_wrk(server, bodies["1row"], path, min(2.0, seconds), args)  # warm-up
                    single = None
                    for load in ("1row", "1000row"):
                        if load not in loads and not (load == "1row" and "paced" in loads):
                            continue
                        res = run_wrk(server, bodies[load], path, seconds, args)
                        rows = 1 if load == "1row" else 1000
                        res["pred_s"] = res["rps"] * rows
                        results.append({**base, "load": f"http {load}", **res})
                        log(f"  {sname} http {load}: {res['rps']:,.0f} req/s p99 {res['p99_ms']:.2f} ms "
                            f"cpu {res['cpu_us_per_req']:.1f} µs/req")
                        if load == "1row":
                            single = res
                    if "paced" in loads and single is not None:
                        rate = single["rps"] / 2
                        res = run_wrk(server, bodies["1row"], path, seconds, args, rate=rate)
                        res["target_rps"] = rate
                        results.append({**base, "load": "http 1row @ half max", **res})
                        log(f"  {sname} paced @{rate:,.0f}/s: {res['rps']:,.0f} req/s p99 {res['p99_ms']:.2f} ms "
                            f"late {res['late']}, server threads waited {res['runq_wait_us_per_req']:.1f} µs/req "
                            f"for a CPU")
                    if "grpc" in loads and ghz and server.grpc_port:
                        req_bin = run_dir / f"{mname}_1000row{'_proba' if mls_sk else ''}.pb"
                        grpc_request_bin(xs["1000row"], req_bin, mls_sk)
                        res = run_ghz(server, req_bin, seconds, 1000, args)
                        results.append({**base, "load": "grpc 1000row", **res})
                        log(f"  {sname} grpc 1000row: {res['pred_s']:,.0f} pred/s p99 {res['p99_ms']} ms "
                            f"errors {res['errors']} {res.get('error_sample', '')}")
                finally:
                    server.stop()
    except BenchError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        context["loadavg_after"] = os.getloadavg()
        finish(results, context, save=not args.no_save)
    return 0


def medians(results: list[dict]) -> list[dict]:
    """One row per (model, load, server): the median run by its main measure, with every run's
    requests/s, predictions/s and CPU µs/req kept beside it (rounds > 1)."""
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["model"], r["load"], r["server"]), []).append(r)
    out = []
    for rows in groups.values():
        if len(rows) == 1:
            out.append(rows[0])
            continue
        ordered = sorted(rows, key=lambda r: r.get("pred_s") or r["rps"])
        mid = dict(ordered[(len(ordered) - 1) // 2])  # lower median: a real run, not an average
        for key in ("rps", "pred_s", "cpu_us_per_req", "p99_ms"):
            vals = [r.get(key) for r in rows if r.get(key) is not None]
            if vals:
                mid[f"{key}_values"] = vals
                mid[key] = statistics.median(vals)
        mid["rounds"] = len(rows)
        out.append(mid)
    return out


def finish(results: list[dict], context: dict, save: bool) -> None:
    if not results:
        return
    results[:] = medians(results)
    # ratios against slipway for the same model and load
    mine = {(r["model"], r["load"]): r for r in results if r["server"] == "slipway"}
    for r in results:
        s = mine.get((r["model"], r["load"]))
        if s is None or r["server"] == "slipway" or "half max" in r["load"]:
            continue  # paced runs: each server at half of its own maximum, no ratio
        r["thr_ratio"] = s["rps"] / r["rps"] if r["rps"] else None
        r["cpu_ratio"] = r["cpu_us_per_req"] / s["cpu_us_per_req"] if s["cpu_us_per_req"] else None
    print_table(results)
    print()
    for r in results:
        if r["server"] == "slipway" and r.get("slipway_metrics"):
            m = r["slipway_metrics"]
            print(f"slipway {r['model']} {r['load']}: per request (from /metrics) total "
                  f"{m.get('request_duration_us', 0):.1f} µs = queue {m.get('queue_duration_us', 0):.1f} + compute "
                  f"{m.get('compute_duration_us', 0):.1f} + server overhead {m.get('server_overhead_us', 0):.1f} µs; "
                  f"process CPU {r['cpu_us_per_req']:.1f} µs/req")
    print()
    for r in results:
        if r["server"] == "slipway" and r["model"] == "xgb":
            if r["load"] == "http 1row":
                print(f"target >= {TARGETS['single_rps']:,} single-row req/s: {r['rps']:,.0f}; "
                      f"<= {TARGETS['cpu_us']} µs CPU/req: {r['cpu_us_per_req']:.1f}")
            if r["load"] == "http 1row @ half max":
                print(f"target p99 < {TARGETS['paced_p99_ms']} ms at half max ({r['target_rps']:,.0f}/s asked, "
                      f"{r['rps']:,.0f}/s got, {r['late']} late sends): {r['p99_ms']:.2f} ms "
                      f"(server threads runnable but waiting for a CPU: {r['runq_wait_us_per_req']:.1f} µs/req)")
            if r["load"] == "grpc 1000row":
                print(f"target >= {TARGETS['grpc_pred_s']:,} predictions/s with 1,000-row gRPC: {r['pred_s']:,.0f}")
    print(f"\nload average before {context['loadavg_before'][0]:.1f}, after {context['loadavg_after'][0]:.1f} "
          f"(other processes on this machine share its {os.cpu_count()} cores)")
    if not save:
        return
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as f:
        for r in results:
            detail = {k: v for k, v in r.items() if k not in ("label", "thr_ratio", "cpu_ratio")}
            s = mine.get((r["model"], r["load"]))
            if r["server"] == "slipway" or s is None:
                rows = [{"what": f"serving {r['model']} {r['load']} throughput", "unit": "req/s", "peer": "-",
                         "slipway": r["rps"], "peer_value": None, "ratio": None}]
            else:
                rows = [{"what": f"serving {r['model']} {r['load']} throughput", "unit": "req/s", "peer": r["label"],
                         "slipway": s["rps"], "peer_value": r["rps"], "ratio": r.get("thr_ratio")},
                        {"what": f"serving {r['model']} {r['load']} server CPU per request", "unit": "us",
                         "peer": r["label"], "slipway": s["cpu_us_per_req"], "peer_value": r["cpu_us_per_req"],
                         "ratio": r.get("cpu_ratio")}]
            for row in rows:
                f.write(json.dumps({"benchmark": "serving", **row, "detail": detail, **context}) + "\n")
    print(f"results appended to {RESULTS.relative_to(REPO)}")


if __name__ == "__main__":
    sys.exit(main())
