"""Input files the Python suites make from the example data (nothing large is committed)."""
from __future__ import annotations

import csv
import gzip
import json
import sqlite3
from pathlib import Path

from e2e_util import flights_csv


def flights_head(out: Path, rows: int) -> Path:
    """The header and the first `rows` data rows of flights.csv, byte for byte."""
    with open(flights_csv(), "rb") as src, open(out, "wb") as dst:
        for i, line in enumerate(src):
            if i > rows:
                break
            dst.write(line)
    return out


def gzip_of(src: Path, out: Path) -> Path:
    with open(src, "rb") as f, gzip.open(out, "wb", compresslevel=6) as g:
        g.write(f.read())
    return out


def jsonl_of(src: Path, out: Path) -> Path:
    """JSON Lines with typed values: numbers as numbers, NA as null, the rest strings."""
    def value(text: str):
        if text == "NA":
            return None
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text

    with open(src, newline="") as f, open(out, "w") as g:
        for row in csv.DictReader(f):
            g.write(json.dumps({k: value(v) for k, v in row.items()}) + "\n")
    return out


def split_by_month(src: Path, out_dir: Path) -> list[Path]:
    """One CSV per month (each with the header), in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files: dict[str, object] = {}
    with open(src, "rb") as f:
        header = f.readline()
        for line in f:
            month = line.split(b",", 2)[1].decode()
            if month not in files:
                files[month] = open(out_dir / f"flights_{int(month):02d}.csv", "wb")
                files[month].write(header)
            files[month].write(line)
    for handle in files.values():
        handle.close()
    return sorted(out_dir.iterdir())


FLIGHTS_SQL_TYPES = {
    "year": "INTEGER", "month": "INTEGER", "day": "INTEGER", "dep_time": "INTEGER", "sched_dep_time": "INTEGER",
    "dep_delay": "DOUBLE PRECISION", "arr_time": "INTEGER", "sched_arr_time": "INTEGER",
    "arr_delay": "DOUBLE PRECISION", "carrier": "TEXT", "flight": "INTEGER", "tailnum": "TEXT", "origin": "TEXT",
    "dest": "TEXT", "air_time": "DOUBLE PRECISION", "distance": "DOUBLE PRECISION", "hour": "INTEGER",
    "minute": "INTEGER", "time_hour": "TEXT",
}


def sqlite_of(src: Path, out: Path, table: str = "flights") -> Path:
    """A SQLite database holding the CSV as one typed table (NA becomes NULL)."""
    con = sqlite3.connect(out)
    with open(src, newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        cols = ", ".join(f'"{c}" {FLIGHTS_SQL_TYPES.get(c, "TEXT")}' for c in header)
        con.execute(f'CREATE TABLE "{table}" ({cols})')
        marks = ", ".join("?" for _ in header)
        ints = [FLIGHTS_SQL_TYPES.get(c) == "INTEGER" for c in header]
        floats = [FLIGHTS_SQL_TYPES.get(c) == "DOUBLE PRECISION" for c in header]

        def typed(row):
            return [None if v == "NA" else int(v) if i else float(v) if fl else v
                    for v, i, fl in zip(row, ints, floats)]
        con.executemany(f'INSERT INTO "{table}" VALUES ({marks})', (typed(r) for r in reader))
    con.commit()
    con.close()
    return out
