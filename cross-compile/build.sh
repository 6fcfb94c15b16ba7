#!/usr/bin/env bash
# Cross-builds the release `terminal` for 64-bit ARM Linux (aarch64) from an x86_64 Debian host, from Debian
# packages only (no downloaded Swift SDK). Route and figures: docs/cross-compile.md.
#
#   cross-compile/build.sh [--static-executable] [--output DIR] [--product NAME]... [--tests]
#
#   (default)            Debian 13 userland (glibc >= 2.38), Swift stdlib linked statically, stripped:
#                        DIR/terminal (+ DIR/terminal.debug, unstripped, for symbols). DIR defaults to
#                        <repo>/.build-aarch64/static-stdlib.
#   --static-executable  fully static (no loader, no shared library) for older userlands such as Debian 12:
#                        DIR defaults to <repo>/.build-aarch64/static-executable.
#   --product NAME       build NAME instead of terminal (repeatable: --product terminal --product termtool).
#   --tests              build the unit tests (debug) for aarch64 instead; prints the .xctest path.
#
# Stages, each cached under $CROSS_CACHE (cross-compile/config.sh; default /var/cache/payment-terminal-cross,
# or $XDG_CACHE_HOME/payment-terminal-cross) and redone only when missing or interrupted:
#   0. host tools: debootstrap, qemu-user-static (host apt, waits for the dpkg lock);
#   1. a Debian sid amd64 chroot with swiftlang pinned to $CROSS_SWIFT_DEB_VERSION (fails loudly if gone);
#   2. an arm64 Swift SDK bundle: trixie C sysroot + sid's arm64 Swift runtime of the same version;
#   3. `swift build` inside the chroot, on a copy of the working tree (rsync, so unchanged files keep their
#      identity and incremental builds stay incremental), with the GitHub mirror bound read-only;
#   4. strip, copy out, print size, NEEDED, glibc floor, Foundation check and the footprint budget.
# The chroot runs in private mount and PID namespaces (unshare): its mounts cannot outlive the command, and an EXIT
# trap kills the namespace and unmounts anything found under the chroot in the host's namespace, even after
# CTRL-C. The system's apt sources are never touched: the target suites use private apt directories.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source-path=SCRIPTDIR source=config.sh
. "$here/config.sh"

original_args=("$@")
mode=static-stdlib
output=
products=()
while (($#)); do
    case "$1" in
        --static-executable) mode=static-executable ;;
        --tests) mode=tests ;;
        --output) output=${2:?--output needs a directory}; shift ;;
        --output=*) output=${1#--output=} ;;
        --product) products+=("${2:?--product needs a name}"); shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "build.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
    esac
    shift
