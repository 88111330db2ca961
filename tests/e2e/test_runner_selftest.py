"""Tests of the case runner itself, against a fake `slipway` (a small Python script), so a runner bug
cannot hide behind a binary bug and the runner is checked even before the CLI exists."""
from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from caserunner import CaseSyntaxError, make_env, parse_case, run_case, substitute

FAKE = textwrap.dedent("""\
    #!{python}
    import json, os, sys
    args = sys.argv[1:]
    if args[:1] == ["init"]:
        os.makedirs(".slipway", exist_ok=True)
        print("Initialized empty slipway store in .slipway")
    elif args[:2] == ["data", "ingest"]:
        src = args[2]
        if not os.path.exists(src):
            print(f"error: {{src}}: no such file", file=sys.stderr)
            sys.exit(3)
        print("v" + "a" * 63)
    elif args[:2] == ["data", "log"]:
        print(json.dumps({{"versions": [{{"id": "v2", "rows": 10, "ok": True}}, {{"id": "v1", "rows": 7}}],
                          "name": "flights", "odd key": 1.0}}))
    elif args[:1] == ["lines"]:
        print("one"); print(""); print("# three")
    else:
        print("usage: slipway <noun> <verb>", file=sys.stderr)
        sys.exit(2)
""")


@pytest.fixture
def fake(tmp_path: Path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "slipway"
    exe.write_text(FAKE.format(python=sys.executable))
    exe.chmod(0o755)
    work = tmp_path / "work"
    work.mkdir()

    def run(text: str, **variables: str) -> list[str]:
        case = parse_case(textwrap.dedent(text), "cases/x.test")
        return run_case(case, work, {"tmp": str(work), **variables}, make_env(bin_dir))
    return run


def test_passing_case_reports_nothing(fake):
    failures = fake("""\
        # comment
        run slipway init
        expect exit 0
        expect stdout contains Initialized
        expect stdout not contains error
        expect stderr:
        expect file .slipway exists
        expect file {tmp}/.slipway exists
        expect file nothing not exists

        run slipway data ingest {tmp}/missing.csv --dataset d
        expect exit 3
        expect stderr: error: {tmp}/missing.csv: no such file
        expect stdout:

        run slipway data log d --json
        expect json .versions[0].rows == 10
        expect json .versions[-1].id == "v1"
        expect json .versions[0].ok == true
        expect json ."odd key" == 1
        expect json .name == flights
        expect json len(.versions) == 2
        expect json .versions[1].rows < 10
        expect json .versions[1].rows >= 7
        expect json .versions[0].rows != "10"

        run slipway lines
        expect stdout
        one

        # three
        ----

        run touch f.txt && \\
            echo done
        expect stdout: done
        expect file f.txt exists

        run slipway data ingest {tmp}/f.txt --dataset d
        capture vid
        expect stdout matches ^v[a]{63}$

        run slipway data log d --json
        capture first json .versions[0].id
        capture n json len(.versions)

        run echo {first} {n}
        expect stdout: v2 2

        run echo got {vid} ${HOME:+home}
        expect stdout contains got vaaaa
        expect stdout not contains {vid}x
    """)
    assert failures == []


def test_failures_name_the_line_the_command_and_both_streams(fake):
    failures = fake("""\
        run slipway init
        expect stdout contains Ready

        run slipway data ingest nope.csv --dataset d
        expect exit 0
        expect stderr: error: something else

        run slipway data log d --json
        expect json .versions[0].rows == 11
        expect json .versions[5].rows == 1
        expect json .versions[0].ok == 1

        run slipway bogus
    """)
    assert len(failures) == 4, "\n\n".join(failures)
    first, second, third, fourth = failures
    assert "cases/x.test:2: expected stdout to contain: Ready" in first
    assert "command (cases/x.test:1): slipway init" in first
    assert "Initialized empty slipway store" in first  # full stdout shown
    assert "cases/x.test:5: expected exit 0, got 3" in second
    assert "cases/x.test:6: stderr differs" in second
    assert "+error: nope.csv: no such file" in second and "-error: something else" in second
    assert "cases/x.test:9: expected json .versions[0].rows == 11, got 10" in third
    assert "cases/x.test:10: json .versions[5].rows: no index [5]" in third
    assert "cases/x.test:11: expected json .versions[0].ok == 1, got true" in third
    assert "cases/x.test:13: expected exit 0 (the default), got 2" in fourth
    assert "usage: slipway <noun> <verb>" in fourth  # full stderr shown


def test_exact_multiline_mismatch_and_non_json(fake):
    failures = fake("""\
        run slipway lines
        expect stdout
        one
        two
        ----
        expect json .x == 1
    """)
    assert len(failures) == 1
    assert "cases/x.test:2: stdout differs" in failures[0]
    assert "-two" in failures[0] and "+# three" in failures[0]
    assert "cases/x.test:6: stdout is not JSON" in failures[0]


SYNTAX_ERRORS = [
    ("expect exit 0\n", "cases/x.test:1: 'expect exit 0' before any 'run'"),
    ("run true\nexpect exit zero\n", "cases/x.test:2: bad exit code"),
    ("run true\nexpect stdout\nabc\n", "cases/x.test:2: multi-line expectation has no closing '----'"),
    ("run true\nexpect json .a[x] == 1\n", "cases/x.test:2: bad json path '.a[x]'"),
    ("run true\nexpect json .a 1\n", "cases/x.test:2: expected 'expect json PATH OP VALUE'"),
    ("run true\nexpect stdout has x\n", "cases/x.test:2: unknown expectation"),
    ("run true\nexpcet exit 0\n", "cases/x.test:2: unknown directive"),
    ("run true\nexpect file x\n", "cases/x.test:2: expected 'expect file PATH exists'"),
    ("run true\ncapture 1x\n", "cases/x.test:2: expected 'capture NAME' or 'capture NAME json PATH'"),
    ("run true\ncapture x json versions\n", "cases/x.test:2: bad json path 'versions'"),
]


@pytest.mark.parametrize("text,message", SYNTAX_ERRORS, ids=[m.split(": ", 1)[1][:32] for _, m in SYNTAX_ERRORS])
def test_syntax_errors_name_the_line(text, message):
    with pytest.raises(CaseSyntaxError) as info:
        parse_case(text, "cases/x.test")
    assert str(info.value).startswith(message)


def test_substitute_leaves_bash_and_unknown_names():
    assert substitute("{a} ${a} {b} {{a}}", {"a": "X"}) == "X ${a} {b} {X}"
