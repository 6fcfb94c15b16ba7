#!/usr/bin/env bash
# Cross-check of the virtual cards (Sources/Simulators/VirtualCards) against pyemv, the issuer side nobody here wrote:
# ARQCs and TCs of every online-capable profile checked with pyemv from board/sim/test-issuers.toml; ARPCs (method 1)
# and issuer script MACs and enciphered PIN data made by pyemv and accepted by the cards.
#
# The Swift suite VirtualCardsTests.PyEMVCrossCheckTests drives the cards and runs Tests/scripts/vcard_crosscheck/
# peer.py with VCARD_CROSSCHECK_PYTHON; a plain `swift test` skips it.
#
# Environment: SWIFT_SCRATCH_PATH (a --scratch-path for swift), VCARD_CROSSCHECK_CASES (transactions per profile,
# default 40), CRYPTO_CROSSCHECK_VENV (the virtual environment with pyemv; .build/test-venv by default).
# Exit status: 0 when every case matched; non-zero on any mismatch or setup failure.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH; fi
scratch=()
if [ -n "${SWIFT_SCRATCH_PATH:-}" ]; then scratch=(--scratch-path "$SWIFT_SCRATCH_PATH"); fi

venv=${CRYPTO_CROSSCHECK_VENV:-${SWIFT_SCRATCH_PATH:-.build}/test-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -c "import pyemv" 2>/dev/null \
    || "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pyemv==1.5.0"

build_log=$(mktemp /tmp/vcard-crosscheck-build.XXXXXX)
if ! swift build --build-tests "${scratch[@]}" >"$build_log" 2>&1; then
    grep -E "error:" "$build_log" | head -n 20 || tail -n 20 "$build_log"
    rm -f "$build_log"
    echo "vcard cross-check: 0 passed, 1 failed (the build failed)"
    exit 1
fi
rm -f "$build_log"
summary=$(mktemp /tmp/vcard-crosscheck.XXXXXX)
trap 'rm -f "$summary" "$summary.log"' EXIT
status=0
VCARD_CROSSCHECK_PYTHON="$(cd "$venv" && pwd)/bin/python" VCARD_CROSSCHECK_SUMMARY="$summary" \
    swift test --skip-build "${scratch[@]}" --filter 'VirtualCardsTests.PyEMVCrossCheckTests' >"$summary.log" 2>&1 \
    || status=$?
if [ ! -s "$summary" ]; then
    tail -n 40 "$summary.log"
    echo "vcard cross-check: 0 passed, 1 failed"
    exit 1
fi
grep -E "recorded an issue" "$summary.log" | head -n 20 || true
cat "$summary"
if [ "$status" -ne 0 ] || ! tail -n 1 "$summary" | grep -q ', 0 failed$'; then exit 1; fi
