"""Regenerates the scikit-learn reference values the train unit tests compare against.

    .venv/bin/python tests/unit/train/make_fixtures.py

writes tests/unit/train/fixtures/metrics.json and linear.json (both committed; rerun only when a
case changes). Every array is written the way the C++ tests read it: JSON number -> double ->
float32, and scikit-learn is given exactly those float32 values widened to float64, so both sides see
the same numbers. The data sets are scikit-learn's bundled copies (BSD-3-Clause): breast cancer
(UCI Wisconsin diagnostic), diabetes (Efron et al. 2004) and wine (UCI); features standardised.
"""

import json
import pathlib
import warnings

import numpy as np
import sklearn
from sklearn import datasets, metrics
from sklearn.linear_model import Lasso, LogisticRegression, Ridge
from sklearn.preprocessing import StandardScaler

OUT = pathlib.Path(__file__).resolve().parent / "fixtures"


def f32(values):
    """float32 values as JSON numbers (repr of the exact float32 value as a double)."""
    return [float(v) for v in np.asarray(values, dtype=np.float32).ravel()]


def classification_expected(y, proba, n_classes):
    y = np.asarray(y, dtype=np.int64)
    p64 = np.asarray(proba, dtype=np.float32).astype(np.float64)
    labels = list(range(n_classes))
    if n_classes == 2:
        pred = (p64 > 0.5).astype(np.int64)
        auc = metrics.roc_auc_score(y, p64) if len(set(y)) == 2 else None
        avg = "binary"
    else:
        p64 = p64.reshape(-1, n_classes)
        pred = np.argmax(p64, axis=1)
        auc = metrics.roc_auc_score(y, p64, multi_class="ovr", average="macro", labels=labels)
        avg = "macro"
    return {
        "auc": auc,
        "log_loss": metrics.log_loss(y, p64, labels=labels),
        "accuracy": metrics.accuracy_score(y, pred),
        "precision": metrics.precision_score(y, pred, average=avg, zero_division=0),
        "recall": metrics.recall_score(y, pred, average=avg, zero_division=0),
        "f1": metrics.f1_score(y, pred, average=avg, zero_division=0),
        "confusion": metrics.confusion_matrix(y, pred, labels=labels).tolist(),
        "n": int(len(y)),
    }


def regression_expected(y, pred):
    y = np.asarray(y, dtype=np.float32).astype(np.float64)
    pred = np.asarray(pred, dtype=np.float32).astype(np.float64)
    return {
        "rmse": float(np.sqrt(metrics.mean_squared_error(y, pred))),
        "mae": metrics.mean_absolute_error(y, pred),
        "r2": metrics.r2_score(y, pred),
        "n": int(len(y)),
    }


def metric_cases():
    rng = np.random.default_rng(20240601)
    cases = []

    # Binary: probabilities on a 0.01 grid (many ties), with exact 0, 1 (clipping) and 0.5 (threshold).
    n = 300
    y = (rng.random(n) < 0.4).astype(np.int64)
    p = np.round(np.clip(0.35 * y + rng.random(n) * 0.65, 0, 1), 2)
    p[:6] = [0.0, 1.0, 0.0, 1.0, 0.5, 0.5]
    cases.append(("binary_ties_and_extremes", y, p, 2))
    y = np.array([0, 0, 1, 1, 0, 1])
    cases.append(("binary_separable", y, np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7]), 2))
    cases.append(("binary_all_tied", y, np.full(6, 0.3), 2))

    # Multiclass: softmax of small integer logits, so whole rows repeat and every class has ties.
    n, k = 400, 4
    logits = rng.integers(0, 3, size=(n, k)).astype(np.float32)
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row / row.sum()) for row in proba.astype(np.float64)])
    cases.append(("multiclass_ties", y, proba, k))
    # Class 2 present in y_true but never predicted: macro averages still count it.
    n, k = 120, 3
    proba = rng.dirichlet([3, 3, 0.3], size=n).astype(np.float32)
    proba[:, 2] = np.minimum(proba[:, 2], 0.3)
    proba = (proba / proba.sum(axis=1, keepdims=True)).astype(np.float32)
    y = rng.integers(0, k, size=n)
    cases.append(("multiclass_class_never_predicted", y, proba, k))

    out = []
    for name, y, proba, k in cases:
        out.append({"name": name, "n_classes": k, "y_true": f32(y), "proba": f32(proba),
                    "expected": classification_expected(y, proba, k)})

    regression = []
    n = 250
    y = (rng.normal(size=n) * 10 + 50).astype(np.float32)
    pred = (y + rng.normal(size=n) * 3).astype(np.float32)
    regression.append({"name": "regression_noisy", "y_true": f32(y), "y_pred": f32(pred),
                       "expected": regression_expected(y, pred)})
    y = np.full(20, 3.5, dtype=np.float32)
    pred = (y + rng.normal(size=20)).astype(np.float32)
    regression.append({"name": "regression_constant_target", "y_true": f32(y), "y_pred": f32(pred),
                       "expected": regression_expected(y, pred)})

    # Segments: metrics of each subset, sorted by segment value.
    n = 200
    seg = rng.choice(["UA", "AA", "B6", "DL"], size=n)
    y = (rng.random(n) < 0.5).astype(np.int64)
    p = np.round(np.clip(0.3 * y + rng.random(n) * 0.7, 0, 1), 2).astype(np.float32)
    yr = rng.normal(size=n).astype(np.float32)
    pr = (yr + rng.normal(size=n) * 0.5).astype(np.float32)
    segments = {
        "segment": seg.tolist(), "y_true": f32(y), "proba": f32(p), "y_reg": f32(yr), "pred_reg": f32(pr),
        "classification": [{"segment": s, **classification_expected(y[seg == s], p[seg == s], 2)}
                           for s in sorted(set(seg))],
        "regression": [{"segment": s, **regression_expected(yr[seg == s], pr[seg == s])} for s in sorted(set(seg))],
    }
    return {"sklearn_version": sklearn.__version__, "classification": out, "regression": regression,
            "segments": segments}


