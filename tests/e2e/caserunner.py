"""Parser and executor for the text-driven end-to-end cases (format documented in test_cases.py).

Kept apart from test_cases.py so the runner's own tests (test_runner_selftest.py) can import it
without pulling the collected case tests into their module.
"""
from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

RUN_TIMEOUT_S = 120
MAX_SHOWN_CHARS = 20000  # per stream in a failure report; enough for any real diagnostic

_VAR = re.compile(r"(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}")
_JSON_OPS = ("==", "!=", "<=", ">=", "<", ">")
_PATH_TOKEN = re.compile(r"\.([A-Za-z_][A-Za-z0-9_\-]*)|\.\"([^\"]*)\"|\[(-?\d+)\]")
_PATH = re.compile(r"(?:\.[A-Za-z_][A-Za-z0-9_\-]*|\.\"[^\"]*\"|\[-?\d+\])+")


class CaseSyntaxError(Exception):
    pass


@dataclass
class Expectation:
    line: int       # 1-based line in the case file
    kind: str       # exit | contains | not_contains | equals | matches | json | file
    stream: str = ""           # stdout | stderr (for text expectations)
    text: str = ""             # expected text / regex / file path / json path
    op: str = ""               # json comparison operator; "exists"/"not exists" for files
    value: object = None       # exit code or json value


@dataclass
class Step:
    line: int
    command: str
    expectations: list[Expectation] = field(default_factory=list)
    # (line, variable name, JSON path or None for the whole stdout)
    captures: list[tuple[int, str, str | None]] = field(default_factory=list)


@dataclass
class Case:
    path: str
    steps: list[Step]


def parse_case(text: str, path: str = "<case>") -> Case:
    lines = text.split("\n")
    steps: list[Step] = []
    i = 0

    def fail(lineno: int, msg: str) -> CaseSyntaxError:
        return CaseSyntaxError(f"{path}:{lineno}: {msg}")

    while i < len(lines):
        lineno, raw = i + 1, lines[i]
        i += 1
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("run "):
            command = line[4:].strip()
            # A trailing backslash continues the command; bash sees the newline as a continuation.
            while command.endswith("\\") and i < len(lines):
                command += "\n" + lines[i].strip()
                i += 1
            steps.append(Step(lineno, command))
            continue
        if not steps:
            raise fail(lineno, f"'{line}' before any 'run'")
        step = steps[-1]
        if line.startswith("capture "):
            m = re.fullmatch(r"capture ([A-Za-z_][A-Za-z0-9_]*)(?: json (\S+))?", line)
            if not m:
                raise fail(lineno, "expected 'capture NAME' or 'capture NAME json PATH'")
            if m.group(2):
                try:
                    _parse_path(m.group(2))
                except ValueError as e:
                    raise fail(lineno, str(e)) from None
            step.captures.append((lineno, m.group(1), m.group(2)))
            continue
        if not line.startswith("expect "):
            raise fail(lineno, f"unknown directive: {line}")
        rest = line[len("expect "):]
        if rest.startswith("exit "):
            try:
                step.expectations.append(Expectation(lineno, "exit", value=int(rest[5:].strip())))
            except ValueError:
                raise fail(lineno, f"bad exit code in '{line}'") from None
            continue
        if rest.startswith("file "):
            m = re.fullmatch(r"file (.+?) (exists|not exists)", rest)
            if not m:
                raise fail(lineno, "expected 'expect file PATH exists' or 'expect file PATH not exists'")
            step.expectations.append(Expectation(lineno, "file", text=m.group(1), op=m.group(2)))
            continue
        if rest.startswith("json "):
            step.expectations.append(_parse_json_expectation(rest[5:], lineno, fail))
            continue
        m = re.match(r"(stdout|stderr)\b(.*)$", rest)
        if not m:
            raise fail(lineno, f"unknown expectation: {line}")
        stream, tail = m.group(1), m.group(2)
        if tail == "":
            # Multi-line exact block, verbatim (blank and '#' lines included) up to a '----' line.
            block = []
            while i < len(lines) and lines[i].rstrip() != "----":
                block.append(lines[i])
                i += 1
            if i == len(lines):
                raise fail(lineno, "multi-line expectation has no closing '----'")
            i += 1
            step.expectations.append(Expectation(lineno, "equals", stream, "\n".join(block)))
        elif tail.startswith(":"):
            step.expectations.append(Expectation(lineno, "equals", stream, tail[1:].removeprefix(" ")))
        elif tail.startswith(" contains "):
            step.expectations.append(Expectation(lineno, "contains", stream, tail[len(" contains "):]))
        elif tail.startswith(" not contains "):
            step.expectations.append(Expectation(lineno, "not_contains", stream, tail[len(" not contains "):]))
        elif tail.startswith(" matches "):
            pattern = tail[len(" matches "):]
            try:
                re.compile(pattern)
            except re.error as e:
                raise fail(lineno, f"bad regex: {e}") from None
            step.expectations.append(Expectation(lineno, "matches", stream, pattern))
        else:
            raise fail(lineno, f"unknown expectation: {line}")
    return Case(path, steps)


