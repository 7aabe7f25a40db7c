"""A master played by a test: it answers a replica's handshake, then sends a copy of the test's
choosing, whole, cut short, or a few bytes at a time, so that what a replica does while it
receives a copy, and when the copy is broken, can be seen deterministically.
"""
from __future__ import annotations

import socket

from conformance.replicas import DEADLINE


class FakeMaster:
    """A listening socket on 127.0.0.1; `accept()` takes one replica through its handshake."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(DEADLINE)
        self.port = self.listener.getsockname()[1]
        self.link: socket.socket | None = None

    def close(self) -> None:
        if self.link is not None:
            self.hang_up()
        self.listener.close()

    def accept(self) -> list[list[bytes]]:
        """Wait for the replica, answer each command of its handshake (+PONG, +OK) until
        PSYNC, which is left to answer; returns the commands received."""
        self.link, _ = self.listener.accept()
        self.link.settimeout(DEADLINE)
        self._reader = self.link.makefile("rb")
        received = []
        while True:
            command = self._read_command()
            received.append(command)
            name = command[0].upper()
            if name == b"PSYNC":
                return received
            self.link.sendall(b"+PONG\r\n" if name == b"PING" else b"+OK\r\n")

    def _read_command(self) -> list[bytes]:
        header = self._reader.readline()
        assert header.startswith(b"*"), f"the replica sent {header!r}"
        command = []
        for _ in range(int(header[1:])):
            size = int(self._reader.readline()[1:])
            command.append(self._reader.read(size + 2)[:-2])
        return command

    def send(self, data: bytes) -> None:
        self.link.sendall(data)

    def full_resync(self, replid: str, offset: int, size: int) -> None:
        """+FULLRESYNC, then the copy's header announcing `size` bytes."""
        self.send(f"+FULLRESYNC {replid} {offset}\r\n${size}\r\n".encode())

    def hang_up(self) -> None:
        self._reader.close()  # (else the socket stays open behind it)
        self.link.close()
        self.link = None
