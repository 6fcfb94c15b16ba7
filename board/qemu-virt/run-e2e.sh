#!/usr/bin/env bash
# End-to-end check of the cross-built firmware on the emulated board qemu-virt (issue 7 item 4):
#
#   board/qemu-virt/run-e2e.sh [--cold]
#
#   1. cross-compile/build.sh --product terminal --product termtool (cached; docs/cross-compile.md);
#   2. board/qemu-virt/image.sh: kernel, initramfs, root file system, device tree and the booted-VM snapshot
#      (cached in $QB_CACHE, default /var/cache/payment-terminal-qemu; the first run builds them);
#   3. a Python venv in $QB_CACHE/venv with pexpect (console driver) and psec (TR-31 key block for the factory
#      key injection), from PyPI;
#   4. board/qemu-virt/e2e.py: resume the snapshot (--cold: boot the image from scratch instead), install the
#      firmware, READY under systemd with the watchdog, LCD on the host end of the UART, an amount keyed on
#      gpio-sim lines, a code on the scanner UART, a QR sale online to the acquirer simulator (`termtool acquirer`,
#      built for the host, on a loopback port the guest reaches through guestfwd; QB_HOST_TERMTOOL=BIN skips the
#      build), SIGKILL and restart with the state directory intact, the firmware's matrix scanner on a 1-row
#      gpio-sim matrix, and one A/B update and one rollback under systemd with the ab-update drop-in (packages
#      signed on the host by that termtool with a TEST ONLY key made per run).
# Prints "qemu-board: N passed, M failed" (the steps above count as checks too) and exits non-zero on failure.
# The run's files (console log, UART sockets, disk) are in a temporary directory, kept when something failed.
# QEMU is started by e2e.py and stopped by it (by PID) on every exit path; a hard timeout bounds the run.
# Figures and timings: docs/qemu-board.md. Not part of Tests/run (a cold run builds a root file system).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=config.sh
. "$here/config.sh"

cold=()
for arg in "$@"; do
    case "$arg" in
        --cold) cold=(--cold) ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "run-e2e.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

passed=0
failed=0
t0=$(date +%s)
elapsed() { echo "$(($(date +%s) - t0))s"; }
pass() { passed=$((passed + 1)); echo "qemu-board: ok   $*"; }
fail() { failed=$((failed + 1)); echo "qemu-board: FAIL $*"; }
finish() {
    if ((failed)); then echo "qemu-board: logs kept in $work"; else rm -rf "$work"; fi
    echo "qemu-board: total $(elapsed)"
    printf 'qemu-board: %d passed, %d failed\n' "$passed" "$failed"
    ((failed == 0))
    exit $?
}
[ "$(id -u)" -eq 0 ] || { echo "run-e2e.sh: needs root (image.sh: mmdebstrap, binfmt_misc; build.sh: chroot)" >&2; exit 2; }
work=$(mktemp -d /tmp/qemu-board.XXXXXX)

# --- 1. cross build ---------------------------------------------------------------------------------------------
echo "qemu-board: cross-compile/build.sh --product terminal --product termtool (log: $work/build.log)"
if nice -n 15 "$repo/cross-compile/build.sh" --product terminal --product termtool > "$work/build.log" 2>&1; then
    pass "cross build of terminal and termtool for aarch64 ($(elapsed))"
else
    tail -30 "$work/build.log"
    fail "cross-compile/build.sh (see $work/build.log)"
    finish
fi
bin_dir=$repo/.build-aarch64/static-stdlib

# --- 1b. termtool for the host: runs the acquirer simulator on the host's loopback ---------------------------------
host_termtool=${QB_HOST_TERMTOOL:-}
if [ -z "$host_termtool" ]; then
    echo "qemu-board: swift build --product termtool for the host (log: $work/host-build.log)"
    if (cd "$repo" && nice -n 15 swift build --product termtool) > "$work/host-build.log" 2>&1; then
        host_termtool=$(cd "$repo" && swift build --show-bin-path)/termtool
        pass "host termtool (the acquirer simulator) built ($(elapsed))"
    else
        tail -30 "$work/host-build.log"
        fail "swift build --product termtool for the host (see $work/host-build.log)"
        finish
    fi
fi

# --- 2. board image ---------------------------------------------------------------------------------------------
# --- 3. python venv (image.sh's snapshot stage uses it too) -----------------------------------------------------
venv=$QB_CACHE/venv
if ! "$venv/bin/python" -c 'import pexpect, psec' 2>/dev/null; then
    echo "qemu-board: python venv $venv (pexpect, psec)"
    mkdir -p "$QB_CACHE"
    { /usr/bin/python3 -m venv "$venv" && "$venv/bin/pip" install -q --disable-pip-version-check "pexpect==4.9.0" "psec==1.3.0"; } > "$work/venv.log" 2>&1 ||
        { cat "$work/venv.log"; fail "python venv with pexpect and psec"; finish; }
fi
export QB_PYTHON=$venv/bin/python
echo "qemu-board: board/qemu-virt/image.sh (log: $work/image.log)"
t=$(date +%s)
if "$here/image.sh" > "$work/image.log" 2>&1; then
    grep '^== ' "$work/image.log" | sed 's/^/    /'
    pass "board image and snapshot ready ($(($(date +%s) - t)) s)"
else
    tail -30 "$work/image.log"
    fail "board/qemu-virt/image.sh (see $work/image.log)"
    finish
fi

# --- 4. the end-to-end scenario ---------------------------------------------------------------------------------
echo "qemu-board: e2e on the emulated board (console log: $work/e2e/console.log)"
timeout --kill-after=10 1500 "$QB_PYTHON" -B "$here/e2e.py" "${cold[@]}" --repo "$repo" --workdir "$work/e2e" \
    --terminal "$bin_dir/terminal" --termtool "$bin_dir/termtool" --host-termtool "$host_termtool" 2>&1 | tee "$work/e2e.log"
status=${PIPESTATUS[0]}
line=$(grep -E '^e2e: [0-9]+ passed, [0-9]+ failed$' "$work/e2e.log" | tail -1)
if [ -n "$line" ]; then
    read -r _ p _ f _ <<<"$line"
    passed=$((passed + p))
    failed=$((failed + f))
    ((status == 0 || f > 0)) || fail "e2e.py exited $status"
else
    fail "e2e.py ended without its summary (exit $status; 124 = timed out)"
fi
finish
