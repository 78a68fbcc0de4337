#!/usr/bin/env bash
# Size report of the NUCLEO-H743ZI2 firmware (profile `firmware`: opt-level z, LTO, one
# codegen unit, panic abort): flash (text + data) and static RAM (data + bss) from
# arm-none-eabi-size, built with 3 and with 4 listening sockets (`PA_SOCKETS`), so the
# difference is what one connection costs, split into the buffers lent to it
# (`MEMORY`), its share of the main task's future (`__embassy_main::POOL`) and its
# smoltcp socket slot (`RESOURCES`); then with 4 sockets and feature `tls` (row `4+tls`),
# so the difference is what outbound TLS costs, its record buffers (`TLS_RECORDS`) apart.
#
#   firmware-example/size-report.sh
#
# The board's build-time settings get placeholders here unless set (they change only a
# few bytes of strings): PA_PROVIDER_URL, PA_CLIENT_ID, PA_CLIENT_SECRET, PA_PUBLIC_URL;
# the `tls` build takes the provider URL as `https` and PA_CA_DER_FILE, or else a
# throw-away self-signed certificate made here (openssl).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v arm-none-eabi-size >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq binutils-arm-none-eabi >/dev/null
fi
if [ -z "${PA_CA_DER_FILE:-}" ] && ! command -v openssl >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq openssl >/dev/null
fi

export PA_PROVIDER_URL=${PA_PROVIDER_URL:-http://auth.lan:9000}
export PA_CLIENT_ID=${PA_CLIENT_ID:-push-advisor}
export PA_CLIENT_SECRET=${PA_CLIENT_SECRET:-size-report-placeholder}
export PA_PUBLIC_URL=${PA_PUBLIC_URL:-http://nucleo.lan}
if [ -z "${PA_CA_DER_FILE:-}" ]; then
    scratch=$(mktemp -d)
    trap 'rm -rf "$scratch"' EXIT
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=size-report-ca -keyout "$scratch/ca.key" -outform DER \
        -out "$scratch/ca.der" 2>/dev/null
    PA_CA_DER_FILE=$scratch/ca.der
fi

target_dir=$(cargo metadata --format-version 1 --no-deps |
    sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')
elf="$target_dir/thumbv7em-none-eabihf/firmware/firmware-example"

symbol_size() { # the size of the first symbol whose name ends with $1
    arm-none-eabi-nm -C -S -t d "$elf" | awk -v name="$1" '
        !found && substr($0, length($0) - length(name) + 1) == name { found = $2 + 0 }
        END { print found + 0 }'
}

printf '%-8s %8s %6s %8s %8s %11s %14s %8s %9s\n' sockets text data bss flash static-ram \
    main-task-pool memory resources
declare -A flash ram bss pool memory resources
for build in 3 4 4+tls; do
    sockets=${build%+tls}
    if [ "$build" = 4+tls ]; then
        PA_PROVIDER_URL=${PA_PROVIDER_URL/#http:/https:} PA_CA_DER_FILE=$PA_CA_DER_FILE \
            PA_SOCKETS=$sockets cargo build --quiet --locked --profile firmware \
            --target thumbv7em-none-eabihf -p firmware-example --no-default-features \
            --features nucleo-h743zi2,tls
    else
        PA_SOCKETS=$sockets cargo build --quiet --locked --profile firmware \
            --target thumbv7em-none-eabihf -p firmware-example --no-default-features \
            --features nucleo-h743zi2
    fi
    read -r text data bss_size _ < <(arm-none-eabi-size "$elf" | awk 'NR == 2')
    flash[$build]=$((text + data))
    ram[$build]=$((data + bss_size))
    bss[$build]=$bss_size
    pool[$build]=$(symbol_size "__embassy_main::POOL")
    memory[$build]=$(symbol_size "::MEMORY")
    resources[$build]=$(symbol_size "::RESOURCES")
    printf '%-8s %8d %6d %8d %8d %11d %14d %8d %9d\n' "$build" "$text" "$data" "$bss_size" \
        "${flash[$build]}" "${ram[$build]}" "${pool[$build]}" "${memory[$build]}" \
        "${resources[$build]}"
done
records=$(symbol_size "::TLS_RECORDS")
per_connection=$((bss[4] - bss[3]))
lent=$((memory[4] - memory[3]))
future=$((pool[4] - pool[3]))
slot=$((resources[4] - resources[3]))
printf '\none connection: %d B of RAM = %d B lent buffers (TCP + core rx/tx) + %d B future + %d B socket slot\n' \
    "$per_connection" "$lent" "$future" "$slot"
printf 'tls: %d B of flash, %d B of RAM (%d B of it the record buffers of its workers)\n' \
    $((${flash[4+tls]} - ${flash[4]})) $((${ram[4+tls]} - ${ram[4]})) "$records"
