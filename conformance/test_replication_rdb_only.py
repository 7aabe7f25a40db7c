"""REPLCONF rdb-only and rdb-filter-only (spec/replication.md): a client that asks for the copy
only gets it and is then disconnected, never the stream; one that filters for functions gets a
copy without keys (and its functions: neither server under test has any here). `redis-cli
--rdb` and `--functions-rdb` ask that way: their files must load, the first holding the
master's data in the same records as the master's own SAVE writes.
"""
from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess

import pytest

from conformance import rdb_bytes
from conformance.readings import info
from conformance.replicas import DEADLINE, fill, wait_for

pytestmark = pytest.mark.internals("the RDB format, log lines")

UNKNOWN_PORT = "127.0.0.1:<unknown-replica-port>"
RDB_ONLY_DONE = f"RDB transfer completed, rdb only replica ({UNKNOWN_PORT}) should be disconnected asap"


def log_text(server) -> str:
    with open(server.log_path, "rb") as log:
        return log.read().decode("utf-8", "replace")


class Link:
    """A connection speaking the replication protocol by hand."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)
        self.pending = b""

    def send(self, *words) -> None:
        words = [w if isinstance(w, bytes) else str(w).encode() for w in words]
        self.sock.sendall(b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words))

    def _more(self) -> bytes:
        chunk = self.sock.recv(1 << 16)
        assert chunk, f"the server closed the connection; unread: {self.pending!r}"
        return chunk

    def line(self) -> bytes:
        """The next line, the newlines a master sends to keep a waiting replica alive skipped."""
        while True:
            while b"\n" not in self.pending:
                self.pending += self._more()
            line, self.pending = self.pending.split(b"\n", 1)
            if line:
                return line.removesuffix(b"\r")

    def exactly(self, n: int) -> bytes:
        while len(self.pending) < n:
            self.pending += self._more()
        data, self.pending = self.pending[:n], self.pending[n:]
        return data

    def call(self, *words) -> bytes:
        self.send(*words)
        return self.line()

    def copy(self) -> bytes:
        """The copy that follows SYNC or +FULLRESYNC, in either form: `$<length>` or `$EOF:`."""
        header = self.line()
        if header.startswith(b"$EOF:"):
            mark = header[5:]
            assert len(mark) == 40
            while not self.pending.endswith(mark):
                self.pending += self._more()
            rdb, self.pending = self.pending[:-40], b""
            return rdb
        assert header.startswith(b"$"), header
        return self.exactly(int(header[1:]))

    def rest_until_closed(self) -> bytes:
        """What comes after, up to the server closing the connection."""
        received = self.pending
        while chunk := self.sock.recv(1 << 16):
            received += chunk
        return received


def rdb_records(rdb: bytes) -> tuple[list[bytes], bytes]:
    """The names of an RDB file's AUX fields in order, and the bytes of everything after them
    (functions, databases, keys) up to its EOF opcode."""
    assert rdb[:5] == b"REDIS" and rdb[-9] == rdb_bytes.EOF
    assert struct.unpack("<Q", rdb[-8:])[0] in (0, rdb_bytes.crc64(rdb[:-8]))
    position, names = 9, []
    while rdb[position] == rdb_bytes.AUX:
        position += 1
        name, position = _rdb_string(rdb, position)
        _, position = _rdb_string(rdb, position)
        names.append(name)
    return names, rdb[position:-9]


def _rdb_string(rdb: bytes, position: int) -> tuple[bytes, int]:
    first = rdb[position]
    kind = first >> 6
    if kind == 3:  # an integer, or LZF-compressed
        code = first & 0x3F
        if code in (0, 1, 2):
            width = 1 << code
            return b"%d" % int.from_bytes(rdb[position + 1:position + 1 + width], "little", signed=True), \
                position + 1 + width
        assert code == 3, f"unknown string encoding {first:#x}"
        compressed, position = _rdb_length(rdb, position + 1)
        _, position = _rdb_length(rdb, position)
        return b"<compressed>", position + compressed
    length, position = _rdb_length(rdb, position)
    return rdb[position:position + length], position + length


def _rdb_length(rdb: bytes, position: int) -> tuple[int, int]:
    first = rdb[position]
    if first >> 6 == 0:
        return first & 0x3F, position + 1
    if first >> 6 == 1:
        return (first & 0x3F) << 8 | rdb[position + 1], position + 2
    if first == 0x80:
        return struct.unpack(">I", rdb[position + 1:position + 5])[0], position + 5
    return struct.unpack(">Q", rdb[position + 1:position + 9])[0], position + 9


def loaded(launcher, rdb: bytes, tmp_path, name: str):
    """A server started from this RDB file."""
    directory = tmp_path / name
    directory.mkdir()
    (directory / "dump.rdb").write_bytes(rdb)
    return launcher.start(dir=str(directory))


def test_rdb_only_gets_the_copy_then_is_disconnected(launcher, tmp_path):
    master = launcher.start(**{"repl-diskless-sync-delay": "0"})
    client = master.client()
    fill(client)
    link = Link(master)
    assert link.call("REPLCONF", "capa", "eof") == b"+OK"
    assert link.call("REPLCONF", "rdb-only", "1") == b"+OK"
    link.send("PSYNC", "?", "-1")
    assert link.line().startswith(b"+FULLRESYNC ")
    rdb = link.copy()
    client.call("SET", "after", "the copy")  # not sent: the stream is not for it
    assert link.rest_until_closed() == b""
    wait_for(lambda: RDB_ONLY_DONE in log_text(master), "the master's line about it")
    assert f"Synchronization with replica {UNKNOWN_PORT} succeeded" not in log_text(master)
    fields = info(client, "replication")
    assert fields["connected_slaves"] == "0"
    assert int(info(client, "stats")["sync_full"]) == 1
    copy = loaded(launcher, rdb, tmp_path, "copy")
    client.call("DEL", "after")
    assert copy.client().call("DEBUG", "DIGEST") == client.call("DEBUG", "DIGEST")


def test_rdb_only_from_disk(launcher, tmp_path):
    master = launcher.start(**{"repl-diskless-sync": "no"})
    client = master.client()
    fill(client)
    link = Link(master)
    assert link.call("REPLCONF", "rdb-only", "1") == b"+OK"
    link.send("SYNC")
    rdb = link.copy()
    assert link.rest_until_closed() == b""
    wait_for(lambda: RDB_ONLY_DONE in log_text(master), "the master's line about it")
    assert "Starting BGSAVE for SYNC with target: disk" in log_text(master)
    copy = loaded(launcher, rdb, tmp_path, "copy")
    assert copy.client().call("DEBUG", "DIGEST") == client.call("DEBUG", "DIGEST")


def test_rdb_only_0_is_a_replica_again(launcher):
    master = launcher.start(**{"repl-diskless-sync-delay": "0"})
    client = master.client()
    link = Link(master)
    assert link.call("REPLCONF", "capa", "eof") == b"+OK"
    assert link.call("REPLCONF", "rdb-only", "1") == b"+OK"
    assert link.call("REPLCONF", "rdb-only", "0") == b"+OK"
    link.send("PSYNC", "?", "-1")
    assert link.line().startswith(b"+FULLRESYNC ")
    link.copy()
    client.call("SET", "k", "v")
    streamed = link.pending

    def stream_came() -> bool:
        nonlocal streamed
        link.send("REPLCONF", "ACK", "0")  # the stream waits for an ACK after a diskless copy
        link.sock.settimeout(0.5)
        try:
            streamed += link.sock.recv(1 << 16)
        except TimeoutError:
            pass
        return b"$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n" in streamed
    wait_for(stream_came, "the stream carrying the SET")
    assert info(client, "replication")["connected_slaves"] == "1"


def test_functions_only_copy_has_no_keys(launcher, tmp_path):
    master = launcher.start(**{"repl-diskless-sync": "no"})  # a filtered copy is diskless anyway
    client = master.client()
    fill(client)
    link = Link(master)
    assert link.call("REPLCONF", "capa", "eof") == b"+OK"
    assert link.call("REPLCONF", "rdb-only", "1") == b"+OK"
    assert link.call("REPLCONF", "rdb-filter-only", "functions") == b"+OK"
    link.send("SYNC")
    rdb = link.copy()
    assert link.rest_until_closed() == b""
    assert "Starting BGSAVE for SYNC with target: replicas sockets" in log_text(master)
    names, records = rdb_records(rdb)
    assert b"repl-id" in names and records == b""  # no functions here, no databases
    copy = loaded(launcher, rdb, tmp_path, "copy")
    assert copy.client().call("DBSIZE") == 0


def test_filter_errors(launcher):
    master = launcher.start()
    link = Link(master)
    assert link.call("REPLCONF", "rdb-filter-only", "functions keys") == b"-ERR Unsupported rdb-filter-only option: keys"
    assert link.call("REPLCONF", "rdb-filter-only", '"unbalanced') == b"-ERR Missing rdb-filter-only values"
    assert link.call("REPLCONF", "rdb-filter-only", "") == b"+OK"  # nothing at all: an empty copy
    assert link.call("SYNC") == b"-ERR Filtered replica requires EOF capability"
    assert info(master.client(), "replication")["connected_slaves"] == "0"


redis_cli = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")


def cli(master, *words: str) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-cli", "-p", str(master.port), *words], capture_output=True, text=True,
                          timeout=DEADLINE)


@redis_cli
def test_redis_cli_rdb(launcher, tmp_path):
    master = launcher.start(**{"repl-diskless-sync-delay": "0"})
    client = master.client()
    fill(client)
    path = tmp_path / "copy.rdb"
    done = cli(master, "--rdb", str(path))
    assert done.returncode == 0, done.stderr
    assert "Transfer finished with success" in done.stderr
    rdb = path.read_bytes()
    copy = loaded(launcher, rdb, tmp_path, "copy")
    assert copy.client().call("DEBUG", "DIGEST") == client.call("DEBUG", "DIGEST")
    wait_for(lambda: info(client, "replication")["connected_slaves"] == "0", "redis-cli's link gone")
    # The same records as the master's own SAVE writes of the same data.
    assert client.call("SAVE") == "OK"
    with open(os.path.join(master.dir, "dump.rdb"), "rb") as saved:
        assert rdb_records(rdb) == rdb_records(saved.read())


@redis_cli
def test_redis_cli_functions_rdb(launcher, tmp_path):
    master = launcher.start(**{"repl-diskless-sync-delay": "0"})
    client = master.client()
    fill(client)
    path = tmp_path / "functions.rdb"
    done = cli(master, "--functions-rdb", str(path))
    assert done.returncode == 0, done.stderr
    rdb = path.read_bytes()
    names, records = rdb_records(rdb)
    full_names, _ = rdb_records(cli_rdb(master, tmp_path))
    assert names == full_names and records == b""
    copy = loaded(launcher, rdb, tmp_path, "copy")
    assert copy.client().call("DBSIZE") == 0


def cli_rdb(master, tmp_path) -> bytes:
    path = tmp_path / "full.rdb"
    done = cli(master, "--rdb", str(path))
    assert done.returncode == 0, done.stderr
    return path.read_bytes()
