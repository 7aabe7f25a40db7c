"""Clients blocked on keys: BLPOP, BLMOVE, BZPOPMIN and the other blocking commands.

A blocking command's handler that finds nothing to serve returns a `Block` instead of a reply.
The server then parks the client on each key it named (first come, first served per key) and
reads no further commands from it. Whenever a parked-on key is written (Database.touch marks it
ready), the command of each client waiting on it is run again, in arrival order, exactly as it
was sent: one that now finds data replies and the client goes on; one that still finds nothing
stays where it was in the queue. When a client's deadline passes it gets its command's timeout
reply. Inside MULTI (or any context where waiting is impossible) a Block is answered with the
timeout reply at once, as Redis does.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from reference import longdouble
from reference.dispatch import CommandError
from reference.values import INT64_MAX, INT64_MIN


@dataclass
class Block:
    """A handler's answer meaning: wait for one of these keys (in the client's database)."""
    keys: list[bytes]
    timeout_ms: int          # how long to wait; 0 waits forever
    timeout_reply: object    # what the client gets if the time runs out


@dataclass
class Waiting:
    """A parked client: what to run again, and until when."""
    command: object
    argv: list[bytes]
    db: object
    keys: list[bytes]
    deadline_ms: int | None  # absolute unix ms, None for ever
    timeout_reply: object
    ready_key: bytes | None = None  # while being run again: the key that became ready


class BlockedClients:
    def __init__(self, server):
        self.server = server
        self.waiting: set = set()  # clients with a `blocked` Waiting

    def park(self, client, command, argv, block: Block) -> None:
        now = self.server.keyspace.clock.ms
        deadline = now + block.timeout_ms if block.timeout_ms else None
        keys = list(dict.fromkeys(block.keys))  # a key named twice waits once
        client.blocked = Waiting(command, argv, client.db, keys, deadline, block.timeout_reply)
        for key in keys:
            client.db.blocking_keys.setdefault(key, []).append(client)
        self.waiting.add(client)

    def release(self, client) -> None:
        """Take the client off every key it waits on (served, timed out, killed, unblocked)."""
        waiting = client.blocked
        if waiting is None:
            return
        client.blocked = None
        self.waiting.discard(client)
        for key in waiting.keys:  # (each named once: park queued the client once per key)
            queue = waiting.db.blocking_keys[key]
            queue.remove(client)
            if not queue:
                del waiting.db.blocking_keys[key]

    def serve_ready_keys(self) -> None:
        """Run again the commands of clients waiting on keys written since last time, until no
        key is ready (serving one client may feed another: BLMOVE pushes)."""
        ready = self.server.keyspace.ready_keys
        while ready:
            db, key = next(iter(ready))  # oldest first, as Redis's ready_keys list
            del ready[(db, key)]
            for client in list(db.blocking_keys.get(key, ())):
                if client.blocked is not None:
                    self.retry(client, key)

    def retry(self, client, key: bytes) -> None:
        waiting = client.blocked
        waiting.ready_key = key
        reply = self.server.run_command(client, waiting.command, waiting.argv)
        if isinstance(reply, Block):
            return  # still nothing: keep its place in the queues
        self.release(client)
        client.reply(reply)
        self.server.resume(client)

    def with_deadline(self) -> int:
        """How many waiting clients have a timeout (INFO clients_in_timeout_table)."""
        return sum(1 for client in self.waiting if client.blocked.deadline_ms is not None)

    def next_deadline_ms(self) -> int | None:
        deadlines = [c.blocked.deadline_ms for c in self.waiting if c.blocked.deadline_ms is not None]
        return min(deadlines) if deadlines else None

    def expire(self, now_ms: int) -> None:
        """Answer the clients whose time ran out."""
        for client in [c for c in self.waiting
                       if c.blocked.deadline_ms is not None and c.blocked.deadline_ms <= now_ms]:
            reply = client.blocked.timeout_reply  # (the call was counted when it blocked)
            self.release(client)
            client.reply(reply)
            self.server.resume(client)


def parse_timeout(raw: bytes) -> int:
    """A blocking command's timeout in seconds -> milliseconds (0: for ever).

    Redis reads it as a long double, multiplies by 1000, rounds up and converts to a 64-bit
    integer; a value that does not fit (infinities, 1e20) becomes the most negative integer
    there, hence "negative". Rounding up makes -0.0001 a timeout of 0, waiting for ever."""
    seconds = longdouble.parse(raw)
    if seconds is None:
        raise CommandError("ERR timeout is not a float or out of range")
    negative = CommandError("ERR timeout is negative")
    if isinstance(seconds, float):  # an infinity
        raise negative
    millis = longdouble.round_to_long_double(seconds * 1000)
    if isinstance(millis, float):
        raise negative
    millis = math.ceil(millis)
    if millis < 0 or not INT64_MIN <= millis <= INT64_MAX:
        raise negative
    return millis
