# Shared by the load scripts in tests/bench (sourced, not run): what they install, the
# development provider, a client-credentials token and the release push-advisor. The
# caller is at the repository root with `set -euo pipefail`.

bench_pids=()
bench_cleanup() {
  for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap bench_cleanup EXIT

# PUSH_ADVISOR_BIN: another build of the binary (e.g. a copy, when a target dir is shared).
push_advisor_bin=${PUSH_ADVISOR_BIN:-${CARGO_TARGET_DIR:-target}/release/push-advisor}

# wrk, the provider's npm packages and the release binary (unless PUSH_ADVISOR_BIN names one).
bench_prepare() {
  command -v wrk >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
  (cd tests/provider && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
  [ -n "${PUSH_ADVISOR_BIN:-}" ] || cargo build --release --locked -p host-example
}

# Starts oidc-provider for the resource $1 on a free port; sets `issuer`.
start_provider() {
  local ready
  ready=$(mktemp)
  PROVIDER_PORT=0 PROVIDER_RESOURCE=$1 PROVIDER_ACCESS_TOKEN_TTL=3600 \
    tests/provider/node_modules/node/bin/node tests/provider/provider.mjs >"$ready" 2>/dev/null &
  bench_pids+=($!)
  for _ in $(seq 100); do grep -q PROVIDER_READY "$ready" && break; sleep 0.1; done
  issuer=$(sed -n 's/^PROVIDER_READY //p' "$ready")
  rm -f "$ready"
  [ -n "$issuer" ] || { echo "the provider did not start"; exit 1; }
}

# Prints a client-credentials access token for the resource $1 with the scope $2.
client_token() {
  node tests/provider/flow.mjs --issuer "$issuer" --client-credentials --client-id push-advisor \
    --client-secret dev-secret-push-advisor --scope "$2" --resource "$1" |
    node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token'
}

# Starts the release push-advisor on 127.0.0.1:$1 with the introspection cache TTL $2
# (more PUSH_ADVISOR_* settings may come from the environment) and waits until it
# answers; sets `server`.
start_push_advisor() {
  PUSH_ADVISOR_BIND=127.0.0.1:$1 PUSH_ADVISOR_ISSUER=$issuer PUSH_ADVISOR_CLIENT_SECRET=dev-secret-push-advisor \
    PUSH_ADVISOR_CACHE_TTL=$2 PUSH_ADVISOR_LOG=${PUSH_ADVISOR_LOG:-warn} "$push_advisor_bin" &
  server=$!
  bench_pids+=("$server")
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$1/.well-known/oauth-authorization-server" >/dev/null && break; sleep 0.1; done
}
