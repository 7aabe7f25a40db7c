"""Conformance of the generic (keyspace) family: spec/generic.md.

Keys are created with SET (strings family); everything else is this family's commands.
"""
import itertools
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.client import ErrorReply
from conformance.readings import config_value

SYNTAX = ErrorReply("ERR syntax error")
NOT_INT = ErrorReply("ERR value is not an integer or out of range")
NOT_INT32 = ErrorReply("ERR value is out of range, value must between -2147483648 and 2147483647")
NO_SUCH_KEY = ErrorReply("ERR no such key")
SAME_OBJECT = ErrorReply("ERR source and destination objects are the same")
DB_RANGE = ErrorReply("ERR DB index is out of range")
NX_AND_OTHERS = ErrorReply("ERR NX and XX, GT or LT options at the same time are not compatible")
GT_AND_LT = ErrorReply("ERR GT and LT options at the same time are not compatible")
NO_LFU = ErrorReply(
    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that "
    "when switching between policies at runtime LRU and LFU data will take some time to adjust.")
LFU = ErrorReply(
    "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
    "switching between policies at runtime LRU and LFU data will take some time to adjust.")


def full_scan(client, *options):
    """Every key a complete SCAN returns (with repeats), and the number of calls it took."""
    cursor, seen, calls = b"0", [], 0
    while True:
        reply = client.call("SCAN", cursor, *options)
        assert isinstance(reply, list) and len(reply) == 2, reply
        cursor, keys = reply
        assert isinstance(cursor, bytes) and cursor.isdigit()
        seen.extend(keys)
        calls += 1
        if cursor == b"0":
            return seen, calls


# --- DEL UNLINK EXISTS TOUCH TYPE -------------------------------------------------------


@pytest.mark.parametrize("command", ["DEL", "UNLINK"])
def test_delete_counts_keys_removed_once_each(client, command):
    client.pipeline(("SET", "a", "1"), ("SET", "b", "2"), ("SET", "c", "3"))
    assert client.call_raw(command, "a", "a", "b", "missing") == b":2\r\n"
    assert client.call("EXISTS", "a", "b", "c") == 1
    assert client.call(command, "a") == 0


def test_exists_and_touch_count_every_argument(client):
    client.call("SET", "k", "v")
    assert client.call_raw("EXISTS", "k", "k", "nope") == b":2\r\n"
    assert client.call("EXISTS", "nope") == 0
    assert client.call_raw("TOUCH", "k", "k", "nope") == b":2\r\n"
    assert client.call("TOUCH", "nope") == 0


def test_type(client):
    client.call("SET", "s", "v")
    assert client.call_raw("TYPE", "s") == b"+string\r\n"
    assert client.call_raw("TYPE", "missing") == b"+none\r\n"


def test_wrong_arity_leaves_connection_usable(client):
    assert client.call("DEL") == ErrorReply("ERR wrong number of arguments for 'del' command")
    assert client.call("TYPE", "a", "b") == ErrorReply("ERR wrong number of arguments for 'type' command")
    assert client.call("PING") == "PONG"


# --- KEYS -----------------------------------------------------------------------------------


def test_keys_glob(client):
    for key in ("hello", "hallo", "hxllo", "hllo", "heeeello", "h?llo", "x"):
        client.call("SET", key, "1")
    assert sorted(client.call("KEYS", "*")) == sorted(
        [b"hello", b"hallo", b"hxllo", b"hllo", b"heeeello", b"h?llo", b"x"])
    assert sorted(client.call("KEYS", "h?llo")) == [b"h?llo", b"hallo", b"hello", b"hxllo"]
    assert sorted(client.call("KEYS", "h*llo")) == [b"h?llo", b"hallo", b"heeeello", b"hello", b"hllo", b"hxllo"]
    assert sorted(client.call("KEYS", "h[ae]llo")) == [b"hallo", b"hello"]
    assert sorted(client.call("KEYS", "h[^e]llo")) == [b"h?llo", b"hallo", b"hxllo"]
    assert sorted(client.call("KEYS", "h[a-b]llo")) == [b"hallo"]
    assert client.call("KEYS", "h\\?llo") == [b"h?llo"]
    assert client.call("KEYS", "HELLO") == []
    assert client.call_raw("KEYS", "nomatch*") == b"*0\r\n"


