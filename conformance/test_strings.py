"""Conformance: the strings family (spec/strings.md), one section per command.

Not covered here: WRONGTYPE. No command of this family can create a key of another type, so the
type errors of these commands are tested once the data-type families exist.
"""

import random
import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conformance.client import ErrorReply

INTEGER_ERROR = ErrorReply("ERR value is not an integer or out of range")
FLOAT_ERROR = ErrorReply("ERR value is not a valid float")
SYNTAX_ERROR = ErrorReply("ERR syntax error")
TOO_BIG = ErrorReply("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
LLONG_MAX, LLONG_MIN = 2**63 - 1, -(2**63)
MAX_BULK = 512 * 1024 * 1024


def invalid_expire(command):
    return ErrorReply(f"ERR invalid expire time in '{command}' command")


def assert_pttl_about(client, key, ms, slack=10_000):
    """The key expires in at most `ms` and at least `ms - slack` milliseconds (the slack: time
    that passes between the commands, on a loaded machine too)."""
    pttl = client.call("PTTL", key)
    assert max(0, ms - slack) <= pttl <= ms, pttl


def now_ms():
    return int(time.time() * 1000)


# -- APPEND ------------------------------------------------------------------


def test_append_creates_then_extends(client):
    assert client.call_raw("APPEND", "k", "Hello") == b":5\r\n"
    assert client.call("APPEND", "k", " World") == 11
    assert client.call("GET", "k") == b"Hello World"


def test_append_empty_and_binary(client):
    assert client.call("APPEND", "k", "") == 0
    assert client.call("EXISTS", "k") == 1       # the key is created even when empty
    assert client.call("APPEND", "k", b"\x00\r\n\xff") == 4
    assert client.call("APPEND", "k", "") == 4
    assert client.call("GET", "k") == b"\x00\r\n\xff"


def test_append_to_an_integer_and_count_again(client):
    client.call("SET", "k", 10)
    assert client.call("APPEND", "k", 5) == 3
    assert client.call("GET", "k") == b"105"
    assert client.call("INCR", "k") == 106


def test_append_keeps_the_ttl(client):
    client.call("SET", "k", "v", "EX", 100)
    client.call("APPEND", "k", "w")
    assert_pttl_about(client, "k", 100_000)


def test_append_many_times(client):
    replies = client.pipeline(*[("APPEND", "k", "abc") for _ in range(3000)])
    assert replies == [3 * (n + 1) for n in range(3000)]
    assert client.call("GET", "k") == b"abc" * 3000


@pytest.mark.launches
def test_append_and_setrange_beyond_proto_max_bulk_len(launcher):
    with launcher.start(proto_max_bulk_len="1mb").client() as client:
        limit = 1024 * 1024
        assert client.call("SETRANGE", "k", limit - 1, "x") == limit
        assert client.call("APPEND", "k", "y") == TOO_BIG
        assert client.call("APPEND", "k", "") == limit
        assert client.call("SETRANGE", "k", limit - 1, "yz") == TOO_BIG
        assert client.call("SETRANGE", "k", limit - 1, "z") == limit
        assert client.call("GETRANGE", "k", -1, -1) == b"z"
        assert client.call("SETRANGE", "new", limit, "x") == TOO_BIG
        assert client.call("EXISTS", "new") == 0
        assert client.call("STRLEN", "k") == limit


# -- DECR --------------------------------------------------------------------


def test_decr(client):
    assert client.call_raw("DECR", "k") == b":-1\r\n"
    assert client.call("DECR", "k") == -2
    assert client.call("GET", "k") == b"-2"
    client.call("SET", "k", LLONG_MIN)
    assert client.call("DECR", "k") == ErrorReply("ERR increment or decrement would overflow")
    assert client.call("GET", "k") == str(LLONG_MIN).encode()


# -- DECRBY ------------------------------------------------------------------


def test_decrby(client):
    assert client.call("DECRBY", "k", 10) == -10
    assert client.call("DECRBY", "k", -25) == 15
    assert client.call("DECRBY", "n", -LLONG_MAX) == LLONG_MAX


def test_decrby_llong_min_is_refused_before_the_key_is_read(client):
    assert client.call("DECRBY", "k", LLONG_MIN) == ErrorReply("ERR decrement would overflow")
    assert client.call("EXISTS", "k") == 0
    client.call("SET", "k", "abc")
    assert client.call("DECRBY", "k", LLONG_MIN) == ErrorReply("ERR decrement would overflow")


def test_decrby_bad_decrement(client):
    for bad in ("abc", "1.5", "", " 1", str(LLONG_MIN - 1)):
        assert client.call("DECRBY", "k", bad) == INTEGER_ERROR
    assert client.call("EXISTS", "k") == 0


# -- GET ---------------------------------------------------------------------


def test_get(client):
    assert client.call_raw("GET", "k") == b"$-1\r\n"
    client.call("SET", "k", b"a\r\nb\x00")
    assert client.call_raw("GET", "k") == b"$5\r\na\r\nb\x00\r\n"
    client.call("SET", "k", "")
    assert client.call_raw("GET", "k") == b"$0\r\n\r\n"


def test_get_resp3(resp3_client):
    assert resp3_client.call_raw("GET", "k") == b"_\r\n"
    resp3_client.call("SET", "k", 12)
    assert resp3_client.call_raw("GET", "k") == b"$2\r\n12\r\n"


# -- GETDEL ------------------------------------------------------------------


def test_getdel(client):
    assert client.call_raw("GETDEL", "k") == b"$-1\r\n"
    client.call("SET", "k", "v", "EX", 100)
    assert client.call("GETDEL", "k") == b"v"
    assert client.call("EXISTS", "k") == 0
    assert client.call("GETDEL", "k") is None


# -- GETEX -------------------------------------------------------------------


def test_getex_without_option_is_get(client):
    assert client.call("GETEX", "k") is None
    client.call("SET", "k", "v", "PX", 50_000)
    assert client.call("GETEX", "k") == b"v"
    assert_pttl_about(client, "k", 50_000)


@pytest.mark.parametrize("option, amount, ms", [
    ("EX", 100, 100_000), ("ex", 100, 100_000), ("PX", 70_000, 70_000),
])
def test_getex_relative_expiry(client, option, amount, ms):
    client.call("SET", "k", "v")
    assert client.call("GETEX", "k", option, amount) == b"v"
    assert_pttl_about(client, "k", ms)


def test_getex_absolute_expiry(client):
    client.call("SET", "k", "v")
    assert client.call("GETEX", "k", "EXAT", now_ms() // 1000 + 100) == b"v"
    assert_pttl_about(client, "k", 100_000, slack=11_000)
    assert client.call("GETEX", "k", "PXAT", now_ms() + 60_000) == b"v"
    assert_pttl_about(client, "k", 60_000)


def test_getex_persist(client):
    client.call("SET", "k", "v", "EX", 100)
    assert client.call("GETEX", "k", "PERSIST") == b"v"
    assert client.call("TTL", "k") == -1
    assert client.call("GETEX", "k", "persist", "PERSIST") == b"v"
    assert client.call("TTL", "k") == -1


@pytest.mark.parametrize("option, amount", [("EXAT", 1), ("PXAT", 1), ("PXAT", 1_000_000)])
def test_getex_past_absolute_time_deletes_the_key(client, option, amount):
    client.call("SET", "k", "v")
    assert client.call("GETEX", "k", option, amount) == b"v"
    assert client.call("EXISTS", "k") == 0


def test_getex_same_option_twice_keeps_the_last(client):
    client.call("SET", "k", "v")
    assert client.call("GETEX", "k", "EX", 10, "EX", 200) == b"v"
    assert_pttl_about(client, "k", 200_000)


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("option, amount", [
    ("EX", 0), ("EX", -1), ("PX", 0), ("PX", -5), ("EXAT", 0), ("PXAT", -1),
    ("EX", 9223372036854776), ("EX", 9223372036854775), ("PX", LLONG_MAX), ("EXAT", 9223372036854776),
])
def test_getex_invalid_expire_time(client, option, amount):
    client.call("SET", "k", "v", "EX", 100)
    assert client.call("GETEX", "k", option, amount) == invalid_expire("getex")
    assert_pttl_about(client, "k", 100_000)
    assert client.call("GET", "k") == b"v"


def test_getex_missing_key_reads_nil_before_the_amount(client):
    assert client.call("GETEX", "k", "EX", "abc") is None
    assert client.call("GETEX", "k", "EX", 0) is None
    client.call("SET", "k", "v")
    assert client.call("GETEX", "k", "EX", "abc") == INTEGER_ERROR
    assert client.call("GETEX", "k", "PXAT", "1.5") == INTEGER_ERROR
    assert client.call("TTL", "k") == -1


@pytest.mark.parametrize("options", [
    ("EX", 10, "PX", 10), ("EX", 10, "PERSIST"), ("PERSIST", "PXAT", 10 ** 13), ("NX",), ("XX",),
    ("GET",), ("KEEPTTL",), ("EX",), ("PERSIST", "EX"), ("FOO",), ("EX", 10, 10),
])
def test_getex_syntax_errors(client, options):
    client.call("SET", "k", "v")
    assert client.call("GETEX", "k", *options) == SYNTAX_ERROR
    assert client.call("TTL", "k") == -1
    # syntax is checked before the key is looked at
    assert client.call("GETEX", "missing", *options) == SYNTAX_ERROR


def test_getex_resp3(resp3_client):
    assert resp3_client.call_raw("GETEX", "k", "EX", 10) == b"_\r\n"
    resp3_client.call("SET", "k", "v")
    assert resp3_client.call_raw("GETEX", "k", "PERSIST") == b"$1\r\nv\r\n"


# -- GETRANGE ----------------------------------------------------------------

GETRANGE_CASES = [
    (0, -1, b"Hello World"), (0, 4, b"Hello"), (-5, -1, b"World"), (-3, -1, b"rld"),
    (-1, -3, b""), (4, 2, b""), (20, 30, b""), (10, 10, b"d"), (11, 11, b""),
    (-100, -50, b"H"), (-100, 100, b"Hello World"), (4, -100, b""), (3, -9, b""), (2, -9, b"l"),
    (0, 0, b"H"), (-11, 0, b"H"), (-12, -12, b"H"), (LLONG_MIN, LLONG_MAX, b"Hello World"),
    (LLONG_MAX, LLONG_MIN, b""), (5, 5, b" "),
]


@pytest.mark.parametrize("start, end, expected", GETRANGE_CASES)
def test_getrange(client, start, end, expected):
    client.call("SET", "k", "Hello World")
    assert client.call("GETRANGE", "k", start, end) == expected


def test_getrange_exact_bytes_and_edges(client):
    assert client.call_raw("GETRANGE", "missing", 0, -1) == b"$0\r\n\r\n"
    client.call("SET", "empty", "")
    assert client.call_raw("GETRANGE", "empty", 0, -1) == b"$0\r\n\r\n"
    assert client.call("GETRANGE", "empty", -1, 0) == b""
    client.call("SET", "n", -1234)
    assert client.call_raw("GETRANGE", "n", 1, 2) == b"$2\r\n12\r\n"
    assert client.call("GETRANGE", "n", -2, -1) == b"34"


def test_getrange_bad_numbers(client):
    client.call("SET", "k", "v")
    assert client.call("GETRANGE", "k", "a", 1) == INTEGER_ERROR
    assert client.call("GETRANGE", "k", 0, "1.0") == INTEGER_ERROR
    assert client.call("GETRANGE", "k", 0, LLONG_MAX + 1) == INTEGER_ERROR
    assert client.call("GETRANGE", "missing", 0, "x") == INTEGER_ERROR


# -- GETSET ------------------------------------------------------------------


def test_getset(client):
    assert client.call_raw("GETSET", "k", "a") == b"$-1\r\n"
    assert client.call("GET", "k") == b"a"
    client.call("EXPIRE", "k", 100)
    assert client.call("GETSET", "k", "b") == b"a"
    assert client.call("GET", "k") == b"b"
    assert client.call("TTL", "k") == -1


# -- INCR --------------------------------------------------------------------


def test_incr(client):
    assert client.call_raw("INCR", "k") == b":1\r\n"
    assert client.call("INCR", "k") == 2
    assert client.call("GET", "k") == b"2"
    client.call("SET", "k", -1)
    assert client.call("INCR", "k") == 0


@pytest.mark.internals("OBJECT ENCODING")
def test_incr_stays_an_integer_encoding(client):
    client.call("SET", "k", "41")
    client.call("INCR", "k")
    assert client.call("OBJECT", "ENCODING", "k") == b"int"
    client.call("INCRBY", "n", 1 << 40)
    assert client.call("OBJECT", "ENCODING", "n") == b"int"


@pytest.mark.parametrize("value", [
    "abc", "", " 1", "1 ", "1.5", "01", "+1", "-0", "1e3", "0x10", str(LLONG_MAX + 1), "1\x00",
])
def test_incr_value_not_an_integer(client, value):
    client.call("SET", "k", value)
    assert client.call("INCR", "k") == INTEGER_ERROR
    assert client.call("GET", "k") == value.encode()


def test_incr_overflow(client):
    client.call("SET", "k", LLONG_MAX)
    assert client.call("INCR", "k") == ErrorReply("ERR increment or decrement would overflow")
    assert client.call("GET", "k") == str(LLONG_MAX).encode()
    assert client.call("PING") == "PONG"


def test_incr_keeps_the_ttl(client):
    client.call("SET", "k", 5, "EX", 100)
    assert client.call("INCR", "k") == 6
    assert_pttl_about(client, "k", 100_000)


def test_incr_on_a_modified_string(client):
    client.call("APPEND", "k", "1")
    client.call("APPEND", "k", "2")
    assert client.call("INCR", "k") == 13


# -- INCRBY ------------------------------------------------------------------


def test_incrby(client):
    assert client.call("INCRBY", "k", 5) == 5
    assert client.call("INCRBY", "k", -12) == -7
    assert client.call("INCRBY", "k", 0) == -7
    client.call("SET", "k", LLONG_MIN + 1)
    assert client.call("INCRBY", "k", -1) == LLONG_MIN
    assert client.call("INCRBY", "k", -1) == ErrorReply("ERR increment or decrement would overflow")
    assert client.call("INCRBY", "k", LLONG_MAX) == -1
    client.call("SET", "k", 1)
    assert client.call("INCRBY", "k", LLONG_MAX) == ErrorReply("ERR increment or decrement would overflow")


def test_incrby_bad_increment(client):
    client.call("SET", "k", 1)
    for bad in ("x", "1.0", str(LLONG_MAX + 1), "-", "00"):
        assert client.call("INCRBY", "k", bad) == INTEGER_ERROR
    assert client.call("GET", "k") == b"1"


# -- INCRBYFLOAT -------------------------------------------------------------

# (value held or None, increment, reply): every reply checked on Redis 7.0 (x86-64).
INCRBYFLOAT_CASES = [
    (None, "10.5", b"10.5"), ("10.5", "0.1", b"10.6"), (None, "0.1", b"0.1"), ("0.1", "0.2", b"0.3"),
    ("3", "1.5", b"4.5"), ("-1.5", "1.5", b"0"), ("10", "-10.25", b"-0.25"),
    (None, "1e30", b"1000000000000000000024696061952"), (None, "1.0e3", b"1000"),
    (None, "-.5", b"-0.5"), (None, "+5", b"5"), (None, "5.", b"5"),
    (None, "0x1p-18", b"0.00000381469726562"), (None, "0X.8P1", b"1"), (None, "1e-30", b"0"),
    (None, "-1e-30", b"0"), (None, "5e-18", b"0"), (None, "6e-18", b"0.00000000000000001"),
    (None, "0.000000000000000015", b"0.00000000000000002"),
    (None, "0.000000000000000025", b"0.00000000000000002"),
    (None, "1.23456789012345678901234", b"1.23456789012345679"),
    (None, "123456789012345678901234", b"123456789012345678897152"),
    ("9223372036854775807", "1", b"9223372036854775808"),
    ("-9223372036854775808", "-1", b"-9223372036854775809"),
    (None, "0e99999999999", b"0"), ("-0", "-0", b"0"),
    ("0.30000000000000001", "0", b"0.30000000000000001"), ("3.0000000000000000001", "0", b"3"),
    ("5.0e3", "2.5e-3", b"5000.00249999999999995"), (None, "0x1p-16445", b"0"),
    ("0001", "1", b"2"), ("1.", "0", b"1"), (".1", "0", b"0.1"),
]


@pytest.mark.parametrize("value, increment, expected", INCRBYFLOAT_CASES)
def test_incrbyfloat(client, value, increment, expected):
    if value is not None:
        client.call("SET", "k", value)
    assert client.call("INCRBYFLOAT", "k", increment) == expected
    assert client.call("GET", "k") == expected


def test_incrbyfloat_exact_bytes_in_both_protocols(client, resp3_client):
    assert client.call_raw("INCRBYFLOAT", "k", "10.5") == b"$4\r\n10.5\r\n"
    # a bulk string in RESP3 too, not a double
    assert resp3_client.call_raw("INCRBYFLOAT", "k", "0.1") == b"$4\r\n10.6\r\n"


def test_incrbyfloat_huge_values_have_no_exponent(client):
    reply = client.call("INCRBYFLOAT", "k", "1e4932")
    assert reply.startswith(b"100000000000000000000601894938796389132383777425453311477378")
    assert len(reply) == 4933 and reply.isdigit()
    assert client.call("INCRBYFLOAT", "k", "1e4932") == ErrorReply("ERR increment would produce NaN or Infinity")
    assert client.call("INCRBYFLOAT", "n", "-1e308").startswith(b"-99999999999999999996")


@pytest.mark.parametrize("value", [
    "abc", "", " 1", "1 ", "1\x00", "nan", "1e", "0x", "1e5000", "1e-5000", "0x1p-16446", "1,5", "0" * 5120,
])
def test_incrbyfloat_value_not_a_float(client, value):
    client.call("SET", "k", value)
    assert client.call("INCRBYFLOAT", "k", 1) == FLOAT_ERROR
    assert client.call("GET", "k") == value.encode()


@pytest.mark.parametrize("increment", ["abc", "", " 1", "1 ", "NaN", "-nan", "1e5000", "1e-5000", "--1", "1.2.3"])
def test_incrbyfloat_increment_not_a_float(client, increment):
    assert client.call("INCRBYFLOAT", "k", increment) == FLOAT_ERROR
    assert client.call("EXISTS", "k") == 0
    client.call("SET", "k", "1.5")
    assert client.call("INCRBYFLOAT", "k", increment) == FLOAT_ERROR
    assert client.call("GET", "k") == b"1.5"


@pytest.mark.internals("OBJECT ENCODING")
def test_incrbyfloat_result_is_never_integer_encoded(client):
    # Redis makes the result from a long double as a plain string: embstr even when it reads
    # as an integer, raw past 44 bytes; a copy or a rename keeps it, INCR makes it an int.
    client.call("SET", "k", "2")
    assert client.call("INCRBYFLOAT", "k", "1") == b"3"
    assert client.call("OBJECT", "ENCODING", "k") == b"embstr"
    assert client.call("INCRBYFLOAT", "n", "5") == b"5"
    assert client.call("OBJECT", "ENCODING", "n") == b"embstr"
    assert client.call("COPY", "n", "copied") == 1
    assert client.call("OBJECT", "ENCODING", "copied") == b"embstr"
    assert client.call("RENAME", "k", "renamed") == "OK"
    assert client.call("OBJECT", "ENCODING", "renamed") == b"embstr"
    assert client.call("INCR", "renamed") == 4
    assert client.call("OBJECT", "ENCODING", "renamed") == b"int"
    client.call("INCRBYFLOAT", "big", "1e47")
    assert client.call("OBJECT", "ENCODING", "big") == b"raw"


def test_incrbyfloat_long_but_valid_text(client):
    client.call("SET", "k", "0" * 5118 + "1")
    assert client.call("INCRBYFLOAT", "k", "0" * 5119) == b"1"


@pytest.mark.parametrize("value, increment", [
    (None, "inf"), (None, "-Infinity"), ("inf", "1"), ("-INF", "0"), ("1e4932", "1e4932"),
    ("-1.18973149535723176502e+4932", "-1e4932"),
])
def test_incrbyfloat_nan_or_infinity(client, value, increment):
    if value is not None:
        client.call("SET", "k", value)
    assert client.call("INCRBYFLOAT", "k", increment) == ErrorReply("ERR increment would produce NaN or Infinity")
    assert client.call("GET", "k") == (value.encode() if value is not None else None)


def test_incrbyfloat_keeps_the_ttl_and_is_not_an_int(client):
    client.call("SET", "k", 1, "EX", 100)
    assert client.call("INCRBYFLOAT", "k", "2.5") == b"3.5"
    assert_pttl_about(client, "k", 100_000)
    assert client.call("INCR", "k") == INTEGER_ERROR
    assert client.call("INCRBYFLOAT", "k", "-0.5") == b"3"
    assert client.call("INCR", "k") == 4


def test_incrbyfloat_repeated_small_steps(client):
    replies = client.pipeline(*[("INCRBYFLOAT", "k", "0.1") for _ in range(30)])
    assert replies[-1] == b"3"
    assert replies[:10] == [b"0.1", b"0.2", b"0.3", b"0.4", b"0.5", b"0.6", b"0.7", b"0.8", b"0.9", b"1"]


# -- LCS ---------------------------------------------------------------------


def test_lcs_string_and_len(client):
    client.call("MSET", "a", "ohmytext", "b", "mynewtext")
    assert client.call_raw("LCS", "a", "b") == b"$6\r\nmytext\r\n"
    assert client.call_raw("LCS", "a", "b", "LEN") == b":6\r\n"
    assert client.call("LCS", "b", "a") == b"mytext"


def test_lcs_missing_keys_are_empty(client):
    assert client.call_raw("LCS", "a", "b") == b"$0\r\n\r\n"
    assert client.call("LCS", "a", "b", "LEN") == 0
    client.call("SET", "a", "abc")
    assert client.call("LCS", "a", "b") == b""
    assert client.call("LCS", "a", "a") == b"abc"
    assert client.call("LCS", "a", "b", "IDX") == [b"matches", [], b"len", 0]


def test_lcs_idx_resp2(client):
    client.call("MSET", "a", "ohmytext", "b", "mynewtext")
    assert client.call_raw("LCS", "a", "b", "IDX") == (
        b"*4\r\n$7\r\nmatches\r\n*2\r\n"
        b"*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n"
        b"*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert client.call("LCS", "a", "b", "IDX", "WITHMATCHLEN") == [
        b"matches", [[[4, 7], [5, 8], 4], [[2, 3], [0, 1], 2]], b"len", 6]
    assert client.call("LCS", "a", "b", "idx", "minmatchlen", 4, "withmatchlen") == [
        b"matches", [[[4, 7], [5, 8], 4]], b"len", 6]
    assert client.call("LCS", "a", "b", "IDX", "MINMATCHLEN", 5) == [b"matches", [], b"len", 6]
    assert client.call("LCS", "a", "b", "IDX", "MINMATCHLEN", -3) == client.call("LCS", "a", "b", "IDX")
    assert client.call("LCS", "a", "b", "MINMATCHLEN", 2, "MINMATCHLEN", 3, "IDX") == [
        b"matches", [[[4, 7], [5, 8]]], b"len", 6]


def test_lcs_idx_resp3_is_a_map(resp3_client):
    resp3_client.call("MSET", "a", "ohmytext", "b", "mynewtext")
    assert resp3_client.call_raw("LCS", "a", "b", "IDX", "MINMATCHLEN", 4, "WITHMATCHLEN") == (
        b"%2\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n"
        b"$3\r\nlen\r\n:6\r\n")
    assert resp3_client.call_raw("LCS", "a", "b", "LEN") == b":6\r\n"


def test_lcs_options_that_do_not_change_the_plain_reply(client):
    client.call("MSET", "a", "ohmytext", "b", "mynewtext")
    assert client.call("LCS", "a", "b", "MINMATCHLEN", 3) == b"mytext"
    assert client.call("LCS", "a", "b", "WITHMATCHLEN") == b"mytext"
    assert client.call("LCS", "a", "b", "LEN", "WITHMATCHLEN", "MINMATCHLEN", 9) == 6


def test_lcs_errors(client):
    client.call("MSET", "a", "ohmytext", "b", "mynewtext")
    assert client.call("LCS", "a", "b", "LEN", "IDX") == ErrorReply(
        "ERR If you want both the length and indexes, please just use IDX.")
    assert client.call("LCS", "a", "b", "FOO") == SYNTAX_ERROR
    assert client.call("LCS", "a", "b", "MINMATCHLEN") == SYNTAX_ERROR
    assert client.call("LCS", "a", "b", "MINMATCHLEN", "x") == INTEGER_ERROR
    assert client.call("LCS", "a", "b", "IDX", "MINMATCHLEN", LLONG_MAX + 1) == INTEGER_ERROR
    assert client.call("LCS", "a") == ErrorReply("ERR wrong number of arguments for 'lcs' command")
    assert client.call("LCS", "a", "b") == b"mytext"


def test_lcs_table_too_big_for_proto_max_bulk_len(client):
    # (11586 + 1) ** 2 cells of 4 bytes exceed 512 MB; refused before anything is allocated
    client.call("MSET", "a", "x" * 11586, "b", "y" * 11586)
    assert client.call("LCS", "a", "b") == ErrorReply(
        "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    assert client.call("LCS", "a", "missing") == b""


# Random strings and the replies Redis 7.0 gave: (key1, key2, LCS, IDX ranges, LEN). Ties
# between equally long subsequences must be broken the same way.
LCS_CASES = [
    ('ta', 'agac', 'a', [((1, 1), (2, 2))], 1),
    ('b', 'aaabaaaab', 'b', [((0, 0), (8, 8))], 1),
    ('aabbaa', 'baaabaaaabbb', 'aabaa', [((4, 5), (7, 8)), ((3, 3), (4, 4)), ((0, 1), (1, 2))], 5),
    ('z  yyyx z z ', 'xxzy yzzxx  ', 'zy zz ',
     [((11, 11), (11, 11)), ((10, 10), (7, 7)), ((8, 8), (6, 6)), ((7, 7), (4, 4)), ((5, 5), (3, 3)),
      ((0, 0), (2, 2))], 6),
    ('ttaagtaagtgt', 'gatgcatacgcct', 'gagtgt',
     [((11, 11), (12, 12)), ((10, 10), (9, 9)), ((9, 9), (6, 6)), ((8, 8), (3, 3)), ((7, 7), (1, 1)),
      ((4, 4), (0, 0))], 6),
    ('xyzz yz z ', 'zyyxyyyyxzy  ', 'xyyz  ',
     [((9, 9), (12, 12)), ((7, 7), (11, 11)), ((6, 6), (9, 9)), ((5, 5), (7, 7)), ((0, 1), (3, 4))], 6),
    ('bbbaa', 'bbbbabbaaa', 'bbbaa', [((3, 4), (8, 9)), ((1, 2), (5, 6)), ((0, 0), (3, 3))], 5),
    ('aabcaaacac', 'bcaa', 'bcaa', [((8, 8), (3, 3)), ((6, 6), (2, 2)), ((2, 3), (0, 1))], 4),
    ('bacbbcbbaabb', 'bbaaacbcbb', 'bacbcbb',
     [((10, 11), (8, 9)), ((4, 5), (6, 7)), ((1, 2), (4, 5)), ((0, 0), (1, 1))], 7),
    ('aacbaccacbc', 'cbcb', 'cbcb', [((8, 9), (2, 3)), ((2, 3), (0, 1))], 4),
    ('acccbcac', 'abcaac', 'abcac', [((6, 7), (4, 5)), ((4, 5), (1, 2)), ((0, 0), (0, 0))], 5),
    ('xx z y z', '  xyxyzy yzxz ', 'xxzy z',
     [((7, 7), (12, 12)), ((5, 6), (7, 8)), ((3, 3), (6, 6)), ((1, 1), (4, 4)), ((0, 0), (2, 2))], 6),
    ('abababbabbbaa', 'aaaba', 'aaaba',
     [((12, 12), (4, 4)), ((10, 10), (3, 3)), ((7, 7), (2, 2)), ((4, 4), (1, 1)), ((2, 2), (0, 0))], 5),
    (' yyxxxyzyyx y', 'y  zyx ', 'yzyx ', [((9, 11), (4, 6)), ((7, 7), (3, 3)), ((6, 6), (0, 0))], 5),
]


@pytest.mark.parametrize("a, b, common, ranges, length", LCS_CASES)
def test_lcs_recorded_random_cases(client, a, b, common, ranges, length):
    client.call("MSET", "a", a, "b", b)
    assert client.call("LCS", "a", "b") == common.encode()
    assert client.call("LCS", "a", "b", "LEN") == length
    assert client.call("LCS", "a", "b", "IDX", "WITHMATCHLEN") == [
        b"matches", [[list(ra), list(rb), ra[1] - ra[0] + 1] for ra, rb in ranges], b"len", length]


def longest_common_length(a: bytes, b: bytes) -> int:
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal, row[0] = 0, 0
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1]


@given(st.binary(max_size=12).map(lambda s: bytes(b % 3 + 97 for b in s)),
       st.binary(max_size=12).map(lambda s: bytes(b % 3 + 97 for b in s)),
       st.integers(min_value=0, max_value=3))
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_lcs_replies_agree_with_each_other(client_factory, a, b, min_length):
    """On any strings: the answer is a common subsequence of the optimal length, and the ranges
    are matching pieces of both strings, from the ends backwards, that spell it."""
    client = client_factory()
    client.call("MSET", "lcs:a", a, "lcs:b", b)
    common = client.call("LCS", "lcs:a", "lcs:b")
    length = client.call("LCS", "lcs:a", "lcs:b", "LEN")
    assert length == len(common) == longest_common_length(a, b)
    for text in (a, b):
        rest = iter(text)
        assert all(byte in rest for byte in common)   # a subsequence of text
    reply = client.call("LCS", "lcs:a", "lcs:b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", min_length)
    assert reply[0] == b"matches" and reply[2:] == [b"len", length]
    pieces = []
    last_a = last_b = None
    for (a_start, a_end), (b_start, b_end), run in reply[1]:
        assert run == a_end - a_start + 1 == b_end - b_start + 1 >= min_length
        assert a[a_start:a_end + 1] == b[b_start:b_end + 1]
        if last_a is not None:
            assert a_end < last_a and b_end < last_b
        last_a, last_b = a_start, b_start
        pieces.append(a[a_start:a_end + 1])
    if min_length <= 1:
        assert b"".join(reversed(pieces)) == common
    client.close()


def test_lcs_option_order_does_not_matter(client):
    """Same strings, same answer, whatever order the options come in."""
    rng = random.Random(5)
    for _ in range(10):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 15)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 15)))
        client.call("MSET", "a", a, "b", b)
        assert (client.call("LCS", "a", "b", "IDX", "WITHMATCHLEN", "MINMATCHLEN", 2)
                == client.call("LCS", "a", "b", "MINMATCHLEN", 2, "WITHMATCHLEN", "IDX"))


