#!/usr/bin/env python3
"""A virtual EMV-like contact card for vsmartcard-vpcd (test support, Python standard library only).

vpcd (the PC/SC reader driver of the `vsmartcard-vpcd` package) listens on TCP; this card CONNECTS to it on
loopback. While the card is connected, pcscd reports a card present in the reader; when the card closes the
connection (or this process ends), pcscd reports it removed.

Usage:
    vpcd_card.py [--port N] [--t0] [--no-quickack] [--lifetime SECONDS]

    --port N        vpcd's port (default 35963, the first slot of Debian's /etc/reader.conf.d/vpcd)
    --t0            answer to reset for T=0 only, and behave like a T=0 card: a case 4 command is answered with
                    `61 xx` (fetch the data with GET RESPONSE) and READ RECORD with a wrong Le with `6C xx`
                    (ISO/IEC 7816-3 §12.2, EMV Book 1 §9.3.1 and Annex A)
    --no-quickack   do not re-arm TCP_QUICKACK (shows the ~40 ms per APDU that Nagle + delayed ACK add)
    --lifetime S    exit after S seconds whatever happens (default 120), so a test that dies leaves no card behind

The vpcd protocol: every message is a 2-byte big-endian length and a payload. A 1-byte payload is a control
message (0x00 power off, 0x01 power on, 0x02 reset, 0x04 get ATR; only 0x04 is answered, with the ATR); any
other payload is a command APDU, answered with one response APDU.

The card knows:
    SELECT by name (00 A4 04 00): the PPSE "2PAY.SYS.DDF01" and the AID A0000000041010
    GET PROCESSING OPTIONS (80 A8): format 2 (tag 77) with an AIP and an AFL of one record
    READ RECORD (00 B2 01 0C): SFI 1 record 1, a made-up record with a public test PAN
    GET RESPONSE (00 C0): the rest of a T=0 answer
Test control (proprietary class 80):
    80 EE 00 00     "pull the card": closes the connection without answering and exits (card removed mid-APDU)

All data is fictitious test data: the PAN is a published test-card number, no real card is involved.
"""
import signal
import socket
import struct
import sys
import time


def tlv(tag: bytes, value: bytes) -> bytes:
    assert len(value) < 0x80
    return tag + bytes([len(value)]) + value


PPSE = b"2PAY.SYS.DDF01"
AID = bytes.fromhex("A0000000041010")
# FCI of the PPSE: 6F { 84 DF name, A5 { BF0C { 61 { 4F AID, 50 label, 87 priority } } } }  (EMV Book 1 §11.3.4)
DIR_ENTRY = tlv(b"\x61", tlv(b"\x4F", AID) + tlv(b"\x50", b"TEST CARD") + tlv(b"\x87", b"\x01"))
PPSE_FCI = tlv(b"\x6F", tlv(b"\x84", PPSE) + tlv(b"\xA5", tlv(b"\xBF\x0C", DIR_ENTRY)))
# FCI of the application, with a PDOL asking for the terminal country code (9F1A, 2 bytes)
AID_FCI = tlv(b"\x6F", tlv(b"\x84", AID) + tlv(b"\xA5", tlv(b"\x50", b"TEST CARD") + tlv(b"\x87", b"\x01")
                                            + tlv(b"\x9F\x38", b"\x9F\x1A\x02")))
# GPO response format 2: 77 { 82 AIP, 94 AFL (SFI 1, records 1..1, 1 for ODA) }  (EMV Book 3 §6.5.8.4)
GPO = tlv(b"\x77", tlv(b"\x82", b"\x19\x80") + tlv(b"\x94", b"\x08\x01\x01\x01"))
# Record 1 of SFI 1: 70 { 57 track 2 equivalent, 5A PAN, 5F24 expiry, 5F20 cardholder name }
RECORD = tlv(b"\x70", tlv(b"\x57", bytes.fromhex("4761739001010010D30122011143804400000F"))
                      + tlv(b"\x5A", bytes.fromhex("4761739001010010"))
                      + tlv(b"\x5F\x24", bytes.fromhex("301231"))
                      + tlv(b"\x5F\x20", b"TEST/CARD"))


def make_atr(t0_only: bool) -> bytes:
    hist = b"EMVTEST"
    if t0_only:                               # TS, T0 (no interface bytes), historical bytes; no TCK for T=0 only
        return b"\x3B" + bytes([len(hist)]) + hist
    body = bytes([0x80 | len(hist), 0x01]) + hist   # T0 (TD1 present), TD1 = T=1, historical bytes
    tck = 0
    for b in body:
        tck ^= b
    return b"\x3B" + body + bytes([tck])      # TCK: XOR of T0..last byte (ISO/IEC 7816-3 §8.2.5)


