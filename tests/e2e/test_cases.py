"""Text-driven end-to-end cases: tests/e2e/cases/*.test (in the spirit of DuckDB's sqllogictest).

Each .test file is one pytest test (id = the file name without .test). It runs in a fresh, empty
temporary folder as the working directory, so `slipway` finds its store at ./.slipway unless a
command says otherwise. `slipway` on PATH is the binary under test: $SLIPWAY_BIN, else
build/release/src/cli/slipway. SLIPWAY_HOME is removed from the environment.

Format
------
    # a comment (a line whose first non-blank character is '#')
    run slipway init
    expect exit 0
    expect stdout contains Initialized

    run slipway data ingest {data}/malformed/ragged.csv --dataset d
    expect exit 3
    expect stderr: error: {data}/malformed/ragged.csv:3:1: row has 2 fields but the header has 3

A case is a sequence of steps. A step is a `run` line followed by the expectations that apply to
it. Blank lines are only for the reader.

    run CMD                      CMD is a bash command line (`bash -o pipefail -c CMD`), timeout
                                 120 s. A trailing backslash continues it on the next line.
    expect exit N                the exit status. Without this line a step must exit 0.
    expect stdout contains TEXT  TEXT occurs somewhere in stdout (also: stderr).
    expect stdout not contains TEXT
    expect stdout matches REGEX  Python re.search, multi-line mode.
    expect stdout: LINE          stdout is exactly LINE (one trailing newline ignored).
                                 `expect stdout:` with nothing after it: stdout is empty.
    expect stdout                stdout is exactly the lines that follow, verbatim (blank and '#'
    LINE 1                       lines included), up to a line `----`.
    LINE 2
    ----
    expect json PATH OP VALUE    stdout parsed as JSON; PATH is .key, ."odd key", [index] (negative
                                 counts from the end), chained: .versions[0].rows; `len(PATH)` is
                                 the length of a list/object/string; `.` is the whole document.
                                 OP is == != < <= > >=. VALUE is a JSON literal (3, "x", true,
                                 null, [1,2]); a bare word that is not JSON is a string.
    expect file PATH exists      PATH (relative to the case folder) exists; also `not exists`.
    capture NAME                 after the step, {NAME} is the step's stdout, stripped, for later
                                 steps.
    capture NAME json PATH       after the step, {NAME} is the JSON value at PATH of its stdout (a
                                 string as is, anything else as JSON text), e.g. the version id:
                                     run slipway data ingest f.csv --dataset d --json
                                     capture v1 json .version

Every `expect` of a step is checked; all steps run even after a failure, so one report shows
every mismatch (read the first one first: later ones may follow from it). A failure names the
case file and line, the command as run, its exit status and the full stdout and stderr.

Variables, substituted in commands and expected texts: {data} = tests/data, {tmp} = the case's
folder, {root} = the repository root, {flights} = data/nycflights13, plus any captured names.
`${x}` is left to bash, and so is any {name} that is not a variable.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from caserunner import make_env, parse_case, run_case
from e2e_util import FLIGHTS_DIR, REPO_ROOT, TEST_DATA, slipway_bin

CASES_DIR = Path(__file__).resolve().parent / "cases"
CASE_FILES = sorted(CASES_DIR.glob("*.test"))


@pytest.mark.parametrize("case_file", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_case(case_file: Path, tmp_path: Path) -> None:
    rel = str(case_file.relative_to(REPO_ROOT)) if case_file.is_relative_to(REPO_ROOT) else str(case_file)
    text = case_file.read_text(encoding="utf-8")
    if "{flights}" in text and not (FLIGHTS_DIR / "flights.csv").is_file():
        pytest.fail(f"{rel} needs {FLIGHTS_DIR} (fetched by scripts/bootstrap.sh)", pytrace=False)
    case = parse_case(text, rel)
    assert case.steps, f"{rel} has no 'run' lines"

    work = tmp_path / "case"
    work.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "slipway").symlink_to(slipway_bin())

    variables = {"data": str(TEST_DATA), "tmp": str(work), "root": str(REPO_ROOT), "flights": str(FLIGHTS_DIR)}
    failures = run_case(case, work, variables, make_env(bin_dir))
    if failures:
        pytest.fail(f"{len(failures)} failing step(s)\n\n" + "\n\n".join(failures), pytrace=False)


def test_cases_exist() -> None:
    assert CASE_FILES, f"no case files in {CASES_DIR}"
