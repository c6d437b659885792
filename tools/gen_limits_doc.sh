{
cat <<'EOF'
# Limits

Every bound Encore enforces is a `constexpr` in its layer's `limits.h`, with the reason
for its number beside it; this page lists them all (the tidy test checks that every one
is here). Going over a limit is a clear error, never a silent truncation: 400/413 on
HTTP, `file:line:column` for rule files, 503 with `Retry-After` for a full writer queue.

EOF
for f in rules/limits.h ledger/limits.h api/limits.h; do
  echo "## \`$f\`"; echo; echo "| name | value | why |"; echo "|---|---|---|"
  awk '
    /^\/\/ ----/ { next }
    /^\/\// && NR > 3 { sub(/^\/\/ ?/, ""); why = why (why ? " " : "") $0; next }
    /inline constexpr/ {
      name = $0; sub(/.*inline constexpr [a-z0-9_:]+ /, "", name); val = name
      sub(/ =.*/, "", name); sub(/.*= /, "", val); sub(/;.*/, "", val)
      if (why == "") why = last
      gsub(/\|/, "\\|", why)
      printf "| `%s` | `%s` | %s |\n", name, val, why; last = why; why = ""; next }
    /^$/ { why = "" }' "$f"
  echo
done
cat <<'EOF'
Operators can change the HTTP defaults on `encored`'s command line (`docs/operations.md`).
Regenerate this page after changing a `limits.h`: `bash tools/gen_limits_doc.sh > docs/limits.md`.
EOF
}
