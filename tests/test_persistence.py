"""Unit tests of reference/persistence/snapshots.py's pure helper: the change count estimate."""
import pytest

from reference.persistence.snapshots import changes_made


@pytest.mark.parametrize("name, argv, reply, changes", [
    ("set", [b"SET", b"k", b"v"], "OK", 1),
    ("set", [b"SET", b"k", b"v", b"NX"], None, 0),
    ("mset", [b"MSET", b"a", b"1", b"b", b"2", b"c", b"3"], "OK", 3),
    ("msetnx", [b"MSETNX", b"a", b"1", b"b", b"2"], 0, 0),
    ("msetnx", [b"MSETNX", b"a", b"1", b"b", b"2"], 1, 2),
    ("del", [b"DEL", b"x", b"y"], 0, 0),
    ("del", [b"DEL", b"x", b"y"], 2, 2),
    ("incr", [b"INCR", b"n"], 0, 1),   # a zero result is still a change
    ("lpop", [b"LPOP", b"l"], None, 0),
])
def test_changes_made(name, argv, reply, changes):
    assert changes_made(name, argv, reply) == changes
