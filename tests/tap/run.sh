#!/usr/bin/env bash
# The device end-to-end tests: the linux-tap firmware (the Push Advisor app on
# embassy-net) and the real development provider, inside a network namespace this
# script creates and always deletes.
#
#   sudo tests/tap/run.sh                 # tests/e2e/device.rs, then one summary line
#   sudo tests/tap/run.sh -- CMD ARGS...  # any command in the namespace (sees the same env)
#
# The namespace holds only `lo` and a TAP device whose host side is 192.168.69.1/24;
# the firmware is 192.168.69.2 and the provider listens on 192.168.69.1:9000, so all
# traffic stays inside. Each test case starts its own provider and firmware.
# Env: PA_FIRMWARE (a built firmware; default: cargo build -p firmware-example),
# PA_PORT (the firmware's port, default 80), PA_TIMEOUT (seconds for the tests, default 150).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
namespace="pa-tap-$$"
host_ip=192.168.69.1
device_ip=192.168.69.2
port=${PA_PORT:-80}
limit=${PA_TIMEOUT:-150}
started=$SECONDS

if [[ $(id -u) -ne 0 ]]; then
    echo "tap: FAIL (needs root for ip netns and ip tuntap)" >&2
    exit 2
fi
for tool in ip timeout node cargo; do
    if ! command -v "$tool" >/dev/null; then
        echo "tap: FAIL ($tool is missing)" >&2
        exit 2
    fi
done
[[ ${1:-} == -- ]] && shift
if [[ ! -d $root/tests/provider/node_modules ]]; then
    (cd "$root/tests/provider" && npm ci --no-audit --no-fund --loglevel=error)
fi

# Built outside the namespace (cargo may need the network); only the results run inside.
if [[ -z ${PA_FIRMWARE:-} ]]; then
    (cd "$root" && cargo build --quiet --locked -p firmware-example)
    target_dir=$(cd "$root" && cargo metadata --format-version 1 --no-deps |
        sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
    PA_FIRMWARE="$target_dir/debug/firmware-example"
fi
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

log=$(mktemp)
status=0
timeout --kill-after=10 "$limit" ip netns exec "$namespace" env \
    DEVICE_URL="http://$device_ip$([[ $port == 80 ]] || echo ":$port")" \
    PA_FIRMWARE="$PA_FIRMWARE" PA_TAP=tap0 PA_HOST_IP="$host_ip" \
    "$@" 2>&1 | tee "$log" || status=$?
result=$(grep -oE 'test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | tail -n 1 || true)
rm -f "$log"
elapsed=$((SECONDS - started))
if [[ $status -eq 124 || $status -eq 137 ]]; then
    echo "tap: FAIL (timed out after ${limit} s)"
elif [[ -n $result ]]; then
    passed=$(sed -E 's/.* ([0-9]+) passed.*/\1/' <<<"$result")
    failed=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$result")
    echo "tap: $([[ $status -eq 0 ]] && echo PASS || echo FAIL) (device e2e: $passed passed, $failed failed, ${elapsed} s)"
else
    echo "tap: $([[ $status -eq 0 ]] && echo PASS || echo FAIL) (exit status $status, ${elapsed} s)"
fi
exit "$status"
