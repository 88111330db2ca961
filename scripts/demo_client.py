"""The demo's client: sends NYC flights (joined with the weather at their origin in the scheduled
hour, as the model was trained) to a served model over KServe v2 with the unmodified tritonclient,
and writes the true outcome of each prediction for `slipway monitor feedback`.

    python scripts/demo_client.py --url 127.0.0.1:8080 --model flights-delay \
        --flights data/nycflights13/flights.csv --weather data/nycflights13/weather.csv \
        --from 2013-04-01 --to 2013-04-02 [--batch 1] [--feedback-out labels.csv]

Every input the model's metadata lists is filled from the joined row (numbers as FP64 with NaN for
NA, categories as BYTES); the label is arr_delay > 15 (cancelled flights, with no arr_delay, are
not sent).
"""
from __future__ import annotations

import argparse
import csv
import sys
import time

import numpy as np
import tritonclient.http as httpclient


def load_weather(path: str) -> dict[tuple[str, str], dict[str, str]]:
    with open(path, newline="") as f:
        return {(r["origin"], r["time_hour"]): r for r in csv.DictReader(f)}


def flights_between(path: str, start: str, end: str):
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            day = f"{r['year']}-{int(r['month']):02d}-{int(r['day']):02d}"
            if start <= day < end and r["arr_delay"] != "NA":
                yield r


def number(text: str | None) -> float:
    if text is None or text == "NA" or text == "":
        return float("nan")
    return float(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="host:port of the KServe v2 REST endpoint")
    ap.add_argument("--model", required=True)
    ap.add_argument("--flights", required=True)
    ap.add_argument("--weather", required=True)
    ap.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    ap.add_argument("--to", dest="end", required=True, help="day after the last, YYYY-MM-DD")
    ap.add_argument("--batch", type=int, default=1, help="flights per request (default 1)")
    ap.add_argument("--feedback-out", help="write id,label,revenue per flight here")
    args = ap.parse_args()

    client = httpclient.InferenceServerClient(url=args.url)
    meta = client.get_model_metadata(args.model)
    inputs_meta = [(i["name"], i["datatype"]) for i in meta["inputs"]]
    weather = load_weather(args.weather)
    rows = []
    for f in flights_between(args.flights, args.start, args.end):
        w = weather.get((f["origin"], f["time_hour"]), {})
        rows.append((f, w))
    if not rows:
        print(f"no flights between {args.start} and {args.end}", file=sys.stderr)
        return 1

    out = open(args.feedback_out, "w", newline="") if args.feedback_out else None
    writer = csv.writer(out) if out else None
    if writer:
        writer.writerow(["id", "label", "revenue"])
    sent = late_predicted = 0
    latencies = []
    t0 = time.perf_counter()
    for start in range(0, len(rows), args.batch):
        chunk = rows[start:start + args.batch]
        tensors = []
        for name, datatype in inputs_meta:
            values = [(f.get(name) if name in f else w.get(name)) for f, w in chunk]
            if datatype == "BYTES":
                data = np.array([("" if v in (None, "NA") else v).encode() for v in values], dtype=np.object_)
            else:
                data = np.array([number(v) for v in values], dtype=np.float64)
                datatype = "FP64"
            t = httpclient.InferInput(name, [len(chunk)], datatype)
            # Numbers travel in KServe's binary extension: JSON cannot carry NaN (missing weather).
            t.set_data_from_numpy(data, binary_data=datatype != "BYTES")
            tensors.append(t)
        t1 = time.perf_counter()
        result = client.infer(args.model, tensors, parameters={"origin_airport": chunk[0][0]["origin"]})
        latencies.append(time.perf_counter() - t1)
        response = result.get_response()
        request_id = response["id"]
        probability = result.as_numpy("probability")
        late_predicted += int((probability > 0.5).sum())
        sent += len(chunk)
        if writer:
            for k, (f, _) in enumerate(chunk):
                row_id = request_id if len(chunk) == 1 else f"{request_id}#{k}"
                late = int(float(f["arr_delay"]) > 15)
                # A made-up business value: a late flight costs the airline, an on-time one earns.
                revenue = round((-40.0 if late else 25.0) + number(f["distance"]) / 100.0, 2)
                writer.writerow([row_id, late, revenue])
    elapsed = time.perf_counter() - t0
    if out:
        out.close()
    lat = np.array(latencies) * 1000
    print(f"sent {sent:,} flights in {len(latencies):,} requests ({elapsed:.1f} s, client-side latency "
          f"p50 {np.percentile(lat, 50):.2f} ms, p99 {np.percentile(lat, 99):.2f} ms); "
          f"{late_predicted:,} predicted more than 15 minutes late")
    return 0


if __name__ == "__main__":
    sys.exit(main())
