"""The unmodified MLflow client's model-registry calls against `slipway server`, read back through
the client, through slipway's /api/v1/models routes and through the CLI (one store)."""
from __future__ import annotations

import pytest
import requests

from e2e_util import TEST_DATA, Slipway
from test_server_support import mlflow_env, server  # noqa: F401  (fixtures)

mlflow = pytest.importorskip("mlflow")
from mlflow.exceptions import MlflowException  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402

LINEAR_BUNDLE = TEST_DATA / "models" / "bundles" / "linear_v1.slw"


def test_registry_round_trip_through_the_mlflow_client(mlflow_env):  # noqa: F811
    client = MlflowClient(mlflow_env.url)
    created = client.create_registered_model("churn", tags={"team": "growth"}, description="30-day churn")
    assert created.name == "churn"
    assert created.description == "30-day churn"
    assert created.tags == {"team": "growth"}
    with pytest.raises(MlflowException, match="RESOURCE_ALREADY_EXISTS"):
        client.create_registered_model("churn")

    run = client.create_run("0", run_name="train")
    run_id = run.info.run_id
    client.log_metric(run_id, "auc", 0.87)
    v1 = client.create_model_version("churn", f"runs:/{run_id}/model", run_id, description="first")
    assert (v1.name, v1.version, v1.run_id, v1.status, v1.current_stage) == ("churn", "1", run_id, "READY", "None")
    assert v1.source == f"runs:/{run_id}/model"
    assert v1.description == "first"
    v2 = client.create_model_version("churn", f"mlflow-artifacts:/0/{run_id}/artifacts/model", run_id,
                                     tags={"validated": "no"})
    assert v2.version == "2"

    got = client.get_model_version("churn", "2")
    assert got.tags == {"validated": "no"}
    assert got.run_id == run_id

    client.set_registered_model_alias("churn", "champion", "1")
    client.set_registered_model_alias("churn", "challenger", 2)
    by_alias = client.get_model_version_by_alias("churn", "champion")
    assert by_alias.version == "1"
    assert by_alias.aliases == ["champion"]
    model = client.get_registered_model("churn")
    assert model.aliases == {"champion": "1", "challenger": "2"}
    assert [v.version for v in model.latest_versions] == ["2"]

    client.update_model_version("churn", "2", description="candidate")
    client.set_model_version_tag("churn", "2", "validated", "yes")
    assert client.get_model_version("churn", 2).description == "candidate"
    assert client.get_model_version("churn", 2).tags == {"validated": "yes"}
    client.delete_model_version_tag("churn", "2", "validated")
    client.update_registered_model("churn", description="churn within 30 days")
    client.set_registered_model_tag("churn", "owner", "ana")
    client.delete_registered_model_tag("churn", "team")
    model = client.get_registered_model("churn")
    assert model.description == "churn within 30 days"
    assert model.tags == {"owner": "ana"}

    found = client.search_model_versions("name = 'churn'")
    assert sorted(v.version for v in found) == ["1", "2"]
    assert [v.version for v in client.search_model_versions(f"run_id = '{run_id}' and name = 'churn'")] == ["2", "1"]
    assert client.search_model_versions("name = 'nothing'") == []
    assert [m.name for m in client.search_registered_models("name LIKE 'ch%'")] == ["churn"]
    latest = client.get_latest_versions("churn")
    assert [v.version for v in latest] == ["2"]

    client.delete_registered_model_alias("churn", "challenger")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_model_version_by_alias("churn", "challenger")
    with pytest.raises(MlflowException, match="model version churn/9 not found"):
        client.get_model_version("churn", "9")

    client.delete_model_version("churn", "2")
    assert [v.version for v in client.search_model_versions("name = 'churn'")] == ["1"]

    # The same registry through slipway's own API and CLI.
    doc = requests.get(f"{mlflow_env.url}/api/v1/models/churn", timeout=30).json()
    assert doc["aliases"] == {"champion": 1}
    assert doc["description"] == "churn within 30 days"
    ref = requests.get(f"{mlflow_env.url}/api/v1/model-refs/churn@champion", timeout=30).json()
    assert ref == {"name": "churn", "version": 1, "bundle_object_id": None}  # the run has no slipway bundle
    history = requests.get(f"{mlflow_env.url}/api/v1/models/churn/history", timeout=30).json()["history"]
    assert [h["action"] for h in history][:3] == ["create", "register", "register"]
    assert history[1]["reason"] == "POST /api/2.0/mlflow/model-versions/create"
    shown = Slipway(mlflow_env.store).json("models", "show", "churn/1")
    assert shown["bundle"] is None and shown["run_id"] == run_id
    assert shown["metrics"] == {"auc": 0.87}

    client.rename_registered_model("churn", "churn-30d")
    assert client.get_registered_model("churn-30d").aliases == {"champion": "1"}
    client.delete_registered_model("churn-30d")
    with pytest.raises(MlflowException, match="RESOURCE_DOES_NOT_EXIST"):
        client.get_registered_model("churn-30d")


