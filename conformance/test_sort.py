"""SORT and SORT_RO (spec/generic.md): judged on exact replies."""
from __future__ import annotations

import pytest

from conformance.client import ErrorReply

SYNTAX = ErrorReply("ERR syntax error")
WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
NOT_A_DOUBLE = ErrorReply("ERR One or more scores can't be converted into double")


@pytest.fixture
def data(client):
    client.call("RPUSH", "nums", 3, 1, 10, 2, "2.5")
    client.call("RPUSH", "words", "pear", "apple", "fig")
    client.call("SADD", "set", 5, 3, 9)
    client.call("ZADD", "zset", 3, "c", 1, "a", 2, "b")
    client.call("MSET", "w_3", 30, "w_1", 10, "w_10", 5, "w_2", 20, "w_2.5", 0)
    client.call("HSET", "h_pear", "rank", 1, "name", "P")
    client.call("HSET", "h_apple", "rank", 3, "name", "A")
    client.call("HSET", "h_fig", "rank", 2)
    return client


def test_numeric_sort_and_desc(data):
    assert data.call("SORT", "nums") == [b"1", b"2", b"2.5", b"3", b"10"]
    assert data.call("SORT", "nums", "DESC") == [b"10", b"3", b"2.5", b"2", b"1"]
    assert data.call("SORT", "nums", "ASC", "DESC") == [b"10", b"3", b"2.5", b"2", b"1"]  # last wins
    assert data.call("SORT", "nums", "desc", "asc") == [b"1", b"2", b"2.5", b"3", b"10"]


def test_alpha(data):
    assert data.call("SORT", "words", "ALPHA") == [b"apple", b"fig", b"pear"]
    assert data.call("SORT", "nums", "ALPHA") == [b"1", b"10", b"2", b"2.5", b"3"]
    assert data.call("SORT", "words") == NOT_A_DOUBLE


def test_limit(data):
    assert data.call("SORT", "nums", "LIMIT", 1, 2) == [b"2", b"2.5"]
    assert data.call("SORT", "nums", "LIMIT", -5, 2) == [b"1", b"2"]
    assert data.call("SORT", "nums", "LIMIT", 3, -1) == [b"3", b"10"]
    assert data.call("SORT", "nums", "LIMIT", 10, 2) == []
    assert data.call("SORT", "nums", "LIMIT", 0, 0) == []
    assert data.call("SORT", "nums", "LIMIT", "x", 1) == ErrorReply("ERR value is not an integer or out of range")
    assert data.call("SORT", "nums", "LIMIT", 1) == SYNTAX


def test_by_pattern_and_hash_field(data):
    assert data.call("SORT", "nums", "BY", "w_*") == [b"2.5", b"10", b"1", b"2", b"3"]
    assert data.call("SORT", "words", "BY", "h_*->rank") == [b"pear", b"fig", b"apple"]
    assert data.call("SORT", "words", "BY", "h_*->name", "ALPHA") == [b"fig", b"apple", b"pear"]
    # a missing BY key weighs 0; ties order by the element
    assert data.call("SORT", "nums", "BY", "missing_*") == [b"1", b"10", b"2", b"2.5", b"3"]


def test_by_without_star_keeps_the_order(data):
    assert data.call("SORT", "nums", "BY", "nosort") == [b"3", b"1", b"10", b"2", b"2.5"]
    assert data.call("SORT", "nums", "BY", "nosort", "DESC") == [b"2.5", b"2", b"10", b"1", b"3"]
    assert data.call("SORT", "nums", "BY", "nosort", "LIMIT", 1, 2) == [b"1", b"10"]
    assert data.call("SORT", "zset", "BY", "nosort") == [b"a", b"b", b"c"]
    assert data.call("SORT", "zset", "BY", "nosort", "DESC", "LIMIT", 0, 2) == [b"c", b"b"]


def test_get_patterns(data):
    assert data.call("SORT", "nums", "GET", "#", "GET", "w_*", "LIMIT", 0, 2) == [b"1", b"10", b"2", b"20"]
    assert data.call("SORT", "words", "ALPHA", "GET", "h_*->rank", "GET", "h_*->name") == \
        [b"3", b"A", b"2", None, b"1", b"P"]
    assert data.call("SORT", "words", "ALPHA", "GET", "fixed") == [None, None, None]
    assert data.call("SORT", "zset", "ALPHA", "GET", "h_*") == [None, None, None]  # not a string


def test_store(data):
    assert data.call("SORT", "nums", "STORE", "out") == 5
    assert data.call("LRANGE", "out", 0, -1) == [b"1", b"2", b"2.5", b"3", b"10"]
    assert data.call("SORT", "words", "ALPHA", "GET", "h_*->name", "STORE", "out") == 3
    assert data.call("LRANGE", "out", 0, -1) == [b"A", b"", b"P"]
    data.call("SET", "str", "x")
    assert data.call("SORT", "missing", "STORE", "str") == 0
    assert data.call("EXISTS", "str") == 0  # an empty result deletes the destination
    assert data.call("SORT", "set", "BY", "nosort", "STORE", "out") == 3
    assert data.call("LRANGE", "out", 0, -1) == [b"3", b"5", b"9"]  # stored sets are sorted


def test_set_and_missing_key(data):
    assert data.call("SORT", "set") == [b"3", b"5", b"9"]
    assert data.call("SORT", "missing") == []


def test_errors(data):
    data.call("SET", "str", "x")
    assert data.call("SORT", "str") == WRONGTYPE
    assert data.call("SORT", "nums", "BOGUS") == SYNTAX
    assert data.call("SORT", "nums", "GET") == SYNTAX
    assert data.call("SORT", "str", "BOGUS") == SYNTAX  # options are read before the key
    assert data.call("LPUSH", "bad", "x", "1") == 2
    assert data.call("SORT", "bad") == NOT_A_DOUBLE
    assert data.call("SORT", "nums", "STORE", "dest", "LIMIT", 0, 1) == 1
    assert data.call("PING") == "PONG"


def test_sort_ro(data):
    assert data.call("SORT_RO", "nums", "DESC", "LIMIT", 0, 2) == [b"10", b"3"]
    assert data.call("SORT_RO", "nums", "STORE", "x") == SYNTAX
    assert data.call("EXISTS", "x") == 0


def test_getkeys(client):
    assert client.call("COMMAND", "GETKEYS", "SORT", "k", "STORE", "a", "STORE", "b") == [b"k", b"b"]
    assert client.call("COMMAND", "GETKEYS", "SORT", "k", "LIMIT", 0, 1, "GET", "x") == [b"k"]
    assert client.call("COMMAND", "GETKEYS", "SORT_RO", "k", "BY", "x") == [b"k"]
