"""Handlers of spec/transactions.md: MULTI, EXEC, DISCARD, WATCH, UNWATCH.

The queueing is the server's (Server.execute): while `client.transaction` is a list, every
command but the transaction's own controls is checked as usual (known name, arity,
authentication ...) and then either refused, which dooms the transaction
(`client.transaction_failed`: EXEC answers EXECABORT), or queued as its argv (+QUEUED).

WATCH is optimistic locking. Each watched key is registered in its database's `watched_keys`
(key -> clients) and in `client.watched`; every change to a key goes through Database.touch,
which sets `client.dirty_cas` on its watchers; EXEC then refuses to run (a null reply). Keys
that expire count as changed too: their deletion touches them, and EXEC looks for a watched key
whose time has passed but that nobody has deleted yet (see watched_key_expired).
"""
from __future__ import annotations

from reference.blocking import Block
from reference.commands import handler
from reference.dispatch import CommandError, lookup
from reference.protocol import NULL_ARRAY, OK, ErrorReply

EXECABORT = "EXECABORT Transaction discarded because of previous errors."


@handler("multi")
def multi(client, args):
    if client.transaction is not None:
        # A plain error: it does not doom the transaction already open.
        raise CommandError("ERR MULTI calls can not be nested")
    client.transaction = []
    return OK


@handler("discard")
def discard(client, args):
    if client.transaction is None:
        raise CommandError("ERR DISCARD without MULTI")
    end_transaction(client)
    return OK


@handler("exec")
def exec_(client, args):
    if client.transaction is None:
        raise CommandError("ERR EXEC without MULTI")
    if watched_key_expired(client):
        client.dirty_cas = True
    queued = client.transaction
    refused, dirty = client.transaction_failed, client.dirty_cas
    # Unwatch before running anything: the transaction's own writes must not count against it.
    end_transaction(client)
    if refused:
        return ErrorReply(EXECABORT)
    if dirty:
        return NULL_ARRAY
    server = client.server
    replies = []
    client.in_exec = True  # blocking commands answer at once instead of waiting
    try:
        for argv in queued:
            command, _ = lookup(server.commands, argv)  # it passed every check when queued
            replies.append(run_queued(server, client, command, argv))
    finally:
        client.in_exec = False
    # What the transaction changed reaches the AOF as one unit: Server.run_command wraps the
    # effects of EXEC, as of any command, with wrap_in_multi.
    return replies


def wrap_in_multi(effects: list, first: int) -> None:
    """The effects from `first` on, those of one command run by a client (EXEC's: all of its
    transaction's; a write's: its own and the DELs of the keys it found expired), reach the AOF
    (and replicas) as one MULTI ... EXEC, as Redis 7.0 propagates them: only when there is more
    than one (one is atomic anyway), MULTI in the first one's database and EXEC in the last
    one's (no extra SELECT)."""
    if len(effects) - first > 1:
        effects.insert(first, (effects[first][0], [b"MULTI"]))
        effects.append((effects[-1][0], [b"EXEC"]))


def run_queued(server, client, command, argv):
    """One queued command's reply; a runtime error is just that command's reply."""
    reply = server.run_command(client, command, argv)
    if isinstance(reply, Block):
        reply = reply.timeout_reply  # no waiting inside EXEC: answered at once, as a timeout
    return reply


def end_transaction(client) -> None:
    """Leave MULTI (if in it) and forget the watched keys: after EXEC, DISCARD, EXECABORT."""
    client.transaction = None
    client.transaction_failed = False
    client.server.unwatch_all(client)  # clears dirty_cas too


@handler("watch")
def watch(client, args):
    if client.transaction is not None:
        raise CommandError("ERR WATCH inside MULTI is not allowed")
    if client.dirty_cas:
        return OK  # EXEC will fail whatever else is watched
    db = client.db
    for key in args["key"]:
        if (db, key) in client.watched:
            continue
        # WATCH looks nothing up (a key past its time stays, no DEL is written), as in Redis:
        # it remembers that the key was already expired, so that its deletion later is no
        # change to this watcher (see Database.touch).
        when = db.expires.get(key)
        db.watched_keys.setdefault(key, []).append(client)
        client.watched[(db, key)] = when is not None and when <= db.clock.ms
    return OK


@handler("unwatch")
def unwatch(client, args):
    client.server.unwatch_all(client)
    return OK


def watched_key_expired(client) -> bool:
    """Has a watched key's time passed since it was watched, though nothing deleted it yet?
    That is a change."""
    for (db, key), expired_when_watched in client.watched.items():
        if expired_when_watched:
            continue
        when = db.expires.get(key)
        if when is not None and when <= db.clock.ms:
            return True
    return False
