"""Writes stats_fixtures.json: SciPy's answers that tests/unit/monitor/stats_test.cpp must match (1e-6).

    /work/main/.venv/bin/python tests/data/monitor/make_fixtures.py

Samples are not stored: both sides regenerate them from a splitmix64 stream (seed, n, shape), so a
fixture of a million values stays a few bytes and the C++ test computes bit-identical doubles.
Generated with SciPy 1.15.3 / NumPy 2.2.6 (recorded in the file).
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import scipy
from scipy import stats
from scipy.spatial import distance

MASK = (1 << 64) - 1


def splitmix_uniforms(seed: int, n: int) -> np.ndarray:
    """n uniforms in [0, 1): splitmix64 outputs >> 11, times 2^-53 (see stats_test.cpp)."""
    # Vectorised splitmix64 on uint64 (wrapping arithmetic is what splitmix64 wants).
    with np.errstate(over="ignore"):
        idx = np.arange(1, n + 1, dtype=np.uint64)
        z = np.uint64(seed) + idx * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * (2.0 ** -53)


def sample(spec: dict) -> np.ndarray:
    """shape 'uniform': u; 'sum4': u1+u2+u3+u4-2 (bell-shaped), with levels > 0: floor(x*levels)/levels
    (ties); then loc + scale * x."""
    n = spec["n"]
    if spec["shape"] == "uniform":
        x = splitmix_uniforms(spec["seed"], n)
    else:
        u = splitmix_uniforms(spec["seed"], 4 * n).reshape(n, 4)
        x = ((u[:, 0] + u[:, 1]) + (u[:, 2] + u[:, 3])) - 2.0
    if spec.get("levels", 0) > 0:
        x = np.floor(x * spec["levels"]) / spec["levels"]
    return spec.get("loc", 0.0) + spec.get("scale", 1.0) * x


def gen(seed, n, shape="sum4", loc=0.0, scale=1.0, levels=0):
    return {"seed": seed, "n": n, "shape": shape, "loc": loc, "scale": scale, "levels": levels}


def ks_cases():
    pairs = [
        ("exact equal n, null", gen(1, 30), gen(2, 30)),
        ("exact equal n, shift", gen(3, 1000), gen(4, 1000, loc=0.1)),
        ("exact equal n 10000", gen(5, 10000), gen(6, 10000, loc=0.02)),
        ("exact unequal tiny", gen(7, 7), gen(8, 5, loc=0.5)),
        ("exact unequal", gen(9, 200), gen(10, 350, loc=0.2)),
        ("exact unequal ties", gen(11, 3000, levels=8), gen(12, 7000, levels=8, loc=0.01)),
        ("exact uniform vs bell", gen(13, 400, shape="uniform", loc=-0.5), gen(14, 600)),
        ("asymp en=5000 null", gen(15, 10001), gen(16, 10001)),
        ("asymp en=5000 shift", gen(17, 10001), gen(18, 10001, loc=0.05)),
        ("asymp small en null", gen(19, 20000), gen(20, 100)),
        ("asymp small en moderate", gen(21, 20000), gen(22, 100, loc=0.15)),
        ("asymp small en strong", gen(23, 20000), gen(24, 100, loc=0.6)),
        ("asymp large null", gen(25, 300000), gen(26, 250000)),
        ("asymp large small shift", gen(27, 300000), gen(28, 250000, loc=0.004)),
        ("asymp large shift", gen(29, 300000), gen(30, 250000, loc=0.02)),
        ("asymp ties", gen(31, 50000, levels=20), gen(32, 40000, levels=20, scale=1.01)),
    ]
    out = []
    for name, a, b in pairs:
        r = stats.ks_2samp(sample(a), sample(b), method="auto")
        out.append({"name": name, "a": a, "b": b, "statistic": float(r.statistic), "p_value": float(r.pvalue)})
    return out


def kstwo_grid():
    out = []
    for n in [1, 2, 5, 10, 50, 100, 140, 141, 500, 5000, 100000, 100001, 500000, 2000000, 5000000]:
        for x in [0.001, 0.004, 0.01, 0.02, 0.05, 0.08, 0.1, 0.2, 0.3, 0.45, 0.5, 0.6, 0.9, 0.999]:
            out.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
    return out


def smirnov_grid():
    out = []
    for n in [1, 3, 10, 100, 1000, 50000, 999999, 1000001]:
        for x in [0.0005, 0.002, 0.01, 0.03, 0.1, 0.3, 0.5, 0.7, 0.95]:
            out.append({"n": n, "x": x, "sf": float(scipy.special.smirnov(n, x))})
    return out


def chi2_cases():
    tables = [
        [[10, 20], [15, 12]],                      # dof 1: Yates
        [[1000, 2000], [1050, 1900]],              # dof 1, large
        [[3, 0], [0, 5]],                          # dof 1, Yates capped by |diff|
        [[10, 20, 30], [12, 18, 40]],
        [[500, 300, 150, 50], [480, 320, 100, 100]],
        [[1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1]],
        [[100000, 50000, 25000, 12500, 6250], [99000, 51000, 25500, 12000, 6500]],
    ]
    out = []
    for t in tables:
        r = stats.chi2_contingency(np.array(t, dtype=float))
        out.append({"a": t[0], "b": t[1], "statistic": float(r.statistic), "p_value": float(r.pvalue),
                    "dof": int(r.dof)})
    return out


def chi2_sf_grid():
    return [{"x": x, "dof": k, "sf": float(stats.chi2.sf(x, k))}
            for k in [1, 2, 3, 5, 10, 50, 300]
            for x in [0.0, 0.01, 0.5, 1.0, 3.84, 10.0, 30.0, 100.0, 400.0]]


def ztest_cases():
    out = []
    for xa, na, xb, nb in [(30, 100, 45, 100), (500, 1000, 520, 1000), (1, 50, 0, 60), (0, 10, 0, 20),
                           (400000, 1000000, 401000, 1000000)]:
        pa, pb, p = xa / na, xb / nb, (xa + xb) / (na + nb)
        se = math.sqrt(p * (1 - p) * (1 / na + 1 / nb))
        z = 0.0 if se == 0 else (pa - pb) / se
        pv = 1.0 if se == 0 else float(2 * stats.norm.sf(abs(z)))
        out.append({"x_a": xa, "n_a": na, "x_b": xb, "n_b": nb, "statistic": z, "p_value": pv})
    return out


def wasserstein_cases():
    pairs = [(gen(40, 10), gen(41, 13, loc=0.3)), (gen(42, 5000, levels=10), gen(43, 4000, levels=10)),
             (gen(44, 200000), gen(45, 150000, loc=0.01, scale=1.2))]
    out = []
    for a, b in pairs:
        out.append({"a": a, "b": b, "distance": float(stats.wasserstein_distance(sample(a), sample(b)))})
    return out


def js_cases():
    out = []
    for p, q in [([1, 2, 3], [3, 2, 1]), ([1, 0], [0.5, 0.5]), ([10, 0, 5, 5], [0, 10, 5, 5]),
                 ([100, 200, 300, 400], [110, 190, 310, 390])]:
        out.append({"p": p, "q": q, "distance": float(distance.jensenshannon(p, q))})
    return out


def psi_value(r, c, eps=1e-4):
    r = np.asarray(r, float) / np.sum(r)
    c = np.asarray(c, float) / np.sum(c)
    r = np.where(r == 0, eps, r)
    c = np.where(c == 0, eps, c)
    return float(np.sum((c - r) * np.log(c / r)))


def psi_cases():
    return [{"reference": r, "current": c, "psi": psi_value(r, c)}
            for r, c in [([10, 20, 30, 40], [12, 18, 33, 37]), ([50, 50, 0], [40, 40, 20]), ([1, 1], [1, 0])]]


def bh_cases():
    out = []
    for p in [[0.01, 0.04, 0.03, 0.2], [0.5], [0.001, 0.001, 0.9, 0.04, 0.049, 0.6]]:
        out.append({"p": p, "adjusted": [float(v) for v in stats.false_discovery_control(p, method="bh")]})
    return out


def main():
    fixtures = {
        "generated_by": "tests/data/monitor/make_fixtures.py",
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "ks_2samp": ks_cases(),
        "kstwo_sf": kstwo_grid(),
        "smirnov": smirnov_grid(),
        "chi2_contingency": chi2_cases(),
        "chi2_sf": chi2_sf_grid(),
        "two_proportion_z": ztest_cases(),
        "wasserstein": wasserstein_cases(),
        "jensenshannon": js_cases(),
        "psi": psi_cases(),
        "benjamini_hochberg": bh_cases(),
    }
    out = Path(__file__).resolve().parent / "stats_fixtures.json"
    out.write_text(json.dumps(fixtures, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
