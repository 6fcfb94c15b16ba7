#!/usr/bin/env bash
# The connectivity monitor and the TLS host link against real kernel networking, in network namespaces of their own:
# a "terminal" namespace with veth links NAMED like the board's (wlan0, wwan0; default routes metric 600 / 700, as
# NetworkManager sets them) and a "host" namespace holding their peers and a mutual-TLS echo server. The script
# toggles links and routes and checks what `termtool link watch` reports and whether `termtool tls-exchange` gets
# through. Needs root (ip netns); without it the script reports 0 checks and succeeds. All traffic stays inside the
# two namespaces, which are removed on exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
termtool=${TERMTOOL:-$PWD/.build/debug/termtool}
pass=0
fail=0
check() { # description, then a command that must succeed
    local what=$1; shift
    if "$@"; then echo "  ok: $what"; pass=$((pass + 1)); else echo "  FAILED: $what"; fail=$((fail + 1)); fi
}
finish() { echo "netns-link: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || [ ! -x "$termtool" ]; then
    echo "netns-link: skipped (needs root, iproute2 and a built termtool)"
    finish
fi
tns=ptl-term-$$
hns=ptl-host-$$
tmp=$(mktemp -d /tmp/netns-link-XXXXXX)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    ip netns del "$tns" 2>/dev/null
    ip netns del "$hns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
if ! ip netns add "$tns" || ! ip netns add "$hns"; then
    echo "netns-link: cannot create network namespaces here"
    fail=1
    finish
fi
T() { ip -n "$tns" "$@"; }
H() { ip -n "$hns" "$@"; }

# Links: wlan0 <-> wlan0h (10.61.1.0/24), wwan0 <-> wwan0h (10.61.2.0/24); the acquirer at 10.61.9.1 on the host's lo.
T link add wlan0 type veth peer name wlan0h netns "$hns"
T link add wwan0 type veth peer name wwan0h netns "$hns"
T link set lo up
H link set lo up
T addr add 10.61.1.2/24 dev wlan0
T addr add 10.61.2.2/24 dev wwan0
H addr add 10.61.1.1/24 dev wlan0h
H addr add 10.61.2.1/24 dev wwan0h
H addr add 10.61.9.1/32 dev lo
for l in wlan0h wwan0h; do H link set "$l" up; done
for l in wlan0 wwan0; do T link set "$l" up; done
T route add default via 10.61.1.1 dev wlan0 metric 600
T route add default via 10.61.2.1 dev wwan0 metric 700

# waits until FILE has N lines (10 s at most)
wait_lines() {
    local file=$1 n=$2 i
    for i in $(seq 1 200); do
        [ "$(cat "$file" 2>/dev/null | wc -l)" -ge "$n" ] && return 0
        sleep 0.05
    done
    return 1
}
line_is() { [ "$(sed -n "$2p" "$1")" = "$3" ]; }

echo "== link states"
watch=$tmp/watch.log
ip netns exec "$tns" "$termtool" link watch --wifi wlan0 --cellular wwan0 --count 4 --timeout 30 >"$watch" 2>&1 &
pids+=($!)
wait_lines "$watch" 1
check "both links with default routes: online via wifi" line_is "$watch" 1 "online via wifi (wlan0)"
T link set wlan0 down
wait_lines "$watch" 2
check "wlan0 down: online via cellular, metered" line_is "$watch" 2 "online via cellular (wwan0, metered)"
T link set wwan0 down
wait_lines "$watch" 3
check "wwan0 down too: offline" line_is "$watch" 3 "offline"
T link set wlan0 up
sleep 0.3
check "wlan0 up without a default route: still offline (no new line)" [ "$(wc -l <"$watch")" -eq 3 ]
T route add default via 10.61.1.1 dev wlan0 metric 600
wait_lines "$watch" 4
check "wlan0 up with its route: online via wifi" line_is "$watch" 4 "online via wifi (wlan0)"
check "the watcher printed exactly the four states and ended" wait "${pids[0]}"
check "no other line in between" [ "$(wc -l <"$watch")" -eq 4 ]

echo "== TLS host link through the namespaces"
pki=$tmp/pki
"$termtool" tls-pki --out "$pki" --server-name 10.61.9.1 --client-name TID-NETNS >/dev/null
ip netns exec "$hns" "$termtool" tls-echo-server --pki "$pki" --address 0.0.0.0 --port 8583 >"$tmp/server.log" 2>&1 &
pids+=($!)
wait_lines "$tmp/server.log" 1
exchange() { ip netns exec "$tns" "$termtool" tls-exchange --pki "$pki" --host 10.61.9.1 --port 8583 --message 0800 --timeout-ms 1500; }
out=$(exchange)
check "wlan0 up: mutual-TLS exchange with the host works ($out)" [ "$out" = "ok TLSv1.3 0800" ]
T link set wlan0 down
out=$(exchange)
check "wlan0 down (wwan0 down): no route, the exchange fails at once ($out)" [ "$out" = "error unreachable" ]
T link set wwan0 up
T route add default via 10.61.2.1 dev wwan0 metric 700
out=$(exchange)
check "wwan0 back: the exchange goes over cellular ($out)" [ "$out" = "ok TLSv1.3 0800" ]
T link set wwan0 down
T link set wlan0 up
T route add default via 10.61.1.1 dev wlan0 metric 600
out=$(exchange)
check "wlan0 up again with its route: the exchange works ($out)" [ "$out" = "ok TLSv1.3 0800" ]

echo "== carrier loss (the peer end goes down; the route stays, marked linkdown)"
watch2=$tmp/watch2.log
ip netns exec "$tns" "$termtool" link watch --wifi wlan0 --cellular wwan0 --count 2 --timeout 30 >"$watch2" 2>&1 &
pids+=($!)
wait_lines "$watch2" 1
check "before: online via wifi" line_is "$watch2" 1 "online via wifi (wlan0)"
H link set wlan0h down
wait_lines "$watch2" 2
check "wlan0 without carrier: offline although its route remains" line_is "$watch2" 2 "offline"
out=$(exchange)
check "wlan0 without carrier: the exchange times out connecting ($out)" [ "$out" = "error timeout-connect" ]
finish
