#!/usr/bin/env bash
# README's first command: install what is missing, build Release, and start encored on
# the demo rules (docs/examples/rules/) with its data in .data/ and fresh API keys, one
# per role, kept in .data/keys. Running it again reuses the data and the keys.
#   ENCORE_LISTEN=127.0.0.1:8080 (default) tools/run.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
encore_install_deps
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target encored encore

listen=${ENCORE_LISTEN:-127.0.0.1:8080}
data=.data
mkdir -p "$data/db"
keys="$data/keys"
if [[ ! -s "$keys" ]]; then
  umask 077
  for role in pos marketing read admin; do
    printf '%s:%s\n' "$role" "$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  done >"$keys"
fi
key_of() { grep "^$1:" "$keys" | head -n1 | cut -d: -f2-; }
pos_key=$(key_of pos)

cat <<MSG

Encore is starting at http://$listen (data: $data/db, rules: docs/examples/rules/)
API keys (also in $keys):
$(sed 's/^/  /' "$keys")

Try:
  curl -s -X POST http://$listen/v1/members -H "Authorization: Bearer $pos_key" \\
    -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-enroll-1' \\
    -d '{"id": "fan-1", "birthday": "1990-06-15"}'
  curl -s -X POST http://$listen/v1/events -H "Authorization: Bearer $pos_key" \\
    -H 'Content-Type: application/json' -H 'Idempotency-Key: demo-purchase-1' \\
    -d '{"member": "fan-1", "type": "purchase", "channel": "store", "basket": {"total": "59.90",
         "items": [{"sku": "LP-1", "category": "vinyl", "quantity": 2, "unit_price": "19.95"},
                   {"sku": "TS-9", "category": "merch", "quantity": 1, "unit_price": "20.00"}]}}'

Stop with Ctrl-C (the server drains its writer and exits cleanly).
MSG
exec build/tools/encored --data "$data/db" --rules docs/examples/rules --listen "$listen" \
  --keys "$keys"
