"""Fast, seeded generator of large synthetic numeric CSVs for the benchmarks.

    python bench/gen_csv.py OUT.csv --size-mb 1024 [--columns 28] [--seed 42] [--missing 0.001]
    python bench/gen_csv.py OUT.csv --rows 1000000

Each column is normal with its own mean and spread and its own number of decimals (2..6), so field
widths vary like real measurements. Rows are made in fixed-size blocks, each from an RNG seeded by
(seed, block index), so the same seed gives the same bytes and a larger --rows extends a smaller
file (the smaller one is a prefix of it).

Formatting is vectorised: every field is laid out as fixed-width digits in a byte matrix, then the
bytes that are not part of the number (leading zeros, unused sign, missing values) are masked out
and the rest taken in one boolean-index pass. numpy's savetxt and pandas' to_csv format floats one
by one in Python or C loops and are 10-20x slower.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

BLOCK_ROWS = 65536
INT_DIGITS = 6  # integer part up to 999999


def column_params(columns: int, seed: int):
    rng = np.random.default_rng([seed, 0xC0FFEE])
    means = rng.choice([0.0, 1.0, 10.0, 100.0, 1000.0], size=columns) * rng.uniform(-1, 1, size=columns)
    scales = rng.choice([0.01, 0.5, 3.0, 40.0, 900.0], size=columns)
    decimals = rng.integers(2, 7, size=columns)
    return means, scales, decimals


def format_block(values: np.ndarray, decimals: np.ndarray, missing: np.ndarray | None) -> bytes:
    """values: (rows, cols) float64 -> CSV text of those rows (',' separated, '\\n' ended)."""
    rows, cols = values.shape
    pieces, keeps = [], []
    for c in range(cols):
        d = int(decimals[c])
        width = 1 + INT_DIGITS + 1 + d + 1  # sign, integer digits, '.', decimals, separator
        v = values[:, c]
        q = np.rint(np.abs(v) * 10.0 ** d).astype(np.int64)
        q = np.minimum(q, 10 ** (INT_DIGITS + d) - 1)
        chars = np.empty((rows, width), dtype=np.uint8)
        keep = np.ones((rows, width), dtype=bool)
        negative = (v < 0) & (q > 0)
        chars[:, 0] = ord("-")
        keep[:, 0] = negative
        digits = INT_DIGITS + d
        # Digit j (0 = least significant) of q for every row at once.
        powers = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)
        digit_matrix = (q[:, None] // powers[None, :]) % 10
        int_part = digit_matrix[:, :INT_DIGITS]
        chars[:, 1:1 + INT_DIGITS] = int_part + ord("0")
        # Leading zeros of the integer part go, except the units digit.
        nonzero_seen = np.maximum.accumulate(int_part != 0, axis=1)
        nonzero_seen[:, -1] = True
        keep[:, 1:1 + INT_DIGITS] = nonzero_seen
        chars[:, 1 + INT_DIGITS] = ord(".")
        chars[:, 2 + INT_DIGITS:2 + INT_DIGITS + d] = digit_matrix[:, INT_DIGITS:] + ord("0")
        chars[:, -1] = ord("\n") if c == cols - 1 else ord(",")
        if missing is not None:
            keep[missing[:, c], :-1] = False
        pieces.append(chars)
        keeps.append(keep)
    matrix = np.hstack(pieces)
    mask = np.hstack(keeps)
    return matrix[mask].tobytes()


def generate(out: Path, *, size_mb: float | None = None, rows: int | None = None, columns: int = 28,
             seed: int = 42, missing: float = 0.0) -> tuple[int, int]:
    """Writes the CSV; returns (rows, bytes). Stops after `rows` rows, or once `size_mb` MiB are
    written (whole blocks, the last one cut at a row boundary)."""
    if (size_mb is None) == (rows is None):
        raise ValueError("give exactly one of size_mb and rows")
    means, scales, decimals = column_params(columns, seed)
    target_bytes = int(size_mb * 1024 * 1024) if size_mb is not None else None
    header = (",".join(f"f{c:02d}" for c in range(columns)) + "\n").encode()
    written, done_rows, block = 0, 0, 0
    with open(out, "wb", buffering=1 << 22) as f:
        f.write(header)
        written += len(header)
        while True:
            n = BLOCK_ROWS if rows is None else min(BLOCK_ROWS, rows - done_rows)
            if n <= 0:
                break
            rng = np.random.default_rng([seed, block])
            values = means + scales * rng.standard_normal((n, columns))
            # A separate stream, so a block's values do not depend on whether missing values are drawn
            # and a shorter last block is a prefix of the full one.
            miss = np.random.default_rng([seed, block, 1]).random((n, columns)) < missing if missing > 0 else None
            text = format_block(values, decimals, miss)
            if target_bytes is not None and written + len(text) >= target_bytes:
                cut = text.rfind(b"\n", 0, max(target_bytes - written, 1)) + 1
                if cut > 0:
                    text = text[:cut]
                f.write(text)
                written += len(text)
                done_rows += text.count(b"\n")
                break
            f.write(text)
            written += len(text)
            done_rows += n
            block += 1
    return done_rows, written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", type=Path)
    size = ap.add_mutually_exclusive_group(required=True)
    size.add_argument("--size-mb", type=float, help="stop at about this many MiB")
    size.add_argument("--rows", type=int, help="exactly this many data rows")
    ap.add_argument("--columns", type=int, default=28)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--missing", type=float, default=0.0, help="fraction of fields left empty (missing)")
    args = ap.parse_args(argv)
    rows, nbytes = generate(args.out, size_mb=args.size_mb, rows=args.rows, columns=args.columns,
                            seed=args.seed, missing=args.missing)
    print(f"{args.out}: {rows} rows, {nbytes / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
