"""Unit tests of reference/protocol.py: the sans-I/O RESP parser and encoder.

Every expected error text, every "waits for more data" case and every reply
byte string below was observed on a live redis-server 7.0.15 (raw sockets /
``printf ... | nc``), not derived from our own code.
"""

import enum

import pytest
from hypothesis import given, settings, strategies as st

from reference.values import string2ll
from reference.protocol import (
    INLINE_MAX_SIZE,
    NULL_ARRAY,
    OK,
    PONG,
    QUEUED,
    ErrorReply,
    ProtocolError,
    Push,
    RequestParser,
    RespSet,
    Status,
    Verbatim,
    encode,
    encode_command,
    split_inline_args,
    wire_bytes,
)


def parse_all(data, chunks=None, authenticated=True, max_bulk_len=None):
    """Feed data (optionally split at the given offsets), collect every
    command; returns (commands, error message or None, parser)."""
    parser = RequestParser() if max_bulk_len is None else RequestParser(max_bulk_len)
    parser.authenticated = authenticated
    cuts = [0, *sorted(chunks or []), len(data)]
    commands = []
    try:
        for start, end in zip(cuts, cuts[1:]):
            parser.feed(data[start:end])
            while (argv := parser.next_command()) is not None:
                commands.append(argv)
    except ProtocolError as error:
        return commands, str(error), parser
    return commands, None, parser


# --- multibulk and inline requests -------------------------------------------


def test_pipelined_commands_of_both_kinds():
    data = encode_command([b"SET", b"k", b"v"]) + b"GET k\r\nPING\n" + encode_command([b"ECHO", b""])
    commands, error, parser = parse_all(data)
    assert commands == [[b"SET", b"k", b"v"], [b"GET", b"k"], [b"PING"], [b"ECHO", b""]]
    assert error is None and parser.pending() == 0


def test_partial_command_waits_and_counts_as_pending():
    data = b"*1\r\n$4\r\nPING\r\n*3\r\n$4\r\nECHO\r\n$1\r\nx\r\n$3\r\n"
    commands, error, parser = parse_all(data)
    assert commands == [[b"PING"]] and error is None
    # As in Redis, words already read and the "$3" header are consumed.
    assert parser.pending() == 0
    parser.feed(b"abc\r\n")
    assert parser.next_command() == [b"ECHO", b"x", b"abc"]
    assert parser.next_command() is None and parser.pending() == 0


@pytest.mark.parametrize("data", [b"*-1\r\n*0\r\n*-5\r\nPING\r\n", b"\r\n\n   \r\nPING\n",
                                  b"*-9223372036854775808\r\nPING\r\n"])
def test_empty_commands_are_skipped(data):
    assert parse_all(data)[:2] == ([[b"PING"]], None)


@pytest.mark.parametrize("data, argv", [
    # Redis skips the two bytes after a count line's \r, and after a payload,
    # without looking at them.
    (b"*1\rX$4\r\nPINGxx", [b"PING"]),
    (b"*1\r\n$4\r\nPINGxx", [b"PING"]),
    (b"*1\r\n$0\r\n\r\n", [b""]),
])
def test_bytes_after_cr_are_not_checked(data, argv):
    assert parse_all(data)[:2] == ([argv], None)


@pytest.mark.parametrize("data", [
    b"PING\0\r\nPING\r\n",  # C's strchr stops at NUL: no line end found
    b"*1\0\r\n",
    b"*1\r\n$4\0\r\nPING\r\n",
    b"*1\r\n$\0\r\nPING\r\n",
    b"*2147483647\r\n",
    b"*1\r\n$536870912\r\n",  # exactly proto-max-bulk-len: waits for the data
    b"*1\r\n$4\r",  # \r is the last byte: the \n may still come
])
def test_waits_for_more_data(data):
    commands, error, parser = parse_all(data)
    assert commands == [] and error is None
    assert parser.next_command() is None


