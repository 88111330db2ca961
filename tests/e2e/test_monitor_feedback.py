"""Feedback and performance, end to end: labels and business values sent over HTTP
(POST /v2/models/{name}/feedback) and the CLI (`slipway monitor feedback FILE`), all or nothing, with
exact errors; late and missing labels; per-row ids of multi-row requests; and
`slipway monitor performance --json` checked against scikit-learn / scipy computed from the exported
log and the labels sent (overall, by version, by segment, by time, worst segments, latency
percentiles, business-value means with 95% confidence intervals)."""
from __future__ import annotations

import json
import math
import os
import queue
import signal
import subprocess
import threading
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import requests
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score, log_loss, precision_score, recall_score, roc_auc_score

from e2e_util import TEST_DATA, Slipway, clean_env, slipway_bin

BUNDLES = TEST_DATA / "models" / "bundles"
LINEAR = BUNDLES / "linear_v1.slw"        # dep_delay, distance (numeric), carrier (BYTES) -> probability
LINEAR_L1 = BUNDLES / "linear_l1_v2.slw"  # the same signature, other predictions
CARRIERS = ["AA", "B6", "DL", "EV", "UA", "WN"]


class Serve:
    """`slipway --store S serve SPEC --name NAME` on free ports."""

    def __init__(self, store: Path, *args: str | os.PathLike):
        argv = [str(slipway_bin()), "--store", str(store), "serve", "--http-port", "0", "--grpc-port", "0",
                *[str(a) for a in args]]
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
            pytest.fail("slipway serve did not say where it listens:\n" + "".join(self.lines), pytrace=False)

    def infer(self, rid: str | None, delay: list, distance: list, carrier: list, parameters: dict | None = None,
              model: str = "flights") -> dict:
        n = len(delay)
        body: dict = {"inputs": [
            {"name": "dep_delay", "shape": [n], "datatype": "FP32", "data": delay},
            {"name": "distance", "shape": [n], "datatype": "FP64", "data": distance},
            {"name": "carrier", "shape": [n], "datatype": "BYTES", "data": carrier}]}
        if rid is not None:
            body["id"] = rid
        if parameters:
            body["parameters"] = parameters
        r = requests.post(f"{self.url}/v2/models/{model}/infer", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def feedback(self, items, model: str = "flights", raw: str | None = None) -> requests.Response:
        url = f"{self.url}/v2/models/{model}/feedback"
        if raw is not None:
            return requests.post(url, data=raw, headers={"Content-Type": "application/json"}, timeout=30)
        return requests.post(url, json={"feedback": items}, timeout=30)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail("slipway serve did not exit:\n" + "".join(self.lines), pytrace=False)
        assert code == 0, "".join(self.lines)


@pytest.fixture
def cli(tmp_path: Path) -> Slipway:
    c = Slipway(tmp_path / "store", cwd=tmp_path)
    c.run("init")
    return c


@pytest.fixture
def served(cli: Slipway):
    """LINEAR served as 'flights' with a store: single-row requests a, b, c and a 3-row request m."""
    s = Serve(cli.store, LINEAR, "--name", "flights")
    s.answers = {
        "a": s.infer("a", [5.0], [700.0], ["UA"]),
        "b": s.infer("b", [60.0], [200.0], ["AA"]),
        "c": s.infer("c", [-3.0], [1500.0], ["DL"]),
        "m": s.infer("m", [1.0, 90.0, 15.0], [300.0, 2500.0, 800.0], ["UA", "EV", "AA"]),
    }
    yield s
    s.stop()


def perf(cli: Slipway, *args: str) -> dict:
    return cli.json("monitor", "performance", "flights", *args)


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


UNKNOWN = ("unknown request id '{id}' for model 'flights': no logged prediction has it (was the model served with "
           "--log-predictions? is the id from another model?)")


# ---- HTTP ----

def test_http_feedback_counts_new_and_replaced_and_the_later_label_wins(cli: Slipway, served: Serve):
    r = served.feedback([{"id": "a", "label": 1, "values": {"revenue": 2.0}}, {"id": "b", "label": 0}])
    assert (r.status_code, r.json()) == (200, {"accepted": 2, "replaced": 0})
    p = perf(cli)
    assert (p["overall"]["predictions"], p["overall"]["labelled"], p["feedback_rows"]) == (6, 2, 2)
    # The same id again: replaced, and the later label is the one used; values not resent are kept.
    r = served.feedback([{"id": "a", "label": 0}])
    assert (r.status_code, r.json()) == (200, {"accepted": 0, "replaced": 1})
    p = perf(cli)
    assert p["overall"]["labelled"] == 2 and p["feedback_rows"] == 2 and p["feedback_duplicates"] == 1
    pa = float(np.float32(served.answers["a"]["outputs"][0]["data"][0]))
    pb = float(np.float32(served.answers["b"]["outputs"][0]["data"][0]))
    assert p["overall"]["log_loss"] == pytest.approx(log_loss([0, 0], [pa, pb], labels=[0, 1]), rel=1e-12)
    assert p["overall"]["accuracy"] == accuracy_score([0, 0], [int(pa > 0.5), int(pb > 0.5)])
    assert p["overall"]["values"]["revenue"]["n"] == 1 and p["overall"]["values"]["revenue"]["mean"] == 2.0
    # Twice in one batch: the second replaces the first.
    r = served.feedback([{"id": "c", "label": True}, {"id": "c", "label": False}])
    assert (r.status_code, r.json()) == (200, {"accepted": 1, "replaced": 1})


def test_http_unknown_id_is_404_and_writes_nothing(cli: Slipway, served: Serve):
    before = perf(cli)
    r = served.feedback([{"id": "a", "label": 1}, {"id": "b", "label": 0}, {"id": "nope", "label": 1}])
    assert r.status_code == 404
    assert r.json() == {"error": "feedback[2]: " + UNKNOWN.format(id="nope")}
    after = perf(cli)
    assert after["feedback_rows"] == before["feedback_rows"] == 0
    assert after["overall"]["labelled"] == 0
    # A row past the end of a request is named as such; an id that is no row id is unknown.
    r = served.feedback([{"id": "m#3", "label": 1}])
    assert (r.status_code, r.json()) == (400, {"error": "feedback[0]: request 'm' has 3 rows: there is no row 3"})
    r = served.feedback([{"id": "m#x", "label": 1}])
    assert (r.status_code, r.json()) == (404, {"error": "feedback[0]: " + UNKNOWN.format(id="m#x")})
    assert perf(cli)["feedback_rows"] == 0


@pytest.mark.parametrize("items,message", [
    ([{"id": "a", "label": 1}, {"id": "b", "label": [1]}],
     "feedback[1].label: expected a number, string or bool, got an array"),
    ([{"id": "a", "label": {"x": 1}}], "feedback[0].label: expected a number, string or bool, got an object"),
    ([{"id": "a", "label": None}], "feedback[0].label: expected a number, string or bool, got null"),
    ([{"id": 7, "label": 1}], "feedback[0].id: expected the request id as a non-empty string, got a number"),
    ([{"id": "", "label": 1}], "feedback[0].id: expected the request id as a non-empty string, got a string"),
    ([{"label": 1}], "feedback[0]: missing 'id' (the request id)"),
    ([{"id": "a"}], "feedback[0]: carries neither 'label' nor 'values'"),
    ([{"id": "a", "values": {"revenue": "12"}}], "feedback[0].values.revenue: expected a finite number, got a string"),
    ([{"id": "a", "values": [1]}], "feedback[0].values: expected an object of named numbers, got an array"),
    ([{"id": "a", "label": 1, "score": 3}], "feedback[0]: unknown field 'score' (expected id, label, values)"),
    (["a"], "feedback[0]: expected an object, got a string"),
], ids=["array-label", "object-label", "null-label", "numeric-id", "empty-id", "no-id", "nothing", "string-value",
        "values-array", "unknown-field", "not-object"])
def test_http_malformed_item_is_400_naming_it_and_writes_nothing(cli: Slipway, served: Serve, items, message):
    r = served.feedback(items)
    assert (r.status_code, r.json()) == (400, {"error": message})
    assert perf(cli)["feedback_rows"] == 0


def test_http_malformed_body_and_unknown_model(cli: Slipway, served: Serve):
    r = served.feedback(None, raw='{"feedback": [')
    assert r.status_code == 400 and r.json()["error"].startswith("request body: not valid JSON at byte "), r.text
    r = served.feedback(None, raw='{"labels": []}')
    assert (r.status_code, r.json()) == (400, {"error": 'request body: expected {"feedback": [...]} or a JSON array'})
    r = served.feedback(None, raw='{"feedback": {"id": "a"}}')
    assert (r.status_code, r.json()) == (400, {"error": "request body: 'feedback' must be an array, got an object"})
    r = served.feedback([{"id": "a", "label": 1}], model="nope")
    assert (r.status_code, r.json()) == (404, {"error": "unknown model 'nope'"})
    # A bare array is accepted too, and the versioned path.
    r = served.feedback(None, raw='[{"id": "a", "label": 1}]')
    assert (r.status_code, r.json()) == (200, {"accepted": 1, "replaced": 0})
    r = requests.post(served.url + "/v2/models/flights/versions/1/feedback", json=[{"id": "b", "label": 0}], timeout=30)
    assert (r.status_code, r.json()) == (200, {"accepted": 1, "replaced": 0})
    assert perf(cli)["feedback_rows"] == 2


def test_per_row_ids_of_a_multi_row_request(cli: Slipway, served: Serve):
    r = served.feedback([{"id": "m#0", "label": 1}, {"id": "m#2", "label": 0, "values": {"revenue": 4.5}}])
    assert (r.status_code, r.json()) == (200, {"accepted": 2, "replaced": 0})
    p = perf(cli, "--segment", "carrier")
    probs = np.array(served.answers["m"]["outputs"][0]["data"], dtype=np.float32).astype(np.float64)
    y, score = [1, 0], [probs[0], probs[2]]
    assert p["overall"]["labelled"] == 2 and p["feedback_outside_window"] == 0
    assert p["overall"]["log_loss"] == pytest.approx(log_loss(y, score, labels=[0, 1]), rel=1e-12)
    assert p["overall"]["auc"] == roc_auc_score(y, score)
    seg = {s["value"]: s for s in p["by_segment"]}
    assert seg["UA"]["labelled"] == 1 and seg["AA"]["labelled"] == 1 and seg["EV"]["labelled"] == 0
    assert seg["AA"]["values"]["revenue"]["mean"] == 4.5
    assert "accuracy" not in seg["EV"] and seg["EV"]["predictions"] == 1


@pytest.mark.parametrize("rid", ["m", "a#0"], ids=["bare-id-of-a-3-row-request", "row-id-of-a-1-row-request"])
def test_accepted_feedback_is_never_silently_lost(cli: Slipway, served: Serve, rid: str):
    """Feedback the endpoint accepts must join a logged prediction: a 200 followed by a label that no
    performance report ever counts is data loss. (Either refuse the id, or join it.)"""
    r = served.feedback([{"id": rid, "label": 1}])
    if r.status_code != 200:
        assert r.status_code in (400, 404), r.text
        assert rid in r.json()["error"]
        assert perf(cli)["feedback_rows"] == 0
        return
    p = perf(cli)
    assert p["feedback_outside_window"] == 0, (
        f"feedback for '{rid}' was accepted ({r.json()}) but joins no logged row: {p['feedback_rows']} feedback rows, "
        f"{p['feedback_outside_window']} outside the window, {p['overall']['labelled']} labelled")
    assert p["overall"]["labelled"] > 0


# ---- CLI ----

def test_cli_feedback_csv_json_jsonl(cli: Slipway, served: Serve, tmp_path: Path):
    csv = write(tmp_path / "labels.csv", "id,label,revenue\na,1,3.5\nm#1,0,\n")
    out = cli.json("monitor", "feedback", csv, "--model", "flights")
    assert out == {"model": "flights", "rows": 2, "accepted": 2, "replaced": 0, "skipped_unknown": 0}
    js = write(tmp_path / "labels.json", json.dumps({"feedback": [{"id": "b", "label": "0"}, {"id": "a", "label": 0}]}))
    out = cli.json("monitor", "feedback", js, "--model", "flights")
    assert out == {"model": "flights", "rows": 2, "accepted": 1, "replaced": 1, "skipped_unknown": 0}
    jl = write(tmp_path / "labels.jsonl", '{"id": "c", "values": {"revenue": 1.0}}\n\n{"id": "m#0", "label": 1}\n')
    text = cli.run("monitor", "feedback", jl, "--model", "flights").stdout
    assert text == "flights: 2 new, 0 replacing earlier feedback\n"
    p = perf(cli)
    assert p["feedback_rows"] == 5
    assert p["overall"]["labelled"] == 4  # c carries a value, not a label
    assert p["overall"]["values"]["revenue"]["n"] == 2
    assert p["overall"]["values"]["revenue"]["mean"] == pytest.approx(2.25, rel=1e-15)


@pytest.mark.parametrize("name,text,message", [
    ("bad.csv", "id,label,revenue\na,1,3.5\nb,0,x\n", "{path}:3: column 'revenue': expected a number, got 'x'"),
    ("empty-id.csv", "id,label\na,1\n,0\n", "{path}:3: empty 'id'"),
    ("nothing.csv", "id,label,revenue\na,1,1\nb,,\n", "{path}:3: carries neither a label nor any value"),
    ("noid.csv", "request,label\na,1\n", "{path}:1: no 'id' column (the request id each row answers)"),
    ("bad.jsonl", '{"id": "a", "label": 1}\n\n{"id": "b", "values": {"r": "s"}}\n',
     "{path}:3.values.r: expected a finite number, got a string"),
    ("broken.jsonl", '{"id": "a", "label": 1}\n{oops\n', "{path}:2: not valid JSON"),
    ("labels.txt", "id,label\na,1\n", "{path}: feedback files are .csv, .json or .jsonl, not '.txt'"),
])
def test_cli_bad_row_names_file_and_line_and_writes_nothing(cli: Slipway, served: Serve, tmp_path: Path,
                                                           name, text, message):
    path = write(tmp_path / name, text)
    proc = cli.run("monitor", "feedback", path, "--model", "flights", check_exit=None)
    assert proc.returncode != 0
    assert proc.stderr == "error: " + message.format(path=path) + "\n"
    assert perf(cli)["feedback_rows"] == 0


def test_cli_bad_item_in_a_json_file_names_the_file(cli: Slipway, served: Serve, tmp_path: Path):
    """A .json file's bad item is named by the file as well as its index (the CLI's user has no
    "request body"); the HTTP endpoint keeps the bare feedback[i]."""
    path = write(tmp_path / "bad.json", json.dumps([{"id": "a", "label": 1}, {"id": "b", "label": {}}]))
    proc = cli.run("monitor", "feedback", path, "--model", "flights", check_exit=None)
    assert proc.returncode != 0
    assert "feedback[1].label: expected a number, string or bool, got an object" in proc.stderr
    assert str(path) in proc.stderr, proc.stderr
    assert perf(cli)["feedback_rows"] == 0


def test_cli_unknown_ids_refused_or_skipped(cli: Slipway, served: Serve, tmp_path: Path):
    path = write(tmp_path / "u.csv", "id,label\na,1\nzzz,0\nb,1\nm#9,1\n")
    proc = cli.run("monitor", "feedback", path, "--model", "flights", check_exit=None)
    assert proc.returncode != 0
    assert proc.stderr == f"error: {path}:3: " + UNKNOWN.format(id="zzz") + "\n"
    assert perf(cli)["feedback_rows"] == 0
    out = cli.json("monitor", "feedback", path, "--model", "flights", "--skip-unknown")
    assert out == {"model": "flights", "rows": 4, "accepted": 2, "replaced": 0, "skipped_unknown": 2}
    text = cli.run("monitor", "feedback", path, "--model", "flights", "--skip-unknown").stdout
    assert text == "flights: 0 new, 2 replacing earlier feedback, 2 skipped (request id not in the log)\n"
    # A model never logged: every id is unknown.
    proc = cli.run("monitor", "feedback", path, "--model", "other", check_exit=None)
    assert proc.returncode != 0
    assert f"{path}:2: unknown request id 'a' for model 'other'" in proc.stderr


# ---- late and missing labels ----

def test_late_labels_change_performance_and_missing_ones_do_not_count(cli: Slipway, tmp_path: Path):
    s = Serve(cli.store, LINEAR, "--name", "flights")
    try:
        rng = np.random.default_rng(7)
        probs = {}
        for i in range(40):
            a = s.infer(f"r{i}", [float(rng.integers(-20, 120))], [float(rng.integers(100, 2500))],
                        [CARRIERS[i % len(CARRIERS)]])
            probs[f"r{i}"] = float(np.float32(a["outputs"][0]["data"][0]))
    finally:
        s.stop()
    p = perf(cli)
    assert (p["task"], p["overall"]["predictions"], p["overall"]["labelled"]) == ("binary", 40, 0)
    assert "accuracy" not in p["overall"] and p["overall"]["values"] == {}
    labels = {f"r{i}": int(rng.random() < probs[f"r{i}"]) for i in range(40)}

    def check(ids):
        p = perf(cli)
        y = [labels[i] for i in ids]
        score = [probs[i] for i in ids]
        assert p["overall"]["predictions"] == 40 and p["overall"]["labelled"] == len(ids)
        assert p["overall"]["accuracy"] == pytest.approx(accuracy_score(y, [int(x > 0.5) for x in score]), abs=1e-12)
        assert p["overall"]["log_loss"] == pytest.approx(log_loss(y, score, labels=[0, 1]), rel=1e-9)
        return p

    first = [f"r{i}" for i in range(0, 40, 2)]
    cli.run("monitor", "feedback", write(tmp_path / "day1.csv", "id,label\n" + "".join(f"{i},{labels[i]}\n" for i in first)),
            "--model", "flights")
    p1 = check(first)
    late = [f"r{i}" for i in range(1, 30, 2)]
    cli.run("monitor", "feedback", write(tmp_path / "day2.csv", "id,label\n" + "".join(f"{i},{labels[i]}\n" for i in late)),
            "--model", "flights")
    p2 = check(first + late)
    assert p2["overall"]["log_loss"] != p1["overall"]["log_loss"]
    # Feedback with values but no label, and a label that is no class of the model: not labelled.
    cli.run("monitor", "feedback", write(tmp_path / "day3.jsonl",
                                         '{"id": "r31", "values": {"revenue": 5}}\n{"id": "r33", "label": "late"}\n'
                                         '{"id": "r35", "label": 7}\n'),
            "--model", "flights")
    p3 = check(first + late)
    assert p3["overall"]["unusable_labels"] == 2
    assert p3["overall"]["values"]["revenue"]["n"] == 1
    assert p3["feedback_rows"] == len(first) + len(late) + 3


# ---- performance against scikit-learn / scipy ----

def row_table(records: list[dict]) -> list[dict]:
    """One dict per logged row: id (ID or ID#k), version, carrier, variant tag, score, latency, time."""
    rows = []
    for rec in records:
        out = rec["outputs"][0]["data"]
        carriers = next(t["data"] for t in rec["inputs"] if t["name"] == "carrier")
        for k, score in enumerate(out):
            rows.append({"id": rec["request_id"] if len(out) == 1 else f"{rec['request_id']}#{k}",
                         "version": rec["version"], "carrier": carriers[k],
                         "variant": rec["tags"].get("variant", "(missing)"),
                         "score": float(np.float32(score)), "latency_us": rec["latency_us"], "time_us": rec["time_us"]})
    return rows


def nearest_rank(values: list[int], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, math.ceil(q * len(v)) - 1)] / 1000.0


