#!/usr/bin/env bash
# A/B bench on loopback (not a test): push-advisor release binaries (old, new, and any more,
# named by their file names) and the axum peer in interleaved rounds, the same conditions for
# each (the machine is shared: compare within a round; the order is reversed on even rounds),
# every cell printed: /vibe-check, cached /deploy-history with one token, and MCP tools/call
# (push-advisor binaries only), at each connection count.
#
#   tests/bench/ab.sh OLD_BINARY NEW_BINARY [MORE_BINARIES...]
#   ROUNDS=4 DURATION=5s CONNECTIONS="64 256" SCENARIOS="vibe-check deploy-history mcp" tests/bench/ab.sh ...
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 OLD_BINARY NEW_BINARY [MORE_BINARIES...]" >&2; exit 2; }
declare -A binary
names=()
for at in $(seq $#); do
  case $at in 1) name=old ;; 2) name=new ;; *) name=$(basename "${!at}") ;; esac
  binary[$name]=$(realpath "${!at}")
  names+=("$name")
done
cd "$(dirname "$0")/../.."
source tests/bench/common.sh
rounds=${ROUNDS:-4}
duration=${DURATION:-5s}
connections=${CONNECTIONS:-64 256}
scenarios=${SCENARIOS:-vibe-check deploy-history mcp}

bench_install wrk curl
CARGO_TARGET_DIR=$bench_target cargo build --release --locked --manifest-path tests/bench/peers/Cargo.toml

port=$(bench_free_port)
url=http://127.0.0.1:$port
bench_start_provider "$url"
tokens=$bench_work/tokens
bench_token "$url" >"$tokens"

server_pid=
start_server() { # a name of names, or axum
  case $1 in
    axum)
      BIND=127.0.0.1:$port ISSUER=$issuer RESOURCE=$url CLIENT_SECRET=dev-secret-push-advisor \
        "$bench_target/release/axum_peer" >>"$bench_work/axum.log" 2>&1 &
      ;;
    *)
      PUSH_ADVISOR_BIND=127.0.0.1:$port PUSH_ADVISOR_ISSUER=$issuer PUSH_ADVISOR_CLIENT_SECRET=dev-secret-push-advisor \
        PUSH_ADVISOR_LOG=warn "${binary[$1]}" >>"$bench_work/$1.log" 2>&1 &
      ;;
  esac
  server_pid=$!
  bench_pids+=("$server_pid")
  bench_wait_http "$url/" || { tail -5 "$bench_work/$1.log" >&2; exit 1; }
}

printf '%-5s %-14s %5s %-6s %10s %9s %9s %6s\n' round scenario conns server req/s p50 p99 errors
for round in $(seq "$rounds"); do
  for scenario in $scenarios; do
    for conns in $connections; do
      order=("${names[@]}" axum)
      [ "$scenario" = mcp ] && order=("${names[@]}")
      [ $((round % 2)) = 0 ] && order=($(printf '%s\n' "${order[@]}" | tac))
      for server in "${order[@]}"; do
        start_server "$server"
        load=(wrk -t2 -c"$conns" -d"$duration" --timeout 10s --latency)
        out=$bench_work/cell
        case $scenario in
          vibe-check) "${load[@]}" "$url/vibe-check" >"$out" ;;
          deploy-history)
            "$bench_node" tests/bench/warm.mjs get "$url/deploy-history" "$tokens" 1
            "${load[@]}" -s tests/bench/peers.lua "$url/deploy-history" -- get "$tokens" 1 >"$out"
            ;;
          mcp)
            "$bench_node" tests/bench/warm.mjs mcp "$url/mcp" "$tokens" 1
            "${load[@]}" -s tests/bench/peers.lua "$url/mcp" -- mcp "$tokens" 1 >"$out"
            ;;
        esac
        kill "$server_pid"
        wait "$server_pid" 2>/dev/null || true
        awk -v r="$round" -v s="$scenario" -v c="$conns" -v n="$server" '
          / 50%/ {p50=$2} / 99%/ {p99=$2} /Requests\/sec/ {rps=$2}
          /Non-2xx|Socket errors/ {errors=errors " " $0}
          END {printf "%-5s %-14s %5s %-6s %10s %9s %9s %6s\n", r, s, c, n, rps, p50, p99, (errors == "" ? 0 : "yes")}
        ' "$out"
        [ -z "$(grep -E 'Non-2xx|Socket errors' "$out")" ] || grep -E 'Non-2xx|Socket errors' "$out" >&2
      done
    done
  done
done
