"""Fixtures for the end-to-end suites. The PostgreSQL server fixture lives in conftest_pg.py (owned
separately); it is re-exported here so any test in this folder can ask for `postgres_server`."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_util import Slipway  # noqa: E402

try:
    from conftest_pg import postgres_server  # noqa: E402,F401
except ImportError as _pg_import_error:
    _PG_MISSING = f"tests/e2e/conftest_pg.py could not be imported: {_pg_import_error}"

    @pytest.fixture(scope="session")
    def postgres_server():
        pytest.fail(_PG_MISSING, pytrace=False)


@pytest.fixture
def sw(tmp_path: Path) -> Slipway:
    """A CLI bound to a fresh, initialized store in the test's temp folder."""
    cli = Slipway(tmp_path / "store", cwd=tmp_path)
    cli.run("init")
    return cli
