"""Conformance: the sets family (spec/sets.md), one section per command.

Members of a hashtable-encoded set come back in Redis's hash order, which no other server can
reproduce: those replies are compared sorted. An intset comes back in ascending numeric order,
and that is compared exactly, often as raw bytes. Random picks (SPOP, SRANDMEMBER) are judged by
their properties.
"""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.client import ErrorReply, RespSet
from conformance.readings import config_value

WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX_ERROR = ErrorReply("ERR syntax error")
INTEGER_ERROR = ErrorReply("ERR value is not an integer or out of range")
NOT_POSITIVE = ErrorReply("ERR value is out of range, must be positive")
NUMKEYS_ERROR = ErrorReply("ERR numkeys should be greater than 0")
TOO_MANY_KEYS = ErrorReply("ERR Number of keys can't be greater than number of args")
LIMIT_ERROR = ErrorReply("ERR LIMIT can't be negative")
CURSOR_ERROR = ErrorReply("ERR invalid cursor")
LLONG_MAX, LLONG_MIN = 2**63 - 1, -(2**63)


def bulk_array(members, kind=b"*") -> bytes:
    """The exact bytes of an array (or RESP3 set, kind b"~") of bulk strings."""
    parts = [kind + b"%d\r\n" % len(members)]
    for member in members:
        member = member if isinstance(member, bytes) else str(member).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(member), member))
    return b"".join(parts)


def members_of(client, key) -> list[bytes]:
    return sorted(client.call("SMEMBERS", key))


def assert_members(client, key, expected) -> None:
    expected = sorted(m if isinstance(m, bytes) else str(m).encode() for m in expected)
    assert members_of(client, key) == expected


def encoding(client, key) -> bytes:
    return client.call("OBJECT", "ENCODING", key)


def setup_wrong_type(client) -> None:
    """A string key `str`, and a set `s` = {a, b, c}, for WRONGTYPE tests."""
    client.call("SET", "str", "v")
    client.call("SADD", "s", "a", "b", "c")


def assert_wrong_type_untouched(client) -> None:
    assert client.call("PING") == "PONG"  # the connection survives the error
    assert client.call("GET", "str") == b"v"
    assert_members(client, "s", [b"a", b"b", b"c"])


@contextlib.contextmanager
def intset_limit(client, limit):
    """set-max-intset-entries set to `limit` for the block, restored afterwards."""
    old = config_value(client, "set-max-intset-entries")
    assert client.call("CONFIG", "SET", "set-max-intset-entries", limit) == "OK"
    try:
        yield
    finally:
        client.call("CONFIG", "SET", "set-max-intset-entries", old)


# -- SADD --------------------------------------------------------------------


def test_sadd_counts_new_members_only(client):
    assert client.call_raw("SADD", "k", "a", "b", "a") == b":2\r\n"
    assert client.call("SADD", "k", "b", "c") == 1
    assert client.call("SADD", "k", "c") == 0
    assert_members(client, "k", [b"a", b"b", b"c"])
    assert client.call("TYPE", "k") == "set"


def test_sadd_binary_and_empty_members(client):
    assert client.call("SADD", "k", b"", b"\x00\r\n\xff", b"a b") == 3
    assert client.call("SISMEMBER", "k", b"") == 1
    assert_members(client, "k", [b"", b"\x00\r\n\xff", b"a b"])


def test_sadd_keeps_the_ttl(client):
    client.call("SADD", "k", "a")
    client.call("EXPIRE", "k", 100)
    client.call("SADD", "k", "b")
    assert 90 <= client.call("TTL", "k") <= 100


def test_sadd_wrong_type(client):
    setup_wrong_type(client)
    assert client.call("SADD", "str", "a") == WRONGTYPE
    assert_wrong_type_untouched(client)


# -- SREM --------------------------------------------------------------------


def test_srem_counts_removed_members(client):
    client.call("SADD", "k", "a", "b", "c")
    assert client.call_raw("SREM", "k", "a", "x", "a") == b":1\r\n"
    assert_members(client, "k", [b"b", b"c"])
    assert client.call("SREM", "nokey", "a") == 0
    assert client.call("EXISTS", "nokey") == 0


def test_srem_of_the_last_member_deletes_the_key(client):
    client.call("SADD", "k", "a", "b")
    client.call("EXPIRE", "k", 100)
    assert client.call("SREM", "k", "a", "b", "c") == 2
    assert client.call("EXISTS", "k") == 0


def test_srem_wrong_type(client):
    setup_wrong_type(client)
    assert client.call("SREM", "str", "v") == WRONGTYPE
    assert_wrong_type_untouched(client)


# -- SCARD SISMEMBER SMISMEMBER ---------------------------------------------------------