# -- MGET --------------------------------------------------------------------


def test_mget(client):
    client.call("MSET", "a", "1", "c", b"\x00")
    assert client.call_raw("MGET", "a", "b", "c", "a") == (
        b"*4\r\n$1\r\n1\r\n$-1\r\n$1\r\n\x00\r\n$1\r\n1\r\n")
    assert client.call("MGET", "none") == [None]


def test_mget_resp3(resp3_client):
    resp3_client.call("SET", "a", "1")
    assert resp3_client.call_raw("MGET", "a", "b") == b"*2\r\n$1\r\n1\r\n_\r\n"


# -- MSET --------------------------------------------------------------------


def test_mset(client):
    client.call("SET", "a", "old", "EX", 100)
    assert client.call_raw("MSET", "a", "1", "b", "2", "a", "3") == b"+OK\r\n"
    assert client.call("MGET", "a", "b") == [b"3", b"2"]
    assert client.call("TTL", "a") == -1


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("command", ["MSET", "MSETNX", "mset", "msetnx"])
def test_mset_key_without_value(client, command):
    client.call("SET", "a", "old")
    error = ErrorReply(f"ERR wrong number of arguments for '{command.lower()}' command")
    assert client.call(command, "a", "1", "b") == error
    assert client.call(command, "a") == error
    assert client.call("MGET", "a", "b") == [b"old", None]


