"""The replica's side of a replication link (spec/replication.md, "The handshake"): the
connection to the master while it is set up, and the master client once the stream flows.

`Handshake` is the protocol without I/O: fed the master's bytes, it says what to send back,
going through PING, AUTH, REPLCONF and PSYNC, then receives the copy in either form.
`MasterLink` is its socket: it connects without blocking (the socket is in the server's
selector with the link's `on_event` as data) and hands the outcome to the server's
`Replication` (reference/replication/__init__.py), which loads the copy. The socket then becomes a `MasterClient`: an ordinary
client of the server whose commands run through the usual dispatch, replies dropped. Its parser
(`StreamParser`) holds the bytes received until the commands they hold have run, then hands
them on: they are the replica's offset, backlog and its own replicas' stream.
"""
from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import time
from dataclasses import dataclass

from reference import log
from reference.persistence import aof
from reference.protocol import HiredisRequestParser

# The states of the link, as ROLE names them.
CONNECT, CONNECTING, HANDSHAKE, SYNC, CONNECTED = "connect", "connecting", "handshake", "sync", "connected"


@dataclass
class Greeting:
    """What the replica tells its master in the handshake."""
    listening_port: int
    masterauth: str = ""
    masteruser: str = ""
    announce_ip: str = ""


@dataclass
class FullResync:
    replid: str
    offset: int
    rdb: bytes
    rest: bytes  # what came after the copy: the stream


@dataclass
class Continue:
    replid: str | None  # the master's id, if it said it (capa psync2)
    rest: bytes


class Failed:
    """The attempt ended (the reason is logged); it is made again later."""


FAILED = Failed()


