"""Ingest from SQL sources: a SQLite file and a live PostgreSQL server give the same dataset as the
CSV they were loaded from."""
from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

from e2e_util import row_count
from samples import FLIGHTS_SQL_TYPES, flights_head, sqlite_of

SAMPLE_ROWS = 20000


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return flights_head(tmp_path_factory.mktemp("sql") / "flights.csv", SAMPLE_ROWS)


def _jfk_rows(sample: Path) -> int:
    with open(sample) as f:
        next(f)
        return sum(1 for line in f if line.split(",")[12] == "JFK")


def _profile_columns(profile) -> list[str]:
    doc = profile.get("profile", profile)
    return [c["name"] for c in doc["columns"]]


def test_sqlite_query_matches_the_csv(sw, sample, tmp_path):
    db = sqlite_of(sample, tmp_path / "flights.db")
    sw.ingest(sample, "from_csv")
    sw.ingest(f"sqlite://{db}?query={quote('SELECT * FROM flights')}", "from_sqlite", "-m", "all rows")
    csv_profile = sw.json("data", "profile", "from_csv@main")
    sql_profile = sw.json("data", "profile", "from_sqlite@main")
    assert row_count(sql_profile) == row_count(csv_profile) == SAMPLE_ROWS
    assert _profile_columns(sql_profile) == _profile_columns(csv_profile)

    # A query that filters (quoted as the URI requires: spaces, '=' and quotes all encoded).
    query = quote("SELECT origin, dest, distance FROM flights WHERE origin = 'JFK'", safe="")
    sw.ingest(f"sqlite://{db}?query={query}", "jfk")
    jfk = sw.json("data", "profile", "jfk@main")
    assert row_count(jfk) == _jfk_rows(sample)
    assert _profile_columns(jfk) == ["origin", "dest", "distance"]


def test_sqlite_table_parameter(sw, sample, tmp_path):
    db = sqlite_of(sample, tmp_path / "flights.db")
    sw.ingest(f"sqlite://{db}?table=flights", "t")
    assert row_count(sw.json("data", "profile", "t@main")) == SAMPLE_ROWS


def _pg_url(server) -> str:
    """The fixture's connection URI, whether it yields a string or an object carrying one."""
    if isinstance(server, str):
        return server
    for attr in ("url", "uri", "dsn", "conninfo"):
        value = getattr(server, attr, None)
        if isinstance(value, str):
            return value
    if isinstance(server, dict):
        for key in ("url", "uri", "dsn"):
            if isinstance(server.get(key), str):
                return server[key]
    raise AssertionError(f"postgres_server fixture gave {server!r}; expected a postgresql:// URI")


def test_postgres_query_matches_the_csv(sw, sample, tmp_path, postgres_server):
    url = _pg_url(postgres_server)
    table = "flights_e2e"
    types = {c: ("TIMESTAMPTZ" if c == "time_hour" else t) for c, t in FLIGHTS_SQL_TYPES.items()}
    with open(sample) as f:
        header = f.readline().strip().split(",")
    cols = ", ".join(f'"{c}" {types[c]}' for c in header)
    load = subprocess.run(
        ["psql", url, "-v", "ON_ERROR_STOP=1", "-q",
         "-c", f"DROP TABLE IF EXISTS {table}",
         "-c", f"CREATE TABLE {table} ({cols})",
         "-c", f"\\copy {table} FROM '{sample}' WITH (FORMAT csv, HEADER true, NULL 'NA')"],
        capture_output=True, text=True, timeout=120)
    assert load.returncode == 0, f"loading PostgreSQL failed: {load.stderr}"

    sw.ingest(sample, "from_csv")
    sep = "&" if "?" in url else "?"
    sw.ingest(f"{url}{sep}query={quote(f'SELECT * FROM {table}', safe='')}", "from_pg")
    csv_profile = sw.json("data", "profile", "from_csv@main")
    pg_profile = sw.json("data", "profile", "from_pg@main")
    assert row_count(pg_profile) == row_count(csv_profile) == SAMPLE_ROWS
    assert _profile_columns(pg_profile) == _profile_columns(csv_profile)

    sw.ingest(f"{url}{sep}table={table}", "pg_table")
    assert row_count(sw.json("data", "profile", "pg_table@main")) == SAMPLE_ROWS

    query = quote(f"SELECT origin, dest, distance FROM {table} WHERE origin = 'JFK'", safe="")
    sw.ingest(f"{url}{sep}query={query}", "pg_jfk")
    assert row_count(sw.json("data", "profile", "pg_jfk@main")) == _jfk_rows(sample)