class Card:
    def __init__(self, t0: bool):
        self.t0 = t0
        self.pending = b""                    # data waiting for GET RESPONSE (T=0)

    def answer(self, data: bytes, le) -> bytes:
        """The response to a command that produced `data` (status 9000), following the transport rules."""
        if self.t0 and data and le is not None:
            # T=0 case 4: the card cannot send data in the same exchange; it says how much is waiting.
            self.pending = data
            return bytes([0x61, min(len(data), 256) & 0xFF])
        return data + b"\x90\x00"

    def handle(self, apdu: bytes) -> bytes:
        if len(apdu) < 4:
            return b"\x67\x00"
        cla, ins, p1, p2 = apdu[:4]
        body = apdu[4:]
        lc, data, le = 0, b"", None
        if len(body) == 1:
            le = body[0]
        elif len(body) > 1:
            lc = body[0]
            data = body[1:1 + lc]
            if len(body) == 1 + lc + 1:
                le = body[-1]
            elif len(body) != 1 + lc:
                return b"\x67\x00"
        if ins == 0xC0 and cla == 0x00:       # GET RESPONSE
            if not self.pending:
                return b"\x69\x85"
            n = 256 if le in (None, 0) else le
            if le not in (None, 0) and le > len(self.pending):
                return bytes([0x6C, len(self.pending) & 0xFF])
            chunk, self.pending = self.pending[:n], self.pending[n:]
            if self.pending:
                return chunk + bytes([0x61, min(len(self.pending), 256) & 0xFF])
            return chunk + b"\x90\x00"
        self.pending = b""
        if cla == 0x00 and ins == 0xA4 and p1 == 0x04:
            if data == PPSE:
                return self.answer(PPSE_FCI, le)
            if data == AID:
                return self.answer(AID_FCI, le)
            return b"\x6A\x82"
        if cla == 0x80 and ins == 0xA8:
            return self.answer(GPO, le)
        if cla == 0x00 and ins == 0xB2:
            if p1 != 1 or p2 != 0x0C:
                return b"\x6A\x83"
            if self.t0 and le != len(RECORD) & 0xFF:
                return bytes([0x6C, len(RECORD)])   # wrong length: resend with Le = xx
            return RECORD + b"\x90\x00"
        return b"\x6D\x00"


QUICKACK = getattr(socket, "TCP_QUICKACK", None)


def recv_exact(s, n, quickack):
    buf = b""
    while len(buf) < n:
        if QUICKACK is not None and quickack:
            # vpcd writes the length and the APDU in two send() calls without TCP_NODELAY: Nagle plus our delayed
            # ACK would add ~40 ms per APDU. TCP_QUICKACK is not sticky on Linux, so re-arm it before every recv.
            s.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError
        buf += chunk
    return buf


def main():
    args = sys.argv[1:]
    port = 35963
    if "--port" in args:
        port = int(args[args.index("--port") + 1])
    t0 = "--t0" in args
    lifetime = int(args[args.index("--lifetime") + 1]) if "--lifetime" in args else 120
    signal.alarm(lifetime)                    # SIGALRM's default action ends the process
    quickack = "--no-quickack" not in args
    atr = make_atr(t0)
    card = Card(t0)
    s = None
    deadline = time.monotonic() + 10
    while s is None:                          # vpcd may not be listening yet
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=2)
        except OSError:
            if time.monotonic() > deadline:
                sys.exit("vpcd not reachable on 127.0.0.1:%d" % port)
            time.sleep(0.05)
    s.settimeout(None)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    print("card connected to 127.0.0.1:%d atr=%s" % (port, atr.hex()), flush=True)
    try:
        while True:
            (n,) = struct.unpack("!H", recv_exact(s, 2, quickack))
            msg = recv_exact(s, n, quickack)
            if n == 1:
                if msg[0] == 0x04:
                    s.sendall(struct.pack("!H", len(atr)) + atr)
                continue
            if msg[:4] == b"\x80\xEE\x00\x00":
                print("card pulled", flush=True)
                s.close()
                return
            rapdu = card.handle(msg)
            s.sendall(struct.pack("!H", len(rapdu)) + rapdu)   # one write: length and response together
    except (EOFError, ConnectionResetError):
        print("vpcd closed the connection", flush=True)


if __name__ == "__main__":
    main()
