#!/usr/bin/env bash
# Runs the linux-tap firmware inside a network namespace this script creates and
# always deletes, then runs a test command inside the same namespace.
#
#   sudo tests/tap/run.sh                 # default checks (tests/tap/checks.sh)
#   sudo tests/tap/run.sh -- CMD ARGS...  # any command; it sees DEVICE_URL, FIRMWARE_LOG
#
# Traffic stays in the namespace: it holds only `lo` and the TAP device, whose
# host side is 192.168.69.1/24 and whose device side is the firmware (192.168.69.2).
# Env: PA_FIRMWARE (a built firmware binary; else `cargo build -p firmware-example`),
# PA_PORT (default 80), PA_LOG (firmware log level), PA_PROVIDER_URL (where the
# firmware learns wall time; the default checks serve one at 192.168.69.1:8000).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
namespace="pa-tap-$$"
host_ip=192.168.69.1
device_ip=192.168.69.2
port=${PA_PORT:-80}
log="${TMPDIR:-/tmp}/$namespace-firmware.log"
firmware_pid=

if [[ $(id -u) -ne 0 ]]; then
    echo "run.sh: needs root (ip netns, ip tuntap)" >&2
    exit 2
fi
[[ ${1:-} == -- ]] && shift
if [[ $# -eq 0 ]]; then
    set -- bash "$here/checks.sh"
    # checks.sh serves this (a plain HTTP server, for its Date header) inside the namespace.
    export PA_PROVIDER_URL=${PA_PROVIDER_URL:-http://192.168.69.1:8000/}
fi

if [[ -z ${PA_FIRMWARE:-} ]]; then
    (cd "$root" && cargo build --quiet -p firmware-example)
    target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    PA_FIRMWARE="$target_dir/debug/firmware-example"
fi

cleanup() {
    local status=$?
    if [[ -n $firmware_pid ]]; then
        kill "$firmware_pid" 2>/dev/null || true
        wait "$firmware_pid" 2>/dev/null || true
    fi
    ip netns del "$namespace" 2>/dev/null || true
    if [[ $status -ne 0 && -s $log ]]; then
        echo "--- firmware log (last 30 lines) ---" >&2
        tail -n 30 "$log" >&2
    fi
    rm -f "$log"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_namespace() { ip netns exec "$namespace" "$@"; }

ip netns add "$namespace"
in_namespace ip link set lo up
in_namespace ip tuntap add name tap0 mode tap
in_namespace ip addr add "$host_ip/24" dev tap0
in_namespace ip link set tap0 up

in_namespace "$PA_FIRMWARE" --tap tap0 --ip "$device_ip/24" --port "$port" >"$log" 2>&1 &
firmware_pid=$!

export DEVICE_URL="http://$device_ip:$port" FIRMWARE_LOG="$log"
ready=
for _ in $(seq 1 50); do
    if in_namespace curl -sf --max-time 1 -o /dev/null "$DEVICE_URL/vibe-check"; then
        ready=1
        break
    fi
    kill -0 "$firmware_pid" 2>/dev/null || break
    sleep 0.2
done
if [[ -z $ready ]]; then
    echo "run.sh: firmware did not answer on $DEVICE_URL" >&2
    exit 1
fi

in_namespace "$@"
