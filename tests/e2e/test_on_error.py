"""--on-error fail|skip|quarantine: what happens to malformed records during ingest."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from e2e_util import assert_same_tree, row_count

GOOD_ROWS = 100
# (line in the file, text): a short row, a long row, another short row. Line 1 is the header.
BAD_LINES = {12: "11,only-two", 40: "38,too,many,fields,here", 77: "74"}


@pytest.fixture
def messy(tmp_path: Path) -> Path:
    src = tmp_path / "src" / "messy.csv"
    src.parent.mkdir()
    lines = ["id,name,score"]
    good = 0
    while good < GOOD_ROWS or len(lines) + 1 in BAD_LINES:
        lineno = len(lines) + 1
        if lineno in BAD_LINES:
            lines.append(BAD_LINES[lineno])
        else:
            lines.append(f"{good},name{good},{good * 0.5}")
            good += 1
    src.write_text("\n".join(lines) + "\n")
    return src


def _show(sw, ref: str) -> dict:
    """`data show --json`: the version's manifest (lineage) without its profile."""
    return sw.json("data", "show", ref)


def _bad_records(show: dict) -> int:
    return sum(f["bad_records"] for f in show["files"])


def _strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def test_fail_is_the_default_and_names_the_first_bad_record(sw, messy):
    for extra in ([], ["--on-error", "fail"]):
        proc = sw.run("data", "ingest", messy, "--dataset", "m", *extra, check_exit=3)
        assert proc.stderr.startswith("error: "), proc.stderr
        assert f"{messy}:12:" in proc.stderr, proc.stderr
        assert proc.stdout == ""
    # Nothing was committed.
    proc = sw.run("data", "log", "m", check_exit=None)
    assert proc.returncode == 3, f"log of a dataset that was never committed: exit {proc.returncode}"


def test_skip_drops_the_bad_records_and_counts_them(sw, messy, tmp_path):
    result = sw.json("data", "ingest", messy, "--dataset", "m", "--on-error", "skip")
    assert result["rows"] == GOOD_ROWS and result["bad_records"] == len(BAD_LINES), result
    version = result["version"]
    assert row_count(sw.json("data", "profile", f"m@{version}")) == GOOD_ROWS
    show = _show(sw, f"m@{version}")
    assert show["rows"] == GOOD_ROWS
    assert _bad_records(show) == len(BAD_LINES)
    assert show["quarantine"] is None  # skipped records are counted, not kept
    out = sw.checkout(f"m@{version}", tmp_path / "out")
    assert_same_tree(messy, out)  # the original bytes, bad records included
    assert sorted(p.name for p in out.iterdir()) == ["messy.csv"]


def test_quarantine_keeps_the_bad_records(sw, messy, tmp_path):
    result = sw.json("data", "ingest", messy, "--dataset", "m", "--on-error", "quarantine")
    assert result["rows"] == GOOD_ROWS and result["bad_records"] == len(BAD_LINES), result
    version = result["version"]
    assert row_count(sw.json("data", "profile", f"m@{version}")) == GOOD_ROWS
    show = _show(sw, f"m@{version}")
    assert show["rows"] == GOOD_ROWS
    assert _bad_records(show) == len(BAD_LINES)
    assert isinstance(show["quarantine"], str) and show["quarantine"], show
    out = sw.checkout(f"m@{version}", tmp_path / "out")
    assert_same_tree(messy, out, names=["messy.csv"])
    quarantine = out / "_quarantine.jsonl"
    assert quarantine.is_file(), f"checkout wrote {sorted(p.name for p in out.iterdir())}"
    records = [json.loads(line) for line in quarantine.read_text().splitlines() if line.strip()]
    assert len(records) == len(BAD_LINES), records
    for (lineno, text), record in zip(sorted(BAD_LINES.items()), records):
        values = _strings(record)
        assert any(text in v for v in values), f"quarantined record for line {lineno} lacks {text!r}: {record}"
        assert any(str(lineno) in json.dumps(v) for v in record.values()), \
            f"quarantined record for line {lineno} does not say where it came from: {record}"
    # The quarantined records are part of the version: fsck checks them like any object.
    sw.run("fsck")
