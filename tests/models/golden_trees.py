"""XGBoost and LightGBM golden models (see make_golden.py)."""
from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
import xgboost as xgb

from golden_common import (OUT, Split, as_categorical, categories_of, class_columns, file_facts,
                           flights, sklearn_dataset, write_expected, write_inputs)

XGB_MISSING = ("NaN (an empty CSV field) is missing and takes each node's default direction "
               "(default_left); the DMatrix was built with missing=NaN")
XGB_UNSEEN = ("categorical features are stored as codes: the code of a category is its index "
              "in `categories` (training categories, sorted); an unseen category and an empty "
              "field are both passed to XGBoost as missing (pandas Categorical with the training "
              "categories), so they take the default direction")
LGB_MISSING = ("NaN (an empty CSV field) is missing: use_missing=true, zero_as_missing=false; "
               "each split's decision_type says where missing goes")
LGB_UNSEEN = ("categorical features: pandas_categorical at the end of the model file lists the "
              "training categories; a value's code is its index there. An unseen category and "
              "an empty field both become missing (LightGBM's pandas path maps them to NaN), "
              "which goes right ('not in the category set') at categorical splits")


def _frame(split: Split, x) -> pd.DataFrame:
    return x if isinstance(x, pd.DataFrame) else pd.DataFrame(x, columns=split.feature_names)


def _xgb_model(name: str, split: Split, params: dict, rounds: int, objective: str, task: str,
               output: str, ubj: bool = False) -> list[dict]:
    cats = categories_of(split)
    x_train, x_test = _frame(split, split.x_train), _frame(split, split.x_test)
    if cats:
        x_train, x_test = as_categorical(x_train, cats), as_categorical(x_test, cats)
    dtrain = xgb.DMatrix(x_train, label=split.y_train, missing=np.nan, enable_categorical=True,
                         qid=split.qid_train)
    params = {"objective": objective, "seed": 0, "nthread": 1, "tree_method": "hist", **params}
    booster = xgb.train(params, dtrain, num_boost_round=rounds)
    booster.save_model(OUT / f"{name}.json")
    dtest = xgb.DMatrix(x_test, missing=np.nan, enable_categorical=True)
    pred = booster.predict(dtest)
    margin = booster.predict(dtest, output_margin=True)
    if task == "multiclass":
        classes = list(range(pred.shape[1]))
        cols = {**class_columns("prob_", pred, classes), "label": pred.argmax(axis=1),
                **class_columns("margin_", margin, classes)}
    elif task == "binary":
        cols = {"prob": pred, "label": (pred > 0.5).astype(int), "margin": margin}
    else:
        cols = {output: pred, "margin": margin}
    inputs, expected = write_inputs(name, split), write_expected(name, cols)
    entry = {
        "name": name, "file": f"{name}.json", "format": "xgboost-json",
        "source": {"library": "xgboost", "version": xgb.__version__,
                   "api": "xgboost.train + Booster.save_model"},
        "kind": "tree_ensemble/gradient_boosted", "task": task, "objective": objective,
        "params": {k: v for k, v in params.items() if k not in ("nthread",)},
        "num_boost_round": rounds, "dataset": split.dataset, "data_notes": split.notes,
        "n_features": len(split.feature_names), "feature_names": split.feature_names,
        "feature_types": ["categorical" if f in cats else "float" for f in split.feature_names],
        "inputs": inputs, "expected": expected, "n_rows": len(x_test),
        "outputs": _xgb_output_doc(task, output), "missing": XGB_MISSING,
        **({"categories": cats, "unseen_categories": XGB_UNSEEN} if cats else {}),
        **file_facts(OUT / f"{name}.json"),
    }
    entries = [entry]
    if ubj:
        booster.save_model(OUT / f"{name}.ubj")
        entries.append({**entry, "name": f"{name}_ubj", "file": f"{name}.ubj",
                        "format": "xgboost-ubjson", **file_facts(OUT / f"{name}.ubj"),
                        "note": f"the same booster as {name}, saved as UBJSON"})
    return entries


def _xgb_output_doc(task: str, output: str) -> str:
    if task == "multiclass":
        return ("prob_<k>: softmax probability of class k (Booster.predict); label: argmax; "
                "margin_<k>: raw score of class k before softmax (output_margin=True)")
    if task == "binary":
        return ("prob: positive-class probability (Booster.predict); label: prob > 0.5; "
                "margin: raw score before the sigmoid (output_margin=True)")
    if output == "score":
        return "score: ranking score, the raw margin (Booster.predict); margin: the same"
    return (f"{output}: Booster.predict (the objective's transform applied: identity, sigmoid "
            "or exp); margin: raw score before it (output_margin=True)")


