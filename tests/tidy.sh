#!/usr/bin/env bash
# The tidy test (ctest "tidy"): STYLE.md's mechanical rules over the source tree.
# Lines <= 100 columns; includes point down the layers only; RocksDB only in the
# ledger's store; Beast only in api/, tools/ and tests/; no `catch (...) {}`; no wall
# clock or randomness in rules/ and ledger/ (time comes from a Clock).
set -uo pipefail
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
fail=0
problem() { echo "tidy: $*"; fail=1; }

mapfile -t sources < <(git ls-files -co --exclude-standard -- \
  'rules/*.h' 'rules/*.cc' 'ledger/*.h' 'ledger/*.cc' 'api/*.h' 'api/*.cc' \
  'tools/*.h' 'tools/*.cc' 'tests/*.h' 'tests/*.cc' 2>/dev/null ||
  find rules ledger api tools tests -name '*.h' -o -name '*.cc')

for f in "${sources[@]}"; do
  [[ -f "$f" ]] || continue
  awk -v f="$f" 'length($0) > 100 { printf "tidy: %s:%d: line longer than 100 columns\n", f, NR; bad=1 }
                 END { exit bad }' "$f" || fail=1
  layer=${f%%/*}
  while IFS=: read -r line inc; do
    inc=${inc#*\"}; inc=${inc%%\"*}
    case "$layer:$inc" in
      rules:ledger/*|rules:api/*|rules:tools/*) problem "$f:$line: rules/ includes $inc (layers point down)";;
      ledger:api/*|ledger:tools/*) problem "$f:$line: ledger/ includes $inc (layers point down)";;
      api:tools/*) problem "$f:$line: api/ includes $inc (layers point down)";;
    esac
    inc_layer=${inc%%/*}
    if [[ "$inc" == */internal/* && "$inc_layer" != "$layer" && "$layer" != tests ]]; then
      problem "$f:$line: includes another layer's internals ($inc)"
    fi
  done < <(grep -n '^#include "' "$f" | sed 's/:#include /:/')
  if grep -q '#include <rocksdb/' "$f" && [[ "$f" != ledger/internal/store* && "$layer" != tests ]]; then
    problem "$f: includes RocksDB outside ledger/internal/store.*"
  fi
  if grep -q '#include <boost/beast' "$f" && [[ "$layer" != api && "$layer" != tools && "$layer" != tests ]]; then
    problem "$f: includes Beast outside api/, tools/ and tests/"
  fi
  if grep -Eq 'catch \(\.\.\.\) *\{ *\}' "$f"; then problem "$f: swallows every exception"; fi
  if [[ ("$layer" == rules || "$layer" == ledger) && "$f" != rules/base/clock.cc ]]; then
    if grep -En 'system_clock|std::rand\(|random_device|mt19937|time\(nullptr\)|gettimeofday' "$f" |
       grep -v '^\s*//' | grep -q .; then
      problem "$f: wall clock or randomness in rules/ or ledger/ (use the Clock; apply is deterministic)"
    fi
  fi
done
# docs/limits.md is generated from the limits.h files and must be current.
if ! diff -q <(bash tools/gen_limits_doc.sh) docs/limits.md >/dev/null; then
  problem "docs/limits.md is out of date: bash tools/gen_limits_doc.sh > docs/limits.md"
fi
if ((fail)); then echo "tidy: problems found"; exit 1; fi
echo "tidy: ${#sources[@]} files clean"
