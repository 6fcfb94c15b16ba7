#!/usr/bin/env python3
"""The emulated board `qemu-virt` as seen from the host: starts QEMU, drives the guest's serial console, talks
to QEMU's monitor, and makes the booted-VM snapshot image.sh caches.

    python3 board/qemu-virt/vm.py make-snapshot DISK.qcow2     (image.sh stage 6)

The settings come from board/qemu-virt/config.sh (sourced through bash, so the shell scripts and this file read
one set of values). The console protocol: after the root autologin, echo and bracketed paste are turned off and
the prompt is emptied once (that state is part of the snapshot); then each command is sent followed by
`echo "@@E""ND<n>@@ $?"`, and the reply is read up to `@@END<n>@@ <status>` (the split literal keeps the marker
out of any echo). Needs pexpect.
"""
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pexpect

HERE = os.path.dirname(os.path.abspath(__file__))


def board_config():
    """The QB_* settings of config.sh, with the environment's overrides applied."""
    out = subprocess.run(["bash", "-c", 'set -a; . "$1"; env -0', "bash", os.path.join(HERE, "config.sh")],
                         check=True, capture_output=True).stdout
    env = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    return {k: v for k, v in env.items() if k.startswith("QB_")}


class VMError(Exception):
    pass


class SerialPort:
    """The host end of one of the board's 16550 UARTs (a QEMU chardev on a unix socket): collects what the guest
    sends; `write` sends bytes to the guest."""

    def __init__(self, path, name):
        self.name = name
        self.data = bytearray()
        self.lock = threading.Lock()
        deadline = time.monotonic() + 30
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(path)
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.thread = threading.Thread(target=self._reader, daemon=True)
        self.thread.start()

    def _reader(self):
        while True:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            with self.lock:
                self.data += chunk

    def snapshot(self):
        with self.lock:
            return bytes(self.data)

    def write(self, data):
        self.sock.sendall(data)

    def wait_for(self, predicate, timeout, since=0):
        """Waits until predicate(bytes received after offset `since`) is true; returns those bytes or None."""
        deadline = time.monotonic() + timeout
        while True:
            data = self.snapshot()[since:]
            if predicate(data):
                return data
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class VM:
    """One run of the emulated board in `workdir`: UART sockets, monitor socket and console log live there."""

    def __init__(self, workdir, disk, config=None, loadvm=None, http_port=None, acquirer_port=None,
                 boot_timeout=900):
        self.cfg = config or board_config()
        self.workdir = workdir
        self.n = 0
        c = self.cfg
        self.sockets = {name: os.path.join(workdir, f"{name}.sock") for name in ("display", "scanner", "monitor")}
        for path in self.sockets.values():
            if os.path.exists(path):
                os.unlink(path)
        host = c["QB_GUEST_HOST"]
        forwards = []
        # Restricted user-mode network: the guest reaches nothing but these loopback services (one socat per
        # guest connection; a plain -tcp: target would open a single connection at start-up).
        for guest_port, host_port in ((c["QB_GUEST_HTTP_PORT"], http_port), (c["QB_GUEST_ACQUIRER_PORT"], acquirer_port)):
            forwards.append(f"guestfwd=tcp:{host}:{guest_port}-cmd:socat STDIO TCP:127.0.0.1:{host_port or 9}")
        self.cmd = [
            c["QB_QEMU"], "-M", "virt", "-cpu", c["QB_CPU"], "-smp", c["QB_SMP"], "-m", c["QB_MEMORY"],
            "-nographic", "-no-reboot",
            "-kernel", c["QB_VMLINUZ"], "-initrd", c["QB_INITRD"], "-dtb", c["QB_DTB"],
            "-append", "console=ttyAMA0 panic=-1 quiet loglevel=3 systemd.show_status=error systemd.firstboot=off",
            "-drive", f"file={disk},if=none,id=hd0,format=qcow2", "-device", "virtio-blk-pci,drive=hd0",
            "-chardev", f"socket,id=display,path={self.sockets['display']},server=on,wait=off",
            "-chardev", f"socket,id=scanner,path={self.sockets['scanner']},server=on,wait=off",
            # Two single-port 16550 cards (ttyS0, ttyS1 in slot order). Not one pci-serial-2x: QEMU 7.2
            # segfaults in savevm with a pci-serial-2x on the machine, whatever its chardevs are.
            "-device", "pci-serial,chardev=display", "-device", "pci-serial,chardev=scanner",
            "-netdev", "user,id=n0,restrict=on," + ",".join(forwards),
            "-device", "virtio-net-pci,netdev=n0,romfile=",
            "-monitor", f"unix:{self.sockets['monitor']},server=on,wait=off",
        ]
        if loadvm:
            self.cmd += ["-loadvm", loadvm]
        self.console_log = open(os.path.join(workdir, "console.log"), "a", encoding="utf-8", errors="replace")
        self.t0 = time.monotonic()
        self.p = pexpect.spawn("nice", ["-n", "15"] + self.cmd, encoding="utf-8", codec_errors="replace",
                               timeout=boot_timeout, dimensions=(50, 250))
        self.p.logfile_read = self.console_log
        self.pid = self.p.pid
        if loadvm:
            # The console is where the snapshot left it: logged in, echo off, empty prompt.
            self.p.sendline("")
            status, _ = self.rc("true", timeout=boot_timeout)
        else:
            self.p.expect(r"root@qemu-virt:~# ", timeout=boot_timeout)
            self.p.sendline('stty -echo; bind "set enable-bracketed-paste off"; export PS1= PS2=; '
                            'export SYSTEMD_PAGER=cat PAGER=cat SYSTEMD_COLORS=0; dmesg -n 1; echo "@@RE""ADY@@"')
            self.p.expect("@@READY@@")
        self.ready_s = time.monotonic() - self.t0

    def rc(self, cmd, timeout=120):
        """Runs `cmd` in the guest's shell; returns (exit status, output)."""
        self.n += 1
        self.p.sendline(f'{cmd}\necho "@@E""ND{self.n}@@ $?"')
        try:
            self.p.expect(rf"@@END{self.n}@@ (\d+)", timeout=timeout)
        except pexpect.TIMEOUT:
            raise VMError(f"guest command timed out after {timeout} s: {cmd}")
        except pexpect.EOF:
            raise VMError(f"QEMU exited during: {cmd}")
        out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", self.p.before.replace("\r", "")).strip("\n")
        return int(self.p.match.group(1)), out

    def sh(self, cmd, timeout=120):
        """Runs `cmd`; returns its output, raising VMError when it fails."""
        status, out = self.rc(cmd, timeout)
        if status != 0:
            raise VMError(f"guest command exited {status}: {cmd}\n{out}")
        return out

    def monitor(self, command, timeout=120):
        """Sends one HMP command to QEMU's monitor; returns its reply."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        s.connect(self.sockets["monitor"])
        buf = b""
        while not buf.endswith(b"(qemu) "):
            buf += s.recv(4096)
        s.sendall(command.encode() + b"\n")
        buf = b""
        while not buf.endswith(b"(qemu) "):
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        s.close()
        text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", buf.decode(errors="replace")).replace("\r", "")
        return "\n".join(line for line in text.split("\n")[1:] if line != "(qemu) ")

    def quit(self):
        if self.p.isalive():
            try:
                self.monitor("quit", timeout=10)
            except OSError:
                pass
            try:
                self.p.expect(pexpect.EOF, timeout=20)
            except (pexpect.TIMEOUT, pexpect.EOF):
                pass
        if self.p.isalive():
            self.p.terminate(force=True)
        self.p.close()
        self.console_log.close()


def make_snapshot(disk):
    """image.sh stage 6: boots the image cold, waits for systemd to finish starting, and saves the VM."""
    cfg = board_config()
    workdir = os.path.join(os.path.dirname(os.path.abspath(disk)), "snapshot-run")
    os.makedirs(workdir, exist_ok=True)
    print(f"vm.py: cold boot of {disk} (console log: {workdir}/console.log)", flush=True)
    vm = VM(workdir, disk, cfg)
    try:
        print(f"vm.py: shell after {vm.ready_s:.1f} s", flush=True)
        state = vm.rc("systemctl is-system-running --wait", timeout=900)[1].strip()
        booted_s = time.monotonic() - vm.t0
        print(f"vm.py: systemd '{state}' after {booted_s:.1f} s", flush=True)
        print(vm.rc("systemd-analyze; systemctl --failed --no-legend; systemd-analyze blame | head -8")[1], flush=True)
        # Facts the tests rely on, checked once here so a broken image fails early.
        vm.sh("test -d /sys/kernel/config/gpio-sim || mount -t configfs none /sys/kernel/config; "
              "ls -d /sys/bus/platform/drivers/gpio-sim/*/gpiochip*")
        vm.sh("ls -l /dev/input/by-path/ | grep keypad")
        vm.sh("ls /dev/ttyS0 /dev/ttyS1")
        vm.sh("sync")
        t = time.monotonic()
        reply = vm.monitor(f"savevm {cfg['QB_SNAPSHOT_NAME']}", timeout=300)
        listing = vm.monitor("info snapshots")
        if not re.search(rf"\s{re.escape(cfg['QB_SNAPSHOT_NAME'])}\s", listing):
            raise VMError(f"savevm did not make the snapshot: {reply.strip()} / {listing.strip()}")
        print(f"vm.py: savevm {cfg['QB_SNAPSHOT_NAME']} in {time.monotonic() - t:.1f} s "
              f"(cold boot to a running systemd: {booted_s:.1f} s)", flush=True)
        with open(disk + ".boot-seconds", "w") as f:
            f.write(f"{booted_s:.1f}\n")
    finally:
        vm.quit()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "make-snapshot":
        make_snapshot(sys.argv[2])
    else:
        sys.exit("usage: vm.py make-snapshot DISK.qcow2")
