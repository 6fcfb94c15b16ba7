#!/usr/bin/env bash
# QR cross-check: payloads the terminal builds (`termtool qr mpm`, libqrencode) rendered to PNG and read back by
# zbarimg (Debian zbar-tools) and zxing-cpp (PyPI), byte for byte; segno (PyPI) encodes the same payloads and both
# readers must get the same bytes from its symbols; the payloads' CRC and character-counted lengths are re-checked in
# Python. Details in Tests/scripts/qr_crosscheck.py.
#
# Environment: CRYPTO_CROSSCHECK_VENV (a venv with zxing-cpp, segno and pillow; Tests/run installs them),
# SWIFT_SCRATCH_PATH, FUZZ_SEED (the random payloads' seed).
# Prints `qr-crosscheck: N passed, M failed`; exit status 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH; fi
scratch=()
if [ -n "${SWIFT_SCRATCH_PATH:-}" ]; then scratch=(--scratch-path "$SWIFT_SCRATCH_PATH"); fi
python=python3
if [ -n "${CRYPTO_CROSSCHECK_VENV:-}" ] && [ -x "$CRYPTO_CROSSCHECK_VENV/bin/python" ]; then
    python="$CRYPTO_CROSSCHECK_VENV/bin/python"
fi
if ! "$python" -c "import zxingcpp, segno, PIL" 2>/dev/null; then
    echo "qr-crosscheck: 0 passed, 1 failed ($python lacks zxing-cpp, segno or pillow; set CRYPTO_CROSSCHECK_VENV)"
    exit 1
fi
if ! command -v zbarimg >/dev/null; then
    echo "qr-crosscheck: 0 passed, 1 failed (no zbarimg: apt-get install zbar-tools)"
    exit 1
fi
bin=$(swift build "${scratch[@]}" --show-bin-path)
if [ ! -x "$bin/termtool" ]; then swift build "${scratch[@]}" --product termtool >&2; fi
exec "$python" Tests/scripts/qr_crosscheck.py "$bin/termtool" "$@"