@pytest.mark.parametrize("data, message", [
    (b"*x\r\n", "Protocol error: invalid multibulk length"),
    (b"*2147483648\r\n", "Protocol error: invalid multibulk length"),
    (b"*01\r\n", "Protocol error: invalid multibulk length"),
    (b"*-0\r\n", "Protocol error: invalid multibulk length"),
    (b"*+1\r\n", "Protocol error: invalid multibulk length"),
    (b"*\r\n", "Protocol error: invalid multibulk length"),
    (b"*-9223372036854775809\r\n", "Protocol error: invalid multibulk length"),
    (b"*1\r\nx4\r\n", "Protocol error: expected '$', got 'x'"),
    (b"*1\r\n\r\n", "Protocol error: expected '$', got ' '"),  # \r and \n become spaces
    (b"*1\r\n\n$4\r\n", "Protocol error: expected '$', got ' '"),
    (b"*1\r\n$-1\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$01\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$+1\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$ 1\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$-0\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$9223372036854775808\r\n", "Protocol error: invalid bulk length"),
    (b"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"),
    (b'ECHO "a"b\r\n', "Protocol error: unbalanced quotes in request"),
    (b'ECHO "ab\r\n', "Protocol error: unbalanced quotes in request"),
    (b"ECHO 'ab\r\n", "Protocol error: unbalanced quotes in request"),
    (b'ECHO "a\\"\r\n', "Protocol error: unbalanced quotes in request"),
    (b'ECHO "a""b"\r\n', "Protocol error: unbalanced quotes in request"),
    (b"ECHO 'a'b\r\n", "Protocol error: unbalanced quotes in request"),
    (b"ECHO 'a\\\\'\r\n", "Protocol error: unbalanced quotes in request"),
])
def test_protocol_errors(data, message):
    assert parse_all(data)[:2] == ([], message)


def test_expected_dollar_reports_the_raw_byte():
    commands, error, _ = parse_all(b"*1\r\n\xff4\r\n")
    # Redis sends the byte itself: -ERR Protocol error: expected '$', got '\xff'
    assert wire_bytes(error) == b"Protocol error: expected '$', got '\xff'"


