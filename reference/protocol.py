"""The RESP wire protocol: a sans-I/O request parser and a reply encoder.

Requests.  A client sends either a *multibulk* command (``*<n>\\r\\n`` then n
times ``$<len>\\r\\n<bytes>\\r\\n``) or an *inline* command (one line of
space-separated words with shell-like quoting).  The first byte of each
command decides which: ``*`` means multibulk, anything else inline.

``RequestParser`` never touches a socket.  The server ``feed()``s it whatever
bytes arrived and calls ``next_command()`` until it returns None ("need more
data").  Every reader below follows one strategy, as Redis 7.0.15 does
(src/networking.c, processInlineBuffer / processMultibulkBuffer): it either

  * consumes a complete command and returns its argv,
  * returns None and records how many unconsumed bytes it needs before it can
    make progress (so a 512 MB bulk arriving in 16 KB pieces is not rescanned
    or re-joined per piece), or
  * raises ProtocolError, after which the parser is dead: every later call
    raises the same error.  The server replies ``-ERR <message>`` and closes
    the connection, as Redis does; commands that were complete before the
    bad bytes have already been returned and should be executed first.

Redis quirks reproduced on purpose (each checked against a live 7.0.15):

  * Line ends are searched with C's strchr, which stops at a NUL byte: a NUL
    before the line end means "no line end yet", so the client waits (until
    the 64 KB limit for unterminated lines trips).
  * Only the ``\\r`` of a multibulk header is checked; the byte after it, and
    the two bytes after a bulk's payload, are skipped whatever they are.
  * Numbers in headers are strict (Redis's string2ll): optional ``-``, no
    ``+``, no spaces, no leading zeros, no ``-0``, at most 20 characters.
  * ``*0`` and negative multibulk counts, and empty inline lines, are
    commands with no words: silently skipped.
  * An inline line may end with a lone ``\\n``.

``RequestParser`` is the specification. The server uses ``HiredisRequestParser``,
which lets hiredis's C reader take the commands it provably reads the same way
(canonical multibulk within the limits) and hands everything else to
``RequestParser``'s code; the two never differ (tests/test_protocol.py).

Replies.  Command handlers return plain Python values; ``encode(value,
protocol)`` turns one into RESP2 or RESP3 bytes.  See the table above
``_build_encoders``.
"""

from __future__ import annotations

import math
import re
from itertools import chain

import hiredis

from reference.values import string2ll

# Limits from Redis 7.0.15 (src/server.h and processMultibulkBuffer).
INLINE_MAX_SIZE = 64 * 1024  # longest inline line / unterminated header
UNAUTHENTICATED_MAX_MULTIBULK = 10  # words per command before AUTH
UNAUTHENTICATED_MAX_BULK = 16384  # bytes per word before AUTH
DEFAULT_MAX_BULK_LEN = 512 * 1024 * 1024  # proto-max-bulk-len
_INT_MAX = 2**31 - 1

_STAR, _DOLLAR, _CR, _LF = 0x2A, 0x24, 0x0D, 0x0A


class ProtocolError(Exception):
    """A request broke the protocol.

    ``str(error)`` is the text Redis sends after ``-ERR ``, e.g.
    ``Protocol error: invalid multibulk length``.  The server writes
    ``-ERR <message>\\r\\n`` and then closes the connection.  Bytes that are
    not ASCII appear as surrogate escapes (see ``wire_bytes``).
    """


def c_line_end(buf: bytes, start: int, terminator: bytes) -> int:
    """Index of the first ``terminator`` at or after ``start`` as C's strchr
    finds it: -1 if it is absent or if a NUL byte comes first."""
    end = buf.find(terminator, start)
    if end < 0 or buf.find(b"\0", start, end) >= 0:
        return -1
    return end


# --- inline commands (src/sds.c sdssplitargs) --------------------------------

_C_SPACE = b" \t\n\v\f\r"  # C isspace() in the C locale: skipped between words
_WORD_END = b" \t\n\r"  # what ends an unquoted word (\v and \f do not)
_HEX_DIGITS = b"0123456789abcdefABCDEF"
_ESCAPES = {ord("n"): 0x0A, ord("r"): 0x0D, ord("t"): 0x09, ord("b"): 0x08, ord("a"): 0x07}
_PLAIN_WORD = re.compile(rb"[^ \t\n\v\f\r][^ \t\n\r]*")


