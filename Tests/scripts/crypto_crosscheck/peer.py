#!/usr/bin/env python3
"""Answers PaymentCrypto's randomized cross-check cases with the PyPI peers pyemv and psec.

Reads tab-separated case lines from stdin (made by Tests/PaymentCryptoTests/CrossCheckTests.swift) and writes one
answer line per case: the case id, then the peer's results, tab-separated, all bytes as upper-case hex. The Swift
test compares. Lines:

  pin0   id pin pan                      -> id psec_block
  pin3   id pin pan our_block            -> id psec_decoded_pin_of_ours psec_block
  pin4   id pin pan key our_block        -> id psec_decoded_pin_of_ours psec_block psec_pin_field psec_pan_field
  tr31   id kbpk our_block header key    -> id psec_unwrapped_key_of_ours psec_block
  mac3   id key data padding length      -> id psec_mac pyemv_mac
  mac1   id key data padding             -> id psec_mac
  arqc   id sk data padding              -> id pyemv_ac
  arpc1  id sk arqc arc                  -> id pyemv_arpc
  arpc2  id sk arqc csu prop             -> id pyemv_arpc
  sk     id mk r                         -> id pyemv_session_key
  mka    id imk pan psn                  -> id pyemv_icc_mk

Uses no randomness of its own except psec's (TR-31 padding, PIN block fill), whose output the Swift side checks by
unwrapping or decoding. The PyPI `dukpt` package is deliberately not used: it derives wrong keys for counters >= 0x200.
"""
import sys
import warnings

warnings.simplefilter("ignore")  # cryptography >= 43 deprecates TripleDES; pyemv and psec still use it.

from psec import aes as psec_aes  # noqa: E402
from psec import mac as psec_mac  # noqa: E402
from psec import pinblock, tr31  # noqa: E402
from pyemv import ac, kd  # noqa: E402
from pyemv import mac as pyemv_mac  # noqa: E402


def h(b: bytes) -> str:
    return b.hex().upper()


def answer(fields):
    kind, cid, args = fields[0], fields[1], fields[2:]
    if kind == "pin0":
        pin, pan = args
        return [cid, h(pinblock.encode_pinblock_iso_0(pin, pan))]
    if kind == "pin3":
        pin, pan, ours = args
        return [cid, pinblock.decode_pinblock_iso_3(bytes.fromhex(ours), pan), h(pinblock.encode_pinblock_iso_3(pin, pan))]
    if kind == "pin4":
        pin, pan, key, ours = args
        k = bytes.fromhex(key)
        decoded = pinblock.decipher_pinblock_iso_4(k, bytes.fromhex(ours), pan)
        theirs = pinblock.encipher_pinblock_iso_4(k, pin, pan)
        pan_field = pinblock.encode_pan_field_iso_4(pan)
        # Recover psec's clear PIN field (with its random half) so the Swift side can re-encipher it byte for byte.
        block_b = psec_aes.decrypt_aes_ecb(k, theirs)
        pin_field = psec_aes.decrypt_aes_ecb(k, bytes(x ^ y for x, y in zip(block_b, pan_field)))
        return [cid, decoded, h(theirs), h(pin_field), h(pan_field)]
    if kind == "tr31":
        kbpk, ours, header, key = args
        kb = bytes.fromhex(kbpk)
        _, unwrapped = tr31.unwrap(kb, ours)
        theirs = tr31.wrap(kb, header, bytes.fromhex(key))
        return [cid, h(unwrapped), theirs]
    if kind == "mac3":
        key, data, padding, length = args
        k, d, p, n = bytes.fromhex(key), bytes.fromhex(data), int(padding), int(length)
        return [cid, h(psec_mac.generate_retail_mac(k[:8], k[8:], d, p, n)), h(pyemv_mac.mac_iso9797_3(k[:8], k[8:], d, p, n))]
    if kind == "mac1":
        key, data, padding = args
        return [cid, h(psec_mac.generate_cbc_mac(bytes.fromhex(key), bytes.fromhex(data), int(padding), 8, psec_mac.Algorithm.DES))]
    if kind == "arqc":
        sk, data, padding = args
        ptype = ac.PaddingType.VISA if padding == "1" else ac.PaddingType.EMV
        return [cid, h(ac.generate_ac(bytes.fromhex(sk), bytes.fromhex(data), ptype))]
    if kind == "arpc1":
        sk, arqc, arc = args
        return [cid, h(ac.generate_arpc_1(bytes.fromhex(sk), bytes.fromhex(arqc), bytes.fromhex(arc)))]
    if kind == "arpc2":
        sk, arqc, csu, prop = args
        return [cid, h(ac.generate_arpc_2(bytes.fromhex(sk), bytes.fromhex(arqc), bytes.fromhex(csu), bytes.fromhex(prop) or None))]
    if kind == "sk":
        mk, r = args
        return [cid, h(kd.derive_common_sk(bytes.fromhex(mk), bytes.fromhex(r)))]
    if kind == "mka":
        imk, pan, psn = args
        return [cid, h(kd.derive_icc_mk_a(bytes.fromhex(imk), pan, psn))]
    raise ValueError(f"unknown case kind {kind!r}")


def main() -> int:
    out = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if not line:
            continue
        fields = line.split("\t")
        # Empty hex fields are written as "-" so that tab splitting keeps them.
        fields = ["" if f == "-" else f for f in fields]
        try:
            out.append("\t".join(answer(fields)))
        except Exception as e:  # a peer rejection is a mismatch, reported to the Swift side
            out.append("\t".join([fields[1], "ERROR", type(e).__name__]))
    sys.stdout.write("\n".join(out) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
