"""Blocking pops at their edges: a key named twice (the client waits on it once), timeouts too
large to count in milliseconds (Redis calls them negative)."""
from __future__ import annotations

import pytest

from conformance.blocking import wait_until_blocked
from conformance.client import ErrorReply


@pytest.mark.parametrize("timeout", ["1e4931", "1e300", "1e20"])
def test_a_timeout_too_large_is_negative(client, timeout):
    assert client.call("BLPOP", "nokey", timeout) == ErrorReply("ERR timeout is negative")


def test_a_key_named_twice(client, client_factory):
    waiter = client_factory()
    waiter.send_command("BLPOP", "k", "k", 0)
    wait_until_blocked(client, 1)
    assert client.call("RPUSH", "k", "a", "b") == 2
    assert waiter.read_reply() == [b"k", b"a"]
    assert client.call("LRANGE", "k", 0, -1) == [b"b"]
    assert waiter.call("BLPOP", "none", "none", "0.01") is None
