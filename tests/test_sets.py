"""Unit tests of the sets family's helpers (reference/commands/sets.py)."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.commands.sets import (
    MemberScanIndex,
    SetValue,
    _difference,
    _intersection,
    _new_set,
    _scan_options,
    _union,
)
from reference.dispatch import CommandError
from reference.keyspace import VALUE_TYPES
from reference.values import BadValue


def encoding_of(value) -> str:
    return VALUE_TYPES[type(value)].encoding(value, None)


def test_add_member_reports_new_members_only():
    value = SetValue()
    assert value.add_member(b"1", 512) is True
    assert value.add_member(b"1", 512) is False
    assert value == {b"1"} and value.intset


@pytest.mark.parametrize("member", [b"a", b"01", b"-0", b"+1", b"9223372036854775808", b""])
def test_a_non_integer_member_ends_the_intset(member):
    value = _new_set([b"1", b"2"], 512)
    value.add_member(member, 512)
    assert not value.intset
    value.discard(member)
    assert not value.intset  # removing never converts back


def test_the_size_limit_applies_on_addition():
    value = _new_set([b"1", b"2"], 2)
    assert value.intset
    assert value.add_member(b"2", 1) is False and value.intset  # nothing added: unchanged
    value.add_member(b"3", 2)
    assert not value.intset
    assert not _new_set([b"5"], 0).intset


def test_intsets_iterate_in_ascending_numeric_order():
    value = _new_set([b"10", b"-3", b"2", b"-9223372036854775808"], 512)
    assert value.ordered() == [b"-9223372036854775808", b"-3", b"2", b"10"]


def test_copy_keeps_the_encoding():
    value = _new_set([b"1", b"x"], 512)
    value.discard(b"x")
    copy = VALUE_TYPES[SetValue].copy(value)
    assert copy == value and copy is not value
    assert encoding_of(copy) == "hashtable"


def test_intersection_and_union():
    a, b = _new_set([b"1", b"2", b"3"], 512), _new_set([b"3", b"2", b"x"], 512)
    assert _intersection([a, b]) == [b"2", b"3"]
    assert _intersection([a, None]) == []
    assert sorted(_union([a, None, b])) == [b"1", b"2", b"3", b"x"]


def test_difference_and_its_encoding():
    big = _new_set([str(i).encode() for i in range(1, 21)] + [b"x"], 512)
    s1, s2 = _new_set([b"x"], 512), _new_set([b"y"], 512)
    whole_copy = _difference([big, s1, s2], 512)        # 21*3//2 > 23: the first set copied whole
    assert len(whole_copy) == 20 and not whole_copy.intset
    kept_only = _difference([big, s1], 512)             # 21*2//2 <= 22: only the kept members added
    assert kept_only == whole_copy and kept_only.intset
    assert _difference([None, s1], 512) == set()
    assert _difference([big, s1, big], 512) == set()    # the first key again


@given(st.lists(st.binary(max_size=4), max_size=60), st.integers(0, 2**64 - 1), st.integers(1, 10))
def test_scan_batches_resume_where_they_left_off(members, cursor, count):
    index = MemberScanIndex(set(members))
    next_cursor, batch = index.batch(cursor, count)
    assert all(hash(m) + (1 << 63) >= cursor for m in batch)
    if next_cursor:
        assert all(hash(m) + (1 << 63) < next_cursor for m in batch)


def test_a_full_scan_visits_every_member():
    members = {str(i).encode() for i in range(500)}
    index = MemberScanIndex(members)
    cursor, seen = 0, []
    while True:
        cursor, batch = index.batch(cursor, 7)
        seen.extend(batch)
        if cursor == 0:
            break
    assert sorted(seen) == sorted(members)


def test_scan_options():
    assert _scan_options([]) == (None, 10)
    assert _scan_options([b"match", b"*"]) == (None, 10)
    assert _scan_options([b"MATCH", b"a*", b"Count", b"3", b"COUNT", b"5"]) == (b"a*", 5)
    for bad, text in (([b"COUNT", b"0"], "ERR syntax error"), ([b"COUNT"], "ERR syntax error"),
                      ([b"TYPE", b"set"], "ERR syntax error"),
                      ([b"COUNT", b"x"], "ERR value is not an integer or out of range")):
        with pytest.raises((CommandError, BadValue)) as error:  # the dispatcher replies either
            _scan_options(bad)
        assert error.value.args[0] == text
