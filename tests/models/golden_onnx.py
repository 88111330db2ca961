"""ONNX golden models: scikit-learn models converted by skl2onnx, and two MLP graphs written with
onnx.helper the way torch.onnx.export writes them (see make_golden.py)."""
from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pandas as pd
import skl2onnx
import sklearn
from onnx import TensorProto, helper, numpy_helper
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import Normalizer, OneHotEncoder, StandardScaler

from golden_common import (FLIGHTS_CATEGORICAL, FLIGHTS_NUMERIC, N_INPUT_ROWS, OUT, Split,
                           class_columns, file_facts, flights, sklearn_dataset, write_expected,
                           write_inputs)

# Capped at ai.onnx.ml 3 so trees stay TreeEnsembleClassifier/Regressor (ml opset 5 brought the
# single TreeEnsemble op); skl2onnx then declares the lowest opset each graph needs (ml 1 here).
# ai.onnx 17 is what torch.onnx.export writes by default.
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


def operators(model: onnx.ModelProto) -> list[str]:
    return sorted({f"{n.domain or 'ai.onnx'}:{n.op_type}" for n in model.graph.node})


def _value_info(v: onnx.ValueInfoProto) -> dict:
    t = v.type
    if t.HasField("tensor_type"):
        dims = [d.dim_param or d.dim_value for d in t.tensor_type.shape.dim]
        return {"name": v.name, "type": TensorProto.DataType.Name(t.tensor_type.elem_type),
                "shape": [d if d else "N" for d in dims]}
    return {"name": v.name, "type": "sequence(map(int64,float))" if t.HasField("sequence_type")
            else "other"}


def onnx_facts(path) -> dict:
    model = onnx.load(path)
    return {"onnx": {"ir_version": model.ir_version,
                     "opsets": {(o.domain or "ai.onnx"): o.version for o in model.opset_import},
                     "operators": operators(model),
                     "inputs": [_value_info(v) for v in model.graph.input],
                     "outputs": [_value_info(v) for v in model.graph.output]}}


