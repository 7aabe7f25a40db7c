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
    DEFAULT_MAX_BULK_LEN,
    INLINE_MAX_SIZE,
    NULL_ARRAY,
    OK,
    PONG,
    QUEUED,
    ErrorReply,
    Frames,
    HiredisRequestParser,
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


# Every parser test runs against both parsers: RequestParser, the specification, and
# HiredisRequestParser, which must not differ from it in anything observable.
PARSERS = pytest.mark.parametrize("parser_class", [RequestParser, HiredisRequestParser])


def parse_all(data, chunks=None, authenticated=True, max_bulk_len=None, parser_class=RequestParser):
    """Feed data (optionally split at the given offsets), collect every
    command; returns (commands, error message or None, parser)."""
    parser = parser_class() if max_bulk_len is None else parser_class(max_bulk_len)
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


@PARSERS
def test_pipelined_commands_of_both_kinds(parser_class):
    data = encode_command([b"SET", b"k", b"v"]) + b"GET k\r\nPING\n" + encode_command([b"ECHO", b""])
    commands, error, parser = parse_all(data, parser_class=parser_class)
    assert commands == [[b"SET", b"k", b"v"], [b"GET", b"k"], [b"PING"], [b"ECHO", b""]]
    assert error is None and parser.pending() == 0


@PARSERS
def test_partial_command_waits_and_counts_as_pending(parser_class):
    data = b"*1\r\n$4\r\nPING\r\n*3\r\n$4\r\nECHO\r\n$1\r\nx\r\n$3\r\n"
    commands, error, parser = parse_all(data, parser_class=parser_class)
    assert commands == [[b"PING"]] and error is None
    # As in Redis, words already read and the "$3" header are consumed.
    assert parser.pending() == 0
    parser.feed(b"abc\r\n")
    assert parser.next_command() == [b"ECHO", b"x", b"abc"]
    assert parser.next_command() is None and parser.pending() == 0


@PARSERS
@pytest.mark.parametrize("data", [b"*-1\r\n*0\r\n*-5\r\nPING\r\n", b"\r\n\n   \r\nPING\n",
                                  b"*-9223372036854775808\r\nPING\r\n"])
def test_empty_commands_are_skipped(data, parser_class):
    assert parse_all(data, parser_class=parser_class)[:2] == ([[b"PING"]], None)


@PARSERS
@pytest.mark.parametrize("data, argv", [
    # Redis skips the two bytes after a count line's \r, and after a payload,
    # without looking at them.
    (b"*1\rX$4\r\nPINGxx", [b"PING"]),
    (b"*1\r\n$4\r\nPINGxx", [b"PING"]),
    (b"*1\r\n$0\r\n\r\n", [b""]),
])
def test_bytes_after_cr_are_not_checked(data, argv, parser_class):
    assert parse_all(data, parser_class=parser_class)[:2] == ([argv], None)


@PARSERS
@pytest.mark.parametrize("data", [
    b"PING\0\r\nPING\r\n",  # C's strchr stops at NUL: no line end found
    b"*1\0\r\n",
    b"*1\r\n$4\0\r\nPING\r\n",
    b"*1\r\n$\0\r\nPING\r\n",
    b"*2147483647\r\n",
    b"*1\r\n$536870912\r\n",  # exactly proto-max-bulk-len: waits for the data
    b"*1\r\n$4\r",  # \r is the last byte: the \n may still come
])
def test_waits_for_more_data(data, parser_class):
    commands, error, parser = parse_all(data, parser_class=parser_class)
    assert commands == [] and error is None
    assert parser.next_command() is None


@PARSERS
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
def test_protocol_errors(data, message, parser_class):
    assert parse_all(data, parser_class=parser_class)[:2] == ([], message)


@PARSERS
def test_expected_dollar_reports_the_raw_byte(parser_class):
    commands, error, _ = parse_all(b"*1\r\n\xff4\r\n", parser_class=parser_class)
    # Redis sends the byte itself: -ERR Protocol error: expected '$', got '\xff'
    assert wire_bytes(error) == b"Protocol error: expected '$', got '\xff'"


@PARSERS
def test_commands_before_an_error_come_first_and_the_error_sticks(parser_class):
    parser = parser_class()
    parser.feed(b"PING\r\n*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n")
    assert parser.next_command() == [b"PING"]
    assert parser.next_command() == [b"PING"]
    for _ in range(2):
        with pytest.raises(ProtocolError, match="^Protocol error: invalid multibulk length$"):
            parser.next_command()