def test_commands_before_an_error_come_first_and_the_error_sticks():
    parser = RequestParser()
    parser.feed(b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n")
    assert parser.next_command() == [b"PING"]
    assert parser.next_command() == [b"PING"]
    for _ in range(2):
        with pytest.raises(ProtocolError, match="^Protocol error: invalid multibulk length$"):
            parser.next_command()


@pytest.mark.parametrize("data, too_big, message", [
    (b"a" * INLINE_MAX_SIZE, b"a", "Protocol error: too big inline request"),
    (b"*" + b"1" * (INLINE_MAX_SIZE - 1), b"1", "Protocol error: too big mbulk count string"),
    (b"*1\r\n$" + b"1" * (INLINE_MAX_SIZE - 1), b"1", "Protocol error: too big bulk count string"),
])
def test_unterminated_lines_are_limited_to_64k(data, too_big, message):
    # 65536 unconsumed bytes without a line end wait; 65537 are an error.
    assert parse_all(data)[:2] == ([], None)
    assert parse_all(data + too_big)[:2] == ([], message)


def test_an_overlong_count_line_with_its_end_is_just_invalid():
    data = b"*1\r\n$" + b"1" * INLINE_MAX_SIZE + b"\r\n"
    assert parse_all(data)[:2] == ([], "Protocol error: invalid bulk length")


def test_inline_line_just_under_the_limit():
    data = b"ECHO " + b"a" * 65532 + b"\r\n"
    assert parse_all(data)[:2] == ([[b"ECHO", b"a" * 65532]], None)


def test_unauthenticated_limits():
    assert parse_all(b"*10\r\n", authenticated=False)[:2] == ([], None)
    assert parse_all(b"*11\r\n", authenticated=False)[:2] == (
        [], "Protocol error: unauthenticated multibulk length")
    assert parse_all(b"*1\r\n$16384\r\n", authenticated=False)[:2] == ([], None)
    assert parse_all(b"*1\r\n$16385\r\n", authenticated=False)[:2] == (
        [], "Protocol error: unauthenticated bulk length")
    # invalid beats unauthenticated
    assert parse_all(b"*1\r\n$-1\r\n", authenticated=False)[1] == "Protocol error: invalid bulk length"
    assert parse_all(b"*11x\r\n", authenticated=False)[1] == "Protocol error: invalid multibulk length"
    # inline commands have no unauthenticated limit
    inline = b"ECHO " + b"a" * 20000 + b"\r\n"
    assert parse_all(inline, authenticated=False)[0] == [[b"ECHO", b"a" * 20000]]


def test_authenticating_lifts_the_limits():
    parser = RequestParser()
    parser.authenticated = False
    parser.feed(encode_command([b"AUTH", b"pw"]) + b"*11\r\n")
    assert parser.next_command() == [b"AUTH", b"pw"]
    parser.authenticated = True  # what the server does after a successful AUTH
    assert parser.next_command() is None


def test_max_bulk_len_follows_config_set():
    parser = RequestParser()
    parser.max_bulk_len = 1024 * 1024
    parser.feed(b"*1\r\n$1048577\r\n")
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        parser.next_command()
    assert parse_all(b"*1\r\n$1048576\r\n", max_bulk_len=1024 * 1024)[:2] == ([], None)


def test_big_bulk_in_small_pieces():
    payload = bytes(range(256)) * 4096  # 1 MiB
    data = encode_command([b"SET", b"k", payload])
    parser = RequestParser()
    got = None
    for start in range(0, len(data), 4096):
        parser.feed(data[start : start + 4096])
        got = parser.next_command() or got
        if got is None:
            assert 0 < parser.pending() <= start + 4096
    assert got == [b"SET", b"k", payload]


# --- inline splitting ----------------------------------------------------------


@pytest.mark.parametrize("line, words", [
    (b'ECHO "a\\x41\\n\\q" \'b\\\'c\\n\'', [b"ECHO", b"aA\nq", b"b'c\\n"]),
    (b'ECHO a"bc" d', [b"ECHO", b"abc", b"d"]),  # quotes may open mid-word
    (b'ECHO"x"', [b"ECHOx"]),
    (b'ECHO "a"\x0b', [b"ECHO", b"a"]),  # \v counts as space after a quote
    (b"ECHO \x0b\x0cab\x0bc", [b"ECHO", b"ab\x0bc"]),  # ...but does not end a word
    (b"ECHO a\rb", [b"ECHO", b"a", b"b"]),
    (b'ECHO a\x0b"b"', [b"ECHO", b"a\x0bb"]),  # the same rules on a line with quotes
    (b'ECHO \x0b"a"', [b"ECHO", b"a"]),
    (b'ECHO "\\xzz\\x4"', [b"ECHO", b"xzzx4"]),  # not two hex digits: plain escapes
    (b'ECHO "\\xA1"', [b"ECHO", b"\xa1"]),
    (b'ECHO "\\x00\\x7f\\xFF"', [b"ECHO", b"\x00\x7f\xff"]),
    (b'ECHO "a\\\\b\\"c"', [b"ECHO", b'a\\b"c']),
    (b"ECHO '\\\\''", [b"ECHO", b"\\'"]),
    (b'ECHO "" \'\'', [b"ECHO", b"", b""]),
    (b"   \t ECHO \t x  ", [b"ECHO", b"x"]),
    (b"", []),
])
def test_split_inline_args(line, words):
    assert split_inline_args(line) == words


@pytest.mark.parametrize("text, value", [
    (b"0", 0), (b"-1", -1), (b"9223372036854775807", 2**63 - 1),
    (b"-9223372036854775808", -(2**63)), (b"9223372036854775808", None),
    (b"00", None), (b"-0", None), (b"+1", None), (b" 1", None), (b"1 ", None),
    (b"", None), (b"-", None), (b"1_0", None), (b"\xd9\xa1", None),
])
def test_string2ll(text, value):
    assert string2ll(text) == value


# --- properties ------------------------------------------------------------------

argvs = st.lists(st.binary(max_size=40), min_size=1, max_size=6)


@st.composite
def split_points(draw, data):
    if not data:
        return []
    return draw(st.lists(st.integers(0, len(data)), max_size=8))


@settings(max_examples=200, deadline=None)
@given(st.lists(argvs, min_size=1, max_size=5), st.data())
def test_multibulk_round_trip_in_any_chunks(commands, data):
    wire = b"".join(encode_command(argv) for argv in commands)
    cuts = data.draw(split_points(wire))
    got, error, parser = parse_all(wire, cuts)
    assert (got, error, parser.pending()) == (commands, None, 0)


def quote_double(word):
    out = bytearray(b'"')
    for byte in word:
        if byte in b'\\"':
            out += b"\\" + bytes([byte])
        elif 0x20 <= byte < 0x7F:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    return bytes(out + b'"')


def quote_inline(word, style):
    if style == "single" and not word.endswith(b"\\") and not set(word) & set(b"\0\r\n"):
        return b"'" + word.replace(b"'", b"\\'") + b"'"
    if style == "plain" and word[:1] not in b"*\v\f" and not set(word) & set(b" \t\r\n\0\"'"):
        return word  # a line starting with * would be multibulk
    return quote_double(word)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.binary(max_size=20), st.sampled_from(["plain", "single", "double"])),
                         min_size=1, max_size=5), min_size=1, max_size=4),
       st.sampled_from([b"\r\n", b"\n"]), st.data())
