"""Raw HTTP against `slipway server`: malformed and invalid requests each get their exact status
and message and the server keeps serving; every route in docs/api/tracking.openapi.yaml is served;
SIGTERM drains in-flight requests and exits 0 without losing an acknowledged write."""
from __future__ import annotations

import re
import signal
import threading
from pathlib import Path

import requests
import yaml

from e2e_util import REPO_ROOT
from test_server_support import ServerProcess, server, wait_until  # noqa: F401  (fixture)

MLFLOW = "/api/2.0/mlflow"
ZERO_RUN = "0" * 32


def post(url: str, path: str, body=None, data=None, headers=None):
    return requests.post(url + path, json=body, data=data, headers=headers, timeout=60)


def new_run(url: str) -> str:
    r = post(url, f"{MLFLOW}/runs/create", {"experiment_id": "0", "run_name": "raw", "start_time": 1})
    assert r.status_code == 200, r.text
    return r.json()["run"]["info"]["run_id"]


def assert_error(response, status: int, code: str, message: str):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"error_code": code, "message": message}


def assert_serving(url: str):
    r = requests.get(url + "/health", timeout=30)
    assert r.status_code == 200 and r.text == "OK"


def test_bad_requests_get_exact_errors_and_the_server_keeps_serving(server):  # noqa: F811
    url = server.url
    run_id = new_run(url)

    r = post(url, f"{MLFLOW}/runs/log-metric", data="{bad", headers={"Content-Type": "application/json"})
    assert_error(r, 400, "MALFORMED_REQUEST",
                 "Malformed JSON in the request body at line 1, column 2: syntax error while parsing object key - "
                 "invalid literal; last read: '{b'; expected string literal")
    assert_serving(url)

    r = post(url, f"{MLFLOW}/runs/log-metric", {"key": "a", "value": 1, "timestamp": 1})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'run_id'.")
    r = post(url, f"{MLFLOW}/runs/log-metric", {"run_id": run_id, "key": "a", "value": "abc", "timestamp": 1})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 "Invalid value \"abc\" for parameter 'value' supplied: expected a number, got a string")
    r = post(url, f"{MLFLOW}/runs/log-metric", {"run_id": run_id, "key": "a", "value": 1, "timestamp": "soon"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 "Invalid value \"soon\" for parameter 'timestamp' supplied: expected an integer, got a string")
    r = post(url, f"{MLFLOW}/runs/log-batch", {"run_id": run_id, "metrics": [{"key": "a", "value": 1}]})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "Missing value for required parameter 'metrics[0].timestamp'.")
    assert_serving(url)

    r = post(url, f"{MLFLOW}/runs/log-metric", {"run_id": ZERO_RUN, "key": "a", "value": 1, "timestamp": 1})
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", f"run '{ZERO_RUN}' not found")
    r = requests.get(url + f"{MLFLOW}/runs/get", params={"run_id": ZERO_RUN}, timeout=30)
    assert_error(r, 404, "RESOURCE_DOES_NOT_EXIST", f"run '{ZERO_RUN}' not found")

    assert post(url, f"{MLFLOW}/runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"}).status_code == 200
    assert post(url, f"{MLFLOW}/runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"}).status_code == 200
    r = post(url, f"{MLFLOW}/runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.2"})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE",
                 f"param 'lr' of run {run_id} was already logged with value '0.1'; params are immutable")

    metrics = [{"key": "m", "value": i, "timestamp": 1, "step": i} for i in range(1001)]
    r = post(url, f"{MLFLOW}/runs/log-batch", {"run_id": run_id, "metrics": metrics})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "a log batch may hold at most 1000 metrics; got 1001")
    params = [{"key": f"p{i}", "value": "v"} for i in range(101)]
    r = post(url, f"{MLFLOW}/runs/log-batch", {"run_id": run_id, "params": params})
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "a log batch may hold at most 100 params; got 101")
    history = requests.get(url + f"{MLFLOW}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"},
                           timeout=30).json()
    assert history.get("metrics", []) == []  # a rejected batch writes nothing

    r = requests.get(url + f"{MLFLOW}/runs/nope", timeout=30)
    assert_error(r, 404, "ENDPOINT_NOT_FOUND", f"no endpoint GET {MLFLOW}/runs/nope")
    r = requests.get(url + f"{MLFLOW}/runs/create", timeout=30)
    assert r.status_code == 405 and r.headers["Allow"] == "POST"
    assert_serving(url)


def test_oversize_body_is_413(tmp_path: Path):
    proc = ServerProcess(tmp_path / "store", "--max-body-mb", "1", "--threads", "1")
    try:
        r = post(proc.url, f"{MLFLOW}/runs/log-batch", data=b"x" * (2 << 20),
                 headers={"Content-Type": "application/json"})
        assert_error(r, 413, "RESOURCE_LIMIT_EXCEEDED", "request body is larger than the limit of 1048576 bytes")
        assert_serving(proc.url)
    finally:
        assert proc.stop() == 0, proc.stderr()


