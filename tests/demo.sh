#!/usr/bin/env bash
# The main job: the real development provider (oidc-provider on loopback) and the
# push-advisor host server wired to it, ready to try. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bind=${PUSH_ADVISOR_BIND:-127.0.0.1:8787}
provider_port=${PROVIDER_PORT:-9000}
public_url="http://$bind"

echo "==> Installing the development provider's npm packages"
(cd tests/provider && npm ci --no-audit --no-fund --loglevel=error)
echo "==> Building push-advisor"
cargo build --release --locked -p host-example

pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

ready=$(mktemp)
PROVIDER_PORT=$provider_port PROVIDER_RESOURCE=$public_url PROVIDER_RESOURCE_MCP=$public_url/mcp \
  PROVIDER_REDIRECT_URIS=$public_url/token node tests/provider/provider.mjs >"$ready" &
pids+=($!)
for _ in $(seq 100); do grep -q PROVIDER_READY "$ready" && break; sleep 0.1; done
issuer=$(sed -n 's/^PROVIDER_READY //p' "$ready")
[ -n "$issuer" ] || { echo "the provider did not start" >&2; exit 1; }
echo "==> Provider ready at $issuer (dev clients and secrets: tests/provider/README.md)"

PUSH_ADVISOR_BIND=$bind PUSH_ADVISOR_ISSUER=$issuer PUSH_ADVISOR_CLIENT_ID=push-advisor \
  PUSH_ADVISOR_CLIENT_SECRET=${PUSH_ADVISOR_CLIENT_SECRET:-dev-secret-push-advisor} \
  target/release/push-advisor &
pids+=($!)
for _ in $(seq 100); do curl -fs "$public_url/vibe-check" >/dev/null && break; sleep 0.1; done

cat <<MSG

Push Advisor is running at $public_url

  Log in (any user name and password):  $public_url/login
  Public:     curl $public_url/vibe-check
  Protected:  curl -H "Authorization: Bearer \$TOKEN" $public_url/deploy-history
  A token without a browser:
    TOKEN=\$(node tests/provider/flow.mjs --issuer $issuer --client-credentials --client-id push-advisor \\
      --client-secret dev-secret-push-advisor --scope api:read --resource $public_url | node -pe 'JSON.parse(require("fs").readFileSync(0)).access_token')
  MCP endpoint:  $public_url/mcp

Ctrl-C stops both.
MSG
wait -n