def split_inline_args(line: bytes) -> list[bytes] | None:
    """Split an inline command line into words; None if the quoting is bad.

    Words are separated by blanks.  A word may contain "double quoted" parts,
    with the escapes \\n \\r \\t \\b \\a \\xHH and \\<any> (that character),
    or 'single quoted' parts, where only \\' is an escape.  A closing quote
    must be followed by a blank or the end of the line, and it ends the word.
    """
    if b'"' not in line and b"'" not in line:
        return _PLAIN_WORD.findall(line)
    words = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in _C_SPACE:
            i += 1
        if i == n:
            return words
        word = bytearray()
        quote = 0  # the quote character we are inside, or 0
        while True:
            if quote == 0:
                if i == n or line[i] in _WORD_END:
                    break
                c = line[i]
                if c == 0x22 or c == 0x27:
                    quote = c
                else:
                    word.append(c)
                i += 1
                continue
            if i == n:
                return None  # unterminated quotes
            c = line[i]
            if c == quote:
                if i + 1 < n and line[i + 1] not in _C_SPACE:
                    return None  # "foo"bar
                i += 1
                break
            if c == 0x5C and quote == 0x22 and i + 1 < n:  # backslash in "..."
                hex_pair = line[i + 2 : i + 4]
                if (line[i + 1] == 0x78 and len(hex_pair) == 2
                        and hex_pair[0] in _HEX_DIGITS and hex_pair[1] in _HEX_DIGITS):
                    word.append(int(hex_pair, 16))
                    i += 4
                else:
                    word.append(_ESCAPES.get(line[i + 1], line[i + 1]))
                    i += 2
            elif c == 0x5C and quote == 0x27 and line[i + 1 : i + 2] == b"'":
                word.append(0x27)
                i += 2
            else:
                word.append(c)
                i += 1
        words.append(bytes(word))


# --- the request parser --------------------------------------------------------


