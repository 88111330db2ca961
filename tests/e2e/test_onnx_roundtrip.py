"""ONNX round trips through the real binary: `slipway model import X -o b.slw`, then
`slipway model export b.slw --format onnx -o y.onnx`, then onnxruntime runs y.onnx.

* golden ONNX models: onnxruntime on y.onnx must equal onnxruntime on the original graph;
* golden XGBoost / LightGBM models: onnxruntime on y.onnx must equal the library's own predictions,
  those with categorical splits included (exported as chains of BRANCH_EQ nodes, see
  docs/model-format.md), on held-out rows with missing values and unseen categories;
* golden scikit-learn Normalizer pipelines: the exported graph has the Normalizer again.

Tolerance: 1e-5 absolute, or 1e-6 relative for outputs in the hundreds (diabetes regressions), where
two float32 graphs that sum in a different order cannot agree closer than float32's own spacing
(1e-5 relative against XGBoost / LightGBM, whose float32 sums exp() amplifies for count:poisson).
The exported graph takes one [N, 1] tensor per model input (float; string for categoricals) and
returns "output" [N, n_outputs] with slipway's columns."""
from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from e2e_util import TEST_DATA, clean_env, slipway_bin

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is in requirements-dev.txt")
onnx = pytest.importorskip("onnx", reason="onnx is in requirements-dev.txt")

MODELS = TEST_DATA / "models"
MANIFEST = json.loads((MODELS / "MANIFEST.json").read_text())["models"]


def run(*args) -> subprocess.CompletedProcess:
    return subprocess.run([str(slipway_bin()), *map(str, args)], capture_output=True, text=True, env=clean_env(),
                          stdin=subprocess.DEVNULL, timeout=300)


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def numeric(values: list[str]) -> np.ndarray:
    return np.array([float(v) if v != "" else np.nan for v in values], dtype=np.float32)


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def feeds_for(sess: ort.InferenceSession, header: list[str], rows: list[list[str]]) -> dict:
    """Graph inputs by name when the CSV has them, else positionally over the CSV columns (a single
    [N, k] input, or slipway's f0..f{k-1} when the source had no feature names)."""
    columns = {name: [r[i] for r in rows] for i, name in enumerate(header)}
    inputs = sess.get_inputs()
    by_name = all(i.name in columns for i in inputs)
    feeds, position = {}, 0
    for i in inputs:
        width = i.shape[1] if len(i.shape) == 2 and isinstance(i.shape[1], int) else 1
        names = [i.name] if by_name else header[position:position + width]
        position += width
        if i.type == "tensor(string)":
            feeds[i.name] = np.array([[v] for v in columns[names[0]]], dtype=object)
        else:
            feeds[i.name] = np.stack([numeric(columns[n]) for n in names], axis=1)
    return feeds


def original_outputs(entry: dict, sess: ort.InferenceSession, feeds: dict) -> np.ndarray:
    """slipway's columns from the original graph: positive class, one per class, or the value."""
    results = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))
    for out in sess.get_outputs():
        value = results[out.name]
        if out.type.startswith("seq(map"):  # ZipMap: list of {label: probability}
            keys = list(value[0].keys())
            value = np.array([[d[k] for k in keys] for d in value], dtype=np.float32)
        elif out.type != "tensor(float)":
            continue
        value = np.asarray(value, dtype=np.float32).reshape(len(next(iter(feeds.values()))), -1)
        if entry["task"] == "binary" and value.shape[1] == 2:
            return value[:, 1:]
        return value
    raise AssertionError(f"{entry['name']}: no float output")


def check_close(name: str, got: np.ndarray, want: np.ndarray, relative: float = 1e-6) -> float:
    assert got.shape == want.shape, f"{name}: shape {got.shape} vs {want.shape}"
    diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
    ok = diff <= np.maximum(1e-5, relative * np.abs(want))
    assert ok.all(), f"{name}: max |diff| {diff.max():.3g} at row {int(np.argmax(diff.max(axis=1)))}"
    print(f"{name}: max |exported onnx - reference| = {diff.max():.3g} over {len(got)} rows")
    return float(diff.max())


def import_and_export(tmp_path: Path, entry: dict) -> subprocess.CompletedProcess:
    bundle, exported = tmp_path / "b.slw", tmp_path / "y.onnx"
    proc = run("model", "import", MODELS / entry["file"], "-o", bundle)
    assert proc.returncode == 0, f"import failed: {proc.stderr}"
    return run("model", "export", bundle, "--format", "onnx", "-o", exported)


