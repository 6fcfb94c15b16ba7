#!/usr/bin/env bash
# Builds (once) everything the emulated board `qemu-virt` boots, from Debian's arm64 packages only:
#
#   board/qemu-virt/image.sh [--rebuild-snapshot] [--rebuild]
#
# Stages, each cached in $QB_CACHE (board/qemu-virt/config.sh; default /var/cache/payment-terminal-qemu) and redone
# only when its product is missing:
#   0. host tools (qemu-system-arm, qemu-utils, qemu-user-static, mmdebstrap, socat, cpio, kmod,
#      device-tree-compiler), installed with the host's apt (waits for the dpkg lock);
#   1. a private apt state for trixie + trixie-backports arm64 (the system's sources are never touched);
#   2. the trixie-backports kernel .debs (sha256-pinned in config.sh) and busybox-static, extracted;
#   3. an initramfs: static busybox + virtio_blk/ext4, mounts /dev/vda and switch_roots into systemd;
#   4. the root file system: mmdebstrap minbase + systemd + the firmware's libraries, the kernel's modules
#      (depmod on the host), a serial autologin for the test driver, static network config, then an ext4 image;
#      the arm64 maintainer scripts run under qemu-user through binfmt_misc, registered for this stage only and
#      unregistered afterwards (binfmt_misc is host-global);
#   5. the device tree: QEMU's own `virt` tree plus the board's keypad (board/qemu-virt/keypad.dtsi: a gpio-sim
#      chip from the device tree and the kernel's gpio-keys on its lines);
#   6. the snapshot: one cold systemd boot (about a minute or more under TCG), then `savevm` into a qcow2 overlay
#      of the root image; every test run resumes from it in seconds (board/qemu-virt/vm.py).
# A product is rebuilt when what it is made from changed, by content (a .stamp file next to it): the initramfs and
# the root image when image.sh or config.sh change, the device tree when keypad.dtsi, the QEMU version or the
# machine size change, the snapshot when any of those or vm.py (the QEMU command line) change.
# --rebuild-snapshot redoes stage 6 only; --rebuild redoes 3-6.
# Ends with "image.sh: OK" and the paths. Needs root (mmdebstrap, binfmt_misc).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=config.sh
. "$here/config.sh"

rebuild_snapshot=0
rebuild=0
for arg in "$@"; do
    case "$arg" in
        --rebuild-snapshot) rebuild_snapshot=1 ;;
        --rebuild) rebuild=1; rebuild_snapshot=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "image.sh: unknown option $arg (try --help)" >&2; exit 2 ;;
    esac
done

