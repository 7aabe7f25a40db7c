"""A raw RESP2/RESP3 client that sees the exact bytes a server sends.

This client is the conformance suite's eye, so it does as little as possible:
it encodes each command as a multibulk request, and it reads whole reply
frames, keeping both the decoded value and the bytes the value came from.
It never retries, never raises on error replies and never guesses.

Decoding, one RESP type to one Python type:

    +simple        -> str            -error / !blob error -> ErrorReply (a str)
    :integer       -> int            (big number          -> int
    $bulk          -> bytes          =verbatim            -> Verbatim (a str)
    *array         -> list           ~set                 -> RespSet (a list)
    %map           -> dict           >push                -> Push (a list)
    ,double        -> float (inf, -inf, nan)
    #t / #f        -> True / False
    $-1, *-1, _    -> None
    |attribute     -> skipped; the value after it is returned

Text (simple strings, errors, verbatim strings) is decoded as UTF-8 with
"surrogateescape", so any bytes a server sends decode and round-trip.

Every read has a deadline, the client's reply timeout (DEFAULT_REPLY_TIMEOUT unless given).
A reply that does not come in time raises ReplyTimeout, naming the command, and closes the
connection: a reply arriving later would be taken for the next command's. A wait given its own
timeout (next_push(timeout=0.2): "is a push coming?") is a probe instead: it raises a plain
TimeoutError and the connection stays usable, a partial frame kept.

Push frames (RESP3 out-of-band data: pub/sub messages, invalidations) can
arrive while a reply is awaited. The reader keeps them in their own queue,
read with next_push(); replies that arrive while a push is awaited are kept
for read_reply() likewise. Under RESP2, pub/sub messages are plain arrays and
are read with read_reply().
"""

from __future__ import annotations

import collections
import contextlib
import socket
import time

CRLF = b"\r\n"
RECV_SIZE = 1 << 16

# The reply timeout of a Client made without one, in seconds. The conformance plugin sets it from
# --reply-timeout before any test runs, so every client the suite makes waits that long at most.
DEFAULT_REPLY_TIMEOUT = 10.0

# Called with the arguments of every command any Client sends (None: nobody), and each of
# reply_observers with each reply read (what it answers, as describe_command words it, and the
# decoded reply). The conformance plugin sets them while a test runs: for the compatibility
# report (the commands a test uses, the last reply before a test failed) and to notice a target
# that has no DEBUG command.
command_observer = None
reply_observers: list = []


class ErrorReply(str):
    """An error reply: the whole message, e.g. "ERR syntax error".

    Returned, never raised, so a test compares an error like any other reply.
    """

    @property
    def code(self) -> str:
        """The first word of the message, e.g. "ERR" or "WRONGTYPE"."""
        return self.split(" ", 1)[0]

    def __repr__(self) -> str:
        return f"ErrorReply({str.__repr__(self)})"


class Verbatim(str):
    """A RESP3 verbatim string; `format` is its three-letter type, e.g. "txt"."""

    format: str

    def __new__(cls, format: str, text: str) -> "Verbatim":
        self = super().__new__(cls, text)
        self.format = format
        return self

    def __repr__(self) -> str:
        return f"Verbatim({self.format!r}, {str.__repr__(self)})"


class Push(list):
    """A RESP3 push frame."""

    def __repr__(self) -> str:
        return f"Push({list.__repr__(self)})"


class RespSet(list):
    """A RESP3 set. A list, because its members may be unhashable."""

    def __repr__(self) -> str:
        return f"RespSet({list.__repr__(self)})"


class ProtocolError(Exception):
    """The server sent bytes that are not RESP."""


class ReplyTimeout(TimeoutError):
    """No reply (or push) came within the client's reply timeout; the message says to what."""


def describe_command(args, limit: int = 80) -> str:
    """("OBJECT", "FREQ", b"k") -> "'OBJECT FREQ k'", shortened to about `limit` characters."""
    text = " ".join(_text(_arg_bytes(arg)) if isinstance(arg, (bytes, str)) else repr(arg) for arg in args)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return repr(text)


def encode_command(args) -> bytes:
    """Encode one command as a RESP multibulk request."""
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = _arg_bytes(arg)
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


def _arg_bytes(arg) -> bytes:
    if isinstance(arg, bytes):
        return arg
    if isinstance(arg, str):  # surrogateescape: text this client decoded goes back as it came
        return arg.encode("utf-8", "surrogateescape")
    if isinstance(arg, bool):  # bool is an int: refuse rather than send "True"
        raise TypeError(f"a command argument cannot be a bool: {arg!r}")
    if isinstance(arg, int):
        return str(arg).encode()
    if isinstance(arg, float):
        return repr(arg).encode()
    raise TypeError(f"a command argument must be str, bytes, int or float: {arg!r}")


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def _hashable(key):
    return tuple(_hashable(k) for k in key) if isinstance(key, list) else key