def test_scard(client):
    assert client.call_raw("SCARD", "nokey") == b":0\r\n"
    client.call("SADD", "k", 1, 2, "x")
    assert client.call_raw("SCARD", "k") == b":3\r\n"


def test_sismember_compares_bytes(client):
    client.call("SADD", "k", 1, "x")
    assert client.call_raw("SISMEMBER", "k", "1") == b":1\r\n"
    assert client.call_raw("SISMEMBER", "k", "01") == b":0\r\n"
    assert client.call("SISMEMBER", "k", "x") == 1
    assert client.call("SISMEMBER", "k", "X") == 0
    assert client.call("SISMEMBER", "nokey", "x") == 0


def test_sismember_in_an_intset(client):
    client.call("SADD", "k", 1, -5, LLONG_MAX)
    assert [client.call("SISMEMBER", "k", m) for m in (1, -5, LLONG_MAX, "+1", "-0", "1.0")] == [1, 1, 1, 0, 0, 0]


def test_smismember(client, resp3_client):
    client.call("SADD", "k", "a", "b")
    assert client.call_raw("SMISMEMBER", "k", "a", "x", "b", "a") == b"*4\r\n:1\r\n:0\r\n:1\r\n:1\r\n"
    assert client.call_raw("SMISMEMBER", "nokey", "a", "b") == b"*2\r\n:0\r\n:0\r\n"
    resp3_client.call("SADD", "k", "a")
    assert resp3_client.call_raw("SMISMEMBER", "k", "a", "x") == b"*2\r\n:1\r\n:0\r\n"


@pytest.mark.parametrize("command", [("SCARD", "str"), ("SISMEMBER", "str", "v"),
                                     ("SMISMEMBER", "str", "v"), ("SMEMBERS", "str")])
def test_readers_wrong_type(client, command):
    setup_wrong_type(client)
    assert client.call(*command) == WRONGTYPE
    assert_wrong_type_untouched(client)


# -- SMEMBERS and encodings --------------------------------------------------------------------


@pytest.mark.internals("encodings and their thresholds")
def test_smembers_of_an_intset_in_ascending_order(client, resp3_client):
    client.call("SADD", "k", 10, -3, 2, LLONG_MIN, LLONG_MAX, 0)
    order = [LLONG_MIN, -3, 0, 2, 10, LLONG_MAX]
    assert encoding(client, "k") == b"intset"
    assert client.call_raw("SMEMBERS", "k") == bulk_array(order)
    assert resp3_client.call_raw("SMEMBERS", "k") == bulk_array(order, b"~")


@pytest.mark.internals("encodings and their thresholds")
def test_smembers_of_a_hashtable_and_of_a_missing_key(client, resp3_client):
    client.call("SADD", "k", "b", "a", "c", 1)
    assert encoding(client, "k") == b"hashtable"
    assert members_of(client, "k") == [b"1", b"a", b"b", b"c"]
    reply = resp3_client.call("SMEMBERS", "k")
    assert isinstance(reply, RespSet) and sorted(reply) == [b"1", b"a", b"b", b"c"]
    assert client.call_raw("SMEMBERS", "nokey") == b"*0\r\n"
    assert resp3_client.call_raw("SMEMBERS", "nokey") == b"~0\r\n"


@pytest.mark.internals("encodings and their thresholds")
@pytest.mark.parametrize("member", ["01", "-0", "+1", "1.0", " 1", str(2**63), str(-(2**63) - 1), "a"])
def test_a_non_integer_member_makes_a_hashtable(client, member):
    client.call("SADD", "k", 1, 2)
    assert encoding(client, "k") == b"intset"
    client.call("SADD", "k", member)
    assert encoding(client, "k") == b"hashtable"
    client.call("SADD", "fresh", member)
    assert encoding(client, "fresh") == b"hashtable"


@pytest.mark.internals("encodings and their thresholds")
def test_hashtable_is_for_good(client):
    client.call("SADD", "k", 1, "x")
    client.call("SREM", "k", "x")
    assert encoding(client, "k") == b"hashtable"
    client.call("COPY", "k", "copy")
    assert encoding(client, "copy") == b"hashtable"  # COPY keeps the encoding
    client.call("SADD", "ints", 1, 2)
    client.call("COPY", "ints", "copy2")
    assert encoding(client, "copy2") == b"intset"


@pytest.mark.internals("encodings and their thresholds")
def test_intset_up_to_set_max_intset_entries(client):
    assert client.call("CONFIG", "GET", "set-max-intset-entries") == [b"set-max-intset-entries", b"512"]
    client.call("SADD", "k", *range(512))
    assert encoding(client, "k") == b"intset"
    assert client.call("SADD", "k", 511) == 0
    assert encoding(client, "k") == b"intset"
    client.call("SADD", "k", 512)
    assert encoding(client, "k") == b"hashtable"
    client.call("SREM", "k", 512)
    assert encoding(client, "k") == b"hashtable"