def _session(path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _ort_probs(out, classes) -> np.ndarray:
    """Probabilities from skl2onnx's second output: a tensor, or a ZipMap (list of dicts)."""
    if isinstance(out, list):
        return np.array([[d[c] for c in classes] for d in out], dtype=np.float32)
    return np.asarray(out)


def _sklearn_model(name: str, split: Split, model, task: str, kind: str,
                   zipmap: bool = True) -> dict:
    x_train, x_test = split.x_train, split.x_test
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if isinstance(x_train, np.ndarray):
            model.fit(x_train.astype(np.float64), split.y_train)
        else:
            model.fit(x_train, split.y_train)
    if isinstance(x_test, np.ndarray):  # one float input [N, n_features]
        sample = x_test[:1].astype(np.float32)
        sk_in = x_test.astype(np.float64)
        feed = lambda names: {names[0]: x_test.astype(np.float32)}  # noqa: E731
    else:  # one ONNX input per column, named after it, shape [N, 1]
        sample = x_test.iloc[:1]
        sk_in = x_test
        feed = lambda names: {c: (x_test[[c]].to_numpy(np.float32) if c in FLIGHTS_NUMERIC  # noqa: E731
                                  else x_test[[c]].to_numpy(object).astype(str)) for c in names}
    final = model.steps[-1][1] if isinstance(model, Pipeline) else model
    options = None if task == "regression" or zipmap else {id(final): {"zipmap": False}}
    onx = skl2onnx.to_onnx(model, sample, target_opset=TARGET_OPSET, options=options)
    # skl2onnx lists opsets in set order, which changes with Python's hash seed: sort them so
    # the file's bytes do not.
    opsets = sorted((o.domain, o.version) for o in onx.opset_import)
    del onx.opset_import[:]
    onx.opset_import.extend(helper.make_opsetid(d, v) for d, v in opsets)
    path = OUT / f"{name}.onnx"
    path.write_bytes(onx.SerializeToString())
    sess = _session(path)
    outs = sess.run(None, feed([i.name for i in sess.get_inputs()]))
    if task == "regression":
        sk = model.predict(sk_in)
        rt = np.asarray(outs[0]).ravel()
        cols = {"sklearn_value": sk, "onnxruntime_value": rt}
        doc = ("sklearn_value: the scikit-learn model's predict() in float64; onnxruntime_value: "
               "onnxruntime on the float32 inputs (output 'variable')")
        diff = float(np.max(np.abs(sk - rt)))
    else:
        classes = list(model.classes_)
        sk = model.predict_proba(sk_in)
        rt = _ort_probs(outs[1], classes)
        if task == "binary":
            cols = {"sklearn_prob": sk[:, 1], "onnxruntime_prob": rt[:, 1],
                    "sklearn_label": model.predict(sk_in), "onnxruntime_label": outs[0].ravel()}
            doc = ("sklearn_prob: predict_proba()[:, 1] in float64; onnxruntime_prob: the "
                   "positive class of output 'probabilities' (float32); *_label: predicted class")
        else:
            cols = {**class_columns("sklearn_prob_", sk, classes),
                    **class_columns("onnxruntime_prob_", rt, classes),
                    "sklearn_label": model.predict(sk_in), "onnxruntime_label": outs[0].ravel()}
            doc = ("sklearn_prob_<c>: predict_proba() column of class c in float64; "
                   "onnxruntime_prob_<c>: the same from output 'probabilities' (float32); "
                   "*_label: predicted class")
        diff = float(np.max(np.abs(sk - rt)))
        if not np.array_equal(cols["sklearn_label"], cols["onnxruntime_label"]):
            doc += "; NOTE: the two label columns differ on some rows"
    zip_note = ("probabilities output is a ZipMap (sequence of map class->probability)"
                if task != "regression" and zipmap else None)
    return {
        "name": name, "file": path.name, "format": "onnx",
        "source": {"library": "scikit-learn", "version": sklearn.__version__,
                   "converter": f"skl2onnx {skl2onnx.__version__}",
                   "runtime": f"onnxruntime {ort.__version__}", "estimator": _describe(model)},
        "kind": kind, "task": task, "dataset": split.dataset, "data_notes": split.notes,
        "n_features": len(split.feature_names), "feature_names": split.feature_names,
        "inputs": write_inputs(name, split), "expected": write_expected(name, cols),
        "n_rows": len(x_test), "outputs": doc + (f"; {zip_note}" if zip_note else ""),
        "max_abs_diff_sklearn_vs_onnxruntime": diff,
        "missing": _missing_doc(split),
        **onnx_facts(path), **file_facts(path),
    }


def _describe(model) -> str:
    if isinstance(model, Pipeline):
        return " -> ".join(_describe(s) for _, s in model.steps)
    if isinstance(model, ColumnTransformer):
        return "ColumnTransformer[" + "; ".join(
            f"{n}: {_describe(t)} on {list(c)}" for n, t, c in model.transformers) + "]"
    p = model.get_params(deep=False)
    keep = {k: p[k] for k in ("n_estimators", "max_depth", "hidden_layer_sizes", "activation",
                              "strategy", "handle_unknown", "C", "norm") if k in p}
    return f"{type(model).__name__}({', '.join(f'{k}={v!r}' for k, v in keep.items())})"


def _missing_doc(split: Split) -> str:
    if isinstance(split.x_test, pd.DataFrame):
        return ("numeric NaN (empty field) is replaced by the training median (Imputer); a "
                "categorical empty field is passed as the string '' and, like an unseen "
                "category, one-hot encodes to all zeros (handle_unknown='ignore')")
    return "no missing values: these models do not accept them"


def _flights_for_pipeline() -> Split:
    split = flights(21, categorical=True)
    for frame in (split.x_train, split.x_test):
        for c in FLIGHTS_CATEGORICAL:
            frame[c] = frame[c].fillna("").astype(str)
    return split


def sklearn_models() -> list[dict]:
    cancer = sklearn_dataset("breast_cancer", 31, missing=False)
    diabetes = sklearn_dataset("diabetes", 32, missing=False)
    iris = sklearn_dataset("iris", 33, missing=False)
    wine = sklearn_dataset("wine", 34, missing=False)
    scaled = lambda est: Pipeline([("scaler", StandardScaler()), ("model", est)])  # noqa: E731
    preprocess = ColumnTransformer([
        ("num", Pipeline([("impute", SimpleImputer(strategy="median")),
                          ("scale", StandardScaler())]), FLIGHTS_NUMERIC),
        ("cat", OneHotEncoder(handle_unknown="ignore"), FLIGHTS_CATEGORICAL)])
    return [
        _sklearn_model("onnx_random_forest_breast_cancer", cancer,
                       RandomForestClassifier(n_estimators=20, max_depth=5, random_state=0),
                       "binary", "tree_ensemble/random_forest"),
        _sklearn_model("onnx_gradient_boosting_diabetes", diabetes,
                       GradientBoostingRegressor(n_estimators=40, max_depth=3, random_state=0),
                       "regression", "tree_ensemble/gradient_boosted"),
        _sklearn_model("onnx_logistic_binary_breast_cancer", cancer,
                       LogisticRegression(max_iter=5000, random_state=0), "binary", "linear",
                       zipmap=False),
        _sklearn_model("onnx_logistic_multinomial_iris", iris,
                       LogisticRegression(max_iter=5000, random_state=0), "multiclass",
                       "linear"),
        _sklearn_model("onnx_linear_regression_diabetes", diabetes, LinearRegression(),
                       "regression", "linear"),
        _sklearn_model("onnx_pipeline_scaler_logistic_wine", wine,
                       scaled(LogisticRegression(max_iter=5000, random_state=0)), "multiclass",
                       "pipeline/linear", zipmap=False),
        _sklearn_model("onnx_pipeline_impute_onehot_logistic_flights", _flights_for_pipeline(),
                       Pipeline([("pre", preprocess),
                                 ("model", LogisticRegression(max_iter=5000, random_state=0))]),
                       "binary", "pipeline/linear", zipmap=False),
        _sklearn_model("onnx_mlp_classifier_relu_breast_cancer", cancer,
                       scaled(MLPClassifier(hidden_layer_sizes=(16, 8), activation="relu", max_iter=500,
                                            random_state=0)), "binary", "pipeline/mlp",
                       zipmap=False),
        _sklearn_model("onnx_mlp_regressor_tanh_diabetes", diabetes,
                       scaled(MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", max_iter=3000,
                                           learning_rate_init=0.01, random_state=0)),
                       "regression", "pipeline/mlp"),
    ]


