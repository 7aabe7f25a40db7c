"""Reading what a server reports about itself: the fields of INFO and the values of CONFIG GET.

A target that lacks a field or a parameter (Redis 6.2 has no list-max-listpack-size; fakeredis
has no CONFIG) makes the test fail with a sentence that names what is missing, never with a
KeyError or an IndexError from inside the suite.
"""
from __future__ import annotations

from conformance.client import ErrorReply


class InfoFields(dict):
    """An INFO reply's `name:value` fields, in the order printed. Looking up a field the reply
    does not have fails the test, naming the field and the INFO that lacked it."""

    def __init__(self, fields, source: str):
        super().__init__(fields)
        self.source = source

    def __missing__(self, name: str):
        raise AssertionError(f"{self.source} has no field {name!r}")


def info_fields(reply, source: str = "INFO") -> InfoFields:
    """The fields of an INFO reply (bytes or str); an error reply fails the test."""
    if isinstance(reply, ErrorReply):
        raise AssertionError(f"{source} answered an error: {reply}")
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    return InfoFields((line.split(":", 1) for line in text.splitlines()
                       if ":" in line and not line.startswith("#")), source)


def info(client, section: str = "") -> InfoFields:
    """The fields of `INFO section` as client sees them now."""
    words = ("INFO", section) if section else ("INFO",)
    return info_fields(client.call(*words), " ".join(words))


def config_value(client, name: str) -> bytes:
    """What `CONFIG GET name` answers for that one parameter."""
    reply = client.call("CONFIG", "GET", name)
    if isinstance(reply, ErrorReply):
        raise AssertionError(f"CONFIG GET {name} answered an error: {reply}")
    pairs = dict(zip(reply[::2], reply[1::2])) if isinstance(reply, list) else reply
    value = pairs.get(name.encode()) if isinstance(pairs, dict) else None
    if value is None:
        raise AssertionError(f"CONFIG GET {name}: the server has no such parameter (Redis 7.0 has)")
    return value


def changes(client) -> int:
    """INFO's rdb_changes_since_last_save: the changes Redis counts (its `dirty` counter)."""
    return int(info(client, "persistence")["rdb_changes_since_last_save"])
