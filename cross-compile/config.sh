# shellcheck shell=bash disable=SC2034
# Settings shared by cross-compile/build.sh and Tests/scripts/aarch64-smoke.sh. Sourced, not run.
# Every value can be overridden from the environment; docs/cross-compile.md explains the route.

# The Swift compiler and the arm64 Swift runtime come from Debian sid's swiftlang, pinned to one exact version:
# the compiler (amd64) and the target's stdlib (arm64) must be the same build, and sid moves. build.sh stops
# with a clear message when the archive no longer has this version for BOTH architectures.
CROSS_SWIFT_DEB_VERSION=${CROSS_SWIFT_DEB_VERSION:-6.2.3-1+b1}
CROSS_SWIFT_SUITE=${CROSS_SWIFT_SUITE:-sid}
# The C half of the sysroot (glibc, libgcc, libstdc++, the -dev libraries): its suite sets the oldest userland the
# binary runs on. trixie = Debian 13, glibc 2.41; the 6.2.3 static Swift libraries themselves need glibc 2.38.
CROSS_SYSROOT_SUITE=${CROSS_SYSROOT_SUITE:-trixie}
CROSS_MIRROR=${CROSS_MIRROR:-http://deb.debian.org/debian}
# arm64 -dev packages put into the sysroot, besides libc6-dev, libgcc-N-dev and libstdc++-N-dev (N = trixie gcc's) and
# every `providers: [.apt([...])]` package named in Package.swift (build.sh reads them, so a new system library
# target reaches the SDK by itself): libgpiod-dev (CGPIOD is a plain C target without a provider), and
# zlib1g-dev and libzstd-dev, which trixie's libcrypto.a needs in fully static links.
CROSS_DEV_PACKAGES=${CROSS_DEV_PACKAGES:-"libgpiod-dev zlib1g-dev libzstd-dev"}

# Everything heavy (chroot ~3.5 GB, SDK ~0.5 GB, build directories) lives here, outside the repository.
CROSS_CACHE=${PAYMENT_TERMINAL_CROSS_CACHE:-${XDG_CACHE_HOME:-/var/cache}/payment-terminal-cross}

CROSS_TRIPLE=aarch64-unknown-linux-gnu
CROSS_DEB_ARCH=arm64
CROSS_SDK_NAME=debian-${CROSS_SYSROOT_SUITE}-swift-${CROSS_SWIFT_DEB_VERSION%%-*}-${CROSS_DEB_ARCH}
CROSS_CHROOT=$CROSS_CACHE/chroot-${CROSS_SWIFT_SUITE}-swiftlang-${CROSS_SWIFT_DEB_VERSION}
CROSS_BUNDLE=$CROSS_CACHE/sdk/$CROSS_SDK_NAME.artifactbundle
CROSS_SYSROOT=$CROSS_BUNDLE/$CROSS_TRIPLE/sysroot

# qemu-user runs the aarch64 programs on the host (`-L sysroot` supplies the loader and libraries; no binfmt).
# cortex-a53: the default `max` CPU emulates pointer authentication and makes call-heavy Swift code ~10x slower.
CROSS_QEMU=${CROSS_QEMU:-qemu-aarch64-static}
export QEMU_CPU=${QEMU_CPU:-cortex-a53}

# Footprint budget of the stripped aarch64 `terminal` with the static Swift stdlib (issue 7): 20 MB = 20,000,000 bytes.
CROSS_SIZE_BUDGET_BYTES=${CROSS_SIZE_BUDGET_BYTES:-20000000}
