"""Conformance: the sorted sets family (spec/sorted-sets.md), one section per command.

Every command is checked for its replies (values, and exact bytes where the encoding of doubles
or the RESP2/RESP3 shape matters), its exact errors, WRONGTYPE, that data is untouched after an
error, OBJECT ENCODING thresholds, the blocking commands with several clients, and ZSCAN's
guarantee.
"""
from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conformance.blocking import wait_until_blocked
from conformance.client import ErrorReply

SYNTAX_ERROR = ErrorReply("ERR syntax error")
FLOAT_ERROR = ErrorReply("ERR value is not a valid float")
INTEGER_ERROR = ErrorReply("ERR value is not an integer or out of range")
WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
SCORE_RANGE_ERROR = ErrorReply("ERR min or max is not a float")
LEX_RANGE_ERROR = ErrorReply("ERR min or max not valid string range item")
NAN_ERROR = ErrorReply("ERR resulting score is not a number (NaN)")
NOT_POSITIVE = ErrorReply("ERR value is out of range, must be positive")


def seed(client, key=b"z", pairs=((1, b"a"), (2, b"b"), (3, b"c"))):
    client.call("ZADD", key, *[x for pair in pairs for x in pair])


def contents(client, key=b"z"):
    return client.call("ZRANGE", key, 0, -1, "WITHSCORES")


def with_string(client):
    client.call("SET", "str", "v")


# -- ZADD ----------------------------------------------------------------------------------------


def test_zadd_adds_and_counts(client):
    assert client.call_raw("ZADD", "z", 1, "a", 2, "b") == b":2\r\n"
    assert client.call("ZADD", "z", 3, "a", 4, "c") == 1      # a updated, c added
    assert contents(client) == [b"b", b"2", b"a", b"3", b"c", b"4"]
    assert client.call("TYPE", "z") == "zset"


def test_zadd_equal_scores_order_by_member_bytes(client):
    client.call("ZADD", "z", 0, "b", 0, b"\xff", 0, "a", 0, "B", 0, "")
    assert client.call("ZRANGE", "z", 0, -1) == [b"", b"B", b"a", b"b", b"\xff"]


def test_zadd_same_member_twice_in_one_call(client):
    assert client.call("ZADD", "z", 1, "a", 2, "a") == 1
    assert client.call("ZSCORE", "z", "a") == b"2"


@pytest.mark.parametrize("options,pairs,reply,after", [
    (["NX"], [5, "a", 9, "n"], 1, [b"n", b"9"]),
    (["XX"], [5, "a", 9, "n"], 0, [b"a", b"5"]),
    (["XX", "CH"], [5, "a", 9, "n"], 1, [b"a", b"5"]),
    (["CH"], [1, "a", 5, "b", 9, "n"], 2, [b"b", b"5", b"n", b"9"]),
    (["GT"], [0, "a", 5, "b", 9, "n"], 1, [b"a", b"1", b"b", b"5", b"n", b"9"]),
    (["GT", "CH"], [0, "a", 5, "b"], 1, [b"a", b"1", b"b", b"5"]),
    (["LT", "CH"], [0, "a", 5, "b"], 1, [b"a", b"0", b"b", b"2"]),
    (["XX", "GT", "CH"], [0, "a", 5, "b", 9, "n"], 1, [b"a", b"1", b"b", b"5"]),
    (["ch", "lt", "xx"], [0, "a", 5, "b"], 1, [b"a", b"0", b"b", b"2"]),
])
def test_zadd_options(client, options, pairs, reply, after):
    client.call("ZADD", "z", 1, "a", 2, "b")
    assert client.call("ZADD", "z", *options, *pairs) == reply
    got = contents(client)
    for member, score in zip(after[::2], after[1::2]):
        assert got[got.index(member) + 1] == score


def test_zadd_xx_on_missing_key_creates_nothing(client):
    assert client.call("ZADD", "z", "XX", 1, "a") == 0
    assert client.call("ZADD", "z", "XX", "INCR", 1, "a") is None
    assert client.call("EXISTS", "z") == 0


def test_zadd_incr(client):
    assert client.call_raw("ZADD", "z", "INCR", "1.5", "a") == b"$3\r\n1.5\r\n"
    assert client.call("ZADD", "z", "INCR", 2, "a") == b"3.5"
    assert client.call("ZADD", "z", "NX", "INCR", 2, "a") is None
    assert client.call("ZADD", "z", "XX", "INCR", 2, "nope") is None
    assert client.call("ZADD", "z", "GT", "INCR", -1, "a") is None
    assert client.call("ZADD", "z", "LT", "INCR", -1, "a") == b"2.5"
    assert client.call("ZADD", "z", "INCR", 0, "a") == b"2.5"


def test_zadd_incr_resp3_is_a_double(resp3_client):
    assert resp3_client.call_raw("ZADD", "z", "INCR", "0.1", "a") == b",0.10000000000000001\r\n"
    assert resp3_client.call_raw("ZADD", "z", "NX", "INCR", 1, "a") == b"_\r\n"


