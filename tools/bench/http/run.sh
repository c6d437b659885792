#!/usr/bin/env bash
# HTTP benchmark of encored with wrk (README in docs/performance.md, section "HTTP").
# Starts encored (Release build) on a temp data dir with the 20-offer rule set of
# ../shared/bench/peers/rules/encore, enrolls ENCORE_MEMBERS members, then runs balance
# reads, purchases and the POS mix at 16, 64 and 256 connections, SECONDS each, and prints
# a markdown table. With PEERS=1 it also runs the peers' limits.sh (nginx ceiling) and
# pg-ledger.sh in the same run.
# With THREAD_CPU=1 each row also prints (on stderr) the CPU time per request of each
# encored thread (writer, syncer, I/O, RocksDB) and of wrk, which a noisy machine disturbs
# far less than the rates, and the ledger's commands per batch and per fsync with the mean
# fsync time (from /metrics).
# WORKLOADS="purchase" runs only some of the rows (balance, purchase, mix); ENCORED_ARGS
# adds options to encored's command line (e.g. "--threads 1").
#   SECONDS_EACH=15 ENCORE_MEMBERS=100000 CONNS="16 64 256" PEERS=1 tools/bench/http/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
shared=${ENCORE_SHARED:-$root/../shared}
secs=${SECONDS_EACH:-15}
conns=${CONNS:-16 64 256}
workloads=${WORKLOADS:-balance purchase mix}
port=${PORT:-18480}
export ENCORE_MEMBERS=${ENCORE_MEMBERS:-100000}
export ENCORE_BENCH_DIR=$here
export ENCORE_THREADS=2
export ENCORE_NONCE=enroll-$(date +%s%N)
encored=${ENCORED:-$root/build/tools/encored}
[[ -x "$encored" ]] || { echo "build encored first (tools/test.sh or cmake --build build)"; exit 1; }
command -v wrk >/dev/null || apt-get install -y -q wrk

work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/rules"
cp "$shared/bench/peers/rules/encore/offers.json" "$work/rules/"
printf 'pos:bench-pos-key\nadmin:bench-admin-key\nread:bench-read-key\n' >"$work/keys"
"$encored" --data "$work/data" --rules "$work/rules" --listen "127.0.0.1:$port" \
  --keys "$work/keys" --log-level warn ${ENCORED_ARGS:-} >"$work/encored.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
url="http://127.0.0.1:$port"

echo "enrolling $ENCORE_MEMBERS members..." >&2
t0=$(date +%s)
wrk -t2 -c64 -d600s --timeout 5s -s "$here/enroll.lua" "$url" >"$work/enroll.txt" &
wpid=$!
# encored's /metrics text.
metrics() { curl -fs -H "Authorization: Bearer bench-admin-key" "$url/metrics"; }

# Every member must exist before a row starts (a purchase for a missing one is a 404): the
# enrollments answered 201 are counted, not the last id's, which other requests may trail.
enrolled() {
  metrics | awk '/^encore_http_requests_total\{route="\/v1\/members",status="201"\}/ {n = $2}
    END {print n + 0}'
}
until (($(enrolled) >= ENCORE_MEMBERS)); do
  sleep 0.5
  kill -0 $wpid 2>/dev/null || break
done
kill -INT $wpid 2>/dev/null || true
wait $wpid 2>/dev/null || true
n=$(enrolled)
((n >= ENCORE_MEMBERS)) || { echo "only $n of $ENCORE_MEMBERS members enrolled" >&2; exit 1; }
echo "enrolled $n members in $(($(date +%s) - t0)) s" >&2