def test_keys_never_lists_expired_keys(client):
    client.call("SET", "live", "1")
    client.call("SET", "dying", "1")
    client.call("PEXPIRE", "dying", 30)
    time.sleep(0.1)
    assert client.call("KEYS", "*") == [b"live"]


# --- SCAN -----------------------------------------------------------------------------------


def test_scan_empty_database(client):
    assert client.call_raw("SCAN", 0) == b"*2\r\n$1\r\n0\r\n*0\r\n"
    assert client.call("SCAN", 12345) == [b"0", []]


def test_scan_returns_every_key(client):
    keys = [f"key:{i}".encode() for i in range(500)]
    client.pipeline(*(("SET", key, "v") for key in keys))
    seen, calls = full_scan(client)
    assert set(seen) == set(keys)
    assert calls > 1  # COUNT defaults to 10: 500 keys take several calls
    seen, calls = full_scan(client, "COUNT", 1000)
    assert set(seen) == set(keys)


def test_scan_match_count_type(client):
    for i in range(100):
        client.call("SET", f"user:{i}", "x")
        client.call("SET", f"item:{i}", "x")
    seen, _ = full_scan(client, "MATCH", "user:1*", "COUNT", 7)
    assert set(seen) == {f"user:{i}".encode() for i in range(100) if str(i).startswith("1")}
    seen, _ = full_scan(client, "type", "STRING", "match", "item:5")
    assert set(seen) == {b"item:5"}
    seen, _ = full_scan(client, "TYPE", "list")
    assert seen == []
    seen, _ = full_scan(client, "MATCH", "*", "MATCH", "nope")  # the last MATCH wins
    assert seen == []


def test_scan_never_returns_expired_keys(client):
    client.call("SET", "live", "1")
    client.call("SET", "dying", "1")
    client.call("PEXPIRE", "dying", 30)
    time.sleep(0.1)
    seen, _ = full_scan(client)
    assert seen == [b"live"]


@pytest.mark.parametrize("cursor", [b"", b"+0", b"00"])
def test_scan_cursor_spellings_of_zero(client, cursor):
    client.call("SET", "k", "v")
    assert client.call("SCAN", cursor, "COUNT", 100) == [b"0", [b"k"]]


@pytest.mark.parametrize("cursor", [b"-1", b"18446744073709551615", b"-18446744073709551615"])
def test_scan_cursor_is_unsigned_64_bit(client, cursor):
    client.call("SET", "k", "v")
    reply = client.call("SCAN", cursor)
    assert isinstance(reply, list) and isinstance(reply[1], list)


@pytest.mark.parametrize("cursor", [b"x", b" 0", b"0 ", b"1.5", b"18446744073709551616",
                                    b"-18446744073709551616", b"0x10", b"-", b"+"])
def test_scan_invalid_cursor(client, cursor):
    client.call("SET", "k", "v")
    assert client.call_raw("SCAN", cursor) == b"-ERR invalid cursor\r\n"
    assert client.call("SCAN", cursor, "BADOPTION") == ErrorReply("ERR invalid cursor")  # cursor first


@pytest.mark.parametrize("options, error", [
    (["COUNT", 0], SYNTAX),
    (["COUNT", -1], SYNTAX),
    (["COUNT", "x"], NOT_INT),
    (["COUNT", "x", "BADOPTION"], NOT_INT),  # COUNT is converted when it is read
    (["COUNT"], SYNTAX),
    (["MATCH"], SYNTAX),
    (["TYPE"], SYNTAX),
    (["BADOPTION", "1"], SYNTAX),
    (["COUNT", 10, "MATCH"], SYNTAX),
])
def test_scan_option_errors(client, options, error):
    client.call("SET", "k", "v")
    assert client.call("SCAN", 0, *options) == error
    assert client.call("GET", "k") == b"v"


