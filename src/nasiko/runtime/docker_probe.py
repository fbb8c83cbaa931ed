"""Where a container's processes listen, read from its ``/proc/net/tcp{,6}``.

Used when an agent does not answer on the port the platform gave it: an agent that ignores
``$PORT`` is found on the port it chose, and one that binds only its own loopback (unreachable
from outside its container) is reported as such instead of timing out.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

_LISTEN = "0A"
PROC_FILES = ("/proc/net/tcp", "/proc/net/tcp6")


@dataclass(frozen=True, slots=True)
class Listener:
    host: str
    port: int

    @property
    def loopback_only(self) -> bool:
        return self.host.startswith("127.") or self.host in ("::1", "::ffff:127.0.0.1")


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, struct.pack("<I", struct.unpack(">I", raw)[0]))
    # IPv6: four 32-bit words, each in host (little-endian) order.
    words = struct.unpack(">4I", raw)
    return socket.inet_ntop(socket.AF_INET6, struct.pack("<4I", *words))


def parse_proc_net_tcp(text: str) -> list[Listener]:
    """Listening sockets in the text of ``/proc/net/tcp`` and/or ``/proc/net/tcp6``."""
    out: list[Listener] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[3] != _LISTEN or ":" not in fields[1]:
            continue
        hex_addr, hex_port = fields[1].rsplit(":", 1)
        try:
            listener = Listener(_address(hex_addr), int(hex_port, 16))
        except ValueError:
            continue
        if listener not in out:
            out.append(listener)
    return out
