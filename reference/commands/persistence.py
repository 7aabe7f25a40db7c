"""Handlers of spec/persistence.md: SAVE, BGSAVE, LASTSAVE.

The saving machinery (the forked child, the cron that reaps it, save points, the change count)
is reference/persistence/snapshots.py; these handlers only ask it and shape the reply.
"""
from __future__ import annotations

from reference.commands import handler
from reference.dispatch import CommandError
from reference.protocol import OK, Status

ALREADY_SAVING = "ERR Background save already in progress"


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
    # No other kind of child (AOF rewrite) exists yet, so SCHEDULE changes nothing outside a
    # transaction; inside one Redis never forks, it leaves the save to the cron.
    if client.in_exec:
        snapshots.scheduled = True
        return Status("Background saving scheduled")
    if not snapshots.start_background_save():
        raise CommandError("ERR")  # fork failed; logged
    return Status("Background saving started")


@handler("lastsave")
def lastsave(client, args):
    return client.server.snapshots.lastsave
