#!/usr/bin/env bash
# Runs the board's memcpy/memmove/memset/memcmp (`src/board/armv7m_mem.s`) and 64-bit
# division (`src/board/armv7m_uldivmod.s`, both assembled for
# thumbv7em) against byte-by-byte expectations under qemu-arm, every combination of
# source and destination alignment (0-3) and length (0-39), overlapping moves both ways,
# and divisions of every width against a bit-by-bit reference.
# Installs qemu-user if missing. Prints `mem-check: PASS (N checks)` or exits non-zero.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v qemu-arm >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-user >/dev/null
fi
cd "$here"
cargo build --quiet --release --target thumbv7em-none-eabihf
target_dir=${CARGO_TARGET_DIR:-$here/target}
status=0
qemu-arm "$target_dir/thumbv7em-none-eabihf/release/armv7m-mem-check" || status=$?
if [ "$status" -ne 0 ]; then
    echo "mem-check: FAIL (exit $status: 1 + the number of wrong results, at most 201)" >&2
    exit 1
fi
echo "mem-check: PASS"