def test_int64_as_strings_and_nan_as_protobuf_writes_it(server):  # noqa: F811
    url = server.url
    run_id = new_run(url)
    body = {"run_id": run_id, "metrics": [
        {"key": "a", "value": "NaN", "timestamp": "1700000000000", "step": "2"},
        {"key": "b", "value": "-Infinity", "timestamp": 1700000000000, "step": 3},
        {"key": "c", "value": 0.1, "timestamp": 1700000000000}]}
    assert post(url, f"{MLFLOW}/runs/log-batch", body).status_code == 200
    run = requests.get(url + f"{MLFLOW}/runs/get", params={"run_id": run_id}, timeout=30).json()["run"]
    metrics = {m["key"]: m for m in run["data"]["metrics"]}
    assert metrics["a"] == {"key": "a", "value": "NaN", "timestamp": 1700000000000, "step": 2}
    assert metrics["b"]["value"] == "-Infinity"
    assert metrics["c"]["value"] == 0.1 and metrics["c"]["step"] == 0


def test_ajax_prefix_and_v1_api(server):  # noqa: F811
    url = server.url
    r = post(url, "/ajax-api/2.0/mlflow/experiments/create", {"name": "ajax"})
    assert r.status_code == 200
    exp_id = r.json()["experiment_id"]
    r = requests.post(url + "/api/v1/runs", json={"experiment_id": int(exp_id), "run_name": "v1"}, timeout=30)
    assert r.status_code == 201, r.text
    run_id = r.json()["run_id"]
    batch = {"metrics": [{"key": "train/loss", "value": 0.5, "step": s} for s in range(3)],
             "params": {"lr": "0.1"}, "tags": {"t": "x"}}
    assert requests.post(url + f"/api/v1/runs/{run_id}/batch", json=batch, timeout=30).status_code == 200
    h = requests.get(url + f"/api/v1/runs/{run_id}/metrics/train/loss", timeout=30).json()
    assert [p["step"] for p in h["points"]] == [0, 1, 2]
    r = requests.put(url + f"/api/v1/runs/{run_id}/artifacts/model/weights.bin", data=b"\x00\x01\x02", timeout=30)
    assert r.status_code == 201
    assert requests.get(url + f"/api/v1/runs/{run_id}/artifacts/model/weights.bin", timeout=30).content == b"\x00\x01\x02"
    listed = requests.get(url + f"/api/v1/runs/{run_id}/artifacts", timeout=30).json()["artifacts"]
    assert listed == [{"path": "model", "is_dir": True, "size": 0}]
    r = requests.get(url + "/api/v1/runs", params={"experiment_id": exp_id, "filter": "params.lr = '0.1'"}, timeout=30)
    assert [x["run_id"] for x in r.json()["runs"]] == [run_id]
    r = requests.get(url + "/api/v1/experiments/abc", timeout=30)
    assert_error(r, 400, "INVALID_PARAMETER_VALUE", "experiment id 'abc' is not an integer")


def openapi_routes() -> list[tuple[str, str]]:
    doc = yaml.safe_load((REPO_ROOT / "docs" / "api" / "tracking.openapi.yaml").read_text())
    assert doc["openapi"].startswith("3.0")
    routes = []
    for path, item in doc["paths"].items():
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                routes.append((method.upper(), path))
    return routes


def test_every_route_in_the_openapi_file_is_served(server):  # noqa: F811
    routes = openapi_routes()
    assert len(routes) >= 20
    for method, path in routes:
        concrete = re.sub(r"\{[^}]+\}", "x", path)
        r = requests.request(method, server.url + concrete, json={} if method in ("POST", "PUT", "PATCH") else None,
                             timeout=30)
        unrouted = r.status_code == 405 or (r.status_code == 404 and r.json().get("error_code") == "ENDPOINT_NOT_FOUND")
        assert not unrouted, f"{method} {path} is documented but not served: {r.status_code} {r.text}"


def test_sigterm_drains_and_loses_no_acknowledged_write(tmp_path: Path):
    proc = ServerProcess(tmp_path / "store", "--threads", "2")
    run_id = new_run(proc.url)
    acknowledged = []
    lock = threading.Lock()

    def writer(worker: int):
        session = requests.Session()
        for i in range(100000):
            step = worker * 1_000_000 + i
            try:
                r = session.post(proc.url + f"{MLFLOW}/runs/log-metric", timeout=30,
                                 json={"run_id": run_id, "key": "m", "value": 1.0, "timestamp": 1, "step": step})
            except requests.RequestException:
                return
            if r.status_code != 200:
                return
            with lock:
                acknowledged.append(step)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    assert wait_until(lambda: len(acknowledged) >= 200, timeout=60), proc.stderr()
    assert proc.stop(signal.SIGTERM) == 0, proc.stderr()
    for t in threads:
        t.join(timeout=60)
    assert wait_until(lambda: "stopped by signal 15" in proc.stderr()), proc.stderr()

    proc2 = ServerProcess(tmp_path / "store", init=False)
    try:
        h = requests.get(proc2.url + f"{MLFLOW}/metrics/get-history", params={"run_id": run_id, "metric_key": "m"},
                         timeout=60).json()["metrics"]
        stored = {int(m["step"]) for m in h}
        assert set(acknowledged) <= stored
        assert len(stored) <= len(acknowledged) + len(threads)  # at most one unanswered write per client
    finally:
        assert proc2.stop() == 0