@pytest.mark.internals("encodings and their thresholds")
def test_set_max_intset_entries_applies_at_the_next_addition(client):
    client.call("SADD", "k", 1, 2)
    with intset_limit(client, 1):
        assert encoding(client, "k") == b"intset"
        client.call("SADD", "k", 2)
        assert encoding(client, "k") == b"intset"   # nothing was added
        client.call("SADD", "k", 3)
        assert encoding(client, "k") == b"hashtable"
    with intset_limit(client, 0):
        client.call("SADD", "z", 5)
        assert encoding(client, "z") == b"hashtable"


# -- SRANDMEMBER ------------------------------------------------------------------------------


def test_srandmember_without_count(client, resp3_client):
    client.call("SADD", "k", "a", "b", "c")
    picks = {client.call("SRANDMEMBER", "k") for _ in range(60)}
    assert picks == {b"a", b"b", b"c"}
    assert client.call("SCARD", "k") == 3
    assert client.call_raw("SRANDMEMBER", "nokey") == b"$-1\r\n"
    assert resp3_client.call_raw("SRANDMEMBER", "nokey") == b"_\r\n"


def test_srandmember_positive_count_gives_distinct_members(client, resp3_client):
    client.call("SADD", "k", *[f"m{i}" for i in range(20)])
    everything = set(members_of(client, "k"))
    for count in (1, 2, 5, 7, 19):
        reply = client.call("SRANDMEMBER", "k", count)
        assert len(reply) == count and len(set(reply)) == count and set(reply) <= everything
    assert sorted(client.call("SRANDMEMBER", "k", 20)) == sorted(everything)
    assert sorted(client.call("SRANDMEMBER", "k", LLONG_MAX)) == sorted(everything)
    resp3_client.call("SADD", "k", "a")
    assert resp3_client.call_raw("SRANDMEMBER", "k", 1).startswith(b"*1\r\n")  # an array, not a set


def test_srandmember_count_at_least_the_size_of_an_intset_is_ascending(client, resp3_client):
    client.call("SADD", "k", 3, 1, 2)
    assert client.call_raw("SRANDMEMBER", "k", 3) == bulk_array([1, 2, 3])
    assert client.call_raw("SRANDMEMBER", "k", 100) == bulk_array([1, 2, 3])
    resp3_client.call("SADD", "k", 3, 1, 2)
    assert resp3_client.call_raw("SRANDMEMBER", "k", 5) == bulk_array([1, 2, 3])


def test_srandmember_negative_count_may_repeat(client):
    client.call("SADD", "k", "a", "b", "c")
    reply = client.call("SRANDMEMBER", "k", -300)
    assert len(reply) == 300 and set(reply) == {b"a", b"b", b"c"}
    assert client.call("SRANDMEMBER", "k", -1)[0] in (b"a", b"b", b"c")
    client.call("SADD", "one", "x")
    assert client.call_raw("SRANDMEMBER", "one", -3) == bulk_array([b"x"] * 3)


def test_srandmember_zero_count_and_missing_key(client, resp3_client):
    client.call("SADD", "k", "a")
    assert client.call_raw("SRANDMEMBER", "k", 0) == b"*0\r\n"
    assert client.call_raw("SRANDMEMBER", "nokey", 5) == b"*0\r\n"
    assert client.call_raw("SRANDMEMBER", "nokey", -5) == b"*0\r\n"
    assert resp3_client.call_raw("SRANDMEMBER", "nokey", 5) == b"*0\r\n"
    assert resp3_client.call_raw("SRANDMEMBER", "nokey", 0) == b"*0\r\n"