@pytest.mark.parametrize("entry", [e for e in MANIFEST if e["format"] == "onnx"], ids=lambda e: e["name"])
def test_onnx_import_export_agrees_with_the_original_graph(tmp_path: Path, entry: dict):
    proc = import_and_export(tmp_path, entry)
    assert proc.returncode == 0, f"export failed: {proc.stderr}"
    header, rows = read_csv(MODELS / entry["inputs"])
    original = session(MODELS / entry["file"])
    want = original_outputs(entry, original, feeds_for(original, header, rows))
    exported = session(tmp_path / "y.onnx")
    got = exported.run(["output"], feeds_for(exported, header, rows))[0]
    check_close(entry["name"], got, want)
    if entry["task"] != "regression":
        decide = (lambda p: (p[:, 0] > 0.5)) if want.shape[1] == 1 else (lambda p: p.argmax(axis=1))
        assert (decide(got) == decide(want)).all(), f"{entry['name']}: class decisions differ"


@pytest.mark.parametrize("entry", [e for e in MANIFEST if e["format"] != "onnx"], ids=lambda e: e["name"])
def test_tree_models_exported_to_onnx_agree_with_their_library(tmp_path: Path, entry: dict):
    proc = import_and_export(tmp_path, entry)
    assert proc.returncode == 0, f"export failed: {proc.stderr}"
    header, rows = read_csv(MODELS / entry["inputs"])
    exported = session(tmp_path / "y.onnx")
    got = exported.run(["output"], feeds_for(exported, header, rows))[0]
    exp_header, exp_rows = read_csv(MODELS / entry["expected"])
    wanted = [c for c in exp_header if c == "prob" or c.startswith("prob_") or c in ("value", "score")]
    want = np.array([[float(r[exp_header.index(c)]) for c in wanted] for r in exp_rows], dtype=np.float64)
    # XGBoost and LightGBM sum leaves in float32, slipway (and the exported graph) in double; exp()
    # (count:poisson, values ~100) turns a 4e-6 margin difference into 5e-4, hence 1e-5 relative.
    check_close(entry["name"], got, want, relative=1e-5)


@pytest.mark.parametrize("entry", [e for e in MANIFEST if "categorical" in e["name"] and e["format"] != "onnx"],
                         ids=lambda e: e["name"])
def test_categorical_splits_become_branch_eq_chains(tmp_path: Path, entry: dict):
    """The exported trees hold BRANCH_EQ nodes (one per member code) and no other new mode, and
    onnxruntime's outputs on it equal slipway's own predictions on the same rows."""
    proc = import_and_export(tmp_path, entry)
    assert proc.returncode == 0, f"export failed: {proc.stderr}"
    model = onnx.load(str(tmp_path / "y.onnx"))
    (trees,) = [n for n in model.graph.node if n.op_type == "TreeEnsembleRegressor"]
    modes = next(a for a in trees.attribute if a.name == "nodes_modes").strings
    assert {m.decode() for m in modes} <= {"LEAF", "BRANCH_LT", "BRANCH_LEQ", "BRANCH_EQ"}
    assert sum(m == b"BRANCH_EQ" for m in modes) > 0
    ours = tmp_path / "p.csv"
    proc = run("model", "predict", tmp_path / "b.slw", "--input", MODELS / entry["inputs"], "--output", ours)
    assert proc.returncode == 0, proc.stderr
    p_header, p_rows = read_csv(ours)
    header, rows = read_csv(MODELS / entry["inputs"])
    exported = session(tmp_path / "y.onnx")
    got = exported.run(["output"], feeds_for(exported, header, rows))[0]
    want = np.array([[float(v) for v in r] for r in p_rows], dtype=np.float64)
    check_close(entry["name"] + " (vs slipway)", got, want)


@pytest.mark.parametrize("entry", [e for e in MANIFEST if "normalizer" in e["name"]], ids=lambda e: e["name"])
def test_normalizer_pipelines_export_a_normalizer(tmp_path: Path, entry: dict):
    proc = import_and_export(tmp_path, entry)
    assert proc.returncode == 0, f"export failed: {proc.stderr}"
    model = onnx.load(str(tmp_path / "y.onnx"))
    (norm,) = [n for n in model.graph.node if n.op_type == "Normalizer"]
    want = entry["source"]["estimator"].split("norm='")[1].split("'")[0].upper()
    assert next(a for a in norm.attribute if a.name == "norm").s.decode() == want


def test_damaged_onnx_is_a_clear_error(tmp_path: Path):
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07\x12\x07pytorch\x3a\xff\xff\xff\xff\x0f")
    proc = run("model", "import", junk, "--format", "onnx", "-o", tmp_path / "b.slw")
    assert proc.returncode != 0
    assert "not a valid ONNX model" in proc.stderr
    assert not (tmp_path / "b.slw").exists()
