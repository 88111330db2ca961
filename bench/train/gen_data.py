#!/usr/bin/env python3
"""A seeded synthetic binary-classification table for the training benchmark (bench/train).

    .venv/bin/python bench/train/gen_data.py OUT.csv [--rows 1000000] [--features 20] [--seed 7]

Columns f00..f19 (float, no missing values) and `label` (0/1, about 30% ones). The features mix
normal, uniform, log-normal, heavy-tailed and small-integer columns; the label depends on several
of them non-linearly (thresholds, interactions, a sine), plus noise, so 500 rounds of depth-6 trees
keep finding splits. The same seed and sizes give the same bytes.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def make(rows: int, features: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.empty((rows, features), dtype=np.float64)
    for j in range(features):
        kind = j % 5
        if kind == 0:
            x[:, j] = rng.normal(j * 0.5, 1 + j * 0.1, rows)
        elif kind == 1:
            x[:, j] = rng.uniform(-3, 3, rows)
        elif kind == 2:
            x[:, j] = rng.lognormal(0, 0.8, rows)
        elif kind == 3:
            x[:, j] = rng.standard_t(3, rows)
        else:
            x[:, j] = rng.integers(0, 12, rows)  # a small-integer code
    z = (0.8 * np.sin(x[:, 1] * 1.3) + 0.6 * (x[:, 0] - 0) / 2 - 0.5 * np.log1p(x[:, 2])
         + 0.7 * ((x[:, 4] % 3) == 1) + 0.4 * x[:, 3].clip(-3, 3) * (x[:, 6] > 0)
         + 0.3 * np.tanh(x[:, 5 % features] * x[:, 7 % features]) - 0.9)
    for j in range(8, features):
        z += (0.15 / (1 + j - 8)) * np.tanh(x[:, j] - np.median(x[:, j]))
    label = (z + rng.logistic(0, 0.6, rows) > 0).astype(np.int64)
    return x, label


def write(path: Path, rows: int, features: int, seed: int) -> None:
    x, label = make(rows, features, seed)
    header = ",".join([f"f{j:02d}" for j in range(features)] + ["label"])
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(header + "\n")
        fmt = ["%.6g"] * features + ["%d"]
        step = 100_000
        for start in range(0, rows, step):
            block = np.column_stack([x[start:start + step], label[start:start + step]])
            np.savetxt(f, block, fmt=fmt, delimiter=",")
    tmp.replace(path)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    write(a.out, a.rows, a.features, a.seed)


if __name__ == "__main__":
    main()