def t_half_width_tolerance(dof: int) -> float:
    # slipway: a 3-decimal table of t(0.975) to 30 degrees of freedom (relative error < 2.5e-4), then
    # 1.959964 + 2.4/dof (relative error at most 1.05e-3, at 31).
    return 2.5e-4 if dof <= 30 else 1.1e-3


def check_slice(got: dict, rows: list[dict], labels: dict, values: dict, min_labels_for_ci: int = 2):
    assert got["predictions"] == len(rows)
    for q, key in ((0.5, "p50"), (0.95, "p95"), (0.99, "p99")):
        assert got["latency_ms"][key] == nearest_rank([r["latency_us"] for r in rows], q)
    labelled = [r for r in rows if r["id"] in labels]
    assert got["labelled"] == len(labelled)
    y = np.array([labels[r["id"]] for r in labelled])
    score = np.array([r["score"] for r in labelled], dtype=np.float64)
    if len(labelled) == 0:
        for k in ("accuracy", "auc", "log_loss", "precision", "recall", "f1", "error_rate"):
            assert k not in got
    else:
        pred = (score.astype(np.float32) > np.float32(0.5)).astype(int)
        want = {"accuracy": accuracy_score(y, pred),
                "log_loss": log_loss(y, score, labels=[0, 1]),
                "precision": precision_score(y, pred, zero_division=0),
                "recall": recall_score(y, pred, zero_division=0),
                "f1": f1_score(y, pred, zero_division=0)}
        want["error_rate"] = 1 - want["accuracy"]
        if len(set(y.tolist())) == 2:
            want["auc"] = roc_auc_score(y, score)
        else:
            assert "auc" not in got
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-12), (k, got.get("value"), got[k], v)
    # Business values: over the rows whose feedback carries them.
    per_name = defaultdict(list)
    for r in rows:
        for name, v in values.get(r["id"], {}).items():
            per_name[name].append(v)
    assert set(got["values"]) == set(per_name)
    for name, xs in per_name.items():
        b = got["values"][name]
        xs = np.array(xs)
        assert b["n"] == len(xs)
        assert b["sum"] == pytest.approx(xs.sum(), rel=1e-12, abs=1e-12)
        assert b["mean"] == pytest.approx(xs.mean(), rel=1e-12, abs=1e-12)
        assert b["per_1k"] == pytest.approx(1000 * xs.mean(), rel=1e-12, abs=1e-9)
        if len(xs) < min_labels_for_ci:
            assert b["ci95_low"] is None and b["ci95_high"] is None
            continue
        low, high = stats.t.interval(0.95, len(xs) - 1, loc=xs.mean(), scale=stats.sem(xs))
        half = (high - low) / 2
        tol = t_half_width_tolerance(len(xs) - 1) * half + 1e-12
        assert abs(b["ci95_low"] - low) <= tol, (name, b, low, high)
        assert abs(b["ci95_high"] - high) <= tol, (name, b, low, high)
        assert b["ci95_high"] - b["mean"] == pytest.approx(b["mean"] - b["ci95_low"], rel=1e-9, abs=1e-12)