def _scan_while_changing(client, other, churn, count):
    """Scan while `other` applies one change per call; return what the scan saw."""
    cursor, seen, changes = b"0", set(), iter(churn)
    while True:
        cursor, keys = client.call("SCAN", cursor, "COUNT", count)
        seen.update(keys)
        if cursor == b"0":
            return seen
        change = next(changes, None)
        if change is not None:
            assert not isinstance(other.call(*change), ErrorReply)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=15)
@given(
    initial=st.integers(min_value=0, max_value=300),
    deletes=st.lists(st.integers(min_value=0, max_value=299), max_size=40),
    adds=st.integers(min_value=0, max_value=600),
    count=st.sampled_from([1, 3, 10, 50]),
)
def test_scan_guarantee_under_concurrent_changes(client_factory, initial, deletes, adds, count):
    client = client_factory()
    other = client_factory()
    assert client.call("FLUSHALL") == "OK"
    if initial:
        client.pipeline(*(("SET", f"old:{i}", "v") for i in range(initial)))
    deleted = {f"old:{i}".encode() for i in deletes if i < initial}
    # The database grows a lot (tables resize in Redis) and shrinks while the scan runs.
    removals = [("DEL", f"old:{i}") for i in deletes if i < initial]
    additions = [("MSET", *(x for j in range(i, min(i + 50, adds)) for x in (f"new:{j}", "v")))
                 for i in range(0, adds, 50)]
    churn = [change for pair in itertools.zip_longest(additions, removals) for change in pair if change]
    seen = _scan_while_changing(client, other, churn, count)
    present_throughout = {f"old:{i}".encode() for i in range(initial)} - deleted
    assert present_throughout <= seen
    for client_ in (client, other):
        client_.close()


# --- RANDOMKEY ------------------------------------------------------------------------------


def test_randomkey(client, resp3_client):
    assert client.call_raw("RANDOMKEY") == b"$-1\r\n"
    assert resp3_client.call_raw("RANDOMKEY") == b"_\r\n"
    client.call("SET", "only", "v")
    assert client.call_raw("RANDOMKEY") == b"$4\r\nonly\r\n"
    keys = {b"a", b"b", b"c"}
    for key in keys:
        client.call("SET", key, "v")
    assert {client.call("RANDOMKEY") for _ in range(50)} <= keys | {b"only"}


def test_randomkey_skips_expired_keys(client):
    client.pipeline(*(("SET", f"dying:{i}", "v") for i in range(20)))
    client.pipeline(*(("PEXPIRE", f"dying:{i}", 20) for i in range(20)))
    client.call("SET", "live", "v")
    time.sleep(0.1)
    assert {client.call("RANDOMKEY") for _ in range(20)} == {b"live"}


# --- RENAME RENAMENX ------------------------------------------------------------------------


def test_rename(client):
    client.call("SET", "a", "1")
    client.call("EXPIRE", "a", 100)
    client.call("SET", "b", "2")  # overwritten, and has no expiry of its own to keep
    assert client.call_raw("RENAME", "a", "b") == b"+OK\r\n"
    assert client.call("EXISTS", "a") == 0
    assert client.call("GET", "b") == b"1"
    assert 0 < client.call("TTL", "b") <= 100
    client.call("SET", "c", "3")
    client.call("EXPIRE", "c", 100)
    client.call("SET", "d", "4")
    assert client.call("RENAME", "d", "c") == "OK"
    assert client.call("TTL", "c") == -1  # the destination's expiry goes with its old value


def test_rename_errors_and_same_name(client):
    assert client.call("RENAME", "missing", "x") == NO_SUCH_KEY
    assert client.call("RENAME", "missing", "missing") == NO_SUCH_KEY
    assert client.call("RENAMENX", "missing", "x") == NO_SUCH_KEY
    client.call("SET", "a", "1")
    assert client.call("RENAME", "a", "a") == "OK"
    assert client.call("RENAMENX", "a", "a") == 0
    assert client.call("GET", "a") == b"1"