class Handshake:
    """The replica's side of the handshake and the copy, without I/O: `start()` gives the first
    bytes to send; `receive(data)` takes what the master sent and gives what to send in return.
    Once `outcome` is set (FullResync, Continue or FAILED) it is done. `psync_request()` (called
    when PSYNC is due) gives the id and offset to ask with; when the copy's header has come,
    `loads_from_socket()` says where the copy goes (`to_parser`: loaded as it comes, else
    to disk first), then `copy_starts()` is called."""

    def __init__(self, greeting: Greeting, psync_request, copy_starts, loads_from_socket=lambda: False):
        self.greeting = greeting
        self.psync_request = psync_request
        self.copy_starts = copy_starts
        self.loads_from_socket = loads_from_socket
        self.to_parser = False
        self.step = "ping"  # what the next line from the master answers
        self.expected: list[str] = []  # the handshake replies still to read, in order
        self.buffer = bytearray()
        self.outgoing: list[bytes] = []
        self.outcome = None
        self.master_replid = ""
        self.initial_offset = -1
        self.transfer_size = -1
        self.transfer_read = 0
        self.eof_mark: bytes | None = None

    @property
    def in_handshake(self) -> bool:
        return self.step in ("ping", "handshake", "psync")

    @property
    def receiving_copy(self) -> bool:
        return self.step in ("bulk", "transfer")

    def start(self) -> bytes:
        return aof.encode_command([b"PING"])

    def receive(self, data: bytes) -> bytes:
        self.buffer += data
        try:
            while self.outcome is None and self._advance():
                pass
        except ValueError:  # a length that is no number
            log.warning("Bad protocol from MASTER, are you sure the host and port are right?")
            self.outcome = FAILED
        out, self.outgoing = b"".join(self.outgoing), []
        return out

    def _send(self, *argv: str) -> None:
        self.outgoing.append(aof.encode_command([word.encode() for word in argv]))

    def _fail(self, message: str, level: str = "warning") -> bool:
        log.write(message, level)
        self.outcome = FAILED
        return False

    def _line(self) -> str | None:
        end = self.buffer.find(b"\n")
        if end < 0:
            return None
        line = bytes(self.buffer[:end]).rstrip(b"\r").decode("utf-8", "replace")
        del self.buffer[:end + 1]
        return line

    def _advance(self) -> bool:
        """Go on with what the buffer holds; False when more must come."""
        if self.step == "transfer":
            return self._receive_copy()
        line = self._line()
        if line is None:
            return False
        if self.step == "ping":
            if not line.startswith(("+", "-NOAUTH", "-NOPERM", "-ERR operation not permitted")):
                return self._fail(f"Error reply to PING from master: '{line}'")
            log.notice("Master replied to PING, replication can continue...")
            self._send_greeting()
        elif self.step == "handshake":
            what = self.expected.pop(0)
            if line.startswith("-"):
                if what == "auth":
                    return self._fail(f"Unable to AUTH to MASTER: {line}")
                log.notice(f"(Non critical) Master does not understand REPLCONF {what}: {line}")
            if not self.expected:
                self.step = "psync"
                self._send("PSYNC", *self.psync_request())
        elif self.step == "psync":
            return self._psync_reply(line)
        elif self.step == "bulk":
            return self._bulk_header(line)
        return True

    def _send_greeting(self) -> None:
        greeting = self.greeting
        self.step = "handshake"
        if greeting.masterauth:
            self._send("AUTH", *filter(None, (greeting.masteruser, greeting.masterauth)))
            self.expected.append("auth")
        self._send("REPLCONF", "listening-port", str(greeting.listening_port))
        self.expected.append("listening-port")
        if greeting.announce_ip:
            self._send("REPLCONF", "ip-address", greeting.announce_ip)
            self.expected.append("ip-address")
        self._send("REPLCONF", "capa", "eof", "capa", "psync2")
        self.expected.append("capa")

    def _psync_reply(self, line: str) -> bool:
        if not line:
            return True  # the master says it is alive while it prepares
        if line.startswith("+FULLRESYNC"):
            words = line.split()
            if len(words) != 3 or len(words[1]) != 40:
                log.warning("Master replied with wrong +FULLRESYNC syntax.")
            else:
                self.master_replid, self.initial_offset = words[1], int(words[2])
                log.notice(f"Full resync from master: {self.master_replid}:{self.initial_offset}")
            self.step = "bulk"
            return True
        if line.startswith("+CONTINUE"):
            log.notice("Successful partial resynchronization with master.")
            words = line.split()
            replid = words[1] if len(words) > 1 and len(words[1]) == 40 else None
            log.notice("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.")
            self.outcome = Continue(replid, bytes(self.buffer))
            return False
        if line.startswith(("-NOMASTERLINK", "-LOADING")):
            return self._fail(f"Master is currently unable to PSYNC but should be in the future: {line}", "notice")
        if line.startswith("-ERR"):  # (Redis would fall back on SYNC; a 7.0 master has PSYNC)
            return self._fail(f"Master does not support PSYNC or is in error state (reply: {line})", "notice")
        return self._fail(f"Unexpected reply to PSYNC from master: {line}")

    def _bulk_header(self, line: str) -> bool:
        if not line:
            return True  # a newline: the master is alive, saving
        if line.startswith("-"):
            return self._fail(f"MASTER aborted replication with an error: {line[1:]}")
        if not line.startswith("$"):
            return self._fail(f"Bad protocol from MASTER, the first byte is not '$' (we received '{line}'), "
                              f"are you sure the host and port are right?")
        self.to_parser = self.loads_from_socket()
        destination = "to parser" if self.to_parser else "to disk"
        if line.startswith("$EOF:") and len(line) - 5 >= 40:
            self.eof_mark = line[5:45].encode()
            self.transfer_size = 0
            log.notice(f"MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {destination}")
        else:
            self.transfer_size = int(line[1:])
            log.notice(f"MASTER <-> REPLICA sync: receiving {self.transfer_size} bytes from master {destination}")
        self.copy_starts()
        self.step = "transfer"
        return True

    def _receive_copy(self) -> bool:
        self.transfer_read = len(self.buffer)
        if self.eof_mark is not None:
            if not self.buffer.endswith(self.eof_mark):
                return False
            rdb, rest = bytes(self.buffer[:-len(self.eof_mark)]), b""
        else:
            if len(self.buffer) < self.transfer_size:
                return False
            rdb, rest = bytes(self.buffer[:self.transfer_size]), bytes(self.buffer[self.transfer_size:])
        self.outcome = FullResync(self.master_replid, self.initial_offset, rdb, rest)
        return False


