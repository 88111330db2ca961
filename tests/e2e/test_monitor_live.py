"""Monitoring inside `slipway serve`: windows closed with POST /v2/monitor/evaluate give drift against
the reference (no drift on traffic like the reference, drift after a planted shift), latency and
performance gauges in /metrics (promtool-clean), feedback-driven metrics, and an alert rule whose
command runs exactly once per firing (pending -> firing -> still firing -> resolved -> firing again)."""
from __future__ import annotations

import csv
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from e2e_util import Slipway
from test_serve_log import LINEAR, ServerProcess

ROWS = 400


def write_reference(path: Path, rng: np.random.Generator) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["dep_delay", "distance", "carrier"])
        for _ in range(5000):
            w.writerow([f"{rng.normal(10, 5):.4f}", f"{rng.normal(800, 200):.1f}", rng.choice(["AA", "UA", "DL"])])


def send(url: str, rng: np.random.Generator, shift: float, rows: int = ROWS) -> list[str]:
    """`rows` single-row requests like the reference (dep_delay shifted by `shift`); their ids."""
    ids = []
    for _ in range(rows):
        body = {"inputs": [
            {"name": "dep_delay", "shape": [1], "datatype": "FP64", "data": [float(rng.normal(10 + shift, 5))]},
            {"name": "distance", "shape": [1], "datatype": "FP64", "data": [float(rng.normal(800, 200))]},
            {"name": "carrier", "shape": [1], "datatype": "BYTES", "data": [str(rng.choice(["AA", "UA", "DL"]))]}]}
        r = requests.post(f"{url}/v2/models/flights/infer", json=body, timeout=10)
        assert r.status_code == 200, r.text
        ids.append(r.json()["id"])
    return ids


def evaluate(url: str) -> dict:
    r = requests.post(f"{url}/v2/monitor/evaluate", timeout=60)
    assert r.status_code == 200, r.text
    (window,) = r.json()
    return window


def metric(window: dict, name: str, **labels) -> float | None:
    for s in window["metrics"]:
        if s["metric"] == name and s["labels"] == labels:
            return s["value"]
    return None


@pytest.fixture
def served(tmp_path: Path):
    rng = np.random.default_rng(3)
    store = tmp_path / "store"
    Slipway(store).run("init")
    reference = tmp_path / "reference.csv"
    write_reference(reference, rng)
    marker = tmp_path / "fired.txt"
    rules = tmp_path / "alerts.yaml"
    rules.write_text(
        "rules:\n"
        "  - name: shifted\n"
        "    model: flights\n"
        "    when: drift_share > 0.2 for 2 windows\n"
        "    actions:\n"
        f"      - command: echo \"$SLIPWAY_ALERT_RULE $SLIPWAY_ALERT_MODEL\" >> {marker}\n"
        "  - name: inaccurate\n"
        "    model: flights\n"
        "    when: accuracy < 0.99\n")
    proc = ServerProcess("serve", LINEAR, "--name", "flights", "--monitor-interval", "1h", "--reference", reference,
                         "--alerts", rules, "--segment", "carrier", store=store)
    yield proc, store, marker, rng
    assert proc.stop() == 0, proc.stderr()