def normalizer_models() -> list[dict]:
    """Pipeline(Normalizer(norm), model) for norm in max, l1, l2: skl2onnx writes an ai.onnx.ml
    Normalizer node on the feature row before the model operator. Breast-cancer features are
    non-negative (one jittered held-out row aside), so onnxruntime's MAX (the row's largest value)
    is scikit-learn's max (the largest |value|) here; the expected columns are onnxruntime's.
    Written by make_golden.py and, without touching the other golden files, by
    make_golden_normalizer.py."""
    cancer = sklearn_dataset("breast_cancer", 31, missing=False)
    out = []
    for norm in ("max", "l1", "l2"):
        normalized = lambda est: Pipeline([("normalize", Normalizer(norm=norm)), ("model", est)])  # noqa: E731
        out.append(_sklearn_model(
            f"onnx_normalizer_{norm}_logistic_breast_cancer", cancer,
            normalized(LogisticRegression(C=1e4, max_iter=20000, random_state=0)), "binary",
            "pipeline/linear", zipmap=False))
        out.append(_sklearn_model(
            f"onnx_normalizer_{norm}_gradient_boosting_breast_cancer", cancer,
            normalized(GradientBoostingClassifier(n_estimators=30, max_depth=3, random_state=0)),
            "binary", "pipeline/tree_ensemble", zipmap=False))
    return out


