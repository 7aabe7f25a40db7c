"""Unit tests of the hashes family's helpers: the encoding state kept by writes, HSCAN's batches
(whose promise must hold however the hash changes between calls), the option readers."""
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.commands.hashes import (
    HashValue,
    _scan_batch,
    _scan_options,
    _set_field,
    copy_hash,
    hash_encoding,
    parse_hrandfield_count,
)
from reference.dispatch import CommandError
from reference.keyspace import VALUE_TYPES
from reference.values import BadValue


def client_with(entries=512, value=64):
    config = {"hash-max-listpack-entries": entries, "hash-max-listpack-value": value}
    return SimpleNamespace(server=SimpleNamespace(config=config))


def test_registered_as_hash():
    assert VALUE_TYPES[HashValue].name == "hash"
    assert hash_encoding(HashValue()) == "listpack"


def test_set_field_converts_on_count_and_length_and_never_back():
    client = client_with(entries=2, value=3)
    value = HashValue()
    assert _set_field(client, value, b"a", b"1") is True
    assert _set_field(client, value, b"a", b"2") is False
    _set_field(client, value, b"b", b"abc")
    assert hash_encoding(value) == "listpack"
    _set_field(client, value, b"c", b"1")
    assert hash_encoding(value) == "hashtable"
    value.clear()
    value[b"a"] = b"1"
    assert hash_encoding(value) == "hashtable"
    long_value = HashValue()
    _set_field(client, long_value, b"a", b"abcd")
    assert hash_encoding(long_value) == "hashtable"


def test_copy_keeps_the_encoding_and_is_independent():
    value = HashValue({b"a": b"1"})
    value.hashtable = True
    copy = copy_hash(value)
    assert copy == value and copy.hashtable and copy is not value
    copy[b"b"] = b"2"
    assert b"b" not in value


def test_hrandfield_count():
    assert parse_hrandfield_count(b"-9223372036854775807") == -9223372036854775807
    with pytest.raises(CommandError, match="must between"):
        parse_hrandfield_count(b"-9223372036854775808")
    with pytest.raises(BadValue, match="not an integer"):
        parse_hrandfield_count(b"x")


def test_scan_options():
    assert _scan_options([]) == (None, 10)
    assert _scan_options([b"match", b"a*", b"COUNT", b"3", b"count", b"4"]) == (b"a*", 4)
    assert _scan_options([b"MATCH", b"*"]) == (None, 10)
    with pytest.raises(BadValue, match="not an integer"):
        _scan_options([b"count", b"x", b"bogus"])
    for bad in ([b"count"], [b"count", b"0"], [b"type", b"hash"], [b"x", b"y"]):
        with pytest.raises(CommandError, match="syntax error"):
            _scan_options(bad)


@settings(max_examples=50, deadline=None)
@given(initial=st.sets(st.binary(max_size=6), min_size=1, max_size=80),
       steps=st.lists(st.tuples(st.booleans(), st.binary(max_size=6)), max_size=80),
       count=st.integers(1, 20))
def test_scan_batch_returns_every_field_present_throughout(initial, steps, count):
    value = HashValue(dict.fromkeys(initial, b"v"))
    stable = set(initial)
    seen, cursor = set(), 0
    for _ in range(10_000):
        cursor, fields = _scan_batch(value, cursor, count)
        seen.update(field for field in fields if field in value)
        if cursor == 0:
            break
        if steps:
            add, field = steps.pop()
            if add:
                value[field] = b"v"
            else:
                value.pop(field, None)
                stable.discard(field)
    assert stable <= seen
    assert value.scan_order is None      # a finished scan drops its snapshot
