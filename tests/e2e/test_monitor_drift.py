"""`slipway monitor drift` end to end: its --json equals SciPy on the same CSVs, no false alarms
beyond the stated rate between random halves of one dataset, a planted shift is found, dataset
versions as sources, exit codes and error text."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

TOL = 1e-6


def write_csv(path, columns: dict[str, np.ndarray]):
    names = list(columns)
    n = len(columns[names[0]])
    with open(path, "w") as f:
        f.write(",".join(names) + "\n")
        for i in range(n):
            cells = []
            for name in names:
                v = columns[name][i]
                if isinstance(v, str):
                    cells.append(v)
                elif v is None or (isinstance(v, float) and math.isnan(v)):
                    cells.append("")
                else:
                    cells.append(repr(float(v)))
            f.write(",".join(cells) + "\n")
    return path


def table(rng, n, shift=0.0, cat_p=(0.5, 0.3, 0.15, 0.04, 0.01)):
    cats = np.array(["a", "b", "c", "d", "e"])
    return {
        "x": rng.normal(shift, 1.0, n).round(6),
        "y": rng.exponential(1.0, n).round(6),
        "three": rng.integers(0, 3, n).astype(float),
        "flag": rng.choice(["yes", "no"], n),
        "cat": cats[rng.choice(5, n, p=cat_p)],
    }


def pooled_table(ref: np.ndarray, cur: np.ndarray, min_expected=5.0):
    """docs/drift.md's pooling rule, written out independently."""
    labels = sorted(set(ref) | set(cur), key=lambda k: (-(np.sum(ref == k) + np.sum(cur == k)), k))
    a = np.array([np.sum(ref == k) for k in labels], float)
    b = np.array([np.sum(cur == k) for k in labels], float)
    total, small = a.sum() + b.sum(), min(a.sum(), b.sum())
    rare = small * (a + b) / total < min_expected
    if not rare.any():
        return a, b, []
    pooled = [k for k, r in zip(labels, rare) if r]
    kept = [k for k, r in zip(labels, rare) if not r]
    ka, kb = list(a[~rare]), list(b[~rare])
    oa, ob = a[rare].sum(), b[rare].sum()
    if small * (oa + ob) / total < min_expected and ka:
        i = int(np.argmin(np.array(ka) + np.array(kb)))
        ka[i] += oa
        kb[i] += ob
        pooled.append(kept[i])
    else:
        ka.append(oa)
        kb.append(ob)
    return np.array(ka), np.array(kb), sorted(pooled)


def by_column(doc):
    return {c["column"]: c for c in doc["columns"]}


