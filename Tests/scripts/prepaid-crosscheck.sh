#!/usr/bin/env bash
# Prepaid purse cross-check: MAC1, MAC2 and TAC of loads and purchases computed by `termtool prepaid` (the firmware's
# PrepaidPurse module) against an independent implementation in Python over the `cryptography` package
# (Tests/scripts/prepaid_crosscheck.py), for random keys and transaction data, plus the published worked examples.
#
# Environment: CRYPTO_CROSSCHECK_VENV (a venv with `cryptography`), SWIFT_SCRATCH_PATH, FUZZ_SEED,
# PREPAID_CROSSCHECK_CASES (default 200).
# Prints `prepaid-crosscheck: N passed, M failed`; exit status 0 when every check passed.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v swift >/dev/null && [ -x /opt/swift/usr/bin/swift ]; then export PATH=/opt/swift/usr/bin:$PATH; fi
scratch=()
if [ -n "${SWIFT_SCRATCH_PATH:-}" ]; then scratch=(--scratch-path "$SWIFT_SCRATCH_PATH"); fi
python=python3
if [ -n "${CRYPTO_CROSSCHECK_VENV:-}" ] && [ -x "$CRYPTO_CROSSCHECK_VENV/bin/python" ]; then
    python="$CRYPTO_CROSSCHECK_VENV/bin/python"
fi
if ! "$python" -c "import cryptography" 2>/dev/null; then
    echo "prepaid-crosscheck: 0 passed, 1 failed ($python lacks cryptography; set CRYPTO_CROSSCHECK_VENV)"
    exit 1
fi
bin=$(swift build "${scratch[@]}" --show-bin-path)
if [ ! -x "$bin/termtool" ]; then swift build "${scratch[@]}" --product termtool >&2; fi
exec "$python" Tests/scripts/prepaid_crosscheck.py "$bin/termtool" "$@"