# CPU ticks (user + system) of each encored thread, by thread name: "name ticks" lines.
thread_ticks() {
  for t in /proc/$pid/task/*; do
    # comm may hold spaces: the fields after the ")" are counted from there.
    local stat name
    stat=$(cat "$t/stat" 2>/dev/null) || continue
    name=$(cat "$t/comm" 2>/dev/null | tr ' ' '_')
    echo "$name $(echo "${stat##*) }" | awk '{print $12 + $13}')"
  done | awk '{ticks[$1] += $2} END {for (n in ticks) print n, ticks[n]}' | sort
}

# The ledger's counters from /metrics: "commands batches fsyncs fsync-seconds" on one line.
ledger_counts() {
  metrics | awk '
    /^encore_ledger_commands_total / {c = $2} /^encore_ledger_batches_total / {b = $2}
    /^encore_fsync_seconds_count / {f = $2} /^encore_fsync_seconds_sum / {s = $2}
    END {print c + 0, b + 0, f + 0, s + 0}'
}

row() {  # row NAME SCRIPT CONNS
  local out before counts
  export ENCORE_NONCE="$(date +%s%N)"  # Idempotency-Keys unique to this wrk run
  before=$(thread_ticks)
  counts=$(ledger_counts)
  # wrk's own CPU (user + system seconds, bash's `time`) is printed with THREAD_CPU=1: it
  # shares the 2 cores with encored.
  local TIMEFORMAT='%U %S'
  { time wrk -t2 -c"$3" -d"${secs}s" --timeout 5s --latency -s "$here/$2" "$url" \
      >"$work/wrk.txt"; } 2>"$work/wrk-time.txt"
  out=$(grep '^RESULT' "$work/wrk.txt")
  wrk_cpu=$(awk '{print $1 + $2}' "$work/wrk-time.txt")
  # RESULT requests=.. seconds=.. rps=.. p50_ms=.. p99_ms=.. max_ms=.. non2xx=.. socket_errors=..
  eval "$(echo "${out#RESULT }" | tr ' ' '\n' | sed 's/^/local /')"
  echo "| $1 | $3 | $rps | $p50_ms | $p99_ms | $max_ms | $non2xx | $socket_errors |"
  if ((non2xx > 0)); then  # which statuses, by route (counted since encored started)
    metrics | grep '^encore_http_requests_total' | grep -v 'status="2' | sed 's/^/  /' >&2 || true
  fi
  if [[ "${THREAD_CPU:-0}" == 1 ]]; then
    # CPU per request by thread (µs): robust to a noisy machine, unlike the rate.
    join <(echo "$before") <(thread_ticks) |
      awk -v n="$requests" -v hz="$(getconf CLK_TCK)" \
        '{printf "  cpu/request %s %.1f us\n", $1, ($3 - $2) * 1e6 / hz / n}' >&2
    awk -v s="$wrk_cpu" -v n="$requests" 'BEGIN {printf "  cpu/request wrk %.1f us\n", s * 1e6 / n}' >&2
    # How many commands share a batch and an fsync: the writer's and syncer's fixed costs.
    echo "$counts $(ledger_counts)" | awk '$6 > $2 && $7 > $3 {
      printf "  commands per batch %.1f, per fsync %.1f; fsync mean %.0f us\n",
        ($5 - $1) / ($6 - $2), ($5 - $1) / ($7 - $3), ($8 - $4) * 1e6 / ($7 - $3)
    }' >&2
  fi
}

echo
echo "### encored over HTTP (wrk 2 threads on the same 2 cores, ${secs}s per row, $ENCORE_MEMBERS members, 20-offer rule set)"
echo
echo "| workload | connections | requests/s | p50 ms | p99 ms | max ms | non-2xx | socket errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for w in $workloads; do
  for c in $conns; do
    case $w in
      balance) row "balance read" balance.lua "$c" ;;
      purchase) row "purchase (durable)" purchase.lua "$c" ;;
      mix) row "POS mix 70/20/10" pos_mix.lua "$c" ;;
      *) echo "unknown workload $w (balance, purchase, mix)" >&2; exit 2 ;;
    esac
  done
done

if [[ "${PEERS:-0}" == 1 ]]; then
  kill $pid; wait $pid 2>/dev/null || true
  (cd "$shared/bench/peers" && ./limits.sh && ./pg-ledger.sh)
fi
