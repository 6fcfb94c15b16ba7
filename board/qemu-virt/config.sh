# shellcheck shell=bash disable=SC2034
# Settings shared by board/qemu-virt/image.sh and board/qemu-virt/run-e2e.sh. Sourced, not run.
# Every value can be overridden from the environment. docs/qemu-board.md explains the choices.

# Everything built or downloaded lives here, outside the repository: apt state, .debs, the extracted kernel,
# the root file system image, the initramfs, the device tree and the booted-VM snapshot.
QB_CACHE=${PAYMENT_TERMINAL_QEMU_CACHE:-${XDG_CACHE_HOME:-/var/cache}/payment-terminal-qemu}
QB_MIRROR=${QB_MIRROR:-http://deb.debian.org/debian}
QB_SUITE=${QB_SUITE:-trixie}

# The kernel: trixie-backports' 7.3 (gpio-sim is a module there; trixie's own 6.12 leaves CONFIG_GPIO_SIM unset).
# The new split packaging: base (config, System.map), binary (the Image, in /usr/lib/modules/ABI/vmlinuz) and
# modules. Backports kernels rotate out of the archive: the downloaded .debs are kept in $QB_CACHE/debs and checked
# against these sha256 values, so a cache keeps working after the archive moved on.
QB_KERNEL_ABI=${QB_KERNEL_ABI:-7.3.4+deb13-arm64}
QB_KERNEL_VERSION=${QB_KERNEL_VERSION:-7.3.4-1~bpo13+1}
QB_KERNEL_SHA256=(
    "84e0027833982d189bd1b2285511fc2e0c1f785c9adf66acd9d9243026706bb6  linux-base-7.3.4+deb13-arm64_7.3.4-1~bpo13+1_arm64.deb"
    "0bbfeddbecdea8ab294daf09eb5cc1f4405af5c044b4b7aa57f5d1eaa205530f  linux-binary-7.3.4+deb13-arm64_7.3.4-1~bpo13+1_arm64.deb"
    "df2a118b535e735230717512a9fe4d30b0c24a3c6e68470d5d13e9a08ddfd29a  linux-modules-7.3.4+deb13-arm64_7.3.4-1~bpo13+1_arm64.deb"
)
# The initramfs only mounts the root disk and switches to systemd: static busybox and the modules for that.
QB_INITRAMFS_MODULES=${QB_INITRAMFS_MODULES:-"virtio_blk ext4 virtio_pci"}

# The root file system (mmdebstrap, minbase): systemd, and what the firmware links (cross-compile/inspect.sh
# lists NEEDED: libgpiod.so.3, libpcsclite.so.1, libsqlite3, libcrypto, libstdc++, libm, libc), gpiod for
# inspection, wget to fetch the firmware from the host over the restricted network, procps for RSS.
QB_ROOTFS_PACKAGES=${QB_ROOTFS_PACKAGES:-"systemd-sysv udev kmod libgpiod3 gpiod libpcsclite1 libqrencode4 libsqlite3-0 libssl3t64 libstdc++6 wget procps iproute2 evtest"}
QB_ROOTFS_SIZE=${QB_ROOTFS_SIZE:-1G}

# The emulated board. cortex-a53: the default `max` CPU emulates pointer authentication, which makes Debian's
# arm64 binaries (paciasp/autiasp in every function) several times slower under TCG.
QB_QEMU=${QB_QEMU:-qemu-system-aarch64}
QB_CPU=${QB_CPU:-cortex-a53}
QB_SMP=${QB_SMP:-2}
QB_MEMORY=${QB_MEMORY:-1024}
# Inside the guest, the restricted user-mode network reaches exactly these host services (guestfwd):
#   10.0.2.100:80   -> the run's loopback HTTP server (firmware payload)
#   10.0.2.100:5000 -> the acquirer simulator on the host's loopback (board.toml's network.acquirer)
QB_GUEST_HOST=10.0.2.100
QB_GUEST_HTTP_PORT=80
QB_GUEST_ACQUIRER_PORT=5000

# Files in the cache.
QB_DEBS=$QB_CACHE/debs
QB_KERNEL_DIR=$QB_CACHE/kernel-$QB_KERNEL_ABI
QB_VMLINUZ=$QB_KERNEL_DIR/usr/lib/modules/$QB_KERNEL_ABI/vmlinuz
QB_INITRD=$QB_CACHE/initrd-$QB_KERNEL_ABI.cpio.gz
QB_ROOTFS=$QB_CACHE/rootfs-$QB_SUITE.ext4
QB_DTB=$QB_CACHE/qemu-virt.dtb
QB_SNAPSHOT=$QB_CACHE/booted.qcow2
QB_SNAPSHOT_NAME=booted
