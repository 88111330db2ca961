"""Several processes logging to one run at once through the MLflow client (log-batch and single
log-metric): at the end every point is there exactly once."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import requests

from test_server_support import mlflow_subprocess_env, server  # noqa: F401  (fixture)

PROCESSES = 4
POINTS = 2000  # per process: half through log-batch, half one log-metric call each

WRITER = textwrap.dedent("""
    import sys
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    run_id, worker, points = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    client = MlflowClient()
    base = worker * points
    half = points // 2
    batch = [Metric("shared", float(base + i), 1_700_000_000_000 + i, base + i) for i in range(half)]
    for start in range(0, half, 250):
        client.log_batch(run_id, metrics=batch[start:start + 250])
    for i in range(half, points):
        client.log_metric(run_id, "shared", float(base + i), timestamp=1_700_000_000_000 + i, step=base + i)
    own = client.create_run("0", run_name=f"writer-{worker}")
    client.log_batch(own.info.run_id, metrics=[Metric("own", float(i), 1, i) for i in range(1000)])
    client.set_terminated(own.info.run_id)
    print("done", worker)
""")


def test_concurrent_writers_lose_and_duplicate_nothing(server):  # noqa: F811
    url = server.url
    r = requests.post(url + "/api/2.0/mlflow/runs/create", json={"experiment_id": "0", "run_name": "shared"},
                      timeout=30)
    run_id = r.json()["run"]["info"]["run_id"]
    env = mlflow_subprocess_env(server)
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, run_id, str(w), str(POINTS)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(PROCESSES)]
    for w, p in enumerate(procs):
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, f"writer {w} failed:\n{err[-3000:]}"
        assert out.strip().endswith(f"done {w}")

    history = requests.get(url + "/api/2.0/mlflow/metrics/get-history",
                           params={"run_id": run_id, "metric_key": "shared"}, timeout=60).json()["metrics"]
    steps = [int(m["step"]) for m in history]
    assert len(steps) == PROCESSES * POINTS
    assert sorted(steps) == list(range(PROCESSES * POINTS))
    assert all(float(m["value"]) == float(m["step"]) for m in history)

    runs = requests.post(url + "/api/2.0/mlflow/runs/search",
                         json={"experiment_ids": ["0"], "filter": "attributes.run_name LIKE 'writer-%'"},
                         timeout=60).json()["runs"]
    assert len(runs) == PROCESSES
    for run in runs:
        assert run["info"]["status"] == "FINISHED"
        own = requests.get(url + "/api/v1/runs/" + run["info"]["run_id"] + "/metrics/own", timeout=60).json()
        assert len(own["points"]) == 1000