def test_small_samples_equal_scipy(sw, tmp_path):
    rng = np.random.default_rng(1)
    ref = table(rng, 800, cat_p=(0.5, 0.3, 0.19, 0.007, 0.003))
    cur = table(rng, 700, shift=0.2, cat_p=(0.4, 0.35, 0.24, 0.007, 0.003))
    cur["x"][5] = np.nan
    write_csv(tmp_path / "ref.csv", ref)
    write_csv(tmp_path / "cur.csv", cur)
    doc = sw.json("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "cur.csv")
    cols = by_column(doc)
    assert {c: cols[c]["test"] for c in cols} == {"x": "ks", "y": "ks", "three": "chi2", "flag": "z", "cat": "chi2"}

    for name in ["x", "y"]:
        a, b = ref[name], cur[name][~np.isnan(cur[name])]
        r = stats.ks_2samp(a, b)
        assert cols[name]["statistic"] == pytest.approx(r.statistic, abs=TOL)
        assert cols[name]["p_value"] == pytest.approx(r.pvalue, abs=TOL)
    assert cols["x"]["current_missing"] == 1

    for name in ["three", "cat"]:
        a, b, pooled = pooled_table(np.array([str(v) for v in ref[name]]), np.array([str(v) for v in cur[name]]))
        r = stats.chi2_contingency(np.array([a, b]))
        assert cols[name]["statistic"] == pytest.approx(r.statistic, abs=TOL), name
        assert cols[name]["p_value"] == pytest.approx(r.pvalue, abs=TOL), name
        assert cols[name].get("pooled", []) == pooled, name
    assert cols["cat"]["pooled"]  # the rare categories of this table were pooled

    xa, na = np.sum(ref["flag"] == "yes"), len(ref["flag"])
    xb, nb = np.sum(cur["flag"] == "yes"), len(cur["flag"])
    p = (xa + xb) / (na + nb)
    z = (xa / na - xb / nb) / math.sqrt(p * (1 - p) * (1 / na + 1 / nb))
    assert abs(cols["flag"]["statistic"]) == pytest.approx(abs(z), abs=TOL)
    assert cols["flag"]["p_value"] == pytest.approx(2 * stats.norm.sf(abs(z)), abs=TOL)

    names = list(cols)
    adjusted = stats.false_discovery_control([cols[c]["p_value"] for c in names], method="bh")
    for c, adj in zip(names, adjusted):
        assert cols[c]["adjusted_p_value"] == pytest.approx(adj, abs=1e-12)
        assert cols[c]["drifted"] == (adj < 0.05 and cols[c]["effect"] >= cols[c]["threshold"])


def test_large_samples_use_distances_equal_to_scipy(sw, tmp_path):
    rng = np.random.default_rng(2)
    ref, cur = table(rng, 3000), table(rng, 2500, shift=0.3)
    write_csv(tmp_path / "ref.csv", ref)
    write_csv(tmp_path / "cur.csv", cur)
    doc = sw.json("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "cur.csv")
    cols = by_column(doc)
    assert cols["x"]["test"] == "wasserstein" and cols["cat"]["test"] == "jensenshannon"
    for name in ["x", "y"]:
        w = stats.wasserstein_distance(ref[name], cur[name]) / max(np.std(ref[name]), 0.001)
        assert cols[name]["statistic"] == pytest.approx(w, abs=TOL)
    assert cols["x"]["drifted"] and not cols["y"]["drifted"]
    keys = sorted(set(ref["cat"]) | set(cur["cat"]))
    p = [np.sum(ref["cat"] == k) for k in keys]
    q = [np.sum(cur["cat"] == k) for k in keys]
    assert cols["cat"]["statistic"] == pytest.approx(distance.jensenshannon(p, q), abs=TOL)
    # Numeric Jensen-Shannon / PSI: 30 equal-width bins over both samples (np.histogram_bin_edges).
    doc = sw.json("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "cur.csv",
                  "--columns", "y", "--test", "y=jensenshannon")
    edges = np.histogram_bin_edges(np.concatenate([ref["y"], cur["y"]]), bins=30)
    hp, hq = np.histogram(ref["y"], edges)[0], np.histogram(cur["y"], edges)[0]
    assert doc["columns"][0]["statistic"] == pytest.approx(distance.jensenshannon(hp, hq), abs=TOL)


def test_random_halves_of_one_dataset_rarely_alarm(sw, tmp_path):
    """Under no drift, Benjamini-Hochberg keeps P(any column flagged) <= alpha per comparison."""
    rng = np.random.default_rng(3)
    data = table(rng, 1600)
    runs, any_flag, column_flags = 40, 0, 0
    for seed in range(runs):
        perm = np.random.default_rng(100 + seed).permutation(1600)
        half_a = {k: v[perm[:800]] for k, v in data.items()}
        half_b = {k: v[perm[800:]] for k, v in data.items()}
        write_csv(tmp_path / "a.csv", half_a)
        write_csv(tmp_path / "b.csv", half_b)
        doc = sw.json("monitor", "drift", "--reference", tmp_path / "a.csv", "--current", tmp_path / "b.csv")
        assert not doc["dataset_drift"]
        flagged = sum(c["drifted"] for c in doc["columns"])
        column_flags += flagged
        any_flag += flagged > 0
    # Expected at most 0.05 * 40 = 2 runs; 5 or more would happen with probability < 0.05.
    assert any_flag <= 4, f"{any_flag} of {runs} null comparisons flagged a column ({column_flags} columns)"


def test_planted_shift_is_found_and_fails_the_check(sw, tmp_path):
    rng = np.random.default_rng(4)
    ref = table(rng, 900)
    cur = table(rng, 900, shift=0.4, cat_p=(0.2, 0.2, 0.3, 0.2, 0.1))
    cur["y"] = cur["y"] * 1.5
    write_csv(tmp_path / "ref.csv", ref)
    write_csv(tmp_path / "cur.csv", cur)
    doc = sw.json("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "cur.csv")
    cols = by_column(doc)
    assert cols["x"]["drifted"] and cols["y"]["drifted"] and cols["cat"]["drifted"]
    assert not cols["three"]["drifted"] and not cols["flag"]["drifted"]
    assert doc["dataset_drift"] and doc["drifted_columns"] == 3 and doc["share"] == pytest.approx(0.6)
    proc = sw.run("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "cur.csv",
                  "--fail-on-drift", check_exit=1)
    assert "Dataset drift: 3 of 5 columns drifted (60% >= 50%)" in proc.stdout
    assert "✓" in proc.stdout
    sw.run("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "cur.csv",
           "--drift-share", "0.8", "--fail-on-drift", check_exit=0)


def test_dataset_versions_and_streaming(sw, tmp_path):
    rng = np.random.default_rng(5)
    write_csv(tmp_path / "ref.csv", table(rng, 2000))
    write_csv(tmp_path / "cur.csv", table(rng, 2000, shift=0.5))
    sw.ingest(tmp_path / "ref.csv", "feats")
    exact = sw.json("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "cur.csv")
    from_store = sw.json("monitor", "drift", "--reference", "feats@main", "--current", tmp_path / "cur.csv")
    assert from_store["columns"] == exact["columns"]
    streaming = sw.json("monitor", "drift", "--reference", "feats", "--current", tmp_path / "cur.csv",
                        "--streaming", "--test", "x=ks")
    assert streaming["from_summaries"]
    s = by_column(streaming)
    d_exact = stats.ks_2samp(*[np.loadtxt(tmp_path / f, delimiter=",", skiprows=1, usecols=0)
                               for f in ("ref.csv", "cur.csv")]).statistic
    assert s["x"]["statistic"] <= d_exact + 1e-12 <= s["x"]["statistic_upper"] + 2e-12
    assert s["x"]["drifted"] and [c["drifted"] for c in streaming["columns"]] == [
        c["drifted"] for c in exact["columns"]]


def test_errors_are_clear(sw, tmp_path):
    rng = np.random.default_rng(6)
    write_csv(tmp_path / "ref.csv", table(rng, 50))
    proc = sw.run("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "ref.csv",
                  "--columns", "x,nope", check_exit=2)
    assert proc.stderr == f"error: {tmp_path / 'ref.csv'}: no column 'nope' (columns: x,y,three,flag,cat)\n".replace(
        "error: ", "error: --reference: ")
    proc = sw.run("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "ref.csv",
                  "--test", "cat=ks", check_exit=2)
    assert proc.stderr == "error: column 'cat': the ks test needs a numeric column; 'cat' is categorical\n"
    proc = sw.run("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", tmp_path / "ref.csv",
                  "--test", "x=kss", check_exit=2)
    assert proc.stderr == ("error: --test x=kss: unknown drift test 'kss' "
                           "(expected ks, chi2, z, wasserstein, jensenshannon, psi or auto)\n")
    proc = sw.run("monitor", "drift", "--reference", "log:flights", "--current", tmp_path / "ref.csv", check_exit=2)
    assert "the reference is a dataset version NAME@REF or a file" in proc.stderr
    proc = sw.run("monitor", "drift", "--reference", "nosuch@main", "--current", tmp_path / "ref.csv", check_exit=None)
    assert proc.returncode >= 2 and "nosuch" in proc.stderr
    help_text = sw.run("monitor", "drift", "--help").stdout
    assert "Examples:" in help_text and "log:MODEL" in help_text


def test_prediction_log_window_as_current(sw, tmp_path):
    """The current window read from the prediction log (segments written by the independent writer in
    test_prediction_log_cli.py): inputs by tensor name against a reference CSV; exact and streaming."""
    from test_prediction_log_cli import T0, frame, segment_header

    rng = np.random.default_rng(8)
    ref = {"distance": rng.normal(1000, 100, 600).round(3),
           "carrier": rng.choice(["AA", "UA", "DL"], 600)}
    write_csv(tmp_path / "ref.csv", ref)
    dist = rng.normal(1150, 100, 400).round(3)
    carrier = rng.choice(["AA", "UA", "DL"], 400, p=[0.6, 0.2, 0.2])
    d = sw.store / "logs" / "predictions" / "flights"
    d.mkdir(parents=True)
    data = bytearray(segment_header())
    for i in range(400):
        inputs = json.dumps([
            {"name": "distance", "datatype": "FP64", "shape": [1], "data": [float(dist[i])]},
            {"name": "carrier", "datatype": "BYTES", "shape": [1], "data": [str(carrier[i])]}])
        outputs = json.dumps([{"name": "delay", "datatype": "FP32", "shape": [1], "data": [1.0]}])
        data += frame(f"r{i}", T0 + i * 1_000_000, "flights", 1, inputs, outputs, 100)
    (d / "000001.log").write_bytes(bytes(data))
    for extra in ([], ["--streaming"]):
        doc = sw.json("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current", "log:flights/1?last=300",
                      *extra)
        cols = by_column(doc)
        assert set(cols) == {"distance", "carrier"}
        assert cols["distance"]["current_rows"] == 300
        assert cols["distance"]["drifted"] and cols["carrier"]["drifted"] and doc["dataset_drift"]
    exact = by_column(sw.json("monitor", "drift", "--reference", tmp_path / "ref.csv", "--current",
                              "log:flights/1?last=300"))
    r = stats.ks_2samp(ref["distance"], dist[100:])
    assert exact["distance"]["p_value"] == pytest.approx(r.pvalue, abs=TOL)
