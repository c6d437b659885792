#!/usr/bin/env bash
# ctest: the built `encore rules check` on a rules directory gives the expected exit
# status and, for a broken directory, exactly the golden errors on stderr.
#   cli_check_test.sh ENCORE_BINARY RULES_DIR EXPECTED_EXIT [EXPECTED_STDERR_FILE]
set -uo pipefail
encore=$1 dir=$2 want_exit=$3 want_stderr=${4:-}
err=$(mktemp)
trap 'rm -f "$err"' EXIT
"$encore" rules check "$dir" >/dev/null 2>"$err"
got_exit=$?
if [[ "$got_exit" != "$want_exit" ]]; then
  echo "exit status $got_exit, expected $want_exit; stderr:"; cat "$err"; exit 1
fi
if [[ -n "$want_stderr" ]] && ! diff -u "$want_stderr" "$err"; then
  echo "stderr differs from $want_stderr"; exit 1
fi
echo "ok: encore rules check $dir -> $got_exit"
