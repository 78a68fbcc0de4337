#!/usr/bin/env bash
# Size report of the NUCLEO-H743ZI2 firmware (profile `firmware`: opt-level z, LTO, one
# codegen unit, panic abort): flash (text + data) and static RAM (data + bss) from
# arm-none-eabi-size, built with 3 and with 4 listening sockets (`PA_SOCKETS`), so the
# difference is what one connection costs, split into the buffers lent to it
# (`MEMORY`), its share of the main task's future (`__embassy_main::POOL`) and its
# smoltcp socket slot (`RESOURCES`).
#
#   firmware-example/size-report.sh
#
# The board's build-time settings get placeholders here unless set (they change only a
# few bytes of strings): PA_PROVIDER_URL, PA_CLIENT_ID, PA_CLIENT_SECRET, PA_PUBLIC_URL.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! command -v arm-none-eabi-size >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq binutils-arm-none-eabi >/dev/null
fi

export PA_PROVIDER_URL=${PA_PROVIDER_URL:-http://auth.lan:9000}
export PA_CLIENT_ID=${PA_CLIENT_ID:-push-advisor}
export PA_CLIENT_SECRET=${PA_CLIENT_SECRET:-size-report-placeholder}
export PA_PUBLIC_URL=${PA_PUBLIC_URL:-http://nucleo.lan}

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
declare -A bss pool memory resources
for sockets in 3 4; do
    PA_SOCKETS=$sockets cargo build --quiet --locked --profile firmware \
        --target thumbv7em-none-eabihf -p firmware-example --no-default-features \
        --features nucleo-h743zi2
    read -r text data bss_size _ < <(arm-none-eabi-size "$elf" | awk 'NR == 2')
    bss[$sockets]=$bss_size
    pool[$sockets]=$(symbol_size "__embassy_main::POOL")
    memory[$sockets]=$(symbol_size "::MEMORY")
    resources[$sockets]=$(symbol_size "::RESOURCES")
    printf '%-8s %8d %6d %8d %8d %11d %14d %8d %9d\n' "$sockets" "$text" "$data" "$bss_size" \
        $((text + data)) $((data + bss_size)) "${pool[$sockets]}" "${memory[$sockets]}" \
        "${resources[$sockets]}"
done
per_connection=$((bss[4] - bss[3]))
lent=$((memory[4] - memory[3]))
future=$((pool[4] - pool[3]))
slot=$((resources[4] - resources[3]))
printf '\none connection: %d B of RAM = %d B lent buffers (TCP + core rx/tx) + %d B future + %d B socket slot\n' \
    "$per_connection" "$lent" "$future" "$slot"
