"""Sends the bytes of one WebSocket check by hand and prints what the server
answers, so that a verdict in README.md can be checked on the wire without
pulsecheck's own client. Python's standard library only.

Usage: ws_wire.py URL CASE [--sent]

CASE is one of:
  version-12      a handshake with Sec-WebSocket-Version: 12; prints the
                  server's whole answer (status line, headers, body)
  non-minimal-16  a masked 20-byte text frame whose length is sent as 16 bits
  non-minimal-64  the same frame with a 64-bit length
  minimal         the same frame with its 7-bit length, for comparison

For the frame cases it prints, as hex, the bytes the server sent after its 101
(the 1 s after the frame, then its answer to a Close 1000), ready for
`pulsecheck decode ws --hex`; with --sent, the client's bytes instead
(`pulsecheck decode ws --hex --from client`).
"""

import base64
import os
import socket
import sys
from urllib.parse import urlsplit

PAYLOAD = b"non-minimal length!!"  # 20 bytes, as the pulsecheck checks send
HEADERS = {
    "minimal": bytes([0x81, 0x80 | 20]),
    "non-minimal-16": bytes([0x81, 0xFE, 0x00, 20]),
    "non-minimal-64": bytes([0x81, 0xFF, 0, 0, 0, 0, 0, 0, 0, 20]),
}


def masked(header: bytes, payload: bytes) -> bytes:
    key = os.urandom(4)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def handshake(url: str, version: str) -> tuple[socket.socket, bytes]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port or 80), timeout=5)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {parts.path or '/'} HTTP/1.1\r\n"
        f"Host: {parts.netloc}\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {version}\r\n\r\n"
    )
    sock.sendall(request.encode())
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return sock, answer


def read_for(sock: socket.socket, seconds: float) -> bytes:
    sock.settimeout(seconds)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, socket.timeout):
        pass
    except ConnectionResetError:
        data += b""
    return data


def main(url: str, case: str, sent: bool) -> int:
    if case == "version-12":
        sock, answer = handshake(url, "12")
        answer += read_for(sock, 1)
        sys.stdout.write(answer.decode("latin-1"))
        return 0
    if case not in HEADERS:
        sys.exit(__doc__)
    sock, answer = handshake(url, "13")
    head, _, rest = answer.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        sys.exit(f"no upgrade: {head.decode('latin-1')}")
    frame = masked(HEADERS[case], PAYLOAD)
    close = masked(bytes([0x88, 0x80 | 2]), (1000).to_bytes(2, "big"))
    sock.sendall(frame)
    received = rest + read_for(sock, 1)
    try:
        sock.sendall(close)
    except (BrokenPipeError, ConnectionResetError):
        pass
    received += read_for(sock, 1)
    print((frame + close if sent else received).hex(" "))
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--sent"]
    if len(args) != 2:
        sys.exit(__doc__)
    sys.exit(main(args[0], args[1], "--sent" in sys.argv))