class Client:
    """One connection to a server."""

    def __init__(self, host: str, port: int, timeout: float | None = None):
        self.host = host
        self.port = port
        self.timeout = DEFAULT_REPLY_TIMEOUT if timeout is None else timeout
        self.protover = 2
        self.sock = socket.create_connection((host, port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buf = bytearray()  # received bytes not yet consumed as whole frames
        self._pos = 0  # read position inside the frame being decoded
        self._replies = collections.deque()  # (value, raw) read while awaiting a push
        self._pushes = collections.deque()  # (value, raw) read while awaiting a reply
        # What was sent and not answered yet, oldest first, to name it should no reply come.
        # Commands answered by several replies (SUBSCRIBE a b) or none make this approximate,
        # so the last thing sent is kept too.
        self._unanswered = collections.deque()
        self._last_sent = "nothing"
        self.closed_because: str | None = None  # why the client closed itself (a reply timeout)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.host}:{self.port}, RESP{self.protover})"

    # -- commands -----------------------------------------------------------

    def send_command(self, *args) -> None:
        """Send one command without reading its reply (e.g. a blocking BLPOP)."""
        if command_observer is not None:
            command_observer(args)
        self._send(encode_command(args), describe_command(args))

    def call(self, *args):
        """Send one command and return its decoded reply."""
        self.send_command(*args)
        return self.read_reply()

    def call_raw(self, *args) -> bytes:
        """Send one command and return the exact bytes of its reply."""
        self.send_command(*args)
        return self.read_raw_reply()

    def pipeline(self, *commands) -> list:
        """Send all commands (each a tuple of args) in one write, then read all replies."""
        if command_observer is not None:
            for command in commands:
                command_observer(command)
        data = b"".join(encode_command(command) for command in commands)
        self._send(data, *(describe_command(command) for command in commands))
        return [self.read_reply() for _ in commands]

    def hello(self, protover: int, *args):
        """HELLO protover [args...]; remember the protocol if the server agreed."""
        reply = self.call("HELLO", protover, *args)
        if not isinstance(reply, ErrorReply):
            self.protover = protover
        return reply

    def send_raw(self, data: bytes) -> None:
        """Send bytes as they are (a test of the protocol itself)."""
        self._send(data, f"the bytes {data[:60]!r}")

    def _send(self, data: bytes, *descriptions: str) -> None:
        if self.closed_because:
            raise ConnectionError(f"this connection was closed: {self.closed_because}")
        self._unanswered.extend(descriptions)
        self._last_sent = descriptions[-1]
        self.sock.sendall(data)

    # -- replies ------------------------------------------------------------

    def read_reply(self):
        """The next reply (not a push frame), decoded."""
        return self._next_frame(want_push=False)[0]

    def read_raw_reply(self) -> bytes:
        """The exact bytes of the next reply (not a push frame)."""
        return self._next_frame(want_push=False)[1]

    def next_push(self, timeout: float | None = None) -> Push:
        """The next RESP3 push frame, decoded; waits up to timeout (a probe), else the client's."""
        return self._next_push(timeout)[0]

    def next_raw_push(self, timeout: float | None = None) -> bytes:
        """The exact bytes of the next RESP3 push frame."""
        return self._next_push(timeout)[1]

    def _next_push(self, timeout: float | None):
        if timeout is None:
            return self._next_frame(want_push=True)
        with self._timeout(timeout):
            return self._next_frame(want_push=True, probe=True)

    # -- connection state ---------------------------------------------------

    def read_all_until_closed(self, timeout: float = 5.0) -> bytes:
        """Every byte not yet read, up to the server closing the connection.

        Raises TimeoutError if the server keeps the connection open longer.
        """
        received = bytes(self._buf)
        self._buf.clear()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"the server did not close the connection within {timeout}s;"
                    f" received {received!r}"
                )
            chunk = self._recv(remaining)
            if chunk is None:
                continue
            if not chunk:
                return received
            received += chunk

    def is_closed(self, timeout: float = 1.0) -> bool:
        """Did the server close the connection (waiting up to timeout for it to)?

        Bytes that arrive meanwhile are kept for the reply readers.
        """
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            chunk = self._recv(remaining)
            if chunk == b"":
                return True
            if chunk:
                self._buf += chunk
        return False

    def received_nothing(self, wait: float = 0.1) -> bool:
        """Has nothing arrived (no reply, no push, no close) within `wait` seconds? Used to see
        that a blocked client is still waiting. Bytes that do arrive are kept for the readers."""
        if self._buf:
            return False
        chunk = self._recv(wait)
        if chunk:
            self._buf += chunk
        return chunk is None

    def close(self) -> None:
        self.sock.close()

    def _close_after_timeout(self, want_push: bool) -> ReplyTimeout:
        """Close the connection (it is out of step) and say what did not come."""
        if want_push:
            what = f"no push message (last sent: {self._last_sent})"
        elif self._unanswered:
            what = f"no reply to {self._unanswered[0]}"
        else:
            what = f"no further reply after {self._last_sent}"
        message = f"{what} within {self.timeout:g}s from {self.host}:{self.port}"
        self.closed_because = message
        self.close()
        return ReplyTimeout(message)

    # -- frame reader -------------------------------------------------------
    #
    # Strategy: decode one whole top-level frame from the front of _buf,
    # receiving more bytes whenever the frame is incomplete. If that fails
    # (timeout, closed connection) the read position is rewound, so a partial
    # frame stays buffered and a later read starts it again from its first byte.

    def _next_frame(self, want_push: bool, probe: bool = False):
        wanted = self._pushes if want_push else self._replies
        while not wanted:
            if self.closed_because:
                raise ConnectionError(f"this connection was closed: {self.closed_because}")
            try:
                value, raw = self._read_frame()
            except TimeoutError:
                if probe:
                    raise
                raise self._close_after_timeout(want_push) from None
            if isinstance(value, Push):
                self._pushes.append((value, raw))
            else:
                self._replies.append((value, raw))
                answered = self._unanswered.popleft() if self._unanswered else self._last_sent
                for observe in reply_observers:
                    observe(answered, value)
        return wanted.popleft()

    def _read_frame(self):
        self._pos = 0
        try:
            value = self._read_value()
        except BaseException:
            self._pos = 0
            raise
        raw = bytes(self._buf[: self._pos])
        del self._buf[: self._pos]
        self._pos = 0
        return value, raw

    def _read_value(self):
        line = self._read_line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return _text(rest)
        if kind == b"-":
            return ErrorReply(_text(rest))
        if kind in (b":", b"("):
            return int(rest)
        if kind == b",":
            return float(rest)
        if kind == b"#":
            if rest not in (b"t", b"f"):
                raise ProtocolError(f"bad boolean {line!r}")
            return rest == b"t"
        if kind == b"_":
            return None
        if kind in (b"$", b"!", b"="):
            length = int(rest)
            if length < 0 and kind == b"$":
                return None
            data = self._read_exact(length)
            if kind == b"$":
                return data
            if kind == b"!":
                return ErrorReply(_text(data))
            if data[3:4] != b":":
                raise ProtocolError(f"bad verbatim string {data!r}")
            return Verbatim(_text(data[:3]), _text(data[4:]))
        if kind in (b"*", b"~", b">"):
            count = int(rest)
            if count < 0 and kind == b"*":
                return None
            items = [self._read_value() for _ in range(count)]
            return {b"*": list, b"~": RespSet, b">": Push}[kind](items)
        if kind == b"%":
            result = {}
            for _ in range(int(rest)):
                key = self._read_value()
                result[_hashable(key)] = self._read_value()
            return result
        if kind == b"|":
            for _ in range(2 * int(rest)):
                self._read_value()
            return self._read_value()
        raise ProtocolError(f"unknown reply type in line {line!r}")

    def _read_line(self) -> bytes:
        while (end := self._buf.find(CRLF, self._pos)) < 0:
            self._fill()
        line = bytes(self._buf[self._pos : end])
        self._pos = end + 2
        return line

    def _read_exact(self, length: int) -> bytes:
        if length < 0:
            raise ProtocolError(f"negative length {length}")
        while len(self._buf) - self._pos < length + 2:
            self._fill()
        data = bytes(self._buf[self._pos : self._pos + length])
        if self._buf[self._pos + length : self._pos + length + 2] != CRLF:
            raise ProtocolError(f"string of length {length} not followed by CRLF")
        self._pos += length + 2
        return data

    def _fill(self) -> None:
        data = self.sock.recv(RECV_SIZE)
        if not data:
            raise ConnectionError("the server closed the connection")
        self._buf += data

    def _recv(self, timeout: float) -> bytes | None:
        """One recv within timeout: bytes, b"" once closed (or reset), None on timeout."""
        with self._timeout(timeout):
            try:
                return self.sock.recv(RECV_SIZE)
            except TimeoutError:
                return None
            except ConnectionResetError:
                return b""

    @contextlib.contextmanager
    def _timeout(self, timeout: float):
        self.sock.settimeout(timeout)
        try:
            yield
        finally:
            self.sock.settimeout(self.timeout)
