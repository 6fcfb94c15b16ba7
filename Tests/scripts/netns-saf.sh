#!/usr/bin/env bash
# Store and forward through real kernel networking: a sim-like terminal (board/sim with an external acquirer) in a
# "terminal" namespace whose only way out is a veth link named wlan0, and `termtool acquirer` in a "host" namespace
# behind it. Pull the link: chip sales go offline within the caps (under the floor limit approved, above it not) and
# queue up. Restore it: the queue drains, each advice booked exactly once in the acquirer's ledger, and the idle
# screen's unsent count reaches 0. Needs root (ip netns); without it the script reports 0 checks and succeeds. All
# traffic stays inside the two namespaces, which are removed on exit.
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
termtool=${TERMTOOL:-$PWD/.build/debug/termtool}
terminal=${TERMINAL:-$PWD/.build/debug/terminal}
python=${PYTHON:-python3}
pass=0
fail=0
check() { # description, then a command that must succeed
    local what=$1; shift
    if "$@"; then echo "  ok: $what"; pass=$((pass + 1)); else echo "  FAILED: $what"; fail=$((fail + 1)); fi
}
finish() { echo "netns-saf: $pass passed, $fail failed"; [ "$fail" -eq 0 ]; exit $?; }

if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || [ ! -x "$termtool" ] || [ ! -x "$terminal" ]; then
    echo "netns-saf: skipped (needs root, iproute2 and a built termtool and terminal)"
    finish
