#!/usr/bin/env bash
# Latency benchmark of the gateway paths (not a test), on loopback, in one run:
#   1. nginx in front of a trivial upstream, with and without auth_request to the release
#      push-advisor (forward auth, cached token): what forward auth adds per request;
#   2. the axum example of push-advisor-tower (release): a bare route outside the layer
#      and a protected route with a cached token: what the tower layer adds per request.
# nginx runs gateways/nginx/nginx.conf, plus a `location /bare/` without auth_request and
# the upstream as a second server block of the same nginx (it answers "ok").
#
#   tests/bench/gateways.sh          # 16 connections, 10 s per scenario
#   DURATION=30s CONNECTIONS=64 tests/bench/gateways.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
source tests/bench/common.sh
duration=${DURATION:-10s}
connections=${CONNECTIONS:-16}
threads=${THREADS:-2}

bench_install wrk nginx
cargo build --release --locked -p host-example
cargo build --release --locked -p push-advisor-tower --example axum_app

work=$bench_work
gateway=$(bench_free_port); server=$(bench_free_port); upstream=$(bench_free_port); axum=$(bench_free_port)
gateway_url="http://127.0.0.1:$gateway"
axum_url="http://127.0.0.1:$axum"

bench_start_provider "$gateway_url" "$axum_url"

PUSH_ADVISOR_BIND=127.0.0.1:$server PUSH_ADVISOR_PUBLIC_URL=$gateway_url PUSH_ADVISOR_ISSUER=$issuer \
  PUSH_ADVISOR_CLIENT_SECRET=dev-secret-push-advisor PUSH_ADVISOR_FORWARD_AUTH_PATH=/auth \
  PUSH_ADVISOR_FORWARD_AUTH_RULES=/=api:read PUSH_ADVISOR_LOG=warn "$bench_target/release/push-advisor" &
bench_pids+=($!)
# The axum example's resource is its own URL (the provider's second resource above).
BIND=127.0.0.1:$axum ISSUER=$issuer CLIENT_SECRET=dev-secret-push-advisor \
  "$bench_target/release/examples/axum_app" >/dev/null &
bench_pids+=($!)

sed -e "s/127.0.0.1:8080/127.0.0.1:$gateway/; s/127.0.0.1:8787/127.0.0.1:$server/; s/127.0.0.1:3000/127.0.0.1:$upstream/" \
  -e "s#^http {#http {\n    access_log off;\n    client_body_temp_path $work/body;\n    proxy_temp_path $work/proxy;\n    fastcgi_temp_path $work/fastcgi;\n    uwsgi_temp_path $work/uwsgi;\n    scgi_temp_path $work/scgi;\n    server { listen 127.0.0.1:$upstream; location / { return 200 \"ok\\\\n\"; } }#" \
  -e "s#^        location / {#        location /bare/ {\n            proxy_http_version 1.1;\n            proxy_set_header Connection \"\";\n            proxy_pass http://app;\n        }\n\n        location / {#" \
  gateways/nginx/nginx.conf >"$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -e "$work/error.log" -g "daemon off; pid $work/nginx.pid;" &
bench_pids+=($!)

wait_for() { for _ in $(seq 150); do [ "$(curl -s -o /dev/null -w '%{http_code}' "${@:2}" "$1")" = 200 ] && return; sleep 0.1; done; echo "no 200 from $1"; exit 1; }
wait_for "$gateway_url/bare/x"
gateway_token=$(bench_token "$gateway_url")
axum_token=$(bench_token "$axum_url")
wait_for "$gateway_url/protected" -H "Authorization: Bearer $gateway_token"
wait_for "$axum_url/api/things" -H "Authorization: Bearer $axum_token"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$gateway_url/protected")" = 401 ] || { echo "nginx does not check tokens"; exit 1; }

bench() { # name url [token]
  echo "== $1: $connections connections, $duration, GET $2"
  local auth=()
  [ -n "${3:-}" ] && auth=(-H "Authorization: Bearer $3")
  wrk -t"$threads" -c"$connections" -d"$duration" --latency "${auth[@]}" "$2" |
    grep -E "Requests/sec|^ +50%|^ +90%|^ +99%|Non-2xx|Socket errors"
}

bench "nginx, no auth_request" "$gateway_url/bare/x" "$gateway_token"
bench "nginx + auth_request to push-advisor, cached token" "$gateway_url/protected" "$gateway_token"
bench "axum, bare route (outside the layer)" "$axum_url/bare"
bench "axum, protected route (layer, cached token)" "$axum_url/api/things" "$axum_token"
