"""COMMAND GETKEYS over commands whose keys are counted by an argument (ZUNIONSTORE, SINTERCARD,
LMPOP ... : a `keynum` key spec): the count and the keys after it, as Redis finds them, and the
error when the count is not a number, is negative or zero, or names more keys than follow."""
from __future__ import annotations

import pytest

from conformance.client import ErrorReply

INVALID = ErrorReply("ERR Invalid arguments specified for command")


@pytest.mark.parametrize("line, keys", [
    (("ZUNIONSTORE", "dst", 2, "a", "b"), [b"dst", b"a", b"b"]),
    (("ZINTERSTORE", "dst", 1, "a", "b"), [b"dst", b"a"]),
    (("SINTERCARD", 2, "a", "b"), [b"a", b"b"]),
    (("SINTERCARD", 1, "a", "LIMIT", 5), [b"a"]),
    (("LMPOP", 2, "a", "b", "LEFT"), [b"a", b"b"]),
    (("BLMPOP", 0, 2, "a", "b", "LEFT"), [b"a", b"b"]),
    (("ZUNION", 3, "a", "b", "c", "WITHSCORES"), [b"a", b"b", b"c"]),
    (("ZDIFF", 1, "a"), [b"a"]),
])
def test_counted_keys(client, line, keys):
    assert client.call("COMMAND", "GETKEYS", *line) == keys


@pytest.mark.parametrize("line", [
    ("ZUNIONSTORE", "dst", 2, "a"),
    ("ZUNIONSTORE", "dst", "x", "a", "b"),
    ("ZUNIONSTORE", "dst", -1, "a"),
    ("ZUNIONSTORE", "dst", 0, "a"),
    ("LMPOP", 5, "a", "b", "LEFT"),
    ("SINTERCARD", "x", "a"),
])
def test_a_bad_count_of_keys(client, line):
    assert client.call("COMMAND", "GETKEYS", *line) == INVALID