# -- MSETNX ------------------------------------------------------------------


def test_msetnx_all_or_nothing(client):
    assert client.call_raw("MSETNX", "a", "1", "b", "2") == b":1\r\n"
    assert client.call("MSETNX", "c", "3", "b", "new") == 0
    assert client.call("MGET", "a", "b", "c") == [b"1", b"2", None]
    assert client.call("MSETNX", "c", "3", "c", "4") == 1
    assert client.call("GET", "c") == b"4"


# -- PSETEX ------------------------------------------------------------------


def test_psetex(client):
    assert client.call_raw("PSETEX", "k", 80_000, "v") == b"+OK\r\n"
    assert client.call("GET", "k") == b"v"
    assert_pttl_about(client, "k", 80_000)


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("ms", [0, -1, LLONG_MIN, LLONG_MAX])
def test_psetex_invalid_expire_time(client, ms):
    client.call("SET", "k", "old")
    assert client.call("PSETEX", "k", ms, "v") == invalid_expire("psetex")
    assert client.call("GET", "k") == b"old"


def test_psetex_not_an_integer(client):
    assert client.call("PSETEX", "k", "1.5", "v") == INTEGER_ERROR
    assert client.call("PSETEX", "k", "", "v") == INTEGER_ERROR
    assert client.call("EXISTS", "k") == 0


