"""Starting and stopping a real `slipway server --port 0` for the server suites (no tests here).

The server prints "listening on http://HOST:PORT" on stderr once its port is bound; the fixture
reads that line, hands the URL to the test, and on teardown sends SIGTERM and expects exit 0."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from e2e_util import Slipway, clean_env, slipway_bin


class ServerProcess:
    def __init__(self, store: Path, *extra: str, init: bool = True):
        if init:
            Slipway(store).run("init")
        self.store = store
        argv = [str(slipway_bin()), "--store", str(store), "server", "--port", "0", *extra]
        self.proc = subprocess.Popen(argv, env=clean_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        found: queue.Queue[str] = queue.Queue()

        def pump():
            for line in self.proc.stderr:
                self.lines.append(line)
                if line.startswith("listening on "):
                    found.put(line.split()[-1])

        threading.Thread(target=pump, daemon=True).start()
        try:
            self.url = found.get(timeout=60)
        except queue.Empty:
            self.proc.kill()
            pytest.fail("slipway server did not say where it listens:\n" + "".join(self.lines), pytrace=False)

    def stderr(self) -> str:
        return "".join(self.lines)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"slipway server did not exit within {timeout}s of signal {sig}:\n{self.stderr()}",
                        pytrace=False)


@pytest.fixture
def server(tmp_path: Path):
    proc = ServerProcess(tmp_path / "store", "--threads", "2")
    yield proc
    if proc.proc.poll() is None:
        code = proc.stop()
        assert code == 0, f"server exited {code}:\n{proc.stderr()}"


@pytest.fixture
def mlflow_env(server: ServerProcess, monkeypatch):
    """The MLflow client pointed at the server, failing fast instead of retrying for minutes."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    return server


def wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def mlflow_subprocess_env(server: ServerProcess) -> dict[str, str]:
    env = dict(os.environ)
    env.update(MLFLOW_TRACKING_URI=server.url, MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_DISABLE_TELEMETRY="true",
               DO_NOT_TRACK="true")
    return env