def _parse_json_expectation(rest: str, lineno: int, fail) -> Expectation:
    for op in _JSON_OPS:
        # Operators are surrounded by spaces so paths and values may contain '<' or '='.
        pos = rest.find(f" {op} ")
        if pos > 0:
            path, raw = rest[:pos].strip(), rest[pos + len(op) + 2:].strip()
            break
    else:
        raise fail(lineno, "expected 'expect json PATH OP VALUE' with OP one of " + " ".join(_JSON_OPS))
    try:
        _parse_path(path)
    except ValueError as e:
        raise fail(lineno, str(e)) from None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw  # a bare word is a string: `expect json .name == flights`
    return Expectation(lineno, "json", text=path, op=op, value=value)


def _parse_path(path: str):
    """'.a.b[0][-1]' or 'len(.a)' -> (steps, wants_length)."""
    wants_len = False
    m = re.fullmatch(r"len\((.*)\)", path)
    if m:
        path, wants_len = m.group(1).strip(), True
    if path == ".":
        return [], wants_len
    if not _PATH.fullmatch(path) or not path:
        raise ValueError(f"bad json path '{path}' (use .key, .\"odd key\", [index], len(PATH))")
    tokens = _PATH_TOKEN.findall(path)
    return [int(c) if c else (a or b) for a, b, c in tokens], wants_len


def _lookup(doc, path: str):
    steps, wants_len = _parse_path(path)
    node = doc
    for s in steps:
        if isinstance(s, int):
            if not isinstance(node, list) or not -len(node) <= s < len(node):
                raise KeyError(f"no index [{s}] in {_short(node)}")
            node = node[s]
        else:
            if not isinstance(node, dict) or s not in node:
                raise KeyError(f"no key '{s}' in {_short(node)}")
            node = node[s]
    if wants_len:
        if not isinstance(node, (list, dict, str)):
            raise KeyError(f"len() of a non-container {_short(node)}")
        return len(node)
    return node


def _short(node) -> str:
    text = json.dumps(node)
    return text if len(text) <= 200 else text[:200] + "..."


def substitute(text: str, variables: dict[str, str]) -> str:
    """Replaces {name} for known names; `${x}` (bash) and unknown names are left as they are."""
    return _VAR.sub(lambda m: variables.get(m.group(1), m.group(0)), text)


def _clip(text: str) -> str:
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    half = MAX_SHOWN_CHARS // 2
    return f"{text[:half]}\n... [{len(text) - MAX_SHOWN_CHARS} characters cut] ...\n{text[-half:]}"


