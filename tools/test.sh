#!/usr/bin/env bash
# README's second command: install what is missing, build, run every test through ctest.
#   tools/test.sh                     Release build in build/, every test
#   ENCORE_SANITIZE=1 tools/test.sh   ASan+UBSan build in build-asan/, every test but `slow`
#   CI=true tools/test.sh             both, one after the other (what .ci/run does in CI)
#   ENCORE_CTEST_ARGS="-R ledger" tools/test.sh   extra ctest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
encore_install_deps

# run_suite BUILD_DIR CTEST_EXTRA CMAKE_ARGS...: configure, build and test one build.
run_suite() {
  local dir=$1 extra=$2
  shift 2
  echo "== $dir: configure, build, test"
  cmake -S . -B "$dir" -G Ninja "$@"
  cmake --build "$dir" -j"$(nproc)"
  # shellcheck disable=SC2086  # word lists, e.g. "-LE slow"
  (cd "$dir" && ctest --output-on-failure -j2 --timeout 900 $extra ${ENCORE_CTEST_ARGS:-})
}

release=(-DCMAKE_BUILD_TYPE=Release)
sanitized=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DENCORE_SANITIZE=ON)
if [[ "${ENCORE_SANITIZE:-0}" == 1 ]]; then
  run_suite build-asan "-LE slow" "${sanitized[@]}"
elif [[ -n "${CI:-}" && "${CI}" != false ]]; then
  SECONDS=0
  run_suite build "" "${release[@]}"
  echo "== Release build and tests took ${SECONDS}s"
  # The sanitized run leaves out the `slow` crash test (SIGKILL rounds under ASan add
  # minutes and prove nothing more than the Release run).
  run_suite build-asan "-LE slow" "${sanitized[@]}"
  echo "== both runs took ${SECONDS}s"
else
  run_suite build "" "${release[@]}"
fi