@pytest.mark.parametrize("args,error", [
    (["NX", "XX", 1, "a"], "ERR XX and NX options at the same time are not compatible"),
    (["GT", "LT", 1, "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
    (["NX", "GT", 1, "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
    (["LT", "NX", 1, "a"], "ERR GT, LT, and/or NX options at the same time are not compatible"),
    (["INCR", 1, "a", 2, "b"], "ERR INCR option supports a single increment-element pair"),
    (["NX", "XX", 1, "a", 2], "ERR syntax error"),      # pairs are counted first
    (["NX", "XX", "x", "a"], "ERR XX and NX options at the same time are not compatible"),
    ([1, "a", 2], "ERR syntax error"),
    (["NX", "XX"], "ERR syntax error"),
    (["CH", 1], "ERR syntax error"),
    (["INCR", "a"], "ERR syntax error"),
    (["NX", "GT", "XX", "a"], "ERR syntax error"),
    ([1, "a", "NX", 2], "ERR value is not a valid float"),   # options only come first
    (["nan", "a"], "ERR value is not a valid float"),
    ([1, "a", "x", "b"], "ERR value is not a valid float"),
    ([" 1", "a"], "ERR value is not a valid float"),
    (["1 ", "a"], "ERR value is not a valid float"),
    (["", "a"], "ERR value is not a valid float"),
])
def test_zadd_errors_change_nothing(client, args, error):
    seed(client)
    assert client.call("ZADD", "z", *args) == ErrorReply(error)
    assert contents(client) == [b"a", b"1", b"b", b"2", b"c", b"3"]


def test_zadd_nan_result(client):
    client.call("ZADD", "z", "inf", "a")
    assert client.call("ZADD", "z", "INCR", "-inf", "a") == NAN_ERROR
    assert client.call("ZINCRBY", "z", "-inf", "a") == NAN_ERROR
    assert client.call("ZSCORE", "z", "a") == b"inf"


@pytest.mark.parametrize("text,printed", [
    ("1", b"1"), ("0.1", b"0.10000000000000001"), ("1e3", b"1000"), ("-2.5", b"-2.5"),
    ("inf", b"inf"), ("-inf", b"-inf"), ("+inf", b"inf"), ("Infinity", b"inf"),
    ("0x10", b"16"), (".5", b"0.5"), ("1e300", b"1.0000000000000001e+300"),
    ("123456789012345678", b"1.2345678901234568e+17"),
])
def test_score_parsing_and_printing(client, resp3_client, text, printed):
    assert client.call("ZADD", "z", text, "m") == 1
    assert client.call_raw("ZSCORE", "z", "m") == b"$%d\r\n%s\r\n" % (len(printed), printed)
    resp3_client.call("ZADD", "z", text, "m")
    assert resp3_client.call_raw("ZSCORE", "z", "m") == b",%s\r\n" % printed


def test_zadd_wrongtype(client):
    with_string(client)
    assert client.call("ZADD", "str", 1, "a") == WRONGTYPE
    assert client.call("GET", "str") == b"v"


# -- ZINCRBY -------------------------------------------------------------------------------------


def test_zincrby(client):
    assert client.call_raw("ZINCRBY", "z", 2, "a") == b"$1\r\n2\r\n"
    assert client.call("ZINCRBY", "z", "-0.5", "a") == b"1.5"
    assert client.call("ZINCRBY", "z", "1e1", "b") == b"10"
    assert client.call("ZINCRBY", "z", "x", "a") == FLOAT_ERROR
    assert client.call("ZINCRBY", "z", "nan", "a") == FLOAT_ERROR
    assert contents(client) == [b"a", b"1.5", b"b", b"10"]
    with_string(client)
    assert client.call("ZINCRBY", "str", 1, "a") == WRONGTYPE


def test_zincrby_resp3(resp3_client):
    assert resp3_client.call_raw("ZINCRBY", "z", "2.5", "a") == b",2.5\r\n"


# -- ZREM, ZCARD, ZSCORE, ZMSCORE, ZRANK, ZREVRANK -----------------------------------------------


def test_zrem(client):
    seed(client)
    assert client.call("ZREM", "z", "a", "x", "a") == 1
    assert client.call("ZREM", "nokey", "a") == 0
    assert client.call("ZREM", "z", "b", "c") == 2
    assert client.call("EXISTS", "z") == 0          # emptied: deleted


def test_zcard_zscore_zmscore(client):
    seed(client)
    assert client.call("ZCARD", "z") == 3
    assert client.call("ZCARD", "nokey") == 0
    assert client.call("ZSCORE", "z", "b") == b"2"
    assert client.call("ZSCORE", "z", "x") is None
    assert client.call("ZSCORE", "nokey", "x") is None
    assert client.call_raw("ZMSCORE", "z", "a", "x", "c") == b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n3\r\n"
    assert client.call("ZMSCORE", "nokey", "a", "b") == [None, None]


def test_zscore_zmscore_resp3(resp3_client):
    seed(resp3_client)
    assert resp3_client.call_raw("ZSCORE", "z", "x") == b"_\r\n"
    assert resp3_client.call_raw("ZMSCORE", "z", "a", "x") == b"*2\r\n,1\r\n_\r\n"


def test_zrank_zrevrank(client):
    seed(client)
    assert client.call("ZRANK", "z", "a") == 0
    assert client.call("ZRANK", "z", "c") == 2
    assert client.call("ZREVRANK", "z", "a") == 2
    assert client.call("ZREVRANK", "z", "c") == 0
    assert client.call("ZRANK", "z", "x") is None
    assert client.call("ZREVRANK", "nokey", "x") is None


@pytest.mark.parametrize("command", [
    ["ZCARD", "str"], ["ZSCORE", "str", "a"], ["ZMSCORE", "str", "a"], ["ZRANK", "str", "a"],
    ["ZREVRANK", "str", "a"], ["ZREM", "str", "a"], ["ZCOUNT", "str", 0, 1],
    ["ZLEXCOUNT", "str", "-", "+"], ["ZRANGE", "str", 0, -1], ["ZRANGE", "str", 0, 1, "BYSCORE"],
    ["ZRANGEBYSCORE", "str", 0, 1], ["ZREVRANGEBYSCORE", "str", 1, 0], ["ZRANGEBYLEX", "str", "-", "+"],
    ["ZREVRANGEBYLEX", "str", "+", "-"], ["ZREVRANGE", "str", 0, 1], ["ZRANGESTORE", "d", "str", 0, 1],
    ["ZREMRANGEBYRANK", "str", 0, 1], ["ZREMRANGEBYSCORE", "str", 0, 1],
    ["ZREMRANGEBYLEX", "str", "-", "+"], ["ZPOPMIN", "str"], ["ZPOPMAX", "str", 2],
    ["ZMPOP", 1, "str", "MIN"], ["ZRANDMEMBER", "str"], ["ZRANDMEMBER", "str", 2],
    ["ZSCAN", "str", 0], ["ZUNION", 1, "str"], ["ZINTER", 2, "z", "str"], ["ZDIFF", 1, "str"],
    ["ZUNIONSTORE", "d", 1, "str"], ["ZINTERCARD", 1, "str"], ["ZINCRBY", "str", 1, "a"],
    ["BZPOPMIN", "str", 0], ["BZPOPMAX", "str", 0], ["BZMPOP", 0, 1, "str", "MAX"],
])
def test_wrongtype(client, command):
    seed(client)
    with_string(client)
    assert client.call(*command) == WRONGTYPE
    assert client.call("GET", "str") == b"v"
    assert client.call("EXISTS", "d") == 0
    assert contents(client) == [b"a", b"1", b"b", b"2", b"c", b"3"]


# -- ZCOUNT, ZLEXCOUNT, bounds -------------------------------------------------------------------


@pytest.mark.parametrize("low,high,count", [
    ("-inf", "+inf", 5), ("1", "3", 3), ("(1", "3", 2), ("(1", "(3", 1), ("3", "1", 0),
    ("(2", "(2", 0), ("2", "2", 1), ("", "2", 3), (" 1", "1", 1), ("( 1", "5", 2),
    ("(", "1", 1), ("0x1", "0x2", 2), ("-inf", "(-inf", 0), ("inf", "inf", 1), ("(5", "inf", 1),
])
def test_zcount_bounds(client, low, high, count):
    client.call("ZADD", "z", 0, "zero", 1, "a", 2, "b", 3, "c", "inf", "big")
    assert client.call("ZCOUNT", "z", low, high) == count


@pytest.mark.parametrize("low,high", [("x", "1"), ("1", "1 "), ("nan", "1"), ("(nan", "1"),
                                      ("1", "((2"), ("[1", "2"), ("1e", "2")])
def test_zcount_bad_bounds(client, low, high):
    seed(client)
    assert client.call("ZCOUNT", "z", low, high) == SCORE_RANGE_ERROR
    assert client.call("ZCOUNT", "nokey", low, high) == SCORE_RANGE_ERROR  # before the key


@pytest.mark.parametrize("low,high,count", [
    ("-", "+", 5), ("[b", "[d", 3), ("(b", "[d", 2), ("(b", "(d", 1), ("[d", "[b", 0),
    ("+", "-", 0), ("[", "+", 5), ("(", "+", 5), ("-", "(a", 0), ("[a", "[a", 1), ("[aa", "+", 4),
])
def test_zlexcount(client, low, high, count):
    client.call("ZADD", "z", 0, "a", 0, "b", 0, "c", 0, "d", 0, "e")
    assert client.call("ZLEXCOUNT", "z", low, high) == count


@pytest.mark.parametrize("low,high", [("a", "+"), ("-", "b"), ("+a", "+"), ("-", "--"), ("", "+")])
def test_zlexcount_bad_bounds(client, low, high):
    client.call("ZADD", "z", 0, "a")
    assert client.call("ZLEXCOUNT", "z", low, high) == LEX_RANGE_ERROR
    assert client.call("ZLEXCOUNT", "nokey", low, high) == LEX_RANGE_ERROR


# -- ZRANGE and the legacy range commands --------------------------------------------------------


FIVE = ((1, b"a"), (2, b"b"), (3, b"c"), (4, b"d"), (5, b"e"))


@pytest.mark.parametrize("args,reply", [
    ([0, -1], [b"a", b"b", b"c", b"d", b"e"]),
    ([1, 2], [b"b", b"c"]),
    ([-2, -1], [b"d", b"e"]),
    ([-100, 1], [b"a", b"b"]),
    ([3, 100], [b"d", b"e"]),
    ([2, 1], []),
    ([5, 10], []),
    ([0, 1, "REV"], [b"e", b"d"]),
    ([-1, -1, "rev"], [b"a"]),
    ([0, 0, "WITHSCORES"], [b"a", b"1"]),
    ([2, 4, "BYSCORE"], [b"b", b"c", b"d"]),
    (["(2", "+inf", "BYSCORE", "LIMIT", 1, 2], [b"d", b"e"]),
    (["+inf", "(2", "BYSCORE", "REV", "LIMIT", 1, 2], [b"d", b"c"]),
    (["+inf", "-inf", "BYSCORE", "REV", "LIMIT", 0, 1, "WITHSCORES"], [b"e", b"5"]),
    (["-inf", "+inf", "BYSCORE", "LIMIT", 0, 0], []),
    (["-inf", "+inf", "BYSCORE", "LIMIT", -1, 2], []),
    (["-inf", "+inf", "BYSCORE", "LIMIT", 3, -1], [b"d", b"e"]),
    (["-inf", "+inf", "BYSCORE", "LIMIT", 10, 1], []),
    ([4, 2, "BYSCORE"], []),
    ([2, 4, "BYSCORE", "REV"], []),
    (["-", "+", "BYLEX"], [b"a", b"b", b"c", b"d", b"e"]),
    (["[b", "(d", "BYLEX"], [b"b", b"c"]),
    (["(d", "[b", "BYLEX", "REV"], [b"c", b"b"]),
    (["-", "+", "BYLEX", "LIMIT", 1, 2], [b"b", b"c"]),
    (["+", "-", "BYLEX", "REV", "LIMIT", 1, 2], [b"d", b"c"]),
    (["-", "+", "BYLEX", "LIMIT", 1, -1], [b"b", b"c", b"d", b"e"]),
])
def test_zrange(client, args, reply):
    seed(client, pairs=[(0 if "BYLEX" in args else s, m) for s, m in FIVE])
    if "BYLEX" not in args:
        seed(client, pairs=FIVE)
    assert client.call("ZRANGE", "z", *args) == reply


def test_zrange_missing_key(client):
    assert client.call_raw("ZRANGE", "nokey", 0, -1) == b"*0\r\n"
    assert client.call("ZRANGE", "nokey", "(1", 2, "BYSCORE") == []


@pytest.mark.parametrize("args,error", [
    ([0, 1, "LIMIT", 0, 1], "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
    ([0, 1, "REV", "LIMIT", 0, 1], "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
    (["-", "+", "BYLEX", "WITHSCORES"], "ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
    ([0, 1, "BYSCORE", "BYLEX"], "ERR syntax error"),
    ([0, 1, "BOGUS"], "ERR syntax error"),
    ([0, 1, "LIMIT", 0], "ERR syntax error"),
    ([0, 1, "BYSCORE", "LIMIT", "x", 1], "ERR value is not an integer or out of range"),
    ([0, 1, "BYSCORE", "LIMIT", "x", 1, "BOGUS"], "ERR value is not an integer or out of range"),
    (["x", 1], "ERR value is not an integer or out of range"),
    (["a", 1, "BYSCORE"], "ERR min or max is not a float"),
    (["a", "+", "BYLEX"], "ERR min or max not valid string range item"),
    (["x", "y", "LIMIT", 0, 1], "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
])
def test_zrange_errors(client, args, error):
    seed(client)
    with_string(client)
    assert client.call("ZRANGE", "z", *args) == ErrorReply(error)
    # the arguments are checked before the key is looked at
    assert client.call("ZRANGE", "str", *args) == ErrorReply(error)


def test_zrange_withscores_shapes(client, resp3_client):
    seed(client, pairs=[(1.5, b"a"), ("inf", b"b")])
    assert client.call_raw("ZRANGE", "z", 0, -1, "WITHSCORES") == (
        b"*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n$3\r\ninf\r\n")
    expected3 = b"*2\r\n*2\r\n$1\r\na\r\n,1.5\r\n*2\r\n$1\r\nb\r\n,inf\r\n"
    assert resp3_client.call_raw("ZRANGE", "z", 0, -1, "WITHSCORES") == expected3
    assert resp3_client.call_raw("ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES") == expected3
    assert resp3_client.call_raw("ZREVRANGE", "z", -1, -1, "WITHSCORES") == b"*1\r\n*2\r\n$1\r\na\r\n,1.5\r\n"
    assert resp3_client.call_raw("ZRANGE", "z", 0, -1) == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"


def test_zrangebyscore_and_rev(client):
    seed(client, pairs=FIVE)
    assert client.call("ZRANGEBYSCORE", "z", "(1", "(5") == [b"b", b"c", b"d"]
    assert client.call("ZRANGEBYSCORE", "z", 1, 5, "LIMIT", 1, 1, "WITHSCORES") == [b"b", b"2"]
    assert client.call("ZRANGEBYSCORE", "z", 1, 5, "WITHSCORES", "LIMIT", 1, 1) == [b"b", b"2"]
    assert client.call("ZRANGEBYSCORE", "z", 1, 5, "LIMIT", -1, 1) == []
    assert client.call("ZRANGEBYSCORE", "z", 5, 1) == []
    assert client.call("ZREVRANGEBYSCORE", "z", 5, 1, "LIMIT", 1, 2) == [b"d", b"c"]
    assert client.call("ZREVRANGEBYSCORE", "z", "(5", "(1", "WITHSCORES") == [b"d", b"4", b"c", b"3", b"b", b"2"]
    assert client.call("ZREVRANGEBYSCORE", "z", 1, 5) == []
    assert client.call("ZRANGEBYSCORE", "z", "x", 5) == SCORE_RANGE_ERROR
    assert client.call("ZREVRANGEBYSCORE", "z", 5, "x") == SCORE_RANGE_ERROR
    assert client.call("ZRANGEBYSCORE", "z", 1, 5, "LIMIT", "x", 1) == INTEGER_ERROR
    assert client.call("ZRANGEBYSCORE", "z", 1, 5, "BYLEX") == SYNTAX_ERROR
    assert client.call("ZRANGEBYSCORE", "z", "x", 5, "LIMIT", "y", 1) == INTEGER_ERROR  # options first


def test_zrangebylex_and_rev(client):
    seed(client, pairs=[(0, m) for _, m in FIVE])
    assert client.call("ZRANGEBYLEX", "z", "[b", "(e") == [b"b", b"c", b"d"]
    assert client.call("ZRANGEBYLEX", "z", "-", "+", "LIMIT", 1, 2) == [b"b", b"c"]
    assert client.call("ZREVRANGEBYLEX", "z", "+", "-", "LIMIT", 1, 2) == [b"d", b"c"]
    assert client.call("ZREVRANGEBYLEX", "z", "[e", "(b") == [b"e", b"d", b"c"]
    assert client.call("ZREVRANGEBYLEX", "z", "-", "+") == []
    assert client.call("ZRANGEBYLEX", "z", "b", "e") == LEX_RANGE_ERROR
    assert client.call("ZRANGEBYLEX", "z", "-", "+", "WITHSCORES") == ErrorReply(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    assert client.call("ZREVRANGEBYLEX", "z", "+", "-", "WITHSCORES") == ErrorReply(
        "ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    assert client.call("ZRANGEBYLEX", "z", "-", "+", "REV") == SYNTAX_ERROR
    assert client.call("ZRANGEBYLEX", "z", "-", "+", "BYSCORE") == SYNTAX_ERROR
    assert client.call("ZRANGEBYLEX", "nokey", "-", "+") == []


def test_zrevrange(client):
    seed(client, pairs=FIVE)
    assert client.call("ZREVRANGE", "z", 0, 1) == [b"e", b"d"]
    assert client.call("ZREVRANGE", "z", -2, -1, "WITHSCORES") == [b"b", b"2", b"a", b"1"]
    assert client.call("ZREVRANGE", "z", "x", 1) == INTEGER_ERROR
    assert client.call("ZREVRANGE", "z", "x", "y", "BOGUS") == SYNTAX_ERROR
    assert client.call("ZREVRANGE", "nokey", 0, -1) == []
    # ZREVRANGE reads ZRANGE's LIMIT, then refuses it
    assert client.call("ZREVRANGE", "z", 0, 1, "LIMIT", 0, 1) == ErrorReply(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    assert client.call("ZREVRANGE", "z", "x", 1, "LIMIT", "y", 1) == INTEGER_ERROR
    assert client.call("ZREVRANGE", "z", 0, 1, "REV") == SYNTAX_ERROR
    assert client.call("ZREVRANGE", "z", 0, 1, "BYSCORE") == SYNTAX_ERROR


# -- ZRANGESTORE ---------------------------------------------------------------------------------


def test_zrangestore(client):
    seed(client, pairs=FIVE)
    assert client.call("ZRANGESTORE", "dst", "z", 1, 3) == 3
    assert contents(client, "dst") == [b"b", b"2", b"c", b"3", b"d", b"4"]
    assert client.call("ZRANGESTORE", "dst", "z", "(1", 5, "BYSCORE", "LIMIT", 1, 2) == 2
    assert contents(client, "dst") == [b"c", b"3", b"d", b"4"]
    assert client.call("ZRANGESTORE", "dst", "z", 5, "(1", "BYSCORE", "REV", "LIMIT", 0, 1) == 1
    assert contents(client, "dst") == [b"e", b"5"]
    client.call("SET", "dst2", "string")
    assert client.call("ZRANGESTORE", "dst2", "z", 0, 0) == 1      # overwritten whatever its type
    assert client.call("TYPE", "dst2") == "zset"
    assert client.call("ZRANGESTORE", "dst", "z", 10, 20) == 0      # empty: deleted
    assert client.call("EXISTS", "dst") == 0
    assert client.call("ZRANGESTORE", "dst2", "nokey", 0, -1) == 0
    assert client.call("EXISTS", "dst2") == 0


def test_zrangestore_bylex_and_errors(client):
    seed(client, pairs=[(0, m) for _, m in FIVE])
    assert client.call("ZRANGESTORE", "dst", "z", "[b", "[c", "BYLEX") == 2
    assert contents(client, "dst") == [b"b", b"0", b"c", b"0"]
    assert client.call("ZRANGESTORE", "dst", "z", 0, -1, "WITHSCORES") == SYNTAX_ERROR
    assert client.call("ZRANGESTORE", "dst", "z", 0, -1, "LIMIT", 0, 1) == ErrorReply(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    assert contents(client, "dst") == [b"b", b"0", b"c", b"0"]


# -- ZREMRANGEBY* --------------------------------------------------------------------------------


def test_zremrangebyrank(client):
    seed(client, pairs=FIVE)
    assert client.call("ZREMRANGEBYRANK", "z", 0, 0) == 1
    assert client.call("ZREMRANGEBYRANK", "z", -1, -1) == 1
    assert client.call("ZREMRANGEBYRANK", "z", 5, 10) == 0
    assert client.call("ZREMRANGEBYRANK", "z", "x", 0) == INTEGER_ERROR
    assert client.call("ZRANGE", "z", 0, -1) == [b"b", b"c", b"d"]
    assert client.call("ZREMRANGEBYRANK", "z", 0, -1) == 3
    assert client.call("EXISTS", "z") == 0
    assert client.call("ZREMRANGEBYRANK", "nokey", 0, -1) == 0


def test_zremrangebyscore(client):
    seed(client, pairs=FIVE)
    assert client.call("ZREMRANGEBYSCORE", "z", "(1", 2) == 1
    assert client.call("ZREMRANGEBYSCORE", "z", 5, 1) == 0
    assert client.call("ZREMRANGEBYSCORE", "z", "x", 1) == SCORE_RANGE_ERROR
    assert client.call("ZRANGE", "z", 0, -1) == [b"a", b"c", b"d", b"e"]
    assert client.call("ZREMRANGEBYSCORE", "z", "-inf", "+inf") == 4
    assert client.call("EXISTS", "z") == 0


def test_zremrangebylex(client):
    seed(client, pairs=[(0, m) for _, m in FIVE])
    assert client.call("ZREMRANGEBYLEX", "z", "[a", "(c") == 2
    assert client.call("ZREMRANGEBYLEX", "z", "x", "y") == LEX_RANGE_ERROR
    assert client.call("ZRANGE", "z", 0, -1) == [b"c", b"d", b"e"]
    assert client.call("ZREMRANGEBYLEX", "z", "-", "+") == 3
    assert client.call("EXISTS", "z") == 0


# -- ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD ----------------------------------------


@pytest.fixture
def inputs(client):
    client.call("ZADD", "a", 1, "x", 2, "y", 3, "z")
    client.call("ZADD", "b", 10, "y", 20, "z", 30, "w")
    client.call("SADD", "s", "y", "w", "q")
    return client


@pytest.mark.parametrize("command,reply", [
    (["ZUNION", 2, "a", "b", "WITHSCORES"], [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"]),
    (["ZUNION", 2, "a", "b", "WEIGHTS", 2, "0.5", "WITHSCORES"],
     [b"x", b"2", b"y", b"9", b"w", b"15", b"z", b"16"]),
    (["ZUNION", 2, "a", "b", "AGGREGATE", "MIN", "WITHSCORES"],
     [b"x", b"1", b"y", b"2", b"z", b"3", b"w", b"30"]),
    (["ZUNION", 2, "a", "b", "aggregate", "max"], [b"x", b"y", b"z", b"w"]),
    (["ZUNION", 3, "a", "b", "s", "WITHSCORES"],
     [b"q", b"1", b"x", b"1", b"y", b"13", b"z", b"23", b"w", b"31"]),
    (["ZUNION", 2, "a", "nokey"], [b"x", b"y", b"z"]),
    (["ZUNION", 2, "a", "a", "WITHSCORES"], [b"x", b"2", b"y", b"4", b"z", b"6"]),
    (["ZINTER", 2, "a", "b", "WITHSCORES"], [b"y", b"12", b"z", b"23"]),
    (["ZINTER", 3, "a", "b", "s", "WITHSCORES"], [b"y", b"13"]),
    (["ZINTER", 2, "a", "b", "WEIGHTS", 2, 3, "AGGREGATE", "MAX", "WITHSCORES"],
     [b"y", b"30", b"z", b"60"]),
    (["ZINTER", 2, "a", "nokey"], []),
    (["ZINTER", 1, "a"], [b"x", b"y", b"z"]),
    (["ZDIFF", 2, "a", "b", "WITHSCORES"], [b"x", b"1"]),
    (["ZDIFF", 2, "b", "s"], [b"z"]),
    (["ZDIFF", 2, "nokey", "a"], []),
    (["ZDIFF", 1, "a"], [b"x", b"y", b"z"]),
    (["ZINTERCARD", 2, "a", "b"], 2),
    (["ZINTERCARD", 2, "a", "b", "LIMIT", 1], 1),
    (["ZINTERCARD", 2, "a", "b", "LIMIT", 0], 2),
    (["ZINTERCARD", 2, "a", "s"], 1),
    (["ZINTERCARD", 2, "a", "nokey"], 0),
])
def test_combinations(inputs, command, reply):
    assert inputs.call(*command) == reply


def test_combination_infinities(client):
    client.call("ZADD", "i", 0, "zero", "inf", "big", "-inf", "small")
    assert client.call("ZUNION", 1, "i", "WEIGHTS", 0, "WITHSCORES") == [
        b"big", b"0", b"small", b"0", b"zero", b"0"]          # 0 * inf counts as 0
    assert client.call("ZUNION", 2, "i", "i", "WEIGHTS", 1, -1, "WITHSCORES") == [
        b"big", b"0", b"small", b"0", b"zero", b"0"]          # inf + -inf counts as 0


@pytest.mark.parametrize("command,error", [
    (["ZUNION", 0, "a"], "ERR at least 1 input key is needed for 'zunion' command"),
    (["ZINTER", -1, "a"], "ERR at least 1 input key is needed for 'zinter' command"),
    (["ZDIFF", 0, "a"], "ERR at least 1 input key is needed for 'zdiff' command"),
    (["ZINTERCARD", 0, "a"], "ERR at least 1 input key is needed for 'zintercard' command"),
    (["ZUNIONSTORE", "d", 0, "a"], "ERR at least 1 input key is needed for 'zunionstore' command"),
    (["ZINTERSTORE", "d", 0, "a"], "ERR at least 1 input key is needed for 'zinterstore' command"),
    (["ZDIFFSTORE", "d", 0, "a"], "ERR at least 1 input key is needed for 'zdiffstore' command"),
    (["ZUNION", "x", "a"], "ERR value is not an integer or out of range"),
    (["ZUNIONSTORE", "d", "x", "a"], "ERR value is not an integer or out of range"),
    (["ZUNION", 3, "a", "b"], "ERR syntax error"),
    (["ZUNION", 2, "a", "b", "WEIGHTS", 1], "ERR syntax error"),
    (["ZUNION", 2, "a", "b", "WEIGHTS", 1, "x"], "ERR weight value is not a float"),
    (["ZINTER", 2, "a", "b", "WEIGHTS", 1, "nan"], "ERR weight value is not a float"),
    (["ZUNION", 2, "a", "b", "WEIGHTS", 1, 2, 3], "ERR syntax error"),
    (["ZUNION", 2, "a", "b", "AGGREGATE", "AVG"], "ERR syntax error"),
    (["ZUNION", 2, "a", "b", "AGGREGATE"], "ERR syntax error"),
    (["ZUNION", 1, "a", "LIMIT", 1], "ERR syntax error"),
    (["ZUNIONSTORE", "d", 1, "a", "WITHSCORES"], "ERR syntax error"),
    (["ZDIFF", 1, "a", "WEIGHTS", 1], "ERR syntax error"),
    (["ZDIFF", 1, "a", "AGGREGATE", "SUM"], "ERR syntax error"),
    (["ZDIFFSTORE", "d", 1, "a", "WITHSCORES"], "ERR syntax error"),
    (["ZINTERCARD", 2, "a", "b", "LIMIT", -1], "ERR LIMIT can't be negative"),
    (["ZINTERCARD", 2, "a", "b", "LIMIT", "x"], "ERR LIMIT can't be negative"),
    (["ZINTERCARD", 2, "a", "b", "WITHSCORES"], "ERR syntax error"),
    (["ZINTERCARD", 2, "a", "b", "WEIGHTS", 1, 1], "ERR syntax error"),
    (["ZINTERCARD", 3, "a", "b"], "ERR syntax error"),
    (["ZUNION", 2, "a", "str"], "WRONGTYPE Operation against a key holding the wrong kind of value"),
    # the keys are looked up before the options are read
    (["ZUNION", 1, "str", "BOGUS"], "WRONGTYPE Operation against a key holding the wrong kind of value"),
    (["ZINTERSTORE", "d", 1, "str", "WEIGHTS", "x"], "WRONGTYPE Operation against a key holding the wrong kind of value"),
])
def test_combination_errors(inputs, command, error):
    with_string(inputs)
    inputs.call("ZADD", "d", 7, "keep")
    assert inputs.call(*command) == ErrorReply(error)
    assert contents(inputs, "d") == [b"keep", b"7"]
    assert contents(inputs, "a") == [b"x", b"1", b"y", b"2", b"z", b"3"]


def test_store_variants(inputs):
    inputs.call("SET", "d", "string")
    assert inputs.call("ZUNIONSTORE", "d", 2, "a", "b", "WEIGHTS", 1, 2) == 4
    assert contents(inputs, "d") == [b"x", b"1", b"y", b"22", b"z", b"43", b"w", b"60"]
    assert inputs.call("ZINTERSTORE", "d", 2, "a", "b", "AGGREGATE", "MIN") == 2
    assert contents(inputs, "d") == [b"y", b"2", b"z", b"3"]
    assert inputs.call("ZDIFFSTORE", "d", 2, "a", "b") == 1
    assert contents(inputs, "d") == [b"x", b"1"]
    assert inputs.call("ZINTERSTORE", "d", 2, "a", "nokey") == 0
    assert inputs.call("EXISTS", "d") == 0
    assert inputs.call("ZUNIONSTORE", "a", 2, "a", "b") == 4     # destination among the inputs
    assert contents(inputs, "a") == [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"]
    assert inputs.call("ZDIFFSTORE", "d", 1, "nokey") == 0
    assert inputs.call("EXISTS", "d") == 0


def test_combination_shapes_resp3(resp3_client):
    resp3_client.call("ZADD", "a", 1, "x", "1.5", "y")
    assert resp3_client.call_raw("ZUNION", 1, "a", "WITHSCORES") == (
        b"*2\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,1.5\r\n")
    assert resp3_client.call_raw("ZINTER", 1, "a", "WITHSCORES") == (
        b"*2\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,1.5\r\n")
    assert resp3_client.call_raw("ZDIFF", 1, "a", "WITHSCORES") == (
        b"*2\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\ny\r\n,1.5\r\n")
    assert resp3_client.call_raw("ZUNION", 1, "a") == b"*2\r\n$1\r\nx\r\n$1\r\ny\r\n"


# -- ZPOPMIN, ZPOPMAX, ZMPOP ---------------------------------------------------------------------


def test_zpopmin_zpopmax(client):
    seed(client, pairs=FIVE)
    assert client.call_raw("ZPOPMIN", "z") == b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert client.call("ZPOPMAX", "z") == [b"e", b"5"]
    assert client.call("ZPOPMIN", "z", 2) == [b"b", b"2", b"c", b"3"]
    assert client.call("ZPOPMIN", "z", 0) == []
    assert client.call("ZPOPMAX", "z", 10) == [b"d", b"4"]
    assert client.call("EXISTS", "z") == 0
    assert client.call("ZPOPMIN", "nokey") == []
    assert client.call("ZPOPMAX", "nokey", 3) == []


@pytest.mark.parametrize("args,error", [
    ([-1], NOT_POSITIVE), (["x"], NOT_POSITIVE), ([1, 2], SYNTAX_ERROR), (["x", "y"], SYNTAX_ERROR)])
def test_zpop_errors(client, args, error):
    seed(client)
    assert client.call("ZPOPMIN", "z", *args) == error
    assert client.call("ZPOPMAX", "z", *args) == error
    assert client.call("ZCARD", "z") == 3


def test_zpop_resp3_shapes(resp3_client):
    seed(resp3_client, pairs=FIVE)
    assert resp3_client.call_raw("ZPOPMIN", "z") == b"*2\r\n$1\r\na\r\n,1\r\n"
    assert resp3_client.call_raw("ZPOPMIN", "z", 1) == b"*1\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    assert resp3_client.call_raw("ZPOPMAX", "z", 2) == b"*2\r\n*2\r\n$1\r\ne\r\n,5\r\n*2\r\n$1\r\nd\r\n,4\r\n"


def test_zmpop(client):
    seed(client, pairs=FIVE)
    assert client.call_raw("ZMPOP", 1, "z", "MIN") == b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert client.call("ZMPOP", 2, "nokey", "z", "max", "COUNT", 2) == [b"z", [[b"e", b"5"], [b"d", b"4"]]]
    assert client.call_raw("ZMPOP", 1, "nokey", "MIN") == b"*-1\r\n"
    assert client.call("ZMPOP", 1, "z", "MIN", "COUNT", 10) == [b"z", [[b"b", b"2"], [b"c", b"3"]]]
    assert client.call("EXISTS", "z") == 0


def test_zmpop_resp3(resp3_client):
    seed(resp3_client)
    assert resp3_client.call_raw("ZMPOP", 1, "z", "MAX") == b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    assert resp3_client.call_raw("ZMPOP", 1, "nokey", "MAX") == b"_\r\n"


@pytest.mark.parametrize("args,error", [
    ([0, "z", "MIN"], "ERR numkeys should be greater than 0"),
    (["x", "z", "MIN"], "ERR numkeys should be greater than 0"),
    ([-1, "z", "MIN"], "ERR numkeys should be greater than 0"),
    ([2, "z", "MIN"], "ERR syntax error"),
    ([1, "z", "LEFT"], "ERR syntax error"),
    ([1, "z", "MIN", "COUNT", 0], "ERR count should be greater than 0"),
    ([1, "z", "MIN", "COUNT", "x"], "ERR count should be greater than 0"),
    ([1, "z", "MIN", "COUNT"], "ERR syntax error"),
    ([1, "z", "MIN", "COUNT", 1, "COUNT", 1], "ERR syntax error"),
    ([1, "z", "MIN", "BOGUS"], "ERR syntax error"),
])
def test_zmpop_errors(client, args, error):
    seed(client)
    assert client.call("ZMPOP", *args) == ErrorReply(error)
    assert client.call("BZMPOP", 0, *args) == ErrorReply(error)
    assert client.call("ZCARD", "z") == 3


# -- ZRANDMEMBER ---------------------------------------------------------------------------------


def test_zrandmember(client):
    seed(client)
    members = {b"a": b"1", b"b": b"2", b"c": b"3"}
    assert client.call("ZRANDMEMBER", "z") in members
    assert client.call("ZRANDMEMBER", "nokey") is None
    assert client.call("ZRANDMEMBER", "nokey", 2) == []
    assert client.call("ZRANDMEMBER", "z", 0) == []
    two = client.call("ZRANDMEMBER", "z", 2)
    assert len(two) == 2 and len(set(two)) == 2 and set(two) <= set(members)
    assert sorted(client.call("ZRANDMEMBER", "z", 10)) == sorted(members)
    many = client.call("ZRANDMEMBER", "z", -20)
    assert len(many) == 20 and set(many) <= set(members)
    flat = client.call("ZRANDMEMBER", "z", -5, "WITHSCORES")
    assert len(flat) == 10
    for member, score in zip(flat[::2], flat[1::2]):
        assert members[member] == score
    assert client.call("ZCARD", "z") == 3


def test_zrandmember_resp3(resp3_client):
    seed(resp3_client, pairs=[(1, b"a")])
    assert resp3_client.call_raw("ZRANDMEMBER", "z", 1, "WITHSCORES") == b"*1\r\n*2\r\n$1\r\na\r\n,1\r\n"
    assert resp3_client.call_raw("ZRANDMEMBER", "z", -2) == b"*2\r\n$1\r\na\r\n$1\r\na\r\n"
    assert resp3_client.call_raw("ZRANDMEMBER", "nokey") == b"_\r\n"


@pytest.mark.parametrize("args,error", [
    (["x"], "ERR value is not an integer or out of range"),
    (["x", "BOGUS"], "ERR value is not an integer or out of range"),     # count first
    ([1, "BOGUS"], "ERR syntax error"),
    ([1, "WITHSCORES", "x"], "ERR syntax error"),
    (["-9223372036854775808"], "ERR value is out of range, value must between "
                               "-9223372036854775807 and 9223372036854775807"),
    (["9223372036854775807", "WITHSCORES"], "ERR value is out of range"),
    (["-4611686018427387904", "WITHSCORES"], "ERR value is out of range"),
])
def test_zrandmember_errors(client, args, error):
    seed(client)
    assert client.call("ZRANDMEMBER", "z", *args) == ErrorReply(error)


# -- ZSCAN ---------------------------------------------------------------------------------------


def full_scan(client, key, *options):
    cursor, seen = b"0", {}
    for _ in range(100000):
        cursor, items = client.call("ZSCAN", key, cursor, *options)
        seen.update(zip(items[::2], items[1::2]))
        if cursor == b"0":
            return seen
    pytest.fail("ZSCAN never finished")


def test_zscan_small_set(client):
    client.call("ZADD", "z", 1, "a", "0.5", "b", "inf", "c", "1e17", "d")
    cursor, items = client.call("ZSCAN", "z", 0)
    assert cursor == b"0"
    assert dict(zip(items[::2], items[1::2])) == {
        b"a": b"1", b"b": b"0.5", b"c": b"inf", b"d": b"100000000000000000"}
    assert client.call("ZSCAN", "z", 0, "MATCH", "[ab]") == [b"0", [b"b", b"0.5", b"a", b"1"]]


def test_zscan_scores_are_strings_in_resp3(resp3_client):
    resp3_client.call("ZADD", "z", "1.5", "a")
    assert resp3_client.call_raw("ZSCAN", "z", 0) == b"*2\r\n$1\r\n0\r\n*2\r\n$1\r\na\r\n$3\r\n1.5\r\n"


def test_zscan_large_set_returns_everything(client):
    members = {b"m%d" % i: str(i / 4).encode() for i in range(300)}
    client.call("ZADD", "z", *[x for m, s in members.items() for x in (s, m)])  # a skiplist in Redis
    assert full_scan(client, "z") == {m: (b"%.17g" % float(s)) for m, s in members.items()}
    assert set(full_scan(client, "z", "COUNT", 7, "MATCH", "m1*")) == {m for m in members if m.startswith(b"m1")}


def test_zscan_guarantee_under_changes(client):
    """A member present for the whole scan is returned, whatever is added and removed meanwhile."""
    stable = [b"s%d" % i for i in range(200)]
    client.call("ZADD", "z", *[x for i, m in enumerate(stable) for x in (i, m)])
    cursor, seen, step = b"0", set(), 0
    while True:
        cursor, items = client.call("ZSCAN", "z", cursor, "COUNT", 5)
        seen.update(items[::2])
        step += 1
        client.call("ZADD", "z", step, b"new%d" % step)
        client.call("ZREM", "z", b"new%d" % (step - 3))
        if cursor == b"0":
            break
    assert set(stable) <= seen


@pytest.mark.parametrize("args,error", [
    (["x"], "ERR invalid cursor"), ([0, "COUNT", 0], "ERR syntax error"),
    ([0, "COUNT", "x"], "ERR value is not an integer or out of range"),
    ([0, "BOGUS"], "ERR syntax error"), ([0, "MATCH"], "ERR syntax error"),
])
def test_zscan_errors(client, args, error):
    seed(client)
    assert client.call("ZSCAN", "z", *args) == ErrorReply(error)


def test_zscan_missing_key_ignores_options(client):
    assert client.call("ZSCAN", "nokey", 0, "BOGUS") == [b"0", []]
    assert client.call("ZSCAN", "nokey", "x") == ErrorReply("ERR invalid cursor")


# -- encodings -----------------------------------------------------------------------------------


@pytest.fixture
def config_restored(client):
    yield client
    client.call("CONFIG", "SET", "zset-max-listpack-entries", 128, "zset-max-listpack-value", 64)


@pytest.mark.internals("encodings and their thresholds")
def test_encoding_thresholds(config_restored):
    client = config_restored
    client.call("ZADD", "z", *[x for i in range(128) for x in (i, b"m%d" % i)])
    assert client.call("OBJECT", "ENCODING", "z") == b"listpack"
    client.call("ZADD", "z", 200, "one-more")
    assert client.call("OBJECT", "ENCODING", "z") == b"skiplist"
    client.call("ZREMRANGEBYRANK", "z", 0, -3)
    assert client.call("OBJECT", "ENCODING", "z") == b"skiplist"     # never converted back
    client.call("ZADD", "long", 1, b"x" * 64)
    assert client.call("OBJECT", "ENCODING", "long") == b"listpack"
    client.call("ZADD", "long", 1, b"x" * 65)
    assert client.call("OBJECT", "ENCODING", "long") == b"skiplist"
    client.call("ZINCRBY", "long2", 1, b"x" * 65)
    assert client.call("OBJECT", "ENCODING", "long2") == b"skiplist"


@pytest.mark.internals("encodings and their thresholds")
def test_encoding_config_and_stores(config_restored):
    client = config_restored
    client.call("CONFIG", "SET", "zset-max-listpack-entries", 2)
    client.call("ZADD", "z", 1, "a", 2, "b", 3, "c")
    assert client.call("OBJECT", "ENCODING", "z") == b"skiplist"
    client.call("ZREM", "z", "a")
    assert client.call("ZUNIONSTORE", "u", 1, "z") == 2
    assert client.call("OBJECT", "ENCODING", "u") == b"listpack"     # rebuilt small
    assert client.call("ZRANGESTORE", "r", "z", 0, 0) == 1
    assert client.call("OBJECT", "ENCODING", "r") == b"listpack"
    client.call("ZADD", "z", 9, "d")
    assert client.call("ZRANGESTORE", "r", "z", 0, -1) == 3
    assert client.call("OBJECT", "ENCODING", "r") == b"skiplist"
    client.call("CONFIG", "SET", "zset-max-listpack-entries", 0)
    client.call("ZADD", "zero", 1, "a")
    assert client.call("OBJECT", "ENCODING", "zero") == b"skiplist"


@pytest.mark.internals("encodings and their thresholds")
def test_negative_zero_by_encoding(config_restored):
    client = config_restored
    client.call("ZADD", "lp", "-0", "a")
    assert client.call("ZSCORE", "lp", "a") == b"0"                  # a listpack stores 0
    client.call("CONFIG", "SET", "zset-max-listpack-entries", 0)
    client.call("ZADD", "sl", "-0", "a")
    assert client.call("ZSCORE", "sl", "a") == b"-0"
    assert client.call("ZSCAN", "sl", 0) == [b"0", [b"a", b"-0"]]


def test_copy_and_type(client):
    seed(client)
    assert client.call("COPY", "z", "c") == 1
    client.call("ZADD", "z", 9, "a")
    assert contents(client, "c") == [b"a", b"1", b"b", b"2", b"c", b"3"]
    assert client.call("TYPE", "c") == "zset"


# -- blocking: BZPOPMIN, BZPOPMAX, BZMPOP --------------------------------------------------------
# A client that must still be waiting when served waits 60 s: more than any loaded machine takes.


def test_bzpop_serves_at_once(client):
    seed(client)
    assert client.call_raw("BZPOPMIN", "nokey", "z", 0) == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n$1\r\n1\r\n"
    assert client.call("BZPOPMAX", "z", 0) == [b"z", b"c", b"3"]
    assert client.call("BZMPOP", 0, 2, "nokey", "z", "MIN", "COUNT", 5) == [b"z", [[b"b", b"2"]]]
    assert client.call("EXISTS", "z") == 0


def test_bzpop_resp3_shapes(resp3_client):
    seed(resp3_client)
    assert resp3_client.call_raw("BZPOPMIN", "z", 0) == b"*3\r\n$1\r\nz\r\n$1\r\na\r\n,1\r\n"
    assert resp3_client.call_raw("BZMPOP", 0, 1, "z", "MAX") == b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nc\r\n,3\r\n"


def test_bzpop_timeouts(client, resp3_client):
    started = time.monotonic()
    assert client.call_raw("BZPOPMIN", "nokey", "0.1") == b"*-1\r\n"
    assert client.call_raw("BZPOPMAX", "nokey", "0.05") == b"*-1\r\n"
    assert client.call_raw("BZMPOP", "0.05", 1, "nokey", "MIN") == b"*-1\r\n"
    assert resp3_client.call_raw("BZPOPMIN", "nokey", "0.05") == b"_\r\n"
    assert resp3_client.call_raw("BZMPOP", "0.05", 1, "nokey", "MAX") == b"_\r\n"
    assert time.monotonic() - started >= 0.25


@pytest.mark.parametrize("command,error", [
    (["BZPOPMIN", "z", "x"], "ERR timeout is not a float or out of range"),
    (["BZPOPMAX", "z", "-1"], "ERR timeout is negative"),
    (["BZPOPMIN", "z", "inf"], "ERR timeout is negative"),
    (["BZPOPMIN", "z", "1e300"], "ERR timeout is negative"),
    (["BZMPOP", "x", 1, "z", "MIN"], "ERR timeout is not a float or out of range"),
    (["BZMPOP", "-0.5", 1, "z", "MIN"], "ERR timeout is negative"),
    (["BZMPOP", "x", 0, "z", "MIN"], "ERR numkeys should be greater than 0"),  # numkeys first
])
def test_bzpop_timeout_errors(client, command, error):
    seed(client)
    assert client.call(*command) == ErrorReply(error)
    assert client.call("ZCARD", "z") == 3


def test_bzpopmin_wakes_on_zadd(client_factory):
    waiter, writer = client_factory(), client_factory()
    writer.call("FLUSHALL")
    waiter.send_command("BZPOPMIN", "k1", "k2", 60)
    wait_until_blocked(writer, 1)
    assert writer.call("ZADD", "k2", 5, "x", 1, "y") == 2
    assert waiter.read_reply() == [b"k2", b"y", b"1"]
    assert writer.call("ZRANGE", "k2", 0, -1) == [b"x"]


def test_bzmpop_wakes_and_pops_count(client_factory):
    waiter, writer = client_factory(), client_factory()
    writer.call("FLUSHALL")
    waiter.send_command("BZMPOP", 60, 2, "k1", "k2", "MAX", "COUNT", 2)
    wait_until_blocked(writer, 1)
    writer.call("ZADD", "k1", 1, "a", 2, "b", 3, "c")
    assert waiter.read_reply() == [b"k1", [[b"c", b"3"], [b"b", b"2"]]]
    assert writer.call("ZRANGE", "k1", 0, -1) == [b"a"]


def test_blocked_clients_served_first_come_first_served(client_factory):
    first, second, writer = client_factory(), client_factory(), client_factory()
    writer.call("FLUSHALL")
    first.send_command("BZPOPMAX", "k", 60)
    wait_until_blocked(writer, 1)
    second.send_command("BZPOPMIN", "k", 60)
    wait_until_blocked(writer, 2)
    writer.call("ZADD", "k", 1, "a")
    assert first.read_reply() == [b"k", b"a", b"1"]
    assert second.received_nothing()
    writer.call("ZADD", "k", 2, "b", 3, "c")
    assert second.read_reply() == [b"k", b"b", b"2"]
    assert writer.call("ZRANGE", "k", 0, -1) == [b"c"]


def test_blocked_client_times_out_then_lives(client_factory):
    waiter, writer = client_factory(), client_factory()
    writer.call("FLUSHALL")
    waiter.send_command("BZPOPMIN", "k", "0.2")
    assert waiter.read_reply() is None
    assert waiter.call("PING") == "PONG"
    writer.call("ZADD", "k", 1, "a")
    assert writer.call("ZCARD", "k") == 1


def test_blocking_inside_multi_does_not_wait(client):
    client.call("MULTI")
    client.call("BZPOPMIN", "nokey", 0)
    client.call("BZMPOP", 0, 1, "nokey", "MIN")
    client.call("ZADD", "k", 1, "a")
    client.call("BZPOPMAX", "k", 0)
    assert client.call("EXEC") == [None, None, 1, [b"k", b"a", b"1"]]


def test_wrong_type_written_while_blocked(client_factory):
    waiter, writer = client_factory(), client_factory()
    writer.call("FLUSHALL")
    waiter.send_command("BZPOPMIN", "k", 60)
    wait_until_blocked(writer, 1)
    writer.call("ZADD", "k", 1, "a")
    assert waiter.read_reply() == [b"k", b"a", b"1"]
    assert writer.call("EXISTS", "k") == 0


# -- a model check: the order and ranks agree with a plain Python model --------------------------


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=20)
@given(st.lists(st.tuples(st.sampled_from([b"a", b"b", b"c", b"d", b"e", b"f"]),
                          st.sampled_from(["0", "1", "-1", "2.5", "inf", "-inf", "1e17"])),
                min_size=1, max_size=12))
def test_order_matches_a_model(client, pairs):
    client.call("DEL", "m")
    model = {}
    for member, score in pairs:
        client.call("ZADD", "m", score, member)
        model[member] = float(score)
    expected = [m for m, s in sorted(model.items(), key=lambda ms: (ms[1], ms[0]))]
    assert client.call("ZRANGE", "m", 0, -1) == expected
    assert client.call("ZREVRANGE", "m", 0, -1) == expected[::-1]
    for rank, member in enumerate(expected):
        assert client.call("ZRANK", "m", member) == rank
    assert client.call("ZCOUNT", "m", "-inf", "+inf") == len(expected)


def test_zrange_options_that_may_not_repeat(client):
    client.call("ZADD", "k", 1, "a", 2, "b")
    for words in (("REV", "REV"), ("BYSCORE", "BYSCORE"), ("BYSCORE", "BYLEX")):
        assert client.call("ZRANGE", "k", 0, 1, *words) == ErrorReply("ERR syntax error")
        assert client.call("ZRANGESTORE", "d", "k", 0, 1, *words) == ErrorReply("ERR syntax error")
    # WITHSCORES and LIMIT may repeat (the last LIMIT wins)
    assert client.call("ZRANGE", "k", 0, 1, "WITHSCORES", "WITHSCORES") == [b"a", b"1", b"b", b"2"]
    assert client.call("ZRANGE", "k", "-inf", "+inf", "BYSCORE", "LIMIT", 0, 1, "LIMIT", 1, 1) == [b"b"]


def test_zrange_by_rank_accepts_limit_with_the_default_count(client):
    # found by the keyspace model: Redis refuses LIMIT with ranks only when the count is not -1
    client.call("ZADD", "za", 1, "x", 2, "y")
    assert client.call("ZRANGE", "za", 0, -1, "LIMIT", 0, -1) == [b"x", b"y"]
    assert client.call("ZRANGE", "za", 0, -1, "LIMIT", 5, -1) == [b"x", b"y"]  # the offset is ignored
    assert client.call("ZREVRANGE", "za", 0, -1, "LIMIT", 0, -1) == [b"y", b"x"]
    assert client.call("ZRANGE", "za", 0, -1, "LIMIT", 0, 1) == ErrorReply(
        "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    client.call("SET", "a", "v")
    assert client.call("ZRANGE", "a", -8, -8, "LIMIT", 0, -1) == ErrorReply(
        "WRONGTYPE Operation against a key holding the wrong kind of value")


# A small (listpack) sorted set with mixed scores: its members are not in byte order, and Redis
# walks it from one end to the first member inside the bounds, then on while members stay
# inside. (Results observed on redis-server 7.0.15.)
@pytest.mark.parametrize("command, expected", [
    (("ZRANGEBYLEX", "z", "-", "(m"), []),
    (("ZRANGEBYLEX", "z", "[b", "+"), [b"m", b"a", b"x", b"c", b"b"]),
    (("ZREVRANGEBYLEX", "z", "+", "[b"), [b"b", b"c", b"x"]),
    (("ZLEXCOUNT", "z", "[a", "[x"), 5),
    (("ZRANGE", "z", "[x", "[a", "BYLEX", "REV"), [b"b", b"c", b"x", b"a", b"m"]),
    (("ZREMRANGEBYLEX", "z", "[c", "[z"), 0),
], ids=lambda value: " ".join(value) if isinstance(value, tuple) else None)
def test_lex_ranges_of_a_small_set_with_mixed_scores(client, command, expected):
    client.call("ZADD", "z", "-1", "m", "0", "x", "0", "a", "1", "c", "2", "b")
    assert client.call(*command) == expected
