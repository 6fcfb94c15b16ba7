#!/usr/bin/env python3
"""TR-31 key blocks for a terminal's key download, made with psec (PyPI), for KeyDownloadTests.

Prints one case a line: `label kbpk-hex ipek-hex ksn-hex block expected`, where `expected` is what the terminal must
do with the block when its key block protection key is kbpk and its PIN key is at key version 01 (`replaced`, or the
refusal: not-authentic, malformed, wrong-attributes, not-newer). `ipek-hex` is the clear initial key (TEST keys made
here at random) so the test can check the key that came into force. Usage: key_download_psec.py SEED
"""
import random
import sys
import warnings

warnings.filterwarnings("ignore")  # cryptography's TDES deprecation notices
import psec  # noqa: E402

rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 1)


def hexbytes(n):
    return bytes(rng.getrandbits(8) for _ in range(n))


def case(label, header, expected, kbpk=None, wrap_kbpk=None, mangle=None):
    kbpk = kbpk or hexbytes(16)
    ipek = hexbytes(16)
    block = psec.tr31.wrap(kbpk=wrap_kbpk or kbpk, header=header, key=ipek)
    if mangle:
        block = mangle(block)
    ksn = header.split("KS18")[1][:20] if "KS18" in header else "-"
    print(label, kbpk.hex().upper(), ipek.hex().upper(), ksn, block, expected)


for i in range(8):
    ksn = "FFFF" + hexbytes(5).hex().upper() + "E00000"
    # Key version 02..99: newer than the 01 in force.
    version = "%02d" % rng.randint(2, 99)
    case(f"good-{i}", f"B0000B1TX{version}N0100KS18{ksn}", "replaced")
ksn = "FFFF1234567890E00000"
case("bdk-B0", f"B0000B0TX05N0100KS18{ksn}", "wrong-attributes")
case("pin-P0", "B0000P0TE05N0000", "wrong-attributes")
case("exportable", f"B0000B1TX05E0100KS18{ksn}", "wrong-attributes")
case("mode-of-use-E", f"B0000B1TE05N0100KS18{ksn}", "wrong-attributes")
case("older-version", f"B0000B1TX01N0100KS18{ksn}", "not-newer")
case("version-00", f"B0000B1TX00N0100KS18{ksn}", "not-newer")
case("wrong-kbpk", f"B0000B1TX05N0100KS18{ksn}", "not-authentic", wrap_kbpk=hexbytes(16))
case("bad-mac", f"B0000B1TX05N0100KS18{ksn}", "not-authentic",
     mangle=lambda b: b[:-1] + ("0" if b[-1] != "0" else "1"))
case("changed-header", f"B0000B1TX05N0100KS18{ksn}", "not-authentic",
     mangle=lambda b: b[:20] + ("0" if b[20] != "0" else "1") + b[21:])
case("truncated", f"B0000B1TX05N0100KS18{ksn}", "malformed", mangle=lambda b: b[:-16])
case("no-KS-block", "B0000B1TX05N0000", "malformed")
