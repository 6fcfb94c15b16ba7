#!/bin/sh
# Checks that the CGPIOD shim (Sources/System/CGPIOD) compiles against BOTH libgpiod APIs:
#   - the 1.6 API installed on this machine (Debian 12 bookworm, libgpiod-dev 1.6.x), when present;
#   - the 2.x API of Debian 13 trixie (libgpiod-dev 2.x), whose headers are fetched with a PRIVATE apt
#     configuration (own lists, cache, sources and an empty status file; the system's apt sources are never
#     touched; recipe: /work/shared/research/cross-compile.md section 1.0) and extracted with dpkg-deb -x.
#
# The shim picks its branch at compile time from the header; -DCGPIOD_EXPECT_API_MAJOR=N makes it fail with
# #error when the header it sees is not the API expected, so a header mix-up cannot pass silently.
#
# Idempotent: the extracted headers are cached under $XDG_CACHE_HOME/payment-terminal/gpiod-v2 (or
# /var/cache/payment-terminal/gpiod-v2 when XDG_CACHE_HOME is unset); a second run needs no network.
# Exit status: 0 when the shim compiles against every API checked, non-zero otherwise.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
shim_dir=$(cd "${CGPIOD_SHIM_DIR:-$here/../../Sources/System/CGPIOD}" && pwd)  # override: check another copy
cache_root=${XDG_CACHE_HOME:-/var/cache}/payment-terminal/gpiod-v2
suite=${GPIOD_V2_SUITE:-trixie}
mirror=${GPIOD_V2_MIRROR:-http://deb.debian.org/debian}
arch=$(dpkg --print-architecture)
cc=${CC:-cc}
root=$cache_root/root

fetch_headers() {
    apt_dir=$cache_root/apt
    mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/etc" "$cache_root/debs"
    : > "$apt_dir/status"
    echo "deb [arch=$arch trusted=yes] $mirror $suite main" > "$apt_dir/etc/sources.list"
    # Every Dir::* path is absolute: apt resolves relative ones against its own directories.
    set -- -o Dir::State::Lists="$apt_dir/lists" -o Dir::Cache="$apt_dir/cache" \
        -o Dir::Etc::SourceList="$apt_dir/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null \
        -o Dir::State::status="$apt_dir/status" -o APT::Architectures::="$arch" \
        -o Acquire::Check-Valid-Until=false
    echo "check-gpiod-v2: fetching libgpiod-dev from $suite ($arch) with a private apt configuration"
    apt-get -q -o APT::Sandbox::User=root "$@" update >/dev/null
    (cd "$cache_root/debs" && apt-get -q -o APT::Sandbox::User=root "$@" download "libgpiod-dev:$arch" >/dev/null)
    deb=$(ls "$cache_root/debs"/libgpiod-dev_*.deb | head -n 1)
    rm -rf "$root.tmp"
    dpkg-deb -x "$deb" "$root.tmp"
    rm -rf "$root"
    mv "$root.tmp" "$root"
    # The lists are only needed for the download; keep the cache small.
    rm -rf "$apt_dir/lists" "$apt_dir/cache"
}

header_major() {
    # libgpiod 1.x defines GPIOD_LINE_BULK_MAX_LINES; 2.x has struct gpiod_line_request instead.
    if grep -q 'GPIOD_LINE_BULK_MAX_LINES' "$1"; then echo 1
    elif grep -q 'struct gpiod_line_request' "$1"; then echo 2
    else echo 0; fi
}

compile_shim() { # $1 = include dir holding gpiod.h, $2 = expected API major
    tmp_obj=$(mktemp)
    if "$cc" -std=gnu11 -Wall -Wextra -Werror -DCGPIOD_EXPECT_API_MAJOR="$2" -I"$shim_dir/include" -I"$1" \
        -c "$shim_dir/gpiod_shim.c" -o "$tmp_obj"; then
        rm -f "$tmp_obj"; return 0
    fi
    rm -f "$tmp_obj"; return 1
}

if [ ! -f "$root/usr/include/gpiod.h" ] || [ "$(header_major "$root/usr/include/gpiod.h")" != 2 ]; then
    fetch_headers
fi
v2_header=$root/usr/include/gpiod.h
if [ "$(header_major "$v2_header")" != 2 ]; then
    echo "check-gpiod-v2: FAIL: $v2_header is not a libgpiod 2.x header" >&2
    exit 2
fi
v2_version=$(ls "$cache_root/debs"/libgpiod-dev_*.deb 2>/dev/null | sed -n 's/.*libgpiod-dev_\([^_]*\)_.*/\1/p' | head -n 1)

status=0
if compile_shim "$root/usr/include" 2; then
    echo "check-gpiod-v2: OK: shim compiles against libgpiod 2.x headers (${v2_version:-cached}, $suite)"
else
    echo "check-gpiod-v2: FAIL: shim does not compile against libgpiod 2.x headers ($suite)" >&2
    status=1
fi

if [ -f /usr/include/gpiod.h ]; then
    host_major=$(header_major /usr/include/gpiod.h)
    if compile_shim /usr/include "$host_major"; then
        echo "check-gpiod-v2: OK: shim compiles against the installed libgpiod $host_major.x headers"
    else
        echo "check-gpiod-v2: FAIL: shim does not compile against the installed libgpiod $host_major.x headers" >&2
        status=1
    fi
fi
exit $status