class RequestParser:
    """Turns a client's byte stream into argv lists (see the module docstring)."""

    def __init__(self, max_bulk_len: int = DEFAULT_MAX_BULK_LEN):
        self.max_bulk_len = max_bulk_len  # CONFIG SET proto-max-bulk-len updates it
        self.authenticated = True  # False: Redis's limits for unauthenticated clients
        # Unconsumed input is self._buf[self._pos:] followed by self._chunks.
        self._buf = b""
        self._pos = 0
        self._chunks: list[bytes] = []
        self._chunks_len = 0
        self._need = 1  # unconsumed bytes required before parsing can progress
        # A multibulk command being read: its words so far, how many are
        # missing, and the length of the current word (-1: its $ line is unread).
        self._args: list[bytes] | None = None
        self._missing = 0
        self._bulk_len = -1
        self._error: ProtocolError | None = None

    def feed(self, data: bytes) -> None:
        if data:
            self._chunks.append(bytes(data))
            self._chunks_len += len(data)

    def pending(self) -> int:
        """Bytes received but not yet consumed (Redis's query buffer length)."""
        return len(self._buf) - self._pos + self._chunks_len

    def next_command(self) -> list[bytes] | None:
        """The next complete command's words, or None if more data is needed."""
        if self._error is not None:
            raise self._error
        if len(self._buf) - self._pos + self._chunks_len < self._need:
            return None
        self._need = 1  # every path below that returns None sets it
        if self._chunks:
            self._join_chunks()
        while True:
            if self._args is None:
                if self._pos == len(self._buf):
                    self._buf, self._pos = b"", 0  # let a big consumed buffer go
                    return None
                if self._buf[self._pos] != _STAR:
                    argv = self._read_inline()
                    if argv:
                        return argv
                    if argv is None:
                        return None
                    continue  # an empty line: nothing to run
                if not self._read_multibulk_count():
                    return None
                if self._args is None:
                    continue  # *0 or *-1: nothing to run
            return self._read_bulks()

    # -- helpers of next_command --
    #
    # Fast paths: _read_multibulk_count and _read_bulks first try the common
    # case, a complete header line of plain digits without a leading zero
    # (isdigit + int on a slice, no function call).  Anything else takes the
    # general code below the fast path, which states what Redis does with
    # every header line.  A NUL byte cannot be in a line of plain digits, so
    # strchr's stop-at-NUL rule needs no check on the fast path.

    def _join_chunks(self) -> None:
        chunks = self._chunks
        if self._pos < len(self._buf):
            chunks.insert(0, memoryview(self._buf)[self._pos :])
        self._buf = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        self._pos = 0
        self._chunks = []
        self._chunks_len = 0

    def _fail(self, message: str):
        self._error = ProtocolError(message)
        raise self._error

    def _bytes_needed_for_line(self, pos: int, too_big_message: str) -> int:
        """No line end after pos yet: wait for one more byte, unless the
        unterminated line is already longer than Redis allows."""
        if len(self._buf) - pos > INLINE_MAX_SIZE:
            self._fail(too_big_message)
        return len(self._buf) - pos + 1

    def _read_inline(self) -> list[bytes] | None:
        buf, pos = self._buf, self._pos
        newline = c_line_end(buf, pos, b"\n")
        if newline < 0:
            self._need = self._bytes_needed_for_line(pos, "Protocol error: too big inline request")
            return None
        end = newline - 1 if newline > pos and buf[newline - 1] == _CR else newline
        argv = split_inline_args(buf[pos:end])
        if argv is None:
            self._fail("Protocol error: unbalanced quotes in request")
        self._pos = newline + 1
        return argv

    def _read_multibulk_count(self) -> bool:
        """Read the ``*<count>`` line; False if it is not complete yet."""
        buf, pos = self._buf, self._pos
        cr = buf.find(b"\r", pos)
        if pos < cr < len(buf) - 1 and cr - pos < 12:  # fast path, see above
            digits = buf[pos + 1 : cr]
            if digits.isdigit() and digits[0] != 0x30:
                count = int(digits)
                if count <= (_INT_MAX if self.authenticated else UNAUTHENTICATED_MAX_MULTIBULK):
                    self._pos = cr + 2
                    self._args = []
                    self._missing = count
                    self._bulk_len = -1
                    return True
        cr = c_line_end(buf, pos, b"\r")
        if cr < 0:
            self._need = self._bytes_needed_for_line(pos, "Protocol error: too big mbulk count string")
            return False
        if cr == len(buf) - 1:  # the \n after \r has not arrived
            self._need = cr - pos + 2
            return False
        count = string2ll(buf[pos + 1 : cr])
        if count is None or count > _INT_MAX:
            self._fail("Protocol error: invalid multibulk length")
        if count > UNAUTHENTICATED_MAX_MULTIBULK and not self.authenticated:
            self._fail("Protocol error: unauthenticated multibulk length")
        self._pos = cr + 2
        if count > 0:
            self._args = []
            self._missing = count
            self._bulk_len = -1
        return True

    def _read_bulk_header(self, buf: bytes, pos: int) -> tuple[int, int]:
        """Read the ``$<len>`` line at pos: (len, position after the line),
        or (-1, bytes needed) if the line is not complete yet."""
        cr = c_line_end(buf, pos, b"\r")
        if cr < 0:
            return -1, self._bytes_needed_for_line(pos, "Protocol error: too big bulk count string")
        if cr == len(buf) - 1:
            return -1, cr - pos + 2
        if buf[pos] != _DOLLAR:
            got = " " if buf[pos] in (_CR, _LF) else wire_text(buf[pos : pos + 1])
            self._fail(f"Protocol error: expected '$', got '{got}'")
        length = string2ll(buf[pos + 1 : cr])
        if length is None or length < 0 or length > self.max_bulk_len:
            self._fail("Protocol error: invalid bulk length")
        if length > UNAUTHENTICATED_MAX_BULK and not self.authenticated:
            self._fail("Protocol error: unauthenticated bulk length")
        return length, cr + 2

    def _read_bulks(self) -> list[bytes] | None:
        """Read the words of the multibulk command in progress."""
        buf, pos = self._buf, self._pos
        buf_len = len(buf)
        args, missing, bulk_len = self._args, self._missing, self._bulk_len
        max_bulk_len = self.max_bulk_len
        if not self.authenticated:
            max_bulk_len = min(max_bulk_len, UNAUTHENTICATED_MAX_BULK)
        while missing:
            if bulk_len < 0:
                cr = buf.find(b"\r", pos)
                length = -1
                if pos < cr < buf_len - 1 and cr - pos < 20 and buf[pos] == 0x24:  # "$"
                    digits = buf[pos + 1 : cr]  # fast path, see above
                    if digits.isdigit() and digits[0] != 0x30:
                        length = int(digits)
                if 0 < length <= max_bulk_len:
                    pos = cr + 2
                else:
                    length, after = self._read_bulk_header(buf, pos)
                    if length < 0:
                        self._pos, self._missing, self._bulk_len = pos, missing, -1
                        self._need = after
                        return None
                    pos = after
                bulk_len = length
            end = pos + bulk_len
            if end + 2 > buf_len:
                self._pos, self._missing, self._bulk_len = pos, missing, bulk_len
                self._need = end + 2 - pos
                return None
            args.append(buf[pos:end])
            pos = end + 2  # Redis skips these two bytes without looking at them
            bulk_len = -1
            missing -= 1
        self._pos = pos
        self._args = None
        return args


