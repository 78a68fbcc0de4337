#!/usr/bin/env bash
# The main job: the real development provider (oidc-provider on loopback, on the Node 22
# its npm packages install) and the push-advisor host server wired to it, ready to try.
#
# Any way of stopping this script stops everything it started: Ctrl-C, `kill -TERM`,
# `kill -HUP` (a closed terminal) stop the children and wait for them; `kill -KILL`,
# which no script can catch, reaches them through the parent-death signal they are
# started with (setpriv --pdeathsig).
#
# Settings: PUSH_ADVISOR_BIND (127.0.0.1:8787), PROVIDER_PORT (9000),
# PUSH_ADVISOR_METRICS_BIND (127.0.0.1:9464; empty turns the ops listener off),
# DEMO_PROFILE (release; `dev` runs the debug build).
set -euo pipefail
cd "$(dirname "$0")/.."
bind=${PUSH_ADVISOR_BIND:-127.0.0.1:8787}
provider_port=${PROVIDER_PORT:-9000}
metrics_bind=${PUSH_ADVISOR_METRICS_BIND-127.0.0.1:9464}
profile=${DEMO_PROFILE:-release}
public_url="http://$bind"

pids=()
ready=$(mktemp)
cleanup() {
  trap - EXIT INT TERM HUP
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    # push-advisor lets in-flight requests finish (up to 10 s); then it is killed.
    for _ in $(seq 150); do
      alive=0
      for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
      [ $alive = 0 ] && break
      sleep 0.1
    done
    kill -KILL "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
  fi
  rm -f "$ready"
}
stop() { echo "==> Stopping (signal $1)"; cleanup; exit $((128 + $2)); }
trap cleanup EXIT
trap 'stop INT 2' INT
trap 'stop TERM 15' TERM
trap 'stop HUP 1' HUP

# Starts a child that dies with this script even when the script is killed outright.
start() {
  setpriv --pdeathsig KILL -- "$@" &
  pids+=($!)
}
# Runs a step as a child, so a signal stops it at once instead of after it ends.
step() {
  start "$@"
  local pid=$!
  wait "$pid"
  local kept=() other
  for other in "${pids[@]}"; do [ "$other" = "$pid" ] || kept+=("$other"); done
  pids=("${kept[@]}")
}

if [ ! tests/provider/node_modules/.package-lock.json -nt tests/provider/package-lock.json ]; then
  echo "==> Installing the development provider's npm packages (Node 22 among them)"
  step env -C tests/provider npm ci --no-audit --no-fund --loglevel=error
fi
node22=tests/provider/node_modules/node/bin/node
[ -x "$node22" ] || { echo "no Node 22 at $node22: run npm ci in tests/provider" >&2; exit 1; }
echo "==> Building push-advisor ($profile)"
step cargo build --locked --profile "$profile" -p host-example
target_dir=$(if [ "$profile" = dev ]; then echo debug; else echo "$profile"; fi)

start env PROVIDER_PORT="$provider_port" PROVIDER_RESOURCE="$public_url" PROVIDER_RESOURCE_MCP="$public_url/mcp" \
  PROVIDER_REDIRECT_URIS="$public_url/token" "$node22" tests/provider/provider.mjs >"$ready"
for _ in $(seq 100); do grep -q PROVIDER_READY "$ready" && break; sleep 0.1; done
issuer=$(sed -n 's/^PROVIDER_READY //p' "$ready")
[ -n "$issuer" ] || { echo "the provider did not start" >&2; exit 1; }
echo "==> Provider ready at $issuer on Node $("$node22" --version) (dev clients and secrets: tests/provider/README.md)"

start env PUSH_ADVISOR_BIND="$bind" PUSH_ADVISOR_ISSUER="$issuer" PUSH_ADVISOR_CLIENT_ID=push-advisor \
  PUSH_ADVISOR_CLIENT_SECRET="${PUSH_ADVISOR_CLIENT_SECRET:-dev-secret-push-advisor}" \
  PUSH_ADVISOR_METRICS_BIND="$metrics_bind" "target/$target_dir/push-advisor"
for _ in $(seq 100); do curl -fs "$public_url/vibe-check" >/dev/null && break; sleep 0.1; done

ops=""
[ -n "$metrics_bind" ] && ops="
  Health, readiness, metrics:  curl http://$metrics_bind/healthz  /readyz  /metrics"
cat <<MSG

Push Advisor is running at $public_url

  Log in (any user name and password):  $public_url/login
  Public:     curl $public_url/vibe-check
  Protected:  curl -H "Authorization: Bearer \$TOKEN" $public_url/deploy-history
  A token without a browser:
    TOKEN=\$($node22 tests/provider/flow.mjs --issuer $issuer --client-credentials --client-id push-advisor \\
      --client-secret dev-secret-push-advisor --scope api:read --resource $public_url | $node22 -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  MCP endpoint:  $public_url/mcp$ops
  Check the provider settings:  PUSH_ADVISOR_ISSUER=$issuer PUSH_ADVISOR_CLIENT_SECRET=dev-secret-push-advisor \\
    PUSH_ADVISOR_BIND=$bind target/$target_dir/push-advisor check

Ctrl-C (or any signal to this script, pid $$) stops both.
MSG
# Until a child ends by itself or a signal arrives (the traps above run then).
set +e
wait -n "${pids[@]}"
status=$?
echo "==> A child exited (status $status); stopping the rest"
exit "$status"
