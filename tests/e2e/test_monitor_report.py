"""`slipway monitor report` end to end: a served model gets traffic whose dep_delay shifts halfway,
feedback arrives over HTTP, and the report finds the shift (--json), writes a self-contained HTML
page (no outside resources) with a distribution plot per feature, and falls back to the window's
first bucket as the reference when the model has no training data on record."""
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

LINEAR = TEST_DATA / "models" / "bundles" / "linear_v1.slw"  # dep_delay, distance, carrier -> probability
CARRIERS = ["AA", "B6", "DL", "EV", "UA", "WN"]
FEATURES = ["dep_delay", "distance", "carrier"]
PHASES = 4        # traffic in 4 phases about a second apart; dep_delay shifts from phase 3 on
ROWS = 25         # rows per request
REQUESTS = 4      # requests per phase


class Serve:
    """`slipway --store S serve BUNDLE --name flights` on free ports."""

    def __init__(self, store: Path):
        argv = [str(slipway_bin()), "--store", str(store), "serve", "--http-port", "0", "--grpc-port", "0",
                str(LINEAR), "--name", "flights"]
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

    def infer(self, rid: str, delay, distance, carrier) -> dict:
        n = len(delay)
        body = {"id": rid, "inputs": [
            {"name": "dep_delay", "shape": [n], "datatype": "FP32", "data": [float(v) for v in delay]},
            {"name": "distance", "shape": [n], "datatype": "FP64", "data": [float(v) for v in distance]},
            {"name": "carrier", "shape": [n], "datatype": "BYTES", "data": list(carrier)}]}
        r = requests.post(f"{self.url}/v2/models/flights/infer", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def feedback(self, items) -> None:
        r = requests.post(f"{self.url}/v2/models/flights/feedback", json={"feedback": items}, timeout=30)
        assert r.status_code == 200, r.text

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail("slipway serve did not exit:\n" + "".join(self.lines), pytrace=False)
        assert code == 0, "".join(self.lines)


def flights(rng, n, shift=0.0):
    return (rng.normal(10 + shift, 15, n).round(1), rng.uniform(200, 2500, n).round(0),
            rng.choice(CARRIERS, n))


@pytest.fixture(scope="module")
def served_log(tmp_path_factory):
    """A store whose 'flights' log holds PHASES x REQUESTS x ROWS predictions, dep_delay shifted by
    +60 minutes in the second half, every row labelled with a revenue; and a reference dataset."""
    tmp = tmp_path_factory.mktemp("report")
    cli = Slipway(tmp / "store", cwd=tmp)
    cli.run("init")
    rng = np.random.default_rng(2013)
    delay, distance, carrier = flights(rng, 600)
    ref_csv = tmp / "reference.csv"
    with open(ref_csv, "w") as f:
        f.write("dep_delay,distance,carrier,arr_delay\n")
        for d, km, c in zip(delay, distance, carrier):
            f.write(f"{d},{km},{c},{d * 0.9}\n")
    cli.ingest(ref_csv, "flights_ref")
    serve = Serve(cli.store)
    try:
        items = []
        for phase in range(PHASES):
            if phase:
                time.sleep(1.1)
            for k in range(REQUESTS):
                delay, distance, carrier = flights(rng, ROWS, shift=60.0 if phase >= PHASES // 2 else 0.0)
                rid = f"p{phase}-{k}"
                answer = serve.infer(rid, delay, distance, carrier)
                probs = answer["outputs"][0]["data"]
                for row in range(ROWS):
                    late = int(rng.random() < (0.8 if delay[row] > 30 else 0.2))
                    items.append({"id": f"{rid}#{row}", "label": late,
                                  "values": {"revenue": round(float(10 + 20 * probs[row] + rng.normal(0, 2)), 3)}})
        serve.feedback(items)
    finally:
        serve.stop()
    return cli, tmp


def report(cli: Slipway, *args: str) -> dict:
    return cli.json("monitor", "report", "flights", *args)


def test_planted_shift_is_drifted_and_the_page_is_self_contained(served_log):
    cli, tmp = served_log
    html_path = tmp / "report.html"
    j = report(cli, "--reference", "flights_ref@main", "--html", html_path, "--segment", "carrier")
    total = PHASES * REQUESTS * ROWS
    assert (j["model"], j["predictions"], j["labelled"], j["versions"]) == ("flights", total, total, [1])
    assert j["reference"]["kind"] == "dataset" and j["reference"]["rows"] == 600
    assert j["reference"]["columns"] == FEATURES  # arr_delay is no model input
    drifted = {c["column"]: c["drifted"] for c in j["drift"]["columns"]}
    assert drifted == {"dep_delay": True, "distance": False, "carrier": False}
    assert j["drift_over_time"]["top_columns"][0] == "dep_delay"
    # The buckets before the shift score dep_delay low, those after it high.
    tested = [b for b in j["drift_over_time"]["buckets"] if b["tested"] and b["rows"] > 0]
    assert len(tested) >= 3, j["drift_over_time"]
    assert tested[0]["scores"]["dep_delay"] < 0.3 < tested[-1]["scores"]["dep_delay"]
    assert sum(b["rows"] for b in j["drift_over_time"]["buckets"]) == total
    perf = j["performance"]
    assert perf["task"] == "binary" and perf["overall"]["labelled"] == total
    assert len(perf["by_time"]) == len(j["drift_over_time"]["buckets"]) - sum(
        1 for b in j["drift_over_time"]["buckets"] if b["rows"] == 0)
    assert {s["value"] for s in perf["by_segment"]} <= set(CARRIERS)
    assert perf["overall"]["values"]["revenue"]["n"] == total
    assert j["alerts"] == []

    html = html_path.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    # Nothing fetched: no URL in any tag, no script, no stylesheet link, no image source.
    assert re.search(r"<[^>]*https?://", html) is None
    assert "<script" not in html and "<link" not in html and "src=" not in html and "url(" not in html
    for feature in FEATURES + ["probability"]:
        card = re.search(r"<h3><span>" + feature + r"</span>.*?</h3>(<svg.*?</svg>)", html)
        assert card, f"no plot for {feature}"
        assert "<rect" in card.group(1)
    assert html.count("<svg") == html.count("</svg>") >= len(FEATURES) + 1 + 4
    assert ">drifted</span>" in html


def test_json_out_and_html_together_and_the_summary_for_people(served_log):
    cli, tmp = served_log
    out = cli.run("monitor", "report", "flights", "--reference", "flights_ref@main", "--html", tmp / "a.html",
                  "--json-out", tmp / "a.json", "--bucket", "1s").stdout
    j = json.loads((tmp / "a.json").read_text())
    assert j["drift_over_time"]["bucket_seconds"] == 1
    assert out.splitlines()[0].startswith(f"flights: {PHASES * REQUESTS * ROWS} predictions, versions 1, ")
    assert "\nno dataset drift: 1 of 3 inputs drifted: dep_delay\n" in out  # 1 of 3 is below the 50% share
    assert f"wrote {tmp / 'a.html'}" in out and (tmp / "a.html").stat().st_size > 10_000


def test_without_training_data_the_first_bucket_is_the_reference(served_log):
    cli, tmp = served_log
    j = report(cli, "--html", tmp / "b.html")
    assert j["reference"]["kind"] == "reference period"
    assert j["reference"]["note"] == "no training data found: registered model 'flights' not found"
    assert j["notes"] == [j["reference"]["note"]]
    first = j["drift_over_time"]["buckets"][0]
    assert first["tested"] is False and j["reference"]["rows"] == first["rows"]
    assert {c["column"]: c["drifted"] for c in j["drift"]["columns"]}["dep_delay"] is True
    assert "no training data found" in (tmp / "b.html").read_text()


def test_errors(served_log):
    cli, tmp = served_log
    p = cli.run("monitor", "report", "nope", "--html", tmp / "x.html", check_exit=None)
    assert p.returncode != 0 and p.stderr.startswith("error: ") and "nope" in p.stderr
    assert not (tmp / "x.html").exists()
    p = cli.run("monitor", "report", "flights", "--bucket", "soon", check_exit=2)
    assert p.stderr == "error: --bucket 'soon': expected a duration such as 30m, 1h or 1d\n"
    p = cli.run("monitor", "report", "flights", "--segment", "origin", check_exit=2)
    assert p.stderr == ("error: segment 'origin': no input or tag of that name in the log of 'flights' "
                        "(have: dep_delay, distance, carrier)\n")