def test_inline_round_trip(lines, line_end, data):
    wire = b"".join(b" ".join(quote_inline(w, s) for w, s in line) + line_end for line in lines)
    cuts = data.draw(split_points(wire))
    got, error, _ = parse_all(wire, cuts)
    assert error is None
    assert got == [[w for w, _ in line] for line in lines]


protocol_bytes = st.lists(
    st.one_of(st.sampled_from([b"*", b"$", b"\r", b"\n", b"\r\n", b"\0", b'"', b"'", b"\\", b" ",
                               b"-", b"0", b"1", b"2", b"3", b"x", b"\\x4", b"\t", b"\x0b"]),
              st.binary(max_size=4)),
    max_size=40).map(b"".join)


@settings(max_examples=300, deadline=None)
@given(protocol_bytes, st.data())
def test_garbage_never_crashes_and_chunking_does_not_matter(wire, data):
    whole = parse_all(wire)[:2]
    cuts = data.draw(split_points(wire))
    # Small inputs never reach the 64 KB limits, the only rules that depend
    # on how the bytes were split.
    assert parse_all(wire, cuts)[:2] == whole


@settings(max_examples=300, deadline=None)
@given(protocol_bytes)
def test_parser_always_makes_progress(wire):
    parser = RequestParser()
    parser.feed(wire)
    for _ in range(len(wire) + 2):  # a command consumes at least one byte
        before = parser.pending()
        try:
            argv = parser.next_command()
        except ProtocolError:
            with pytest.raises(ProtocolError):
                parser.next_command()
            return
        if argv is None:  # maybe after skipping empty commands
            assert parser.pending() <= before
            stuck = parser.pending()
            assert parser.next_command() is None and parser.pending() == stuck
            return
        assert argv and all(type(word) is bytes for word in argv)
        assert parser.pending() < before
    pytest.fail("parser returned more commands than it had bytes")


# --- reply encoding ------------------------------------------------------------------
# Expected bytes as redis-server 7.0.15 sends them, with the command that showed it.