# -- SET ---------------------------------------------------------------------


def test_set(client):
    assert client.call_raw("SET", "k", "v") == b"+OK\r\n"
    assert client.call("GET", "k") == b"v"
    assert client.call("SET", "k", b"\x00\xff") == "OK"
    assert client.call("GET", "k") == b"\x00\xff"


def test_set_nx_xx(client):
    assert client.call_raw("SET", "k", "v", "XX") == b"$-1\r\n"
    assert client.call("EXISTS", "k") == 0
    assert client.call("SET", "k", "v", "NX") == "OK"
    assert client.call("SET", "k", "w", "nx") is None
    assert client.call("GET", "k") == b"v"
    assert client.call("SET", "k", "w", "xx") == "OK"
    assert client.call("GET", "k") == b"w"


def test_set_nx_xx_resp3(resp3_client):
    resp3_client.call("SET", "k", "v")
    assert resp3_client.call_raw("SET", "k", "v", "NX") == b"_\r\n"
    assert resp3_client.call_raw("SET", "k", "v", "GET") == b"$1\r\nv\r\n"


def test_set_get(client):
    assert client.call_raw("SET", "k", "a", "GET") == b"$-1\r\n"
    assert client.call("SET", "k", "b", "GET") == b"a"
    assert client.call("SET", "k", "c", "get", "GET") == b"b"
    assert client.call("GET", "k") == b"c"


