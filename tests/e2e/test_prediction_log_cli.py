"""`slipway logs list|tail|export` over prediction-log segments written by an independent Python
implementation of docs/prediction-log.md (so the documented format is what the binary reads), with a
torn tail and a damaged record in the middle, and `tail --follow` picking up a new segment."""
from __future__ import annotations

import csv
import json
import struct
import subprocess
import time
from pathlib import Path

import pytest

from e2e_util import Slipway, clean_env, slipway_bin

T0 = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z in µs


def _crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    c = 0xFFFFFFFF
    for b in data:
        c = CRC_TABLE[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def segment_header(created_us: int = T0) -> bytes:
    head = b"SLWYPLOG" + struct.pack("<IIqI", 1, 32, created_us, 0)
    return head + struct.pack("<I", crc32c(head))


def frame(request_id: str, time_us: int, model: str, version: int, inputs: str, outputs: str, latency_us: int,
          tags: dict[str, str] | None = None) -> bytes:
    def s(text: str) -> bytes:
        b = text.encode()
        return struct.pack("<I", len(b)) + b

    payload = struct.pack("<Hqqq", 1, time_us, version, latency_us) + s(request_id) + s(model) + s(inputs) + \
        s(outputs) + struct.pack("<I", len(tags or {}))
    for k, v in (tags or {}).items():
        payload += s(k) + s(v)
    head = struct.pack("<III", 0x52504C53, len(payload), crc32c(payload))
    return head + struct.pack("<I", crc32c(head)) + payload


def record(i: int, version: int = 1, model: str = "flights") -> bytes:
    inputs = json.dumps([{"name": "distance", "datatype": "FP32", "shape": [1], "data": [100 + i]}])
    outputs = json.dumps([{"name": "probability", "datatype": "FP32", "shape": [1], "data": [0.5]}])
    return frame(f"r{i}", T0 + i * 3_600_000_000, model, version, inputs, outputs, 250 + i, {"variant": "a"})


@pytest.fixture
def store(tmp_path: Path) -> Slipway:
    sw = Slipway(tmp_path / ".slipway")
    sw.run("init", store=True)
    return sw


def logs_dir(sw: Slipway, model: str = "flights") -> Path:
    d = sw.store / "logs" / "predictions" / model
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_two_segments(sw: Slipway) -> tuple[Path, list[int]]:
    """Segment 1: r0..r4, version 1, then a torn record. Segment 2: r5..r9, version 2; r7 damaged."""
    d = logs_dir(sw)
    seg1 = segment_header() + b"".join(record(i) for i in range(5)) + record(99)[:-9]
    (d / "000001.log").write_bytes(seg1)
    frames = [record(i, version=2) for i in range(5, 10)]
    offsets = []
    data = bytearray(segment_header())
    for f in frames:
        offsets.append(len(data))
        data += f
    data[offsets[2] + 40] ^= 0x5A  # a payload byte of r7
    (d / "000002.log").write_bytes(bytes(data))
    return d / "000002.log", offsets


def test_export_jsonl_reads_the_documented_format_and_reports_damage(store: Slipway, tmp_path: Path):
    seg2, offsets = write_two_segments(store)
    out = tmp_path / "all.jsonl"
    proc = store.run("logs", "export", "flights", "-o", out)
    assert proc.stdout == f"exported 9 predictions of flights to {out}\n"
    assert proc.stderr == (f"warning: {seg2}:{offsets[2]}: skipped {offsets[3] - offsets[2]} damaged bytes "
                           "(record checksum mismatch)\n")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["request_id"] for r in lines] == ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r8", "r9"]
    first = lines[0]
    assert first == {
        "request_id": "r0", "time": "2025-01-01T00:00:00.000000Z", "time_us": T0, "model": "flights", "version": 1,
        "latency_us": 250, "inputs": [{"name": "distance", "datatype": "FP32", "shape": [1], "data": [100]}],
        "outputs": [{"name": "probability", "datatype": "FP32", "shape": [1], "data": [0.5]}],
        "tags": {"variant": "a"}}
    assert not list(tmp_path.glob("all.jsonl.tmp*"))

    doc = store.json("logs", "export", "flights", "-o", tmp_path / "again.jsonl")
    assert doc["records"] == 9
    assert doc["damaged"] == [{"segment": str(seg2), "offset": offsets[2], "bytes": offsets[3] - offsets[2],
                               "reason": "record checksum mismatch"}]
    assert doc["torn_tail_bytes"] > 0


