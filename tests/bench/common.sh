# Shared by the bench scripts (sourced, not run): tools they install, the dev provider on
# loopback, access tokens from it, and cleanup of what they started.
#
#   source tests/bench/common.sh     # from the repository root
#   bench_install wrk nginx          # Debian packages, installed when missing
#   bench_start_provider RESOURCE [MCP_RESOURCE]   # sets $issuer
#   token=$(bench_token RESOURCE)

bench_root=$(pwd)
bench_target=${CARGO_TARGET_DIR:-$bench_root/target}
bench_work=$(mktemp -d)
bench_pids=()
# The provider's Node (its package pins Node 22); the system node otherwise.
bench_node=$bench_root/tests/provider/node_modules/node/bin/node

bench_cleanup() {
  local pid
  for pid in "${bench_pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$bench_work"
}
trap bench_cleanup EXIT

bench_install() { # command...: installs the Debian packages of the same names when missing
  local missing=() tool
  for tool in "$@"; do command -v "$tool" >/dev/null || missing+=("$tool"); done
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

bench_free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

bench_start_provider() { # resource [mcp_resource]: starts the dev provider, sets $issuer
  (cd tests/provider && [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error)
  [ -x "$bench_node" ] || bench_node=node
  local ready=$bench_work/provider
  PROVIDER_PORT=0 PROVIDER_RESOURCE=$1 PROVIDER_RESOURCE_MCP=${2:-} PROVIDER_ACCESS_TOKEN_TTL=3600 \
    "$bench_node" tests/provider/provider.mjs >"$ready" 2>/dev/null &
  bench_pids+=($!)
  local _
  for _ in $(seq 100); do grep -q PROVIDER_READY "$ready" && break; sleep 0.1; done
  issuer=$(sed -n 's/^PROVIDER_READY //p' "$ready")
  [ -n "$issuer" ] || { echo "the provider did not start" >&2; exit 1; }
}

bench_token() { # resource: a client-credentials token of push-advisor's client with api:read
  "$bench_node" tests/provider/flow.mjs --issuer "$issuer" --client-credentials --client-id push-advisor \
    --client-secret dev-secret-push-advisor --scope api:read --resource "$1" |
    "$bench_node" -pe 'JSON.parse(require("fs").readFileSync(0)).access_token'
}

bench_wait_http() { # url: until it answers anything (10 s at most)
  local _
  for _ in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" != 000 ] && return 0
    sleep 0.1
  done
  echo "nothing answers at $1" >&2
  return 1
}

# The release push-advisor: PUSH_ADVISOR_BIN names another build (e.g. a copy, when a
# target dir is shared and locked), else it is built here.
bench_push_advisor_bin=${PUSH_ADVISOR_BIN:-$bench_target/release/push-advisor}
bench_build_push_advisor() {
  [ -n "${PUSH_ADVISOR_BIN:-}" ] || cargo build --release --locked -p host-example
}

bench_start_push_advisor() { # port cache_ttl: push-advisor against $issuer, until discovered; sets $server
  PUSH_ADVISOR_BIND=127.0.0.1:$1 PUSH_ADVISOR_ISSUER=$issuer PUSH_ADVISOR_CLIENT_SECRET=dev-secret-push-advisor \
    PUSH_ADVISOR_CACHE_TTL=$2 PUSH_ADVISOR_LOG=${PUSH_ADVISOR_LOG:-warn} "$bench_push_advisor_bin" &
  server=$!
  bench_pids+=("$server")
  local _
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$1/.well-known/oauth-authorization-server" >/dev/null && return 0
    sleep 0.1
  done
  echo "push-advisor did not discover the provider within 10 s" >&2
  return 1
}
