"""A version checks out byte for byte as it was ingested, and a small append stores little."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from e2e_util import assert_same_tree, dir_size, row_count
from samples import flights_head, gzip_of, jsonl_of, split_by_month

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from gen_csv import generate  # noqa: E402

SAMPLE_ROWS = 20000


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return flights_head(tmp_path_factory.mktemp("sample") / "flights.csv", SAMPLE_ROWS)


@pytest.mark.parametrize("kind", ["csv", "csv.gz", "jsonl"])
def test_single_file_checkout_is_byte_identical(sw, sample, tmp_path, kind):
    src_dir = tmp_path / "src"
    src_dir.mkdir()
    if kind == "csv":
        src = shutil.copyfile(sample, src_dir / "flights.csv")
    elif kind == "csv.gz":
        src = gzip_of(sample, src_dir / "flights.csv.gz")
    else:
        src = jsonl_of(sample, src_dir / "flights.jsonl")
    version = sw.ingest(src, "flights", "-m", f"{kind} round trip")
    out = sw.checkout(f"flights@{version}", tmp_path / "out")
    assert_same_tree(Path(src), out)
    assert row_count(sw.json("data", "profile", f"flights@{version}")) == SAMPLE_ROWS


def test_folder_checkout_is_byte_identical(sw, sample, tmp_path):
    folder = tmp_path / "months"
    files = split_by_month(sample, folder)
    assert len(files) >= 1
    version = sw.ingest(folder, "flights")
    out = sw.checkout(f"flights@{version}", tmp_path / "out")
    assert_same_tree(folder, out)
    assert row_count(sw.json("data", "profile", "flights@main")) == SAMPLE_ROWS


def test_checkout_of_older_version_after_a_newer_one(sw, sample, tmp_path):
    first = sw.ingest(sample, "flights")
    bigger = flights_head(tmp_path / "flights.csv", SAMPLE_ROWS * 2)
    second = sw.ingest(bigger, "flights")
    assert first != second
    assert_same_tree(sample, sw.checkout(f"flights@{first}", tmp_path / "old"))
    assert_same_tree(bigger, sw.checkout("flights@main", tmp_path / "new"))


def test_appending_one_percent_stores_about_one_percent(sw, tmp_path):
    base_rows = 220_000  # about 50 MB of 28 float columns
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    v1, v2 = tmp_path / "v1" / "measurements.csv", tmp_path / "v2" / "measurements.csv"
    generate(v1, rows=base_rows, seed=7, missing=0.001)
    generate(v2, rows=base_rows + base_rows // 100, seed=7, missing=0.001)  # v1 plus 1% more rows
    size = v2.stat().st_size
    assert size > 45e6

    objects = sw.store / "objects"
    sw.ingest(v1, "m")
    before = dir_size(objects)
    sw.ingest(v2, "m")
    growth = dir_size(objects) - before
    assert growth <= 0.03 * size, f"store grew {growth} bytes for a 1% append to a {size}-byte file " \
                                  f"({100 * growth / size:.1f}%, limit 3%)"
    assert_same_tree(v2, sw.checkout("m@main", tmp_path / "out"))
