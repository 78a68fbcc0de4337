#!/usr/bin/env bash
# The official MCP clients (tests/mcp-clients: TypeScript SDK 1.x and client v2, Python SDK,
# Inspector CLI) and the MCP conformance suite (tests/conformance)
# against the linux-tap firmware. Runs INSIDE the namespace `run.sh` creates (it refuses
# to run elsewhere): starts the real provider over HTTPS (a CA made now, trusted by the
# firmware via --ca-der and by node via NODE_EXTRA_CA_CERTS) on the namespace's side of the
# TAP link and the firmware, waits for discovery, runs `node --test`, and stops both.
# HTTPS because the TypeScript client v2 sends credentials only to an HTTPS (or loopback)
# token endpoint; the other clients talk to the provider through node only.
#
# Env (set by run.sh): DEVICE_URL, PA_FIRMWARE, PA_TAP, PA_HOST_IP, PA_NETNS;
# MCP_TEST_NAME_PATTERN (optional) runs only the cases whose names match.
# Output: node's TAP report, whose `# pass N` / `# fail N` lines count the cases.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
provider_port=9000
issuer="https://$PA_HOST_IP:$provider_port"
device_address=${DEVICE_URL#http://}
device_ip=${device_address%%:*}
device_port=80
[[ $device_address == *:* ]] && device_port=${device_address##*:}

if [[ $(ip netns identify $$) != "${PA_NETNS:-}" || -z ${PA_NETNS:-} ]]; then
    echo "mcp-clients.sh: run it through tests/tap/run.sh (not inside its namespace)" >&2
    exit 2
fi

work=$(mktemp -d)
children=()
stop_children() {
    local pid
    for pid in "${children[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${children[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap stop_children EXIT

# Waits until $1 (a file) contains $2, at most $3 seconds; shows the file on failure.
wait_for_text() {
    local file=$1 text=$2 limit=$3 waited=0
    until grep -q -- "$text" "$file" 2>/dev/null; do
        if ((waited >= limit * 10)); then
            echo "no '$text' within $limit s in $file:" >&2
            cat "$file" >&2
            return 1
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
}

# A throwaway CA and a P-256 leaf for the provider's address; the leaf's CN is the address
# too (the firmware's TLS matches the server name against the CN and DNS names only).
# openssl's progress and errors go to a file, shown only when it fails.
quiet_openssl() {
    openssl "$@" 2>>"$work/openssl.log" || {
        cat "$work/openssl.log" >&2
        return 1
    }
}
quiet_openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=push-advisor TAP test CA" -keyout "$work/ca-key.pem" -out "$work/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
quiet_openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$PA_HOST_IP" \
    -keyout "$work/provider-key.pem" -out "$work/provider.csr"
printf 'subjectAltName=IP:%s\n' "$PA_HOST_IP" >"$work/provider.ext"
quiet_openssl x509 -req -in "$work/provider.csr" -CA "$work/ca.pem" -CAkey "$work/ca-key.pem" \
    -CAcreateserial -days 2 -extfile "$work/provider.ext" -out "$work/provider-cert.pem"
quiet_openssl x509 -in "$work/ca.pem" -outform der -out "$work/ca.der"

PROVIDER_HOST=$PA_HOST_IP PROVIDER_PORT=$provider_port PROVIDER_ISSUER=$issuer \
    PROVIDER_TLS_CERT="$work/provider-cert.pem" PROVIDER_TLS_KEY="$work/provider-key.pem" \
    PROVIDER_RESOURCE=$DEVICE_URL PROVIDER_RESOURCE_MCP="$DEVICE_URL/mcp" \
    PROVIDER_REDIRECT_URIS="$DEVICE_URL/token" \
    "$root/tests/provider/node_modules/node/bin/node" "$root/tests/provider/provider.mjs" >"$work/provider.log" 2>&1 &
children+=($!)
wait_for_text "$work/provider.log" PROVIDER_READY 20

PA_CLIENT_SECRET=dev-secret-push-advisor PA_LOG=info "$PA_FIRMWARE" \
    --tap "$PA_TAP" --ip "$device_ip/24" --port "$device_port" --issuer "$issuer" \
    --client-id push-advisor --public-url "$DEVICE_URL" --ca-der "$work/ca.der" \
    >"$work/firmware.log" 2>&1 &
children+=($!)
wait_for_text "$work/firmware.log" "provider discovered" 20

filter=()
[[ -n ${MCP_TEST_NAME_PATTERN:-} ]] && filter=(--test-name-pattern "$MCP_TEST_NAME_PATTERN")
status=0
(cd "$root/tests/mcp-clients" &&
    MCP_TARGET_URL="$DEVICE_URL/mcp" MCP_PROVIDER_ISSUER=$issuer MCP_NETNS=$PA_NETNS \
        NODE_EXTRA_CA_CERTS="$work/ca.pem" \
        node --test --test-reporter=tap "${filter[@]}" mcp.test.mjs | tee "$work/node.log") ||
    status=$?
# Every case runs here (a skip would hide a client that silently stopped being tested).
if [[ $status -eq 0 && ${#filter[@]} -eq 0 ]] && grep -qE '^# skip(ped)? [1-9]' "$work/node.log"; then
    echo "mcp-clients.sh: node skipped cases; all must run against the TAP firmware" >&2
    status=1
fi
# The official MCP conformance suite's applicable server scenarios against the device.
(cd "$root/tests/conformance" &&
    MCP_TARGET_URL="$DEVICE_URL/mcp" MCP_PROVIDER_ISSUER=$issuer MCP_NETNS=$PA_NETNS \
        NODE_EXTRA_CA_CERTS="$work/ca.pem" \
        "$root/tests/provider/node_modules/node/bin/node" --test --test-reporter=tap conformance.test.mjs) || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- firmware log (tail) ---"
    tail -n 40 "$work/firmware.log"
fi
exit "$status"
