#!/usr/bin/env bash
# Runs every test of the project on a fresh machine: installs what it needs, then checks
# formatting and lints, builds the core for embedded targets, runs the Rust tests, the
# end-to-end tests against a real oidc-provider, the MCP client tests and the TAP firmware tests.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT

step() { printf '\n==> %s\n' "$*"; }

step "Rust targets for embedded builds"
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imc-unknown-none-elf >/dev/null

step "Debian packages (only those missing)"
missing=()
for pkg_cmd in "openssl:openssl" "curl:curl" "iproute2:ip" "binutils-arm-none-eabi:arm-none-eabi-size" "qemu-user:qemu-arm" \
  "nginx:nginx" "caddy:caddy" "chromium:chromium"; do
  pkg=${pkg_cmd%%:*}; cmd=${pkg_cmd#*:}
  command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "npm packages of the development provider (Node 22 among them)"
(cd tests/provider && npm ci --no-audit --no-fund --loglevel=error)

step "Python tools of the tests (pinned: OpenMetrics parser, schemathesis, nanoidp as a second provider)"
[ -x tests/python/.venv/bin/python ] || python3 -m venv tests/python/.venv
tests/python/.venv/bin/python -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt

step "Formatting and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p push-advisor-oauth --all-targets --locked --features jwt,jwt-eddsa,jwt-ps256 -- -D warnings

step "Core builds for microcontrollers (no_std, no alloc)"
# Each crate alone, so a feature or dependency another crate would pull in cannot hide a gap.
for target in thumbv7em-none-eabihf thumbv6m-none-eabi riscv32imc-unknown-none-elf; do
  for crate in push-advisor-http push-advisor-oauth push-advisor-mcp push-advisor-app; do
    cargo build --locked -p "$crate" --target "$target"
    echo "$crate builds for $target"
  done
  cargo build --locked -p push-advisor-oauth --features jwt,jwt-eddsa,jwt-ps256 --target "$target"
  echo "push-advisor-oauth with every JWS algorithm builds for $target"
done

step "Firmware for the NUCLEO-H743ZI2 board (size report)"
bash firmware-example/size-report.sh

step "The board's assembly memcpy/memmove/memset/memcmp, run under qemu-arm"
bash firmware-example/mem-check/run.sh

step "Building the push-advisor binary and the rmcp examples (server, 2026-07-28 client) for the end-to-end tests"
cargo build --locked -p host-example
cargo build --locked -p push-advisor-tower --example rmcp_server --example rmcp_client

step "Rust tests (unit, core, adapters, end-to-end against oidc-provider)"
cargo test --workspace --locked 2>&1 | tee "$log_dir/cargo-test.log"

step "JWS signatures: RFC 7515/8037 examples and Wycheproof vectors (counts per file)"
cargo test --locked -p push-advisor-oauth --features jwt,jwt-eddsa,jwt-ps256 --test jws_signature --test jws_wycheproof -- --nocapture 2>&1 | tee "$log_dir/cargo-test-jws.log"

step "Fuzz targets (cargo-fuzz, libFuzzer on stable with RUSTC_BOOTSTRAP): 5 s each from the committed seeds"
bash tests/fuzz/run.sh 5 2>&1 | tee "$log_dir/fuzz.log"

step "demo.sh: the provider on Node 22, and any signal stops everything it started"
node --test tests/demo.test.mjs 2>&1 | tee "$log_dir/node-demo.log"

step "Provider smoke test"
(cd tests/provider && node_modules/node/bin/node --test smoke.mjs) 2>&1 | tee "$log_dir/node-provider.log"

step "MCP clients (TypeScript SDK 1.x and client v2, Python SDK, rmcp, Inspector CLI) against push-advisor, and the TypeScript SDK against the rmcp example behind the tower layer"
(cd tests/mcp-clients && npm ci --no-audit --no-fund --loglevel=error && node --test mcp.test.mjs rmcp.test.mjs) 2>&1 | tee "$log_dir/node-mcp.log"

step "MCP conformance suite (pinned; server scenarios) against push-advisor"
(cd tests/conformance && npm ci --no-audit --no-fund --loglevel=error && ../provider/node_modules/node/bin/node --test conformance.test.mjs) 2>&1 | tee "$log_dir/node-conformance.log"

step "A real browser (Debian's chromium, puppeteer-core): /login, provider, /token"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error && ../provider/node_modules/node/bin/node --test browser.test.mjs) 2>&1 | tee "$log_dir/node-browser.log"

step "Firmware on a Linux TAP inside a network namespace, with the real provider"
bash tests/tap/run.sh 2>&1 | tee "$log_dir/tap.log"

passed=$(grep -hoE 'test result: [a-z]+\. [0-9]+ passed' "$log_dir"/cargo-test*.log | awk '{s+=$4} END {print s+0}')
failed=$(grep -hoE 'test result: [a-z]+\. [0-9]+ passed; [0-9]+ failed' "$log_dir"/cargo-test*.log | awk '{s+=$6} END {print s+0}')
node_passed=$(grep -hoE '^# pass [0-9]+' "$log_dir"/node-*.log "$log_dir"/tap.log | awk '{s+=$3} END {print s+0}')
node_failed=$(grep -hoE '^# fail [0-9]+' "$log_dir"/node-*.log "$log_dir"/tap.log | awk '{s+=$3} END {print s+0}')
tap_passed=$(grep -hoE 'test result: [a-z]+\. [0-9]+ passed' "$log_dir"/tap.log | awk '{s+=$4} END {print s+0}')
tap_failed=$(grep -hoE 'test result: [a-z]+\. [0-9]+ passed; [0-9]+ failed' "$log_dir"/tap.log | awk '{s+=$6} END {print s+0}')
printf '\nAll steps passed in %d s.\n%d passed, %d failed\n' "$SECONDS" \
  "$((passed + node_passed + tap_passed))" "$((failed + node_failed + tap_failed))"