def test_renamenx(client):
    client.call("SET", "a", "1")
    client.call("SET", "b", "2")
    assert client.call_raw("RENAMENX", "a", "b") == b":0\r\n"
    assert client.call("GET", "a") == b"1" and client.call("GET", "b") == b"2"
    assert client.call("RENAMENX", "a", "c") == 1
    assert client.call("EXISTS", "a", "c") == 1


# --- COPY MOVE ------------------------------------------------------------------------------


def test_copy_same_db(client):
    assert client.call("COPY", "missing", "x") == 0
    client.call("SET", "a", "1")
    client.call("PEXPIRE", "a", 100000)
    assert client.call_raw("COPY", "a", "b") == b":1\r\n"
    assert client.call("GET", "b") == b"1"
    assert 99000 < client.call("PTTL", "b") <= 100000  # the copy keeps the time to live
    client.call("SET", "c", "other")
    assert client.call("COPY", "a", "c") == 0
    assert client.call("GET", "c") == b"other"
    assert client.call("COPY", "a", "c", "REPLACE") == 1
    assert client.call("GET", "c") == b"1"
    assert client.call("COPY", "a", "a") == SAME_OBJECT
    assert client.call("COPY", "a", "a", "DB", 0) == SAME_OBJECT


def test_copy_is_independent(client):
    client.call("SET", "a", "hello")
    client.call("COPY", "a", "b")
    client.call("APPEND", "b", " world")
    assert client.call("GET", "a") == b"hello"


def test_copy_to_other_db(client):
    client.call("SET", "a", "1")
    assert client.call("COPY", "a", "a", "DB", 1) == 1
    assert client.call("COPY", "a", "a", "db", 1) == 0
    assert client.call("COPY", "a", "a", "REPLACE", "DB", 1) == 1
    client.call("SELECT", 1)
    assert client.call("GET", "a") == b"1"
    assert client.call("TTL", "a") == -1


@pytest.mark.parametrize("options, error", [
    (["DB", 16], DB_RANGE),
    (["DB", -1], DB_RANGE),
    (["DB", "x"], NOT_INT),
    (["DB", 2147483648], NOT_INT32),
    (["DB"], SYNTAX),
    (["BADOPTION"], SYNTAX),
])
def test_copy_errors(client, options, error):
    client.call("SET", "a", "1")
    assert client.call("COPY", "a", "b", *options) == error
    assert client.call("EXISTS", "b") == 0


def test_move(client):
    client.call("SET", "a", "1")
    client.call("EXPIRE", "a", 100)
    assert client.call_raw("MOVE", "a", 1) == b":1\r\n"
    assert client.call("EXISTS", "a") == 0
    assert client.call("MOVE", "a", 1) == 0
    client.call("SET", "a", "here")
    assert client.call("MOVE", "a", 1) == 0  # the name is taken there
    assert client.call("GET", "a") == b"here"
    client.call("SELECT", 1)
    assert client.call("GET", "a") == b"1"
    assert 0 < client.call("TTL", "a") <= 100


@pytest.mark.parametrize("db, error", [
    (0, SAME_OBJECT), (16, DB_RANGE), (-1, DB_RANGE), ("x", NOT_INT), (2147483648, NOT_INT32),
])
def test_move_errors(client, db, error):
    assert client.call("MOVE", "missing", db) == error
    client.call("SET", "a", "1")
    assert client.call("MOVE", "a", db) == error
    assert client.call("GET", "a") == b"1"


# --- EXPIRE family ----------------------------------------------------------------------------


EXPIRE_COMMANDS = ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"]


def future(command, seconds):
    """An argument for `command` that lies `seconds` in the future."""
    now = time.time()
    return {"EXPIRE": seconds, "PEXPIRE": seconds * 1000, "EXPIREAT": int(now) + seconds,
            "PEXPIREAT": int(now * 1000) + seconds * 1000}[command]