def _init(name: str, a: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(a.astype(np.float32), name)


def _helper_model(name: str, nodes, inits, n_in: int, n_out: int, task: str, doc: str,
                  seed: int) -> dict:
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", n_in])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", n_out])], inits)
    model = helper.make_model(graph, producer_name="slipway make_golden.py",
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = OUT / f"{name}.onnx"
    path.write_bytes(model.SerializeToString())
    x = np.random.default_rng(seed).normal(0.0, 1.0, (N_INPUT_ROWS, n_in)).astype(np.float32)
    y = _session(path).run(None, {"x": x})[0]
    features = [f"f{i}" for i in range(n_in)]
    split = Split("standard normal", features, x, np.zeros(0), x,
                  [f"inputs: {N_INPUT_ROWS} rows of N(0, 1) noise, seed {seed}; weights N(0, 0.5) "
                   "with the same generator"])
    cols = {"prob": y[:, 0]} if n_out == 1 else class_columns("prob_", y, range(n_out))
    return {
        "name": name, "file": path.name, "format": "onnx",
        "source": {"library": "onnx.helper", "version": onnx.__version__,
                   "runtime": f"onnxruntime {ort.__version__}"},
        "kind": "mlp", "task": task, "dataset": split.dataset, "data_notes": split.notes,
        "n_features": n_in, "feature_names": features,
        "inputs": write_inputs(name, split), "expected": write_expected(name, cols),
        "n_rows": N_INPUT_ROWS, "outputs": doc,
        "missing": "no missing values: the graph does not accept them",
        **onnx_facts(path), **file_facts(path),
    }


def helper_models() -> list[dict]:
    rng = np.random.default_rng(41)
    w = lambda *shape: rng.normal(0.0, 0.5, shape)  # noqa: E731
    # torch.nn.Linear exports as Gemm with transB=1 (weights stored [out, in]).
    gemm = _helper_model(
        "onnx_helper_gemm_relu_sigmoid",
        [helper.make_node("Gemm", ["x", "w1", "b1"], ["h1"], transB=1),
         helper.make_node("Relu", ["h1"], ["a1"]),
         helper.make_node("Gemm", ["a1", "w2", "b2"], ["h2"], transB=1),
         helper.make_node("Sigmoid", ["h2"], ["y"])],
        [_init("w1", w(16, 8)), _init("b1", w(16)), _init("w2", w(1, 16)), _init("b2", w(1))],
        8, 1, "binary", "prob: output 'y' [N, 1], sigmoid of the last layer", 42)
    rng = np.random.default_rng(43)
    matmul = _helper_model(
        "onnx_helper_matmul_tanh_softmax",
        [helper.make_node("MatMul", ["x", "w1"], ["m1"]),
         helper.make_node("Add", ["m1", "b1"], ["h1"]),
         helper.make_node("Tanh", ["h1"], ["a1"]),
         helper.make_node("MatMul", ["a1", "w2"], ["m2"]),
         helper.make_node("Add", ["m2", "b2"], ["h2"]),
         helper.make_node("Softmax", ["h2"], ["y"], axis=-1)],
        [_init("w1", rng.normal(0, 0.5, (4, 8))), _init("b1", rng.normal(0, 0.5, 8)),
         _init("w2", rng.normal(0, 0.5, (8, 3))), _init("b2", rng.normal(0, 0.5, 3))],
        4, 3, "multiclass", "prob_<k>: output 'y' [N, 3], softmax over the last axis", 44)
    return [gemm, matmul]