def test_performance_matches_sklearn_overall_by_version_segment_and_time(cli: Slipway, tmp_path: Path):
    cli.run("models", "register", LINEAR, "--name", "flights")
    cli.run("models", "register", LINEAR_L1, "--name", "flights")
    rng = np.random.default_rng(20261128)
    n = 0
    for version, requests_ in (("flights/1", 160), ("flights/2", 120)):
        s = Serve(cli.store, version)
        try:
            for i in range(requests_):
                rows = 1 if i % 5 else int(rng.integers(2, 5))
                delay = [float(x) for x in rng.integers(-30, 240, rows)]
                distance = [float(x) for x in rng.integers(80, 2800, rows)]
                carrier = [CARRIERS[int(x)] for x in rng.integers(0, len(CARRIERS), rows)]
                params = {"variant": "b" if i % 3 == 0 else "a"} if i % 7 else None
                s.infer(f"v{version[-1]}-{i}" if i % 4 else None, delay, distance, carrier, params)
                n += rows
        finally:
            s.stop()
    out = tmp_path / "log.jsonl"
    cli.run("logs", "export", "flights", "-o", out)
    records = [json.loads(line) for line in out.read_text().splitlines()]
    rows = row_table(records)
    assert len(rows) == n and {r["version"] for r in rows} == {1, 2}

    # Labels for ~85% of rows (drawn from the model's own score so AUC is meaningful), revenue for most
    # labelled rows, "clicks" for a handful (few degrees of freedom: the t table), a value-only row.
    labels, values = {}, {}
    lines = ["id,label,revenue,clicks"]
    for r in rows:
        u = rng.random()
        if u < 0.85:
            labels[r["id"]] = int(rng.random() < r["score"])
            v = {}
            if rng.random() < 0.8:
                v["revenue"] = round(float(rng.normal(10 if labels[r["id"]] else 2, 4)), 3)
            if r["carrier"] == "EV" and r["version"] == 2 and len([x for x in values.values() if "clicks" in x]) < 12:
                v["clicks"] = float(rng.integers(0, 20))
            values[r["id"]] = v
            # Some labels as the registered class names (linear_v1: on_time, late), the rest as indexes.
            text = ("on_time", "late")[labels[r["id"]]] if rng.random() < 0.3 else str(labels[r["id"]])
            lines.append(f"{r['id']},{text},{v.get('revenue', '')},{v.get('clicks', '')}")
        elif u < 0.88:
            values[r["id"]] = {"revenue": 1.25}
            lines.append(f"{r['id']},,1.25,")
    csv = write(tmp_path / "labels.csv", "\n".join(lines) + "\n")
    fb = cli.json("monitor", "feedback", csv, "--model", "flights")
    assert fb["accepted"] == len(lines) - 1 and fb["replaced"] == 0

    p = cli.json("monitor", "performance", "flights", "--segment", "carrier", "--segment", "variant", "--by-time", "1h",
                 "--min-rows", "20")
    assert p["classes"] == ["on_time", "late"]
    assert p["overall"]["unusable_labels"] == 0
    assert p["task"] == "binary" and p["feedback_rows"] == len(lines) - 1 and p["feedback_outside_window"] == 0
    check_slice(p["overall"], rows, labels, values)
    assert [s["value"] for s in p["by_version"]] == ["1", "2"]
    for s in p["by_version"]:
        check_slice(s, [r for r in rows if str(r["version"]) == s["value"]], labels, values)
    got_segments = {(s["column"], s["value"]): s for s in p["by_segment"]}
    want_segments = {("carrier", c) for c in {r["carrier"] for r in rows}} | \
        {("variant", v) for v in {r["variant"] for r in rows}}
    assert set(got_segments) == want_segments
    for (column, value), s in got_segments.items():
        check_slice(s, [r for r in rows if r[column] == value], labels, values)
    hour = 3600 * 1_000_000
    buckets = defaultdict(list)
    for r in rows:
        start = r["time_us"] // hour * hour // 1_000_000
        buckets[time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start))].append(r)
    assert [s["value"] for s in p["by_time"]] == sorted(buckets)
    for s in p["by_time"]:
        check_slice(s, buckets[s["value"]], labels, values)
    # Worst segments: error rate, highest first, only segments with at least --min-rows labelled rows.
    eligible = [s for s in p["by_segment"] if s["labelled"] >= 20]
    worst = p["worst_segments"]
    assert len(worst) == min(5, len(eligible))
    rates = [s["error_rate"] for s in worst]
    assert rates == sorted(rates, reverse=True)
    assert all(s["labelled"] >= 20 for s in worst)
    if len(eligible) > 5:
        cutoff = sorted((s["error_rate"] for s in eligible), reverse=True)[4]
        assert all(s["error_rate"] >= cutoff for s in worst)
    # A version filter and a last-N window read the same rows the export does.
    p2 = cli.json("monitor", "performance", "flights/2")
    check_slice(p2["overall"], [r for r in rows if r["version"] == 2], labels, values)
    last = cli.json("monitor", "performance", "flights?last=50")
    check_slice(last["overall"], rows[-50:], labels, values)
