"""`slipway serve` over KServe v2 REST: the unmodified tritonclient.http against a real server
process, a malformed-request corpus (each with its exact status and message, the server still
serving after), hot swap under load with zero failed requests, SIGTERM losing no accepted
request, and /metrics checked by promtool."""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from e2e_util import TEST_DATA, Slipway, clean_env, slipway_bin

BUNDLES = TEST_DATA / "models" / "bundles"
LINEAR = BUNDLES / "linear_v1.slw"        # inputs dep_delay, distance (numeric), carrier (BYTES); output probability
LINEAR_L1 = BUNDLES / "linear_l1_v2.slw"  # the same signature, other predictions
MLP = BUNDLES / "mlp_v1.slw"              # inputs a, b; outputs prob_setosa, prob_versicolor, prob_virginica


class ServeProcess:
    def __init__(self, *args: str | os.PathLike, store: Path | None = None):
        argv = [str(slipway_bin())] + (["--store", str(store)] if store else []) + \
            ["serve", "--http-port", "0", "--grpc-port", "0", *[str(a) for a in args]]
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
            pytest.fail("slipway serve did not say where it listens:\n" + self.stderr(), pytrace=False)
        self.hostport = self.url.removeprefix("http://")

    def stderr(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"slipway serve did not exit within {timeout}s:\n{self.stderr()}", pytrace=False)


@pytest.fixture
def linear(tmp_path: Path):
    proc = ServeProcess(LINEAR, "--name", "flights", "--threads", "2", "--max-body-mb", "1",
                        "--request-timeout-ms", "1500")
    yield proc
    assert proc.stop() == 0, proc.stderr()


def infer_body(rows: int = 1, **override) -> dict:
    inputs = {
        "dep_delay": {"name": "dep_delay", "shape": [rows], "datatype": "FP32", "data": [5.0] * rows},
        "distance": {"name": "distance", "shape": [rows], "datatype": "FP64", "data": [700] * rows},
        "carrier": {"name": "carrier", "shape": [rows], "datatype": "BYTES", "data": ["UA"] * rows},
    }
    for name, value in override.items():
        if value is None:
            inputs.pop(name)
        else:
            inputs[name] = value
    return {"id": "1", "inputs": list(inputs.values())}


