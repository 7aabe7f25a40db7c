"""Any bytes a client may send, against real Redis 7.0 as the oracle.

Hypothesis draws a stream of requests: valid commands (some of them MULTI, EXEC, QUIT ...),
multibulk and bulk headers that are malformed, negative, too large or not numbers, inline lines
with quotes and escapes, and binary garbage, sent in pieces of any size. The same stream goes
to the target and to a real redis-server 7.0 that the test starts; each connection then closes
its sending side, and everything each server answered up to closing the connection must be the
same bytes: the same replies, the same protocol errors, the connection closed at the same point
(a server that goes on after a protocol error answers what Redis never answers). The target
must then still answer a new client: it neither crashed nor hung.

Lengths are drawn where both servers answer at once: below 32 KiB (a longer bulk makes Redis
reserve the whole length before it comes) or past the 512 MiB proto-max-bulk-len, which is an
error.

The `ci` profile draws 300 streams; `thorough` a million (hours: for a night);
REDSPEC_PROTOCOL_EXAMPLES sets another number.
"""
from __future__ import annotations

import os
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.client import encode_command

CI_EXAMPLES = 300
THOROUGH_EXAMPLES = 1_000_000
READ_TIMEOUT = 30.0  # seconds a server may take to answer a stream and close (a busy machine)

# --- what is drawn ----------------------------------------------------------------------------

KEYS = st.sampled_from([b"fz:a", b"fz:b", b"fz:n"])
VALUES = st.sampled_from([b"", b"0", b"1", b"-3", b"x", b"hello world", b"\x00\xff", b"9" * 30])
COMMANDS = st.one_of(
    st.tuples(st.just(b"PING")),
    st.tuples(st.just(b"PING"), VALUES),
    st.tuples(st.just(b"ECHO"), VALUES),
    st.tuples(st.just(b"SET"), KEYS, VALUES),
    st.tuples(st.just(b"GET"), KEYS),
    st.tuples(st.just(b"INCR"), KEYS),
    st.tuples(st.just(b"APPEND"), KEYS, VALUES),
    st.tuples(st.just(b"RPUSH"), KEYS, VALUES, VALUES),
    st.tuples(st.just(b"LRANGE"), KEYS, st.just(b"0"), st.just(b"-1")),
    st.tuples(st.just(b"DEL"), KEYS, KEYS),
    st.tuples(st.sampled_from([b"MULTI", b"EXEC", b"DISCARD", b"QUIT", b"RESET"])),
    st.tuples(st.just(b"SELECT"), st.sampled_from([b"0", b"1", b"16", b"x"])),
    st.tuples(st.sampled_from([b"NOSUCH", b"get", b"Set", b"", b"\x00"]), VALUES),  # unknown, or arity
    st.lists(VALUES, min_size=0, max_size=3).map(lambda words: (b"ECHO", *words)),  # wrong arity too
)

# Numbers as a header may hold them: fine, negative, too large, not numbers at all.
SMALL = st.integers(min_value=-3, max_value=40).map(lambda n: b"%d" % n)
ODD_NUMBERS = st.sampled_from([b"", b"-", b"+1", b" 1", b"1 ", b"0x10", b"1e3", b"abc", b"9" * 25,
                               b"-9223372036854775809", b"1048577", b"536870913", b"600000000"])
NUMBER = st.one_of(SMALL, ODD_NUMBERS)
EOL = st.sampled_from([b"\r\n", b"\n", b"\r", b""])


@st.composite
def multibulk(draw) -> bytes:
    """A multibulk request with something wrong, or nothing: its count, a bulk's `$`, a
    bulk's length, or a bulk's bytes and their CRLF."""
    words = draw(COMMANDS)
    parts = [b"*" + draw(st.one_of(st.just(b"%d" % len(words)), NUMBER)) + draw(EOL)]
    for word in words:
        marker = draw(st.sampled_from([b"$"] * 6 + [b":", b"*", b"+", b"x"]))
        length = draw(st.one_of(st.just(b"%d" % len(word)), NUMBER)) if draw(st.booleans()) else b"%d" % len(word)
        parts.append(marker + length + draw(EOL) + word + draw(st.sampled_from([b"\r\n", b"\r\n", b"\n", b"xx", b""])))
    return b"".join(parts)


INLINE_TEXT = st.text(alphabet=st.sampled_from(list("ab PING ECHO SET fz \"'\\x41\\n\t")), max_size=40)
PIECES = st.one_of(
    COMMANDS.map(lambda words: encode_command(words)),
    COMMANDS.map(lambda words: encode_command(words)),
    multibulk(),
    st.tuples(INLINE_TEXT, EOL).map(lambda t: t[0].encode() + t[1]),
    st.tuples(COMMANDS, st.sampled_from([b"\r\n", b"\n"])).map(lambda t: b" ".join(t[0]) + t[1]),
    st.binary(max_size=30),
)


@st.composite
def streams(draw) -> list[bytes]:
    """Requests, then cut into the writes that send them (at any byte)."""
    data = b"".join(draw(st.lists(PIECES, min_size=1, max_size=6)))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(data)), max_size=4))))
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:]) if b > a] or [data]


# --- the exchange -----------------------------------------------------------------------------

def answered(host: str, port: int, writes: list[bytes]) -> bytes:
    """Send the writes on a new connection, close its sending side, and return every byte the
    server sent until it closed the connection."""
    with socket.create_connection((host, port), timeout=READ_TIMEOUT) as sock:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            for data in writes:
                sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # (broken pipe, reset, not connected)
            pass  # it closed early (QUIT, a protocol error): what it answered is still to read
        received = bytearray()
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
    return bytes(received)


@pytest.fixture
def oracle(real_redis):
    return real_redis.start()


def examples() -> int:
    """REDSPEC_PROTOCOL_EXAMPLES, else: a profile asking for many examples (`thorough`) gets the
    long run."""
    if os.environ.get("REDSPEC_PROTOCOL_EXAMPLES"):
        return int(os.environ["REDSPEC_PROTOCOL_EXAMPLES"])
    return THOROUGH_EXAMPLES if settings.default.max_examples >= 2000 else CI_EXAMPLES


@settings(max_examples=examples(), suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                          HealthCheck.too_slow, HealthCheck.data_too_large])
@given(writes=streams())
def test_any_bytes_are_answered_as_redis_answers_them(target, client, oracle, writes):
    for server in (client, oracle.client()):
        assert server.call("FLUSHALL") == "OK"
    expected = answered("127.0.0.1", oracle.port, writes)
    got = answered(target.host, target.port, writes)
    assert got == expected, (f"sent {b''.join(writes)!r} in {len(writes)} write(s):\n"
                             f"Redis 7.0 answered {expected!r}\nthe target answered {got!r}")
    assert target.client().call("PING") == "PONG", "the target stopped answering new clients"
