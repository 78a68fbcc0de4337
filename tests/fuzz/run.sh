#!/usr/bin/env bash
# Builds every fuzz target (libFuzzer through cargo-fuzz) and runs each for SECONDS,
# one after the other, on the committed seeds (seeds/<target>) plus a working corpus
# that grows between runs (corpus/<target>, not committed; logs in logs/<target>.log). Prints execs and crashes per
# target; exits non-zero when any target crashed (its input is in artifacts/<target>/).
#
#   tests/fuzz/run.sh 15                        # every target, 15 s each
#   tests/fuzz/run.sh 600 serve_app metadata    # some targets
#   FUZZ_MAX_RUNS=10000000 tests/fuzz/run.sh 600   # each stops at 10 M execs or 600 s
#   FUZZ_TOOLCHAIN=nightly FUZZ_SANITIZER=address tests/fuzz/run.sh 60   # with ASan
#
# The default needs no nightly toolchain: the project's stable toolchain with
# RUSTC_BOOTSTRAP=1 (cargo-fuzz passes -Z flags) and no sanitizer. The core is safe Rust
# (no `unsafe` of its own), so the fuzzing signal is panics and failed assertions, which
# need no sanitizer; ASan stays one variable away for a nightly toolchain.
set -euo pipefail
seconds=${1:?usage: run.sh SECONDS [TARGET...]}
shift
cd "$(dirname "$0")"
fuzz_dir=$(pwd)
cargo_fuzz_version=0.13.2
toolchain=${FUZZ_TOOLCHAIN:-stable}
sanitizer=${FUZZ_SANITIZER:-none}
export CARGO_TARGET_DIR=${FUZZ_TARGET_DIR:-$fuzz_dir/target}
[ "$toolchain" = stable ] && export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version 2>/dev/null | grep -q " $cargo_fuzz_version"; then
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

fuzz() { # command, then its arguments
  local command=$1
  shift
  cargo "+$toolchain" fuzz "$command" --fuzz-dir "$fuzz_dir" --sanitizer "$sanitizer" --debug-assertions "$@"
}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cargo "+$toolchain" fuzz list --fuzz-dir "$fuzz_dir")
  fuzz build 2>&1 | { grep -vE '^\s+(Compiling|Downloaded|Downloading)' || true; }
else
  for target in "${targets[@]}"; do fuzz build "$target"; done
fi

failed=0
printf '%-16s %12s %8s\n' target execs crashes
for target in "${targets[@]}"; do
  mkdir -p "corpus/$target" "artifacts/$target" logs
  log="logs/$target.log"
  before=$(find "artifacts/$target" -type f | wc -l)
  status=0
  fuzz run "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -runs="${FUZZ_MAX_RUNS:--1}" >"$log" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  crashes=$(( $(find "artifacts/$target" -type f | wc -l) - before ))
  if [ "$status" -ne 0 ] && [ "$crashes" -eq 0 ]; then crashes=1; fi
  printf '%-16s %12s %8s\n' "$target" "${execs:-?}" "$crashes"
  if [ "$crashes" -ne 0 ]; then
    failed=1
    grep -m1 -A12 -E "panicked|ERROR: libFuzzer|deadly signal" "$log" | sed 's/^/    /' || true
  fi
done
exit "$failed"
