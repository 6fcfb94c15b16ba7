#!/usr/bin/env bash
# The cross-built firmware on the emulated aarch64 board under systemd (issue 7 item 4): board/qemu-virt/run-e2e.sh.
# Resumes a cached booted-VM snapshot, installs the firmware with its unit, checks READY with the watchdog, the LCD
# on the host end of a UART, amounts keyed on gpio-sim lines (gpio-keys/evdev and the firmware's matrix scanner), a
# code on the scanner UART, a SIGKILL restart with the state intact, and one A/B update and one rollback under
# systemd (systemd/terminal.service.d/ab-update.conf).
# The first run on a machine also builds the board image and the snapshot in /var/cache/payment-terminal-qemu
# (docs/qemu-board.md: about 5-8 min on 2 busy cores); later runs take about 1-1.5 min.
# Ends with "qemu-board: N passed, M failed". SKIP_QEMU_BOARD=1 skips it (machines without Debian's archive).
set -uo pipefail
if [ "${SKIP_QEMU_BOARD:-}" = 1 ]; then
    echo "qemu-board: skipped (SKIP_QEMU_BOARD=1)"
    exit 0
fi
exec "$(cd "$(dirname "$0")/../.." && pwd)/board/qemu-virt/run-e2e.sh"