def test_export_filters_by_version_and_time_and_writes_csv(store: Slipway, tmp_path: Path):
    write_two_segments(store)
    out = tmp_path / "v2.csv"
    store.run("logs", "export", "flights/2", "--since", "2025-01-01T06:00:00Z", "--until", "2025-01-01T09:00:00Z",
              "--format", "csv", "-o", out)
    rows = list(csv.DictReader(out.open()))
    assert [r["request_id"] for r in rows] == ["r6", "r8"]  # r5 is before 06:00, r7 damaged, r9 at 09:00
    assert rows[0]["time"] == "2025-01-01T06:00:00.000000Z"
    assert json.loads(rows[0]["inputs"])[0]["data"] == [106]
    assert json.loads(rows[0]["tags"]) == {"variant": "a"}
    assert list(rows[0]) == ["request_id", "time", "time_us", "model", "version", "latency_us", "inputs", "outputs",
                             "tags"]
    # An offset moves the window: 08:00+02:00 is 06:00Z.
    store.run("logs", "export", "flights", "--since", "2025-01-01T08:00:00+02:00", "--until", "2025-01-01T07:00Z",
              "-o", tmp_path / "one.jsonl")
    assert [json.loads(x)["request_id"] for x in (tmp_path / "one.jsonl").read_text().splitlines()] == ["r6"]


def test_tail_prints_the_last_n(store: Slipway):
    write_two_segments(store)
    proc = store.run("logs", "tail", "flights", "-n", "3", "--json")
    assert [json.loads(x)["request_id"] for x in proc.stdout.splitlines()] == ["r6", "r8", "r9"]
    # Needs both segments for the last 7.
    proc = store.run("logs", "tail", "flights", "-n", "7", "--json")
    assert [json.loads(x)["request_id"] for x in proc.stdout.splitlines()] == ["r2", "r3", "r4", "r5", "r6", "r8",
                                                                               "r9"]
    human = store.run("logs", "tail", "flights/1", "-n", "1").stdout
    assert human.startswith("2025-01-01T04:00:00.000000Z  flights/1  r4  0.254 ms  inputs=[{")


def test_list(store: Slipway):
    write_two_segments(store)
    d = logs_dir(store, "a%20b")
    (d / "000001.log").write_bytes(segment_header() + record(0, model="a b"))
    doc = store.json("logs", "list")
    assert [(m["model"], m["segments"]) for m in doc] == [("a b", 1), ("flights", 2)]
    assert store.json("logs", "export", "a b", "-o", store.store.parent / "ab.jsonl")["records"] == 1