# An aggregate header (array, set, push, map, attribute) of a million elements or more.
_BIG_AGGREGATE = re.compile(rb"[*~>%|][0-9]{7}")


class HiredisRequestParser(RequestParser):
    """RequestParser with hiredis's C reader on the common path: the same interface, and the
    same commands, errors and pending() for any input (tests/test_protocol.py checks both).

    hiredis reads RESP *replies*, so it accepts much that a request may not hold (+status and
    :integer words, nested arrays, nulls, RESP3 types), words its errors its own way and knows
    no request limits. A command it returns is therefore taken only when the bytes at the
    parse position are exactly that command's canonical encoding (``*<n>\\r\\n`` then
    ``$<len>\\r\\n<word>\\r\\n`` per word, as client libraries write it) and the limits in
    force now allow it: on such bytes RequestParser returns the same words and consumes the
    same bytes. Everything else (an inline command, another spelling, a protocol error, an
    incomplete command, a limit exceeded) goes to RequestParser's code from that same
    position, and hiredis's copy of the input is dropped. A new reader starts from where
    RequestParser stopped, when it is between commands and more input has arrived (so input
    is copied to hiredis at most once per feed).

    hiredis-py makes the Python list of an array as soon as it reads the array's header, at the
    size the header says: ``*2147483647`` would cost 16 GB before a single word arrived (Redis
    and RequestParser grow the list as words come). So input holding an aggregate header of a
    million elements or more is never given to hiredis.
    """

    def __init__(self, max_bulk_len: int = DEFAULT_MAX_BULK_LEN):
        super().__init__(max_bulk_len)
        self._reader: hiredis.Reader | None = None  # holds exactly the unconsumed input
        self._fed = False  # input arrived since the last reader was dropped
        self._tail = b""  # the last bytes received, for a header cut in two by a read

    def feed(self, data: bytes) -> None:
        super().feed(data)
        if data:
            self._fed = True
            if self._reader is not None:
                if _BIG_AGGREGATE.search(self._tail + data):
                    self._drop_reader()
                else:
                    self._reader.feed(data)
            self._tail = (self._tail + data[-7:])[-7:]

    def _drop_reader(self) -> None:
        """RequestParser goes on alone, until more input arrives."""
        self._reader = None
        self._fed = False

    def next_command(self) -> list[bytes] | None:
        if self._reader is None and not self._start_reader():
            return super().next_command()
        try:
            argv = self._reader.gets()  # False: incomplete
        except hiredis.ProtocolError:
            argv = None
        if type(argv) is list and argv:  # ([] is *0, which RequestParser skips)
            if self._chunks:
                self._join_chunks()
            try:
                wire = hiredis.pack_command(tuple(argv))
            except TypeError:  # a word that is not bytes: a nested array, a null ...
                wire = None
            if wire is not None and self._buf.startswith(wire, self._pos) and self._allowed(argv, len(wire)):
                self._pos += len(wire)
                return argv
        elif argv is False and self.pending() == 0:
            return None  # all consumed (RequestParser too would wait): the empty reader can stay
        self._drop_reader()
        return super().next_command()

    def _start_reader(self) -> bool:
        """Start a reader on the unconsumed input if input arrived since the last one was
        dropped, RequestParser is between commands and a multibulk command comes next."""
        if (not self._fed or self._error is not None or self._args is not None
                or self.pending() < self._need):
            return False
        if self._chunks:
            self._join_chunks()
        if self._pos == len(self._buf) or self._buf[self._pos] != _STAR:
            return False
        if _BIG_AGGREGATE.search(self._buf, self._pos):
            return False
        self._need = 1
        self._reader = hiredis.Reader()
        self._reader.feed(self._buf, self._pos)
        return True

    def _allowed(self, argv: list[bytes], wire_length: int) -> bool:
        """Would RequestParser's limits let this command through now? (No word is longer than
        the whole command, so most commands need no look at each word.)"""
        if self.authenticated and wire_length <= self.max_bulk_len:
            return True
        longest_allowed = self.max_bulk_len
        if not self.authenticated:
            if len(argv) > UNAUTHENTICATED_MAX_MULTIBULK:
                return False
            longest_allowed = min(longest_allowed, UNAUTHENTICATED_MAX_BULK)
        return wire_length <= longest_allowed or max(map(len, argv)) <= longest_allowed


