#!/usr/bin/env python3
"""An independent TLS client (Python's ssl module) for the Uplink tests: connects to HOST:PORT, verifies the server
against CA, optionally presents CERT/KEY, sends one 2-byte-length-framed message (hex) and prints the framed
response as hex, or `error: ExceptionName` on failure.

usage: tls_client.py HOST PORT CA_PEM MESSAGE_HEX [CERT_PEM KEY_PEM]"""
import socket
import ssl
import struct
import sys


def main() -> int:
    host, port, ca, message = sys.argv[1], int(sys.argv[2]), sys.argv[3], bytes.fromhex(sys.argv[4])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(ca)
    if len(sys.argv) > 6:
        context.load_cert_chain(sys.argv[5], sys.argv[6])
    try:
        with socket.create_connection((host, port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname=host) as tls:
                tls.sendall(struct.pack(">H", len(message)) + message)
                header = b""
                while len(header) < 2:
                    chunk = tls.recv(2 - len(header))
                    if not chunk:
                        raise ConnectionError("closed")
                    header += chunk
                (length,) = struct.unpack(">H", header)
                body = b""
                while len(body) < length:
                    chunk = tls.recv(length - len(body))
                    if not chunk:
                        raise ConnectionError("closed")
                    body += chunk
                print(tls.version(), body.hex())
                return 0
    except Exception as error:  # the test asserts on the failure, so report it instead of a traceback
        print(f"error: {type(error).__name__}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
