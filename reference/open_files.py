"""The open-files limit a server needs for `maxclients` (spec/server.md, "maxclients and the
open files limit"), as Redis's adjustOpenFilesLimit at start-up: the process's limit is raised
to maxclients + 32 if it is lower; where the system refuses that, to the highest it allows (in
steps of 16), and maxclients is lowered to fit."""
from __future__ import annotations

import errno
import os
import resource

from reference import log

RESERVED_FDS = 32  # for the listeners, log and files, beyond the clients' connections
STEP = 16  # how much lower each new try asks for


def adjust_open_files_limit(config) -> None:
    """Raise RLIMIT_NOFILE for `maxclients`, or lower maxclients to the limit (logged as Redis
    logs it); exit(1) when not even one client would fit."""
    wanted = config["maxclients"] + RESERVED_FDS
    try:
        old, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except OSError as error:
        log.warning(f"Unable to obtain the current NOFILE limit ({os.strerror(error.errno)}), assuming 1024 "
                    f"and setting the max clients configuration accordingly.")
        _set_maxclients(config, 1024 - RESERVED_FDS)
        return
    if old == resource.RLIM_INFINITY or old >= wanted:
        return
    best, failure = wanted, 0
    while best > old:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (best, best))
            break
        except (OSError, ValueError) as error:  # (ValueError: above the hard limit, unprivileged)
            failure = getattr(error, "errno", None) or errno.EPERM
        if best < STEP:
            best = old
            break
        best -= STEP
    best = max(best, old)  # a last try below the old limit leaves the old one in force
    if best >= wanted:
        log.notice(f"Increased maximum number of open files to {wanted} (it was originally set to {old}).")
        return
    if best <= RESERVED_FDS:
        log.warning(f"Your current 'ulimit -n' of {old} is not enough for the server to start. Please increase "
                    f"your open file limit to at least {wanted}. Exiting.")
        raise SystemExit(1)
    requested = config["maxclients"]
    _set_maxclients(config, best - RESERVED_FDS)
    log.warning(f"You requested maxclients of {requested} requiring at least {wanted} max file descriptors.")
    log.warning(f"Server can't set maximum open files to {wanted} because of OS error: {os.strerror(failure)}.")
    log.warning(f"Current maximum open files is {best}. maxclients has been reduced to {best - RESERVED_FDS} "
                f"to compensate for low ulimit. If you need higher maxclients increase 'ulimit -n'.")


def _set_maxclients(config, value: int) -> None:
    config._values["maxclients"] = value  # (what CONFIG GET then shows, as in Redis)
