#!/usr/bin/env python3
"""QR cross-check against implementations nobody here wrote.

For each payload (the published EMVCo "BEST TRANSPORT / BEIJING" sample, fixed builder cases with and without
Chinese text, and random field sets from a seeded generator):
  1. `termtool qr mpm` builds the payload and renders its QR code (libqrencode) to a PNG;
     Python checks the payload's own structure: two-digit IDs, lengths counted in characters, and the CRC-16/
     CCITT-FALSE computed here over the UTF-8 bytes;
  2. zbarimg (Debian zbar-tools) decodes the PNG to exactly the payload's UTF-8 bytes;
  3. zxing-cpp (PyPI) decodes the PNG to exactly those bytes;
  4. segno (PyPI) encodes the same payload; zbarimg and zxing-cpp decode segno's PNG to the same bytes.
Prints `qr-crosscheck: N passed, M failed`; exit status 1 on any failure.
Usage: qr_crosscheck.py TERMTOOL [--random N] [--seed S]
"""

import argparse
import os
import random
import subprocess
import sys
import tempfile

import segno
import zxingcpp
from PIL import Image

SAMPLE = ("00020101021229300012D156000000000510A93FO3230Q31280012D15600000001030812345678520441115802CN5914BEST "
          "TRANSPORT6007BEIJING64200002ZH0104最佳运输0202北京540523.7253031565502016233030412340603***0708A600866709"
          "02ME91320016A0112233449988770708123456786304A13A")


def crc16_ccitt_false(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


TEMPLATES = set(range(26, 52)) | {62, 64} | set(range(80, 100))


def parse(text: str, nested: bool):
    """ID/length/value triples; lengths count characters (Python str indexes code points)."""
    out, i = [], 0
    while i < len(text):
        ident, length = text[i:i + 2], text[i + 2:i + 4]
        if not (ident.isdigit() and length.isdigit() and len(ident) == 2 and len(length) == 2):
            raise ValueError(f"bad ID/length at {i}")
        value = text[i + 4:i + 4 + int(length)]
        if len(value) != int(length):
            raise ValueError(f"truncated value at {i}")
        children = parse(value, False) if nested and int(ident) in TEMPLATES else None
        out.append((ident, value, children))
        i += 4 + int(length)
    return out


def check_structure(payload: str) -> str | None:
    try:
        objects = parse(payload, True)
    except ValueError as error:
        return str(error)
    if objects[0][:2] != ("00", "01"):
        return "no payload format indicator"
    if objects[-1][0] != "63" or len(objects[-1][1]) != 4:
        return "CRC not last"
    computed = crc16_ccitt_false(payload[:-4].encode("utf-8"))
    if f"{computed:04X}" != objects[-1][1].upper():
        return f"CRC {objects[-1][1]} != computed {computed:04X}"
    return None


def zbar(path: str) -> bytes:
    result = subprocess.run(["zbarimg", "--raw", "-q", "-Sbinary", path], capture_output=True, timeout=60)
    data = result.stdout
    return data[:-1] if data.endswith(b"\n") else data


def zxing(path: str) -> bytes:
    results = zxingcpp.read_barcodes(Image.open(path))
    return bytes(results[0].bytes) if results else b""


def random_case(rng: random.Random) -> list[str]:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz0123456789-&."
    hanzi = "最佳运输北京上海模拟商户咖啡茶餐厅超市便利店书店花店水果"

    def word(alphabet, low, high):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(low, high))).strip()
        return text or alphabet[0]

    args = ["--merchant", word(letters, 1, 25), "--city", word(letters, 1, 15),
            "--mcc", f"{rng.randint(0, 9999):04d}", "--currency", rng.choice(["156", "344", "446", "840"])]
    if rng.random() < 0.9:
        args += ["--amount", f"{rng.randint(1, 9999999) / 100:.2f}"]
    if rng.random() < 0.7:
        args += ["--merchant-zh", word(hanzi, 1, 12), "--city-zh", word(hanzi, 1, 6)]
    if rng.random() < 0.8:
        args += ["--reference", word("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", 1, 25)]
    if rng.random() < 0.5:
        args += ["--terminal", word("ABCDEF0123456789", 1, 8)]
    return args


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("termtool")
    parser.add_argument("--random", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("FUZZ_SEED", "20261127")))
    options = parser.parse_args()
    rng = random.Random(options.seed)
    cases = [["--merchant", "x", "--city", "x", "--raw", SAMPLE],
             ["--amount", "23.72", "--merchant", "BEST TRANSPORT", "--city", "BEIJING", "--merchant-zh", "最佳运输",
              "--city-zh", "北京", "--reference", "QR0123456789ABCDEFGHIJKLM", "--terminal", "SIM00001"],
             ["--amount", "0.01", "--merchant", "Demo Shop", "--city", "Shanghai", "--reference", "QR1"],
             ["--merchant", "Static Shop", "--city", "Shenzhen"]]
    cases += [random_case(rng) for _ in range(options.random)]
    passed = failed = 0
    with tempfile.TemporaryDirectory() as work:
        for number, args in enumerate(cases):
            ours = os.path.join(work, f"ours-{number}.png")
            theirs = os.path.join(work, f"segno-{number}.png")
            run = subprocess.run([options.termtool, "qr", "mpm", *args, "--png", ours], capture_output=True,
                                 text=True, timeout=60)
            if run.returncode != 0:
                print(f"case {number}: termtool failed: {run.stderr.strip()} args={args}")
                failed += 1
                continue
            payload = run.stdout.splitlines()[0]
            expected = payload.encode("utf-8")
            segno.make(payload, encoding="utf-8", error="m", micro=False).save(theirs, scale=4, border=4)
            checks = {
                "structure and CRC": check_structure(payload),
                "zbarimg reads ours": None if zbar(ours) == expected else "zbarimg decoded other bytes",
                "zxing-cpp reads ours": None if zxing(ours) == expected else "zxing-cpp decoded other bytes",
                "zbarimg reads segno": None if zbar(theirs) == expected else "zbarimg decoded segno's differently",
                "zxing-cpp reads segno": None if zxing(theirs) == expected else "zxing-cpp decoded segno's differently",
            }
            for name, problem in checks.items():
                if problem is None:
                    passed += 1
                else:
                    failed += 1
                    print(f"case {number} ({name}): {problem}; payload {payload!r}")
    print(f"qr-crosscheck: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
