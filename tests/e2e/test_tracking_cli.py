"""Tracking from the CLI beyond the text cases: many processes logging at once (exact counts at the
end), runs whose owner process died marked FAILED, long metric curves, and scripts' conveniences."""
from __future__ import annotations

import json
import subprocess
import sys

from e2e_util import Slipway, describe


def create_run(sw: Slipway, *args: str) -> str:
    proc = sw.run("runs", "create", *args)
    run_id = proc.stdout.strip()
    assert len(run_id) == 32 and all(c in "0123456789abcdef" for c in run_id), proc.stdout
    return run_id


def test_concurrent_cli_writers_lose_nothing(sw: Slipway) -> None:
    run_id = create_run(sw, "--experiment", "load", "--name", "shared")
    writers, batches, points = 6, 5, 40
    procs = []
    for w in range(writers):
        # Each writer is one shell loop of `runs log` calls, all writers at once.
        script = "\n".join(
            f'"{sw.bin}" --store "{sw.store}" runs log {run_id} '
            + " ".join(f"--metric loss={w}.{b}@{(w * batches + b) * points + i}" for i in range(points))
            + f" --tag last={w} || exit 1"
            for b in range(batches))
        procs.append(subprocess.Popen(["bash", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    doc = sw.json("runs", "compare", run_id, run_id, "--curve", "loss")
    steps = [pt["step"] for pt in doc["runs"][0]["points"]]
    assert steps == list(range(writers * batches * points))
    shown = sw.json("runs", "show", run_id[:8])
    assert shown["metrics"]["loss"]["step"] == writers * batches * points - 1


def test_run_of_a_dead_script_is_marked_failed(sw: Slipway) -> None:
    # The script ties the run to itself with --owner-pid $$ and exits without `runs end`.
    script = f'"{sw.bin}" --store "{sw.store}" runs create --experiment crash --owner-pid $$ --name doomed'
    proc = subprocess.run(["bash", "-c", script + "; exit 0"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    run_id = proc.stdout.strip()
    listed = sw.json("runs", "list", "--experiment", "crash")
    assert [r["status"] for r in listed["runs"]] == ["FAILED"]
    shown = sw.json("runs", "show", run_id)
    assert shown["end_time"] is not None
    assert shown["tags"]["slipway.failure"].startswith("its process ")
    assert shown["tags"]["slipway.failure"].endswith(" ended without ending the run")
    text = sw.run("runs", "show", run_id).stdout
    assert "failure" in text and "ended without ending the run" in text

    # A live owner keeps its run running.
    alive = create_run(sw, "--experiment", "crash", "--owner-pid", str(__import__("os").getpid()))
    assert sw.json("runs", "show", alive)["status"] == "RUNNING"
    bad = sw.run("runs", "create", "--owner-pid", "999999999", check_exit=3)
    assert bad.stderr == "error: --owner-pid: no process 999999999 on this host\n"


def test_create_conveniences_and_errors(sw: Slipway) -> None:
    # An unknown experiment is created, as mlflow.set_experiment does.
    run_id = create_run(sw, "--experiment", "fresh", "--param", "lr=0.1", "--tag", "k=v")
    exps = sw.json("experiments", "list")["experiments"]
    assert [e["name"] for e in exps] == ["Default", "fresh"]
    shown = sw.json("runs", "show", run_id)
    assert shown["params"] == {"lr": "0.1"}
    assert shown["tags"]["k"] == "v"
    assert shown["user"]

    # A bad --param leaves no half-made run behind.
    bad = sw.run("runs", "create", "--experiment", "fresh", "--param", "x=" + "v" * 6001, check_exit=2)
    assert bad.stderr == "error: value of param 'x' is 6001 bytes; the limit is 6000\n"
    assert len(sw.json("runs", "list", "--experiment", "fresh")["runs"]) == 1
    bad = sw.run("runs", "create", "--param", "novalue", check_exit=2)
    assert bad.stderr == "error: --param expects KEY=VALUE, got 'novalue'\n"

    child = create_run(sw, "--experiment", "fresh", "--parent", run_id[:10])
    assert sw.json("runs", "show", child)["parent_run_id"] == run_id

    ended = sw.json("runs", "end", run_id, "--status", "KILLED")
    assert ended["status"] == "KILLED" and ended["end_time"] >= ended["start_time"]
    bad = sw.run("runs", "end", child, "--status", "RUNNING", check_exit=2)
    assert bad.stderr == "error: --status must be FINISHED, FAILED or KILLED, got 'RUNNING'\n"


def test_long_curve_is_summarised(sw: Slipway) -> None:
    a = create_run(sw)
    b = create_run(sw)
    for run_id, scale in ((a, 1.0), (b, 2.0)):
        args = []
        for step in range(300):
            args += ["--metric", f"loss={scale / (step + 1)}@{step}"]
        sw.run("runs", "log", run_id, *args)
    out = sw.run("runs", "compare", a, b, "--curve", "loss", "--points", "5").stdout
    lines = out.splitlines()
    assert lines[0] == "loss by step (2 runs, 600 points)"
    table = lines[lines.index("") + 1:]
    assert table[0].split() == ["STEP", a[:12], b[:12]]
    assert [row.split()[0] for row in table[1:]] == ["0", "74", "149", "224", "299"]
    assert table[1].split()[1:] == ["1", "2"]
    missing = sw.run("runs", "compare", a, b, "--curve", "nope", check_exit=3)
    assert missing.stderr == "error: none of the runs logged metric 'nope'\n"
