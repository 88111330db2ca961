"""The FastAPI peer of `slipway serve` (bench/serving/compare.py starts it under uvicorn).

Serves one model at POST /v2/models/{name}/infer with the KServe v2 JSON body slipway and MLServer
take (one packed FP32 tensor `input__0` of shape [n, 28]) and answers v2 JSON. It is written to be
fast, as a careful user would write it, not a strawman: the body is read as bytes and parsed with
the stdlib json module (no pydantic model per request), the rows become one numpy array, and the
model is called once per request — xgboost's Booster.inplace_predict (no DMatrix) or scikit-learn's
predict_proba. Each worker process uses one thread for prediction (nthread=1): the worker
processes are the unit of parallelism, as uvicorn deployments are sized.

Environment: SERVE_MODEL_KIND (xgboost | sklearn), SERVE_MODEL_PATH, SERVE_MODEL_NAME.
"""
from __future__ import annotations

import json
import os

import numpy as np
from fastapi import FastAPI, Request, Response

KIND = os.environ["SERVE_MODEL_KIND"]
PATH = os.environ["SERVE_MODEL_PATH"]
NAME = os.environ.get("SERVE_MODEL_NAME", "m")

if KIND == "xgboost":
    import xgboost as xgb

    _booster = xgb.Booster(model_file=PATH)
    _booster.set_param({"nthread": 1})

    def predict(x: np.ndarray) -> np.ndarray:
        return _booster.inplace_predict(x)
elif KIND == "sklearn":
    import joblib

    _model = joblib.load(PATH)

    def predict(x: np.ndarray) -> np.ndarray:
        return _model.predict_proba(x)[:, 1]
else:
    raise SystemExit(f"SERVE_MODEL_KIND must be xgboost or sklearn, not {KIND!r}")

app = FastAPI()


def _error(status: int, message: str) -> Response:
    return Response(json.dumps({"error": message}), status_code=status, media_type="application/json")


@app.get("/v2/health/ready")
async def ready() -> Response:
    return Response(status_code=200)


@app.post("/v2/models/{name}/infer")
async def infer(name: str, request: Request) -> Response:
    if name != NAME:
        return _error(404, f"unknown model '{name}'")
    try:
        body = json.loads(await request.body())
        tensor = body["inputs"][0]
        rows, cols = tensor["shape"]
        x = np.asarray(tensor["data"], dtype=np.float32).reshape(rows, cols)
    except (ValueError, KeyError, IndexError, TypeError) as e:
        return _error(400, f"bad request: {e}")
    y = predict(x)
    out = {"model_name": NAME, "outputs": [{"name": "probability", "datatype": "FP32", "shape": [rows],
                                             "data": y.astype(np.float32).tolist()}]}
    if "id" in body:
        out["id"] = body["id"]
    return Response(json.dumps(out), media_type="application/json")