def encode_command(argv) -> bytes:
    """A command as the multibulk bytes a client (or AOF, or a master) sends."""
    parts = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        parts.append(b"$%d\r\n%b\r\n" % (len(arg), arg))
    return b"".join(parts)


# --- reply values ----------------------------------------------------------------


def wire_bytes(text: str) -> bytes:
    """Text to wire bytes.  Surrogate escapes stand for raw bytes, so
    ``wire_bytes(wire_text(b))== b`` for any bytes b (Redis echoes user bytes
    such as a bad command name in error messages verbatim)."""
    return text.encode("utf-8", "surrogateescape")


def wire_text(data: bytes) -> str:
    """Bytes to text that ``wire_bytes`` turns back into the same bytes."""
    return data.decode("utf-8", "surrogateescape")


class Status(str):
    """A simple string reply: ``+OK``."""

    __slots__ = ()


class ErrorReply(str):
    """An error reply, the whole message including its code:
    ``ErrorReply("ERR syntax error")`` is sent as ``-ERR syntax error``."""

    __slots__ = ()


class Verbatim(str):
    """A verbatim string (INFO, CLIENT INFO, ...): RESP3 ``=`` with a
    three-letter format such as ``txt``; a bulk string in RESP2."""

    def __new__(cls, text: str, format: str = "txt"):
        verbatim = super().__new__(cls, text)
        verbatim.format = format
        return verbatim


class RespSet(list):
    """A set reply: RESP3 ``~``, an array in RESP2."""

    __slots__ = ()


class Push(list):
    """An out-of-band push (pub/sub messages): RESP3 ``>``, an array in RESP2."""

    __slots__ = ()


class Frames(list):
    """Several replies sent back to back as one command's answer, with no header of their own
    (SUBSCRIBE a b confirms each channel in a frame of its own)."""

    __slots__ = ()


class _NullArray:
    """The RESP2 null array ``*-1`` (BLPOP timeout, EXEC abort): ``_`` in RESP3."""

    __slots__ = ()

    def __repr__(self):
        return "NULL_ARRAY"


NULL_ARRAY = _NullArray()
OK = Status("OK")
PONG = Status("PONG")
QUEUED = Status("QUEUED")


def format_double(value: float) -> str:
    """A double as Redis 7.0 prints it in replies: C's ``%.17g``, with glibc's
    spelling of infinities and NaNs (NaN keeps its sign: ``-nan``)."""
    if value != value:
        return "-nan" if math.copysign(1.0, value) < 0 else "nan"
    if value in (math.inf, -math.inf):
        return "inf" if value > 0 else "-inf"
    return "%.17g" % value


def _one_line(text: str) -> bytes:
    """Status and error text must not break the line: Redis turns \\r and \\n
    into spaces (addReplyErrorSdsSafe)."""
    if "\r" in text or "\n" in text:
        text = text.replace("\r", " ").replace("\n", " ")
    return wire_bytes(text)


class _EncoderTable(dict):
    """type -> encoding function; a subclass of a known type (an IntEnum, a
    str subclass, ...) uses its nearest known base class's function."""

    def __missing__(self, kind):
        for base in kind.__mro__[1:]:
            if base in self:
                self[kind] = self[base]
                return self[base]
        raise TypeError(f"cannot encode {kind.__name__} as a RESP reply")


_SMALL_INTS = [b":%d\r\n" % n for n in range(1024)]
_SHORT_BULK = 1024
_BULK_HEADERS = [b"$%d\r\n" % n for n in range(_SHORT_BULK)]  # of bulk strings shorter than that
_COMMON_STATUSES = {text: b"+%s\r\n" % text.encode() for text in ("OK", "PONG", "QUEUED")}


