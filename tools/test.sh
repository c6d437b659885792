#!/usr/bin/env bash
# README's second command: install what is missing, build, run every test through ctest.
#   tools/test.sh            Release build in build/, every test
#   ENCORE_SANITIZE=1 tools/test.sh   ASan+UBSan build in build-asan/
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
encore_install_deps

build_dir=build
cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=Release)
if [[ "${ENCORE_SANITIZE:-0}" == 1 ]]; then
  build_dir=build-asan
  cmake_args=(-G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DENCORE_SANITIZE=ON)
fi
cmake -S . -B "$build_dir" "${cmake_args[@]}"
cmake --build "$build_dir" -j"$(nproc)"
cd "$build_dir"
# shellcheck disable=SC2086  # ENCORE_CTEST_ARGS is a list of words, e.g. "-L slow"
ctest --output-on-failure -j2 --timeout 900 ${ENCORE_CTEST_ARGS:-}
