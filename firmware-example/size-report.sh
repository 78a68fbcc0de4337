#!/usr/bin/env bash
# Builds the NUCLEO-H743ZI2 firmware (profile `firmware`: opt-level z, LTO, one
# codegen unit, panic abort) and prints flash (text + data) and static RAM
# (data + bss) from arm-none-eabi-size, for each extra feature set given
# (default: the plain board build; add `tls` once the adapter has TLS).
#
#   firmware-example/size-report.sh
#   PA_PROVIDER_URL=http://192.168.69.1:8000/ firmware-example/size-report.sh   # with the connector
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v arm-none-eabi-size >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq binutils-arm-none-eabi >/dev/null
fi

if [[ $# -eq 0 ]]; then
    set -- ""
fi

target_dir=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
elf="$target_dir/thumbv7em-none-eabihf/firmware/firmware-example"

printf '%-24s %10s %10s %10s %12s %12s\n' features text data bss flash static-ram
for extra in "$@"; do
    features="nucleo-h743zi2${extra:+,$extra}"
    cargo build --quiet --profile firmware --target thumbv7em-none-eabihf \
        -p firmware-example --no-default-features --features "$features"
    read -r text data bss _ < <(arm-none-eabi-size "$elf" | awk 'NR == 2')
    printf '%-24s %10d %10d %10d %12d %12d\n' "$features" "$text" "$data" "$bss" \
        $((text + data)) $((data + bss))
done