@PARSERS
@pytest.mark.parametrize("data, too_big, message", [
    (b"a" * INLINE_MAX_SIZE, b"a", "Protocol error: too big inline request"),
    (b"*" + b"1" * (INLINE_MAX_SIZE - 1), b"1", "Protocol error: too big mbulk count string"),
    (b"*1\r\n$" + b"1" * (INLINE_MAX_SIZE - 1), b"1", "Protocol error: too big bulk count string"),
])
def test_unterminated_lines_are_limited_to_64k(data, too_big, message, parser_class):
    # 65536 unconsumed bytes without a line end wait; 65537 are an error.
    assert parse_all(data, parser_class=parser_class)[:2] == ([], None)
    assert parse_all(data + too_big, parser_class=parser_class)[:2] == ([], message)


@PARSERS
def test_an_overlong_count_line_with_its_end_is_just_invalid(parser_class):
    data = b"*1\r\n$" + b"1" * INLINE_MAX_SIZE + b"\r\n"
    assert parse_all(data, parser_class=parser_class)[:2] == ([], "Protocol error: invalid bulk length")


@PARSERS
def test_inline_line_just_under_the_limit(parser_class):
    data = b"ECHO " + b"a" * 65532 + b"\r\n"
    assert parse_all(data, parser_class=parser_class)[:2] == ([[b"ECHO", b"a" * 65532]], None)


@PARSERS
def test_unauthenticated_limits(parser_class):
    def parse(data):
        return parse_all(data, authenticated=False, parser_class=parser_class)[:2]

    assert parse(b"*10\r\n") == ([], None)
    assert parse(b"*11\r\n") == ([], "Protocol error: unauthenticated multibulk length")
    assert parse(b"*1\r\n$16384\r\n") == ([], None)
    assert parse(b"*1\r\n$16385\r\n") == ([], "Protocol error: unauthenticated bulk length")
    # invalid beats unauthenticated
    assert parse(b"*1\r\n$-1\r\n")[1] == "Protocol error: invalid bulk length"
    assert parse(b"*11x\r\n")[1] == "Protocol error: invalid multibulk length"
    # inline commands have no unauthenticated limit
    inline = b"ECHO " + b"a" * 20000 + b"\r\n"
    assert parse(inline)[0] == [[b"ECHO", b"a" * 20000]]


@PARSERS
def test_authenticating_lifts_the_limits(parser_class):
    parser = parser_class()
    parser.authenticated = False
    parser.feed(encode_command([b"AUTH", b"pw"]) + b"*11\r\n")
    assert parser.next_command() == [b"AUTH", b"pw"]
    parser.authenticated = True  # what the server does after a successful AUTH
    assert parser.next_command() is None


@PARSERS
def test_max_bulk_len_follows_config_set(parser_class):
    parser = parser_class()
    parser.max_bulk_len = 1024 * 1024
    parser.feed(b"*1\r\n$1048577\r\n")
    with pytest.raises(ProtocolError, match="invalid bulk length"):
        parser.next_command()
    commands, error, _ = parse_all(b"*1\r\n$1048576\r\n", max_bulk_len=1024 * 1024, parser_class=parser_class)
    assert (commands, error) == ([], None)


@PARSERS
def test_big_bulk_in_small_pieces(parser_class):
    payload = bytes(range(256)) * 4096  # 1 MiB
    data = encode_command([b"SET", b"k", payload])
    parser = parser_class()
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


@PARSERS
@settings(max_examples=200, deadline=None)
@given(st.lists(argvs, min_size=1, max_size=5), st.data())
def test_multibulk_round_trip_in_any_chunks(parser_class, commands, data):
    wire = b"".join(encode_command(argv) for argv in commands)
    cuts = data.draw(split_points(wire))
    got, error, parser = parse_all(wire, cuts, parser_class=parser_class)
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


@PARSERS
@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.binary(max_size=20), st.sampled_from(["plain", "single", "double"])),
                         min_size=1, max_size=5), min_size=1, max_size=4),
       st.sampled_from([b"\r\n", b"\n"]), st.data())
