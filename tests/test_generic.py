"""Unit tests of the generic family's pure helpers (reference/commands/generic.py)."""
import pytest
from hypothesis import given, strategies as st

from reference.commands.generic import (
    ScanIndex, check_expire_conditions, parse_scan_cursor)
from reference.commands.strings import string_encoding
from reference.dispatch import CommandError
from reference.keyspace import Keyspace


def db_with(keys):
    db = Keyspace(1)[0]
    for key in keys:
        db.set(key, b"v")
    return db


def scan_all(db, count):
    """Run a whole scan over db through fresh indexes as SCAN does; return keys and calls."""
    index = ScanIndex(db)
    cursor, seen, calls = 0, [], 0
    while True:
        cursor, batch = index.batch(cursor, count)
        seen.extend(batch)
        calls += 1
        if cursor == 0:
            return seen, calls


@given(st.sets(st.binary(max_size=8), max_size=200), st.integers(min_value=1, max_value=30))
def test_scan_index_visits_each_key_exactly_once(keys, count):
    seen, calls = scan_all(db_with(keys), count)
    assert sorted(seen) == sorted(keys)
    assert calls <= max(1, -(-len(keys) // count))


@given(st.sets(st.binary(max_size=6), min_size=1, max_size=100),
       st.sets(st.binary(min_size=7, max_size=9), max_size=300),
       st.integers(min_value=1, max_value=10), st.integers(min_value=0, max_value=20))
def test_scan_cursor_survives_a_rebuilt_index(keys, added, count, rebuild_after):
    """A cursor from one snapshot, continued on a snapshot of a grown database, still covers
    every key that was there from the start."""
    db = db_with(keys)
    index = ScanIndex(db)
    cursor, seen = 0, set()
    for step in range(10_000):
        cursor, batch = index.batch(cursor, count)
        seen.update(batch)
        if cursor == 0:
            break
        if step == rebuild_after:
            for key in added:
                db.set(key, b"v")
            index = ScanIndex(db)
    assert keys <= seen


def test_scan_index_keeps_equal_hashes_together():
    index = ScanIndex(db_with([b"a", b"b", b"c"]))
    index.positions = [5, 5, 9]  # pretend a and b collide
    index.keys = [b"a", b"b", b"c"]
    assert index.batch(0, 1) == (9, [b"a", b"b"])
    assert index.batch(9, 1) == (0, [b"c"])


@pytest.mark.parametrize("raw, value", [
    (b"0", 0), (b"", 0), (b"+7", 7), (b"007", 7), (b"-1", 2**64 - 1),
    (b"18446744073709551615", 2**64 - 1), (b"-18446744073709551615", 1),
])
def test_parse_scan_cursor(raw, value):
    assert parse_scan_cursor(raw) == value


@pytest.mark.parametrize("raw", [b" 1", b"1 ", b"x", b"1x", b"+", b"-", b"18446744073709551616", b"+-1"])
def test_parse_scan_cursor_rejects(raw):
    with pytest.raises(CommandError, match="^ERR invalid cursor$"):
        parse_scan_cursor(raw)


def test_expire_condition_combinations():
    check_expire_conditions(set())
    check_expire_conditions({"xx", "gt"})
    with pytest.raises(CommandError, match="^ERR NX and XX"):
        check_expire_conditions({"lt", "nx"})
    with pytest.raises(CommandError, match="^ERR GT and LT"):
        check_expire_conditions({"gt", "xx", "lt"})


@pytest.mark.parametrize("value, encoding", [
    (b"1", "int"), (b"-9223372036854775808", "int"), (b"9223372036854775808", "embstr"),
    (b"012", "embstr"), (b"x" * 44, "embstr"), (b"x" * 45, "raw"), (bytearray(b"1"), "raw"),
])
def test_string_encoding(value, encoding):
    assert string_encoding(value) == encoding
