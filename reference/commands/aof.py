"""BGREWRITEAOF: the append-only file's rewrite (reference/persistence/aof.py does the work)."""
from __future__ import annotations

from reference.commands import handler
from reference.dispatch import CommandError
from reference.protocol import Status


@handler("bgrewriteaof")
def bgrewriteaof(client, args):
    server = client.server
    aof = server.aof
    if aof.in_progress:
        raise CommandError("ERR Background append only file rewriting already in progress")
    if server.snapshots.in_progress or client.in_exec:
        aof.scheduled = True
        aof.consecutive_failures = 0  # asked for by hand: no back-off
        return Status("Background append only file rewriting scheduled")
    if not aof.rewrite_background():
        raise CommandError("ERR Can't execute an AOF background rewriting. "
                           "Please check the server logs for more information.")
    return Status("Background append only file rewriting started")