def test_set_get_with_nx_and_xx(client):
    assert client.call("SET", "k", "a", "NX", "GET") is None      # set: there was nothing
    assert client.call("GET", "k") == b"a"
    assert client.call("SET", "k", "b", "GET", "NX") == b"a"      # not set, old value returned
    assert client.call("GET", "k") == b"a"
    assert client.call("SET", "x", "b", "XX", "GET") is None      # not set
    assert client.call("EXISTS", "x") == 0
    assert client.call("SET", "k", "c", "XX", "GET") == b"a"
    assert client.call("GET", "k") == b"c"


@pytest.mark.parametrize("option, amount, ms", [
    ("EX", 100, 100_000), ("px", 90_000, 90_000), ("Ex", 1, 1000),
])
def test_set_relative_expiry(client, option, amount, ms):
    # In one pipeline: even the 1 s key is still there, however slow the machine.
    reply, pttl = client.pipeline(("SET", "k", "v", option, amount), ("PTTL", "k"))
    assert reply == "OK"
    assert max(0, ms - 10_000) <= pttl <= ms, pttl


def test_set_absolute_expiry(client):
    assert client.call("SET", "k", "v", "EXAT", now_ms() // 1000 + 100) == "OK"
    assert_pttl_about(client, "k", 100_000, slack=11_000)
    assert client.call("SET", "k", "v", "PXAT", now_ms() + 60_000) == "OK"
    assert_pttl_about(client, "k", 60_000)
    assert client.call("SET", "k", "v", "PXAT", LLONG_MAX) == "OK"
    assert client.call("PEXPIRETIME", "k") == LLONG_MAX
    assert client.call("SET", "k", "v", "EXAT", LLONG_MAX // 1000) == "OK"
    assert client.call("PEXPIRETIME", "k") == LLONG_MAX // 1000 * 1000


def test_set_discards_or_keeps_the_ttl(client):
    client.call("SET", "k", "v", "EX", 100)
    assert client.call("SET", "k", "w", "KEEPTTL") == "OK"
    assert_pttl_about(client, "k", 100_000)
    assert client.call("GET", "k") == b"w"
    client.call("SET", "k", "x")
    assert client.call("TTL", "k") == -1
    assert client.call("SET", "new", "v", "keepttl") == "OK"
    assert client.call("TTL", "new") == -1


@pytest.mark.parametrize("option, amount", [("PXAT", 1), ("EXAT", 1), ("PXAT", 1_000_000_000)])
def test_set_with_a_past_time_leaves_no_key(client, option, amount):
    client.call("SET", "k", "old")
    assert client.call("SET", "k", "v", option, amount) == "OK"
    assert client.call("GET", "k") is None
    assert client.call("SET", "k", "v", option, amount, "GET") is None
    assert client.call("EXISTS", "k") == 0


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("option, amount", [
    ("EX", 0), ("EX", -1), ("PX", 0), ("PX", -100), ("EXAT", 0), ("PXAT", 0), ("PXAT", LLONG_MIN),
    ("EX", 9223372036854775), ("EX", 9223372036854776), ("EX", LLONG_MAX), ("PX", LLONG_MAX),
    ("PX", LLONG_MAX - 1000), ("EXAT", 9223372036854776),
])
def test_set_invalid_expire_time(client, option, amount):
    client.call("SET", "k", "old")
    assert client.call("SET", "k", "v", option, amount) == invalid_expire("set")
    assert client.call("SET", "k", "v", option, amount, "GET") == invalid_expire("set")
    assert client.call("GET", "k") == b"old"


def test_set_expiry_amount_not_an_integer(client):
    assert client.call("SET", "k", "v", "EX", "1.5") == INTEGER_ERROR
    assert client.call("SET", "k", "v", "PX", "ten") == INTEGER_ERROR
    assert client.call("SET", "k", "v", "EXAT", "") == INTEGER_ERROR
    assert client.call("EXISTS", "k") == 0
    # a repeated option keeps its last amount, so only that one is read
    assert client.call("SET", "k", "v", "EX", "abc", "EX", 100) == "OK"
    assert_pttl_about(client, "k", 100_000)


@pytest.mark.parametrize("options", [
    ("NX", "XX"), ("XX", "NX"), ("EX", 10, "PX", 100), ("PX", 100, "EXAT", 10), ("EXAT", 10, "PXAT", 10),
    ("KEEPTTL", "EX", 10), ("PX", 10, "KEEPTTL"), ("EX",), ("GET", "PX"), ("PERSIST",), ("FOO",),
    ("EX", 10, 10), ("NX", "GETT"),
])
def test_set_syntax_errors(client, options):
    client.call("SET", "k", "old")
    assert client.call("SET", "k", "v", *options) == SYNTAX_ERROR
    assert client.call("GET", "k") == b"old"


def test_set_syntax_is_checked_before_the_amount(client):
    assert client.call("SET", "k", "v", "EX", "abc", "NX", "XX") == SYNTAX_ERROR
    assert client.call("SET", "k", "v", "EX", 0, "FOO") == SYNTAX_ERROR


# -- SETEX -------------------------------------------------------------------


def test_setex(client):
    client.call("SET", "k", "old")
    assert client.call_raw("SETEX", "k", 100, "v") == b"+OK\r\n"
    assert client.call("GET", "k") == b"v"
    assert_pttl_about(client, "k", 100_000)


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("seconds", [0, -1, 9223372036854775, 9223372036854776, LLONG_MAX])
def test_setex_invalid_expire_time(client, seconds):
    assert client.call("SETEX", "k", seconds, "v") == invalid_expire("setex")
    assert client.call("EXISTS", "k") == 0


def test_setex_not_an_integer(client):
    assert client.call("SETEX", "k", "10s", "v") == INTEGER_ERROR
    assert client.call("SETEX", "k", 10) == ErrorReply("ERR wrong number of arguments for 'setex' command")


# -- SETNX -------------------------------------------------------------------


def test_setnx(client):
    assert client.call_raw("SETNX", "k", "a") == b":1\r\n"
    client.call("EXPIRE", "k", 100)
    assert client.call_raw("SETNX", "k", "b") == b":0\r\n"
    assert client.call("GET", "k") == b"a"
    assert_pttl_about(client, "k", 100_000)


# -- SETRANGE ----------------------------------------------------------------


def test_setrange(client):
    client.call("SET", "k", "Hello World")
    assert client.call_raw("SETRANGE", "k", 6, "Redis") == b":11\r\n"
    assert client.call("GET", "k") == b"Hello Redis"
    assert client.call("SETRANGE", "k", 9, "sssss") == 14
    assert client.call("GET", "k") == b"Hello Redsssss"


def test_setrange_pads_with_zero_bytes(client):
    assert client.call("SETRANGE", "k", 5, "ab") == 7
    assert client.call("GET", "k") == b"\x00" * 5 + b"ab"
    client.call("SET", "s", "xy")
    assert client.call("SETRANGE", "s", 4, "z") == 5
    assert client.call("GET", "s") == b"xy\x00\x00z"


def test_setrange_with_an_empty_value(client):
    assert client.call_raw("SETRANGE", "k", 0, "") == b":0\r\n"
    assert client.call("SETRANGE", "k", 100, "") == 0
    assert client.call("EXISTS", "k") == 0
    client.call("SET", "k", "abc")
    assert client.call("SETRANGE", "k", 10, "") == 3
    assert client.call("GET", "k") == b"abc"
    # an empty value is answered before the size limit is checked
    assert client.call("SETRANGE", "k", MAX_BULK, "") == 3


def test_setrange_on_an_integer(client):
    client.call("SET", "k", 1234)
    assert client.call("SETRANGE", "k", 1, "9") == 4
    assert client.call("GET", "k") == b"1934"
    assert client.call("INCR", "k") == 1935


def test_setrange_keeps_the_ttl(client):
    client.call("SET", "k", "abc", "EX", 100)
    client.call("SETRANGE", "k", 1, "X")
    assert client.call("GET", "k") == b"aXc"
    assert_pttl_about(client, "k", 100_000)


def test_setrange_errors(client):
    client.call("SET", "k", "abc")
    assert client.call("SETRANGE", "k", -1, "x") == ErrorReply("ERR offset is out of range")
    assert client.call("SETRANGE", "k", -1, "") == ErrorReply("ERR offset is out of range")
    assert client.call("SETRANGE", "k", "1.5", "x") == INTEGER_ERROR
    assert client.call("SETRANGE", "k", LLONG_MAX + 1, "x") == INTEGER_ERROR
    assert client.call("GET", "k") == b"abc"


def test_setrange_beyond_the_size_limit(client):
    # refused without growing anything: offset + length > 512 MB
    assert client.call("SETRANGE", "new", MAX_BULK, "x") == TOO_BIG
    assert client.call("SETRANGE", "new", MAX_BULK - 1, "xy") == TOO_BIG
    assert client.call("SETRANGE", "new", LLONG_MAX, "x") == TOO_BIG
    assert client.call("EXISTS", "new") == 0
    client.call("SET", "k", "abc")
    assert client.call("SETRANGE", "k", MAX_BULK, "x") == TOO_BIG
    assert client.call("GET", "k") == b"abc"


# -- STRLEN ------------------------------------------------------------------


def test_strlen(client):
    assert client.call_raw("STRLEN", "k") == b":0\r\n"
    client.call("SET", "k", b"a\x00b")
    assert client.call("STRLEN", "k") == 3
    client.call("SET", "n", -12)
    assert client.call("STRLEN", "n") == 3
    client.call("SET", "e", "")
    assert client.call("STRLEN", "e") == 0


# -- SUBSTR ------------------------------------------------------------------


@pytest.mark.parametrize("start, end, expected", GETRANGE_CASES[:10])
def test_substr_is_getrange(client, start, end, expected):
    client.call("SET", "k", "Hello World")
    assert client.call("SUBSTR", "k", start, end) == expected


def test_substr_edges(client):
    assert client.call_raw("SUBSTR", "missing", 0, -1) == b"$0\r\n\r\n"
    assert client.call("SUBSTR", "k", "x", 1) == INTEGER_ERROR
