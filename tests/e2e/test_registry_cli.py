"""`slipway models …` end to end: register a trained run and a bundle file, list and show, aliases,
description and tags, archive, delete (refused while a live process serves the version), the audit
trail, and the exact errors a user sees."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from e2e_util import TEST_DATA

LINEAR_BUNDLE = TEST_DATA / "models" / "bundles" / "linear_v1.slw"


def fails(sw, *args, exit_code: int) -> str:
    proc = sw.run(*args, check_exit=exit_code)
    assert proc.stdout == "", proc.stdout
    return proc.stderr


@pytest.fixture
def trained_run(sw, tmp_path) -> str:
    """A `slipway train` run (a small linear model on the flights sample): its id."""
    config = tmp_path / "train.yaml"
    config.write_text(json.dumps({
        "data": {"file": str(TEST_DATA / "flights_sample.csv"),
                 "target": {"column": "arr_delay", "threshold": 15},
                 "features": ["month", "day", "sched_dep_time", "carrier", "distance"]},
        "split": {"method": "random", "train": 0.6, "validation": 0.2, "test": 0.2},
        "model": {"kind": "linear", "params": {"l2": 1.0}},
        "seed": 3, "threads": 1,
    }))
    return sw.json("train", config)["run_id"]


def test_register_a_run_and_a_bundle_then_show_list_and_resolve(sw, trained_run):
    first = sw.json("models", "register", trained_run[:8], "--name", "delays", "--description", "first try",
                    "--tag", "team=ops", "--alias", "champion")
    assert first["name"] == "delays" and first["version"] == 1
    assert first["run_id"] == trained_run
    assert first["source"] == f"runs:/{trained_run}"
    assert first["aliases"] == ["champion"]
    assert first["tags"] == {"team": "ops"}
    assert first["description"] == "first try"
    assert first["signature"]["task"] == "binary"
    assert [i["name"] for i in first["signature"]["inputs"]] == ["month", "day", "sched_dep_time", "carrier", "distance"]
    assert first["signature"]["outputs"] == ["probability"]
    assert "test-auc" in first["metrics"]
    run = sw.json("runs", "show", trained_run)
    assert first["bundle"] == run["output_model"]

    second = sw.run("models", "register", LINEAR_BUNDLE, "--name", "delays")
    assert second.stdout.startswith("registered delays/2 from ")

    listed = sw.json("models", "list")["models"]
    assert [(m["name"], m["versions"], m["latest_version"], m["aliases"]) for m in listed] == \
        [("delays", 2, 2, {"champion": 1})]

    shown = sw.json("models", "show", "delays")
    assert [v["version"] for v in shown["versions"]] == [2, 1]
    assert sw.json("models", "show", "delays@champion")["version"] == 1
    assert sw.json("models", "show", "delays/2")["source"] == str(LINEAR_BUNDLE)
    text = sw.run("models", "show", "delays@champion").stdout
    assert text.startswith("delays/1\n")
    assert "  aliases      champion\n" in text
    assert f"  run          {trained_run}\n" in text


def test_aliases_archive_update_and_history(sw):
    for _ in range(3):
        sw.run("models", "register", LINEAR_BUNDLE, "--name", "churn")
    assert sw.run("models", "alias", "churn", "champion", "2", "--reason", "v2 wins").stdout == \
        "churn@champion -> churn/2\n"
    sw.run("models", "alias", "churn", "challenger", "@champion")
    assert sw.json("models", "show", "churn@challenger")["version"] == 2
    sw.run("models", "alias", "churn", "champion", "3")
    sw.run("models", "alias", "churn", "challenger", "--delete")
    assert "model 'churn' has no alias 'challenger'" in fails(sw, "models", "show", "churn@challenger", exit_code=3)

    sw.run("models", "update", "churn", "--description", "30-day churn", "--tag", "owner=ana")
    sw.run("models", "update", "churn@champion", "--description", "the good one", "--tag", "validated=yes")
    model = sw.json("models", "show", "churn")
    assert model["description"] == "30-day churn" and model["tags"] == {"owner": "ana"}
    assert sw.json("models", "show", "churn/3")["tags"] == {"validated": "yes"}

    assert sw.run("models", "archive", "churn/3").stdout == "archived churn/3\n"
    assert sw.json("models", "show", "churn")["latest_version"] == 3
    # NAME alone now means version 2, the latest that is not archived.
    assert sw.json("models", "show", "churn@latest")["version"] == 2
    sw.run("models", "unarchive", "churn/3")

    history = sw.json("models", "history", "churn")["history"]
    actions = [(h["action"], h["version"]) for h in history]
    assert actions == [("create", None), ("register", 1), ("register", 2), ("register", 3), ("alias", 2),
                       ("alias", 2), ("alias", 3), ("delete-alias", 2), ("update", None), ("tag", None),
                       ("update", 3), ("tag", 3), ("archive", 3), ("unarchive", 3)]
    assert history[4]["reason"] == "v2 wins"
    assert history[6]["detail"] == "champion: 2 -> 3"
    # The default reason is the command line.
    assert history[12]["reason"] == f"slipway --store {sw.store} models archive churn/3"
    assert all(h["user"] for h in history)
    text = sw.run("models", "history", "churn").stdout
    assert "champion: 2 -> 3" in text and "v2 wins" in text


def test_delete_is_refused_while_a_live_process_serves_the_version(sw, tmp_path):
    sw.run("models", "register", LINEAR_BUNDLE, "--name", "churn")
    sw.run("models", "register", LINEAR_BUNDLE, "--name", "churn")
    # A stand-in for `slipway serve`: a process that records a deployment through the registry's
    # table the way serving does (Registry::record_deployment) is not reachable from Python, so the
    # row is written with sqlite3 for a live sleeping process, with its start time from /proc.
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        ticks = int(Path(f"/proc/{sleeper.pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        import socket
        import sqlite3
        db = sqlite3.connect(sw.store / "metadata.db")
        model_id = db.execute("SELECT model_id FROM registered_models WHERE name = 'churn'").fetchone()[0]
        started = int(time.time() * 1000)
        db.execute("INSERT INTO model_deployments VALUES (?, 1, 'churn', ?, ?, ?, ?)",
                   (model_id, socket.gethostname(), sleeper.pid, ticks, started))
        db.commit()
        db.close()
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started // 1000))
        expected = (f"error: model version churn/1 is deployed at endpoint churn (pid {sleeper.pid}, since {since}); "
                    "stop it first\n")
        assert fails(sw, "models", "delete", "churn/1", exit_code=4) == expected
        assert fails(sw, "models", "archive", "churn/1", exit_code=4) == expected
        assert fails(sw, "models", "delete", "churn", exit_code=4) == expected
        deployments = sw.json("models", "deployments")["deployments"]
        assert [(d["name"], d["version"], d["endpoint"], d["pid"]) for d in deployments] == \
            [("churn", 1, "churn", sleeper.pid)]
        assert sw.run("models", "delete", "churn/2").stdout == "deleted churn/2\n"
    finally:
        sleeper.send_signal(signal.SIGKILL)
        sleeper.wait()
    # The serving process is gone: its deployment no longer counts.
    assert sw.json("models", "deployments")["deployments"] == []
    assert sw.run("models", "delete", "churn/1").stdout == "deleted churn/1\n"
    assert sw.run("models", "delete", "churn").stdout == "deleted model churn and all its versions\n"
    assert "registered model 'churn' not found" in fails(sw, "models", "show", "churn", exit_code=3)
    # The trail outlives the model.
    assert sw.json("models", "history", "churn")["history"][-1]["action"] == "delete"


@pytest.mark.parametrize("args,code,message", [
    (["models", "show", "nope"], 3, "registered model 'nope' not found"),
    (["models", "show", "churn/7"], 3, "model version churn/7 not found"),
    (["models", "show", "churn/x"], 2, "model version 'x' in 'churn/x' is not a positive integer"),
    (["models", "show", "churn@champion"], 3, "model 'churn' has no alias 'champion'"),
    (["models", "show", "churn@bad alias"], 2,
     "in 'churn@bad alias': invalid alias 'bad alias': aliases may contain only letters, digits, '_' and '-'"),
    (["models", "register", "missing.slw", "--name", "churn"], 3,
     "'missing.slw' is neither a model bundle file nor a run in this store"),
    (["models", "register", "abcdef12", "--name", "churn"], 3,
     "'abcdef12' is neither a model bundle file nor a run in this store"),
    (["models", "register", str(LINEAR_BUNDLE), "--name", "a/b"], 2,
     "invalid model name 'a/b': names must not contain '/' or '@' (they separate the version and the alias: "
     "NAME/N, NAME@ALIAS)"),
    (["models", "register", str(LINEAR_BUNDLE), "--name", "churn", "--alias", "v2"], 2,
     "invalid alias 'v2': aliases of the form v<number> are reserved for versions"),
    (["models", "alias", "churn", "champion"], 2,
     "which version should churn@champion point at? slipway models alias churn champion N"),
    (["models", "alias", "churn", "champion", "9"], 3, "model version churn/9 not found"),
    (["models", "archive", "churn"], 2, "`slipway models archive` needs a version: churn/N or churn@ALIAS"),
    (["models", "archive", "churn/1"], 4, None),
    (["models", "update", "churn"], 2,
     "nothing to update: give --description, --tag KEY=VALUE or --delete-tag KEY"),
    (["models", "update", "churn", "--tag", "novalue"], 2, "--tag expects KEY=VALUE, got 'novalue'"),
    (["models", "history", "nope"], 3, "registered model 'nope' not found"),
])
def test_exact_errors(sw, args, code, message):
    sw.run("models", "register", LINEAR_BUNDLE, "--name", "churn")
    if message is None:  # archiving twice
        sw.run(*args)
        message = "model version churn/1 is already archived"
    assert fails(sw, *args, exit_code=code) == f"error: {message}\n"


def test_a_non_bundle_file_is_refused(sw, tmp_path):
    junk = tmp_path / "junk.slw"
    junk.write_text("not a model")
    err = fails(sw, "models", "register", junk, "--name", "churn", exit_code=4)
    assert err.startswith("error: ") and "junk.slw" in err
    assert "registered model 'churn' not found" in fails(sw, "models", "show", "churn", exit_code=3)
