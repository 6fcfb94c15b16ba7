#!/usr/bin/env bash
# Prints what a cross-built binary costs and needs, and checks it against the firmware's rules (issue 7):
#   cross-compile/inspect.sh [--budget] BINARY
# BINARY is the stripped binary; BINARY.debug, when present, is the same link unstripped (symbols).
#   size        stripped size; with --budget, OK/FAIL against $CROSS_SIZE_BUDGET_BYTES (20 MB)
#   linkage     dynamic (with its loader) or fully static
#   needed      the shared libraries it needs (readelf -d NEEDED): the board's OS must provide them
#   glibc       the newest glibc symbol version it needs = the oldest userland it runs on
#   foundation  full Foundation must not be linked: no libFoundation*.so / lib_FoundationICU.so in NEEDED, no
#               symbols of the Foundation, FoundationInternationalization or _FoundationICU modules, and no ICU
#               data (~30-40 MB) in the file. FoundationEssentials (no ICU) is allowed.
#   modules     symbol bytes per Swift module / C part (from BINARY.debug), largest first
# Exit status: 0 when every check holds, 1 when full Foundation is linked or the size is over budget.
# Uses only readelf (GNU binutils' readelf reads any ELF machine) and grep: no aarch64 tools needed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=config.sh
. "$here/config.sh"

budget=0
[ "${1:-}" = --budget ] && { budget=1; shift; }
bin=${1:?usage: inspect.sh [--budget] BINARY}
[ -f "$bin" ] || { echo "inspect.sh: no such file: $bin" >&2; exit 2; }
debug=$bin.debug
[ -f "$debug" ] || debug=$bin
name=$(basename "$bin")
status=0

size=$(stat -c %s "$bin")
mib=$(awk -v b="$size" 'BEGIN { printf "%.2f", b / 1048576 }')
mb=$(awk -v b="$size" 'BEGIN { printf "%.2f", b / 1000000 }')
machine=$(readelf -h "$bin" | sed -n 's/^ *Machine: *//p')
line="$name size: $size bytes ($mb MB, $mib MiB) stripped, $machine"
if ((budget)); then
    if ((size <= CROSS_SIZE_BUDGET_BYTES)); then
        line+="; footprint budget $CROSS_SIZE_BUDGET_BYTES bytes: OK"
    else
        line+="; footprint budget $CROSS_SIZE_BUDGET_BYTES bytes: FAIL (over by $((size - CROSS_SIZE_BUDGET_BYTES)) bytes)"
        status=1
    fi
fi
echo "$line"

interp=$(readelf -lW "$bin" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
if [ -n "$interp" ]; then echo "$name linkage: dynamic, loader $interp"; else echo "$name linkage: fully static (no loader)"; fi

needed=$(readelf -dW "$bin" | sed -n 's/.*(NEEDED).*Shared library: \[\(.*\)\]/\1/p' | tr '\n' ' ')
echo "$name needed: ${needed:-none}"

glibc=$(readelf -VW "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sort -uV | tail -1 || true)
glibcxx=$(readelf -VW "$bin" | grep -o 'GLIBCXX_[0-9][0-9.]*' | sort -uV | tail -1 || true)
if [ -n "$glibc" ]; then
    echo "$name glibc: needs $glibc${glibcxx:+ and $glibcxx} (Debian 12 has 2.36 and GLIBCXX_3.4.30; Debian 13 has 2.41)"
else
    echo "$name glibc: none needed at run time (glibc linked in)"
fi

# Full Foundation: NEEDED, then symbols (unstripped copy), then the ICU data blob's table of contents.
foundation=()
for lib in $needed; do
    case "$lib" in libFoundation.so* | libFoundationInternationalization.so* | lib_FoundationICU.so* | libicu*) foundation+=("NEEDED $lib") ;; esac
done
symbols=$(readelf -sW "$debug" | awk '$2 ~ /^[0-9a-f]+$/ { print $8 }' |
    grep -E '^\$s10Foundation|^\$s30FoundationInternationalization|^\$s14_FoundationICU|icudt[0-9]+_dat|^u(cal|col|brk|loc|num|dat)_[a-z]+[A-Za-z]*_[0-9]+$' |
    head -5 | tr '\n' ' ' || true)
[ -n "$symbols" ] && foundation+=("symbols: $symbols")
icu_data=$(grep -a -o -m1 'icudt[0-9][0-9]*[lb]' "$bin" | head -1 || true)
[ -n "$icu_data" ] && foundation+=("ICU data ($icu_data) in the file")
if ((${#foundation[@]})); then
    echo "$name foundation: FAIL: full Foundation is linked: ${foundation[*]}"
    status=1
else
    essentials=$(readelf -sW "$debug" | awk '{ print $8 }' | grep -c '^\$s20FoundationEssentials' || true)
    echo "$name foundation: OK: no full Foundation, no FoundationInternationalization, no ICU (FoundationEssentials symbols: $essentials)"
fi

# Symbol bytes per module: Swift symbols by their mangled module name ($s<len><name>, $ss = Swift), the C++
# runtime, and the rest by their C prefix. Only defined symbols with a size; strings and metadata without
# symbols are not counted, so the total is below the file size.
if [ "$debug" != "$bin" ]; then
    echo "$name modules (symbol bytes, from $(basename "$debug")):"
    readelf -sW "$debug" | awk '
        function num(x,   i, v, d) {   # readelf prints sizes above 99999 in hex (0x...)
            if (x !~ /^0x/) return x + 0
            v = 0; x = tolower(substr(x, 3))
            for (i = 1; i <= length(x); i++) { d = index("0123456789abcdef", substr(x, i, 1)) - 1; v = v * 16 + d }
            return v
        }
        $3 ~ /^(0x)?[0-9a-f]+$/ && num($3) > 0 && $7 != "UND" && ($4 == "FUNC" || $4 == "OBJECT") {
            n = $8; sub(/@.*/, "", n); m = ""
            if (n ~ /^_?\$s/) {
                s = n; sub(/^_?\$s/, "", s)
                if (s ~ /^s/ || s ~ /^S[a-zA-Z]/) m = "Swift (stdlib)"
                else if (match(s, /^[0-9]+/)) { len = substr(s, 1, RLENGTH) + 0; m = substr(s, RLENGTH + 1, len) }
                else m = "Swift (other)"
                if (m ~ /^(Swift|_Concurrency|_StringProcessing|SwiftShims|_SwiftConcurrencyShims|Synchronization|RegexBuilder|Dispatch|_Volatile)$/) m = m " (stdlib)"
            } else if (n ~ /^_ZN5swift|^_ZNK5swift|^swift_|^_swift_/) m = "Swift runtime (C++)"
            else if (n ~ /^_Z/) m = "C++ (libstdc++/other)"
            else if (n ~ /^(dispatch_|_dispatch)/) m = "Dispatch (C)"
            else m = "C (other)"
            bytes[m] += num($3); total += num($3)
        }
        END {
            for (m in bytes) printf "%10d %6.2f MiB  %s\n", bytes[m], bytes[m] / 1048576, m | "sort -rn | head -20"
            close("sort -rn | head -20")
            printf "%10d %6.2f MiB  total of sized symbols\n", total, total / 1048576
        }' | sed 's/^/    /'
fi
exit $status