def test_srandmember_count_errors_come_before_the_key(client):
    setup_wrong_type(client)
    for key in ("s", "str", "nokey"):
        assert client.call("SRANDMEMBER", key, "x") == INTEGER_ERROR
        assert client.call("SRANDMEMBER", key, 2**63) == INTEGER_ERROR
        assert client.call("SRANDMEMBER", key, LLONG_MIN) == ErrorReply(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807")
    assert client.call("SRANDMEMBER", "s", 1, 2) == SYNTAX_ERROR
    assert client.call("SRANDMEMBER", "str") == WRONGTYPE
    assert client.call("SRANDMEMBER", "str", 1) == WRONGTYPE
    assert_wrong_type_untouched(client)


# -- SPOP --------------------------------------------------------------------------------------


def test_spop_without_count(client, resp3_client):
    client.call("SADD", "k", "a", "b", "c")
    client.call("EXPIRE", "k", 100)
    first = client.call("SPOP", "k")
    assert first in (b"a", b"b", b"c")
    assert client.call("SISMEMBER", "k", first) == 0
    assert client.call("SCARD", "k") == 2
    assert client.call("TTL", "k") > 0  # the key keeps its time to live
    rest = {client.call("SPOP", "k"), client.call("SPOP", "k")}
    assert rest | {first} == {b"a", b"b", b"c"}
    assert client.call("EXISTS", "k") == 0
    assert client.call_raw("SPOP", "k") == b"$-1\r\n"
    assert resp3_client.call_raw("SPOP", "nokey") == b"_\r\n"


def test_spop_with_count_removes_distinct_members(client, resp3_client):
    original = {f"m{i}".encode() for i in range(30)}
    for count in (1, 3, 10, 25, 29):  # both of Redis's strategies (few or most members popped)
        client.call("DEL", "k")
        client.call("SADD", "k", *original)
        popped = client.call("SPOP", "k", count)
        assert len(popped) == count and len(set(popped)) == count
        left = set(members_of(client, "k"))
        assert left | set(popped) == original and not left & set(popped)
    resp3_client.call("SADD", "k", "a", "b", "c")
    reply = resp3_client.call("SPOP", "k", 2)
    assert isinstance(reply, RespSet) and len(reply) == 2


def test_spop_whole_set_deletes_the_key(client, resp3_client):
    client.call("SADD", "k", 3, 1, 2)
    assert client.call_raw("SPOP", "k", 3) == bulk_array([1, 2, 3])
    assert client.call("EXISTS", "k") == 0
    resp3_client.call("SADD", "k", 30, 10, 20)
    assert resp3_client.call_raw("SPOP", "k", LLONG_MAX) == bulk_array([10, 20, 30], b"~")
    client.call("SADD", "h", "a", "b")
    assert sorted(client.call("SPOP", "h", 5)) == [b"a", b"b"]
    assert client.call("EXISTS", "h") == 0


def test_spop_zero_count_and_missing_key(client, resp3_client):
    client.call("SADD", "k", "a")
    assert client.call_raw("SPOP", "k", 0) == b"*0\r\n"
    assert client.call_raw("SPOP", "nokey", 3) == b"*0\r\n"
    assert resp3_client.call_raw("SPOP", "k", 0) == b"~0\r\n"
    assert resp3_client.call_raw("SPOP", "nokey", 3) == b"~0\r\n"
    assert members_of(client, "k") == [b"a"]


def test_spop_count_errors_come_before_the_key(client):
    setup_wrong_type(client)
    for key in ("s", "str", "nokey"):
        for bad in (-1, "x", 2**63, LLONG_MIN, "1.5"):
            assert client.call("SPOP", key, bad) == NOT_POSITIVE
    assert client.call("SPOP", "s", 1, 2) == SYNTAX_ERROR
    assert client.call("SPOP", "str") == WRONGTYPE
    assert client.call("SPOP", "str", 1) == WRONGTYPE
    assert_wrong_type_untouched(client)


@pytest.mark.internals("encodings and their thresholds")
def test_spop_of_most_members_rebuilds_the_set(client):
    """Popping 10 of 11 leaves one member, from which Redis builds a new set: an intset if
    that member is an integer, even though the set was a hashtable."""
    seen = set()
    for _ in range(400):  # until both outcomes are seen (each draw leaves "x" one time in 11)
        client.call("DEL", "k")
        client.call("SADD", "k", *range(1, 11), "x")
        client.call("SPOP", "k", 10)
        (left,) = client.call("SMEMBERS", "k")
        expected = b"hashtable" if left == b"x" else b"intset"
        assert encoding(client, "k") == expected, left
        seen.add(expected)
        if len(seen) == 2:
            break
    assert seen == {b"intset", b"hashtable"}


@pytest.mark.internals("encodings and their thresholds")
def test_spop_of_few_members_keeps_the_encoding(client):
    client.call("SADD", "k", *range(1, 20), "x")
    client.call("SREM", "k", "x")
    client.call("SPOP", "k", 2)
    assert encoding(client, "k") == b"hashtable"


# -- SMOVE -------------------------------------------------------------------------------------


def test_smove_moves_a_member(client):
    client.call("SADD", "src", "a", "b")
    client.call("SADD", "dst", "c")
    assert client.call_raw("SMOVE", "src", "dst", "a") == b":1\r\n"
    assert_members(client, "src", [b"b"])
    assert_members(client, "dst", [b"a", b"c"])
    assert client.call("SMOVE", "src", "dst", "a") == 0


def test_smove_member_already_in_destination(client):
    client.call("SADD", "src", "a", "b")
    client.call("SADD", "dst", "a")
    assert client.call("SMOVE", "src", "dst", "a") == 1
    assert_members(client, "src", [b"b"])
    assert_members(client, "dst", [b"a"])


@pytest.mark.internals("encodings and their thresholds")
def test_smove_last_member_and_new_destination(client):
    client.call("SADD", "src", 5)
    assert client.call("SMOVE", "src", "dst", 5) == 1
    assert client.call("EXISTS", "src") == 0
    assert_members(client, "dst", [5])
    assert encoding(client, "dst") == b"intset"
    client.call("SADD", "src2", "x")
    client.call("SMOVE", "src2", "dst2", "x")
    assert encoding(client, "dst2") == b"hashtable"
    client.call("SADD", "src3", "y")
    client.call("SMOVE", "src3", "dst", "y")
    assert encoding(client, "dst") == b"hashtable"


def test_smove_same_key(client):
    client.call("SADD", "k", "a")
    assert client.call("SMOVE", "k", "k", "a") == 1
    assert client.call("SMOVE", "k", "k", "z") == 0
    assert_members(client, "k", [b"a"])


def test_smove_missing_source_wins_over_wrong_type(client):
    setup_wrong_type(client)
    assert client.call("SMOVE", "nokey", "str", "a") == 0
    assert client.call("SMOVE", "s", "nokey", "zz") == 0
    assert client.call("EXISTS", "nokey") == 0
    assert_wrong_type_untouched(client)


def test_smove_wrong_type(client):
    setup_wrong_type(client)
    assert client.call("SMOVE", "str", "s", "v") == WRONGTYPE
    assert client.call("SMOVE", "s", "str", "a") == WRONGTYPE
    assert client.call("SMOVE", "s", "str", "zz") == WRONGTYPE  # checked before membership
    assert client.call("SMOVE", "str", "str", "v") == WRONGTYPE
    assert_wrong_type_untouched(client)


# -- SINTER SUNION SDIFF -------------------------------------------------------------------------


def test_sinter(client, resp3_client):
    client.call("SADD", "a", "x", "y", "z", 1)
    client.call("SADD", "b", "y", "z", "w", 1)
    client.call("SADD", "c", "z", "y", "q")
    assert sorted(client.call("SINTER", "a", "b")) == [b"1", b"y", b"z"]
    assert sorted(client.call("SINTER", "a", "b", "c")) == [b"y", b"z"]
    assert sorted(client.call("SINTER", "a")) == [b"1", b"x", b"y", b"z"]
    assert sorted(client.call("SINTER", "a", "a")) == [b"1", b"x", b"y", b"z"]
    assert client.call_raw("SINTER", "a", "nokey") == b"*0\r\n"
    assert client.call_raw("SINTER", "a", "c", "nokey") == b"*0\r\n"
    resp3_client.call("SADD", "one", "x")
    assert resp3_client.call_raw("SINTER", "one", "nokey") == b"~0\r\n"
    assert resp3_client.call_raw("SINTER", "one") == b"~1\r\n$1\r\nx\r\n"


def test_sinter_of_intsets_is_ascending(client):
    client.call("SADD", "a", 9, 3, 7, 1, 5)
    client.call("SADD", "b", 5, 1, 2, 3, 4, 7, 8)
    assert client.call_raw("SINTER", "a", "b") == bulk_array([1, 3, 5, 7])
    client.call("SADD", "h", "x", 7, 3, 9, 1, 5, 11, 12)
    assert client.call_raw("SINTER", "h", "a") == bulk_array([1, 3, 5, 7, 9])  # walks the intset


def test_sunion(client, resp3_client):
    client.call("SADD", "a", "x", "y")
    client.call("SADD", "b", "y", "z")
    assert sorted(client.call("SUNION", "a", "b", "nokey")) == [b"x", b"y", b"z"]
    assert client.call_raw("SUNION", "nokey") == b"*0\r\n"
    assert resp3_client.call_raw("SUNION", "nokey", "nokey2") == b"~0\r\n"
    client.call("SADD", "i", 10, 2)
    client.call("SADD", "j", 7, 2, -1)
    assert client.call_raw("SUNION", "i", "j") == bulk_array([-1, 2, 7, 10])
    resp3_client.call("SADD", "i", 10, 2)
    assert resp3_client.call_raw("SUNION", "i", "nokey") == bulk_array([2, 10], b"~")


@pytest.mark.internals("encodings and their thresholds")
def test_sunion_too_big_for_an_intset_is_unordered(client):
    with intset_limit(client, 3):
        client.call("SADD", "i", 1, 2)
        client.call("SADD", "j", 3, 4)
        assert sorted(client.call("SUNION", "i", "j"), key=int) == [b"1", b"2", b"3", b"4"]
        assert client.call("SUNIONSTORE", "d", "i", "j") == 4
        assert encoding(client, "d") == b"hashtable"


def test_sdiff(client, resp3_client):
    client.call("SADD", "a", "x", "y", "z", "w")
    client.call("SADD", "b", "y")
    client.call("SADD", "c", "z", "q")
    assert sorted(client.call("SDIFF", "a", "b", "c")) == [b"w", b"x"]
    assert sorted(client.call("SDIFF", "a", "nokey")) == [b"w", b"x", b"y", b"z"]
    assert client.call_raw("SDIFF", "nokey", "a") == b"*0\r\n"
    assert client.call_raw("SDIFF", "a", "b", "a") == b"*0\r\n"
    assert resp3_client.call_raw("SDIFF", "nokey") == b"~0\r\n"
    client.call("SADD", "i", 5, 1, 3, 4)
    client.call("SADD", "j", 4)
    assert client.call_raw("SDIFF", "i", "j") == bulk_array([1, 3, 5])
    resp3_client.call("SADD", "i3", 5, 1)
    assert resp3_client.call_raw("SDIFF", "i3", "j") == bulk_array([1, 5], b"~")


@pytest.mark.parametrize("command", ["SINTER", "SUNION", "SDIFF"])
def test_set_algebra_wrong_type_anywhere(client, command):
    setup_wrong_type(client)
    for keys in (("str",), ("s", "str"), ("nokey", "str"), ("str", "nokey"), ("s", "nokey", "str")):
        assert client.call(command, *keys) == WRONGTYPE, keys
    assert_wrong_type_untouched(client)


# -- SINTERCARD --------------------------------------------------------------------------------


def test_sintercard(client):
    client.call("SADD", "a", "x", "y", "z", 1, 2)
    client.call("SADD", "b", "y", "z", 1, 2, 3)
    assert client.call_raw("SINTERCARD", 2, "a", "b") == b":4\r\n"
    assert client.call("SINTERCARD", 1, "a") == 5
    assert client.call("SINTERCARD", 2, "a", "nokey") == 0
    assert client.call("SINTERCARD", 1, "nokey") == 0
    assert client.call("SINTERCARD", 2, "a", "a") == 5


def test_sintercard_limit(client):
    client.call("SADD", "a", "x", "y", "z", 1, 2)
    client.call("SADD", "b", "y", "z", 1, 2, 3)
    assert client.call("SINTERCARD", 2, "a", "b", "LIMIT", 2) == 2
    assert client.call("SINTERCARD", 2, "a", "b", "limit", 4) == 4
    assert client.call("SINTERCARD", 2, "a", "b", "Limit", 100) == 4
    assert client.call("SINTERCARD", 2, "a", "b", "LIMIT", 0) == 4  # 0: no limit
    assert client.call("SINTERCARD", 2, "a", "b", "LIMIT", 1, "LIMIT", 3) == 3  # the last wins
    assert client.call("SINTERCARD", 1, "LIMIT", "LIMIT", 1) == 0  # a key may be called LIMIT


def test_sintercard_errors_come_before_the_keys(client):
    setup_wrong_type(client)
    for numkeys in (0, -1, "x", 2**63, "1.0"):
        assert client.call("SINTERCARD", numkeys, "str") == NUMKEYS_ERROR
    assert client.call("SINTERCARD", 2, "str") == TOO_MANY_KEYS
    assert client.call("SINTERCARD", 4, "str", "LIMIT", 1) == TOO_MANY_KEYS
    for limit in (-1, "x", 2**63):
        assert client.call("SINTERCARD", 1, "str", "LIMIT", limit) == LIMIT_ERROR
    assert client.call("SINTERCARD", 1, "str", "LIMIT") == SYNTAX_ERROR
    assert client.call("SINTERCARD", 1, "str", "s") == SYNTAX_ERROR
    assert client.call("SINTERCARD", 1, "str", "LIMIT", 1, "x") == SYNTAX_ERROR
    assert client.call("SINTERCARD", 1, "str", "LIMIT", -1, "x") == LIMIT_ERROR  # read in order
    assert client.call("SINTERCARD", 1, "str") == WRONGTYPE
    assert client.call("SINTERCARD", 2, "nokey", "str") == WRONGTYPE
    assert client.call("SINTERCARD", 2, "s", "str", "LIMIT", 1) == WRONGTYPE
    assert_wrong_type_untouched(client)


# -- SINTERSTORE SUNIONSTORE SDIFFSTORE ---------------------------------------------------------


@pytest.mark.parametrize("command,expected", [("SINTERSTORE", [b"b"]), ("SUNIONSTORE", [b"a", b"b", b"c"]),
                                              ("SDIFFSTORE", [b"a"])])
def test_store_replaces_the_destination(client, command, expected):
    client.call("SADD", "x", "a", "b")
    client.call("SADD", "y", "b", "c")
    client.call("SET", "dst", "string", "EX", 100)
    assert client.call_raw(command, "dst", "x", "y") == b":%d\r\n" % len(expected)
    assert members_of(client, "dst") == expected
    assert client.call("TTL", "dst") == -1  # the new value has no time to live
    assert client.call(command, "x", "x", "y") == len(expected)  # the destination may be a source
    assert members_of(client, "x") == expected


@pytest.mark.parametrize("command", ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"])
def test_store_of_an_empty_result_deletes_the_destination(client, command):
    client.call("SADD", "x", "a")
    for old in (("SADD", "dst", "q"), ("SET", "dst", "v")):
        client.call(*old)
        sources = ("nokey",) if command != "SDIFFSTORE" else ("x", "x")
        assert client.call_raw(command, "dst", *sources) == b":0\r\n"
        assert client.call("EXISTS", "dst") == 0
    assert client.call(command, "dst", "nokey") == 0
    assert client.call("EXISTS", "dst") == 0


@pytest.mark.parametrize("command", ["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"])
def test_store_wrong_type_source_changes_nothing(client, command):
    setup_wrong_type(client)
    client.call("SADD", "dst", "keep")
    for sources in (("str",), ("s", "str"), ("nokey", "str"), ("str", "nokey")):
        assert client.call(command, "dst", *sources) == WRONGTYPE
        assert members_of(client, "dst") == [b"keep"]
        assert client.call(command, "str", *sources) == WRONGTYPE
    assert_wrong_type_untouched(client)


@pytest.mark.internals("encodings and their thresholds")
def test_stored_encodings(client):
    client.call("SADD", "h", "a", "b", 5, 6)
    client.call("SADD", "i", 5, 6, 7)
    assert client.call("SINTERSTORE", "d1", "h", "i") == 2
    assert encoding(client, "d1") == b"intset"     # a new set, built from integers
    assert client.call_raw("SMEMBERS", "d1") == bulk_array([5, 6])
    assert client.call("SUNIONSTORE", "d2", "i") == 3
    assert encoding(client, "d2") == b"intset"
    assert client.call("SUNIONSTORE", "d3", "i", "h") == 5
    assert encoding(client, "d3") == b"hashtable"
    assert client.call("SDIFFSTORE", "d4", "h", "i") == 2
    assert encoding(client, "d4") == b"hashtable"
    client.call("SADD", "hi", 1, 2, "x")
    client.call("SREM", "hi", "x")
    assert client.call("SINTERSTORE", "d5", "hi") == 2
    assert encoding(client, "d5") == b"intset"     # unlike COPY, a store builds afresh


@pytest.mark.internals("encodings and their thresholds")
def test_sdiffstore_encoding_depends_on_the_algorithm(client):
    """With the first set much bigger than the others, Redis copies the first set whole and
    removes the rest, so a first set with a non-integer member yields a hashtable even when
    the difference is all integers; otherwise only the kept members are added."""
    client.call("SADD", "big", *range(1, 21), "x")
    client.call("SADD", "s1", "x")
    client.call("SADD", "s2", "y")
    assert client.call("SDIFFSTORE", "d", "big", "s1", "s2") == 20  # 21*3//2 > 21+1+1
    assert encoding(client, "d") == b"hashtable"
    assert client.call("SDIFFSTORE", "d", "big", "s1") == 20        # 21*2//2 <= 21+1
    assert encoding(client, "d") == b"intset"
    client.call("SADD", "s3", "z", "w", "v", "u", "t", "r", "q", "p", "o", "n", "m", "l")
    assert client.call("SDIFFSTORE", "d", "big", "s1", "s3") == 20  # 21*3//2 <= 21+1+12
    assert encoding(client, "d") == b"intset"
    assert client.call_raw("SDIFF", "big", "s1", "s3") == bulk_array(range(1, 21))


# -- SSCAN -------------------------------------------------------------------------------------


def full_sscan(client, key, *options) -> list[bytes]:
    cursor, seen = b"0", []
    for _ in range(100_000):
        cursor, batch = client.call("SSCAN", key, cursor, *options)
        seen.extend(batch)
        if cursor == b"0":
            return seen
    raise AssertionError("SSCAN never returned cursor 0")


def test_sscan_of_an_intset_is_whole_and_ascending(client, resp3_client):
    client.call("SADD", "k", *range(30, 0, -1))
    expected = b"*2\r\n$1\r\n0\r\n" + bulk_array(range(1, 31))
    assert client.call_raw("SSCAN", "k", 0) == expected
    assert client.call_raw("SSCAN", "k", 0, "COUNT", 1) == expected
    assert client.call_raw("SSCAN", "k", 12345) == expected  # the cursor is not looked at
    assert client.call_raw("SSCAN", "k", 0, "MATCH", "1*") == (
        b"*2\r\n$1\r\n0\r\n" + bulk_array([1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]))
    resp3_client.call("SADD", "k3", 2, 1)
    assert resp3_client.call_raw("SSCAN", "k3", 0) == b"*2\r\n$1\r\n0\r\n" + bulk_array([1, 2])


def test_sscan_of_a_hashtable_visits_every_member(client):
    members = [f"member:{i}".encode() for i in range(1000)]
    client.call("SADD", "k", *members)
    assert sorted(set(full_sscan(client, "k"))) == sorted(members)
    assert sorted(set(full_sscan(client, "k", "COUNT", 100))) == sorted(members)
    matching = sorted(m for m in members if m.endswith(b"7"))
    assert sorted(set(full_sscan(client, "k", "MATCH", "*7"))) == matching
    assert sorted(set(full_sscan(client, "k", "match", "*7", "count", 3))) == matching
    cursor, batch = client.call("SSCAN", "k", 0)
    assert cursor != b"0" and len(batch) < 1000


def test_sscan_missing_key_ignores_the_options(client, resp3_client):
    empty = b"*2\r\n$1\r\n0\r\n*0\r\n"
    for options in ((), ("COUNT", 0), ("COUNT", "x"), ("bogus",), ("TYPE", "set"), ("MATCH",)):
        assert client.call_raw("SSCAN", "nokey", 0, *options) == empty, options
    assert resp3_client.call_raw("SSCAN", "nokey", 7) == empty


def test_sscan_errors(client):
    setup_wrong_type(client)
    for key in ("s", "str", "nokey"):
        for cursor in ("x", "-", 2**64, "1.0", " 1"):
            assert client.call("SSCAN", key, cursor) == CURSOR_ERROR
    assert client.call("SSCAN", "str", 0, "bogus") == WRONGTYPE  # the type before the options
    assert client.call("SSCAN", "str", 0) == WRONGTYPE
    assert client.call("SSCAN", "s", 0, "COUNT", 0) == SYNTAX_ERROR
    assert client.call("SSCAN", "s", 0, "COUNT", -1) == SYNTAX_ERROR
    assert client.call("SSCAN", "s", 0, "COUNT", "x") == INTEGER_ERROR
    assert client.call("SSCAN", "s", 0, "COUNT", "x", "bogus") == INTEGER_ERROR  # in order
    assert client.call("SSCAN", "s", 0, "bogus", "COUNT", "x") == SYNTAX_ERROR
    assert client.call("SSCAN", "s", 0, "COUNT") == SYNTAX_ERROR
    assert client.call("SSCAN", "s", 0, "MATCH") == SYNTAX_ERROR
    assert client.call("SSCAN", "s", 0, "TYPE", "set") == SYNTAX_ERROR  # SCAN's option only
    assert_wrong_type_untouched(client)


def test_sscan_cursor_forms(client):
    client.call("SADD", "k", "a", "b")
    for cursor in ("", "+0", "-0", "00", 2**64 - 1, "-1"):
        cursor_reply, batch = client.call("SSCAN", "k", cursor, "COUNT", 1000)
        assert cursor_reply.isdigit() and isinstance(batch, list), cursor  # accepted, not an error


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
          max_examples=10, deadline=None)
@given(stable=st.integers(50, 400), changes=st.lists(
    st.tuples(st.sampled_from(["add", "remove"]), st.integers(0, 600)), min_size=1, max_size=60),
    count=st.integers(1, 40))
def test_sscan_returns_members_present_throughout(client, stable, changes, count):
    """Members present for the whole scan are returned, however others come and go."""
    client.call("DEL", "k")
    kept = [f"stable:{i}".encode() for i in range(stable)]
    client.call("SADD", "k", *kept)
    ever = set(kept)
    cursor, seen, step = b"0", set(), 0
    while True:
        cursor, batch = client.call("SSCAN", "k", cursor, "COUNT", count)
        seen.update(batch)
        if step < len(changes):  # change the set between the calls
            action, n = changes[step]
            member = f"volatile:{n}".encode()
            if action == "add":
                ever.add(member)
                client.call("SADD", "k", member)
            else:
                client.call("SREM", "k", member)
            step += 1
        if cursor == b"0":
            break
    assert set(kept) <= seen
    assert seen <= ever  # nothing that never was a member
