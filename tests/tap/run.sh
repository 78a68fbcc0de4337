#!/usr/bin/env bash
# The device end-to-end tests: the linux-tap firmware (the Push Advisor app on
# embassy-net) and the auth-only gateway, against the real development provider, inside
# a network namespace this script creates and always deletes.
#
#   sudo tests/tap/run.sh                 # tests/e2e/device.rs, then the MCP clients
#                                         # (tests/tap/mcp-clients.sh), then one summary line
#   sudo tests/tap/run.sh -- CMD ARGS...  # any command in the namespace (sees the same env)
#
# The namespace holds only `lo` and a TAP device whose host side is 192.168.69.1/24;
# the firmware is 192.168.69.2 and the provider listens on 192.168.69.1:9000, so all
# traffic stays inside. Each test case starts its own provider and firmware.
# Env: PA_FIRMWARE (a built firmware with feature `tls`; default: cargo build -p
# firmware-example --features tls), PA_AUTH_GATEWAY (the auth-only gateway; default:
# the `auth-gateway` built beside PA_FIRMWARE),
# PA_PORT (the firmware's port, default 80), PA_TIMEOUT (seconds for the Rust tests,
# default 150), PA_MCP_TIMEOUT (seconds for the MCP clients and the conformance suite, default 120),
# MCP_TEST_NAME_PATTERN (run only the MCP client cases whose names match).
# Log lines to count: libtest's `test result: ...` for the Rust cases, node's
# `# pass N` / `# fail N` for the MCP client cases; last line `tap: PASS|FAIL (...)`.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
namespace="pa-tap-$$"
host_ip=192.168.69.1  # only inside the netns below
device_ip=192.168.69.2  # only inside the netns below
port=${PA_PORT:-80}
limit=${PA_TIMEOUT:-150}
mcp_limit=${PA_MCP_TIMEOUT:-120}
started=$SECONDS

if [[ $(id -u) -ne 0 ]]; then
    echo "tap: FAIL (needs root for ip netns and ip tuntap)" >&2
    exit 2
fi
for tool in ip timeout node npm cargo curl python3; do
    if ! command -v "$tool" >/dev/null; then
        echo "tap: FAIL ($tool is missing)" >&2
        exit 2
    fi
done
[[ ${1:-} == -- ]] && shift
if [[ ! -d $root/tests/provider/node_modules ]]; then
    (cd "$root/tests/provider" && npm ci --no-audit --no-fund --loglevel=error)
fi
run_mcp_clients=$([[ $# -eq 0 ]] && echo yes || echo no)
if [[ $run_mcp_clients == yes ]]; then
    # Everything the MCP clients need from the network is fetched here, outside.
    mcp_dir=$root/tests/mcp-clients
    if [[ ! -d $mcp_dir/node_modules ]]; then
        (cd "$mcp_dir" && npm ci --no-audit --no-fund --loglevel=error)
    fi
    pinned=$(sed -n 's/^mcp==//p' "$mcp_dir/requirements.txt")
    venv_python=$mcp_dir/.venv/bin/python
    if [[ ! -x $venv_python ]] ||
        [[ $("$venv_python" -c 'import importlib.metadata as m; print(m.version("mcp"))' 2>/dev/null) != "$pinned" ]]; then
        python3 -m venv "$mcp_dir/.venv"
        "$venv_python" -m pip install --quiet --disable-pip-version-check -r "$mcp_dir/requirements.txt"
    fi
    # The Rust SDK (rmcp) case runs this example; mcp.test.mjs looks in <repo>/target/debug/examples.
    (cd "$root" && cargo build --quiet --locked -p push-advisor-tower --example rmcp_client)
fi

# Built outside the namespace (cargo may need the network); only the results run inside.
if [[ -z ${PA_FIRMWARE:-} ]]; then
    (cd "$root" && cargo build --quiet --locked -p firmware-example --features tls,jwt)
    target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    PA_FIRMWARE="$target_dir/debug/firmware-example"
fi
PA_AUTH_GATEWAY=${PA_AUTH_GATEWAY:-$(dirname "$PA_FIRMWARE")/auth-gateway}
if [[ $# -eq 0 ]]; then
    test_binary=$(cd "$root" && cargo test --quiet --locked -p push-advisor-tests --test device \
        --no-run --message-format=json |
        sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -n 1)
    [[ -x $test_binary ]] || {
        echo "tap: FAIL (the device test binary was not built)" >&2
        exit 1
    }
    set -- "$test_binary" --include-ignored --test-threads=1
fi

in_namespace() { ip netns exec "$namespace" "$@"; }

cleanup() {
    local status=$? pid
    # Whatever still runs in the namespace (a provider or firmware left by a killed
    # test) was started by this script: end it by id, then delete the namespace.
    for pid in $(ip netns pids "$namespace" 2>/dev/null); do
        kill -KILL "$pid" 2>/dev/null || true
    done
    ip netns del "$namespace" 2>/dev/null || true
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

ip netns add "$namespace"
in_namespace ip link set lo up
in_namespace ip tuntap add name tap0 mode tap
in_namespace ip addr add "$host_ip/24" dev tap0
in_namespace ip link set tap0 up

# Runs "$@" in the namespace with the test environment, at most $1 seconds, output to the
# terminal and to $log; returns the command's status.
log=$(mktemp)
in_namespace_bounded() {
    local seconds=$1 status=0
    shift
    timeout --kill-after=10 "$seconds" ip netns exec "$namespace" env \
        DEVICE_URL="http://$device_ip$([[ $port == 80 ]] || echo ":$port")" \
        PA_FIRMWARE="$PA_FIRMWARE" PA_AUTH_GATEWAY="$PA_AUTH_GATEWAY" \
        PA_TAP=tap0 PA_HOST_IP="$host_ip" PA_NETNS="$namespace" \
        "$@" 2>&1 | tee -a "$log" || status=$?
    return "$status"
}

# One summary part: "$1: N passed, M failed" from the log, or why there is none.
summarize() {
    local name=$1 status=$2 seconds=$3 passed failed
    if [[ $status -eq 124 || $status -eq 137 ]]; then
        echo "$name: timed out after $seconds s"
    elif [[ $name == "mcp clients" ]] && grep -qE '^# pass [0-9]+' "$log"; then
        # The MCP clients' run and the conformance suite's run each print their counts.
        passed=$(grep -oE '^# pass [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
        failed=$(grep -oE '^# fail [0-9]+' "$log" | awk '{s+=$3} END {print s+0}')
        echo "$name: $passed passed, ${failed:-0} failed"
    elif [[ $name != "mcp clients" ]] &&
        result=$(grep -oE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | tail -n 1) &&
        [[ -n $result ]]; then
        passed=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$result")
        failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$result")
        echo "$name: $passed passed, $failed failed"
    else
        echo "$name: exit status $status"
    fi
}

status=0
rust_status=0
in_namespace_bounded "$limit" "$@" || rust_status=$?
summary=$(summarize "device e2e" "$rust_status" "$limit")
[[ $rust_status -eq 0 ]] || status=$rust_status
if [[ $run_mcp_clients == yes ]]; then
    : >"$log"
    mcp_status=0
    in_namespace_bounded "$mcp_limit" bash "$here/mcp-clients.sh" || mcp_status=$?
    summary+="; $(summarize "mcp clients" "$mcp_status" "$mcp_limit")"
    [[ $status -ne 0 ]] || status=$mcp_status
fi
rm -f "$log"
echo "tap: $([[ $status -eq 0 ]] && echo PASS || echo FAIL) ($summary, $((SECONDS - started)) s)"
exit "$status"
