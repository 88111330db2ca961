"""`slipway serve` over KServe v2 gRPC (inference.GRPCInferenceService): the unmodified
tritonclient.grpc against a real server process — health, metadata, inference with raw_input_contents
(what tritonclient sends) and with typed InferTensorContents (built with tritonclient's own protobuf
messages), and bad requests, each with its exact status code and message, the server still serving
after them."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from e2e_util import TEST_DATA, clean_env, slipway_bin

grpc = pytest.importorskip("grpc")
grpcclient = pytest.importorskip("tritonclient.grpc")
from tritonclient.grpc import service_pb2, service_pb2_grpc  # noqa: E402

BUNDLES = TEST_DATA / "models" / "bundles"
LINEAR = BUNDLES / "linear_v1.slw"  # inputs dep_delay, distance (numeric), carrier (BYTES); output probability
MLP = BUNDLES / "mlp_v1.slw"        # inputs a, b; outputs prob_setosa, prob_versicolor, prob_virginica


class ServeProcess:
    """`slipway serve` on free ports; .http and .grpc are host:port."""

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
                if line.startswith("listening on "):
                    found.put(line.split()[-1])

        threading.Thread(target=pump, daemon=True).start()
        urls = {}
        try:
            while len(urls) < 2:
                url = found.get(timeout=60)
                scheme, _, hostport = url.partition("://")
                urls[scheme] = hostport
        except queue.Empty:
            self.proc.kill()
            pytest.fail("slipway serve did not say where it listens (http and grpc):\n" + self.stderr(), pytrace=False)
        self.http = urls["http"]
        self.grpc = urls["grpc"]

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


@pytest.fixture(scope="module")
def linear():
    proc = ServeProcess(LINEAR, "--name", "flights", "--threads", "2", "--max-body-mb", "1")
    yield proc
    assert proc.stop() == 0, proc.stderr()


@pytest.fixture(scope="module")
def stub(linear: ServeProcess):
    channel = grpc.insecure_channel(linear.grpc)
    yield service_pb2_grpc.GRPCInferenceServiceStub(channel)
    channel.close()


DELAY = np.array([5.0, np.nan, -20.0, 300.0], dtype=np.float32)
DISTANCE = np.array([700, 200, 2500, 17], dtype=np.float64)
CARRIER = np.array([b"UA", b"AA", b"ZZ", b""], dtype=np.object_)


def triton_inputs():
    inputs = [grpcclient.InferInput("dep_delay", [4], "FP32"), grpcclient.InferInput("distance", [4], "FP64"),
              grpcclient.InferInput("carrier", [4], "BYTES")]
    inputs[0].set_data_from_numpy(DELAY)
    inputs[1].set_data_from_numpy(DISTANCE)
    inputs[2].set_data_from_numpy(CARRIER)
    return inputs


def typed_request(**override) -> service_pb2.ModelInferRequest:
    """The same four rows as typed contents (fp32_contents, fp64_contents, bytes_contents)."""
    req = service_pb2.ModelInferRequest(model_name="flights", id="typed-1")
    tensors = {
        "dep_delay": ("FP32", [4], dict(fp32_contents=DELAY.tolist())),
        "distance": ("FP64", [4], dict(fp64_contents=DISTANCE.tolist())),
        "carrier": ("BYTES", [4], dict(bytes_contents=list(CARRIER))),
    }
    for name, value in override.items():
        if value is None:
            tensors.pop(name)
        else:
            tensors[name] = value
    for name, (datatype, shape, contents) in tensors.items():
        t = req.inputs.add(name=name, datatype=datatype, shape=shape)
        t.contents.CopyFrom(service_pb2.InferTensorContents(**contents))
    return req


def assert_serving(stub) -> None:
    resp = stub.ModelInfer(typed_request(), timeout=30)
    assert len(resp.outputs[0].contents.fp32_contents) == 4


# ---- tritonclient.grpc ----

def test_tritonclient_grpc_health_and_metadata(linear: ServeProcess):
    client = grpcclient.InferenceServerClient(linear.grpc)
    assert client.is_server_live()
    assert client.is_server_ready()
    assert client.is_model_ready("flights")
    assert client.is_model_ready("flights", "1")
    meta = client.get_server_metadata(as_json=True)
    assert meta["name"] == "slipway"
    md = client.get_model_metadata("flights", as_json=True)
    assert md["name"] == "flights"
    assert md["versions"] == ["1"]
    assert [(i["name"], i["datatype"], i["shape"]) for i in md["inputs"]] == [
        ("dep_delay", "FP32", ["-1"]), ("distance", "FP32", ["-1"]), ("carrier", "BYTES", ["-1"])]
    assert [(o["name"], o["datatype"], o["shape"]) for o in md["outputs"]] == [("probability", "FP32", ["-1"])]
    client.close()


def test_tritonclient_grpc_infer_raw_matches_rest(linear: ServeProcess):
    import tritonclient.http as httpclient

    client = grpcclient.InferenceServerClient(linear.grpc)
    result = client.infer("flights", triton_inputs(), outputs=[grpcclient.InferRequestedOutput("probability")],
                          request_id="g1")
    response = result.get_response()
    assert response.id == "g1"
    assert response.model_name == "flights"
    assert response.model_version == "1"
    assert len(response.raw_output_contents) == 1  # raw in, raw out
    probability = result.as_numpy("probability")
    assert probability.dtype == np.float32 and probability.shape == (4,)
    assert np.all((probability > 0) & (probability < 1))

    # The same rows over REST give the same numbers, bit for bit.
    http = httpclient.InferenceServerClient(linear.http)
    inputs = [httpclient.InferInput("dep_delay", [4], "FP32"), httpclient.InferInput("distance", [4], "FP64"),
              httpclient.InferInput("carrier", [4], "BYTES")]
    inputs[0].set_data_from_numpy(DELAY)
    inputs[1].set_data_from_numpy(DISTANCE)
    inputs[2].set_data_from_numpy(CARRIER)
    np.testing.assert_array_equal(http.infer("flights", inputs).as_numpy("probability"), probability)

    # No outputs named: every output; a version named: that version.
    again = client.infer("flights", triton_inputs(), model_version="1")
    np.testing.assert_array_equal(again.as_numpy("probability"), probability)

    # The async API (callbacks) of the same client.
    done: queue.Queue = queue.Queue()
    client.async_infer("flights", triton_inputs(), callback=lambda result, error: done.put((result, error)))
    result, error = done.get(timeout=30)
    assert error is None
    np.testing.assert_array_equal(result.as_numpy("probability"), probability)
    client.close()


def test_typed_contents_in_typed_contents_out(linear: ServeProcess, stub):
    resp = stub.ModelInfer(typed_request(), timeout=30)
    assert resp.id == "typed-1"
    assert len(resp.raw_output_contents) == 0
    assert [(o.name, o.datatype, list(o.shape)) for o in resp.outputs] == [("probability", "FP32", [4])]
    typed = np.array(resp.outputs[0].contents.fp32_contents, dtype=np.float32)

    client = grpcclient.InferenceServerClient(linear.grpc)
    raw = client.infer("flights", triton_inputs()).as_numpy("probability")
    np.testing.assert_array_equal(typed, raw)
    client.close()

    # Integer contents are widened like any other numeric input: INT32 distance in int_contents.
    ints = typed_request(distance=("INT32", [4], dict(int_contents=[700, 200, 2500, 17])))
    np.testing.assert_array_equal(np.array(stub.ModelInfer(ints).outputs[0].contents.fp32_contents, np.float32), typed)


def test_packed_input_over_grpc():
    proc = ServeProcess(MLP)
    try:
        client = grpcclient.InferenceServerClient(proc.grpc)
        x = np.array([[0.5, -1.0], [2.0, 3.0]], dtype=np.float32)
        packed = grpcclient.InferInput("input__0", [2, 2], "FP32")
        packed.set_data_from_numpy(x)
        matrix = client.infer("mlp_v1", [packed], outputs=[grpcclient.InferRequestedOutput("output__0")]) \
            .as_numpy("output__0")
        assert matrix.shape == (2, 3)
        np.testing.assert_allclose(matrix.sum(axis=1), [1, 1], rtol=1e-5)
        client.close()
    finally:
        assert proc.stop() == 0, proc.stderr()


# ---- bad requests: exact status code and message, and the server keeps serving ----

BAD = [
    ("unknown model", lambda: service_pb2.ModelInferRequest(model_name="nope"),
     grpc.StatusCode.NOT_FOUND, "unknown model 'nope'"),
    ("unknown version", lambda: _with_version(typed_request(), "7"),
     grpc.StatusCode.NOT_FOUND, "model 'flights' has no version '7' (serving version 1)"),
    ("unknown datatype", lambda: typed_request(distance=("DOUBLE", [4], dict(fp64_contents=[1, 2, 3, 4]))),
     grpc.StatusCode.INVALID_ARGUMENT,
     "input 'distance' has unknown datatype 'DOUBLE' (BOOL, INT8..INT64, UINT8..UINT64, FP16, FP32, FP64, BYTES)"),
    ("too few values", lambda: typed_request(distance=("FP64", [4], dict(fp64_contents=[1.0, 2.0]))),
     grpc.StatusCode.INVALID_ARGUMENT, "input 'distance' has 2 values, shape [4] needs 4"),
    ("values in the wrong field", lambda: typed_request(dep_delay=("FP32", [4], dict(fp64_contents=[1, 2, 3, 4]))),
     grpc.StatusCode.INVALID_ARGUMENT,
     "input 'dep_delay' is FP32 but its values are in fp64_contents (expected fp32_contents)"),
    ("out of range for INT8", lambda: typed_request(distance=("INT8", [4], dict(int_contents=[1, 2, 300, 4]))),
     grpc.StatusCode.INVALID_ARGUMENT, "input 'distance' value 2 (300) is out of range for INT8"),
    ("FP16 as typed contents", lambda: typed_request(distance=("FP16", [4], dict())),
     grpc.StatusCode.INVALID_ARGUMENT,
     "input 'distance': FP16 data must be sent in raw_input_contents (it has no typed contents field)"),
    ("huge shape", lambda: typed_request(distance=("FP64", [1 << 20, 1 << 20], dict())),
     grpc.StatusCode.INVALID_ARGUMENT, "input 'distance' has shape [1048576, 1048576]: more than 67108864 elements"),
    ("negative shape", lambda: typed_request(distance=("FP64", [-1], dict())),
     grpc.StatusCode.INVALID_ARGUMENT, "input 'distance' shape [-1] must hold non-negative integers"),
    ("missing input", lambda: typed_request(carrier=None),
     grpc.StatusCode.INVALID_ARGUMENT, None),  # the core's message, checked against REST below
    ("bad timeout parameter", lambda: _with_param(typed_request(), "timeout", string_param="soon"),
     grpc.StatusCode.INVALID_ARGUMENT, "request parameter 'timeout' must be a non-negative integer (µs)"),
]


def _with_version(req, version):
    req.model_version = version
    return req


def _with_param(req, name, **value):
    req.parameters[name].CopyFrom(service_pb2.InferParameter(**value))
    return req


def raw_request(raw: list[bytes], inputs=(("dep_delay", "FP32"), ("distance", "FP64"), ("carrier", "BYTES"))):
    req = service_pb2.ModelInferRequest(model_name="flights")
    for name, datatype in inputs:
        req.inputs.add(name=name, datatype=datatype, shape=[1])
    req.raw_input_contents.extend(raw)
    return req


GOOD_RAW = [np.float32(5).tobytes(), np.float64(700).tobytes(), (2).to_bytes(4, "little") + b"UA"]

BAD_RAW = [
    ("raw size off", lambda: raw_request([b"\0\0\0"] + GOOD_RAW[1:]),
     "input 'dep_delay' has 3 bytes in raw_input_contents, shape [1] of FP32 needs 4"),
    ("raw count off", lambda: raw_request(GOOD_RAW[:1]),
     "the request has 1 raw_input_contents for 3 inputs (one per input, in order)"),
    ("raw BYTES truncated", lambda: raw_request(GOOD_RAW[:2] + [(9).to_bytes(4, "little") + b"UA"]),
     "input 'carrier': raw BYTES element 0 is truncated"),
    ("raw and typed mixed", lambda: _mixed(),
     "input 'dep_delay' has contents although the request uses raw_input_contents (use one or the other)"),
]


def _mixed():
    req = raw_request(GOOD_RAW)
    req.inputs[0].contents.fp32_contents.append(5.0)
    return req


@pytest.mark.parametrize("what,make,code,message", BAD, ids=[b[0] for b in BAD])
def test_bad_typed_requests(stub, what, make, code, message):
    with pytest.raises(grpc.RpcError) as err:
        stub.ModelInfer(make(), timeout=30)
    assert err.value.code() == code, err.value.details()
    if message is not None:
        assert err.value.details() == message
    assert_serving(stub)


@pytest.mark.parametrize("what,make,message", BAD_RAW, ids=[b[0] for b in BAD_RAW])
def test_bad_raw_requests(stub, what, make, message):
    assert stub.ModelInfer(raw_request(GOOD_RAW), timeout=30).raw_output_contents  # the good one works
    with pytest.raises(grpc.RpcError) as err:
        stub.ModelInfer(make(), timeout=30)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT, err.value.details()
    assert err.value.details() == message
    assert_serving(stub)


def test_missing_input_says_the_same_as_rest(linear: ServeProcess, stub):
    import requests

    with pytest.raises(grpc.RpcError) as err:
        stub.ModelInfer(typed_request(carrier=None), timeout=30)
    body = {"inputs": [{"name": "dep_delay", "shape": [1], "datatype": "FP32", "data": [5.0]},
                      {"name": "distance", "shape": [1], "datatype": "FP64", "data": [700]}]}
    rest = requests.post(f"http://{linear.http}/v2/models/flights/infer", json=body, timeout=30)
    assert rest.status_code == 400
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.details() == rest.json()["error"]
    assert "carrier" in err.value.details()


def test_metadata_and_ready_errors(stub):
    with pytest.raises(grpc.RpcError) as err:
        stub.ModelMetadata(service_pb2.ModelMetadataRequest(name="nope"), timeout=30)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.NOT_FOUND, "unknown model 'nope'")
    with pytest.raises(grpc.RpcError) as err:
        stub.ModelReady(service_pb2.ModelReadyRequest(name="flights", version="9"), timeout=30)
    assert (err.value.code(), err.value.details()) == (
        grpc.StatusCode.NOT_FOUND, "model 'flights' has no version '9' (serving version 1)")


def test_oversize_message_is_refused_before_it_is_read(stub):
    # --max-body-mb 1: a 2 MiB request never reaches the model.
    big = typed_request(dep_delay=("FP32", [4], dict(fp32_contents=DELAY.tolist())))
    big.id = "x" * (2 << 20)
    with pytest.raises(grpc.RpcError) as err:
        stub.ModelInfer(big, timeout=30)
    assert err.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert_serving(stub)


def test_port_in_use_is_a_clear_error(linear: ServeProcess):
    port = linear.grpc.rsplit(":", 1)[1]
    proc = subprocess.run([str(slipway_bin()), "serve", str(LINEAR), "--http-port", "0", "--grpc-port", port],
                          env=clean_env(), capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode != 0
    assert f"error: cannot listen for gRPC on 127.0.0.1:{port} (is the port in use, or the address not local?)" \
        in proc.stderr


def test_sigterm_under_load_answers_or_refuses_every_call():
    """Four clients call in a loop while the server gets SIGTERM: it exits 0, and every call either
    succeeded or was refused whole (UNAVAILABLE once the listener is gone; CANCELLED for a call that
    reached a server already shutting down) — none fails half way (INTERNAL, UNKNOWN, ...)."""
    import time

    proc = ServeProcess(LINEAR, "--name", "flights")
    outcomes: list[str] = []
    stop = threading.Event()

    def loop():
        client = grpcclient.InferenceServerClient(proc.grpc)
        while not stop.is_set():
            try:
                result = client.infer("flights", triton_inputs())
                assert result.as_numpy("probability").shape == (4,)
                outcomes.append("ok")
            except grpcclient.InferenceServerException as e:
                outcomes.append(e.status())
                time.sleep(0.01)
        client.close()

    threads = [threading.Thread(target=loop) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        deadline = time.time() + 60
        while outcomes.count("ok") < 200 and time.time() < deadline:
            time.sleep(0.05)
    finally:
        code = proc.stop()
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert code == 0, proc.stderr()
    assert outcomes.count("ok") >= 200
    refused = {o for o in outcomes if o != "ok"}
    assert refused <= {"StatusCode.UNAVAILABLE", "StatusCode.CANCELLED"}, refused
