"""What the replication tests share (conformance/test_replication*.py): linking a replica to a
master and waiting until it holds the master's data, reading the sync counters, datasets to
copy. Each step is polled for with a generous deadline: a busy machine makes every step slow.

The `pair` fixture (conformance/plugin.py) gives the launchers of masters and of replicas.
"""
from __future__ import annotations

import functools
import time

from conformance import waiting
from conformance.readings import info

DEADLINE = 60.0  # seconds any one state may take to come
# Masters start a copy at once (Redis 7.0 waits 5 seconds for more replicas by default).
MASTER_OPTIONS = {"repl-diskless-sync-delay": "0"}
READONLY = "READONLY You can't write against a read only replica."


wait_for = functools.partial(waiting.wait_for, timeout=DEADLINE)


def link_up(replica) -> bool:
    fields = info(replica.client(), "replication")
    return fields["master_link_status"] == "up" and fields["master_sync_in_progress"] == "0"


def replicate(replica, master) -> None:
    """REPLICAOF master, then wait until the link is up."""
    client = replica.client()
    assert client.call("REPLICAOF", "127.0.0.1", master.port) == "OK"
    wait_for(lambda: link_up(replica), f"{replica} connected to {master}")


def in_sync(master, *replicas) -> None:
    """Wait until every replica has applied all the master's stream and holds its data."""
    def caught_up() -> bool:
        offset = int(info(master.client(), "replication")["master_repl_offset"])
        digest = master.client().call("DEBUG", "DIGEST")
        for replica in replicas:
            client = replica.client()
            if int(info(client, "replication")["slave_repl_offset"]) < offset:
                return False
            if client.call("DEBUG", "DIGEST") != digest:
                return False
        return True
    try:
        wait_for(caught_up, "replicas caught up with the master, digests equal")
    except AssertionError as error:
        raise AssertionError(f"{error}\n{state_of(master, *replicas)}") from None


def state_of(*servers) -> str:
    """What each server says of its replication, and the end of its log: what a failed wait
    shows, so that its cause can be told from the report alone."""
    parts = []
    for server in servers:
        try:
            fields = info(server.client(), "replication")
            shown = ", ".join(f"{name}={value}" for name, value in fields.items())
        except Exception as error:  # (a server gone: say so, and show its log all the same)
            shown = f"no INFO: {error!r}"
        parts.append(f"--- {server}: {shown}\n{server.log_tail(25)}")
    return "\n".join(parts)


def stats(server) -> dict[str, int]:
    fields = info(server.client(), "stats")
    return {name: int(fields[name]) for name in ("sync_full", "sync_partial_ok", "sync_partial_err")}


def fill(client) -> None:
    """Values of every type, in two databases, one with a (far) expiry."""
    client.call("SET", "string", "value")
    client.call("RPUSH", "list", "a", "b", "c")
    client.call("SADD", "set", "x", "y", 1, 2)
    client.call("HSET", "hash", "f", "v", "g", "w")
    client.call("ZADD", "zset", 1, "one", 2.5, "two")
    client.call("SET", "expiring", "soon", "EX", 100000)
    client.call("SELECT", 5)
    client.call("SET", "in-five", "5")
    client.call("SELECT", 0)


def write_more(client) -> None:
    """Writes that the stream must carry as they took effect."""
    client.call("INCR", "counter")
    client.call("INCRBYFLOAT", "float", "1.5")
    client.call("EXPIRE", "string", 100000)
    client.call("LPOP", "list")
    client.call("SELECT", 7)
    client.call("SET", "in-seven", "7")
    client.call("SELECT", 0)
    executed = client.pipeline(("MULTI",), ("SET", "t1", "1"), ("ZINCRBY", "zset", 1, "one"), ("EXEC",))[-1]
    assert executed[0] == "OK" and isinstance(executed[1], bytes)
    client.call("DEL", "hash")


def received_until(client, done, timeout: float = DEADLINE) -> bytes:
    """The bytes a raw connection receives until done(bytes so far) (a replica's view)."""
    data = b""
    deadline = time.monotonic() + timeout
    while not done(data):
        assert time.monotonic() < deadline, f"not received within {timeout:g}s; got {data[:200]!r}"
        client.sock.settimeout(max(0.1, min(1.0, deadline - time.monotonic())))
        try:
            chunk = client.sock.recv(65536)
        except TimeoutError:
            continue
        assert chunk, f"connection closed; got {data[:200]!r}"
        data += chunk
    return data
