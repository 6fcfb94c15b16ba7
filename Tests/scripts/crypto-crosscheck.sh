#!/usr/bin/env bash
# Randomized cross-check of the PaymentCrypto module against the PyPI peers pyemv and psec (issue 3):
# PIN blocks 0/3/4, TR-31 B and D, retail MAC, CBC-MAC, ARQC, ARPC 1 and 2, session keys, ICC master key option A,
# at least 1000 random cases each, compared byte for byte.
#
# This script only provides the peers: it makes a virtual environment with pinned versions, then runs the Swift
# test suite PaymentCryptoTests.CrossCheckTests with CRYPTO_CROSSCHECK_PYTHON pointing at it. The Swift test makes the
# cases, runs Tests/scripts/crypto_crosscheck/peer.py and compares. A plain `swift test` skips that suite.
# (The PyPI `dukpt` package is deliberately not used: it derives wrong keys for counters >= 0x200.)
#
# Environment: SWIFT_SCRATCH_PATH (a --scratch-path for swift), CRYPTO_CROSSCHECK_CASES (cases per function,
# default 1000), CRYPTO_CROSSCHECK_VENV (where the virtual environment lives).
# Exit status: 0 when every case matched; non-zero on any mismatch or setup failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH; fi
scratch=()
if [ -n "${SWIFT_SCRATCH_PATH:-}" ]; then scratch=(--scratch-path "$SWIFT_SCRATCH_PATH"); fi

venv=${CRYPTO_CROSSCHECK_VENV:-${SWIFT_SCRATCH_PATH:-.build}/crypto-crosscheck-venv}
pins=(pyemv==1.5.0 psec==1.3.0 cryptography==50.0.2)
if [ ! -x "$venv/bin/python" ]; then
    if ! python3 -m venv "$venv" 2>/dev/null; then
        # Debian's python3 ships venv separately.
        apt-get -o DPkg::Lock::Timeout=300 install -y -q python3-venv >/dev/null
        python3 -m venv "$venv"
    fi
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"

build_log=$(mktemp /tmp/crypto-crosscheck-build.XXXXXX)
if ! swift build --build-tests "${scratch[@]}" >"$build_log" 2>&1; then
    grep -E "error:" "$build_log" | head -n 20 || tail -n 20 "$build_log"
    rm -f "$build_log"
    echo "crypto cross-check: 0 passed, 1 failed (the build failed)"
    exit 1
fi
rm -f "$build_log"
summary=$(mktemp /tmp/crypto-crosscheck.XXXXXX)
trap 'rm -f "$summary"' EXIT
status=0
CRYPTO_CROSSCHECK_PYTHON="$(cd "$venv" && pwd)/bin/python" CRYPTO_CROSSCHECK_SUMMARY="$summary" \
    swift test --skip-build "${scratch[@]}" --filter 'PaymentCryptoTests.CrossCheckTests' >"$summary.log" 2>&1 || status=$?
if [ ! -s "$summary" ]; then
    tail -n 40 "$summary.log"
    rm -f "$summary.log"
    echo "crypto cross-check: 0 passed, 1 failed"
    exit 1
fi
grep -E "recorded an issue" "$summary.log" | head -n 20 || true
rm -f "$summary.log"
cat "$summary"
if [ "$status" -ne 0 ] || ! tail -n 1 "$summary" | grep -q ', 0 failed$'; then exit 1; fi
