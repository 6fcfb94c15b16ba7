#!/usr/bin/env bash
# Builds and runs the libFuzzer target of the update package parser (Tests/Fuzz/FuzzUpdatePackage.swift): container
# header, payload layout, manifest, versions, with round trips and "no crash" as the properties.
#
# Compiles Sources/Codecs/*.swift (the TOML reader) and the pure files of Sources/Update/UpdatePackage (all but
# Keyring.swift, which needs libcrypto) into one module, their `import Codecs` lines removed, with
# `swiftc -sanitize=fuzzer,address -parse-as-library` (SwiftPM cannot declare a fuzzer product).
#
# Usage:  Tests/Fuzz/run-fuzz-update.sh                      500000 runs (-runs=500000)
#         Tests/Fuzz/run-fuzz-update.sh -max_total_time=600   ten minutes instead
# Seeds: a package with a manifest of every role, the manifest alone, versions. A crashing input is kept in
# Tests/Fuzz/FailCases/. Exit status: libFuzzer's (0 = nothing found); the last line gives the number of inputs run.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v swiftc >/dev/null && [ -x /opt/swift/usr/bin/swiftc ]; then export PATH=/opt/swift/usr/bin:$PATH; fi

work=$(mktemp -d /tmp/update-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src" "$work/corpus" Tests/Fuzz/FailCases
for file in FirmwareVersion UnverifiedUpdatePackage UpdateManifest UpdatePackageError; do
    grep -vE '^(public )?import Codecs$' "Sources/Update/UpdatePackage/$file.swift" >"$work/src/$file.swift"
done

echo "== building the update package fuzz target" >&2
swiftc -sanitize=fuzzer,address -parse-as-library -O -g -module-name UpdatePackageFuzz \
    Sources/Codecs/*.swift "$work"/src/*.swift Tests/Fuzz/FuzzUpdatePackage.swift -o "$work/fuzz-update-package"

python3 - "$work/corpus" <<'PY'
import hashlib, struct, sys
out = sys.argv[1]
files = [("bin/terminal", "firmware", b"#!/bin/sh\necho terminal 1.0.0\n"), ("systemd/terminal.service", "unit", b"[Service]\n"),
         ("board/sim/board.toml", "parameters", b"name = \"sim\"\n"), ("NOTES.txt", "notes", b"no migration\n")]
manifest = 'format = 1\nproduct = "payment-terminal"\nboards = ["sim", "rpi4"]\nversion = "1.2.3"\nminimum-version = "1.0.0"\nsecurity-counter = 4\n'
for i, (path, role, data) in enumerate(files):
    manifest += f'\n[payload.f{i}]\npath = "{path}"\nrole = "{role}"\nsize = {len(data)}\nsha256 = "{hashlib.sha256(data).hexdigest()}"\n'
m = manifest.encode()
sig = bytes([1]) + bytes(range(8)) + bytes([64]) + bytes(64)
package = b"TRMPKG" + bytes([1, 1]) + struct.pack(">I", len(m)) + m + sig + b"".join(d for _, _, d in files)
open(f"{out}/package", "wb").write(package)
open(f"{out}/package-unsigned", "wb").write(b"TRMPKG" + bytes([1, 0]) + struct.pack(">I", len(m)) + m + b"".join(d for _, _, d in files))
open(f"{out}/manifest", "wb").write(m)
open(f"{out}/version", "wb").write(b"12.0.7")
PY

args=("$@")
[ ${#args[@]} -gt 0 ] || args=(-runs=500000)
echo "== fuzzing: ${args[*]}" >&2
status=0
"$work/fuzz-update-package" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Tests/Fuzz/FailCases/ "${args[@]}" "$work/corpus" 2>&1 | tee "$work/log" | grep -E "^(#[0-9]+ +(INITED|DONE)|stat::number_of_executed_units|==.*ERROR|SUMMARY)" >&2 || status=${PIPESTATUS[0]}
grep -q "stat::number_of_executed_units" "$work/log" && echo "update-package fuzz: $(grep stat::number_of_executed_units "$work/log" | awk '{print $2}') inputs run"
rmdir Tests/Fuzz/FailCases 2>/dev/null || echo "crashing inputs kept in Tests/Fuzz/FailCases/" >&2
exit $status