def test_inline_round_trip(parser_class, lines, line_end, data):
    wire = b"".join(b" ".join(quote_inline(w, s) for w, s in line) + line_end for line in lines)
    cuts = data.draw(split_points(wire))
    got, error, _ = parse_all(wire, cuts, parser_class=parser_class)
    assert error is None
    assert got == [[w for w, _ in line] for line in lines]


protocol_bytes = st.lists(
    st.one_of(st.sampled_from([b"*", b"$", b"\r", b"\n", b"\r\n", b"\0", b'"', b"'", b"\\", b" ",
                               b"-", b"0", b"1", b"2", b"3", b"x", b"\\x4", b"\t", b"\x0b"]),
              st.binary(max_size=4)),
    max_size=40).map(b"".join)


@PARSERS
@settings(max_examples=300, deadline=None)
@given(protocol_bytes, st.data())
def test_garbage_never_crashes_and_chunking_does_not_matter(parser_class, wire, data):
    whole = parse_all(wire, parser_class=parser_class)[:2]
    cuts = data.draw(split_points(wire))
    # Small inputs never reach the 64 KB limits, the only rules that depend
    # on how the bytes were split.
    assert parse_all(wire, cuts, parser_class=parser_class)[:2] == whole


@PARSERS
@settings(max_examples=300, deadline=None)
@given(protocol_bytes)
def test_parser_always_makes_progress(parser_class, wire):
    parser = parser_class()
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


# --- HiredisRequestParser against the specification ------------------------------------
# Input hiredis reads differently from a Redis request: reply types as words, nested and
# null aggregates, RESP3 types, attributes, a count line's \r followed by another byte,
# bytes other than \r\n after a payload, leading zeros, a NUL, empty and inline commands,
# and commands that only the limits (unauthenticated, proto-max-bulk-len) refuse.
UNUSUAL_REQUESTS = [
    b"*0\r\n", b"*-1\r\n", b"*1\r\n$-1\r\n", b"*2\r\n+OK\r\n$1\r\nx\r\n", b"*1\r\n:1\r\n",
    b"*1\r\n-ERR x\r\n", b"*1\r\n*1\r\n$1\r\nx\r\n", b"*1\r\n_\r\n", b"*1\r\n#t\r\n",
    b"*1\r\n,1.5\r\n", b"*1\r\n(123\r\n", b"*1\r\n=7\r\ntxt:abc\r\n",
    b"*1\r\n%1\r\n$1\r\na\r\n$1\r\nb\r\n", b"*1\r\n~1\r\n$1\r\na\r\n", b"*1\r\n>1\r\n$1\r\na\r\n",
    b"*1\r\n|1\r\n$1\r\na\r\n$1\r\nb\r\n$4\r\nPING\r\n", b"|1\r\n+a\r\n+b\r\n*1\r\n$4\r\nPING\r\n",
    b"*1\rX$4\r\nPING\r\n", b"*1\r\n$4\r\nPINGxx", b"*1\r\n$04\r\nPING\r\n", b"*01\r\n$4\r\nPING\r\n",
    b"*1\r\n$4\r\nPI\0G\r\n", b"*1\0\r\n$4\r\nPING\r\n", b"PING\r\n", b"+PING\r\n", b"\r\n",
    b"*11\r\n" + b"$1\r\na\r\n" * 11, b"*2\r\n$4\r\nECHO\r\n$20000\r\n" + b"a" * 20000 + b"\r\n",
]
request_streams = st.lists(st.one_of(argvs.map(encode_command), st.sampled_from(UNUSUAL_REQUESTS),
                                     protocol_bytes),
                           max_size=8).map(b"".join)
# (authenticated, proto-max-bulk-len) as the server may change them between two commands
LIMITS = [(authenticated, max_bulk_len) for authenticated in (True, False)
          for max_bulk_len in (DEFAULT_MAX_BULK_LEN, 16384, 19999, 20000, 3, 0)]
parser_limits = st.sampled_from(LIMITS)


def parse_trace(parser_class, wire, cuts, limits):
    """Every step as the server sees it: for each next_command, after setting the limits, the
    command (or None) and pending(); the error text ends the trace."""
    parser = parser_class()
    limits = iter(limits)
    steps = []
    bounds = [0, *sorted(cuts), len(wire)]
    for start, end in zip(bounds, bounds[1:]):
        parser.feed(wire[start:end])
        while True:
            parser.authenticated, parser.max_bulk_len = next(limits, (True, DEFAULT_MAX_BULK_LEN))
            try:
                argv = parser.next_command()
            except ProtocolError as error:
                return steps + [str(error)]
            steps.append((argv, parser.pending()))
            if argv is None:
                break
    return steps


