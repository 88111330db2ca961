#!/usr/bin/env python3
"""Trains the model-inference benchmark models into bench/work/models/ (not committed).

    .venv/bin/python bench/models/gen_models.py [--force] [--no-csv] [--no-compile]

One seeded synthetic data set of 28 features (f00..f25 normal with their own mean and spread,
f26 an integer category with 40 levels, f27 one with 8) and a binary label, shared by:

* xgb_500x6     XGBoost binary:logistic, 500 trees of depth 6, 200,000 training rows
* rf_100x8      scikit-learn RandomForestClassifier, 100 trees of depth 8 (joblib + ONNX)
* lgb_cat       LightGBM binary, 200 trees of 63 leaves, f26 and f27 categorical
* mlp_3x64      StandardScaler + MLPClassifier(64, 64, 64), relu (joblib + ONNX)

The tree models are also converted to ONNX (onnxmltools for XGBoost and LightGBM, skl2onnx for
the forest) and compiled to shared libraries with treelite + tl2cgen. `rows_1m.csv` holds the
1,000,000 scoring rows that peers.py scores in memory, so slipway can read the same rows. Every
output is reused if present (delete the folder or pass --force to retrain).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
WORK = REPO / "bench" / "work" / "models"
N_FEATURES = 28
FEATURES = [f"f{i:02d}" for i in range(N_FEATURES)]
CAT_LEVELS = {26: 40, 27: 8}
TRAIN_ROWS = 200_000
SCORE_ROWS = 1_000_000
TRAIN_SEED, SCORE_SEED = 1, 2


def rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(X float32 [n, 28], y int) from a fixed model of the label. The numeric columns of a
    smaller n are a prefix of a larger n's, the categorical ones are not (drawn after all the
    numeric ones): take a prefix of rows(SCORE_ROWS) to get the first rows of rows_1m.csv.
    Values are rounded to 3 decimals so a CSV holds them exactly."""
    prm = np.random.default_rng(12345)  # the data's shape, the same for every seed
    means = prm.choice([0.0, 1.0, 10.0, 100.0]) * prm.uniform(-1, 1, N_FEATURES)
    scales = prm.choice([0.5, 3.0, 40.0], N_FEATURES)
    weights = prm.normal(0, 1, N_FEATURES)
    cat_effect = {c: prm.normal(0, 1, k) for c, k in CAT_LEVELS.items()}
    rng = np.random.default_rng(seed)
    x = means + scales * rng.standard_normal((n, N_FEATURES))
    for c, k in CAT_LEVELS.items():
        x[:, c] = rng.integers(0, k, n)
    z = (x - means) / scales
    logit = np.tanh(z[:, :26]) @ weights[:26] + 0.8 * z[:, 0] * z[:, 1] - 0.5 * np.abs(z[:, 2])
    for c in CAT_LEVELS:
        logit += cat_effect[c][x[:, c].astype(int)]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.int32)
    return np.round(x, 3).astype(np.float32), y


def _log(msg: str) -> None:
    print(f"gen_models: {msg}", file=sys.stderr, flush=True)


def _timed(label: str, path: Path, force: bool, fn) -> None:
    if path.exists() and not force:
        return
    t = time.perf_counter()
    path.parent.mkdir(parents=True, exist_ok=True)  # bench/work/ is scratch: it may be wiped
    fn()
    _log(f"{label}: {time.perf_counter() - t:.1f} s -> {path.relative_to(REPO)}")


def train_all(force: bool, csv: bool, compile_libs: bool) -> dict:
    import joblib
    import lightgbm as lgb
    import xgboost as xgb
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    WORK.mkdir(parents=True, exist_ok=True)
    x, y = rows(TRAIN_ROWS, TRAIN_SEED)
    p = {k: WORK / v for k, v in {
        "xgb": "xgb_500x6.json", "xgb_onnx": "xgb_500x6.onnx",
        "rf": "rf_100x8.joblib", "rf_onnx": "rf_100x8.onnx",
        "lgb": "lgb_cat.txt", "lgb_onnx": "lgb_cat.onnx",
        "mlp": "mlp_3x64.joblib", "mlp_onnx": "mlp_3x64.onnx"}.items()}

    def xgb_train():
        params = {"objective": "binary:logistic", "max_depth": 6, "eta": 0.1, "nthread": 2,
                  "tree_method": "hist", "seed": 0}
        dtrain = xgb.DMatrix(x, label=y, feature_names=FEATURES)
        xgb.train(params, dtrain, num_boost_round=500).save_model(p["xgb"])

    def rf_train():
        rf = RandomForestClassifier(n_estimators=100, max_depth=8, max_samples=0.5, n_jobs=2,
                                    random_state=0).fit(x, y)
        joblib.dump(rf, p["rf"])

    def lgb_train():
        params = {"objective": "binary", "num_leaves": 63, "learning_rate": 0.1, "seed": 0,
                  "num_threads": 2, "verbose": -1, "linear_tree": False}
        ds = lgb.Dataset(x, y, feature_name=FEATURES,
                         categorical_feature=[FEATURES[c] for c in CAT_LEVELS])
        lgb.train(params, ds, num_boost_round=200).save_model(p["lgb"])

    def mlp_train():
        mlp = Pipeline([("scale", StandardScaler()),
                        ("mlp", MLPClassifier(hidden_layer_sizes=(64, 64, 64), activation="relu",
                                              max_iter=15, random_state=0))])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(x[:50_000], y[:50_000])
        joblib.dump(mlp, p["mlp"])

    _timed("xgb_500x6", p["xgb"], force, xgb_train)
    _timed("rf_100x8", p["rf"], force, rf_train)
    _timed("lgb_cat", p["lgb"], force, lgb_train)
    _timed("mlp_3x64", p["mlp"], force, mlp_train)
    to_onnx(p, force)
    if compile_libs:
        compile_tl2cgen(p, force)
    if csv:
        _timed("rows_1m.csv", WORK / "rows_1m.csv", force, write_csv)
    return {k: str(v.relative_to(REPO)) for k, v in p.items()}