done
((${#products[@]})) || products=(terminal)
output=${output:-$repo/.build-aarch64/$mode}

t0=$(date +%s)
step() { echo "== [$(($(date +%s) - t0))s] $*" >&2; }
die() { echo "build.sh: ERROR: $*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    # debootstrap, chroot and mount namespaces need root; like board/sim/install-deps, ask sudo when there is one.
    command -v sudo >/dev/null || die "needs root (debootstrap, chroot, mount namespaces) and there is no sudo"
    exec sudo --preserve-env=PAYMENT_TERMINAL_CROSS_CACHE,XDG_CACHE_HOME,CROSS_SWIFT_DEB_VERSION,CROSS_SWIFT_SUITE,CROSS_SYSROOT_SUITE,CROSS_MIRROR,CROSS_DEV_PACKAGES,CROSS_QEMU,QEMU_CPU,CROSS_SIZE_BUDGET_BYTES \
        "$0" "${original_args[@]}"
fi
[ "$(uname -m)" = x86_64 ] || die "expects an x86_64 host (the chroot is amd64)"
case "$CROSS_CACHE" in *[[:space:]]*) die "the cache path must not contain white space: $CROSS_CACHE" ;; esac
mkdir -p "$CROSS_CACHE"

# Per-checkout work directory: the source copy, the build directories and the stripped products.
work=$CROSS_CACHE/work/$(printf '%s' "$repo" | sha256sum | cut -c1-12)
mkdir -p "$work"
printf '%s\n' "$repo" > "$work/repository"

# The local GitHub mirror: the directory the system gitconfig rewrites https://github.com/ to.
gh_mirror=$(git config --system --get-regexp '^url\..*\.insteadof$' 2>/dev/null |
    awk '$2 == "https://github.com/" { sub(/^url\./, "", $1); sub(/\.insteadof$/, "", $1); print $1; exit }')
gh_mirror=${gh_mirror%/}

# --- cleanup: nothing mounted survives this script ----------------------------------------------------------
ns_pid=
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ -n "$ns_pid" ] && kill -0 "$ns_pid" 2>/dev/null; then
        # unshare --fork ignores SIGINT/SIGTERM while it waits, and the namespace's init ignores signals it has no
        # handler for: SIGKILL unshare, and --kill-child SIGKILLs the init, which takes the whole namespace with it.
        kill -KILL "$ns_pid" 2>/dev/null || true
        wait "$ns_pid" 2>/dev/null || true
    fi
    # The chroot's mounts live in a private mount namespace, so there should be none here; unmount any that are
    # (a debootstrap interrupted half-way mounts proc/sys itself), deepest first.
    local m
    findmnt -rn -o TARGET 2>/dev/null | sed 's/\\x20/ /g' | grep -F "$CROSS_CACHE/" | sort -r |
        while IFS= read -r m; do umount -R "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done || true
    if findmnt -rn -o TARGET 2>/dev/null | grep -qF "$CROSS_CACHE/"; then
        echo "build.sh: WARNING: mounts remain under $CROSS_CACHE" >&2
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# safe_rm DIR: rm -rf that refuses when anything is mounted below DIR (a bound /dev must never be emptied).
safe_rm() {
    if findmnt -rn -o TARGET 2>/dev/null | sed 's/\\x20/ /g' | grep -qF "$1/"; then
        die "refusing to delete $1: something is mounted under it (findmnt | grep $1)"
    fi
    rm -rf --one-file-system "$1"
}

# inchroot SCRIPT: runs SCRIPT with bash inside the chroot, in new mount and PID namespaces. /proc, /dev, the
# repository (read-only), the SDK (read-only), the GitHub mirror (read-only) and the work directory are bound at
# their host paths, so paths compiled into the binaries (#filePath) are valid on the host too.
inchroot() {
    local binds=(rw "$work" ro "$repo")
    [ -d "$CROSS_CACHE/sdk" ] && binds+=(ro "$CROSS_CACHE/sdk")
    [ -n "$gh_mirror" ] && [ -d "$gh_mirror" ] && binds+=(ro "$gh_mirror")
    unshare --mount --pid --fork --kill-child --propagation private -- bash -euc '
        root=$1; script=$2; shift 2
        mount -t proc proc "$root/proc"
        mount --rbind /dev "$root/dev"
        while (($#)); do
            mkdir -p "$root$2"
            mount --bind "$2" "$root$2"
            [ "$1" = ro ] && mount -o remount,bind,ro "$root$2"
            shift 2
        done
        exec chroot "$root" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin TERM=dumb LANG=C.UTF-8 \
            bash -euc "$script"
    ' inchroot "$CROSS_CHROOT" "$1" "${binds[@]}" &
    ns_pid=$!
    local status=0
    wait "$ns_pid" || status=$?
    ns_pid=
    return "$status"
}

# --- private apt configurations for the target suites (never the system's sources) ------------------------
# aptopts NAME SUITE ARCHES: prints the apt options of a private configuration; Dir::* paths must be absolute.
aptopts() {
    local d=$CROSS_CACHE/apt-$1 arch
    printf '%s ' -o "Dir::State::Lists=$d/lists" -o "Dir::Cache=$d/cache" \
        -o "Dir::Etc::SourceList=$d/etc/sources.list" -o "Dir::Etc::SourceParts=/dev/null" \
        -o "Dir::Etc::Preferences=/dev/null" -o "Dir::Etc::PreferencesParts=/dev/null" \
        -o "Dir::State::status=$d/status" -o "Acquire::Check-Valid-Until=false" -o "APT::Sandbox::User=root" \
        -o "Acquire::Languages=none"
    for arch in $3; do printf '%s ' -o "APT::Architectures::=$arch"; done
}
# aptupdate NAME SUITE ARCHES: creates the configuration and refreshes its lists (once per cold stage).
aptupdate() {
    local d=$CROSS_CACHE/apt-$1
    mkdir -p "$d/lists/partial" "$d/cache/archives/partial" "$d/etc"
    echo "deb [arch=${3// /,} trusted=yes] $CROSS_MIRROR $2 main" > "$d/etc/sources.list"
    : > "$d/status"   # empty: apt computes the full dependency closure for the target
    # shellcheck disable=SC2046
    apt-get $(aptopts "$@") -q update >/dev/null || die "apt-get update for $2 ($3) from $CROSS_MIRROR failed"
}

# The pinned swiftlang must exist for amd64 (the compiler) AND arm64 (the target's runtime).
check_pinned_swiftlang() {
    local missing=() arch pkg
    aptupdate "$CROSS_SWIFT_SUITE" "$CROSS_SWIFT_SUITE" "amd64 $CROSS_DEB_ARCH"
    # apt-cache show PKG=VERSION exits 0 even when the version is not there: read madison's table instead.
    local table
    # shellcheck disable=SC2046
    table=$(apt-cache $(aptopts "$CROSS_SWIFT_SUITE" "$CROSS_SWIFT_SUITE" "amd64 $CROSS_DEB_ARCH") \
        madison swiftlang libswiftlang "swiftlang:$CROSS_DEB_ARCH" "libswiftlang:$CROSS_DEB_ARCH" 2>/dev/null || true)
    for arch in amd64 "$CROSS_DEB_ARCH"; do
        for pkg in swiftlang libswiftlang; do
            awk -F' *[|] *' -v p="$pkg" -v v="$CROSS_SWIFT_DEB_VERSION" -v a=" $arch Packages" \
                '{ sub(/^ +/, "", $1); sub(/:.*/, "", $1) } $1 == p && $2 == v && index($3, a) { found = 1 } END { exit !found }' \
                <<<"$table" || missing+=("$pkg:$arch")
        done
    done
    if ((${#missing[@]})); then
        local available
        available=$(awk -F' *[|] *' '{ sub(/^ +/, "", $1); n = split($3, w, " "); print $1 " " $2 " (" w[n - 1] ")" }' <<<"$table" |
            sort -u | paste -sd, - | sed 's/,/, /g')
        cat >&2 <<EOF

############################################################################################################
build.sh: ERROR: Debian $CROSS_SWIFT_SUITE no longer has swiftlang $CROSS_SWIFT_DEB_VERSION
  missing: ${missing[*]}
  $CROSS_SWIFT_SUITE has now: ${available:-no swiftlang at all}
The cross build pins the exact version: the amd64 compiler and the arm64 Swift runtime must be the same build.
To move on: set CROSS_SWIFT_DEB_VERSION in cross-compile/config.sh to a version listed above for BOTH amd64 and
arm64, run this script again (it builds a new chroot and SDK), then re-run Tests/scripts/aarch64-smoke.sh and
update docs/cross-compile.md.
############################################################################################################
EOF
        exit 1
    fi
    echo "swiftlang $CROSS_SWIFT_DEB_VERSION is in $CROSS_SWIFT_SUITE for amd64 and $CROSS_DEB_ARCH" >&2
    pinned_checked=1
}

exec 9>"$CROSS_CACHE/.lock"
flock -w 3600 9 || die "another build.sh holds $CROSS_CACHE/.lock"

# --- 0. host tools -------------------------------------------------------------------------------------------
host_missing=()
command -v debootstrap >/dev/null || host_missing+=(debootstrap)
command -v "$CROSS_QEMU" >/dev/null || host_missing+=(qemu-user-static)
if ((${#host_missing[@]})); then
    step "installing ${host_missing[*]} on the host"
    export DEBIAN_FRONTEND=noninteractive
    apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${host_missing[@]}" >/dev/null 2>&1 || {
        apt-get -o DPkg::Lock::Timeout=300 -q update >/dev/null
        apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "${host_missing[@]}" >/dev/null
    }
fi

# --- 1. the sid chroot with the pinned compiler --------------------------------------------------------------
chroot_packages="swiftlang=$CROSS_SWIFT_DEB_VERSION libswiftlang=$CROSS_SWIFT_DEB_VERSION libc6-dev git ca-certificates rsync binutils-aarch64-linux-gnu"
if [ "$(cat "$CROSS_CHROOT/.ok" 2>/dev/null)" != "$chroot_packages" ]; then
    check_pinned_swiftlang
    step "debootstrap $CROSS_SWIFT_SUITE amd64 -> $CROSS_CHROOT"
    safe_rm "$CROSS_CHROOT"
    # In a private mount namespace too: the proc/sys mounts debootstrap makes in the target cannot outlive it.
    unshare --mount --propagation private -- \
        debootstrap --variant=minbase --arch=amd64 "$CROSS_SWIFT_SUITE" "$CROSS_CHROOT" "$CROSS_MIRROR" \
        >"$CROSS_CACHE/debootstrap.log" 2>&1 || { tail -20 "$CROSS_CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CROSS_CACHE/debootstrap.log)"; }
    # The archive's sid Release file may be past its Valid-Until date; the contents are still consistent.
    echo 'Acquire::Check-Valid-Until "false";' > "$CROSS_CHROOT/etc/apt/apt.conf.d/99no-valid-until"
    cp /etc/resolv.conf "$CROSS_CHROOT/etc/resolv.conf" 2>/dev/null || true
    step "apt-get install swiftlang=$CROSS_SWIFT_DEB_VERSION (+ git, rsync, aarch64 binutils) in the chroot"
    inchroot "export DEBIAN_FRONTEND=noninteractive
        apt-get -q update >/dev/null
        apt-get install -y -q --no-install-recommends $chroot_packages >/dev/null
        apt-get clean
        rm -rf /var/lib/apt/lists/*
        swift --version"
    echo "$chroot_packages" > "$CROSS_CHROOT/.ok"
fi
# github.com -> local mirror rewrite, exactly as on the host.
if [ -f /etc/gitconfig ]; then cp /etc/gitconfig "$CROSS_CHROOT/etc/gitconfig"; else rm -f "$CROSS_CHROOT/etc/gitconfig"; fi

# --- 2. the arm64 Swift SDK bundle -----------------------------------------------------------------------------
# The system libraries' apt providers from the manifest, plus the fixed list of config.sh.
dev_packages=$( (grep -o '\.apt(\[[^]]*\])' "$repo/Package.swift" | grep -o '"[^"]*"' | tr -d '"'
    printf '%s\n' $CROSS_DEV_PACKAGES) | sort -u | tr '\n' ' ')
dev_packages=${dev_packages% }
sdk_head="sdk-v2 $CROSS_SWIFT_DEB_VERSION $CROSS_SYSROOT_SUITE"
sdk_ok=$(cat "$CROSS_BUNDLE/.ok" 2>/dev/null || true)
sdk_current=yes
if [ "${sdk_ok%% |*}" != "$sdk_head" ]; then
    sdk_current=no
else
    # The SDK only grows: it is rebuilt (with the union of both lists) when a needed -dev package is missing, so
    # checkouts or branches with different system libraries share one SDK without rebuilding it back and forth.
    for p in $dev_packages; do
        case " ${sdk_ok#* |} " in *" $p "*) ;; *) sdk_current=no ;; esac
    done
    dev_packages=$(printf '%s\n' $dev_packages ${sdk_ok#* |} | sort -u | tr '\n' ' ')
    dev_packages=${dev_packages% }
fi
sdk_key="$sdk_head | $dev_packages"
if [ "$sdk_current" != yes ]; then
    [ -n "${pinned_checked:-}" ] || check_pinned_swiftlang
    step "building the Swift SDK $CROSS_SDK_NAME"
    safe_rm "$CROSS_BUNDLE"; safe_rm "$CROSS_CACHE/debs"
    mkdir -p "$CROSS_SYSROOT" "$CROSS_CACHE/debs"
    aptupdate "$CROSS_SYSROOT_SUITE" "$CROSS_SYSROOT_SUITE" "$CROSS_DEB_ARCH"
    read -ra so <<<"$(aptopts "$CROSS_SYSROOT_SUITE" "$CROSS_SYSROOT_SUITE" "$CROSS_DEB_ARCH")"
    read -ra wo <<<"$(aptopts "$CROSS_SWIFT_SUITE" "$CROSS_SWIFT_SUITE" "amd64 $CROSS_DEB_ARCH")"
    gccv=$(apt-cache "${so[@]}" show "gcc:$CROSS_DEB_ARCH" | sed -n 's/^Depends:.* gcc-\([0-9][0-9]*\) .*/\1/p' | head -1)
    [ -n "$gccv" ] || die "cannot find gcc's version in $CROSS_SYSROOT_SUITE"
    # The full dependency closure for the target, computed against an EMPTY dpkg status.
    targets=()
    for p in libc6-dev "libgcc-$gccv-dev" "libstdc++-$gccv-dev" $dev_packages; do targets+=("$p:$CROSS_DEB_ARCH"); done
    apt-get "${so[@]}" -qq --print-uris --no-install-recommends install "${targets[@]}" |
        awk '{ gsub(/\x27/, "", $2); print $2 }' | grep -E "_($CROSS_DEB_ARCH|all)\.deb$" > "$CROSS_CACHE/debs/closure.txt" ||
        die "cannot resolve the $CROSS_SYSROOT_SUITE closure of ${targets[*]}"
    mapfile -t pkgs < <(awk -F_ '{ a = $3; sub(/\.deb$/, "", a); print (a == "all") ? $1 : $1 ":" a }' "$CROSS_CACHE/debs/closure.txt")
    step "downloading ${#pkgs[@]} $CROSS_SYSROOT_SUITE debs + swiftlang:$CROSS_DEB_ARCH and libswiftlang:$CROSS_DEB_ARCH"
    (cd "$CROSS_CACHE/debs" && apt-get "${so[@]}" -q download "${pkgs[@]}" >/dev/null) || die "download of the $CROSS_SYSROOT_SUITE debs failed"
    (cd "$CROSS_CACHE/debs" && apt-get "${wo[@]}" -q download "swiftlang:$CROSS_DEB_ARCH=$CROSS_SWIFT_DEB_VERSION" \
        "libswiftlang:$CROSS_DEB_ARCH=$CROSS_SWIFT_DEB_VERSION" >/dev/null) || die "download of swiftlang:$CROSS_DEB_ARCH failed"
    step "extracting the sysroot"
    # files.txt: which package put which file into the sysroot (for the static-executable check's messages).
    : > "$CROSS_BUNDLE/files.txt"
    for f in "$CROSS_CACHE"/debs/*.deb; do
        case "$(basename "$f")" in swiftlang_*) continue ;; esac   # libswiftlang_* is extracted whole
        dpkg-deb -x "$f" "$CROSS_SYSROOT"
        pv="$(dpkg-deb -f "$f" Package) $(dpkg-deb -f "$f" Version)"
        dpkg-deb -c "$f" | awk -v pv="$pv" '$6 !~ /\/$/ { sub(/^\./, "", $6); print pv "\t" $6 }' >> "$CROSS_BUNDLE/files.txt"
    done
    # Of the 2 GB swiftlang:arm64, only the target's Swift modules, static libraries and clang headers.
    L=./usr/libexec/swift/lib
    dpkg-deb --fsys-tarfile "$CROSS_CACHE"/debs/swiftlang_*_"$CROSS_DEB_ARCH".deb | tar -x -C "$CROSS_SYSROOT" \
        --exclude="$L/swift/embedded" --exclude="$L/swift/host" --exclude="$L/swift/pm" \
        --exclude="$L/swift/FrameworkABIBaseline" --exclude="$L/swift_static/embedded" \
        --wildcards "$L/swift/*" "$L/swift_static/*" "$L/clang/*"
    rm -rf "$CROSS_CACHE/debs"   # ~560 MB, no longer needed
    # Debian's 6.2.3 ships the Testing+Foundation cross-import overlay without lib_Testing_Foundation.so.
    rm -rf "$CROSS_SYSROOT/usr/libexec/swift/lib/swift/linux/Testing.swiftcrossimport"
    ln -sfn usr/lib "$CROSS_SYSROOT/lib"                                   # merged /usr: /lib/ld-linux-aarch64.so.1
    ln -sfn ../libexec/swift/lib/swift "$CROSS_SYSROOT/usr/lib/swift"      # the 6.2 driver looks for swiftrt.o here
    ln -sfn ../libexec/swift/lib/swift_static "$CROSS_SYSROOT/usr/lib/swift_static"
    printf '{"DisplayName":"%s","Version":"0","VersionMap":{},"CanonicalName":"%s"}\n' "$CROSS_SDK_NAME" "$CROSS_SDK_NAME" \
        > "$CROSS_SYSROOT/SDKSettings.json"
    cat > "$CROSS_BUNDLE/info.json" <<EOF
{ "schemaVersion": "1.0",
  "artifacts": { "$CROSS_SDK_NAME": { "type": "swiftSDK", "version": "$CROSS_SWIFT_DEB_VERSION",
    "variants": [ { "path": "$CROSS_TRIPLE", "supportedTriples": ["x86_64-pc-linux-gnu", "x86_64-unknown-linux-gnu"] } ] } } }
EOF
    cat > "$CROSS_BUNDLE/$CROSS_TRIPLE/swift-sdk.json" <<EOF
{ "schemaVersion": "4.0",
  "targetTriples": { "$CROSS_TRIPLE": {
    "sdkRootPath": "sysroot",
    "swiftResourcesPath": "sysroot/usr/libexec/swift/lib/swift",
    "swiftStaticResourcesPath": "sysroot/usr/libexec/swift/lib/swift_static",
    "toolsetPaths": ["toolset.json"] } } }
EOF
    # lld from the toolchain; the runtime path is Debian's, not the build machine's resource directory.
    cat > "$CROSS_BUNDLE/$CROSS_TRIPLE/toolset.json" <<EOF
{ "schemaVersion": "1.0",
  "swiftCompiler": { "extraCLIOptions": [ "-use-ld=lld", "-no-toolchain-stdlib-rpath",
      "-Xlinker", "-rpath", "-Xlinker", "/usr/libexec/swift/lib/swift/linux" ] } }
EOF
    echo "$sdk_key" > "$CROSS_BUNDLE/.ok"
fi

# --- 3. build inside the chroot --------------------------------------------------------------------------------
# A fully static link needs a static archive (lib*.a) of every C library the package links: the module maps'
# `link "x"` and the manifest's .linkedLibrary("x"), plus zstd and z for libcrypto.a. Checked before building, so
# the mode fails at once, saying which library is missing and which Debian package ships only the shared one.
check_static_archives() {
    local libs lib missing=() owner libdir=$CROSS_SYSROOT/usr/lib/aarch64-linux-gnu
    libs=$( (cat "$repo"/Sources/System/*/module.modulemap 2>/dev/null | sed -n 's/^[[:space:]]*link[[:space:]]*"\([^"]*\)".*/\1/p'
        grep -o '\.linkedLibrary("[^"]*")' "$repo/Package.swift" | sed 's/.*("\(.*\)")/\1/'
        printf '%s\n' zstd z) | sort -u)
    for lib in $libs; do
        [ -e "$libdir/lib$lib.a" ] && continue
        owner=$(awk -F'\t' -v f="/usr/lib/aarch64-linux-gnu/lib$lib.so" '$2 == f { print $1; exit }' "$CROSS_BUNDLE/files.txt")
        missing+=("lib$lib.a: Debian $CROSS_SYSROOT_SUITE's ${owner:-package for lib$lib} ships only the shared lib$lib.so")
    done
    ((${#missing[@]})) || return 0
    {
        echo
        echo "############################################################################################################"
        echo "build.sh: ERROR: --static-executable cannot be built from Debian's packages:"
        printf '  - %s\n' "${missing[@]}"
        echo "A fully static executable takes every library from its static archive, and Debian ships none for the above."
        echo "Getting one means building that library from source for aarch64 (outside this route, which uses Debian's"
        echo "packages only) or leaving the code that links it out of the build. The default mode (static Swift stdlib,"
        echo "system C libraries shared) needs glibc >= 2.38, i.e. Debian 13. See docs/cross-compile.md."
        echo "############################################################################################################"
    } >&2
    exit 1
}
[ "$mode" = static-executable ] && check_static_archives
scratch=$work/scratch-$mode
case "$mode" in
    # -Osize: a firmware image is bounded by flash, and the payment paths are not CPU-bound (docs/cross-compile.md).
    static-stdlib) flags="-c release --static-swift-stdlib -Xswiftc -Osize" ;;
    # libcrypto.a needs zstd and zlib; static glibc has no NSS/dlopen (the firmware uses neither).
    static-executable) flags="-c release --static-swift-stdlib -Xswiftc -Osize -Xswiftc -static-executable -Xlinker -lzstd -Xlinker -lz" ;;
    tests) flags="--build-tests" ;;
esac
# One `swift build` per product: SwiftPM builds only the last of several --product options.
builds=()
if [ "$mode" = tests ]; then builds=(""); else for p in "${products[@]}"; do builds+=("--product $p"); done; fi
build_commands=""
for b in "${builds[@]}"; do
    build_commands+="swift build $flags $b --swift-sdks-path '$CROSS_CACHE/sdk' --swift-sdk '$CROSS_SDK_NAME' --scratch-path '$scratch'
    "
done
build_dir=$scratch/$CROSS_TRIPLE/$([ "$mode" = tests ] && echo debug || echo release)
step "swift build ($mode) for $CROSS_TRIPLE in the chroot"
inchroot "
    # Package.resolved is protected from --delete: a clean clone has none (it is gitignored) and SwiftPM writes one.
    rsync -a --delete --filter='P /Package.resolved' --exclude=/.build --exclude='/.build-*' --exclude='/.build_*' \
        --exclude=/.git --exclude=/.state --exclude=/.swiftpm --exclude=__pycache__ '$repo/' '$work/src/'
    cd '$work/src'
    # SwiftPM reads .pc files itself: the target's, from the sysroot, with their paths moved under it
    # (libpcsclite's Cflags carry -I/usr/include/PCSC).
    export PKG_CONFIG_PATH='$CROSS_SYSROOT/usr/lib/aarch64-linux-gnu/pkgconfig:$CROSS_SYSROOT/usr/share/pkgconfig'
    export PKG_CONFIG_SYSROOT_DIR='$CROSS_SYSROOT'
    $build_commands
"

if [ "$mode" = tests ]; then
    xctest=$(ls -d "$build_dir"/*PackageTests.xctest 2>/dev/null | head -1)
    [ -n "$xctest" ] || die "no *PackageTests.xctest in $build_dir"
    step "tests built"
    echo "xctest: $xctest"
    echo "sysroot: $CROSS_SYSROOT"
    exit 0
fi

# --- 4. strip, copy out, inspect -------------------------------------------------------------------------------
mkdir -p "$work/products/$mode"
strip_script=""
for p in "${products[@]}"; do
    strip_script+="cp '$build_dir/$p' '$work/products/$mode/$p.debug'
        aarch64-linux-gnu-strip --strip-all -o '$work/products/$mode/$p' '$build_dir/$p'
    "
done
inchroot "$strip_script"
mkdir -p "$output"
for p in "${products[@]}"; do
    cp -p "$work/products/$mode/$p" "$work/products/$mode/$p.debug" "$output/"
done
step "done"
for p in "${products[@]}"; do
    if [ "$mode" = static-stdlib ] && [ "$p" = terminal ]; then budget=--budget; else budget=; fi
    "$here/inspect.sh" $budget "$output/$p" || true
done
echo "sysroot (for qemu -L): $CROSS_SYSROOT"
step "total"