def test_create_model_version_maps_a_slipway_run_to_its_bundle(mlflow_env, tmp_path):  # noqa: F811
    # A bundle uploaded through /api/v1 is registered with its signature; a version created from an
    # MLflow source of a run with an output model points at that run's bundle.
    url = mlflow_env.url
    with open(LINEAR_BUNDLE, "rb") as f:
        r = requests.post(f"{url}/api/v1/models/delays/versions?alias=champion&description=golden",
                          data=f.read(), headers={"Content-Type": "application/octet-stream",
                                                  "X-Slipway-Reason": "golden file"}, timeout=60)
    assert r.status_code == 200, r.text
    uploaded = r.json()
    assert uploaded["version"] == 1 and uploaded["aliases"] == ["champion"]
    assert uploaded["signature"]["task"] == "binary"
    assert uploaded["bundle_object_id"]
    history = requests.get(f"{url}/api/v1/models/delays/history", timeout=30).json()["history"]
    assert history[1]["reason"] == "golden file"

    client = MlflowClient(url)
    got = client.get_model_version_by_alias("delays", "champion")
    assert got.version == "1" and got.current_stage == "None"

    # Archive through the v1 API: MLflow sees the "Archived" stage; NAME no longer resolves to it.
    r = requests.patch(f"{url}/api/v1/models/delays/versions/1", json={"archived": True, "reason": "old"}, timeout=30)
    assert r.status_code == 200 and r.json()["archived"] is True
    assert client.get_model_version("delays", "1").current_stage == "Archived"
    r = requests.get(f"{url}/api/v1/model-refs/delays", timeout=30)
    assert r.status_code == 404
    assert r.json() == {"error_code": "RESOURCE_DOES_NOT_EXIST",
                        "message": "model 'delays' has no version that is not archived"}


def test_registry_errors_over_http(server):  # noqa: F811
    base = server.url
    r = requests.post(f"{base}/api/2.0/mlflow/model-versions/create", json={"name": "nope", "source": "x"}, timeout=30)
    assert r.status_code == 404
    assert r.json() == {"error_code": "RESOURCE_DOES_NOT_EXIST", "message": "registered model 'nope' not found"}
    r = requests.post(f"{base}/api/2.0/mlflow/registered-models/create", json={}, timeout=30)
    assert r.status_code == 400
    assert r.json() == {"error_code": "INVALID_PARAMETER_VALUE",
                        "message": "Missing value for required parameter 'name'."}
    r = requests.post(f"{base}/api/2.0/mlflow/registered-models/create", json={"name": "a/b"}, timeout=30)
    assert r.status_code == 400
    assert "names must not contain '/' or '@'" in r.json()["message"]
    requests.post(f"{base}/api/2.0/mlflow/registered-models/create", json={"name": "m"}, timeout=30)
    r = requests.post(f"{base}/api/2.0/mlflow/registered-models/alias",
                      json={"name": "m", "alias": "champion", "version": "x"}, timeout=30)
    assert r.status_code == 400
    r = requests.get(f"{base}/api/2.0/mlflow/model-versions/search", params={"filter": "name ~ 'm'"}, timeout=30)
    assert r.status_code == 400
    assert r.json()["message"].startswith("Invalid filter 'name ~ 'm'': unsupported operator '~'")
    r = requests.get(f"{base}/api/v1/model-refs/m/x", timeout=30)
    assert r.status_code == 400
    assert r.json()["message"] == "model version 'x' in 'm/x' is not a positive integer"
    r = requests.post(f"{base}/api/v1/models/m/versions", json={}, timeout=30)
    assert r.status_code == 400
    assert requests.get(f"{base}/health", timeout=30).text == "OK"
