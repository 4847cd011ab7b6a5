"""A DNS server on loopback (UDP) for the resolver tests: ``silent`` never answers (a hung
resolver), otherwise every A question is answered with ``address``. It counts the queries
it received, so a test can see that the lookup really went to it."""

from __future__ import annotations

import socket
import struct
import threading


class DnsServer:
    def __init__(self, *, silent: bool = False, address: str = "127.0.0.1"):
        self.silent, self.address = silent, address
        self.queries: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"dou://127.0.0.1:{self.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="dns-server")

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                packet, peer = self.sock.recvfrom(4096)
            except TimeoutError:
                continue
            except OSError:
                return
            name, qtype, end = _question(packet)
            self.queries.append(name)
            if self.silent:
                continue
            self.sock.sendto(self._answer(packet, qtype, end), peer)

    def _answer(self, packet: bytes, qtype: int, end: int) -> bytes:
        ident = packet[:2]
        answers = b""
        count = 0
        if qtype == 1:  # A
            count = 1
            answers = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4)
                       + socket.inet_aton(self.address))
        header = ident + struct.pack(">HHHHH", 0x8180, 1, count, 0, 0)
        return header + packet[12:end] + answers

    def __enter__(self) -> DnsServer:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()


def _question(packet: bytes) -> tuple[str, int, int]:
    """The first question's name, type, and the offset just past it."""
    labels, at = [], 12
    while at < len(packet) and packet[at]:
        length = packet[at]
        labels.append(packet[at + 1 : at + 1 + length].decode("ascii", "replace"))
        at += 1 + length
    at += 1
    qtype = struct.unpack(">H", packet[at : at + 2])[0] if at + 2 <= len(packet) else 0
    return ".".join(labels), qtype, at + 4