def _encode_status(value: str) -> bytes:
    encoded = _COMMON_STATUSES.get(value)
    return encoded if encoded is not None else b"+%b\r\n" % _one_line(value)


def _encode_error(value: str) -> bytes:
    return b"-%b\r\n" % _one_line(value)


def _encode_bulk(value) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(value), value)


def _encode_text(value: str) -> bytes:
    return _encode_bulk(wire_bytes(value))


def _encode_int(value: int) -> bytes:
    if 0 <= value < 1024:
        return _SMALL_INTS[value]
    return b":%d\r\n" % value


def _build_encoders(protocol: int) -> _EncoderTable:
    """How each reply value is sent:

    value               RESP2                     RESP3
    Status("OK")        +OK                       +OK
    ErrorReply("ERR x") -ERR x                    -ERR x
    bytes / str         $len bulk (str as UTF-8)  same
    int                 :n                        :n
    bool                :1 / :0                   #t / #f
    None                $-1                       _
    NULL_ARRAY          *-1                       _
    float               $ bulk of %.17g           ,%.17g
    list / tuple        *n array                  *n array
    dict                *2n flat key, value, ...  %n map
    RespSet             *n array                  ~n set
    Push                *n array                  >n push
    Verbatim            $ bulk                    =len txt:...
    Frames              its items back to back    same (SUBSCRIBE a b answers two frames)
    """
    table = _EncoderTable()
    lookup = table.__getitem__  # nested values, encoded recursively

    def encode_items(items, parts: list) -> bytes:
        """parts followed by each item's encoding, joined. A short bulk string, most items
        of most replies (LRANGE, HGETALL ...), is encoded right here, without a call."""
        append = parts.append
        headers = _BULK_HEADERS
        for item in items:
            if type(item) is bytes:
                size = len(item)
                if size < _SHORT_BULK:
                    append(headers[size])
                    append(item)
                    append(b"\r\n")
                    continue
            append(lookup(type(item))(item))
        return b"".join(parts)

    def aggregate(prefix: bytes):
        header = prefix + b"%d\r\n"

        def encode_aggregate(items) -> bytes:
            return encode_items(items, [header % len(items)])

        return encode_aggregate

    array = aggregate(b"*")
    table.update({
        Status: _encode_status,
        ErrorReply: _encode_error,
        bytes: _encode_bulk,
        bytearray: _encode_bulk,
        memoryview: lambda value: _encode_bulk(value.tobytes()),
        str: _encode_text,
        int: _encode_int,
        list: array,
        tuple: array,
        Frames: lambda frames: encode_items(frames, []),
    })
    if protocol == 2:
        def encode_map(value: dict) -> bytes:
            return encode_items(chain.from_iterable(value.items()), [b"*%d\r\n" % (2 * len(value))])

        table.update({
            bool: lambda value: b":1\r\n" if value else b":0\r\n",
            type(None): lambda value: b"$-1\r\n",
            _NullArray: lambda value: b"*-1\r\n",
            float: lambda value: _encode_bulk(format_double(value).encode()),
            dict: encode_map,
            RespSet: array,
            Push: array,
            Verbatim: _encode_text,
        })
    else:
        def encode_map(value: dict) -> bytes:
            return encode_items(chain.from_iterable(value.items()), [b"%%%d\r\n" % len(value)])

        def encode_verbatim(value: Verbatim) -> bytes:
            data = wire_bytes(value)
            kind = (value.format + "   ")[:3].encode()
            return b"=%d\r\n%b:%b\r\n" % (len(data) + 4, kind, data)

        table.update({
            bool: lambda value: b"#t\r\n" if value else b"#f\r\n",
            type(None): lambda value: b"_\r\n",
            _NullArray: lambda value: b"_\r\n",
            float: lambda value: b",%b\r\n" % format_double(value).encode(),
            dict: encode_map,
            RespSet: aggregate(b"~"),
            Push: aggregate(b">"),
            Verbatim: encode_verbatim,
        })
    return table


RESP2_ENCODERS = _build_encoders(2)
RESP3_ENCODERS = _build_encoders(3)


def encode(value, protocol: int) -> bytes:
    """The RESP bytes of one reply value; protocol is 2 or 3."""
    table = RESP3_ENCODERS if protocol == 3 else RESP2_ENCODERS
    return table[type(value)](value)