def test_follow_picks_up_new_records_and_segments(store: Slipway):
    d = logs_dir(store)
    (d / "000001.log").write_bytes(segment_header() + record(0))
    proc = subprocess.Popen([str(slipway_bin()), "--store", str(store.store), "logs", "tail", "flights", "--follow",
                             "--json"], env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(proc.stdout.readline())["request_id"] == "r0"
        with (d / "000001.log").open("ab") as f:  # a frame arriving in two writes
            f.write(record(1)[:20])
            f.flush()
            time.sleep(0.5)
            f.write(record(1)[20:])
        assert json.loads(proc.stdout.readline())["request_id"] == "r1"
        (d / "000002.log").write_bytes(segment_header() + record(2))
        assert json.loads(proc.stdout.readline())["request_id"] == "r2"
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("args,exit_code,message", [
    (["logs", "tail", "nope"], 3, "error: no predictions logged for model 'nope' (no folder {store}/logs/predictions/nope)\n"),
    (["logs", "tail", "flights@champion"], 2,
     "error: 'flights@champion': `slipway logs` reads a model's log by name; give NAME or NAME/VERSION (aliases "
     "move, the log keeps every version)\n"),
    (["logs", "tail", "flights/x"], 2, "error: 'flights/x': the version after '/' must be a number, got 'x'\n"),
    (["logs", "export", "flights", "--since", "yesterday", "-o", "x.jsonl"], 2,
     "error: --since 'yesterday': expected a date or time such as 2025-01-31, 2025-01-31T10:00:00Z or "
     "2025-01-31T10:00:00+02:00, or a duration before now such as 30m, 24h or 7d\n"),
])
def test_errors(store: Slipway, args, exit_code, message):
    write_two_segments(store)
    proc = store.run(*args, check_exit=exit_code)
    assert proc.stderr == message.format(store=store.store)


def test_a_segment_from_a_newer_slipway_is_refused(store: Slipway, tmp_path: Path):
    d = logs_dir(store)
    head = b"SLWYPLOG" + struct.pack("<IIqI", 3, 32, T0, 0)
    (d / "000001.log").write_bytes(head + struct.pack("<I", crc32c(head)))
    proc = store.run("logs", "export", "flights", "-o", tmp_path / "x.jsonl", check_exit=4)
    assert proc.stderr == (f"error: {d / '000001.log'}: prediction log format version 3 was written by a newer "
                           "slipway (this one reads up to 2)\n")
    assert not (tmp_path / "x.jsonl").exists()


# ---- format version 2: tensors as raw bytes ----

DATATYPES = {"BOOL": (0, "<?"), "INT64": (8, "<q"), "FP32": (10, "<f"), "FP64": (11, "<d"), "BYTES": (12, None)}


def tensor_block(tensors: list[dict]) -> bytes:
    """Form 0 of docs/prediction-log.md: count, then name, datatype code, shape, raw data."""
    def s(b: bytes) -> bytes:
        return struct.pack("<I", len(b)) + b

    out = struct.pack("<BI", 0, len(tensors))
    for t in tensors:
        code, fmt = DATATYPES[t["datatype"]]
        out += s(t["name"].encode()) + struct.pack("<BB", code, len(t["shape"]))
        out += b"".join(struct.pack("<q", d) for d in t["shape"])
        if fmt is None:
            out += struct.pack("<I", len(t["data"])) + b"".join(s(v.encode()) for v in t["data"])
        else:
            out += s(b"".join(struct.pack(fmt, v) for v in t["data"]))
    return out


def frame_v2(request_id: str, time_us: int, model: str, version: int, inputs: list[dict], outputs: list[dict],
             latency_us: int, tags: dict[str, str]) -> bytes:
    def s(text: str) -> bytes:
        b = text.encode()
        return struct.pack("<I", len(b)) + b

    payload = struct.pack("<Hqqq", 2, time_us, version, latency_us) + s(request_id) + s(model) + \
        tensor_block(inputs) + tensor_block(outputs) + struct.pack("<I", len(tags))
    for k, v in tags.items():
        payload += s(k) + s(v)
    head = struct.pack("<III", 0x52504C53, len(payload), crc32c(payload))
    return head + struct.pack("<I", crc32c(head)) + payload


def test_version_2_segments_with_raw_tensors_read_back_as_json(store: Slipway, tmp_path: Path):
    d = logs_dir(store)
    v1 = b"SLWYPLOG" + struct.pack("<IIqI", 1, 32, T0, 0)
    (d / "000001.log").write_bytes(v1 + struct.pack("<I", crc32c(v1)) + record(0))  # an old segment first
    v2 = b"SLWYPLOG" + struct.pack("<IIqI", 2, 32, T0, 0)
    inputs = [{"name": "input__0", "datatype": "FP32", "shape": [2, 2], "data": [0.5, -1.25, 3.0, 1e-3]},
              {"name": "carrier", "datatype": "BYTES", "shape": [2], "data": ["UA", 'say "hi"']},
              {"name": "id", "datatype": "INT64", "shape": [2], "data": [-7, 2**40]},
              {"name": "late", "datatype": "BOOL", "shape": [2], "data": [True, False]}]
    outputs = [{"name": "probability", "datatype": "FP64", "shape": [2], "data": [0.25, 0.75]}]
    (d / "000002.log").write_bytes(v2 + struct.pack("<I", crc32c(v2)) +
                                   frame_v2("new", T0 + 1, "flights", 3, inputs, outputs, 42, {"variant": "b"}))
    out = tmp_path / "all.jsonl"
    store.run("logs", "export", "flights", "-o", out)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["request_id"] for r in lines] == ["r0", "new"]
    assert lines[0]["inputs"][0]["data"] == [100]
    new = lines[1]
    assert (new["version"], new["latency_us"], new["tags"]) == (3, 42, {"variant": "b"})
    got = {t["name"]: t for t in new["inputs"]}
    assert got["input__0"]["shape"] == [2, 2]
    assert got["input__0"]["data"] == [0.5, -1.25, 3.0, pytest.approx(1e-3, rel=1e-6)]
    assert got["carrier"]["data"] == ["UA", 'say "hi"']
    assert got["id"]["data"] == [-7, 2**40]
    assert got["late"]["data"] == [True, False]
    assert new["outputs"] == [{"name": "probability", "datatype": "FP64", "shape": [2], "data": [0.25, 0.75]}]