@settings(max_examples=500, deadline=None)
@given(request_streams, st.data())
def test_hiredis_parser_does_what_the_specification_does(wire, data):
    cuts = data.draw(split_points(wire))
    limits = data.draw(st.lists(parser_limits, max_size=12))
    assert parse_trace(HiredisRequestParser, wire, cuts, limits) == parse_trace(RequestParser, wire, cuts, limits)


@pytest.mark.parametrize("limits", LIMITS)
@pytest.mark.parametrize("unusual", UNUSUAL_REQUESTS)
def test_hiredis_parser_does_what_the_specification_does_on_each_unusual_request(unusual, limits):
    wire = encode_command([b"PING"]) + unusual + encode_command([b"ECHO", b"abcd"])
    for cuts in ([], [len(wire) - 3]):
        expected = parse_trace(RequestParser, wire, cuts, [limits] * 10)
        assert parse_trace(HiredisRequestParser, wire, cuts, [limits] * 10) == expected


@pytest.mark.parametrize("big", [b"*2147483647\r\n", b"*1\r\n*1000000\r\n", b"*1\r\n%9999999\r\n"])
def test_hiredis_never_reads_a_big_aggregate_header(big):
    # hiredis-py would make a list of that many elements at once (16 GB for the first one).
    wire = encode_command([b"PING"]) + big
    for cut in range(1, len(wire)):
        parser = HiredisRequestParser()
        parser.feed(wire[:cut])
        while parser.next_command() is not None:
            pass
        parser.feed(wire[cut:])
        reader_saw_it = parser._reader is not None
        assert parse_trace(HiredisRequestParser, wire, [cut], []) == parse_trace(RequestParser, wire, [cut], [])
        assert not reader_saw_it


def test_hiredis_reads_canonical_commands():
    # The equivalence above would hold trivially if hiredis were never used.
    parser = HiredisRequestParser()
    parser.feed(encode_command([b"SET", b"k", b"v"]) + encode_command([b"GET", b"k"]))
    assert parser.next_command() == [b"SET", b"k", b"v"]
    assert parser._reader is not None
    assert parser.next_command() == [b"GET", b"k"]
    assert parser.next_command() is None and parser.pending() == 0
    parser.feed(encode_command([b"DEL", b"k"]))  # the same reader reads on
    assert parser.next_command() == [b"DEL", b"k"]
    assert parser._reader is not None and parser.pending() == 0


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
    # items of every kind in one aggregate, bulk strings on both sides of 1024 bytes
    ([b"x" * 1023, b"y" * 1024, bytearray(b"z"), 7, None, [b"a"]],
     b"*6\r\n$1023\r\n" + b"x" * 1023 + b"\r\n$1024\r\n" + b"y" * 1024
     + b"\r\n$1\r\nz\r\n:7\r\n$-1\r\n*1\r\n$1\r\na\r\n",
     b"*6\r\n$1023\r\n" + b"x" * 1023 + b"\r\n$1024\r\n" + b"y" * 1024
     + b"\r\n$1\r\nz\r\n:7\r\n_\r\n*1\r\n$1\r\na\r\n"),
    ({b"f": 1, 2: [b"v"]}, b"*4\r\n$1\r\nf\r\n:1\r\n:2\r\n*1\r\n$1\r\nv\r\n",
     b"%2\r\n$1\r\nf\r\n:1\r\n:2\r\n*1\r\n$1\r\nv\r\n"),
    (Frames([[b"subscribe", b"a", 1], Push([b"subscribe", b"b", 2])]),
     b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n",
     b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n>3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n"),
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


@PARSERS
@settings(max_examples=100, deadline=None)
@given(argvs)
def test_encoded_array_of_bulks_is_a_valid_request(parser_class, argv):
    # An array of bulk strings is exactly the multibulk request format.
    assert encode(argv, 2) == encode(argv, 3) == encode_command(argv)
    assert parse_all(encode(argv, 2), parser_class=parser_class)[0] == [argv]
