#!/usr/bin/env bash
# Cross-check of EMV offline data authentication (EMVKernel, EMV Book 2) against vectors made outside our code:
# Tests/scripts/oda_crosscheck/oda_peer.py generates CA, issuer and ICC keys with the PyPI `cryptography` package,
# builds issuer and ICC certificates, SDA, DDA and CDA signed data and an enciphered offline PIN byte by byte in
# Python, signs with raw RSA in Python, and adds mutated copies with the failure the terminal must report.
#
# Checks, one count each:
#   1. Python's own Book 2 verifier agrees with the committed vectors (Tests/scripts/oda_crosscheck/oda-vectors.txt).
#   2. Swift (EMVKernelTests.ODACrossCheckTests) agrees with the committed vectors (plain `swift test` runs it too).
#   3. A fresh set with new keys: Python's verifier agrees with it, and
#   4. Swift agrees with it (ODA_VECTORS points the test at the fresh file).
#
# Environment: CRYPTO_CROSSCHECK_VENV (a venv with `cryptography`; else python3), SWIFT_SCRATCH_PATH.
# Exit status: 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH; fi
scratch=()
if [ -n "${SWIFT_SCRATCH_PATH:-}" ]; then scratch=(--scratch-path "$SWIFT_SCRATCH_PATH"); fi
python=python3
if [ -n "${CRYPTO_CROSSCHECK_VENV:-}" ] && [ -x "$CRYPTO_CROSSCHECK_VENV/bin/python" ]; then
    python="$CRYPTO_CROSSCHECK_VENV/bin/python"
fi
peer=Tests/scripts/oda_crosscheck/oda_peer.py
committed=Tests/scripts/oda_crosscheck/oda-vectors.txt
if ! "$python" -c "import cryptography" 2>/dev/null; then
    echo "oda cross-check: 0 passed, 1 failed ($python has no 'cryptography'; set CRYPTO_CROSSCHECK_VENV)"
    exit 1
fi

work=$(mktemp -d /tmp/oda-crosscheck.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
check() { # name, command...
    local name=$1
    shift
    if "$@" >"$work/log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: $name"
        grep -E "FAIL|recorded an issue|error:" "$work/log" | head -n 20 || tail -n 20 "$work/log"
    fi
}

check "python verifier, committed vectors" "$python" "$peer" verify "$committed"
"$python" "$peer" make >"$work/fresh.txt"
check "python verifier, fresh vectors" "$python" "$peer" verify "$work/fresh.txt"

if ! swift build --build-tests "${scratch[@]}" >"$work/build.log" 2>&1; then
    grep -E "error:" "$work/build.log" | head -n 20 || tail -n 20 "$work/build.log"
    echo "oda cross-check: $passed passed, $((failed + 1)) failed (the build failed)"
    exit 1
fi
check "swift, committed vectors" swift test --skip-build "${scratch[@]}" --filter 'EMVKernelTests.ODACrossCheckTests'
check "swift, fresh vectors" env ODA_VECTORS="$work/fresh.txt" \
    swift test --skip-build "${scratch[@]}" --filter 'EMVKernelTests.ODACrossCheckTests'

echo "oda cross-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
