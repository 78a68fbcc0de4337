#!/usr/bin/env bash
# Size report of the NUCLEO-H743ZI2 firmware (profile `firmware`: opt-level z, LTO, one
# codegen unit, panic abort): flash (text + data) and static RAM (data + bss) from
# arm-none-eabi-size, built with 3 and with 4 listening sockets (`PA_SOCKETS`), so the
# difference is what one connection costs, split into the buffers lent to it
# (`MEMORY`), its share of the main task's future (`__embassy_main::POOL`) and its
# smoltcp socket slot (`RESOURCES`); then the auth-only gateway (`--bin auth-gateway`:
# the OAuth and HTTP crates without the app and MCP, 4 sockets, row `gateway`), so the
# difference is what the app and MCP cost; then with 4 sockets and feature `tls` (row `4+tls`),
# so the difference is what outbound TLS costs, its record buffers (`TLS_RECORDS`) apart;
# then 4 sockets with feature `jwt` (row `4+jwt`: local JWT validation, RS256 and ES256)
# and `jwt-eddsa` (row `4+eddsa`: EdDSA too), so the differences are what each costs;
# then 4 sockets with a size-optimised `core` (row `4-small`: nightly-2026-05-20,
# `-Zbuild-std=core` with `optimize_for_size` and `panic=immediate-abort`, installed here
# if missing). Last, the issue's targets against these figures.
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

# The nightly whose `core` is rebuilt for size; pinned, so the figure is reproducible.
SMALL_TOOLCHAIN=nightly-2026-05-20
if ! rustup run "$SMALL_TOOLCHAIN" rustc --version >/dev/null 2>&1 ||
    ! rustup component list --toolchain "$SMALL_TOOLCHAIN" --installed | grep -q rust-src; then
    rustup toolchain install "$SMALL_TOOLCHAIN" --profile minimal --component rust-src >/dev/null
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
firmware_dir="$target_dir/thumbv7em-none-eabihf/firmware"

symbol_size() { # the size of the first symbol whose name ends with $1
    arm-none-eabi-nm -C -S -t d "$elf" | awk -v name="$1" '
        !found && substr($0, length($0) - length(name) + 1) == name { found = $2 + 0 }
        END { print found + 0 }'
}

printf '%-8s %8s %6s %8s %8s %11s %14s %8s %9s\n' sockets text data bss flash static-ram \
    main-task-pool memory resources
declare -A flash ram bss pool memory resources
for build in 3 4 gateway 4+tls 4+jwt 4+eddsa; do
    sockets=${build%+tls} binary=firmware-example features=nucleo-h743zi2 tls_env=()
    case $build in
    gateway) sockets=4 binary=auth-gateway ;;
    4+jwt) sockets=4 features=nucleo-h743zi2,jwt ;;
    4+eddsa) sockets=4 features=nucleo-h743zi2,jwt-eddsa ;;
    4+tls)
        features=nucleo-h743zi2,tls
        tls_env=(PA_PROVIDER_URL="${PA_PROVIDER_URL/#http:/https:}" PA_CA_DER_FILE="$PA_CA_DER_FILE")
        ;;
    esac
    elf="$firmware_dir/$binary"
    env "${tls_env[@]}" PA_SOCKETS="$sockets" cargo build --quiet --locked --profile firmware \
        --target thumbv7em-none-eabihf -p firmware-example --no-default-features \
        --features "$features" --bin "$binary"
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
    if [ "$build" = 4+tls ]; then records=$(symbol_size "::TLS_RECORDS"); fi
done

# The same 4-socket build with `core` rebuilt for size (its own target directory).
small_elf="$target_dir/size-small/thumbv7em-none-eabihf/firmware/firmware-example"
PA_SOCKETS=4 RUSTFLAGS="-Zunstable-options -Cpanic=immediate-abort" \
    cargo "+$SMALL_TOOLCHAIN" build --quiet --locked --profile firmware \
    --target thumbv7em-none-eabihf -p firmware-example --no-default-features \
    --features nucleo-h743zi2 --bin firmware-example -Zbuild-std=core \
    -Zbuild-std-features=optimize_for_size --target-dir "$target_dir/size-small"
read -r text data bss_size _ < <(arm-none-eabi-size "$small_elf" | awk 'NR == 2')
flash[4-small]=$((text + data))
ram[4-small]=$((data + bss_size))
printf '%-8s %8d %6d %8d %8d %11d\n' 4-small "$text" "$data" "$bss_size" \
    "${flash[4-small]}" "${ram[4-small]}"

per_connection=$((bss[4] - bss[3]))
lent=$((memory[4] - memory[3]))
future=$((pool[4] - pool[3]))
slot=$((resources[4] - resources[3]))
printf '\none connection: %d B of RAM = %d B lent buffers (TCP + core rx/tx) + %d B future + %d B socket slot\n' \
    "$per_connection" "$lent" "$future" "$slot"
printf 'tls: %d B of flash, %d B of RAM (%d B of it the record buffers of its workers)\n' \
    $((${flash[4+tls]} - ${flash[4]})) $((${ram[4+tls]} - ${ram[4]})) "$records"
printf 'the app and MCP (row 4 against the gateway): %d B of flash, %d B of RAM\n' \
    $((${flash[4]} - ${flash[gateway]})) $((${ram[4]} - ${ram[gateway]}))
printf 'jwt (RS256 + ES256, JWKS, claims): %d B of flash, %d B of RAM; EdDSA adds %d B of flash\n' \
    $((${flash[4+jwt]} - ${flash[4]})) $((${ram[4+jwt]} - ${ram[4]})) \
    $((${flash[4+eddsa]} - ${flash[4+jwt]}))

verdict() { if [ "$1" -le "$2" ]; then echo met; else echo "missed by $(($1 - $2)) B"; fi; }
beyond_tcp=$((per_connection - 2048)) # TCP buffers: 1 KiB each way (the board's `TCP_WINDOW`)
printf '\ntargets (4 connections, no TLS):\n'
printf '  flash <= 98304 B: %s (stable, %d B); %s (size-optimised core, %d B)\n' \
    "$(verdict "${flash[4]}" 98304)" "${flash[4]}" \
    "$(verdict "${flash[4-small]}" 98304)" "${flash[4-small]}"
printf '  static RAM <= 65536 B: %s (%d B)\n' "$(verdict "${ram[4]}" 65536)" "${ram[4]}"
printf '  RAM per connection beyond TCP buffers <= 4096 B: %s (%d B)\n' \
    "$(verdict "$beyond_tcp" 4096)" "$beyond_tcp"
printf '  jwt (RS256 + ES256) <= 49152 B more flash: %s (%d B)\n' \
    "$(verdict $((${flash[4+jwt]} - ${flash[4]})) 49152)" $((${flash[4+jwt]} - ${flash[4]}))