def assert_serving(url: str):
    r = requests.post(url + "/v2/models/flights/infer", json=infer_body(), timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["outputs"][0]["name"] == "probability"


# ---- tritonclient ----

def test_tritonclient_http_json_and_binary(linear: ServeProcess):
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(linear.hostport)
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("flights")
    assert client.get_server_metadata()["name"] == "slipway"
    md = client.get_model_metadata("flights")
    assert md["versions"] == ["1"]
    assert [(i["name"], i["datatype"], i["shape"]) for i in md["inputs"]] == [
        ("dep_delay", "FP32", [-1]), ("distance", "FP32", [-1]), ("carrier", "BYTES", [-1])]
    assert [(o["name"], o["datatype"], o["shape"]) for o in md["outputs"]] == [("probability", "FP32", [-1])]

    delay = np.array([5.0, 0.0, -20.0, 300.0], dtype=np.float32)
    distance = np.array([700, 200, 2500, 17], dtype=np.float64)
    carrier = np.array([b"UA", b"AA", b"ZZ", b""], dtype=np.object_)
    results = {}
    for binary in (True, False):
        inputs = [httpclient.InferInput("dep_delay", [4], "FP32"), httpclient.InferInput("distance", [4], "FP64"),
                  httpclient.InferInput("carrier", [4], "BYTES")]
        inputs[0].set_data_from_numpy(delay, binary_data=binary)
        inputs[1].set_data_from_numpy(distance, binary_data=binary)
        inputs[2].set_data_from_numpy(carrier, binary_data=binary)
        outputs = [httpclient.InferRequestedOutput("probability", binary_data=binary)]
        result = client.infer("flights", inputs, outputs=outputs, request_id=f"r{binary}")
        assert result.get_response()["id"] == f"r{binary}"
        assert result.get_response()["model_version"] == "1"
        results[binary] = result.as_numpy("probability")
    assert results[True].dtype == np.float32 and results[True].shape == (4,)
    np.testing.assert_allclose(results[True], results[False], rtol=1e-6)
    assert np.all((results[True] > 0) & (results[True] < 1))
    # NaN (binary) and null (JSON) are both a missing value.
    missing = httpclient.InferInput("dep_delay", [1], "FP32")
    missing.set_data_from_numpy(np.array([np.nan], dtype=np.float32))
    rest = [httpclient.InferInput("distance", [1], "FP64"), httpclient.InferInput("carrier", [1], "BYTES")]
    rest[0].set_data_from_numpy(distance[:1])
    rest[1].set_data_from_numpy(carrier[:1])
    nan_result = client.infer("flights", [missing, *rest]).as_numpy("probability")
    body = infer_body(dep_delay={"name": "dep_delay", "shape": [1], "datatype": "FP32", "data": [None]})
    null_result = requests.post(linear.url + "/v2/models/flights/infer", json=body, timeout=30).json()
    assert null_result["outputs"][0]["data"] == [pytest.approx(float(nan_result[0]), rel=1e-6)]
    # No outputs named: tritonclient asks for binary_data_output and gets every output.
    inputs = [httpclient.InferInput("dep_delay", [4, 1], "FP32"), httpclient.InferInput("distance", [4, 1], "FP64"),
              httpclient.InferInput("carrier", [4, 1], "BYTES")]
    inputs[0].set_data_from_numpy(delay.reshape(4, 1))
    inputs[1].set_data_from_numpy(distance.reshape(4, 1))
    inputs[2].set_data_from_numpy(carrier.reshape(4, 1))
    np.testing.assert_array_equal(client.infer("flights", inputs, model_version="1").as_numpy("probability"),
                                  results[True])
    # Errors come back as InferenceServerException with the server's message.
    with pytest.raises(httpclient.InferenceServerException, match="missing input 'carrier'"):
        client.infer("flights", inputs[:2])
    with pytest.raises(httpclient.InferenceServerException, match="model 'flights' has no version '7'"):
        client.infer("flights", inputs, model_version="7")


def test_packed_input_for_an_all_numeric_model(tmp_path: Path):
    import tritonclient.http as httpclient

    proc = ServeProcess(MLP)
    try:
        client = httpclient.InferenceServerClient(proc.hostport)
        x = np.array([[0.5, -1.0], [2.0, 3.0]], dtype=np.float32)
        packed = httpclient.InferInput("input__0", [2, 2], "FP32")
        packed.set_data_from_numpy(x)
        r = client.infer("mlp_v1", [packed], outputs=[httpclient.InferRequestedOutput("output__0")])
        matrix = r.as_numpy("output__0")
        assert matrix.shape == (2, 3)
        np.testing.assert_allclose(matrix.sum(axis=1), [1, 1], rtol=1e-5)
        a = httpclient.InferInput("a", [2], "FP32")
        a.set_data_from_numpy(x[:, 0].copy())
        b = httpclient.InferInput("b", [2], "FP32")
        b.set_data_from_numpy(x[:, 1].copy())
        r2 = client.infer("mlp_v1", [a, b])
        np.testing.assert_array_equal(r2.as_numpy("prob_virginica"), matrix[:, 2])
    finally:
        assert proc.stop() == 0


# ---- malformed requests ----

def raw_exchange(hostport: str, data: bytes, timeout: float = 10) -> bytes:
    host, port = hostport.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)


CORPUS = [
    # (what, body (str: raw text, dict: JSON), status, message)
    ("bad JSON", '{"inputs": [', 400,
     "malformed JSON in the request body: parse error at line 1, column 13: syntax error while parsing value - "
     "unexpected end of input; expected '[', '{', or a literal"),
    ("not an object", "[1, 2]", 400, "the request body must be a JSON object, got an array"),
    ("no inputs", {"id": "x"}, 400, "the request needs an 'inputs' array"),
    ("wrong value type", infer_body(dep_delay={"name": "dep_delay", "shape": [1], "datatype": "FP32", "data": ["5"]}),
     400, "input 'dep_delay' value 0 is a string, expected a number or null (FP32)"),
    ("wrong datatype", infer_body(carrier={"name": "carrier", "shape": [1], "datatype": "FP32", "data": [1]}),
     400, "input 'carrier' has datatype FP32, expected BYTES (a categorical input)"),
    ("unknown datatype", infer_body(distance={"name": "distance", "shape": [1], "datatype": "DOUBLE", "data": [1]}),
     400, "input 'distance' has unknown datatype 'DOUBLE' (BOOL, INT8..INT64, UINT8..UINT64, FP16, FP32, FP64, BYTES)"),
    ("wrong shape", infer_body(distance={"name": "distance", "shape": [1, 2], "datatype": "FP32", "data": [1, 2]}),
     400, "input 'distance' has shape [1, 2], expected [-1] or [-1, 1]"),
    ("rows disagree", infer_body(distance={"name": "distance", "shape": [2], "datatype": "FP32", "data": [1, 2]}),
     400, "input 'distance' has 2 rows but input 'dep_delay' has 1"),
    ("data shorter than shape", infer_body(distance={"name": "distance", "shape": [3], "datatype": "FP32", "data": [1]}),
     400, "input 'distance' has 1 values, shape [3] needs 3"),
    ("huge shape", infer_body(distance={"name": "distance", "shape": [1000000000, 1000000000], "datatype": "FP32",
                                        "data": [1]}),
     400, "input 'distance' has shape [1000000000, 1000000000]: more than 67108864 elements"),
    ("missing input", infer_body(carrier=None), 400,
     "missing input 'carrier': model 'flights' takes dep_delay, distance, carrier"),
    ("unknown input", infer_body(speed={"name": "speed", "shape": [1], "datatype": "FP32", "data": [1]}), 400,
     "unknown input 'speed': model 'flights' takes dep_delay, distance, carrier"),
    ("infinite value", infer_body(distance={"name": "distance", "shape": [1], "datatype": "FP64", "data": [1e309]}),
     400, None),  # 1e309 is not valid JSON for every parser; the message is checked below only for status
    ("unknown output", {**infer_body(), "outputs": [{"name": "score"}]}, 400,
     "unknown output 'score': model 'flights' has probability, output__0"),
]


