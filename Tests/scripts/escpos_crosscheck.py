#!/usr/bin/env python3
"""Cross-checks our ESC/POS bytes against python-escpos (an independent implementation, PyPI `python-escpos`).

Usage:
    escpos_crosscheck.py SEGMENTS_FILE   compare; exit 0 = all match, 1 = mismatch, 77 = python-escpos missing
    escpos_crosscheck.py                 print python-escpos's bytes for a built-in sample (for reading by eye)

SEGMENTS_FILE holds one segment per line, written by Tests/LinuxDevicesTests/EscPosTests.swift:
    <kind> <argument> <our bytes as hex>
kinds and arguments:
    init -               ESC @                      python-escpos: hw("INIT")
    align left|center|right                         set(align=...)
    bold 0|1                                        set(bold=...)
    size 1|2             GS ! n                     set(custom_size=True, width=n, height=n)
    text <utf-8 hex>     GB18030 text               text(...) (its magic encoder sends CJK text as GB18030)
    qr <utf-8 hex>:<module size>:<L|M|Q|H>          qr(..., native=True, size=, ec=, model=QR_MODEL_2)
    feed <n>             ESC d n                    print_and_feed(n)
    cut -                GS V 66 0                  cut(feed=False)
"""
import sys

try:
    from escpos import constants
    from escpos.printer import Dummy
except ImportError:
    print("python-escpos is not installed (pip install python-escpos); cross-check skipped", file=sys.stderr)
    sys.exit(77)

EC = {"L": constants.QR_ECLEVEL_L, "M": constants.QR_ECLEVEL_M, "Q": constants.QR_ECLEVEL_Q, "H": constants.QR_ECLEVEL_H}


def reference(kind, argument):
    """The bytes python-escpos emits for one segment."""
    p = Dummy()
    if kind == "init":
        p.hw("INIT")
    elif kind == "align":
        p.set(align=argument)
    elif kind == "bold":
        p.set(bold=argument == "1")
    elif kind == "size":
        n = int(argument)
        p.set(custom_size=True, width=n, height=n)
    elif kind == "text":
        p.text(bytes.fromhex(argument).decode("utf-8"))
    elif kind == "qr":
        payload, size, ec = argument.split(":")
        p.qr(bytes.fromhex(payload).decode("utf-8"), native=True, size=int(size), ec=EC[ec], model=constants.QR_MODEL_2)
    elif kind == "feed":
        p.print_and_feed(int(argument))
    elif kind == "cut":
        p.cut(feed=False)
    else:
        raise ValueError(f"unknown segment kind {kind!r}")
    return p.output


def compare(path):
    failures = 0
    count = 0
    with open(path, encoding="ascii") as segments:
        for number, line in enumerate(segments, 1):
            line = line.strip()
            if not line:
                continue
            kind, argument, ours = line.split(" ")
            theirs = reference(kind, argument)
            count += 1
            if bytes.fromhex(ours) != theirs:
                failures += 1
                print(f"line {number}: {kind} {argument[:40]}: ours {ours[:80]} python-escpos {theirs.hex()[:80]}")
    if count == 0:
        print("no segments to compare")
        return 1
    print(f"{count - failures}/{count} segments match python-escpos")
    return 1 if failures else 0


def sample():
    for kind, argument in [("init", "-"), ("align", "center"), ("bold", "1"), ("size", "2"),
                           ("text", "收据".encode("utf-8").hex()), ("qr", "HELLO".encode("utf-8").hex() + ":6:M"),
                           ("feed", "3"), ("cut", "-")]:
        print(kind, argument, reference(kind, argument).hex(" "))
    return 0


if __name__ == "__main__":
    sys.exit(compare(sys.argv[1]) if len(sys.argv) > 1 else sample())
