"""Conformance: the hashes family (spec/hashes.md).

Sections: each command in turn, then the encoding rules (OBJECT ENCODING), WRONGTYPE for every
command, and HSCAN's promise under concurrent changes. HRANDFIELD is random: its tests check
properties (membership, distinctness, how many) rather than the picks.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.client import ErrorReply
from conformance.readings import config_value

INTEGER_ERROR = ErrorReply("ERR value is not an integer or out of range")
FLOAT_ERROR = ErrorReply("ERR value is not a valid float")
SYNTAX_ERROR = ErrorReply("ERR syntax error")
WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
LLONG_MAX, LLONG_MIN = 2**63 - 1, -(2**63)
HASH_CONFIG = ("hash-max-listpack-entries", "hash-max-listpack-value")


@pytest.fixture
def hash_config(client):
    """Lets a test change the encoding thresholds; they are put back afterwards."""
    saved = {name: config_value(client, name) for name in HASH_CONFIG}
    yield lambda **values: client.call(
        "CONFIG", "SET", *[x for name, v in values.items() for x in (name.replace("_", "-"), v)])
    client.call("CONFIG", "SET", *[x for item in saved.items() for x in item])


def flat(pairs) -> list[bytes]:
    return [b if isinstance(b, bytes) else str(b).encode() for pair in pairs for b in pair]


def fill(client, key, n, prefix="f"):
    """key gets fields f0..f{n-1} with values v0..; returns that dict."""
    data = {f"{prefix}{i}".encode(): f"v{i}".encode() for i in range(n)}
    client.call("HSET", key, *flat(data.items()))
    return data


def as_dict(flat_list) -> dict:
    return dict(zip(flat_list[::2], flat_list[1::2]))


def assert_hash(client, key, expected: dict):
    assert as_dict(client.call("HGETALL", key)) == expected


def assert_survives(client):
    assert client.call("PING") == "PONG"


# -- HSET HMSET HSETNX --------------------------------------------------------------------


def test_hset_counts_new_fields(client):
    assert client.call_raw("HSET", "h", "a", "1", "b", "2") == b":2\r\n"
    assert client.call("HSET", "h", "a", "10", "c", "3") == 1     # a updated, c new
    assert client.call("HSET", "h", "a", "11") == 0
    assert_hash(client, "h", {b"a": b"11", b"b": b"2", b"c": b"3"})
    assert client.call("TYPE", "h") == "hash"


def test_hset_same_field_twice_keeps_the_last(client):
    assert client.call("HSET", "h", "f", "1", "f", "2") == 1
    assert client.call("HGET", "h", "f") == b"2"


def test_hset_binary_and_empty(client):
    assert client.call("HSET", "h", b"", b"", b"\x00\r\n", b"\xff\x00") == 2
    assert client.call("HGET", "h", b"") == b""
    assert client.call("HGET", "h", b"\x00\r\n") == b"\xff\x00"
    assert client.call("HSTRLEN", "h", b"") == 0


@pytest.mark.parametrize("command", ["HSET", "HMSET"])
def test_hset_field_without_value(client, command):
    client.call("HSET", "h", "a", "1")
    error = ErrorReply(f"ERR wrong number of arguments for '{command.lower()}' command")
    assert client.call(command, "h", "a", "2", "b") == error
    assert client.call(command, "h", "a", "2", "b", "3", "c") == error
    assert_hash(client, "h", {b"a": b"1"})
    client.call("SET", "s", "x")
    assert client.call(command, "s", "a", "2", "b") == error   # before the type check
    assert client.call(command, "missing", "a", "2", "b") == error
    assert client.call("EXISTS", "missing") == 0


def test_hmset_replies_ok(client):
    assert client.call_raw("HMSET", "h", "a", "1", "b", "2") == b"+OK\r\n"
    assert client.call("HMSET", "h", "a", "3") == "OK"
    assert_hash(client, "h", {b"a": b"3", b"b": b"2"})


def test_hsetnx(client):
    assert client.call_raw("HSETNX", "h", "a", "1") == b":1\r\n"
    assert client.call("HSETNX", "h", "a", "2") == 0
    assert client.call("HSETNX", "h", "b", "3") == 1
    assert_hash(client, "h", {b"a": b"1", b"b": b"3"})


def test_writes_keep_the_ttl(client):
    client.call("HSET", "h", "a", "1")
    client.call("EXPIRE", "h", 100)
    client.call("HSET", "h", "b", "2")
    client.call("HSETNX", "h", "c", "3")
    client.call("HINCRBY", "h", "n", 1)
    client.call("HINCRBYFLOAT", "h", "x", "1.5")
    client.call("HDEL", "h", "a")
    assert 90 <= client.call("TTL", "h") <= 100


# -- HGET HMGET HLEN HSTRLEN HEXISTS ------------------------------------------------------


def test_hget(client):
    client.call("HSET", "h", "a", "hello")
    assert client.call_raw("HGET", "h", "a") == b"$5\r\nhello\r\n"
    assert client.call_raw("HGET", "h", "zz") == b"$-1\r\n"
    assert client.call_raw("HGET", "missing", "a") == b"$-1\r\n"


def test_hget_nil_in_resp3(resp3_client):
    resp3_client.call("HSET", "h", "a", "1")
    assert resp3_client.call_raw("HGET", "h", "zz") == b"_\r\n"
    assert resp3_client.call_raw("HGET", "missing", "a") == b"_\r\n"


def test_hmget(client):
    client.call("HSET", "h", "a", "1", "b", "2")
    assert client.call_raw("HMGET", "h", "a", "zz", "b", "a") == (
        b"*4\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n$1\r\n1\r\n")
    assert client.call("HMGET", "missing", "a", "b") == [None, None]


def test_hmget_resp3(resp3_client):
    resp3_client.call("HSET", "h", "a", "1")
    assert resp3_client.call_raw("HMGET", "h", "zz", "a") == b"*2\r\n_\r\n$1\r\n1\r\n"


def test_hlen_hstrlen_hexists(client):
    client.call("HSET", "h", "a", "hello", "b", "", "n", "-123")
    assert client.call_raw("HLEN", "h") == b":3\r\n"
    assert client.call("HLEN", "missing") == 0
    assert client.call("HSTRLEN", "h", "a") == 5
    assert client.call("HSTRLEN", "h", "b") == 0
    assert client.call("HSTRLEN", "h", "n") == 4
    assert client.call("HSTRLEN", "h", "zz") == 0
    assert client.call("HSTRLEN", "missing", "a") == 0
    assert client.call_raw("HEXISTS", "h", "b") == b":1\r\n"
    assert client.call("HEXISTS", "h", "zz") == 0
    assert client.call("HEXISTS", "missing", "a") == 0


# -- HDEL ---------------------------------------------------------------------------------


def test_hdel(client):
    client.call("HSET", "h", "a", "1", "b", "2", "c", "3")
    assert client.call_raw("HDEL", "h", "a", "zz", "a") == b":1\r\n"
    assert_hash(client, "h", {b"b": b"2", b"c": b"3"})
    assert client.call("HDEL", "h", "zz") == 0
    assert client.call("HDEL", "missing", "a") == 0
    assert client.call("EXISTS", "missing") == 0


def test_hdel_of_the_last_field_deletes_the_key(client):
    client.call("HSET", "h", "a", "1", "b", "2")
    client.call("EXPIRE", "h", 100)
    assert client.call("HDEL", "h", "a", "b", "zz") == 2
    assert client.call("EXISTS", "h") == 0
    assert client.call("HSET", "h", "c", "3") == 1
    assert client.call("TTL", "h") == -1      # a new key: the old TTL went with the old key


# -- HKEYS HVALS HGETALL ------------------------------------------------------------------


def test_listpack_order_is_insertion_order(client):
    client.call("HSET", "h", "x", "1", "a", "2", "m", "3")
    client.call("HSET", "h", "x", "10")          # an update keeps its place
    client.call("HDEL", "h", "a")
    client.call("HSET", "h", "a", "4")           # deleted and re-added: last
    assert client.call("HKEYS", "h") == [b"x", b"m", b"a"]
    assert client.call("HVALS", "h") == [b"10", b"3", b"4"]
    assert client.call("HGETALL", "h") == [b"x", b"10", b"m", b"3", b"a", b"4"]


def test_hgetall_forms(client, resp3_client):
    client.call("HSET", "h", "a", "1", "b", "22")
    assert client.call_raw("HGETALL", "h") == b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n22\r\n"
    assert resp3_client.call_raw("HGETALL", "h") == (
        b"%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$2\r\n22\r\n")
    assert resp3_client.call("HGETALL", "h") == {b"a": b"1", b"b": b"22"}
    assert client.call_raw("HKEYS", "h") == b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    assert resp3_client.call_raw("HVALS", "h") == b"*2\r\n$1\r\n1\r\n$2\r\n22\r\n"


def test_empty_replies_of_a_missing_key(client, resp3_client):
    assert client.call_raw("HGETALL", "missing") == b"*0\r\n"
    assert resp3_client.call_raw("HGETALL", "missing") == b"%0\r\n"
    for c in (client, resp3_client):
        assert c.call_raw("HKEYS", "missing") == b"*0\r\n"
        assert c.call_raw("HVALS", "missing") == b"*0\r\n"


def test_hashtable_contents(client):
    # above the default 512 fields: a hashtable in Redis (test_encoding_by_default_thresholds)
    data = fill(client, "h", 600)
    assert sorted(client.call("HKEYS", "h")) == sorted(data)
    assert sorted(client.call("HVALS", "h")) == sorted(data.values())
    assert_hash(client, "h", data)


# -- HINCRBY ------------------------------------------------------------------------------


def test_hincrby(client):
    assert client.call_raw("HINCRBY", "h", "n", 5) == b":5\r\n"       # creates the key
    assert client.call("HINCRBY", "h", "n", -7) == -2
    assert client.call("HGET", "h", "n") == b"-2"
    client.call("HSET", "h", "m", "10")
    assert client.call("HINCRBY", "h", "m", 0) == 10
    assert client.call("HINCRBY", "h", "big", LLONG_MAX) == LLONG_MAX
    assert client.call("HINCRBY", "h", "small", LLONG_MIN) == LLONG_MIN


def test_hincrby_overflow(client):
    client.call("HSET", "h", "max", LLONG_MAX, "min", LLONG_MIN)
    overflow = ErrorReply("ERR increment or decrement would overflow")
    assert client.call("HINCRBY", "h", "max", 1) == overflow
    assert client.call("HINCRBY", "h", "min", -1) == overflow
    assert client.call("HINCRBY", "h", "max", LLONG_MIN) == -1
    assert_hash(client, "h", {b"max": b"-1", b"min": str(LLONG_MIN).encode()})


@pytest.mark.parametrize("stored", [b"abc", b"1.5", b"-0", b"+1", b" 1", b"1 ", b"01", b"",
                                    b"9223372036854775808"])
def test_hincrby_stored_value_not_an_integer(client, stored):
    client.call("HSET", "h", "f", stored)
    assert client.call("HINCRBY", "h", "f", 1) == ErrorReply("ERR hash value is not an integer")
    assert client.call("HGET", "h", "f") == stored


def test_hincrby_checks_the_increment_first(client):
    assert client.call("HINCRBY", "missing", "f", "abc") == INTEGER_ERROR
    assert client.call("HINCRBY", "missing", "f", "9223372036854775808") == INTEGER_ERROR
    assert client.call("EXISTS", "missing") == 0
    client.call("SET", "s", "x")
    assert client.call("HINCRBY", "s", "f", "1.5") == INTEGER_ERROR
    assert client.call("HINCRBY", "s", "f", "1") == WRONGTYPE


# -- HINCRBYFLOAT -------------------------------------------------------------------------


def test_hincrbyfloat_long_double_arithmetic(client):
    assert client.call_raw("HINCRBYFLOAT", "h", "f", "10.5") == b"$4\r\n10.5\r\n"
    assert client.call("HINCRBYFLOAT", "h", "f", "0.1") == b"10.6"
    assert client.call("HINCRBYFLOAT", "h", "f", "-5.6") == b"5"
    assert client.call("HGET", "h", "f") == b"5"
    assert client.call("HINCRBYFLOAT", "h", "g", "5.0e3") == b"5000"
    assert client.call("HINCRBYFLOAT", "h", "g", "0x10") == b"5016"
    assert client.call("HINCRBYFLOAT", "h", "e", "1e30") == b"1000000000000000000024696061952"
    assert client.call("HINCRBYFLOAT", "h", "t", "1e-18") == b"0"
    client.call("HSET", "h", "i", "-0", "j", " 3")
    assert client.call("HINCRBYFLOAT", "h", "i", "1") == b"1"


def test_hincrbyfloat_errors(client):
    client.call("HSET", "h", "word", "abc", "big", "1e4932", "inf", "inf", "space", " 1")
    before = as_dict(client.call("HGETALL", "h"))
    assert client.call("HINCRBYFLOAT", "h", "word", "abc") == FLOAT_ERROR          # increment first
    assert client.call("HINCRBYFLOAT", "h", "word", "nan") == FLOAT_ERROR
    for infinite in ("inf", "-Infinity", "+INF"):
        assert client.call("HINCRBYFLOAT", "h", "word", infinite) == ErrorReply("ERR value is NaN or Infinity")
    not_a_float = ErrorReply("ERR hash value is not a float")
    assert client.call("HINCRBYFLOAT", "h", "word", "1") == not_a_float
    assert client.call("HINCRBYFLOAT", "h", "space", "1") == not_a_float
    would = ErrorReply("ERR increment would produce NaN or Infinity")
    assert client.call("HINCRBYFLOAT", "h", "inf", "1") == would
    assert client.call("HINCRBYFLOAT", "h", "big", "1e4932") == would
    assert client.call("HGETALL", "h") == flat(before.items())
    assert client.call("HINCRBYFLOAT", "missing", "f", "inf") == ErrorReply("ERR value is NaN or Infinity")
    assert client.call("EXISTS", "missing") == 0
    client.call("SET", "s", "x")
    assert client.call("HINCRBYFLOAT", "s", "f", "x") == FLOAT_ERROR
    assert client.call("HINCRBYFLOAT", "s", "f", "1") == WRONGTYPE


# -- HRANDFIELD ---------------------------------------------------------------------------


def test_hrandfield_without_count(client, resp3_client):
    assert client.call_raw("HRANDFIELD", "missing") == b"$-1\r\n"
    assert resp3_client.call_raw("HRANDFIELD", "missing") == b"_\r\n"
    client.call("HSET", "h", "only", "1")
    assert client.call_raw("HRANDFIELD", "h") == b"$4\r\nonly\r\n"
    data = fill(client, "h2", 5)
    assert {client.call("HRANDFIELD", "h2") for _ in range(20)} <= set(data)


@pytest.mark.parametrize("size", [5, 300], ids=["listpack", "hashtable"])
def test_hrandfield_positive_count_is_distinct(client, size):
    data = fill(client, "h", size)
    for count in (1, 2, size // 3, size // 2, size - 1):
        picked = client.call("HRANDFIELD", "h", count)
        assert len(picked) == count and len(set(picked)) == count
        assert set(picked) <= set(data)
    for count in (size, size + 1, 10**9):
        picked = client.call("HRANDFIELD", "h", count)
        assert sorted(picked) == sorted(data)


@pytest.mark.parametrize("size", [1, 5, 300], ids=["one", "listpack", "hashtable"])
def test_hrandfield_negative_count_may_repeat(client, size):
    data = fill(client, "h", size)
    for count in (1, 3, 2 * size):
        picked = client.call("HRANDFIELD", "h", -count)
        assert len(picked) == count and set(picked) <= set(data)
    if size == 1:
        assert client.call("HRANDFIELD", "h", -3) == [b"f0"] * 3


def test_hrandfield_count_zero_and_missing_key(client, resp3_client):
    client.call("HSET", "h", "a", "1")
    for c in (client, resp3_client):
        assert c.call_raw("HRANDFIELD", "h", 0) == b"*0\r\n"
        assert c.call_raw("HRANDFIELD", "h", 0, "WITHVALUES") == b"*0\r\n"
        assert c.call_raw("HRANDFIELD", "missing", 5) == b"*0\r\n"
        assert c.call_raw("HRANDFIELD", "missing", -5, "withvalues") == b"*0\r\n"


def test_hrandfield_withvalues_forms(client, resp3_client):
    data = fill(client, "h", 6)
    assert client.call_raw("HRANDFIELD", "h", -1, "WITHVALUES") in {
        f"*2\r\n$2\r\n{f.decode()}\r\n$2\r\n{v.decode()}\r\n".encode() for f, v in data.items()}
    for count in (3, 10, -10):
        reply = client.call("HRANDFIELD", "h", count, "WITHVALUES")     # RESP2: flat
        assert len(reply) == 2 * (min(count, 6) if count > 0 else -count)
        for field, value in zip(reply[::2], reply[1::2]):
            assert data[field] == value
        reply = resp3_client.call("HRANDFIELD", "h", count, "withvalues")   # RESP3: pairs
        assert len(reply) == (min(count, 6) if count > 0 else -count)
        for pair in reply:
            assert isinstance(pair, list) and len(pair) == 2 and data[pair[0]] == pair[1]
        if count > 0:
            assert len({pair[0] for pair in reply}) == len(reply)
    assert resp3_client.call_raw("HRANDFIELD", "h", -1, "WITHVALUES") in {
        f"*1\r\n*2\r\n$2\r\n{f.decode()}\r\n$2\r\n{v.decode()}\r\n".encode() for f, v in data.items()}


def test_hrandfield_without_values_in_resp3_is_flat(resp3_client):
    fill(resp3_client, "h", 3)
    assert sorted(resp3_client.call("HRANDFIELD", "h", 3)) == [b"f0", b"f1", b"f2"]


def test_hrandfield_errors(client):
    client.call("HSET", "h", "a", "1")
    client.call("SET", "s", "x")
    range_error = ErrorReply("ERR value is out of range, value must between "
                             "-9223372036854775807 and 9223372036854775807")
    assert client.call("HRANDFIELD", "h", "abc") == INTEGER_ERROR
    assert client.call("HRANDFIELD", "h", "abc", "foo") == INTEGER_ERROR    # count before syntax
    assert client.call("HRANDFIELD", "h", "9223372036854775808") == INTEGER_ERROR
    assert client.call("HRANDFIELD", "h", "-9223372036854775808") == range_error
    assert client.call("HRANDFIELD", "h", "-9223372036854775808", "foo") == range_error
    assert client.call("HRANDFIELD", "h", 1, "foo") == SYNTAX_ERROR
    assert client.call("HRANDFIELD", "h", 1, "WITHVALUES", "x") == SYNTAX_ERROR
    assert client.call("HRANDFIELD", "missing", 1, "foo") == SYNTAX_ERROR
    out_of_range = ErrorReply("ERR value is out of range")
    for count in ("4611686018427387904", "-4611686018427387904", "9223372036854775807"):
        assert client.call("HRANDFIELD", "h", count, "WITHVALUES") == out_of_range
        assert client.call("HRANDFIELD", "missing", count, "WITHVALUES") == out_of_range
    assert client.call("HRANDFIELD", "s", 1, "foo") == SYNTAX_ERROR
    assert client.call("HRANDFIELD", "s", "abc") == INTEGER_ERROR
    assert client.call("HRANDFIELD", "s", 0) == WRONGTYPE
    assert client.call("HRANDFIELD", "s") == WRONGTYPE
    assert_hash(client, "h", {b"a": b"1"})


# -- HSCAN --------------------------------------------------------------------------------


def full_scan(client, key, *options) -> dict:
    """Every field/value an HSCAN from cursor 0 to the end returns."""
    seen, cursor = {}, b"0"
    for _ in range(10_000):
        cursor, items = client.call("HSCAN", key, cursor, *options)
        seen.update(as_dict(items))
        if cursor == b"0":
            return seen
    raise AssertionError("HSCAN never returned cursor 0")


def test_hscan_listpack_returns_everything_at_once(client, resp3_client):
    client.call("HSET", "h", "a", "1", "b", "2", "c", "3")
    expected = b"*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    assert client.call_raw("HSCAN", "h", 0) == expected
    assert client.call_raw("HSCAN", "h", 0, "COUNT", 1) == expected
    assert client.call_raw("HSCAN", "h", 12345) == expected    # any cursor
    assert resp3_client.call_raw("HSCAN", "h", 0) == expected  # same shape in RESP3
    assert client.call("HSCAN", "h", 0, "MATCH", "[ab]") == [b"0", [b"a", b"1", b"b", b"2"]]
    assert client.call("HSCAN", "h", 0, "match", "*", "count", 5) == [b"0", [b"a", b"1", b"b", b"2", b"c", b"3"]]
    assert client.call("HSCAN", "h", 0, "MATCH", "a", "MATCH", "c") == [b"0", [b"c", b"3"]]


def test_hscan_missing_key(client, resp3_client):
    for c in (client, resp3_client):
        assert c.call_raw("HSCAN", "missing", 0) == b"*2\r\n$1\r\n0\r\n*0\r\n"
        # options are read only once the key is found
        assert c.call("HSCAN", "missing", 7, "BOGUS") == [b"0", []]
        assert c.call("HSCAN", "missing", 0, "COUNT", "abc") == [b"0", []]


def test_hscan_errors(client):
    client.call("HSET", "h", "a", "1")
    client.call("SET", "s", "x")
    invalid = ErrorReply("ERR invalid cursor")
    for cursor in ("abc", " 1", "1.5", "18446744073709551616"):
        assert client.call("HSCAN", "h", cursor) == invalid
        assert client.call("HSCAN", "missing", cursor) == invalid
        assert client.call("HSCAN", "s", cursor) == invalid           # before the type
    assert client.call("HSCAN", "s", 0, "BOGUS") == WRONGTYPE          # type before options
    for options in (["BOGUS"], ["COUNT"], ["MATCH"], ["COUNT", 0], ["COUNT", -1],
                    ["TYPE", "hash"], ["COUNT", 1, "x"]):
        assert client.call("HSCAN", "h", 0, *options) == SYNTAX_ERROR, options
    assert client.call("HSCAN", "h", 0, "COUNT", "abc") == INTEGER_ERROR
    assert client.call("HSCAN", "h", 0, "COUNT", "abc", "BOGUS") == INTEGER_ERROR   # as read
    assert client.call("HSCAN", "h", 0, "BOGUS", "COUNT", "abc") == SYNTAX_ERROR
    assert_survives(client)
    assert_hash(client, "h", {b"a": b"1"})


def test_hscan_cursor_forms(client):
    client.call("HSET", "h", "a", "1")
    for cursor in ("+0", "-0", "", "18446744073709551615", "-1"):
        assert client.call("HSCAN", "h", cursor) == [b"0", [b"a", b"1"]]


def test_hscan_hashtable(client):
    data = fill(client, "h", 1000)
    assert full_scan(client, "h") == data
    assert full_scan(client, "h", "COUNT", 100) == data
    assert full_scan(client, "h", "MATCH", "f1*") == {f: v for f, v in data.items() if f.startswith(b"f1")}
    cursor, items = client.call("HSCAN", "h", 0, "COUNT", 5)
    assert cursor != b"0" and 0 < len(items) < 200 and len(items) % 2 == 0


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(changes=st.lists(st.tuples(st.booleans(), st.integers(0, 399)), min_size=1, max_size=60),
       count=st.integers(1, 40))
def test_hscan_returns_every_field_present_throughout(client, changes, count):
    """Fields s0..s299 stay for the whole scan; others come and go between the calls."""
    client.call("DEL", "h")
    stable = fill(client, "h", 300, prefix="s")
    fill(client, "h", 300, prefix="t")         # some of these are deleted during the scan
    # 600 fields: a hashtable in Redis, scanned a part at a time (test_encoding_by_default_thresholds)
    seen, cursor, calls = {}, b"0", 0
    pending = list(changes)
    while True:
        cursor, items = client.call("HSCAN", "h", cursor, "COUNT", count)
        seen.update(as_dict(items))
        calls += 1
        if cursor == b"0":
            break
        assert calls < 10_000
        if pending:
            add, n = pending.pop()
            if add:
                client.call("HSET", "h", f"n{n}" * (1 + n % 7), "x")   # grows the table
            else:
                client.call("HDEL", "h", f"t{n}", f"n{n}")
    for field, value in stable.items():
        assert seen.get(field) == value, field


# -- OBJECT ENCODING ----------------------------------------------------------------------


def encoding(client, key):
    return client.call("OBJECT", "ENCODING", key)


@pytest.mark.internals("encodings and their thresholds")
def test_encoding_by_default_thresholds(client):
    fill(client, "h", 512)
    assert encoding(client, "h") == b"listpack"
    client.call("HSET", "h", "f511", "again")       # an update: still 512 fields
    assert encoding(client, "h") == b"listpack"
    client.call("HSET", "h", "one-more", "x")
    assert encoding(client, "h") == b"hashtable"
    client.call("HSET", "v", "f", "x" * 64, "g" * 64, "y")
    assert encoding(client, "v") == b"listpack"
    client.call("HSET", "v", "f", "x" * 65)
    assert encoding(client, "v") == b"hashtable"
    client.call("HSET", "w", "g" * 65, "y")
    assert encoding(client, "w") == b"hashtable"


@pytest.mark.internals("encodings and their thresholds")
def test_encoding_never_goes_back(client, hash_config):
    hash_config(hash_max_listpack_entries=4)
    fill(client, "h", 5)
    assert encoding(client, "h") == b"hashtable"
    client.call("HDEL", "h", "f0", "f1", "f2", "f3")
    assert client.call("HLEN", "h") == 1
    assert encoding(client, "h") == b"hashtable"
    hash_config(hash_max_listpack_entries=512)
    client.call("HSET", "h", "x", "1")
    assert encoding(client, "h") == b"hashtable"
    client.call("COPY", "h", "copy")
    assert encoding(client, "copy") == b"hashtable"
    assert_hash(client, "copy", {b"f4": b"v4", b"x": b"1"})
    client.call("DEL", "h")
    client.call("HSET", "h", "x", "1")               # a new key starts over as listpack
    assert encoding(client, "h") == b"listpack"


@pytest.mark.internals("encodings and their thresholds")
def test_encoding_follows_the_config_at_write_time(client, hash_config):
    fill(client, "h", 5)
    hash_config(hash_max_listpack_entries=2, hash_max_listpack_value=3)
    assert encoding(client, "h") == b"listpack"      # reads change nothing
    client.call("HGET", "h", "f0")
    client.call("HSETNX", "h", "f0", "long value")   # field exists: nothing is written
    assert encoding(client, "h") == b"listpack"
    client.call("HSET", "h", "f0", "v")              # an update checks the field count
    assert encoding(client, "h") == b"hashtable"
    client.call("HSET", "g", "a", "1")
    client.call("HSETNX", "g", "b", "long")          # a value over 3 bytes
    assert encoding(client, "g") == b"hashtable"


@pytest.mark.internals("encodings and their thresholds")
@pytest.mark.parametrize("command,increment,result_length", [
    ("HINCRBY", "1000", 4), ("HINCRBYFLOAT", "1000.5", 6)])
def test_encoding_of_increments(client, hash_config, command, increment, result_length):
    hash_config(hash_max_listpack_value=5)
    client.call(command, "h", "f", increment)
    assert encoding(client, "h") == (b"listpack" if result_length <= 5 else b"hashtable")
    client.call(command, "h", "long-field", 1)       # the field's length counts too
    assert encoding(client, "h") == b"hashtable"


@pytest.mark.internals("encodings and their thresholds")
def test_hincrbyfloat_long_result_converts(client):
    result = client.call("HINCRBYFLOAT", "h", "f", "1e70")
    assert len(result) == 71 and result.startswith(b"1000000000")     # no exponent notation
    assert encoding(client, "h") == b"hashtable"


@pytest.mark.internals("encodings and their thresholds")
def test_encoding_of_a_copy(client):
    client.call("HSET", "h", "a", "1")
    client.call("COPY", "h", "c")
    assert encoding(client, "c") == b"listpack"
    client.call("HSET", "c", "b", "2")
    assert client.call("HLEN", "h") == 1             # an independent copy


# -- WRONGTYPE ----------------------------------------------------------------------------

COMMANDS_ON_A_KEY = [
    ("HSET", "f", "v"), ("HMSET", "f", "v"), ("HSETNX", "f", "v"), ("HGET", "f"),
    ("HMGET", "f", "g"), ("HDEL", "f"), ("HLEN",), ("HSTRLEN", "f"), ("HEXISTS", "f"),
    ("HKEYS",), ("HVALS",), ("HGETALL",), ("HINCRBY", "f", 1), ("HINCRBYFLOAT", "f", "1.5"),
    ("HRANDFIELD",), ("HRANDFIELD", 2), ("HRANDFIELD", -2, "WITHVALUES"), ("HSCAN", 0),
    ("HSCAN", 0, "MATCH", "*", "COUNT", 10)]


@pytest.mark.parametrize("command", COMMANDS_ON_A_KEY, ids=lambda c: " ".join(map(str, c)))
def test_wrongtype(client, resp3_client, command):
    client.call("SET", "s", "text")
    client.call("RPUSH", "l", "item")
    for key, check in (("s", ("GET", "s")), ("l", ("LRANGE", "l", 0, -1))):
        before = client.call(*check)
        assert client.call(command[0], key, *command[1:]) == WRONGTYPE
        assert resp3_client.call(command[0], key, *command[1:]) == WRONGTYPE
        assert client.call(*check) == before
    assert_survives(client)
