#!/usr/bin/env python3
"""Cross-check of our ISO 8583 host protocol codec against pyiso8583 (PyPI), configured from docs/host-interface.md.

For every message type of the protocol (requests and responses), many seeded random messages: their mandatory
fields and a random subset of the conditional ones, each value random within the field's format. Then per message:
  1. `termtool iso8583 pack` packs it; pyiso8583 encodes the same values: the bytes must be equal;
  2. pyiso8583 decodes our bytes: every value must come back;
  3. `termtool iso8583 unpack --reveal` decodes pyiso8583's bytes: the text form must be the input's.
Then the typed builders' messages of every MTI (`termtool iso8583 samples`): pyiso8583 decodes and re-encodes each
to the same bytes, and its fields are those the §4 tables allow, mandatory ones present.
Prints `iso8583-crosscheck: N passed, M failed`; exit status 1 on any failure.

  iso8583_crosscheck.py TERMTOOL [--cases N] [--seed S]
  iso8583_crosscheck.py --bench HEX [--number N]   time pyiso8583 encode and decode of one message
"""
import argparse
import random
import subprocess
import sys
import timeit
import warnings

import iso8583
from pyemv import mac as pyemv_mac

warnings.filterwarnings("ignore", module="pyemv")  # its TDES deprecation notices

# The MAC key of `termtool iso8583 samples` and docs/host-interface.md §12 (a published test key).
SAMPLE_MAC_KEY = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")

# The field table of docs/host-interface.md §3, written in pyiso8583's terms. Numeric and track 2 fields are BCD with
# lengths counted in nibbles (digits); text is ASCII; LLVAR prefixes are one BCD byte, LLLVAR two.
FIELDS = {
    # number: (format, length kind, max length)   format: n, z (track 2), an, ans, b, tlv
    2: ("n", "LL", 19), 3: ("n", "", 6), 4: ("n", "", 12), 7: ("n", "", 10), 11: ("n", "", 6),
    12: ("n", "", 6), 13: ("n", "", 4), 14: ("n", "", 4), 15: ("n", "", 4), 22: ("n", "", 3), 23: ("n", "", 3),
    25: ("n", "", 2), 35: ("z", "LL", 37), 37: ("an", "", 12), 38: ("an", "", 6), 39: ("an", "", 2),
    41: ("ans", "", 8), 42: ("ans", "", 15), 49: ("n", "", 3), 52: ("b", "", 8), 53: ("b", "LL", 12),
    54: ("ans", "LLL", 120), 55: ("tlv", "LLL", 255), 60: ("n", "", 6), 61: ("ans", "LLL", 34),
    62: ("ans", "LLL", 999), 63: ("ans", "LLL", 999), 64: ("b", "", 8), 70: ("n", "", 3), 72: ("b", "LLL", 999), 90: ("n", "", 42),
    128: ("b", "", 8),
}
RIGHT_PADDED = {2: "F", 35: "F"}  # the PAN and track 2 are left-justified, F-padded; other numerics 0-padded left


def make_spec():
    spec = {
        "h": {"data_enc": "ascii", "len_enc": "ascii", "len_type": 0, "max_len": 0, "desc": "no header"},
        "t": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 2, "desc": "MTI, BCD"},
        "p": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 8, "desc": "Primary bitmap"},
        "1": {"data_enc": "b", "len_enc": "ascii", "len_type": 0, "max_len": 8, "desc": "Secondary bitmap"},
    }
    for number, (fmt, kind, max_len) in FIELDS.items():
        entry = {"len_enc": "bcd", "len_type": {"": 0, "LL": 1, "LLL": 2}[kind], "max_len": max_len,
                 "desc": f"field {number}"}
        if fmt in ("n", "z"):
            entry.update(data_enc="b", len_count="nibbles")
            if number in RIGHT_PADDED:
                entry["right_pad"] = RIGHT_PADDED[number]
            else:
                entry["left_pad"] = "0"
        elif fmt in ("an", "ans"):
            entry["data_enc"] = "ascii"
        else:
            entry["data_enc"] = "b"
        spec[str(number)] = entry
    return spec


SPEC = make_spec()

