#!/usr/bin/env bash
# `make lint`: clang-format (check only) and clang-tidy over the sources, using the release build's
# compile_commands.json. Exits non-zero on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f build/release/compile_commands.json ] || cmake --preset release >/dev/null
files=$(git ls-files 'src/*.cpp' 'src/*.h' 'tests/*.cpp' 'fuzz/*.cpp')
echo "clang-format: checking $(echo "$files" | wc -w) files" >&2
clang-format --dry-run --Werror $files
echo "clang-tidy: checking sources" >&2
git ls-files 'src/*.cpp' | xargs -P "$(nproc)" -n 4 clang-tidy -p build/release --quiet