class MasterLink:
    """The connection to the master from the moment it is made until the stream flows: the
    socket (non-blocking, in the server's selector) around a Handshake."""

    def __init__(self, replication, host: str, port: int):
        self.replication = replication
        self.server = replication.server
        config = self.server.config
        greeting = Greeting(config["replica-announce-port"] or config["port"], config["masterauth"],
                            config["masteruser"], config["replica-announce-ip"])
        self.handshake = Handshake(greeting, replication.psync_request, replication.copy_starts,
                                   replication.loads_from_socket)
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        self.sock = socket.socket(family, kind, proto)
        self.sock.setblocking(False)
        code = self.sock.connect_ex(address)
        if code not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise OSError(code, os.strerror(code))
        self.server.selector.register(self.sock, selectors.EVENT_WRITE, self.on_event)
        self.connecting = True
        self.last_io = time.time()

    def close(self) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.server.selector.unregister(self.sock)
        self.sock.close()

    def on_event(self, mask: int) -> None:
        try:
            if self.connecting:
                self._connected()
            else:
                self._read()
        except OSError as error:
            if self.handshake.receiving_copy and self.handshake.to_parser:
                self.replication.copy_cut()  # the loader's short read
                return
            log.warning(f"I/O error trying to sync with MASTER: {error.strerror or error}")
            self._failed()

    def _failed(self) -> None:
        """From the copy's header on, Redis tries again at once; before, from its cron."""
        if self.handshake.receiving_copy:
            self.replication.retry_at_once()
        else:
            self.replication.link_failed()

    def _connected(self) -> None:
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            log.warning(f"Error condition on socket for SYNC: {os.strerror(code)}")
            self.replication.link_failed()
            return
        log.notice("Non blocking connect for SYNC fired the event.")
        self.connecting = False
        self.server.selector.modify(self.sock, selectors.EVENT_READ, self.on_event)
        self.replication.state = HANDSHAKE
        self.sock.sendall(self.handshake.start())  # (a few bytes on a new connection: they fit)

    def _read(self) -> None:
        data = self.sock.recv(64 * 1024)
        handshake = self.handshake
        if not data:
            if handshake.receiving_copy and handshake.to_parser:
                self.replication.copy_cut()  # the loader's short read
            elif handshake.receiving_copy:
                log.warning("I/O error trying to sync with MASTER: connection lost")
                self.replication.retry_at_once()
            else:
                log.warning("Master did not respond to command during SYNC handshake")
                self.replication.link_failed()
            return
        self.last_io = time.time()
        reply = handshake.receive(data)
        if reply:
            self.sock.sendall(reply)
        if handshake.receiving_copy:
            self.replication.state = SYNC
            self.replication.full_resync_answered()  # (a FAILOVER's target took over: failover.py)
        outcome = handshake.outcome
        if outcome is FAILED:
            self._failed()
        elif isinstance(outcome, FullResync):
            self.replication.full_resync_loaded(self.sock, outcome.replid, outcome.offset, outcome.rdb, outcome.rest)
        elif isinstance(outcome, Continue):
            self.replication.partial_resync_accepted(self.sock, outcome.replid, outcome.rest)


# --- the master client -------------------------------------------------------------------------

class StreamParser(HiredisRequestParser):
    """The master client's parser: it keeps the bytes received until the commands they hold have
    run, then hands them on (Replication.feed: this server's backlog, offset and replicas). A
    transaction counts once EXEC has run, as Redis counts it."""

    def __init__(self, client, replication):
        super().__init__(client.server.config["proto-max-bulk-len"])
        self.client = client
        self.replication = replication
        self.unapplied = bytearray()

    def feed(self, data: bytes) -> None:
        super().feed(data)
        self.unapplied += data

    def next_command(self):
        self.commit()
        return super().next_command()

    def commit(self) -> None:
        if self.client.transaction is not None:
            return
        done = len(self.unapplied) - self.pending()
        if done > 0:
            chunk = bytes(self.unapplied[:done])
            del self.unapplied[:done]
            self.replication.feed(chunk)


def make_master_client_class():
    from reference.server import Client

    class MasterClient(Client):
        """Our master's connection once the stream flows (CLIENT LIST flag M): its commands
        run as any client's, but it gets no replies; only what `send` writes (ACKs)."""

        def __init__(self, server, sock, client_id, addr, laddr, replication):
            super().__init__(server, sock, client_id, addr, laddr)
            self.kind = "master"
            self.parser = StreamParser(self, replication)
            self.set_authenticated(True)

        def reply_bytes(self, data: bytes) -> None:
            pass

        def send(self, data: bytes) -> None:
            Client.reply_bytes(self, data)

    return MasterClient


_master_client_class = None


def MasterClient(*args):
    global _master_client_class
    if _master_client_class is None:
        _master_client_class = make_master_client_class()
    return _master_client_class(*args)