@pytest.mark.parametrize("what,body,status,message", CORPUS, ids=[c[0] for c in CORPUS])
def test_malformed_request_corpus(linear: ServeProcess, what, body, status, message):
    data = body if isinstance(body, str) else json.dumps(body)
    r = requests.post(linear.url + "/v2/models/flights/infer", data=data,
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"] == "application/json"
    if message is not None:
        assert r.json() == {"error": message}
    assert_serving(linear.url)


def test_protocol_errors_and_limits(linear: ServeProcess):
    url = linear.url
    r = requests.post(url + "/v2/models/nope/infer", json=infer_body(), timeout=30)
    assert (r.status_code, r.json()) == (404, {"error": "unknown model 'nope'"})
    r = requests.get(url + "/v2/models/flights/versions/3", timeout=30)
    assert (r.status_code, r.json()) == (404, {"error": "model 'flights' has no version '3' (serving version 1)"})
    r = requests.get(url + "/v2/nothing", timeout=30)
    assert r.status_code == 404 and "error" in r.json()
    r = requests.get(url + "/v2/models/flights/infer", timeout=30)
    assert r.status_code == 405 and "error" in r.json()
    # Oversize (the fixture serves with --max-body-mb 1).
    r = requests.post(url + "/v2/models/flights/infer", data=b"x" * (2 << 20), timeout=30)
    # The HTTP layer answers before reading the body, in the KServe error shape of the /v2 path.
    assert r.status_code == 413
    assert "request body is larger than the limit of 1048576 bytes" in r.json()["error"]
    # Binary extension whose header length runs past the body.
    r = requests.post(url + "/v2/models/flights/infer", data=b"{}", timeout=30,
                      headers={"Inference-Header-Content-Length": "10"})
    assert (r.status_code, r.json()) == (400, {"error": "Inference-Header-Content-Length 10 is larger than the body (2 bytes)"})
    # Truncated body: the client promises more than it sends and hangs up; no answer, no harm.
    answer = raw_exchange(linear.hostport, b"POST /v2/models/flights/infer HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 500\r\n\r\n{\"inputs\": [")
    assert answer == b""
    # Garbage instead of HTTP.
    answer = raw_exchange(linear.hostport, b"\x16\x03\x01 hello\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert_serving(url)


def test_slowloris_does_not_hold_the_server(linear: ServeProcess):
    host, port = linear.hostport.rsplit(":", 1)
    slow = [socket.create_connection((host, int(port)), timeout=30) for _ in range(8)]
    for s in slow:
        s.sendall(b"POST /v2/models/flights/infer HTTP/1.1\r\nHost: x\r\n")
    started = time.monotonic()
    for _ in range(20):  # served while the slow clients trickle
        assert_serving(linear.url)
    closed = 0
    for s in slow:  # --request-timeout-ms 1500: each slow client is cut off
        try:
            s.sendall(b"X-Slow: 1\r\n")
            s.settimeout(20)
            if s.recv(1) == b"":
                closed += 1
        except OSError:
            closed += 1
        s.close()
    assert closed == len(slow)
    assert time.monotonic() - started < 20
    assert_serving(linear.url)


# ---- hot swap, shutdown, metrics ----

def load(url: str, stop: threading.Event, results: list, lock: threading.Lock):
    session = requests.Session()
    body = json.dumps(infer_body(2))
    while not stop.is_set():
        try:
            r = session.post(url + "/v2/models/flights/infer", data=body, timeout=30)
            outcome = (r.status_code, r.json().get("model_version") if r.status_code == 200 else r.text)
        except requests.RequestException as e:
            outcome = (0, str(e))
        with lock:
            results.append(outcome)


def test_hot_swap_of_a_bundle_file_under_load_fails_no_request(tmp_path: Path):
    served = tmp_path / "flights.slw"
    shutil.copy(LINEAR, served)
    proc = ServeProcess(served, "--threads", "2", "--max-queue-delay-us", "500")
    stop = threading.Event()
    results: list = []
    lock = threading.Lock()
    threads = [threading.Thread(target=load, args=(proc.url, stop, results, lock)) for _ in range(4)]
    try:
        for t in threads:
            t.start()
        time.sleep(0.5)
        broken = tmp_path / "broken.slw"
        broken.write_bytes(b"SLWMODEL but not really")
        os.replace(broken, served)  # version 2 fails to load: 1 keeps serving
        deadline = time.monotonic() + 30
        while "version 2 failed to load" not in proc.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "model 'flights': version 2 failed to load, still serving version 1: " in proc.stderr()
        staged = tmp_path / "staged.slw"
        shutil.copy(LINEAR_L1, staged)
        os.replace(staged, served)
        while "now serving version 3" not in proc.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "model 'flights': now serving version 3 (was 1)" in proc.stderr()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert proc.stop() == 0, proc.stderr()
    failures = [r for r in results if r[0] != 200]
    assert failures == []
    versions = [r[1] for r in results]
    assert versions[0] == "1" and versions[-1] == "3" and set(versions) == {"1", "3"}
    assert len(results) > 100


def test_sigterm_answers_every_accepted_request(tmp_path: Path):
    proc = ServeProcess(LINEAR, "--name", "flights", "--threads", "2", "--max-queue-delay-us", "20000")
    stop = threading.Event()
    results: list = []
    lock = threading.Lock()
    threads = [threading.Thread(target=load, args=(proc.url, stop, results, lock)) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(results) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.stop(signal.SIGTERM) == 0, proc.stderr()
    stop.set()
    for t in threads:
        t.join(timeout=60)
    assert "stopped by signal 15; requests in flight finished" in proc.stderr()
    # Every request the server answered got its prediction; the rest never reached it (refused or
    # closed before they were read), none got an error status.
    statuses = {r[0] for r in results}
    assert statuses <= {200, 0}, [r for r in results if r[0] not in (200, 0)][:5]
    assert sum(1 for r in results if r[0] == 200) >= 300


def test_metrics_pass_promtool(linear: ServeProcess):
    for _ in range(5):
        assert_serving(linear.url)
    requests.post(linear.url + "/v2/models/flights/infer", json=infer_body(carrier=None), timeout=30)
    r = requests.get(linear.url + "/metrics", timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = r.text
    assert 'nv_inference_request_success_total{model="flights",version="1"} 5\n' in text
    assert 'nv_inference_request_failure_total{model="flights",version="1"} 1\n' in text
    assert 'nv_inference_request_duration_seconds_count{model="flights",version="1"} 5\n' in text
    assert "process_cpu_seconds_total " in text and "process_resident_memory_bytes " in text
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool (Debian package prometheus) is not installed")
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_registry_alias_move_hot_swaps_under_load_and_records_the_deployment(tmp_path: Path):
    store = tmp_path / "store"
    cli = Slipway(store)
    cli.run("init")
    cli.run("models", "register", LINEAR, "--name", "flights", "--alias", "champion")
    proc = ServeProcess("flights@champion", "--threads", "2", store=store)
    stop = threading.Event()
    results: list = []
    lock = threading.Lock()
    threads = [threading.Thread(target=load, args=(proc.url, stop, results, lock)) for _ in range(4)]
    try:
        assert "serving model 'flights' version 1" in proc.stderr()
        refused = cli.run("models", "archive", "flights/1", check_exit=None)
        assert refused.returncode != 0 and "deploy" in refused.stderr, refused.stderr
        for t in threads:
            t.start()
        time.sleep(0.5)
        cli.run("models", "register", LINEAR_L1, "--name", "flights")
        cli.run("models", "alias", "flights", "champion", "2")
        deadline = time.monotonic() + 30
        while "now serving version 2" not in proc.stderr() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "model 'flights': now serving version 2 (was 1)" in proc.stderr()
        time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
        assert proc.stop() == 0, proc.stderr()
    assert [r for r in results if r[0] != 200] == []
    assert {r[1] for r in results} == {"1", "2"}
    cli.run("models", "archive", "flights/1")  # no longer deployed
