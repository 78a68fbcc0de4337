#!/usr/bin/env bash
# Load benchmark on loopback (not a test): wrk against the release push-advisor wired to
# the real development provider. Prints requests/s and latency percentiles for
# /vibe-check and /deploy-history (cached token, then with the cache disabled), and
# the server's peak RSS.
#
#   tests/bench/wrk.sh            # 64 connections, 30 s per scenario
#   DURATION=10s tests/bench/wrk.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/bench/common.sh
duration=${DURATION:-30s}
connections=${CONNECTIONS:-64}
threads=${THREADS:-2}

bench_install wrk
bench_build_push_advisor

port=18787
resource="http://127.0.0.1:$port"
bench_start_provider "$resource"
token=$(bench_token "$resource")

run_scenario() { # name cache_ttl path [token]
  local name=$1 ttl=$2 path=$3 auth=${4:-}
  bench_start_push_advisor "$port" "$ttl"
  if [ -n "$auth" ]; then
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $auth" "$resource$path")" = 200 ] || { echo "token refused"; exit 1; }
  fi
  echo "== $name: $connections connections, $duration, GET $path"
  if [ -n "$auth" ]; then
    wrk -t"$threads" -c"$connections" -d"$duration" --latency -H "Authorization: Bearer $auth" "$resource$path" | grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors"
  else
    wrk -t"$threads" -c"$connections" -d"$duration" --latency "$resource$path" | grep -E "Requests/sec|^ +50%|^ +99%|Non-2xx|Socket errors"
  fi
  echo "   peak RSS: $(awk '/VmHWM/ {print $2, $3}' /proc/$server/status)"
  kill "$server"; wait "$server" 2>/dev/null || true
}

run_scenario "vibe-check" 60 /vibe-check
run_scenario "deploy-history, cached token" 60 /deploy-history "$token"
run_scenario "deploy-history, cache disabled" 0 /deploy-history "$token"