t0=$(date +%s)
step() { echo "== [$(($(date +%s) - t0))s] $*" >&2; }
die() { echo "image.sh: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || die "needs root (mmdebstrap --mode=root, binfmt_misc)"
mkdir -p "$QB_CACHE" "$QB_DEBS"
# One image build at a time per cache.
exec 9> "$QB_CACHE/.lock"
flock 9

# --- cleanup: binfmt_misc and temporary trees ---------------------------------------------------------------
binfmt_registered=0
binfmt_mounted=0
tmp_dirs=()
cleanup() {
    local status=$?
    if ((binfmt_registered)) && [ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64 || true
    fi
    ((binfmt_mounted)) && umount /proc/sys/fs/binfmt_misc 2>/dev/null
    for d in "${tmp_dirs[@]}"; do rm -rf "$d"; done
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 0. host tools ------------------------------------------------------------------------------------------------
need=()
for pair in qemu-system-aarch64:qemu-system-arm qemu-img:qemu-utils qemu-aarch64-static:qemu-user-static \
    mmdebstrap:mmdebstrap arch-test:arch-test socat:socat cpio:cpio depmod:kmod dtc:device-tree-compiler mkfs.ext4:e2fsprogs; do
    command -v "${pair%%:*}" >/dev/null || need+=("${pair#*:}")
done
if ((${#need[@]})); then
    step "host packages: ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -o DPkg::Lock::Timeout=600 --no-install-recommends "${need[@]}" >&2
fi

# --- 1. private apt state (arm64, trixie + trixie-backports) ------------------------------------------------------
apt_dir=$QB_CACHE/apt
apt_opts=(-o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache" -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
    -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::status=$apt_dir/status" -o APT::Architectures::=arm64
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null -o APT::Sandbox::User=root)
apt_update() {
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc"
    touch "$apt_dir/status"
    cat > "$apt_dir/etc/sources.list" <<EOF
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $QB_MIRROR $QB_SUITE main
deb [arch=arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $QB_MIRROR $QB_SUITE-backports main
EOF
    step "apt lists for $QB_SUITE + $QB_SUITE-backports arm64"
    apt-get "${apt_opts[@]}" update >&2
}

# --- 2. kernel and busybox ----------------------------------------------------------------------------------------
fetched=0
for entry in "${QB_KERNEL_SHA256[@]}"; do
    deb=${entry##* }
    if [ ! -f "$QB_DEBS/$deb" ]; then
        ((fetched)) || apt_update
        fetched=1
        pkg=${deb%%_*}
        step "download $pkg=$QB_KERNEL_VERSION"
        (cd "$QB_DEBS" && apt-get "${apt_opts[@]}" download "$pkg:arm64=$QB_KERNEL_VERSION" >&2) ||
            die "$pkg $QB_KERNEL_VERSION is no longer in $QB_SUITE-backports: pick a newer kernel in config.sh (QB_KERNEL_ABI, QB_KERNEL_VERSION, QB_KERNEL_SHA256)"
    fi
done
(cd "$QB_DEBS" && printf '%s\n' "${QB_KERNEL_SHA256[@]}" | sha256sum --quiet -c -) || die "a kernel .deb in $QB_DEBS does not match its pinned sha256"
if [ ! -f "$QB_VMLINUZ" ]; then
    step "extract kernel $QB_KERNEL_ABI"
    rm -rf "$QB_KERNEL_DIR.tmp"
    for entry in "${QB_KERNEL_SHA256[@]}"; do dpkg-deb -x "$QB_DEBS/${entry##* }" "$QB_KERNEL_DIR.tmp"; done
    rm -rf "$QB_KERNEL_DIR"
    mv "$QB_KERNEL_DIR.tmp" "$QB_KERNEL_DIR"
fi
kmods=$QB_KERNEL_DIR/usr/lib/modules/$QB_KERNEL_ABI
grep -q '^CONFIG_GPIO_SIM=[my]' "$QB_KERNEL_DIR/boot/config-$QB_KERNEL_ABI" 2>/dev/null ||
    grep -q '^CONFIG_GPIO_SIM=[my]' "$kmods/config" 2>/dev/null ||
    find "$kmods" -name 'gpio-sim.ko*' | grep -q . || die "kernel $QB_KERNEL_ABI has no gpio-sim"

busybox=$(find "$QB_DEBS" -maxdepth 1 -name 'busybox-static_*_arm64.deb' | sort | tail -1)
if [ -z "$busybox" ]; then
    ((fetched)) || apt_update
    fetched=1
    step "download busybox-static:arm64"
    (cd "$QB_DEBS" && apt-get "${apt_opts[@]}" download busybox-static:arm64 >&2)
    busybox=$(find "$QB_DEBS" -maxdepth 1 -name 'busybox-static_*_arm64.deb' | sort | tail -1)
fi

# What each product was built from, by content (not by mtime: a fresh clone has new mtimes, and the cache is
# shared by every checkout on the machine). A product whose recipe changed is rebuilt, and so is what follows it.
qemu_version=$("$QB_QEMU" --version | head -1)
rootfs_stamp=$(cat "$here/image.sh" "$here/config.sh" | sha256sum | cut -c1-16)
dtb_stamp=$({ cat "$here/keypad.dtsi"; echo "$qemu_version $QB_CPU $QB_SMP $QB_MEMORY"; } | sha256sum | cut -c1-16)
snapshot_stamp=$({ cat "$here/vm.py"; echo "$rootfs_stamp $dtb_stamp"; } | sha256sum | cut -c1-16)
stale() { [ ! -f "$1" ] || [ "$(cat "$1.stamp" 2>/dev/null)" != "$2" ]; }
if ((rebuild)); then rm -f "$QB_INITRD" "$QB_ROOTFS" "$QB_DTB"; fi

# --- 3. initramfs -------------------------------------------------------------------------------------------------
if stale "$QB_INITRD" "$rootfs_stamp"; then
    step "initramfs (busybox + $QB_INITRAMFS_MODULES)"
    w=$(mktemp -d "$QB_CACHE/initrd.XXXXXX")
    tmp_dirs+=("$w")
    mkdir -p "$w/root"/{bin,dev,proc,sys,newroot,etc} "$w/bb"
    dpkg-deb -x "$busybox" "$w/bb"
    cp "$w/bb/usr/bin/busybox" "$w/root/bin/busybox"
    declare -A seen=()
    add_module() {
        local name=${1//-/_} file rel dep
        [ -n "${seen[$name]:-}" ] && return 0
        seen[$name]=1
        file=$(find "$kmods/kernel" \( -name "$name.ko*" -o -name "${name//_/-}.ko*" \) | head -1)
        [ -n "$file" ] || return 0   # built in
        rel=${file#"$kmods"/}
        mkdir -p "$w/root/lib/modules/$(dirname "$rel")"
        case "$file" in
            *.xz) xz -dc "$file" > "$w/root/lib/modules/${rel%.xz}" ;;
            *.zst) zstd -qdc "$file" > "$w/root/lib/modules/${rel%.zst}" ;;
            *) cp "$file" "$w/root/lib/modules/$rel" ;;
        esac
        for dep in $(modinfo -F depends "$file" 2>/dev/null | tr ',' ' '); do add_module "$dep"; done
        # A module goes after the modules it depends on.
        rel=${rel%.xz}
        printf '%s\n' "/lib/modules/${rel%.zst}" >> "$w/root/etc/modules.order"
    }
    : > "$w/root/etc/modules.order"
    for m in $QB_INITRAMFS_MODULES; do add_module "$m"; done
    cat > "$w/root/init" <<'INIT'
#!/bin/busybox sh
# qemu-virt initramfs (board/qemu-virt/image.sh): load the root disk's modules, mount it, hand over to systemd.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in $(cat /etc/modules.order); do insmod "$m" 2>/dev/null; done
root=/dev/vda
for x in $(cat /proc/cmdline); do case "$x" in qb.root=*) root=${x#qb.root=} ;; esac; done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
if ! mount -t ext4 -o rw "$root" /newroot; then echo "initramfs: cannot mount $root"; exec sh; fi
umount /proc /sys
umount /dev 2>/dev/null
exec switch_root /newroot /sbin/init
INIT
    chmod +x "$w/root/init"
    (cd "$w/root" && find . | cpio -o -H newc --quiet | gzip -1) > "$QB_INITRD.tmp"
    mv "$QB_INITRD.tmp" "$QB_INITRD"
    echo "$rootfs_stamp" > "$QB_INITRD.stamp"
fi

# --- 4. root file system ------------------------------------------------------------------------------------------
if stale "$QB_ROOTFS" "$rootfs_stamp"; then
    rm -f "$QB_SNAPSHOT"
    r=$(mktemp -d "$QB_CACHE/rootfs.XXXXXX")
    tmp_dirs+=("$r")
    # binfmt_misc for the arm64 maintainer scripts, only for this stage.
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
        binfmt_mounted=1
    fi
    if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
        binfmt_registered=1
    fi
    step "mmdebstrap $QB_SUITE arm64 minbase + $QB_ROOTFS_PACKAGES (a few minutes)"
    QEMU_CPU=$QB_CPU nice -n 15 mmdebstrap --mode=root --arch=arm64 --variant=minbase \
        --include="$(tr ' ' ',' <<<"$QB_ROOTFS_PACKAGES")" \
        --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' \
        "$QB_SUITE" "$r/root" "$QB_MIRROR" >&2
    if ((binfmt_registered)); then echo -1 > /proc/sys/fs/binfmt_misc/qemu-aarch64; binfmt_registered=0; fi
    if ((binfmt_mounted)); then umount /proc/sys/fs/binfmt_misc; binfmt_mounted=0; fi

    step "customise: kernel modules, autologin, network, masks"
    R=$r/root
    mkdir -p "$R/usr/lib/modules"
    cp -a "$kmods" "$R/usr/lib/modules/"
    rm -f "$R/usr/lib/modules/$QB_KERNEL_ABI/vmlinuz"
    depmod -b "$R" "$QB_KERNEL_ABI"
    echo qemu-virt > "$R/etc/hostname"
    printf '127.0.0.1 localhost\n127.0.1.1 qemu-virt\n' > "$R/etc/hosts"
    printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' > "$R/etc/fstab"
    sed -i 's/^root:[^:]*:/root::/' "$R/etc/shadow"
    # The test driver's console: root autologin on the first PL011 (the board's debug UART).
    mkdir -p "$R/etc/systemd/system/serial-getty@ttyAMA0.service.d"
    cat > "$R/etc/systemd/system/serial-getty@ttyAMA0.service.d/autologin.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
EOF
    # User-mode network: fixed address, nothing else (restrict=on: only the guestfwd services answer).
    mkdir -p "$R/etc/systemd/network"
    cat > "$R/etc/systemd/network/10-eth.network" <<'EOF'
[Match]
Type=ether

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
    ln -sf /usr/lib/systemd/system/systemd-networkd.service "$R/etc/systemd/system/multi-user.target.wants/systemd-networkd.service"
    # Units that only cost boot time on a test board.
    for unit in apt-daily.timer apt-daily-upgrade.timer fstrim.timer e2scrub_all.timer e2scrub_reap.service \
        dpkg-db-backup.timer systemd-networkd-wait-online.service getty-static.service \
        systemd-timesyncd.service systemd-firstboot.service; do
        ln -sf /dev/null "$R/etc/systemd/system/$unit"
    done
    # The board's gpio-sim chip comes from the device tree; its driver and gpio-keys load by modalias (udev).
    printf 'gpio-sim\ngpio-keys\n' > "$R/etc/modules-load.d/qemu-virt.conf"
    : > "$R/etc/machine-id"   # generated on the first (snapshot) boot
    step "ext4 image ($QB_ROOTFS_SIZE, sparse)"
    rm -f "$QB_ROOTFS.tmp"
    truncate -s "$QB_ROOTFS_SIZE" "$QB_ROOTFS.tmp"
    mkfs.ext4 -q -F -L root -d "$R" "$QB_ROOTFS.tmp"
    mv "$QB_ROOTFS.tmp" "$QB_ROOTFS"
    echo "$rootfs_stamp" > "$QB_ROOTFS.stamp"
fi

# --- 5. device tree ---------------------------------------------------------------------------------------------
if stale "$QB_DTB" "$dtb_stamp"; then
    rm -f "$QB_SNAPSHOT"
    step "device tree: QEMU virt + board/qemu-virt/keypad.dtsi"
    w=$(mktemp -d "$QB_CACHE/dtb.XXXXXX")
    tmp_dirs+=("$w")
    "$QB_QEMU" -M "virt,dumpdtb=$w/virt.dtb" -cpu "$QB_CPU" -smp "$QB_SMP" -m "$QB_MEMORY" -nographic -nic none >/dev/null
    dtc -q -I dtb -O dts -o "$w/virt.dts" "$w/virt.dtb"
    cat "$w/virt.dts" "$here/keypad.dtsi" > "$w/board.dts"
    dtc -q -I dts -O dtb -o "$QB_DTB.tmp" "$w/board.dts"
    mv "$QB_DTB.tmp" "$QB_DTB"
    echo "$dtb_stamp" > "$QB_DTB.stamp"
fi

# --- 6. the booted snapshot ---------------------------------------------------------------------------------------
if ((rebuild_snapshot)); then rm -f "$QB_SNAPSHOT"; fi
if stale "$QB_SNAPSHOT" "$snapshot_stamp"; then
    rm -f "$QB_SNAPSHOT"
    step "snapshot: cold systemd boot, then savevm '$QB_SNAPSHOT_NAME' (a minute or more under TCG)"
    qemu-img create -q -f qcow2 -b "$QB_ROOTFS" -F raw "$QB_SNAPSHOT.tmp"
    "${QB_PYTHON:-python3}" -B "$here/vm.py" make-snapshot "$QB_SNAPSHOT.tmp" >&2
    mv "$QB_SNAPSHOT.tmp.boot-seconds" "$QB_SNAPSHOT.boot-seconds"
    mv "$QB_SNAPSHOT.tmp" "$QB_SNAPSHOT"
    echo "$snapshot_stamp" > "$QB_SNAPSHOT.stamp"
fi

step "done"
echo "image.sh: OK"
echo "  kernel    $QB_VMLINUZ"
echo "  initramfs $QB_INITRD"
echo "  rootfs    $QB_ROOTFS"
echo "  dtb       $QB_DTB"
echo "  snapshot  $QB_SNAPSHOT ($(du -h "$QB_SNAPSHOT" | cut -f1))"