@pytest.mark.parametrize("command", EXPIRE_COMMANDS)
def test_expire_sets_ttl(client, command):
    assert client.call(command, "missing", future(command, 100)) == 0
    client.call("SET", "k", "v")
    assert client.call_raw(command, "k", future(command, 100)) == b":1\r\n"
    assert 90 <= client.call("TTL", "k") <= 101  # seconds, not ms, with room for a slow machine
    assert 90_000 <= client.call("PTTL", "k") <= 101_000


@pytest.mark.parametrize("command", EXPIRE_COMMANDS)
@pytest.mark.parametrize("when", [0, -1, "past"])
def test_expire_in_the_past_deletes(client, command, when):
    client.call("SET", "k", "v")
    if when == "past":
        when = future(command, -10)
    assert client.call(command, "k", when) == 1
    assert client.call("EXISTS", "k") == 0
    assert client.call(command, "k", when) == 0


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("command", EXPIRE_COMMANDS)
def test_expire_conditions(client, command):
    client.call("SET", "k", "v")  # no expiry: counts as infinite
    assert client.call(command, "k", future(command, 100), "XX") == 0
    assert client.call(command, "k", future(command, 100), "GT") == 0
    assert client.call("TTL", "k") == -1
    assert client.call(command, "k", future(command, 100), "nx") == 1
    assert client.call(command, "k", future(command, 200), "NX") == 0
    assert client.call(command, "k", future(command, 200), "xx", "XX") == 1
    assert client.call(command, "k", future(command, 100), "GT") == 0
    assert client.call(command, "k", future(command, 300), "XX", "GT") == 1
    assert client.call(command, "k", future(command, 400), "LT") == 0
    assert client.call(command, "k", future(command, 50), "LT", "XX") == 1
    assert 40 <= client.call("TTL", "k") <= 51
    client.call("PERSIST", "k")
    assert client.call(command, "k", future(command, 100), "LT") == 1  # less than infinite


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("command", EXPIRE_COMMANDS)
@pytest.mark.parametrize("options, error", [
    (["NX", "XX"], NX_AND_OTHERS),
    (["NX", "GT"], NX_AND_OTHERS),
    (["lt", "nx"], NX_AND_OTHERS),
    (["GT", "LT"], GT_AND_LT),
    (["XX", "GT", "LT"], GT_AND_LT),
    (["FOO"], ErrorReply("ERR Unsupported option FOO")),
    (["NX", "foo", "XX"], ErrorReply("ERR Unsupported option foo")),
])
def test_expire_option_errors(client, command, options, error):
    client.call("SET", "k", "v")
    assert client.call(command, "k", 100, *options) == error
    assert client.call(command, "k", "notanumber", *options) == error  # options come first
    assert client.call("TTL", "k") == -1


@pytest.mark.parametrize("command", EXPIRE_COMMANDS)
def test_expire_not_a_number(client, command):
    client.call("SET", "k", "v")
    for bad in ("x", "1.5", "", " 1", "9223372036854775808"):
        assert client.call(command, "k", bad) == NOT_INT
    assert client.call("TTL", "k") == -1


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("command, when", [
    ("EXPIRE", 9223372036854775), ("EXPIRE", 9223372036854776), ("EXPIRE", -9223372036854776),
    ("PEXPIRE", 9223372036854775807), ("EXPIREAT", 9223372036854776),
    ("EXPIREAT", -9223372036854776), ("PEXPIREAT", 9223372036854775807),
])
def test_expire_overflow(client, command, when):
    client.call("SET", "k", "v")
    reply = client.call(command, "k", when)
    if command == "PEXPIREAT":  # an absolute time in ms cannot overflow
        assert reply == 1 and client.call("TTL", "k") > 0
    else:
        assert reply == ErrorReply(f"ERR invalid expire time in '{command.lower()}' command")
        assert client.call("TTL", "k") == -1


