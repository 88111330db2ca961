"""`slipway train` end to end: every model kind on the flights sample and on scikit-learn's datasets
(breast cancer: binary, wine: multiclass, diabetes: regression). The metrics slipway reports must
equal scikit-learn's, computed from the bundle's own predictions (`slipway model predict`) on the
test rows; a run reproduces bit for bit; a changed data file is refused by `runs reproduce`.

The test rows are known because every config splits by time on a row-number column: the earliest
rows train, the latest `rows.test` rows test (docs/training.md#splits)."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn import datasets, metrics

from e2e_util import TEST_DATA, FLIGHTS_DIR

REL = 1e-7

FLIGHT_FEATURES = ["month", "day", "sched_dep_time", "sched_arr_time", "carrier", "origin", "dest", "distance"]
MODEL_PARAMS = {
    "xgboost": {"max_depth": 4, "n_estimators": 30, "learning_rate": 0.3},
    "linear": {"l2": 1.0},
    "mlp": {"hidden": [16], "epochs": 30, "batch_size": 64},
}


def yaml_of(doc: dict) -> str:
    # JSON is YAML: no YAML writer is needed.
    return json.dumps(doc, indent=2) + "\n"


def write_config(path: Path, *, file: Path, target, kind: str, features=None, segment=None, task=None,
                 exclude=("row_id",), extra: dict | None = None) -> Path:
    data = {"file": str(file), "target": target, "exclude": list(exclude)}
    if features is not None:
        data["features"] = features
        data.pop("exclude")
    if segment:
        data["segment"] = segment
    model = {"kind": kind, "params": MODEL_PARAMS[kind]}
    if task:
        model["task"] = task
    doc = {"data": data, "split": {"method": "time", "column": "row_id", "train": 0.6, "validation": 0.2, "test": 0.2},
           "model": model, "seed": 3, "threads": 1}
    doc.update(extra or {})
    path.write_text(yaml_of(doc))
    return path


def train(sw, config: Path, *extra: str) -> dict:
    return sw.json("train", config, *extra)


def mlp_or_skip(sw, config: Path):
    proc = sw.run("train", config, "--json", check_exit=None)
    if proc.returncode != 0 and "torch" in proc.stderr:
        pytest.skip(f"slipway built without the MLP trainer: {proc.stderr.strip()}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def predictions(sw, bundle: Path, rows: pd.DataFrame, tmp: Path) -> np.ndarray:
    inputs = tmp / "test_rows.csv"
    rows.to_csv(inputs, index=False)
    out = tmp / "predictions.csv"
    sw.run("model", "predict", bundle, "--input", inputs, "--output", out)
    # float32 as the engine computed them (the text is the shortest that round-trips float32).
    return pd.read_csv(out, dtype=np.float32).to_numpy().astype(np.float64)


def held_out_rows(df: pd.DataFrame, target: str, n_test: int) -> pd.DataFrame:
    kept = df[df[target].notna()].sort_values("row_id")
    rows = kept.tail(n_test)
    assert len(rows) == n_test
    return rows


def close(a: float, b: float, what: str):
    if a is None or b is None or (isinstance(b, float) and math.isnan(b)):
        assert (a is None or math.isnan(a)) and (b is None or math.isnan(b)), f"{what}: slipway {a}, sklearn {b}"
        return
    assert math.isclose(a, b, rel_tol=REL, abs_tol=1e-12), f"{what}: slipway {a!r}, sklearn {b!r}"


def check_binary(m: dict, y: np.ndarray, p: np.ndarray, prefix="test", suffix=""):
    pred = (p > 0.5).astype(int)
    close(m[f"{prefix}-auc{suffix}"], metrics.roc_auc_score(y, p), "auc")
    close(m[f"{prefix}-logloss{suffix}"], metrics.log_loss(y, p, labels=[0, 1]), "logloss")
    close(m[f"{prefix}-accuracy{suffix}"], metrics.accuracy_score(y, pred), "accuracy")
    close(m[f"{prefix}-precision{suffix}"], metrics.precision_score(y, pred, zero_division=0), "precision")
    close(m[f"{prefix}-recall{suffix}"], metrics.recall_score(y, pred, zero_division=0), "recall")
    close(m[f"{prefix}-f1{suffix}"], metrics.f1_score(y, pred, zero_division=0), "f1")


def check_multiclass(m: dict, y: np.ndarray, proba: np.ndarray):
    k = proba.shape[1]
    pred = proba.argmax(axis=1)
    close(m["test-auc"], metrics.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=list(range(k))), "auc")
    close(m["test-logloss"], metrics.log_loss(y, proba, labels=list(range(k))), "logloss")
    close(m["test-accuracy"], metrics.accuracy_score(y, pred), "accuracy")
    close(m["test-precision"], metrics.precision_score(y, pred, average="macro", labels=list(range(k)), zero_division=0), "precision")
    close(m["test-recall"], metrics.recall_score(y, pred, average="macro", labels=list(range(k)), zero_division=0), "recall")
    close(m["test-f1"], metrics.f1_score(y, pred, average="macro", labels=list(range(k)), zero_division=0), "f1")


def check_regression(m: dict, y: np.ndarray, v: np.ndarray):
    close(m["test-rmse"], math.sqrt(metrics.mean_squared_error(y, v)), "rmse")
    close(m["test-mae"], metrics.mean_absolute_error(y, v), "mae")
    close(m["test-r2"], metrics.r2_score(y, v), "r2")


@pytest.fixture
def flights(tmp_path) -> tuple[Path, pd.DataFrame]:
    df = pd.read_csv(TEST_DATA / "flights_sample.csv", keep_default_na=True)
    df.insert(0, "row_id", np.arange(len(df)))
    path = tmp_path / "flights.csv"
    df.to_csv(path, index=False)
    return path, df


@pytest.mark.parametrize("kind", ["xgboost", "linear", "mlp"])
def test_flights_metrics_equal_sklearn(sw, tmp_path, flights, kind):
    path, df = flights
    bundle = tmp_path / "model.slw"
    config = write_config(tmp_path / f"{kind}.yaml", file=path, target={"column": "arr_delay", "threshold": 15},
                          kind=kind, features=FLIGHT_FEATURES, segment="carrier", extra={"output": str(bundle)})
    out = mlp_or_skip(sw, config) if kind == "mlp" else train(sw, config)
    assert out["task"] == "binary" and out["model"] == kind
    assert out["rows"]["read"] == 2000
    assert out["rows"]["dropped_missing_target"] == int(df["arr_delay"].isna().sum())
    rows = held_out_rows(df, "arr_delay", out["rows"]["test"])
    y = (rows["arr_delay"] > 15).astype(int).to_numpy()
    p = predictions(sw, bundle, rows, tmp_path)[:, 0]
    check_binary(out["metrics"], y, p)
    # Per segment: the same metrics on each carrier's test rows.
    carriers = rows["carrier"].to_numpy()
    for carrier in sorted(set(carriers)):
        mask = carriers == carrier
        if len(set(y[mask])) < 2:
            continue
        close(out["metrics"][f"test-auc/carrier/{carrier}"], metrics.roc_auc_score(y[mask], p[mask]), f"auc {carrier}")
        close(out["metrics"][f"test-accuracy/carrier/{carrier}"], metrics.accuracy_score(y[mask], p[mask] > 0.5),
              f"accuracy {carrier}")


def sklearn_csv(tmp_path: Path, name: str) -> tuple[Path, pd.DataFrame]:
    loader = {"breast_cancer": datasets.load_breast_cancer, "wine": datasets.load_wine,
              "diabetes": datasets.load_diabetes}[name]
    bunch = loader()
    # Shuffled with a fixed seed so the time split on row_id is a random split of the rows.
    order = np.random.default_rng(0).permutation(len(bunch.target))
    cols = [c.replace(" ", "_") for c in bunch.feature_names]
    df = pd.DataFrame(bunch.data[order], columns=cols)
    df.insert(0, "row_id", np.arange(len(df)))
    df["target"] = bunch.target[order]
    path = tmp_path / f"{name}.csv"
    df.to_csv(path, index=False)
    return path, df


@pytest.mark.parametrize("kind", ["xgboost", "linear", "mlp"])
@pytest.mark.parametrize("name,task", [("breast_cancer", "binary"), ("wine", "multiclass"), ("diabetes", "regression")])
def test_sklearn_datasets(sw, tmp_path, name, task, kind):
    path, df = sklearn_csv(tmp_path, name)
    bundle = tmp_path / "model.slw"
    config = write_config(tmp_path / "c.yaml", file=path, target="target", kind=kind,
                          extra={"output": str(bundle)})
    out = mlp_or_skip(sw, config) if kind == "mlp" else train(sw, config)
    assert out["task"] == task, "the task is inferred from the target"
    rows = held_out_rows(df, "target", out["rows"]["test"])
    y = rows["target"].to_numpy()
    pred = predictions(sw, bundle, rows.drop(columns=["target"]), tmp_path)
    if task == "binary":
        check_binary(out["metrics"], y, pred[:, 0])
        assert kind == "mlp" or out["metrics"]["test-auc"] > 0.9
    elif task == "multiclass":
        assert pred.shape[1] == 3
        check_multiclass(out["metrics"], y, pred)
        assert kind == "mlp" or out["metrics"]["test-accuracy"] > 0.8
    else:
        check_regression(out["metrics"], y.astype(float), pred[:, 0])
        assert kind == "mlp" or out["metrics"]["test-r2"] > 0.2  # an unscaled target needs a tuned MLP


def test_run_records_everything_and_reproduces(sw, tmp_path):
    flights_csv = FLIGHTS_DIR / "weather.csv"
    if not flights_csv.is_file():
        pytest.fail(f"{flights_csv} is missing: run scripts/bootstrap.sh", pytrace=False)
    v_flights = sw.ingest(TEST_DATA / "flights_sample.csv", "flights")
    v_weather = sw.ingest(flights_csv, "weather")
    config = tmp_path / "joined.yaml"
    config.write_text(yaml_of({
        "data": {"dataset": "flights", "target": {"column": "arr_delay", "threshold": 15},
                 "features": FLIGHT_FEATURES + ["temp", "wind_speed", "visib"],
                 "join": [{"dataset": "weather@main", "on": ["origin", "time_hour"],
                           "columns": ["temp", "wind_speed", "visib"]}],
                 "segment": "origin"},
        "model": {"kind": "xgboost", "params": {"max_depth": 3, "n_estimators": 20, "early_stopping_rounds": 5}},
        "split": {"method": "stratified"}, "seed": 11, "threads": 2, "experiment": "delays", "run_name": "joined"}))
    out = train(sw, config)
    run = out["run_id"]
    assert out["experiment"] == "delays" and out["run_name"] == "joined"
    assert [d["version"] for d in out["datasets"]] == [v_flights, v_weather]
    assert "test-auc/origin/JFK" in out["metrics"]

    shown = sw.json("runs", "show", run)
    text = json.dumps(shown)
    for needle in ["FINISHED", "mlflow.source.git.commit" if (Path(sw.cwd) / ".git").exists() else "slipway.git.dirty",
                   "slipway.version", "slipway.cpu", "slipway.seed", "slipway.threads", "slipway.libraries",
                   "data.join.0.on", v_flights, v_weather, "train-logloss", "validation-logloss",
                   "config.yaml", "metrics.json", "run.json", out["bundle"]]:
        assert needle in text, f"`runs show` lacks {needle}"

    rep = sw.json("runs", "reproduce", run)
    assert rep["identical"] is True, rep
    assert rep["reproduced_bundle"] == out["bundle"]
    again = sw.json("runs", "show", rep["reproduction_run_id"])
    assert run in json.dumps(again), "the reproduction is tagged slipway.reproduces=<run>"

    # Human output says so in words.
    proc = sw.run("runs", "reproduce", run[:8])
    assert proc.stdout.strip().endswith("identical") and "not identical" not in proc.stdout


def test_reproduce_refuses_a_changed_file(sw, tmp_path, flights):
    path, df = flights
    config = write_config(tmp_path / "c.yaml", file=path, target={"column": "arr_delay", "threshold": 15},
                          kind="linear", features=FLIGHT_FEATURES)
    out = train(sw, config)
    df.iloc[:100].to_csv(path, index=False)
    proc = sw.run("runs", "reproduce", out["run_id"], check_exit=None)
    assert proc.returncode == 4, proc.stderr
    assert f"data: {path} changed since run {out['run_id']}" in proc.stderr


def test_same_config_gives_the_same_bundle_bytes(sw, tmp_path, flights):
    path, _ = flights
    a, b = tmp_path / "a.slw", tmp_path / "b.slw"
    config = write_config(tmp_path / "c.yaml", file=path, target={"column": "arr_delay", "threshold": 15},
                          kind="xgboost", features=FLIGHT_FEATURES)
    first = train(sw, config, "-o", a)
    second = train(sw, config, "-o", b)
    # Different runs (their ids and start times are in the bundles) with identical models.
    assert first["run_id"] != second["run_id"]
    assert first["metrics"] == second["metrics"]
    inspect_a, inspect_b = sw.json("model", "inspect", a), sw.json("model", "inspect", b)
    inspect_a.pop("provenance"), inspect_b.pop("provenance")
    assert inspect_a == inspect_b
