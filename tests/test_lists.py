"""Unit tests of the pure helpers of reference/commands/lists.py."""
import pytest

from reference.blocking import parse_timeout
from reference.commands.lists import ListValue
from reference.values import index_range
from reference.dispatch import build_table
from reference.dispatch import CommandError
from reference.keyspace import type_name, VALUE_TYPES


@pytest.mark.parametrize("raw,ms", [
    (b"0", 0), (b"1", 1000), (b"0.1", 100), (b"0.0001", 1), (b"-0.0001", 0), (b"1e3", 1_000_000),
    (b"0x10", 16_000), (b"1.0005", 1001), (b"9223372036854775", 9223372036854775000),
])
def test_parse_timeout(raw, ms):
    assert parse_timeout(raw) == ms


@pytest.mark.parametrize("raw,error", [
    (b"abc", "ERR timeout is not a float or out of range"), (b" 1", "ERR timeout is not a float or out of range"),
    (b"nan", "ERR timeout is not a float or out of range"), (b"-1", "ERR timeout is negative"),
    (b"inf", "ERR timeout is negative"), (b"1e20", "ERR timeout is negative"), (b"1e400", "ERR timeout is negative"),
])
def test_parse_timeout_errors(raw, error):
    with pytest.raises(CommandError) as caught:
        parse_timeout(raw)
    assert caught.value.args[0] == error


@pytest.mark.parametrize("length,start,stop,expected", [
    (5, 0, -1, (0, 4)), (5, -2, -1, (3, 4)), (5, 3, 1, None), (5, 5, 9, None), (5, -9, 1, (0, 1)),
    (5, 1, 99, (1, 4)), (0, 0, -1, None),
])
def testindex_range(length, start, stop, expected):
    assert index_range(length, start, stop) == expected


def test_lmpop_arguments_as_declared():
    """numkeys counts the keys; the direction and COUNT follow; errors in Redis's order."""
    match = build_table()[b"lmpop"].match
    got = match([b"2", b"a", b"b", b"LEFT"])
    assert got["key"] == [b"a", b"b"] and got["where"] == "left" and "count" not in got
    got = match([b"1", b"RIGHT", b"right", b"count", b"3"])
    assert got["key"] == [b"RIGHT"] and got["where"] == "right" and got["count"] == 3
    for words, error in [
        ([b"0", b"a", b"LEFT"], "ERR numkeys should be greater than 0"),
        ([b"x", b"a", b"LEFT"], "ERR numkeys should be greater than 0"),
        ([b"2", b"a", b"LEFT"], "ERR syntax error"),
        ([b"1", b"a", b"LEFT", b"COUNT", b"0"], "ERR count should be greater than 0"),
        ([b"1", b"a", b"LEFT", b"COUNT", b"0", b"junk"], "ERR count should be greater than 0"),
        ([b"1", b"a", b"LEFT", b"COUNT", b"1", b"COUNT", b"1"], "ERR syntax error"),
    ]:
        with pytest.raises(Exception) as caught:
            match(words)
        assert caught.value.args[0] == error, words


def test_list_type_is_registered():
    value = ListValue([b"a"])
    assert type_name(value) == "list"
    assert VALUE_TYPES[ListValue].encoding(value, None) == "quicklist"
    copy = VALUE_TYPES[ListValue].copy(value)
    copy.append(b"b")
    assert list(value) == [b"a"] and type(copy) is ListValue