def test_windows_drift_alerts_and_their_command_run_once_per_firing(served):
    proc, store, marker, rng = served
    url = proc.url
    evaluate(url)  # an empty first window: nothing to say, nothing fires
    send(url, rng, shift=0)
    w = evaluate(url)
    assert metric(w, "predictions") == ROWS
    assert metric(w, "drift_share") == 0.0
    assert metric(w, "dataset_drift") == 0.0
    assert metric(w, "p99_latency_ms") > 0
    assert {c["column"] for c in w["drift"]["columns"]} == {"dep_delay", "distance", "carrier"}
    assert metric(w, "prediction_drift_score", column="probability") is not None

    # A planted shift: two windows in a row fire the rule once; a third keeps it firing (no new run).
    for expected_runs in (0, 1, 1):
        send(url, rng, shift=25)
        w = evaluate(url)
        drifted = [c["column"] for c in w["drift"]["columns"] if c["drifted"]]
        assert drifted == ["dep_delay"], w["drift"]
        assert metric(w, "drift_share") == pytest.approx(1 / 3)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and expected_runs and not marker.exists():
            time.sleep(0.05)
        runs = marker.read_text().splitlines() if marker.exists() else []
        assert runs == ["shifted flights"] * expected_runs
    # Back to normal: resolved; shifted again for two windows: a new firing, the command runs again.
    send(url, rng, shift=0)
    evaluate(url)
    for _ in range(2):
        send(url, rng, shift=25)
        evaluate(url)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(marker.read_text().splitlines()) < 2:
        time.sleep(0.05)
    assert marker.read_text().splitlines() == ["shifted flights"] * 2
    sw = Slipway(store)
    firings = sw.json("monitor", "alerts", "--rule", "shifted")
    assert [f["state"] for f in firings] == ["firing", "resolved"]
    assert all(f["actions_ok"] == 2 and f["actions_failed"] == 0 for f in firings)
    shown = sw.run("monitor", "alerts", "show", str(firings[-1]["firing_id"])).stdout
    assert "drift_share = 0.333333 (breaks)" in shown and "dep_delay" in shown

    # /metrics: serving, system, monitor and alert families together, valid for promtool.
    text = requests.get(f"{url}/metrics", timeout=10).text
    for family in ("nv_inference_request_success_total", "slipway_host_memory_total_bytes", "slipway_gpu_available",
                   "slipway_monitor_drift_share", "slipway_monitor_drift_score", "slipway_alert_state"):
        assert f"\n{family}" in text or text.startswith(family), family
    assert 'slipway_alert_state{rule="shifted",model="flights"} 2' in text
    promtool = shutil.which("promtool")
    assert promtool, "promtool (Debian's prometheus package) is installed by the bootstrap"
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr

    # System health: one sample per window in the store, plotted by the report.
    samples = [json.loads(line) for line in (store / "monitor" / "health.jsonl").read_text().splitlines()]
    assert len(samples) >= 7  # the windows evaluated above
    assert {s["pid"] for s in samples} == {proc.proc.pid}
    assert all(s["process_rss_bytes"] > 0 and s["host_cpus"] >= 1 for s in samples)
    assert all(0 <= s["host_cpu_busy"] <= 1 for s in samples)
    report = sw.json("monitor", "report", "flights")
    # The samples taken while this window's predictions were served (the first, empty window is before them).
    assert [r["time_us"] for r in report["system_health"]["samples"]] == [s["time_us"] for s in samples[1:]]
    html = store.parent / "report.html"
    sw.run("monitor", "report", "flights", "--html", html)
    page = html.read_text()
    assert '<section id="system-health">' in page and "server CPU, cores" in page


def test_feedback_reaches_the_window_metrics_and_alerts(served):
    proc, store, marker, rng = served
    url = proc.url
    ids = send(url, rng, shift=0, rows=200)
    w = evaluate(url)
    assert metric(w, "accuracy") is None  # no feedback yet: no performance samples
    # Label every prediction "late" (1): the linear model says on time for most, so accuracy is low.
    r = requests.post(f"{url}/v2/models/flights/feedback",
                      json={"feedback": [{"id": i, "label": 1, "values": {"revenue": 2.0}} for i in ids]}, timeout=30)
    assert r.status_code == 200 and r.json()["accepted"] == 200, r.text
    w = evaluate(url)
    assert metric(w, "labelled") == 200
    accuracy = metric(w, "accuracy")
    assert accuracy is not None and accuracy < 0.99
    assert metric(w, "error_rate") == pytest.approx(1 - accuracy)
    assert metric(w, "revenue_mean") == 2.0 and metric(w, "revenue_per_1k") == 2000.0
    per_carrier = [s for s in w["metrics"] if s["metric"] == "error_rate" and s["labels"].get("segment") == "carrier"]
    assert {s["labels"]["value"] for s in per_carrier} == {"AA", "UA", "DL"}
    firings = Slipway(store).json("monitor", "alerts", "--rule", "inaccurate")
    assert len(firings) == 1 and firings[0]["state"] == "firing"
    latest = requests.get(f"{url}/v2/monitor", timeout=10).json()
    assert latest[0]["model"] == "flights" and metric(latest[0], "labelled") == 200


def test_a_reference_that_cannot_be_read_stops_the_server_at_start(tmp_path: Path):
    """An explicit --reference is read when the server starts: a typo is an error then, naming it,
    not a note in every window after the server has been running for hours."""
    store = tmp_path / "store"
    sw = Slipway(store)
    sw.run("init")
    proc = sw.run("serve", LINEAR, "--name", "flights", "--monitor-interval", "1h", "--http-port", "0",
                  "--reference", tmp_path / "missing.csv", check_exit=None, timeout=60)
    assert proc.returncode >= 2, proc.stderr
    assert "--reference" in proc.stderr and "missing.csv" in proc.stderr, proc.stderr
    bad = tmp_path / "bad.csv"
    bad.write_text("dep_delay,distance\n1.0,2.0\n3.0\n")
    proc = sw.run("serve", LINEAR, "--name", "flights", "--monitor-interval", "1h", "--http-port", "0",
                  "--reference", bad, check_exit=None, timeout=60)
    assert proc.returncode >= 2, proc.stderr
    assert f"--reference: {bad}:3:1: row has 1 field but the header has 2" in proc.stderr, proc.stderr
