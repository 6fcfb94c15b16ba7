#!/usr/bin/env bash
# Key download cross-check (issue 12 item 4): TR-31 key blocks for a terminal's new DUKPT initial key made with psec
# (PyPI) — good ones and bad ones (usage B0/P0, exportable, mode of use, older version, wrong KBPK, bad MAC, changed
# header, truncated, no KS block) — go through the terminal's KeyStore.replaceDUKPT; the good ones must load psec's
# key (checked by decrypting a PIN block under it), the bad ones must be refused for the right reason with the old
# key kept. The blocks come from Tests/scripts/key_download_psec.py; the Swift test KeyDownloadTests/psecBlocks
# compares. A plain `swift test` skips that one test.
#
# Environment: SWIFT_SCRATCH_PATH, CRYPTO_CROSSCHECK_VENV (the virtual environment with psec, shared with
# crypto-crosscheck.sh), FUZZ_SEED (the blocks' random seed).
# Exit status: 0 when every block was handled as expected.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH; fi
scratch=()
if [ -n "${SWIFT_SCRATCH_PATH:-}" ]; then scratch=(--scratch-path "$SWIFT_SCRATCH_PATH"); fi

venv=${CRYPTO_CROSSCHECK_VENV:-${SWIFT_SCRATCH_PATH:-.build}/crypto-crosscheck-venv}
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check psec==1.3.0 cryptography==50.0.2

log=$(mktemp /tmp/key-download-crosscheck.XXXXXX)
trap 'rm -f "$log"' EXIT
if ! swift build --build-tests "${scratch[@]}" >"$log" 2>&1; then
    grep -E "error:" "$log" | head -n 20 || tail -n 20 "$log"
    echo "key download cross-check: 0 passed, 1 failed (the build failed)"
    exit 1
fi
status=0
KEY_DOWNLOAD_PYTHON="$venv/bin/python" swift test --skip-build "${scratch[@]}" --filter 'KeyDownloadTests' >"$log" 2>&1 || status=$?
line=$(grep -E "key download psec cross-check: [0-9]+ of [0-9]+" "$log" | tail -n 1 || true)
passed=$(sed -E 's/.*: ([0-9]+) of ([0-9]+).*/\1/' <<<"$line")
total=$(sed -E 's/.*: ([0-9]+) of ([0-9]+).*/\2/' <<<"$line")
if [ -z "$line" ] || [ "$status" -ne 0 ]; then
    grep -E "✘|error" "$log" | head -n 20 || true
    echo "key download cross-check: ${passed:-0} passed, $(( ${total:-1} - ${passed:-0} > 0 ? ${total:-1} - ${passed:-0} : 1 )) failed"
    exit 1
fi
echo "key download cross-check: $passed passed, $((total - passed)) failed"
[ "$passed" -eq "$total" ]