def dataset(loader):
    x, y = loader(return_X_y=True)
    # Standardised, rounded to 5 decimals (smaller file) and read back as JSON -> double -> float32.
    x = np.round(StandardScaler().fit_transform(x), 5)
    x32 = np.array(x, dtype=np.float64).astype(np.float32)
    return x, x32, y


def linear_cases():
    sets = {}
    for name, loader in [("breast_cancer", datasets.load_breast_cancer), ("wine", datasets.load_wine),
                         ("diabetes", datasets.load_diabetes)]:
        x_text, x32, y = dataset(loader)
        sets[name] = (x_text, x32, y)

    def fit_case(name, data, task, estimator, params, weights=None):
        _, x32, y = sets[data]
        x = x32.astype(np.float64)
        y = np.asarray(y, dtype=np.float32).astype(np.float64)
        if task != "regression":
            y = y.astype(np.int64)
        estimator.fit(x, y, sample_weight=weights)
        coef = np.atleast_2d(estimator.coef_)
        intercept = np.atleast_1d(estimator.intercept_).astype(np.float64)
        if task == "regression":
            pred = estimator.predict(x)
        elif task == "binary":
            pred = estimator.predict_proba(x)[:, 1]
        else:
            pred = estimator.predict_proba(x)
        case = {"name": name, "data": data, "task": task, "params": params,
                "sklearn": repr(estimator), "n_iter": np.asarray(getattr(estimator, "n_iter_", 0)).ravel().tolist(),
                "coef": coef.ravel().tolist(), "intercept": intercept.ravel().tolist(),
                "prediction": np.asarray(pred, dtype=np.float64).ravel().tolist()}
        if weights is not None:
            case["weight"] = f32(weights)
        return case

    tight = dict(tol=1e-12, max_iter=100000)
    n_diabetes = len(sets["diabetes"][2])
    rng = np.random.default_rng(7)
    weights = rng.integers(1, 4, size=n_diabetes).astype(np.float32)
    cases = [
        # l2 = 1 / C
        fit_case("logistic_c1", "breast_cancer", "binary", LogisticRegression(C=1.0, solver="lbfgs", **tight),
                 {"l2": 1.0, "tol": 1e-10}),
        fit_case("logistic_c0.1", "breast_cancer", "binary", LogisticRegression(C=0.1, solver="lbfgs", **tight),
                 {"l2": 10.0, "tol": 1e-10}),
        fit_case("logistic_no_intercept", "breast_cancer", "binary",
                 LogisticRegression(C=1.0, solver="lbfgs", fit_intercept=False, **tight),
                 {"l2": 1.0, "fit_intercept": False, "tol": 1e-10}),
        fit_case("softmax_c1", "wine", "multiclass", LogisticRegression(C=1.0, solver="lbfgs", **tight),
                 {"l2": 1.0, "tol": 1e-10}),
        # l2 = alpha
        fit_case("ridge_alpha1", "diabetes", "regression", Ridge(alpha=1.0, solver="cholesky"),
                 {"l2": 1.0, "tol": 1e-10}),
        fit_case("ridge_alpha1_weighted", "diabetes", "regression", Ridge(alpha=1.0, solver="cholesky"),
                 {"l2": 1.0, "tol": 1e-10}, weights=weights),
        # l1 = n_samples * alpha (Lasso divides the squared error by 2 n)
        fit_case("lasso_alpha0.5", "diabetes", "regression", Lasso(alpha=0.5, tol=1e-14, max_iter=1000000),
                 {"l1": 0.5 * n_diabetes, "l2": 0.0, "tol": 1e-10}),
        # l1 = 1 / C
        fit_case("logistic_l1_c0.5", "breast_cancer", "binary",
                 LogisticRegression(C=0.5, penalty="l1", solver="saga", tol=1e-12, max_iter=200000, random_state=0),
                 {"l1": 2.0, "l2": 0.0, "tol": 1e-10}),
    ]
    data = {}
    for name, (x_text, _, y) in sets.items():
        data[name] = {"rows": int(x_text.shape[0]), "cols": int(x_text.shape[1]),
                      "x": [float(v) for v in x_text.ravel()], "y": f32(y)}
    return {"sklearn_version": sklearn.__version__, "data": data, "cases": cases}


def write(name, obj):
    path = OUT / name
    path.write_text(json.dumps(obj, separators=(",", ":")) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    # float32 probabilities sum to 1 only to float32 precision; log_loss warns about it (harmless).
    warnings.filterwarnings("ignore", message="The y_prob values do not sum to one")
    OUT.mkdir(exist_ok=True)
    write("metrics.json", metric_cases())
    write("linear.json", linear_cases())
