"""Handlers of spec/persistence.md: SAVE, BGSAVE, LASTSAVE.

The saving machinery (the forked child, the cron that reaps it, save points, the change count)
is reference/persistence/snapshots.py; these handlers only ask it and shape the reply.
"""
from __future__ import annotations

from reference.commands import handler
from reference.dispatch import CommandError
from reference.protocol import OK, Status

ALREADY_SAVING = "ERR Background save already in progress"
ANOTHER_CHILD = ("ERR Another child process is active (AOF?): can't BGSAVE right now. "
                 "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")


@handler("save")
def save(client, args):
    snapshots = client.server.snapshots
    if snapshots.in_progress:
        raise CommandError(ALREADY_SAVING)
    if not snapshots.save():
        raise CommandError("ERR")  # the reason is in the log
    return OK


@handler("bgsave")
def bgsave(client, args):
    snapshots = client.server.snapshots
    if snapshots.in_progress:
        raise CommandError(ALREADY_SAVING)
    # One child at a time: while an AOF rewrite runs the save waits only if asked to (SCHEDULE);
    # inside a transaction Redis never forks, it leaves the save to the cron.
    if client.server.aof.in_progress or client.in_exec:
        if not ("schedule" in args or client.in_exec):
            raise CommandError(ANOTHER_CHILD)
        snapshots.scheduled = True
        return Status("Background saving scheduled")
    if not snapshots.start_background_save():
        raise CommandError("ERR")  # fork failed; logged
    return Status("Background saving started")


@handler("lastsave")
def lastsave(client, args):
    return client.server.snapshots.lastsave
