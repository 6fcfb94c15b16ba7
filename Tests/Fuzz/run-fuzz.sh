#!/usr/bin/env bash
# Builds and runs a libFuzzer target of module Codecs, with "parsed => re-serializes to the same bytes" and "no crash"
# as the properties. FUZZ_TARGET picks it:
#   emv (default)  Tests/Fuzz/FuzzEMVCodecs.swift: BER-TLV, DOLs, APDUs and the T=0 exchange layer; seeds.txt
#   iso8583        Tests/Fuzz/FuzzISO8583.swift: ISO 8583 unpack/pack under the host protocol's field table;
#                  seeds-iso8583.txt
#
# SwiftPM cannot declare a fuzzer product without a Package.swift change, so this compiles Sources/Codecs/ (with ISO8583/)
# and the driver into one executable with `swiftc -sanitize=fuzzer,address -parse-as-library`.
#
# Usage:  Tests/Fuzz/run-fuzz.sh                     one million runs (-runs=1000000)
#         Tests/Fuzz/run-fuzz.sh -max_total_time=600  ten minutes instead
#         Tests/Fuzz/run-fuzz.sh ARGS...              any libFuzzer flags (they replace the default -runs)
# The seed corpus comes from the seeds file above (one hex input a line). A crashing input is
# kept in Tests/Fuzz/FailCases/ (turn it into a unit test, then delete it). Exit status: libFuzzer's (0 = nothing
# found).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v swiftc >/dev/null && [ -x /opt/swift/usr/bin/swiftc ]; then export PATH=/opt/swift/usr/bin:$PATH; fi

case "${FUZZ_TARGET:-emv}" in
    emv) driver=Tests/Fuzz/FuzzEMVCodecs.swift seeds=Tests/Fuzz/seeds.txt max_len=512 ;;
    iso8583) driver=Tests/Fuzz/FuzzISO8583.swift seeds=Tests/Fuzz/seeds-iso8583.txt max_len=1024 ;;
    *) echo "FUZZ_TARGET is emv or iso8583" >&2; exit 2 ;;
esac

work=$(mktemp -d /tmp/emv-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== building the fuzz target ($driver)" >&2
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name CodecsFuzz \
    Sources/Codecs/*.swift Sources/Codecs/ISO8583/*.swift "$driver" -o "$work/fuzz-codecs"

mkdir -p "$work/corpus" Tests/Fuzz/FailCases
python3 - "$work/corpus" "$seeds" <<'PY'
import pathlib, sys
out = pathlib.Path(sys.argv[1])
for number, line in enumerate(pathlib.Path(sys.argv[2]).read_text().splitlines()):
    line = line.split("#", 1)[0].replace(" ", "")
    if line:
        (out / f"seed{number}").write_bytes(bytes.fromhex(line))
PY

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-runs=1000000)
echo "== fuzzing: ${args[*]}" >&2
status=0
"$work/fuzz-codecs" -max_len=$max_len -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Tests/Fuzz/FailCases/ "${args[@]}" "$work/corpus" || status=$?
rmdir Tests/Fuzz/FailCases 2>/dev/null || echo "crashing inputs kept in Tests/Fuzz/FailCases/" >&2
exit $status
