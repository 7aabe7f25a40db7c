"""Waiting for a state a server reaches in its own time (a background save ending, a client
blocked, a replica in sync): polled for against a deadline, never slept for, so that a loaded
machine only makes the wait longer."""
from __future__ import annotations

import time

DEADLINE = 30.0  # seconds, unless a caller gives another: ample even on a loaded 2-core machine


def wait_for(condition, what: str, timeout: float = DEADLINE):
    """Poll condition() until it gives something true, and return that. If timeout seconds
    pass first, the test fails saying what it waited for."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g}s"
        time.sleep(0.02)
    return value