def to_onnx(p: dict, force: bool) -> None:
    import joblib
    import lightgbm as lgb
    import xgboost as xgb
    from onnxmltools import convert_lightgbm, convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType
    from skl2onnx import to_onnx as skl_to_onnx

    opset = {"": 17, "ai.onnx.ml": 3}
    sample = np.zeros((1, N_FEATURES), np.float32)

    def xgb_onnx():
        clf = xgb.XGBClassifier()
        clf.load_model(p["xgb"])
        onx = convert_xgboost(clf, initial_types=[("X", FloatTensorType([None, N_FEATURES]))],
                              target_opset=15)
        p["xgb_onnx"].write_bytes(_no_zipmap(onx).SerializeToString())

    def lgb_onnx():
        onx = convert_lightgbm(lgb.Booster(model_file=str(p["lgb"])), zipmap=False,
                               initial_types=[("X", FloatTensorType([None, N_FEATURES]))],
                               target_opset=15)
        p["lgb_onnx"].write_bytes(onx.SerializeToString())

    def skl_onnx(key):
        def run():
            model = joblib.load(p[key])
            final = model.steps[-1][1] if hasattr(model, "steps") else model
            onx = skl_to_onnx(model, sample, target_opset=opset,
                              options={id(final): {"zipmap": False}})
            p[f"{key}_onnx"].write_bytes(onx.SerializeToString())
        return run

    _timed("xgb_500x6 -> onnx", p["xgb_onnx"], force, xgb_onnx)
    _timed("rf_100x8 -> onnx", p["rf_onnx"], force, skl_onnx("rf"))
    _timed("lgb_cat -> onnx", p["lgb_onnx"], force, lgb_onnx)
    _timed("mlp_3x64 -> onnx", p["mlp_onnx"], force, skl_onnx("mlp"))


def _no_zipmap(onx):
    """onnxmltools' XGBoost converter always appends a ZipMap; score the raw tensor instead."""
    graph = onx.graph
    zipmaps = [n for n in graph.node if n.op_type == "ZipMap"]
    for z in zipmaps:
        graph.node.remove(z)
        out = next(o for o in graph.output if o.name == z.output[0])
        graph.output.remove(out)
        from onnx import TensorProto, helper
        graph.output.append(helper.make_tensor_value_info(z.input[0], TensorProto.FLOAT,
                                                          [None, 2]))
    return onx


def compile_tl2cgen(p: dict, force: bool) -> None:
    import joblib
    import tl2cgen
    import treelite

    loaders = {
        "xgb": lambda: treelite.frontend.load_xgboost_model(str(p["xgb"])),
        "rf": lambda: treelite.sklearn.import_model(joblib.load(p["rf"])),
        "lgb": lambda: treelite.frontend.load_lightgbm_model(str(p["lgb"])),
    }
    for key, load in loaders.items():
        lib = WORK / f"{p[key].stem}.tl2cgen.so"

        def build(load=load, lib=lib):
            tl2cgen.export_lib(load(), toolchain="gcc", libpath=str(lib), nthread=2,
                               params={"parallel_comp": 8, "quantize": 0}, verbose=False)
        _timed(f"{p[key].stem} -> tl2cgen", lib, force, build)


def write_csv() -> None:
    import pandas as pd
    x, _ = rows(SCORE_ROWS, SCORE_SEED)
    frame = pd.DataFrame(x, columns=FEATURES)
    for c in CAT_LEVELS:
        frame[FEATURES[c]] = frame[FEATURES[c]].astype(np.int32)
    frame.to_csv(WORK / "rows_1m.csv", index=False, float_format="%.3f")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--force", action="store_true", help="retrain even if the files exist")
    ap.add_argument("--no-csv", action="store_true", help="skip writing rows_1m.csv")
    ap.add_argument("--no-compile", action="store_true", help="skip the tl2cgen libraries")
    args = ap.parse_args(argv)
    files = train_all(args.force, not args.no_csv, not args.no_compile)
    (WORK / "models.json").write_text(json.dumps(files, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