def _check(exp: Expectation, rc: int, out: str, err: str, cwd: Path, variables) -> str | None:
    """Returns None when the expectation holds, else a one-line explanation."""
    if exp.kind == "exit":
        return None if rc == exp.value else f"expected exit {exp.value}, got {rc}"
    if exp.kind == "file":
        target = Path(substitute(exp.text, variables))
        target = target if target.is_absolute() else cwd / target
        exists = target.exists()
        if exp.op == "exists" and not exists:
            return f"expected file {target} to exist"
        if exp.op == "not exists" and exists:
            return f"expected file {target} not to exist"
        return None
    if exp.kind == "json":
        try:
            doc = json.loads(out)
        except json.JSONDecodeError as e:
            return f"stdout is not JSON ({e})"
        try:
            got = _lookup(doc, exp.text)
        except KeyError as e:
            return f"json {exp.text}: {e.args[0]}"
        want = substitute(exp.value, variables) if isinstance(exp.value, str) else exp.value
        ok = _compare(got, exp.op, want)
        return None if ok else f"expected json {exp.text} {exp.op} {json.dumps(want)}, got {json.dumps(got)}"
    text = out if exp.stream == "stdout" else err
    want = substitute(exp.text, variables)
    if exp.kind == "contains":
        return None if want in text else f"expected {exp.stream} to contain: {want}"
    if exp.kind == "not_contains":
        return None if want not in text else f"expected {exp.stream} not to contain: {want}"
    if exp.kind == "matches":
        return None if re.search(want, text, re.MULTILINE) else f"expected {exp.stream} to match /{want}/"
    got = text[:-1] if text.endswith("\n") else text
    if got == want:
        return None
    diff = "\n".join(difflib.unified_diff(want.split("\n"), got.split("\n"), "expected", "got", lineterm=""))
    return f"{exp.stream} differs from the expected text:\n{diff}"


def _compare(got, op: str, want) -> bool:
    if op == "==":
        # JSON true is not 1: booleans only equal booleans; 1 and 1.0 are the same number.
        if isinstance(got, bool) or isinstance(want, bool):
            return type(got) is type(want) and got == want
        return got == want
    if op == "!=":
        return not _compare(got, "==", want)
    try:
        return {"<": got < want, "<=": got <= want, ">": got > want, ">=": got >= want}[op]
    except TypeError:
        return False


def run_case(case: Case, cwd: Path, variables: dict[str, str], env: dict[str, str]) -> list[str]:
    """Runs every step in order (later steps still run after a failure, so one report shows all
    mismatches). Returns the failure reports; empty means the case passed."""
    variables = dict(variables)
    failures = []
    for step in case.steps:
        command = substitute(step.command, variables)
        try:
            proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, env=env,
                                  capture_output=True, timeout=RUN_TIMEOUT_S, stdin=subprocess.DEVNULL)
            rc = proc.returncode
            out = proc.stdout.decode("utf-8", "replace")
            err = proc.stderr.decode("utf-8", "replace")
            problems = []
        except subprocess.TimeoutExpired as e:
            rc, out = -1, (e.stdout or b"").decode("utf-8", "replace")
            err = (e.stderr or b"").decode("utf-8", "replace")
            problems = [(step.line, f"timed out after {RUN_TIMEOUT_S} s")]
        if not problems:
            if not any(x.kind == "exit" for x in step.expectations) and rc != 0:
                problems.append((step.line, f"expected exit 0 (the default), got {rc}"))
            for exp in step.expectations:
                why = _check(exp, rc, out, err, cwd, variables)
                if why:
                    problems.append((exp.line, why))
        for lineno, name, path in step.captures:
            if path is None:
                variables[name] = out.strip()
                continue
            try:
                got = _lookup(json.loads(out), path)
                variables[name] = got if isinstance(got, str) else json.dumps(got)
            except (json.JSONDecodeError, KeyError) as e:
                problems.append((lineno, f"capture {name} json {path}: {e}"))
        if problems:
            lines = [f"{case.path}:{ln}: {why}" for ln, why in problems]
            lines += [f"  command ({case.path}:{step.line}): {command}", f"  exit: {rc}",
                      "  --- stdout ---", _clip(out).rstrip("\n"), "  --- stderr ---", _clip(err).rstrip("\n"),
                      "  --------------"]
            failures.append("\n".join(lines))
    return failures


def make_env(bin_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SLIPWAY_HOME", None)  # cases rely on ./.slipway in their own temp folder
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env
