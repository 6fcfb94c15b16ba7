#!/usr/bin/env bash
# The layering rules of docs/ARCHITECTURE.md, checked on the sources:
# - no firmware module imports Foundation (the static stdlib plus Foundation costs ~40 MB);
# - the pure modules (Codecs, DeviceKit, TerminalUI, the app's Flow) import no libc, no C module and no driver;
# - each C module is imported by its one wrapper only.
set -euo pipefail
cd "$(dirname "$0")/../.."
fail=0
complain() { echo "check-layers: $*"; fail=1; }
imports() { grep -rhoE '^(@preconcurrency |public |internal |package )?import [A-Za-z_]+' "$@" | awk '{print $NF}' | sort -u; }

for module in $(imports Sources); do
    case "$module" in Foundation|FoundationEssentials|FoundationNetworking) complain "Sources import $module: $(grep -rlE "import $module\$" Sources | tr '\n' ' ')";; esac
done
for pure in Sources/Codecs Sources/Update/UpdatePackage Sources/Kernels Sources/Devices/DeviceKit Sources/Terminal/TerminalUI Sources/Terminal/TerminalApp/Flow; do
    for module in $(imports "$pure"); do
        case "$module" in
            Glibc|Musl|Darwin|SystemPackage|LinuxDevices|CLinux|CGPIOD|CSQLite|COpenSSL|Store|Uplink|Logging)
                complain "$pure is pure but imports $module";;
        esac
    done
done
# Kernels sit above codecs and crypto only: no store, no uplink, no devices, no application.
for module in $(imports Sources/Kernels); do
    case "$module" in
        Codecs|PaymentCrypto|EMVKernel|ContactlessKernel|PrepaidPurse|Testing) ;;
        *) complain "Sources/Kernels imports $module (kernels may import Codecs, PaymentCrypto and each other only)";;
    esac
done
# Simulators (virtual cards, the acquirer simulator) never reach into the application.
for module in $(imports Sources/Simulators); do
    case "$module" in TerminalApp|TerminalUI|terminal) complain "Sources/Simulators imports $module";; esac
done
# Updates sit beside the store: the package codec and the installer never reach into devices, uplink or the app.
for module in $(imports Sources/Update); do
    case "$module" in
        Codecs|PaymentCrypto|Store|UpdatePackage|Updater|Glibc|Musl) ;;
        *) complain "Sources/Update imports $module (updates may import Codecs, PaymentCrypto, Store and libc only)";;
    esac
done
owner() { # C module, the one folder allowed to import it
    local hits; hits=$(grep -rlE "^(@preconcurrency |public |internal |package )?import $1\$" Sources | grep -v "^$2/" || true)
    [ -z "$hits" ] || complain "$1 is imported outside $2: $hits"
}
owner COpenSSL Sources/Crypto
owner CSQLite Sources/Store
owner CGPIOD Sources/Devices/LinuxDevices
if [ $fail -eq 0 ]; then echo "check-layers: 1 passed, 0 failed"; else echo "check-layers: 0 passed, 1 failed"; fi
exit $fail
