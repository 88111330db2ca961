"""`slipway serve` feeding the prediction log, end to end: every answered request is one record with
the right id (given or generated), inputs, outputs (equal to the response) and tags (the request's
parameters); nothing answered is lost on SIGTERM right after a burst; the log counters in /metrics;
--log-predictions off / --no-log-inputs; and `slipway server --serve`, which answers KServe v2,
MLflow tracking and feedback on one port."""
from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from e2e_util import TEST_DATA, Slipway, clean_env, slipway_bin

LINEAR = TEST_DATA / "models" / "bundles" / "linear_v1.slw"  # dep_delay, distance (numeric), carrier (BYTES) -> probability
GENERATED_ID = re.compile(r"^[0-9a-f]{8}-[0-9]+$")


class ServerProcess:
    """`slipway [--store S] serve|server ARGS...` on free ports; the URL comes from the banner."""

    def __init__(self, command: str, *args: str | os.PathLike, store: Path | None = None):
        ports = ["--http-port", "0", "--grpc-port", "0"] if command == "serve" else ["--port", "0"]
        argv = [str(slipway_bin())] + (["--store", str(store)] if store else []) + [command, *ports] + \
            [str(a) for a in args]
        self.proc = subprocess.Popen(argv, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        found: queue.Queue[str] = queue.Queue()

        def pump():
            for line in self.proc.stderr:
                self.lines.append(line)
                if line.startswith("listening on http://"):
                    found.put(line.split()[-1])

        threading.Thread(target=pump, daemon=True).start()
        try:
            self.url = found.get(timeout=60)
        except queue.Empty:
            self.proc.kill()
            pytest.fail(f"slipway {command} did not say where it listens:\n" + self.stderr(), pytrace=False)
        # The banner is one write; give the pump a moment to have all of it.
        deadline = time.monotonic() + 10
        while not any(line.startswith("listening on grpc://") or line.startswith("serving model") for line in self.lines) \
                and time.monotonic() < deadline:
            time.sleep(0.01)

    def stderr(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"slipway did not exit within {timeout}s:\n{self.stderr()}", pytrace=False)


@pytest.fixture
def store(tmp_path: Path) -> Slipway:
    cli = Slipway(tmp_path / "store", cwd=tmp_path)
    cli.run("init")
    return cli


def tensors(delay: list, distance: list, carrier: list) -> list[dict]:
    n = len(delay)
    return [{"name": "dep_delay", "shape": [n], "datatype": "FP32", "data": delay},
            {"name": "distance", "shape": [n], "datatype": "FP64", "data": distance},
            {"name": "carrier", "shape": [n], "datatype": "BYTES", "data": carrier}]


def body(delay: list, distance: list, carrier: list, id: str | None = None, parameters: dict | None = None) -> dict:
    b: dict = {"inputs": tensors(delay, distance, carrier)}
    if id is not None:
        b["id"] = id
    if parameters is not None:
        b["parameters"] = parameters
    return b


def infer(url: str, b: dict, model: str = "flights", session=requests) -> dict:
    r = session.post(f"{url}/v2/models/{model}/infer", json=b, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def export(cli: Slipway, model: str, tmp_path: Path) -> list[dict]:
    out = tmp_path / f"export-{model}-{time.monotonic_ns()}.jsonl"
    cli.run("logs", "export", model, "-o", out)
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def metric(text: str, outcome: str) -> int:
    m = re.search(r'^slipway_prediction_log_records_total\{outcome="%s"\} (\d+)$' % outcome, text, re.M)
    assert m, f"no {outcome} counter in /metrics:\n{text}"
    return int(m.group(1))


# ---- what a record holds ----

def test_every_answered_request_is_one_record_with_id_inputs_outputs_and_tags(store: Slipway, tmp_path: Path):
    proc = ServerProcess("serve", LINEAR, "--name", "flights", store=store.store)
    assert f"logging predictions to {store.store / 'logs' / 'predictions'}\n" in proc.stderr(), proc.stderr()
    before_us = time.time_ns() // 1000
    sent = [
        # (body, expected tags)
        (body([5.0], [700.0], ["UA"], id="given-1"), {}),
        (body([30.5], [1000.0], ["AA"]), {}),  # no id: one is generated
        (body([-12.25, 0.0, 300.0], [2500.0, 17.0, 200.0], ["DL", "", "UA"], id="batch-1",
              parameters={"variant": "b", "n": 3, "flag": True, "x": 0.25, "timeout": 10_000_000}),
         {"variant": "b", "n": "3", "flag": "true", "x": "0.25"}),  # "timeout" is protocol, not a tag
        (body([1.5, 2.5], [100.0, None], ["B6", "EV"], parameters={"client": "web"}), {"client": "web"}),
        (body([7.0], [80.0], ["ZZ"], id="", parameters={"shadow": False}), {"shadow": "false"}),  # "" = no id
    ]
    answers = []
    try:
        for b, _ in sent:
            answers.append(infer(proc.url, b))
        # A failed request is answered with an error and not logged.
        bad = requests.post(proc.url + "/v2/models/flights/infer", json={"id": "bad-1", "inputs": tensors([1.0], [2.0], [])[:2]},
                            timeout=30)
        assert bad.status_code == 400
    finally:
        assert proc.stop() == 0, proc.stderr()
    after_us = time.time_ns() // 1000

    ids = [a["id"] for a in answers]
    assert ids[0] == "given-1" and ids[2] == "batch-1"
    for generated in (ids[1], ids[3], ids[4]):
        assert GENERATED_ID.match(generated), generated
    assert len(set(ids)) == len(ids)
    # One server process: one prefix, counting up.
    assert len({i.split("-")[0] for i in (ids[1], ids[3], ids[4])}) == 1

    records = export(store, "flights", tmp_path)
    assert [r["request_id"] for r in records] == ids
    for (b, tags), answer, rec in zip(sent, answers, records):
        assert rec["model"] == "flights" and rec["version"] == 1
        assert rec["tags"] == tags
        assert [(t["name"], t["datatype"], t["shape"]) for t in rec["inputs"]] == \
            [(t["name"], t["datatype"], t["shape"]) for t in b["inputs"]]
        for logged, given in zip(rec["inputs"], b["inputs"]):
            assert logged["data"] == given["data"], (logged, given)
        assert [(t["name"], t["datatype"], t["shape"]) for t in rec["outputs"]] == \
            [(t["name"], t["datatype"], t["shape"]) for t in answer["outputs"]]
        for logged, given in zip(rec["outputs"], answer["outputs"]):
            np.testing.assert_array_equal(np.array(logged["data"], dtype=np.float32),
                                          np.array(given["data"], dtype=np.float32))
        assert before_us <= rec["time_us"] <= after_us
        assert rec["latency_us"] >= 0
    assert "bad-1" not in ids


def test_sigterm_right_after_a_burst_keeps_every_answered_prediction(store: Slipway, tmp_path: Path):
    proc = ServerProcess("serve", LINEAR, "--name", "flights", "--threads", "2", "--max-queue-delay-us", "20000",
                         store=store.store)
    stop = threading.Event()
    lock = threading.Lock()
    sent: list[str] = []
    answered: dict[str, list] = {}
    failed: list = []

    def client(k: int):
        session = requests.Session()
        n = 0
        while not stop.is_set():
            n += 1
            rid = f"c{k}-{n}"
            rows = 1 + n % 3
            b = body([float(n % 50)] * rows, [float(100 * k + n)] * rows, ["UA"] * rows, id=rid)
            with lock:
                sent.append(rid)
            try:
                r = session.post(proc.url + "/v2/models/flights/infer", json=b, timeout=30)
            except requests.RequestException:
                continue  # refused or cut off by the shutdown: never answered
            with lock:
                if r.status_code == 200:
                    answered[rid] = r.json()["outputs"][0]["data"]
                else:
                    failed.append((r.status_code, r.text))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(answered) < 300 and time.monotonic() < deadline:
        time.sleep(0.005)
    code = proc.stop(signal.SIGTERM)
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert code == 0, proc.stderr()
    assert "stopped by signal 15; requests in flight finished" in proc.stderr()
    assert len(answered) >= 300
    # A request caught by the shutdown may be refused with an error; it must then not be logged.
    assert all(status == 503 or "shutting down" in text for status, text in failed), failed[:5]

    records = export(store, "flights", tmp_path)
    logged = [r["request_id"] for r in records]
    assert len(logged) == len(set(logged)), "a request was logged twice"
    missing = set(answered) - set(logged)
    assert not missing, f"{len(missing)} answered requests are not in the log, e.g. {sorted(missing)[:5]}"
    assert set(logged) <= set(sent)
    for rec in records:
        if rec["request_id"] in answered:
            np.testing.assert_array_equal(np.array(rec["outputs"][0]["data"], dtype=np.float32),
                                          np.array(answered[rec["request_id"]], dtype=np.float32))


def test_metrics_count_the_log_records(store: Slipway, tmp_path: Path):
    proc = ServerProcess("serve", LINEAR, "--name", "flights", store=store.store)
    try:
        for k in range(6):
            rows = 1 + k % 3
            infer(proc.url, body([1.0 * k] * rows, [500.0] * rows, ["AA"] * rows))
        requests.post(proc.url + "/v2/models/flights/infer", json={"inputs": tensors([1.0], [2.0], ["x"])[:1]},
                      timeout=30)  # 400: counted as a failed inference, not as a log record
        # The writer drains in the background: wait for it (not a timing assertion; the bound is generous).
        deadline = time.monotonic() + 30
        while True:
            text = requests.get(proc.url + "/metrics", timeout=30).text
            if metric(text, "written") == 6 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert metric(text, "appended") == 6
        assert metric(text, "written") == 6
        assert metric(text, "dropped") == 0
        assert metric(text, "failed") == 0
        assert re.search(r"^slipway_prediction_log_queue_depth 0$", text, re.M), text
        assert "# TYPE slipway_prediction_log_records_total counter" in text
        assert "# TYPE slipway_prediction_log_queue_depth gauge" in text
        m = re.search(r"^slipway_prediction_log_bytes_written_total (\d+)$", text, re.M)
        assert m and int(m.group(1)) > 0
    finally:
        assert proc.stop() == 0, proc.stderr()
    assert len(export(store, "flights", tmp_path)) == 6


# ---- switches ----

def test_log_predictions_off_writes_nothing(store: Slipway, tmp_path: Path):
    proc = ServerProcess("serve", LINEAR, "--name", "flights", "--log-predictions", "off", store=store.store)
    try:
        assert "logging predictions" not in proc.stderr()
        for _ in range(3):
            infer(proc.url, body([5.0], [700.0], ["UA"], id="x"))
        text = requests.get(proc.url + "/metrics", timeout=30).text
        assert "slipway_prediction_log" not in text
        r = requests.post(proc.url + "/v2/models/flights/feedback", json={"feedback": [{"id": "x", "label": 1}]},
                          timeout=30)
        assert r.status_code == 404  # no log, no feedback route
    finally:
        assert proc.stop() == 0, proc.stderr()
    log_dir = store.store / "logs" / "predictions"
    assert not log_dir.exists() or not any(p.is_file() for p in log_dir.rglob("*")), list(log_dir.rglob("*"))
    proc_ = store.run("logs", "export", "flights", "-o", tmp_path / "none.jsonl", check_exit=None)
    assert proc_.returncode != 0
    assert "no predictions logged for model 'flights'" in proc_.stderr


def test_auto_logs_only_where_a_store_exists_and_on_insists(tmp_path: Path):
    missing = tmp_path / "no-store"
    proc = ServerProcess("serve", LINEAR, "--name", "flights", store=missing)  # auto, no store: serves, no log
    try:
        assert "logging predictions" not in proc.stderr()
        infer(proc.url, body([5.0], [700.0], ["UA"]))
    finally:
        assert proc.stop() == 0, proc.stderr()
    assert not missing.exists()
    refused = subprocess.run([str(slipway_bin()), "--store", str(missing), "serve", LINEAR, "--http-port", "0",
                              "--grpc-port", "0", "--log-predictions", "on"], env=clean_env(), capture_output=True,
                             text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert refused.returncode != 0
    assert refused.stderr.strip() == (f"error: --log-predictions on needs a store at {missing}: run `slipway init` "
                                      "there, or pass --store")
    bad = subprocess.run([str(slipway_bin()), "serve", LINEAR, "--log-predictions", "maybe"], env=clean_env(),
                         capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert bad.returncode != 0
    assert "--log-predictions 'maybe': expected on, off or auto" in bad.stderr


def test_no_log_inputs_keeps_outputs_and_not_inputs(store: Slipway, tmp_path: Path):
    proc = ServerProcess("serve", LINEAR, "--name", "flights", "--no-log-inputs", store=store.store)
    try:
        a = infer(proc.url, body([5.0, 6.0], [700.0, 800.0], ["UA", "AA"], id="r1", parameters={"variant": "a"}))
        b = infer(proc.url, body([7.0], [900.0], ["DL"], id="r2"))
    finally:
        assert proc.stop() == 0, proc.stderr()
    records = export(store, "flights", tmp_path)
    assert [r["request_id"] for r in records] == ["r1", "r2"]
    for rec, answer in zip(records, (a, b)):
        assert rec["inputs"] is None  # nothing stored: exported as null
        assert rec["outputs"][0]["name"] == "probability"
        np.testing.assert_array_equal(np.array(rec["outputs"][0]["data"], dtype=np.float32),
                                      np.array(answer["outputs"][0]["data"], dtype=np.float32))
    assert records[0]["tags"] == {"variant": "a"}
    # Feedback still joins; segments by input are not available, by tag they are.
    store.run("monitor", "feedback", write(tmp_path / "fb.csv", "id,label\nr1#0,1\nr1#1,0\nr2,1\n"), "--model", "flights")
    perf = store.json("monitor", "performance", "flights", "--segment", "variant")
    assert perf["overall"]["labelled"] == 3
    assert [(s["value"], s["predictions"]) for s in perf["by_segment"]] == [("(missing)", 1), ("a", 2)]
    refused = store.run("monitor", "performance", "flights", "--segment", "carrier", check_exit=None)
    assert refused.returncode != 0
    assert "segment 'carrier': no input or tag of that name in the log of 'flights' (have: variant)" in refused.stderr


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# ---- slipway server --serve ----

def test_server_serve_answers_kserve_mlflow_and_feedback_on_one_port(store: Slipway, tmp_path: Path):
    proc = ServerProcess("server", "--serve", LINEAR, "--grpc-port", "0", store=store.store)
    try:
        banner = proc.stderr()
        assert "serving model 'linear_v1' version 1" in banner, banner
        assert "logging predictions to " in banner, banner
        url = proc.url
        assert requests.get(url + "/v2/health/ready", timeout=30).status_code == 200
        answer = infer(url, body([5.0, 40.0], [700.0, 300.0], ["UA", "AA"], id="one-port"), model="linear_v1")
        assert answer["id"] == "one-port" and answer["model_version"] == "1"
        r = requests.post(url + "/api/2.0/mlflow/experiments/search", json={"max_results": 10}, timeout=30)
        assert r.status_code == 200, r.text
        assert [e["name"] for e in r.json()["experiments"]] == ["Default"]
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=url)
        exp = client.create_experiment("monitor-e2e")
        assert "monitor-e2e" in [e.name for e in client.search_experiments()]
        assert client.get_experiment(exp).name == "monitor-e2e"
        r = requests.post(url + "/v2/models/linear_v1/feedback",
                          json={"feedback": [{"id": "one-port#0", "label": 1}, {"id": "one-port#1", "label": 0}]},
                          timeout=30)
        assert (r.status_code, r.json()) == (200, {"accepted": 2, "replaced": 0})
        metrics = requests.get(url + "/metrics", timeout=30).text
        assert 'nv_inference_request_success_total{model="linear_v1",version="1"} 1\n' in metrics
        assert metric(metrics, "appended") == 1
    finally:
        assert proc.stop() == 0, proc.stderr()
    assert "stopped by signal 15; requests in flight finished" in proc.stderr()
    records = export(store, "linear_v1", tmp_path)
    assert [r["request_id"] for r in records] == ["one-port"]
    perf = store.json("monitor", "performance", "linear_v1")
    assert perf["overall"]["predictions"] == 2 and perf["overall"]["labelled"] == 2