def xgboost_models() -> list[dict]:
    small = {"max_depth": 3, "eta": 0.3, "subsample": 0.9, "colsample_bytree": 0.9}
    out = []
    out += _xgb_model("xgb_binary_logistic_flights", flights(1, categorical=False),
                      {**small, "max_depth": 4}, 40, "binary:logistic", "binary", "prob",
                      ubj=True)
    out += _xgb_model("xgb_reg_squarederror_diabetes", sklearn_dataset("diabetes", 2, True),
                      small, 30, "reg:squarederror", "regression", "value")
    out += _xgb_model("xgb_multi_softprob_iris", sklearn_dataset("iris", 3, True),
                      {**small, "num_class": 3}, 20, "multi:softprob", "multiclass", "prob")
    out += _xgb_model("xgb_reg_logistic_breast_cancer", sklearn_dataset("breast_cancer", 4, True),
                      small, 30, "reg:logistic", "regression", "value")
    out += _xgb_model("xgb_count_poisson_diabetes", sklearn_dataset("diabetes", 5, True),
                      small, 30, "count:poisson", "regression", "value")
    out += _xgb_model("xgb_rank_pairwise_flights", flights(6, categorical=False, target="rank"),
                      small, 30, "rank:pairwise", "ranking", "score")
    out += _xgb_model("xgb_binary_categorical_flights", flights(7, categorical=True),
                      {**small, "max_depth": 4, "max_cat_to_onehot": 4}, 40, "binary:logistic",
                      "binary", "prob")
    return out


def _lgb_model(name: str, split: Split, params: dict, rounds: int, task: str) -> dict:
    cats = categories_of(split)
    x_train, x_test = _frame(split, split.x_train), _frame(split, split.x_test)
    if cats:
        x_train, x_test = as_categorical(x_train, cats), as_categorical(x_test, cats)
    params = {"seed": 0, "deterministic": True, "num_threads": 1, "verbose": -1,
              "num_leaves": 15, "learning_rate": 0.2, "min_data_in_leaf": 10,
              "linear_tree": False, "use_missing": True, "zero_as_missing": False, **params}
    dtrain = lgb.Dataset(x_train, label=split.y_train, feature_name=split.feature_names,
                         categorical_feature=list(cats) or "auto", free_raw_data=False)
    booster = lgb.train(params, dtrain, num_boost_round=rounds)
    booster.save_model(OUT / f"{name}.txt")
    pred = booster.predict(x_test)
    raw = booster.predict(x_test, raw_score=True)
    if task == "multiclass":
        classes = list(range(pred.shape[1]))
        cols = {**class_columns("prob_", pred, classes), "label": pred.argmax(axis=1),
                **class_columns("raw_", raw, classes)}
        doc = ("prob_<k>: softmax probability of class k (Booster.predict); label: argmax; "
               "raw_<k>: raw score of class k (raw_score=True)")
    elif task == "binary":
        cols = {"prob": pred, "label": (pred > 0.5).astype(int), "raw": raw}
        doc = ("prob: positive-class probability (Booster.predict); label: prob > 0.5; "
               "raw: raw score before the sigmoid (raw_score=True)")
    else:
        cols = {"value": pred, "raw": raw}
        doc = "value: Booster.predict; raw: raw_score=True (identical for regression)"
    return {
        "name": name, "file": f"{name}.txt", "format": "lightgbm-text",
        "source": {"library": "lightgbm", "version": lgb.__version__,
                   "api": "lightgbm.train + Booster.save_model"},
        "kind": "tree_ensemble/gradient_boosted", "task": task, "objective": params["objective"],
        "params": {k: v for k, v in params.items() if k not in ("num_threads", "verbose")},
        "num_boost_round": rounds, "dataset": split.dataset, "data_notes": split.notes,
        "n_features": len(split.feature_names), "feature_names": split.feature_names,
        "feature_types": ["categorical" if f in cats else "float" for f in split.feature_names],
        "inputs": write_inputs(name, split), "expected": write_expected(name, cols),
        "n_rows": len(x_test), "outputs": doc, "missing": LGB_MISSING,
        **({"categories": cats, "unseen_categories": LGB_UNSEEN} if cats else {}),
        **file_facts(OUT / f"{name}.txt"),
    }


def lightgbm_models() -> list[dict]:
    return [
        _lgb_model("lgb_binary_breast_cancer", sklearn_dataset("breast_cancer", 11, True),
                   {"objective": "binary"}, 30, "binary"),
        _lgb_model("lgb_multiclass_wine", sklearn_dataset("wine", 12, True),
                   {"objective": "multiclass", "num_class": 3, "min_data_in_leaf": 5}, 20,
                   "multiclass"),
        _lgb_model("lgb_regression_diabetes", sklearn_dataset("diabetes", 13, True),
                   {"objective": "regression"}, 30, "regression"),
        _lgb_model("lgb_binary_categorical_flights", flights(14, categorical=True),
                   {"objective": "binary", "min_data_per_group": 10, "cat_smooth": 5,
                    "max_cat_to_onehot": 4}, 40, "binary"),
    ]
