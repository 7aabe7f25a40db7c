"""Pausing clients (CLIENT PAUSE, and FAILOVER and SHUTDOWN while they wait for replicas), as
Redis 7.0's networking.c does it, without I/O.

Each purpose (the CLIENT PAUSE command, a shutdown, a failover) holds at most one pause: a type
(WRITE or ALL) and an end time in unix milliseconds. What is in force is the most restrictive
type among the purposes whose end has not passed, until the latest end among those of that
type. Pausing again for a purpose only ever widens its pause (the larger type, the later end).
A pause whose end has passed is forgotten when it is next looked at (`check`).

`ClientPause` only keeps this state; the server holds back the commands it covers (see
Server.execute) and runs them again when the pause loosens: every call that may loosen it
returns True when the type in force became less restrictive, as Redis then reprocesses every
held client.
"""
from __future__ import annotations

OFF, WRITE, ALL = 0, 1, 2  # ordered: a larger value holds more commands back

# The purposes a pause is for (Redis's pause_purpose).
BY_CLIENT_COMMAND, DURING_SHUTDOWN, DURING_FAILOVER = "client", "shutdown", "failover"

FOREVER = (1 << 63) - 1  # LLONG_MAX: the end of a pause only its purpose lifts


def wrap_int64(value: int) -> int:
    """As a C long long addition overflows (CLIENT PAUSE with a huge timeout ends in the past)."""
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


class ClientPause:
    def __init__(self):
        self.by_purpose: dict[str, tuple[int, int]] = {}  # purpose -> (type, end ms)
        self.type = OFF
        self.end_ms = 0

    def pause(self, purpose: str, end_ms: int, type_: int, now_ms: int) -> bool:
        """Pause for `purpose` until `end_ms` (widening its pause if it has one)."""
        old = self.by_purpose.get(purpose)
        if old is not None:
            type_, end_ms = max(old[0], type_), max(old[1], end_ms)
        self.by_purpose[purpose] = (type_, end_ms)
        return self._update(now_ms)

    def unpause(self, purpose: str, now_ms: int) -> bool:
        if self.by_purpose.pop(purpose, None) is None:
            return False
        return self._update(now_ms)

    def check(self, now_ms: int) -> bool:
        """Forget pauses whose end has passed (Redis does it from its cron): True if that
        loosened what is in force."""
        if self.type != OFF and self.end_ms < now_ms:
            return self._update(now_ms)
        return False

    def holds(self, may_replicate: bool) -> bool:
        """Is a command held back now? `may_replicate`: it may write or be propagated."""
        return self.type == ALL or (self.type == WRITE and may_replicate)

    @property
    def active(self) -> bool:
        return self.type != OFF

    def _update(self, now_ms: int) -> bool:
        old_type = self.type
        for purpose, (type_, end_ms) in list(self.by_purpose.items()):
            if end_ms < now_ms:
                del self.by_purpose[purpose]
        self.type = max((type_ for type_, _ in self.by_purpose.values()), default=OFF)
        self.end_ms = max((end for type_, end in self.by_purpose.values() if type_ == self.type), default=0)
        return self.type < old_type
