#!/usr/bin/env bash
# Soak (not a test; too long for the test command): mixed load against the release
# push-advisor wired to the real development provider, with the server's RSS sampled
# every 10 s. The load: wrk over public routes, the protected /deploy-history with a
# cached token, /mcp tools/call and junk tokens (soak.lua), plus slow clients that send
# each request byte by byte (soak-slow.py). Prints the RSS growth after warm-up, the
# unexpected statuses and the wrk socket errors, and fails when growth is 5 % or more,
# or either count is not 0.
#
#   tests/bench/soak.sh              # 600 s
#   DURATION=120 tests/bench/soak.sh # seconds
set -euo pipefail
cd "$(dirname "$0")/../.."
duration=${DURATION:-600}
connections=${CONNECTIONS:-2}     # per kind of load: public, protected, mcp, junk
slow_clients=${SLOW_CLIENTS:-4}
warmup=${WARMUP:-60}              # seconds before the RSS baseline
max_growth_percent=5

source tests/bench/common.sh
bench_install wrk
bench_build_push_advisor

port=18788
resource="http://127.0.0.1:$port"
bench_start_provider "$resource"
token=$(bench_token "$resource")
bench_start_push_advisor "$port" 60
[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$resource/deploy-history")" = 200 ] ||
  { echo "the provider's token was refused"; exit 1; }

out=$(mktemp -d)
rss_of() { awk '/^VmRSS/ {print $2}' "/proc/$server/status"; }
echo "soak: ${duration} s; wrk with $connections connections each for public, protected, mcp, junk; $slow_clients slow clients; RSS every 10 s"
wrk_pids=()
for kind in public protected mcp junk; do
  SOAK_KIND=$kind SOAK_TOKEN=$token wrk -t1 -c"$connections" -d"${duration}s" --timeout 5s \
    -s tests/bench/soak.lua "$resource" >"$out/wrk-$kind.txt" 2>"$out/wrk-$kind.err" &
  wrk_pids+=($!)
done
python3 tests/bench/soak-slow.py "$port" "$slow_clients" "$duration" >"$out/slow.txt" 2>"$out/slow.err" &
slow_pid=$!

samples=()
for ((elapsed = 0; elapsed <= duration; elapsed += 10)); do
  kill -0 "$server" 2>/dev/null || { echo "push-advisor exited during the soak"; exit 1; }
  samples+=("$elapsed:$(rss_of)")
  printf '  %4d s  %s KiB\n' "$elapsed" "$(rss_of)"
  [ "$elapsed" -lt "$duration" ] && sleep 10
done
for pid in "${wrk_pids[@]}"; do wait "$pid" || { echo "wrk failed:"; cat "$out"/wrk-*.err; exit 1; }; done
wait "$slow_pid" || { echo "the slow clients failed:"; cat "$out/slow.err"; exit 1; }

baseline=$(printf '%s\n' "${samples[@]}" | awk -F: -v w="$warmup" '$1 >= w {print $2; exit}')
final=$(printf '%s\n' "${samples[@]}" | tail -1 | cut -d: -f2)
peak=$(printf '%s\n' "${samples[@]}" | awk -F: -v w="$warmup" '$1 >= w && $2 > m {m = $2} END {print m}')
growth=$(awk -v b="$baseline" -v f="$final" 'BEGIN {printf "%.2f", (f - b) * 100 / b}')
slow_line=$(grep '^SLOW' "$out/slow.txt")
field() { sed -n "s/.*\b$1=\([0-9.]*\).*/\1/p" <<<"$2"; }
unexpected=$(field unexpected "$slow_line")
wrk_errors=0
for kind in public protected mcp junk; do
  line=$(grep '^SOAK kind' "$out/wrk-$kind.txt")
  unexpected=$((unexpected + $(field unexpected "$line")))
  wrk_errors=$((wrk_errors + $(field errors "$line")))
  printf '  wrk %-9s %9s requests, %6s req/s, p99 %s ms, unexpected %s, busy %s, socket errors %s\n' "$kind" \
    "$(field requests "$line")" "$(sed -n 's/^Requests\/sec: *//p' "$out/wrk-$kind.txt")" \
    "$(field p99_ms "$line")" "$(field unexpected "$line")" "$(field busy "$line")" "$(field errors "$line")"
  sed 's/^/    /' "$out/wrk-$kind.err" | head -3
done
slow_errors=$(field errors "$slow_line")
echo "  slow clients: $(field requests "$slow_line") requests (byte by byte), unexpected $(field unexpected "$slow_line"), errors $slow_errors"
echo "RSS after ${warmup} s warm-up: ${baseline} KiB, at the end: ${final} KiB, peak: ${peak} KiB, growth: ${growth} %"
echo "unexpected statuses: $unexpected"
echo "wrk errors: $wrk_errors"
rm -rf "$out"

status=0
awk -v g="$growth" -v m="$max_growth_percent" 'BEGIN {exit !(g < m)}' || { echo "FAIL: RSS grew ${growth} % (limit ${max_growth_percent} %)"; status=1; }
[ "$unexpected" -eq 0 ] || { echo "FAIL: $unexpected unexpected statuses"; status=1; }
[ "$wrk_errors" -eq 0 ] && [ "$slow_errors" -eq 0 ] || { echo "FAIL: wrk errors $wrk_errors, slow client errors $slow_errors"; status=1; }
exit "$status"
