#!/usr/bin/env bash
# Randomized cross-check of the ISO 8583 host protocol codec (Codecs/ISO8583 + Uplink/HostDialect) against the PyPI
# peer pyiso8583, configured from the field table of docs/host-interface.md: for every MTI of the protocol, seeded
# random messages are packed by `termtool iso8583 pack` and by pyiso8583 and compared byte for byte, decoded by
# pyiso8583 from our bytes, and decoded by `termtool iso8583 unpack` from pyiso8583's bytes. The MAC of every sample
# message but network management is recomputed with pyemv (ISO 9797-1 algorithm 3, padding 2; §11).
#
# Environment: SWIFT_SCRATCH_PATH (a --scratch-path for swift), ISO8583_CROSSCHECK_CASES (messages per MTI, default
# 100), ISO8583_CROSSCHECK_SEED, CRYPTO_CROSSCHECK_VENV (the virtual environment Tests/run made; else one is made
# under .build/iso8583-crosscheck-venv).
# Prints `iso8583-crosscheck: N passed, M failed`; exit status 0 only when every message matched.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH; fi
scratch=()
if [ -n "${SWIFT_SCRATCH_PATH:-}" ]; then scratch=(--scratch-path "$SWIFT_SCRATCH_PATH"); fi

venv=${CRYPTO_CROSSCHECK_VENV:-${SWIFT_SCRATCH_PATH:-.build}/iso8583-crosscheck-venv}
pins=(pyiso8583==4.0.1 pyemv==1.5.0)
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c 'import iso8583, pyemv' 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
fi

build_log=$(mktemp /tmp/iso8583-crosscheck-build.XXXXXX)
trap 'rm -f "$build_log"' EXIT
if ! swift build --product termtool "${scratch[@]}" >"$build_log" 2>&1; then
    grep -E "error:" "$build_log" | head -n 20 || tail -n 20 "$build_log"
    echo "iso8583-crosscheck: 0 passed, 1 failed (the build failed)"
    exit 1
fi
termtool="$(swift build --show-bin-path "${scratch[@]}")/termtool"
exec "$venv/bin/python" Tests/scripts/iso8583_crosscheck.py "$termtool" \
    --cases "${ISO8583_CROSSCHECK_CASES:-100}" --seed "${ISO8583_CROSSCHECK_SEED:-34179}"