# Per MTI: mandatory fields, conditional/optional fields (docs/host-interface.md §4).
COMMON = [3, 7, 11, 12, 13, 22, 25, 41, 42, 60, 62]
CARD = [2, 14, 23, 55]
PROFILES = {
    "0100": (COMMON + [2, 4, 49, 64], [14, 23, 35, 52, 53, 55]),
    "0110": ([3, 7, 11, 12, 13, 25, 39, 41, 42, 60, 62, 64], [4, 49, 37, 38, 54, 55]),
    "0200": (COMMON + [64], [2, 4, 49, 14, 23, 35, 52, 53, 55, 61]),
    "0210": ([3, 7, 11, 12, 13, 25, 39, 41, 42, 60, 62, 64], [4, 49, 37, 38, 54, 55]),
    "0220": (COMMON + [2, 4, 39, 49, 64], [14, 23, 38, 55, 61]),
    "0221": (COMMON + [2, 4, 39, 49, 64], [14, 23, 38, 55, 61]),
    "0230": ([3, 4, 7, 11, 12, 13, 25, 39, 41, 42, 49, 60, 62, 64], [37]),
    "0320": (COMMON + [39, 64], [2, 4, 49, 14, 23, 37, 38, 55, 61]),
    "0330": ([3, 7, 11, 12, 13, 25, 39, 41, 42, 60, 62, 64], [4, 49]),
    "0400": (COMMON + [90, 128], [2, 4, 49, 14, 23, 55, 61]),
    "0401": (COMMON + [90, 128], [2, 4, 49, 14, 23, 55, 61]),
    "0410": ([3, 7, 11, 12, 13, 25, 39, 41, 42, 60, 62, 90, 128], [4, 49]),
    "0420": (COMMON + [90, 128], [2, 4, 49, 14, 23, 55, 61]),
    "0421": (COMMON + [90, 128], [2, 4, 49, 14, 23, 55, 61]),
    "0430": ([3, 7, 11, 12, 13, 25, 39, 41, 42, 60, 62, 90, 128], [4, 49]),
    "0500": ([3, 7, 11, 12, 13, 41, 42, 60, 63, 64], []),
    "0510": ([3, 7, 11, 12, 13, 39, 41, 42, 60, 63, 64], [15]),
    "0800": ([7, 11, 41, 70], [42, 63]),
    "0810": ([7, 11, 39, 41, 70], [12, 13, 42, 63, 72]),
}

TLV_TAGS = ["9F26", "9F27", "9F10", "9F37", "9F36", "95", "9A", "9C", "9F02", "5F2A", "82", "9F1A", "9F33",
            "9F34", "9F5B", "91", "8A"]


def random_tlv(rng, limit):
    out = ""
    while True:
        tag = rng.choice(TLV_TAGS)
        value = rng.randbytes(rng.randint(0, 16)).hex().upper()
        item = tag + f"{len(value) // 2:02X}" + value
        if (len(out) + len(item)) // 2 > limit or rng.random() < 0.08:
            return out or "9F3704" + rng.randbytes(4).hex().upper()
        out += item


def random_value(number, rng):
    fmt, kind, max_len = FIELDS[number]
    length = max_len if kind == "" else rng.randint(1 if number in (2, 35) else 0, max_len)
    if fmt == "n":
        return "".join(rng.choice("0123456789") for _ in range(length))
    if fmt == "z":
        return "".join(rng.choice("0123456789=") for _ in range(length))
    if fmt == "an":
        return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ")
                       for _ in range(length))
    if fmt == "ans":
        text = "".join(chr(rng.randint(0x20, 0x7E)) for _ in range(length))
        return text
    if fmt == "b":
        return rng.randbytes(length).hex().upper()
    return random_tlv(rng, rng.randint(4, max_len))


def random_message(mti, rng):
    mandatory, conditional = PROFILES[mti]
    fields = {n: random_value(n, rng) for n in mandatory}
    for n in conditional:
        if rng.random() < 0.5:
            fields[n] = random_value(n, rng)
    if mti in ("0400", "0401", "0420", "0421", "0410", "0430"):
        fields.pop(64, None)
    return fields


def to_pyiso(mti, fields):
    doc = {"t": mti}
    for n, value in fields.items():
        doc[str(n)] = value.replace("=", "D") if FIELDS[n][0] == "z" else value
    return doc


def text_block(mti, fields):
    return "\n".join([f"mti {mti}"] + [f"{n} {fields[n]}" for n in sorted(fields)])


def run_termtool(termtool, args, stdin):
    done = subprocess.run([termtool, "iso8583", *args], input=stdin, capture_output=True, text=True, timeout=600)
    return done.stdout


def crosscheck(termtool, cases, seed):
    rng = random.Random(seed)
    messages = [(mti, random_message(mti, rng)) for mti in PROFILES for _ in range(cases)]
    ours = run_termtool(termtool, ["pack"], "\n\n".join(text_block(m, f) for m, f in messages) + "\n").splitlines()
    if len(ours) != len(messages):
        print(f"termtool pack printed {len(ours)} lines for {len(messages)} messages", file=sys.stderr)
        return 0, len(messages)
    theirs = []
    passed = failed = 0
    problems = []
    for (mti, fields), our_hex in zip(messages, ours):
        ok = True
        try:
            encoded, _ = iso8583.encode(dict(to_pyiso(mti, fields)), SPEC)
            their_hex = bytes(encoded).hex().upper()
        except Exception as error:  # a value our generator made that pyiso8583 refuses
            problems.append(f"{mti}: pyiso8583 encode: {error}")
            their_hex = ""
            ok = False
        theirs.append(their_hex or "00")
        if our_hex != their_hex:
            ok = False
            problems.append(f"{mti}: bytes differ\n  ours   {our_hex[:160]}\n  theirs {their_hex[:160]}")
        else:
            try:
                decoded, _ = iso8583.decode(bytes.fromhex(our_hex), SPEC)
                expected = to_pyiso(mti, fields)
                for key, value in expected.items():
                    if decoded.get(key, None) != value:
                        ok = False
                        problems.append(f"{mti}: pyiso8583 decodes field {key} differently")
                extra = [k for k in decoded if k not in expected and k not in ("p", "1", "h")]
                if extra:
                    ok = False
                    problems.append(f"{mti}: pyiso8583 decodes extra fields {extra}")
            except Exception as error:
                ok = False
                problems.append(f"{mti}: pyiso8583 decode of our bytes: {error}")
        passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    # Our decoder on pyiso8583's bytes.
    blocks = run_termtool(termtool, ["unpack", "--reveal"], "\n".join(theirs) + "\n").split("\n\n")
    for index, ((mti, fields), block) in enumerate(zip(messages, blocks)):
        if block.strip("\n") != text_block(mti, fields):
            problems.append(f"{mti}: termtool unpack of pyiso8583's bytes differs:\n{block[:300]}")
            passed, failed = (passed - 1, failed + 1) if index < len(messages) else (passed, failed)
    if len(blocks) != len(messages):
        problems.append(f"termtool unpack printed {len(blocks)} messages for {len(messages)}")
        failed += 1
    for problem in problems[:20]:
        print(problem, file=sys.stderr)
    return passed, failed