def test_expire_overflow_limits_that_fit(client):
    client.call("SET", "k", "v")
    assert client.call("EXPIREAT", "k", 9223372036854775) == 1
    assert client.call("PEXPIRETIME", "k") == 9223372036854775000
    assert client.call("EXPIRE", "k", -9223372036854775) == 1  # fits, and lies in the past
    assert client.call("EXISTS", "k") == 0


def test_set_clears_expiry_and_key_expires_lazily(client):
    client.call("SET", "k", "v")
    client.call("PEXPIRE", "k", 50)
    client.call("SET", "k", "v2")
    assert client.call("TTL", "k") == -1
    client.call("PEXPIRE", "k", 50)
    time.sleep(0.1)
    assert client.call("GET", "k") is None
    assert client.call("TTL", "k") == -2


def test_active_expiry_removes_unread_keys(client):
    client.pipeline(*(("SET", f"k{i}", "v") for i in range(50)))
    client.pipeline(*(("PEXPIRE", f"k{i}", 100) for i in range(50)))
    client.call("SET", "keep", "v")
    deadline = time.monotonic() + 30  # the cron's passes, however slow the machine
    while client.call("DBSIZE") != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.call("DBSIZE") == 1


# --- TTL PTTL EXPIRETIME PEXPIRETIME PERSIST ----------------------------------------------


