"""Reading a server's data back whole, to compare it before and after a restart or across two
servers (the persistence tests)."""
from __future__ import annotations


def type_of(c, key) -> str:
    kind = c.call("TYPE", key)
    return kind.decode() if isinstance(kind, bytes) else str(kind)


def contents(c, key, kind: str):
    """The whole value at key, in a form that compares equal when the values are: a hash as a
    dict, a set's members sorted, a sorted set's members and scores in order."""
    if kind == "string":
        return c.call("GET", key)
    if kind == "list":
        return c.call("LRANGE", key, "0", "-1")
    if kind == "hash":
        flat = c.call("HGETALL", key)
        return dict(zip(flat[::2], flat[1::2]))
    if kind == "set":
        return sorted(c.call("SMEMBERS", key))
    return c.call("ZRANGE", key, "0", "-1", "WITHSCORES")
