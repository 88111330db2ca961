"""`slipway monitor alerts` (list, show, check) over firings written straight into the store's
documented tables (docs/alerts.md), and the exact errors of `check` for a bad rules file."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from e2e_util import Slipway

T0 = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z in µs


@pytest.fixture
def sw(tmp_path: Path) -> Slipway:
    s = Slipway(tmp_path / "store")
    s.run("init")
    db = sqlite3.connect(tmp_path / "store" / "metadata.db")
    evidence = {"rule": "drift", "model": "flights", "windows": [
        {"time_us": T0, "series": [{"metric": "drift_share", "labels": {}, "value": 0.5, "breaks": True}]}]}
    db.execute("INSERT INTO alert_firings (rule, model, expression, state, value, started_time, resolved_time, evidence) "
               "VALUES ('drift', 'flights', 'drift_share > 0.3 for 2 windows', 'resolved', 0.5, ?, ?, ?)",
               (T0, T0 + 3_600_000_000, json.dumps(evidence)))
    db.execute("INSERT INTO alert_firings (rule, model, expression, state, value, started_time, evidence) "
               "VALUES ('slow', '', 'p99_latency_ms > 5', 'firing', 7.25, ?, '{}')", (T0 + 60_000_000,))
    rows = [(1, 1, "event", "", "ok", 1, "", T0),
            (1, 2, "webhook", "http://127.0.0.1:9/hook", "ok", 3,
             "attempt 1: HTTP 503\nattempt 2: HTTP 503\nattempt 3: HTTP 200\nthanks", T0 + 5),
            (1, 3, "command", "slipway train retrain.yaml", "failed", 1, "training…\n[exit status 2]", T0 + 9),
            (2, 1, "event", "", "ok", 1, "", T0 + 60_000_000)]
    db.executemany("INSERT INTO alert_actions VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()
    return s


def test_list_shows_newest_first_with_action_counts(sw: Slipway):
    out = sw.run("monitor", "alerts").stdout.splitlines()
    assert out[0].split() == ["ID", "RULE", "MODEL", "STATE", "VALUE", "STARTED", "RESOLVED", "ACTIONS"]
    assert out[1].split() == ["2", "slow", "-", "firing", "7.25", "2025-01-01T00:01:00Z", "-", "1", "ok,", "0",
                              "failed"]
    assert out[2].split() == ["1", "drift", "flights", "resolved", "0.5", "2025-01-01T00:00:00Z",
                              "2025-01-01T01:00:00Z", "2", "ok,", "1", "failed"]


def test_list_filters_and_json(sw: Slipway):
    doc = sw.json("monitor", "alerts", "--state", "resolved")
    assert [f["firing_id"] for f in doc] == [1]
    assert doc[0]["actions_ok"] == 2 and doc[0]["actions_failed"] == 1
    assert doc[0]["resolved_time"] == T0 + 3_600_000_000
    assert sw.json("monitor", "alerts", "--rule", "slow")[0]["model"] == ""
    assert sw.run("monitor", "alerts", "--rule", "nope").stdout == "no alert firings match\n"
    bad = sw.run("monitor", "alerts", "--state", "pending", check_exit=2)
    assert bad.stderr == ("error: --state 'pending': expected firing or resolved (pending is not stored: see "
                          "slipway_alert_state in /metrics)\n")


def test_show_prints_evidence_and_action_output(sw: Slipway):
    out = sw.run("monitor", "alerts", "show", "1").stdout
    assert out.startswith("firing 1: rule drift, model flights, resolved\n"
                          "  when      drift_share > 0.3 for 2 windows\n"
                          "  value     0.5\n"
                          "  started   2025-01-01T00:00:00Z\n"
                          "  resolved  2025-01-01T01:00:00Z\n"
                          "evidence (everything: --json):\n"
                          "  window 2025-01-01T00:00:00Z: drift_share = 0.5 (breaks)\n")
    assert ("  2. webhook http://127.0.0.1:9/hook: ok, 3 attempts, finished 2025-01-01T00:00:00Z\n"
            "     | attempt 1: HTTP 503\n") in out
    assert "  3. command slipway train retrain.yaml: failed, 1 attempt, finished" in out
    assert "     | [exit status 2]\n" in out
    doc = sw.json("monitor", "alerts", "show", "1")
    assert doc["evidence"]["windows"][0]["series"][0]["breaks"] is True
    assert [a["status"] for a in doc["actions"]] == ["ok", "ok", "failed"]
    missing = sw.run("monitor", "alerts", "show", "99", check_exit=3)
    assert missing.stderr == "error: no alert firing 99\n"


def test_check_accepts_a_good_file(sw: Slipway, tmp_path: Path):
    rules = tmp_path / "alerts.yaml"
    rules.write_text("rules:\n"
                     "  - name: drift\n    model: flights\n    when: drift_share > 0.3 for 2 windows\n"
                     "    actions:\n      - webhook: http://127.0.0.1:9000/hook\n      - command: slipway train r.yaml\n"
                     "  - name: bad-carrier\n    when: error_rate{segment=carrier} > 0.2\n")
    out = sw.run("monitor", "alerts", "check", rules, store=False).stdout
    assert out.startswith(f"{rules}: 2 rules, valid\n")
    doc = sw.json("monitor", "alerts", "check", rules, store=False)
    assert doc["valid"] is True
    assert [r["name"] for r in doc["rules"]] == ["drift", "bad-carrier"]
    assert [a["kind"] for a in doc["rules"][0]["actions"]] == ["event", "webhook", "command"]
    assert doc["rules"][1]["model"] is None


def test_check_names_file_line_and_column(sw: Slipway, tmp_path: Path):
    rules = tmp_path / "alerts.yaml"
    rules.write_text("rules:\n  - name: drift\n    when: drift_share >> 0.3\n")
    proc = sw.run("monitor", "alerts", "check", rules, store=False, check_exit=1)
    assert proc.stderr == f"error: {rules}:3:24: rule 'drift': expected a number after the comparison, got '>'\n"
    rules.write_text("rules:\n  - name: drift\n    when: auc < 1\n    actions:\n      - webhook: http://h/x\n"
                     "        retry: 2\n")
    proc = sw.run("monitor", "alerts", "check", rules, store=False, check_exit=1)
    assert proc.stderr == (f"error: {rules}:6:9: unknown key 'retry' in webhook action of rule 'drift' "
                           "(expected: webhook, timeout_ms, retries)\n")
    proc = sw.run("monitor", "alerts", "check", tmp_path / "none.yaml", store=False, check_exit=3)
    assert proc.stderr == f"error: no such file: {tmp_path / 'none.yaml'}\n"
