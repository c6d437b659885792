#!/usr/bin/env bash
# README's first command: install what is missing, build Release, start encored on the
# demo rules with a data dir under .data/.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
encore_install_deps
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
echo "The HTTP server is not built yet (issue: HTTP API); the libraries and tests are."
echo "Run tools/test.sh to check them."
exit 1
