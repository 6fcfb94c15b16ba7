#!/usr/bin/env python3
"""The issuer side of the virtual-card cross-check, computed with pyemv (PyPI) from board/sim/test-issuers.toml.

Usage: peer.py ISSUERS_TOML CASES_FILE   (answers on stdout, one line per case line, in order)

Case lines (hex fields; PSN as two digits):
    ac   PAN PSN ATC PADDING INPUT CRYPTOGRAM   -> "ok" or "bad <expected>"   (PADDING 1 or 2, ISO 9797-1 method)
    arpc PAN PSN ATC ARQC ARC                   -> ARPC method 1, hex
    mac  PAN PSN ARQC MESSAGE                   -> 8-byte script MAC, hex (SK_SMI = CSK(MK_SMI, R = ARQC))
    smc  PAN PSN ARQC DATA                      -> DATA enciphered under SK_SMC (TDES-ECB), hex

Keys: ICC master keys by option A (pyemv.kd.derive_icc_mk_a), session keys by the EMV common session key derivation
(pyemv.kd.derive_common_sk). TEST ONLY keys.
"""
import sys
import tomllib

from pyemv import ac, kd, sm, tools


def issuer_for(issuers, pan):
    best = None
    for entry in issuers.values():
        for prefix in entry["pan_prefixes"]:
            if pan.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), entry)
    if best is None:
        raise SystemExit("no issuer for PAN prefix %s" % pan[:6])
    return best[1]


def main():
    with open(sys.argv[1], "rb") as f:
        issuers = tomllib.load(f)["issuers"]
    out = []
    for line in open(sys.argv[2]):
        fields = line.split()
        if not fields:
            continue
        kind, pan, psn = fields[0], fields[1], fields[2]
        issuer = issuer_for(issuers, pan)
        if kind in ("ac", "arpc"):
            mk = kd.derive_icc_mk_a(bytes.fromhex(issuer["imk_ac"]), pan, psn)
            sk = kd.derive_common_sk(mk, bytes.fromhex(fields[3]) + b"\x00" * 6)
            if kind == "ac":
                padding = ac.PaddingType.VISA if fields[4] == "1" else ac.PaddingType.EMV
                expected = ac.generate_ac(sk, bytes.fromhex(fields[5]), padding).hex().upper()
                out.append("ok" if expected == fields[6].upper() else "bad " + expected)
            else:
                out.append(ac.generate_arpc_1(sk, bytes.fromhex(fields[4]), bytes.fromhex(fields[5])).hex().upper())
        elif kind == "mac":
            mk = kd.derive_icc_mk_a(bytes.fromhex(issuer["imk_smi"]), pan, psn)
            sk = kd.derive_common_sk(mk, bytes.fromhex(fields[3]))
            out.append(sm.generate_command_mac(sk, bytes.fromhex(fields[4])).hex().upper())
        elif kind == "smc":
            mk = kd.derive_icc_mk_a(bytes.fromhex(issuer["imk_smc"]), pan, psn)
            sk = kd.derive_common_sk(mk, bytes.fromhex(fields[3]))
            out.append(tools.encrypt_tdes_ecb(sk, bytes.fromhex(fields[4])).hex().upper())
        else:
            raise SystemExit("unknown case kind " + kind)
    print("\n".join(out))


if __name__ == "__main__":
    main()
