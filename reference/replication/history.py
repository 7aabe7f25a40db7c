"""A replication history: its id, and the backlog of its last bytes (spec/replication.md,
"Replication ids and offsets"); and the history an RDB file says it belongs to."""
from __future__ import annotations

import os

from reference.persistence import rdb_load
from reference.persistence.rdb import OPCODE_AUX

NO_ID = "0" * 40


def new_replication_id() -> str:
    return os.urandom(20).hex()


class Backlog:
    """The last `repl-backlog-size` bytes of the stream: `first` is the offset of its first
    byte (offsets count from 1, as Redis's)."""

    def __init__(self, first: int):
        self.data = bytearray()
        self.first = first

    def append(self, chunk: bytes, size: int) -> None:
        self.data += chunk
        extra = len(self.data) - size
        if extra > 0:
            del self.data[:extra]
            self.first += extra

    def covers(self, offset: int) -> bool:
        """Can the stream be sent from `offset` (the first byte wanted) on?"""
        return self.first <= offset <= self.first + len(self.data)

    def since(self, offset: int) -> bytes:
        return bytes(self.data[offset - self.first:])


def history_in_rdb(path: str) -> tuple[int, str, int] | None:
    """(repl-stream-db, repl-id, repl-offset) from the AUX fields at the head of an RDB file, if
    it has all three (and it was loaded: a file that does not load stopped the start)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64 * 1024)  # AUX fields come first, and are short
    except OSError:
        return None
    reader = rdb_load.Reader(head)
    aux = {}
    try:
        if reader.read(5) != b"REDIS":
            return None
        reader.read(4)
        while reader.byte() == OPCODE_AUX:
            name = reader.string()
            aux[name] = reader.string()
    except rdb_load.RDBLoadError:
        pass
    try:
        replid, offset = aux[b"repl-id"].decode(), int(aux[b"repl-offset"])
        stream_db = int(aux[b"repl-stream-db"])
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
    if len(replid) != 40 or offset < 0 or stream_db < 0:
        return None
    return stream_db, replid, offset


def stream_db_of(aux: dict) -> int:
    try:
        return max(int(aux.get(b"repl-stream-db", b"0")), 0)
    except ValueError:
        return 0