@pytest.mark.parametrize("value, resp2, resp3", [
    (OK, b"+OK\r\n", b"+OK\r\n"),  # SET
    (PONG, b"+PONG\r\n", b"+PONG\r\n"),
    (QUEUED, b"+QUEUED\r\n", b"+QUEUED\r\n"),
    (Status("a b"), b"+a b\r\n", b"+a b\r\n"),  # EVAL "return redis.status_reply('a b')"
    (ErrorReply("ERR syntax error"), b"-ERR syntax error\r\n", b"-ERR syntax error\r\n"),
    # unknown command '\r\nFOO\nX\r\n': newlines become spaces, nothing is trimmed
    (ErrorReply("ERR unknown command '\r\nFOO\nX\r\n'"), b"-ERR unknown command '  FOO X  '\r\n",
     b"-ERR unknown command '  FOO X  '\r\n"),
    (b"1.5", b"$3\r\n1.5\r\n", b"$3\r\n1.5\r\n"),  # INCRBYFLOAT x 1.5
    (b"", b"$0\r\n\r\n", b"$0\r\n\r\n"),  # ECHO ""
    (bytearray(b"ab"), b"$2\r\nab\r\n", b"$2\r\nab\r\n"),
    (memoryview(b"ab"), b"$2\r\nab\r\n", b"$2\r\nab\r\n"),
    ("é", b"$2\r\n\xc3\xa9\r\n", b"$2\r\n\xc3\xa9\r\n"),
    (1, b":1\r\n", b":1\r\n"),  # EXISTS s
    (0, b":0\r\n", b":0\r\n"),
    (-1, b":-1\r\n", b":-1\r\n"),
    (1024, b":1024\r\n", b":1024\r\n"),
    (2**63 - 1, b":9223372036854775807\r\n", b":9223372036854775807\r\n"),
    (True, b":1\r\n", b"#t\r\n"),  # EVAL "redis.setresp(3); return true"
    (False, b":0\r\n", b"#f\r\n"),
    (None, b"$-1\r\n", b"_\r\n"),  # GET nokey
    (NULL_ARRAY, b"*-1\r\n", b"_\r\n"),  # BLPOP nokey 0.01
    ([], b"*0\r\n", b"*0\r\n"),
    ([b"maxmemory", b"0"], b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
     b"*2\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"),
    ((1, (b"a",)), b"*2\r\n:1\r\n*1\r\n$1\r\na\r\n", b"*2\r\n:1\r\n*1\r\n$1\r\na\r\n"),
    ({b"f": b"v"}, b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n", b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"),  # HGETALL h
    ({}, b"*0\r\n", b"%0\r\n"),
    (RespSet([b"b", b"a"]), b"*2\r\n$1\r\nb\r\n$1\r\na\r\n", b"~2\r\n$1\r\nb\r\n$1\r\na\r\n"),  # SMEMBERS
    (RespSet(), b"*0\r\n", b"~0\r\n"),
    (Push([b"subscribe", b"ch", 1]), b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
     b">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"),  # SUBSCRIBE ch
    (Verbatim("id=5 resp=3\n"), b"$12\r\nid=5 resp=3\n\r\n", b"=16\r\ntxt:id=5 resp=3\n\r\n"),  # CLIENT INFO
    # ZSCORE after ZADD z 0.1 a 1.5 b inf c -inf d 1e300 e 3 g 1e-7 h 123456789012345678 i
    (0.1, b"$19\r\n0.10000000000000001\r\n", b",0.10000000000000001\r\n"),
    (1.5, b"$3\r\n1.5\r\n", b",1.5\r\n"),
    (3.0, b"$1\r\n3\r\n", b",3\r\n"),
    (1e300, b"$23\r\n1.0000000000000001e+300\r\n", b",1.0000000000000001e+300\r\n"),
    (1e-7, b"$22\r\n9.9999999999999995e-08\r\n", b",9.9999999999999995e-08\r\n"),
    (123456789012345678.0, b"$22\r\n1.2345678901234568e+17\r\n", b",1.2345678901234568e+17\r\n"),
    (float("inf"), b"$3\r\ninf\r\n", b",inf\r\n"),
    (float("-inf"), b"$4\r\n-inf\r\n", b",-inf\r\n"),
    # EVAL "redis.setresp(3); return {double=-(0/0)}" and {double=0/0}
    (float("nan"), b"$3\r\nnan\r\n", b",nan\r\n"),
    (-float("nan"), b"$4\r\n-nan\r\n", b",-nan\r\n"),
])
def test_encode(value, resp2, resp3):
    assert encode(value, 2) == resp2
    assert encode(value, 3) == resp3


def test_hello_3_reply_shape():
    hello = {b"server": b"redis", b"version": b"7.0.15", b"proto": 3, b"id": 60,
             b"mode": b"standalone", b"role": b"master", b"modules": []}
    assert encode(hello, 3) == (
        b"%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n"
        b"$2\r\nid\r\n:60\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
        b"$7\r\nmodules\r\n*0\r\n")


def test_raw_bytes_survive_error_text():
    # Redis echoes user bytes verbatim in errors; text from wire_text round-trips.
    assert encode(ErrorReply("ERR x '" + b"\xff".decode("utf-8", "surrogateescape") + "'"), 2) == b"-ERR x '\xff'\r\n"


def test_subclasses_use_their_base_encoding_and_unknown_types_fail():
    class Color(enum.IntEnum):
        RED = 7

    assert encode(Color.RED, 2) == b":7\r\n"
    with pytest.raises(TypeError):
        encode(object(), 2)


@settings(max_examples=100, deadline=None)
@given(argvs)
def test_encoded_array_of_bulks_is_a_valid_request(argv):
    # An array of bulk strings is exactly the multibulk request format.
    assert encode(argv, 2) == encode(argv, 3) == encode_command(argv)
    assert parse_all(encode(argv, 2))[0] == [argv]
