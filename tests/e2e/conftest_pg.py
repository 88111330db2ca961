"""A throwaway PostgreSQL server for the end-to-end suites (tests/support/postgres.sh).

Import the fixture where it is needed (tests/e2e/conftest.py re-exports it):

    from conftest_pg import postgres_server

    def test_ingest_from_postgres(postgres_server, sw):
        postgres_server.psql("CREATE TABLE t(x int); INSERT INTO t VALUES (1)")
        sw.run("data", "ingest", f"{postgres_server}?table=t")

`postgres_server` is the connection URI, `postgresql://postgres@127.0.0.1:PORT/postgres` (a str, so
append `?query=...` or `?table=...`), with `.port`, `.data_dir`, `.psql(sql)` and
`.copy_csv(table, path)` for loading data. One server per test session; it is stopped and its folder
removed at the end. A machine without the PostgreSQL server binaries fails the fixture, with the
reason, rather than skipping: a suite that silently runs nothing would look green.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

_REPO_ROOT = Path(os.environ.get("SLIPWAY_SOURCE_DIR") or Path(__file__).resolve().parents[2])
_SCRIPT = _REPO_ROOT / "tests" / "support" / "postgres.sh"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer(str):
    """The server's connection URI, plus helpers to put data in it."""

    port: int
    data_dir: Path

    def __new__(cls, port: int, data_dir: Path) -> "PostgresServer":
        self = super().__new__(cls, f"postgresql://postgres@127.0.0.1:{port}/postgres")
        self.port = port
        self.data_dir = data_dir
        return self

    def psql(self, sql: str, stdin: bytes | None = None) -> str:
        """Runs SQL (several statements are fine) as the superuser; returns psql's unaligned output."""
        psql = shutil.which("psql")
        if psql is None:
            pytest.fail("psql not found (Debian package postgresql-client)", pytrace=False)
        proc = subprocess.run(
            [psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", str(self), "-c", sql],
            input=stdin, capture_output=True, timeout=300)
        if proc.returncode != 0:
            pytest.fail(f"psql failed ({sql[:200]}): {proc.stderr.decode(errors='replace')}", pytrace=False)
        return proc.stdout.decode()

    def copy_csv(self, table: str, csv_path: Path) -> None:
        """Loads a CSV file with a header row into an existing table (COPY FROM STDIN, fast)."""
        self.psql(f"COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)", stdin=Path(csv_path).read_bytes())


def _run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(_SCRIPT), *args], capture_output=True, text=True, timeout=180)


@pytest.fixture(scope="session")
def postgres_server():
    port = _free_port()
    # Not a pytest tmp folder: those are private to root, and the server runs as the postgres user.
    data_dir = Path(f"/tmp/slipway-pg-e2e-{os.getpid()}-{port}")
    proc = _run_script("start", str(data_dir), str(port))
    if proc.returncode != 0:
        _run_script("stop", str(data_dir))
        pytest.fail(f"could not start PostgreSQL with {_SCRIPT}: {proc.stdout}{proc.stderr}", pytrace=False)
    try:
        yield PostgresServer(port, data_dir)
    finally:
        _run_script("stop", str(data_dir))
