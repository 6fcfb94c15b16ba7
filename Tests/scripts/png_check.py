#!/usr/bin/env python3
"""Reads a PNG with Python's struct and zlib only, as an implementation independent of ours: checks the
signature, every chunk's CRC (zlib.crc32), inflates the IDAT data (zlib.decompress), checks the filter bytes, and
prints: width height colour-type crc32-of-the-unfiltered-pixels. Exits non-zero on any defect."""
import struct
import sys
import zlib

data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'\x89PNG\r\n\x1a\n', 'signature'
i, idat, types = 8, b'', []
while i < len(data):
    (length,) = struct.unpack('>I', data[i:i + 4])
    kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + length]
    (crc,) = struct.unpack('>I', data[i + 8 + length:i + 12 + length])
    assert zlib.crc32(kind + body) == crc, 'crc of ' + kind.decode()
    types.append(kind)
    if kind == b'IHDR':
        width, height, depth, color, comp, filt, inter = struct.unpack('>IIBBBBB', body)
        assert (depth, comp, filt, inter) == (8, 0, 0, 0)
    elif kind == b'IDAT':
        idat += body
    i += 12 + length
assert types[0] == b'IHDR' and types[-1] == b'IEND'
raw = zlib.decompress(idat)
row = width * (3 if color == 2 else 1)
assert len(raw) == (row + 1) * height, 'length'
assert all(raw[r * (row + 1)] == 0 for r in range(height)), 'filter'
pixels = b''.join(raw[r * (row + 1) + 1:(r + 1) * (row + 1)] for r in range(height))
print(width, height, color, zlib.crc32(pixels))