def check_samples(termtool):
    """The typed builders' messages (`termtool iso8583 samples`: every MTI, requests and host responses): pyiso8583
    decodes each and re-encodes it to the same bytes, and each has the mandatory fields of docs/host-interface.md §4
    and nothing outside its mandatory and conditional fields."""
    passed = failed = mac_checked = 0
    lines = run_termtool(termtool, ["samples"], "").splitlines()
    for line in lines:
        name, _, hex_message = line.rpartition(" ")
        try:
            data = bytes.fromhex(hex_message)
            decoded, _ = iso8583.decode(data, SPEC)
            again = bytes(iso8583.encode({k: v for k, v in decoded.items() if k not in ("p", "1")}, SPEC)[0])
            mandatory, conditional = PROFILES[decoded["t"]]
            present = {int(k) for k in decoded if k.isdigit() and k != "1"}
            missing = set(mandatory) - present
            if decoded["t"] in ("0400", "0401", "0420", "0421", "0410", "0430"):
                missing -= {64}
            extra = present - set(mandatory) - set(conditional)
            if again != data or missing or extra:
                raise ValueError(f"re-encoded equal: {again == data}, missing {sorted(missing)}, extra {sorted(extra)}")
            if not decoded["t"].startswith("08"):
                # §11: the MAC (last 8 bytes, field 64 or 128) is pyemv's ISO 9797-1 algorithm 3, padding 2, over the
                # message from the MTI up to the MAC, under the documented test key.
                expected = pyemv_mac.mac_iso9797_3(SAMPLE_MAC_KEY[:8], SAMPLE_MAC_KEY[8:], data[:-8], 2)
                last = max(int(k) for k in decoded if k.isdigit())
                if last not in (64, 128) or expected[:8] != data[-8:]:
                    raise ValueError(f"MAC: last field {last}, ours {data[-8:].hex()}, pyemv {expected[:8].hex()}")
                mac_checked += 1
            passed += 1
        except Exception as error:
            failed += 1
            print(f"sample {name}: {error}", file=sys.stderr)
    if not lines:
        print("termtool iso8583 samples printed nothing", file=sys.stderr)
        failed += 1
    if mac_checked == 0:
        print("no sample carried a MAC to check with pyemv", file=sys.stderr)
        failed += 1
    return passed, failed


def bench(hex_message, number):
    data = bytes.fromhex(hex_message)
    decoded, _ = iso8583.decode(data, SPEC)
    doc = {k: v for k, v in decoded.items() if k not in ("p", "1")}
    encode = timeit.timeit(lambda: iso8583.encode(dict(doc), SPEC), number=number) / number
    decode = timeit.timeit(lambda: iso8583.decode(data, SPEC), number=number) / number
    assert bytes(iso8583.encode(dict(doc), SPEC)[0]) == data, "pyiso8583 does not re-encode the message"
    print(f"pyiso8583 {iso8583.__version__ if hasattr(iso8583, '__version__') else ''} ({len(data)} bytes)")
    print(f"encode: {encode * 1e6:.2f} µs per message ({number} iterations)")
    print(f"decode: {decode * 1e6:.2f} µs per message")
    print(f"encode + decode: {(encode + decode) * 1e6:.2f} µs")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("termtool", nargs="?")
    parser.add_argument("--cases", type=int, default=100, help="random messages per MTI")
    parser.add_argument("--seed", type=int, default=0x8583)
    parser.add_argument("--bench")
    parser.add_argument("--number", type=int, default=20000)
    args = parser.parse_args()
    if args.bench:
        bench(args.bench, args.number)
        return 0
    passed, failed = crosscheck(args.termtool, args.cases, args.seed)
    sample_passed, sample_failed = check_samples(args.termtool)
    passed, failed = passed + sample_passed, failed + sample_failed
    print(f"iso8583-crosscheck: {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
