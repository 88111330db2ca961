"""A process killed at any instant leaves the store consistent (DESIGN.md: atomic writes; fsck proves it).

Ingest of flights.csv (~30 MB) is SIGKILLed at random moments spread over the whole ingest; after
every kill `slipway fsck` must pass and every version `data log` lists must check out byte for
byte. Bounded to about three minutes: the delays scale with a measured uninterrupted ingest, and a
build too slow to kill a 30 MB ingest 50 times in that budget (a debug or sanitizer build) gets a
prefix of the file sized to fit, so every run still makes 50 kills spread over a whole ingest.
"""
from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import time
from pathlib import Path

import pytest

from e2e_util import Slipway, assert_same_tree, describe, flights_csv

KILLS = int(os.environ.get("SLIPWAY_CRASH_KILLS", "50"))
SEED = int(os.environ.get("SLIPWAY_CRASH_SEED", "20130101"))
BUDGET_S = float(os.environ.get("SLIPWAY_CRASH_BUDGET_S", "180"))


def _fsck_ok(sw: Slipway, after: str) -> None:
    proc = sw.run("fsck", check_exit=None, timeout=300)
    if proc.returncode != 0:
        pytest.fail(describe(proc, f"fsck failed {after}"), pytrace=False)


def _prefix_of(src: Path, out: Path, fraction: float) -> Path:
    """The first `fraction` of src's bytes, cut after a whole line."""
    data = src.read_bytes()
    cut = data.rfind(b"\n", 0, max(int(len(data) * fraction), 1)) + 1
    out.write_bytes(data[:cut] if cut > 0 else data)
    return out


def test_sigkill_during_ingest_never_corrupts_the_store(tmp_path: Path):
    src = flights_csv()
    for attempt in range(2):
        sw = Slipway(tmp_path / f"store{attempt}", cwd=tmp_path)
        sw.run("init")
        # One uninterrupted ingest: the reference version and the length of the window to kill in.
        started = time.monotonic()
        sw.ingest(src, "flights", "-m", "reference")
        full = time.monotonic() - started
        started = time.monotonic()
        _fsck_ok(sw, "after the reference ingest")
        sw.checkout("flights@main", tmp_path / f"probe{attempt}")
        check = time.monotonic() - started
        # Per attempt: half a window on average, then fsck + log + usually one checkout.
        projected = KILLS * (0.55 * full + check + 0.2)
        if projected <= BUDGET_S or attempt == 1:
            break
        src = _prefix_of(src, tmp_path / "flights.csv", BUDGET_S / projected)
    print(f"crash test input: {src} ({src.stat().st_size} bytes)")

    rng = random.Random(SEED)
    verified: set[str] = set()
    durations = [full]  # uninterrupted ingest times seen so far; the window follows their median
    kills = completed = 0
    log_path = tmp_path / "ingest.stderr"
    attempt = 0
    while kills < KILLS:
        attempt += 1
        window = 1.1 * statistics.median(durations)
        # Uniform over the whole ingest: early kills hit start-up and reading, late ones the commit.
        delay = rng.uniform(0, window)
        with open(log_path, "wb") as err:
            started = time.monotonic()
            proc = subprocess.Popen([str(sw.bin), "--store", str(sw.store), "data", "ingest", str(src),
                                     "--dataset", "flights", "-m", f"attempt {attempt}"],
                                    cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL)
            try:
                rc = proc.wait(timeout=delay)
                killed = False
                durations.append(time.monotonic() - started)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGKILL)
                rc = proc.wait()
                killed = True
        what = f"after attempt {attempt} (SIGKILL {delay:.3f} s into an ingest that takes about {window / 1.1:.3f} s)" \
            if killed else f"after attempt {attempt} (finished before the kill at {delay:.3f} s)"
        if killed:
            kills += 1
        else:
            completed += 1
            assert rc == 0, f"ingest failed {what}, exit {rc}:\n{log_path.read_text(errors='replace')}"
        _fsck_ok(sw, what)
        versions = sw.versions("flights")
        assert versions, f"the reference version vanished {what}"
        for v in versions:
            if v["id"] in verified:
                continue
            out = tmp_path / "checkout"
            sw.checkout(f"flights@{v['id']}", out)
            assert_same_tree(src, out, names=[src.name])
            verified.add(v["id"])
            subprocess.run(["rm", "-rf", str(out)], check=True)

    # The store is still fully usable: a clean ingest after all those kills succeeds and verifies.
    last = sw.ingest(src, "flights", "-m", "after the kills")
    _fsck_ok(sw, "after the final ingest")
    assert last in {v["id"] for v in sw.versions("flights")}
    assert_same_tree(src, sw.checkout("flights@main", tmp_path / "final"), names=[src.name])
    print(f"{kills} kills, {completed} completed ingests, {len(verified)} versions verified; "
          f"ingest takes {statistics.median(durations):.2f} s")


def test_a_file_truncated_while_it_is_ingested_is_an_error_not_a_crash(tmp_path: Path):
    """Input files are read through a memory mapping; another process truncating one mid-read makes
    the kernel raise SIGBUS. slipway must say so and exit 3 (never die of the signal), and the store
    must stay consistent. Several truncation moments: early ones hit the mapping, a late one may
    find the ingest finished (exit 0) — both are fine, a signal death or an inconsistent store is not."""
    sw = Slipway(tmp_path / "store")
    sw.run("init")
    line = b"1.25,-3.5,7.125,hello,2013-01-01\n"
    data = b"a,b,c,d,e\n" + line * (120_000_000 // len(line))
    for i, delay in enumerate((0.02, 0.1, 0.3)):
        f = tmp_path / f"in{i}.csv"
        f.write_bytes(data)
        proc = sw.popen("data", "ingest", f, "--dataset", "t")
        time.sleep(delay)
        os.truncate(f, 1000)
        _, err_bytes = proc.communicate(timeout=300)
        err = err_bytes.decode(errors="replace")
        assert proc.returncode in (0, 3), f"exit {proc.returncode} after {delay}s: {err[-2000:]}"
        if proc.returncode == 3:
            # The signal's own message, or a parse error naming the file (the parser saw the cut).
            assert "error:" in err and ("(SIGBUS)" in err or f"{f.name}:" in err), err[-2000:]
        _fsck_ok(sw, f"after truncating the input {delay}s into its ingest")