fi
tns=saf-term-$$
hns=saf-host-$$
tmp=$(mktemp -d /tmp/netns-saf-XXXXXX)
pids=()
cleanup() {
    exec 3>&- 2>/dev/null
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    ip netns del "$tns" 2>/dev/null
    ip netns del "$hns" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
if ! ip netns add "$tns" || ! ip netns add "$hns"; then
    echo "netns-saf: cannot create network namespaces here"
    fail=1
    finish
fi
T() { ip -n "$tns" "$@"; }
H() { ip -n "$hns" "$@"; }

# wlan0 <-> wlan0h (10.62.1.0/24); the acquirer at 10.62.9.1 on the host namespace's lo.
T link add wlan0 type veth peer name wlan0h netns "$hns"
T link set lo up
H link set lo up
T addr add 10.62.1.2/24 dev wlan0
H addr add 10.62.1.1/24 dev wlan0h
H addr add 10.62.9.1/32 dev lo
H link set wlan0h up
T link set wlan0 up
T route add default via 10.62.1.1 dev wlan0 metric 600

# until CONDITION (a command) holds, at most SECONDS
wait_for() {
    local seconds=$1 i; shift
    for i in $(seq 1 $((seconds * 10))); do
        "$@" && return 0
        sleep 0.1
    done
    return 1
}
# the ledger: "advices distinct-keys net-charged"
ledger() {
    "$python" - "$tmp/ledger.sqlite" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n, keys = db.execute("SELECT count(*), count(DISTINCT idempotency_key) FROM entries WHERE kind = 'advice'").fetchone()
net = db.execute("SELECT coalesce(sum(amount_minor), 0) FROM entries WHERE kind IN ('authorization', 'advice') AND response_code IN ('00', 'Y1', 'Y3') AND reversed = 0").fetchone()[0]
print(n, keys, net)
EOF
}
offline_approvals() { grep -c 'decision=approvedOffline' "$tmp/terminal.err"; }
offline_at_least() { [ "$(offline_approvals)" -ge "$1" ]; }
decisions() { grep -c 'chip transaction complete' "$tmp/terminal.err"; }
decisions_at_least() { [ "$(decisions)" -ge "$1" ]; }
last_idle() { awk 'BEGIN { RS = "----\n" } /欢迎光临/ { last = $0 } END { printf "%s", last }' "$tmp/terminal.out"; }
idle_shows() { last_idle | grep -qF "$1"; }
idle_without_unsent() { last_idle | grep -qF '欢迎光临' && ! last_idle | grep -qF '待上送'; }
advices_are() { [ "$(ledger | cut -d' ' -f1)" = "$1" ]; }

echo "== the acquirer behind the link"
ip netns exec "$hns" "$termtool" acquirer --address 0.0.0.0 --port 8583 --pki-dir "$tmp/pki" --ledger "$tmp/ledger.sqlite" \
    --server-name 10.62.9.1 --client-name SIM00001 >"$tmp/acquirer.log" 2>&1 &
pids+=($!)
check "termtool acquirer listens in the host namespace" wait_for 20 grep -q 'listening on 0.0.0.0:8583' "$tmp/acquirer.log"

sed -e 's|^acquirer = "builtin".*|acquirer = "10.62.9.1:8583"|' \
    -e "s|^emv_parameters = \"emv-parameters.toml\"|emv_parameters = \"$repo/board/sim/emv-parameters.toml\"|" \
    board/sim/board.toml >"$tmp/board.toml"
mkdir -p "$tmp/state"
mkfifo "$tmp/input"
HOME=$tmp/state TERMINAL_ACQUIRER_PKI_DIR=$tmp/pki TERMINAL_RESPONSE_TIMEOUT_MS=3000 TERMINAL_CONNECT_TIMEOUT_MS=2000 \
    ip netns exec "$tns" "$terminal" run --board "$tmp/board.toml" --headless --fixed-clock 09:30 --state-dir "$tmp/state" \
    <"$tmp/input" >"$tmp/terminal.out" 2>"$tmp/terminal.err" &
terminal_pid=$!
pids+=($terminal_pid)
exec 3>"$tmp/input"
check "the terminal is up, with the external acquirer" wait_for 20 grep -q 'acquirer over mutual TLS address=10.62.9.1:8583' "$tmp/terminal.err"

echo "== link pulled: sales go offline within the caps"
T link set wlan0 down
# Paced by the screens (UNTIL), not by sleeps: the input waits for each screen, so a loaded machine cannot make the
# keys run ahead of the sale (an amount's digits landing on the previous sale's result screen, say).
sale() { # amount digits, card, the outcome screen's text
    local digits=$1 card=$2 outcome=$3 d
    for d in $(echo "$digits" | grep -o .); do echo "$d" >&3; done
    printf '%s\n' ENTER 'UNTIL 请选择支付方式' 1 'UNTIL 请插卡' "INSERT $card" 'UNTIL 请输入密码' 1 2 3 4 ENTER \
        "UNTIL 60000ms $outcome" ENTER 'UNTIL 欢迎光临' >&3
}
sale 1234 visa-credit 脱机批准
sale 56 mastercard-debit 脱机批准
sale 789 visa-credit 脱机批准
check "three sales under the floor limit approved offline" wait_for 60 offline_at_least 3
sale 15000 mastercard-debit 交易失败
check "the 150.00 sale (above the floor limit) ran to its end" wait_for 30 decisions_at_least 4
check "and was not approved offline: still three offline approvals" [ "$(offline_approvals)" = 3 ]
check "the idle screen counts three unsent" wait_for 10 idle_shows '待上送3笔'
check "nothing reached the acquirer while the link was down" advices_are 0
check "the uploader tried and backed off" wait_for 30 grep -q 'store and forward: delivery failed' "$tmp/terminal.err"

echo "== link restored: the queue drains exactly once"
T link set wlan0 up
T route add default via 10.62.1.1 dev wlan0 metric 600
check "three advices booked" wait_for 90 advices_are 3
check "the idle screen's unsent count reaches 0" wait_for 15 idle_without_unsent
sleep 3
read -r n keys net < <(ledger)
check "exactly once: 3 advices, 3 distinct keys ($n, $keys)" [ "$n-$keys" = 3-3 ]
check "net charged 12.34 + 0.56 + 7.89 = 2079 ($net)" [ "$net" = 2079 ]
exec 3>&-
check "the terminal exits cleanly at the end of its input" wait "$terminal_pid"
check "every screen the input waited for came" bash -c "! grep -q 'UNTIL timed out' '$tmp/terminal.err'"
check "no clear PAN in the terminal's log" bash -c "! grep -Eq '[0-9]{16}' '$tmp/terminal.err'"
grep 'chip transaction complete' "$tmp/terminal.err" | sed -E 's/.*(amount=[0-9]+ )?decision=([A-Za-z]+).*/    decision: \2/' | sort | uniq -c
finish
