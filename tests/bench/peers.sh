#!/usr/bin/env bash
# Side-by-side bench on loopback (not a test): the release push-advisor against peers written the
# way users of each stack write them (tests/bench/peers/: axum + reqwest with a HashMap cache; rmcp's
# stateless streamable HTTP behind the same axum middleware; the MCP TypeScript SDK on express with
# requireBearerAuth), all against one real dev provider with tokens of the same client and audience.
# Cells run in interleaved rounds (every server once per round, the order reversed on odd rounds),
# each on a freshly started server whose token cache is warmed first; the table gives the median
# over rounds of req/s, p50 and p99, the errors summed, the highest peak RSS, and push-advisor's
# req/s divided by the peer's.
#
#   tests/bench/peers.sh            # 10 s cells, 3 rounds, 64 and 256 connections (~15 min)
#   tests/bench/peers.sh --quick    # 5 s cells, 1 round (~3 min)
#   tests/bench/peers.sh --smoke    # each server: 200 with a token, 401 without; no load
#   DURATION=20s ROUNDS=5 CONNECTIONS="64" TOKENS="1 1000" tests/bench/peers.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/bench/common.sh

mode=full
case ${1:-} in
  "") ;;
  --quick) mode=quick ;;
  --smoke) mode=smoke ;;
  *) echo "usage: $0 [--quick|--smoke]" >&2; exit 2 ;;
esac
if [ "$mode" = quick ]; then duration=${DURATION:-5s}; rounds=${ROUNDS:-1}; else duration=${DURATION:-10s}; rounds=${ROUNDS:-3}; fi
connections=${CONNECTIONS:-64 256}
token_counts=${TOKENS:-1 1000 10000}
threads=${THREADS:-2}

bench_install wrk curl
cargo build --release --locked -p host-example
# The peers are their own workspace; the main target dir shares their compiled dependencies.
CARGO_TARGET_DIR=$bench_target cargo build --release --locked --manifest-path tests/bench/peers/Cargo.toml
(cd tests/bench/peers/ts && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)

servers=(push-advisor axum rmcp ts)
declare -A port url
for server in "${servers[@]}"; do
  port[$server]=$(bench_free_port)
  url[$server]=http://127.0.0.1:${port[$server]}
done
# Every server plays the same resource: push-advisor's URL is the audience of all the tokens.
resource=${url[push-advisor]}
bench_start_provider "$resource"

max_tokens=1
for count in $token_counts; do [ "$count" -gt "$max_tokens" ] && max_tokens=$count; done
[ "$mode" = smoke ] && max_tokens=1
tokens=$bench_work/tokens
started=$SECONDS
"$bench_node" tests/bench/tokens.mjs --issuer "$issuer" --resource "$resource" --count "$max_tokens" --parallel 16 >"$tokens"
echo "minted $max_tokens tokens by client credentials (16 in flight) in $((SECONDS - started)) s" >&2

server_pid=
start_server() { # name
  local name=$1 log=$bench_work/$1.log
  case $name in
    push-advisor)
      # The warm-up checks every token once from one address, and the peers have no call
      # budget: lift push-advisor's (the cached requests measured never reach it).
      PUSH_ADVISOR_BIND=127.0.0.1:${port[$name]} PUSH_ADVISOR_ISSUER=$issuer \
        PUSH_ADVISOR_CLIENT_SECRET=dev-secret-push-advisor PUSH_ADVISOR_LOG=warn \
        PUSH_ADVISOR_PROVIDER_CALLS_IN_FLIGHT=64 PUSH_ADVISOR_PROVIDER_CALLS_PER_SECOND=60000 \
        PUSH_ADVISOR_PROVIDER_CLIENT_SHARE_PERCENT=100 \
        "$bench_target/release/push-advisor" >>"$log" 2>&1 &
      ;;
    axum | rmcp)
      BIND=127.0.0.1:${port[$name]} ISSUER=$issuer RESOURCE=$resource CLIENT_SECRET=dev-secret-push-advisor \
        "$bench_target/release/${name}_peer" >>"$log" 2>&1 &
      ;;
    ts)
      BIND=127.0.0.1:${port[$name]} ISSUER=$issuer RESOURCE=$resource CLIENT_SECRET=dev-secret-push-advisor \
        "$bench_node" tests/bench/peers/ts/server.mjs >>"$log" 2>&1 &
      ;;
  esac
  server_pid=$!
  bench_pids+=("$server_pid")
  bench_wait_http "${url[$name]}/" || { tail -5 "$log" >&2; exit 1; }
}
stop_server() { kill "$server_pid"; wait "$server_pid" 2>/dev/null || true; }

