"""The unmodified MLflow client (mlflow-skinny) against `slipway server`: the calls a training
script makes, with every value read back through the client and through slipway's own API."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import requests

from test_server_support import mlflow_env, server  # noqa: F401  (fixtures)

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402


def test_training_script_round_trip(mlflow_env, tmp_path: Path):  # noqa: F811
    mlflow.set_tracking_uri(mlflow_env.url)
    experiment = mlflow.set_experiment("flights-delay")
    assert experiment.name == "flights-delay"
    assert mlflow.set_experiment("flights-delay").experiment_id == experiment.experiment_id

    artifact = tmp_path / "notes.txt"
    artifact.write_text("trained on the first quarter\n")
    plots = tmp_path / "plots"
    plots.mkdir()
    (plots / "curve.csv").write_text("step,loss\n0,1.0\n1,0.5\n")

    with mlflow.start_run(run_name="xgb-depth6") as run:
        run_id = run.info.run_id
        mlflow.log_param("max_depth", 6)
        mlflow.log_params({"eta": 0.1, "objective": "binary:logistic"})
        for step in range(5):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"auc": 0.81, "logloss": 0.42}, step=4)
        mlflow.log_metric("weird", float("nan"))
        mlflow.log_metric("huge", float("inf"))
        mlflow.set_tag("team", "ops")
        mlflow.set_tags({"carrier": "UA"})
        mlflow.log_artifact(str(artifact))
        mlflow.log_artifacts(str(plots), artifact_path="plots")

    client = MlflowClient()
    got = client.get_run(run_id)
    assert got.info.status == "FINISHED"
    assert got.info.end_time is not None and got.info.end_time >= got.info.start_time
    assert got.info.run_name == "xgb-depth6"
    assert got.info.experiment_id == experiment.experiment_id
    assert got.data.params == {"max_depth": "6", "eta": "0.1", "objective": "binary:logistic"}
    assert got.data.metrics["loss"] == pytest.approx(0.2)
    assert got.data.metrics["auc"] == 0.81
    assert math.isnan(got.data.metrics["weird"])
    assert got.data.metrics["huge"] == math.inf
    assert got.data.tags["team"] == "ops"
    assert got.data.tags["carrier"] == "UA"
    assert got.data.tags["mlflow.runName"] == "xgb-depth6"

    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1)) for s in range(5)]
    assert all(m.key == "loss" and m.timestamp > 0 for m in history)

    listed = sorted((f.path, f.is_dir) for f in client.list_artifacts(run_id))
    assert listed == [("notes.txt", False), ("plots", True)]
    assert [f.path for f in client.list_artifacts(run_id, "plots")] == ["plots/curve.csv"]
    out = Path(mlflow.artifacts.download_artifacts(run_id=run_id, dst_path=str(tmp_path / "down")))
    assert (out / "notes.txt").read_text() == "trained on the first quarter\n"
    assert (out / "plots" / "curve.csv").read_text() == "step,loss\n0,1.0\n1,0.5\n"
    single = Path(client.download_artifacts(run_id, "plots/curve.csv", str(tmp_path / "one")))
    assert single.read_text().startswith("step,loss")

    # The same run through slipway's own API.
    doc = requests.get(f"{mlflow_env.url}/api/v1/runs/{run_id}", timeout=30).json()
    assert doc["status"] == "FINISHED"
    assert doc["params"]["eta"] == "0.1"
    assert doc["metrics"]["loss"]["step"] == 4


def test_search_runs_with_a_filter(mlflow_env):  # noqa: F811
    mlflow.set_tracking_uri(mlflow_env.url)
    experiment_id = mlflow.create_experiment("search-me")
    for i, model in enumerate(["xgboost", "linear", "xgboost", "mlp"]):
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"r{i}"):
            mlflow.log_param("model", model)
            mlflow.log_metric("auc", 0.7 + i / 100)

    df = mlflow.search_runs(experiment_ids=[experiment_id], filter_string="params.model = 'xgboost'",
                            order_by=["metrics.auc DESC"])
    assert list(df["tags.mlflow.runName"]) == ["r2", "r0"]
    assert list(df["metrics.auc"]) == [0.72, 0.7]

    runs = MlflowClient().search_runs([experiment_id], "metrics.auc > 0.705 and attributes.status = 'FINISHED'",
                                      order_by=["attributes.run_name"])
    assert [r.info.run_name for r in runs] == ["r1", "r2", "r3"]

    page = MlflowClient().search_runs([experiment_id], max_results=3)
    assert len(page) == 3 and page.token
    rest = MlflowClient().search_runs([experiment_id], max_results=3, page_token=page.token)
    assert len(rest) == 1 and not rest.token

    with pytest.raises(MlflowException, match="INVALID_PARAMETER_VALUE"):
        MlflowClient().search_runs([experiment_id], "params.model ~ 'x'")


def test_experiments_and_run_lifecycle(mlflow_env):  # noqa: F811
    client = MlflowClient(mlflow_env.url)
    exp_id = client.create_experiment("lifecycle", tags={"owner": "ann"})
    with pytest.raises(MlflowException, match="RESOURCE_ALREADY_EXISTS"):
        client.create_experiment("lifecycle")
    assert client.get_experiment(exp_id).tags["owner"] == "ann"
    assert client.get_experiment_by_name("no-such-experiment") is None
    client.set_experiment_tag(exp_id, "stage", "dev")
    client.rename_experiment(exp_id, "lifecycle-2")
    assert client.get_experiment(exp_id).name == "lifecycle-2"
    names = [e.name for e in client.search_experiments(filter_string="name LIKE 'lifecycle%'")]
    assert names == ["lifecycle-2"]

    run = client.create_run(exp_id, run_name="to-delete")
    client.log_param(run.info.run_id, "p", "1")
    with pytest.raises(MlflowException, match="INVALID_PARAMETER_VALUE"):
        client.log_param(run.info.run_id, "p", "2")  # params are immutable
    client.set_tag(run.info.run_id, "t", "1")
    client.set_tag(run.info.run_id, "t", "2")  # tags overwrite
    client.delete_tag(run.info.run_id, "t")
    assert "t" not in client.get_run(run.info.run_id).data.tags
    client.set_terminated(run.info.run_id, status="KILLED")
    assert client.get_run(run.info.run_id).info.status == "KILLED"
    client.delete_run(run.info.run_id)
    assert client.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    assert client.search_runs([exp_id]) == []
    client.restore_run(run.info.run_id)
    assert [r.info.run_id for r in client.search_runs([exp_id])] == [run.info.run_id]

    client.delete_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "deleted"
    client.restore_experiment(exp_id)
    assert client.get_experiment(exp_id).lifecycle_stage == "active"

    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_run("0" * 32)


def test_log_batch_and_nested_runs(mlflow_env):  # noqa: F811
    from mlflow.entities import Metric, Param, RunTag

    mlflow.set_tracking_uri(mlflow_env.url)
    mlflow.set_experiment("nested")
    client = MlflowClient()
    with mlflow.start_run(run_name="parent") as parent:
        with mlflow.start_run(run_name="child", nested=True) as child:
            pass
    doc = requests.get(f"{mlflow_env.url}/api/v1/runs/{child.info.run_id}", timeout=30).json()
    assert doc["parent_run_id"] == parent.info.run_id

    run = client.create_run("0")
    metrics = [Metric("m", float(i), 1_700_000_000_000 + i, i) for i in range(1000)]
    client.log_batch(run.info.run_id, metrics=metrics, params=[Param("a", "1")], tags=[RunTag("b", "2")])
    history = client.get_metric_history(run.info.run_id, "m")
    assert len(history) == 1000
    assert [m.step for m in history] == list(range(1000))
    # An identical point logged again is kept once.
    client.log_batch(run.info.run_id, metrics=metrics[:10])
    assert len(client.get_metric_history(run.info.run_id, "m")) == 1000