@pytest.mark.parametrize("command", ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"])
def test_ttl_family_missing_and_persistent(client, command):
    assert client.call_raw(command, "missing") == b":-2\r\n"
    client.call("SET", "k", "v")
    assert client.call_raw(command, "k") == b":-1\r\n"


def test_ttl_values(client):
    client.call("SET", "k", "v")
    at_ms = int(time.time() * 1000) + 100_400
    client.call("PEXPIREAT", "k", at_ms)
    assert client.call("PEXPIRETIME", "k") == at_ms
    assert client.call("EXPIRETIME", "k") == (at_ms + 500) // 1000  # rounded to nearest second
    assert 90_000 < client.call("PTTL", "k") <= 100_400
    # Each pair in one pipeline: the server runs both in one go, well within a 100 ms step.
    assert client.pipeline(("PEXPIRE", "k", 100_400), ("TTL", "k")) == [1, 100]  # 100.4 s rounds down
    assert client.pipeline(("PEXPIRE", "k", 100_600), ("TTL", "k")) == [1, 101]  # 100.6 s rounds up


def test_persist(client):
    assert client.call_raw("PERSIST", "missing") == b":0\r\n"
    client.call("SET", "k", "v")
    assert client.call("PERSIST", "k") == 0
    client.call("EXPIRE", "k", 100)
    assert client.call("PERSIST", "k") == 1
    assert client.call("TTL", "k") == -1


# --- OBJECT ---------------------------------------------------------------------------------


@pytest.mark.internals("OBJECT ENCODING")
@pytest.mark.parametrize("value, encoding", [
    (b"0", b"int"), (b"12345", b"int"), (b"-1", b"int"),
    (b"9223372036854775807", b"int"), (b"-9223372036854775808", b"int"),
    (b"9223372036854775808", b"embstr"), (b"01", b"embstr"), (b"+1", b"embstr"), (b"-0", b"embstr"),
    (b" 1", b"embstr"), (b"1.5", b"embstr"), (b"", b"embstr"), (b"hello", b"embstr"),
    (b"x" * 44, b"embstr"), (b"x" * 45, b"raw"), (b"1" * 45, b"raw"),
])
def test_object_encoding_of_strings(client, value, encoding):
    client.call("SET", "k", value)
    assert client.call("OBJECT", "ENCODING", "k") == encoding


@pytest.mark.internals("OBJECT ENCODING")
def test_object_encoding_raw_after_in_place_change(client):
    client.call("SET", "k", "abc")
    client.call("APPEND", "k", "d")
    assert client.call_raw("OBJECT", "ENCODING", "k") == b"$3\r\nraw\r\n"
    client.call("SET", "n", "12")
    client.call("SETRANGE", "n", 0, "3")
    assert client.call("OBJECT", "ENCODING", "n") == b"raw"
    client.call("SET", "n", "12")  # a new value is encoded afresh
    assert client.call("OBJECT", "ENCODING", "n") == b"int"


@pytest.mark.parametrize("sub", ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ"])
def test_object_missing_key(client, resp3_client, sub):
    assert client.call_raw("OBJECT", sub, "missing") == b"$-1\r\n"
    assert resp3_client.call_raw("OBJECT", sub, "missing") == b"_\r\n"


@pytest.mark.internals("OBJECT REFCOUNT, shared integers")
def test_object_refcount(client):
    client.call("SET", "small", "9999")
    assert client.call_raw("OBJECT", "REFCOUNT", "small") == b":2147483647\r\n"
    client.call("SET", "zero", "0")
    assert client.call("OBJECT", "REFCOUNT", "zero") == 2147483647
    for value in ("10000", "-1", "hello", "x" * 50):
        client.call("SET", "k", value)
        assert client.call("OBJECT", "REFCOUNT", "k") == 1


def test_object_freq_needs_lfu(client):
    client.call("SET", "k", "v")
    assert client.call("OBJECT", "FREQ", "k") == NO_LFU
    assert client.call("PING") == "PONG"


# Idle time is counted in whole seconds of a clock that Redis's cron advances: a key read just
# now may already show 1 if the second turned in between. So an access and the OBJECT IDLETIME
# that must see 0 go in one pipeline (run in one go, the clock unchanged), and a key is waited
# for until it shows 1, however long that takes on a loaded machine.


def wait_until_idle(client, key, deadline: float = 30.0) -> None:
    """Until OBJECT IDLETIME says key has been idle a second or more (OBJECT does not touch it)."""
    end = time.monotonic() + deadline
    while client.call("OBJECT", "IDLETIME", key) < 1:
        assert time.monotonic() < end, f"{key!r} not idle for a second after {deadline}s"
        time.sleep(0.1)


def test_object_idletime(client):
    assert client.pipeline(("SET", "k", "not an integer"), ("OBJECT", "IDLETIME", "k")) == ["OK", 0]
    wait_until_idle(client, "k")
    for inspect in (("TYPE", "k"), ("TTL", "k"), ("EXISTS", "k"), ("OBJECT", "ENCODING", "k")):
        client.call(*inspect)  # looks, without counting as an access
    assert client.call("OBJECT", "IDLETIME", "k") >= 1
    assert client.pipeline(("GET", "k"), ("OBJECT", "IDLETIME", "k")) == [b"not an integer", 0]


def test_touch_resets_idletime(client):
    client.call("SET", "k", "not an integer")
    wait_until_idle(client, "k")
    assert client.pipeline(("TOUCH", "k"), ("OBJECT", "IDLETIME", "k")) == [1, 0]


def test_object_under_lfu_policy(client):
    client.call("SET", "k", "v")
    original = config_value(client, "maxmemory-policy")
    assert client.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lfu") == "OK"
    try:
        assert client.call("OBJECT", "IDLETIME", "k") == LFU
        assert isinstance(client.call("OBJECT", "FREQ", "k"), int)
        assert client.call("OBJECT", "IDLETIME", "missing") is None  # the key is looked up first
    finally:
        client.call("CONFIG", "SET", "maxmemory-policy", original)


def test_object_errors(client):
    client.call("SET", "k", "v")
    assert client.call("OBJECT", "NOSUCH", "k") == ErrorReply(
        "ERR unknown subcommand 'NOSUCH'. Try OBJECT HELP.")
    assert client.call("OBJECT", "ENCODING") == ErrorReply(
        "ERR wrong number of arguments for 'object|encoding' command")
    assert client.call("OBJECT", "ENCODING", "k", "extra") == ErrorReply(
        "ERR wrong number of arguments for 'object|encoding' command")