status_of() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# Which servers answer a scenario: the REST routes exist on push-advisor and axum, the MCP tool
# on push-advisor, rmcp and the TypeScript SDK.
servers_for() { case $1 in mcp) echo push-advisor rmcp ts ;; *) echo push-advisor axum ;; esac; }

if [ "$mode" = smoke ]; then
  token=$(head -1 "$tokens")
  for server in "${servers[@]}"; do
    start_server "$server"
    if [ "$server" = push-advisor ] || [ "$server" = axum ]; then
      "$bench_node" tests/bench/warm.mjs get "${url[$server]}/deploy-history" "$tokens" 1
      [ "$(status_of "${url[$server]}/deploy-history")" = 401 ] || { echo "$server: /deploy-history without a token is not 401" >&2; exit 1; }
      [ "$(status_of "${url[$server]}/vibe-check")" = 200 ] || { echo "$server: /vibe-check is not 200" >&2; exit 1; }
    fi
    if [ "$server" != axum ]; then
      "$bench_node" tests/bench/warm.mjs mcp "${url[$server]}/mcp" "$tokens" 1
      [ "$(status_of -X POST -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        --data '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' "${url[$server]}/mcp")" = 401 ] ||
        { echo "$server: /mcp without a token is not 401" >&2; exit 1; }
    fi
    stop_server
    echo "smoke: $server answers 200 with a token and 401 without"
  done
  exit 0
fi

cells=$bench_work/cells
mkdir -p "$cells"
run_cell() { # round scenario connections server
  local round=$1 scenario=$2 conns=$3 server=$4 base=${url[$4]}
  local out=$cells/$round.$scenario.$conns.$server
  start_server "$server"
  local load=(wrk -t"$threads" -c"$conns" -d"$duration" --timeout 10s --latency)
  case $scenario in
    vibe-check) "${load[@]}" "$base/vibe-check" >"$out" ;;
    mcp)
      "$bench_node" tests/bench/warm.mjs mcp "$base/mcp" "$tokens" 1
      "${load[@]}" -s tests/bench/peers.lua "$base/mcp" -- mcp "$tokens" 1 >"$out"
      ;;
    tokens-*)
      local count=${scenario#tokens-}
      "$bench_node" tests/bench/warm.mjs get "$base/deploy-history" "$tokens" "$count" 32
      "${load[@]}" -s tests/bench/peers.lua "$base/deploy-history" -- get "$tokens" "$count" >"$out"
      ;;
  esac
  echo "peak_rss_kb $(awk '/VmHWM/ {print $2}' "/proc/$server_pid/status")" >>"$out"
  stop_server
  printf '%s\n' "round $round, $scenario, $conns connections, $server: $(grep -h 'Requests/sec' "$out")" >&2
}

scenarios=(vibe-check)
for count in $token_counts; do scenarios+=("tokens-$count"); done
scenarios+=(mcp)
for round in $(seq "$rounds"); do
  for scenario in "${scenarios[@]}"; do
    for conns in $connections; do
      order=($(servers_for "$scenario"))
      if [ $((round % 2)) = 0 ]; then order=($(printf '%s\n' "${order[@]}" | tac)); fi
      for server in "${order[@]}"; do run_cell "$round" "$scenario" "$conns" "$server"; done
    done
  done
done

echo
echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)), $duration per cell, $rounds round(s), wrk -t$threads"
python3 tests/bench/peers_table.py "$cells"
