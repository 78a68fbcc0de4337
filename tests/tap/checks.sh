#!/usr/bin/env bash
# Default checks against the linux-tap firmware (run inside the namespace by run.sh).
# The firmware has 4 listening sockets; /slow?ms=N holds one for N ms.
set -uo pipefail

url=${DEVICE_URL:?run me through tests/tap/run.sh}
trap "" PIPE # a write to a connection the device reset must fail, not kill us
passed=0
failed=0
check() {
    local name=$1
    shift
    if "$@"; then
        echo "ok   $name"
        passed=$((passed + 1))
    else
        echo "FAIL $name"
        failed=$((failed + 1))
    fi
}

vibe_check_answers_json() {
    local out
    out=$(curl -s --max-time 5 -w '\n%{http_code} %{content_type}' "$url/vibe-check") || return 1
    [[ $(tail -n 1 <<<"$out") == "200 application/json" ]] &&
        grep -q '"vibe":"immaculate"' <<<"$out" &&
        grep -q '"unix_time":null' <<<"$out" # no wall time learned yet
}

unknown_path_is_404() {
    [[ $(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$url/nope") == 404 ]]
}

keep_alive_serves_two_requests_on_one_connection() {
    local out
    out=$(curl -s --max-time 5 -w '%{num_connects}\n' "$url/vibe-check" -o /dev/null \
        "$url/vibe-check" -o /dev/null) || return 1
    [[ $out == $'1\n0' ]]
}

# 16 clients against 4 sockets, each held 1 s: every one is answered (none refused),
# and it takes at least 4 rounds, so no more than 4 were served at once.
sixteen_clients_are_queued_not_refused() {
    local dir start elapsed codes
    dir=$(mktemp -d)
    start=$(date +%s%N)
    for i in $(seq 1 16); do
        curl -s --max-time 40 -o /dev/null -w '%{http_code}\n' "$url/slow?ms=1000" \
            >"$dir/$i" 2>/dev/null &
    done
    wait
    elapsed=$((($(date +%s%N) - start) / 1000000))
    codes=$(cat "$dir"/* | sort | uniq -c | tr -s ' ')
    rm -rf "$dir"
    echo "     16 clients: answers [$codes] in $elapsed ms"
    [[ $codes == " 16 200" ]] && ((elapsed >= 4000))
}

# After the burst all 4 sockets listen again: 4 held requests run side by side.
all_four_sockets_accept_again() {
    local dir start elapsed codes
    dir=$(mktemp -d)
    start=$(date +%s%N)
    for i in 1 2 3 4; do
        curl -s --max-time 10 -o /dev/null -w '%{http_code}\n' "$url/slow?ms=1000" \
            >"$dir/$i" 2>/dev/null &
    done
    wait
    elapsed=$((($(date +%s%N) - start) / 1000000))
    codes=$(cat "$dir"/* | sort | uniq -c | tr -s ' ')
    rm -rf "$dir"
    echo "     4 clients: answers [$codes] in $elapsed ms"
    [[ $codes == " 4 200" ]] && ((elapsed < 1900))
}

# Seconds until the device closes a connection given by fd 3 (EOF or reset).
seconds_until_closed() {
    local start=$SECONDS
    while read -r -t 20 -u 3 _; do :; done 2>/dev/null
    echo $((SECONDS - start))
}

# A keep-alive connection with no request is closed after the idle timeout (5 s).
idle_connection_is_closed_after_idle_timeout() {
    local host=${url#http://} took
    exec 3<>"/dev/tcp/${host%:*}/${host##*:}" || return 1
    took=$(seconds_until_closed)
    exec 3<&-
    echo "     idle connection closed after ${took} s"
    ((took >= 4 && took <= 7))
}

# A request trickled one header line a second is cut at the request deadline
# (10 s from its first byte), although every single read makes progress.
trickled_request_is_cut_at_request_deadline() {
    local host=${url#http://} start took
    exec 3<>"/dev/tcp/${host%:*}/${host##*:}" || return 1
    start=$SECONDS
    printf 'GET /vibe-check HTTP/1.1\r\n' >&3
    for i in $(seq 1 20); do
        sleep 1
        printf 'X-Slow-%d: 1\r\n' "$i" >&3 2>/dev/null || break
    done
    took=$((SECONDS - start))
    exec 3<&-
    echo "     trickled request cut after ${took} s"
    ((took >= 9 && took <= 13))
}

# The firmware learns wall time from the Date header of $PA_PROVIDER_URL (a Python
# http.server here, bound to the namespace's side of the TAP link) through the
# adapter's outbound connector.
wall_time_is_learned_from_a_date_header() {
    local server answer device_time now
    python3 -m http.server 8000 --bind 192.168.69.1 >/dev/null 2>&1 &
    server=$!
    for _ in $(seq 1 40); do
        answer=$(curl -s --max-time 2 "$url/vibe-check")
        device_time=$(sed -n 's/.*"unix_time":\([0-9]*\).*/\1/p' <<<"$answer")
        [[ -n $device_time ]] && break
        sleep 0.25
    done
    kill "$server" 2>/dev/null
    wait "$server" 2>/dev/null
    now=$(date +%s)
    echo "     device unix_time ${device_time:-null}, host $now"
    [[ -n $device_time ]] && ((device_time >= now - 5 && device_time <= now + 1))
}

check "GET /vibe-check answers JSON" vibe_check_answers_json
check "unknown path is 404" unknown_path_is_404
check "keep-alive serves two requests on one connection" keep_alive_serves_two_requests_on_one_connection
check "16 clients on 4 sockets are queued, not refused" sixteen_clients_are_queued_not_refused
check "all 4 sockets accept again" all_four_sockets_accept_again
check "idle connection is closed after the idle timeout" idle_connection_is_closed_after_idle_timeout
check "trickled request is cut at the request deadline" trickled_request_is_cut_at_request_deadline
check "wall time is learned from a Date header" wall_time_is_learned_from_a_date_header

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
