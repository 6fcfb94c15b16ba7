#!/usr/bin/env bash
# Builds and runs the libFuzzer target of the QR codecs (Tests/Fuzz/FuzzQRCodecs.swift): EMVCo MPM and CPM parsers,
# Base64, code classification, with round trips and "no crash" as the properties.
#
# Compiles Sources/Codecs/*.swift, Sources/Codecs/QR/*.swift and the driver into one executable with
# `swiftc -sanitize=fuzzer,address -parse-as-library` (SwiftPM cannot declare a fuzzer product).
#
# Usage:  Tests/Fuzz/run-fuzz-qr.sh                      200000 runs (-runs=200000)
#         Tests/Fuzz/run-fuzz-qr.sh -max_total_time=600   ten minutes instead
# Seeds: the published EMVCo MPM sample and CPM examples. A crashing input is kept in Tests/Fuzz/FailCases/.
# Exit status: libFuzzer's (0 = nothing found).
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v swiftc >/dev/null && [ -x /opt/swift/usr/bin/swiftc ]; then export PATH=/opt/swift/usr/bin:$PATH; fi

work=$(mktemp -d /tmp/qr-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "== building the QR fuzz target" >&2
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name QRCodecsFuzz \
    Sources/Codecs/*.swift Sources/Codecs/QR/*.swift Tests/Fuzz/FuzzQRCodecs.swift -o "$work/fuzz-qr-codecs"

mkdir -p "$work/corpus" Tests/Fuzz/FailCases
printf '%s' '00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A60086670902ME91320016A0112233449988770708123456786304A13A' >"$work/corpus/mpm"
printf '%s' 'hQVDUFYwMWETTwegAAAAVVVVUAhQcm9kdWN0MWETTwegAAAAZmZmUAhQcm9kdWN0MmJJWggSNFZ4kBI0WF8gDkNBUkRIT0xERVIvRU1WXy0IcnVlc2RlZW5kIZ8QBwYBCgMAAACfJghYT9OF+iNLzJ82AgABnzcEbVjvEw==' >"$work/corpus/cpm"
printf '%s' 'hQVDUFYwMWEaTwegAAAAVVVVVw8SNFZ4kBI0WNGRIgESNF8=' >"$work/corpus/cpm-track2"
printf '%s' '134567890123456789' >"$work/corpus/wechat"
printf '%s' '284567890123456789' >"$work/corpus/alipay"
python3 -c "import base64,sys; sys.stdout.buffer.write(base64.b64decode(sys.argv[1]))" \
    'hQVDUFYwMWETTwegAAAAVVVVUAhQcm9kdWN0MWETTwegAAAAZmZmUAhQcm9kdWN0MmJJWggSNFZ4kBI0WF8gDkNBUkRIT0xERVIvRU1WXy0IcnVlc2RlZW5kIZ8QBwYBCgMAAACfJghYT9OF+iNLzJ82AgABnzcEbVjvEw==' >"$work/corpus/cpm-bytes"

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-runs=200000)
echo "== fuzzing: ${args[*]}" >&2
status=0
"$work/fuzz-qr-codecs" -max_len=1024 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Tests/Fuzz/FailCases/ "${args[@]}" "$work/corpus" || status=$?
rmdir Tests/Fuzz/FailCases 2>/dev/null || echo "crashing inputs kept in Tests/Fuzz/FailCases/" >&2
exit $status
