"""The keyspace: numbered databases of typed values with expiry.

A value is stored as the Python object that holds it, without a wrapper, to keep memory per key
small: `bytes` is a string Redis would encode as int or embstr/raw, `bytearray` a string that was
modified in place (APPEND, SETRANGE), which Redis reports as raw. Other types arrive with the
data-type families. Expiry times are absolute unix milliseconds, kept in a second dict only for
keys that have one, as Redis keeps its `expires` dict.

Expiry is lazy (a key past its time is deleted when looked up) and active (the server cron calls
`Database.expire_some` to reap keys nobody reads). `now_ms` is the clock of the command being
executed: Redis freezes time for the length of a command so that a key cannot expire half-way.
"""
from __future__ import annotations

import time


TYPE_NAMES = {bytes: "string", bytearray: "string"}


def type_name(value) -> str:
    """What TYPE replies for a stored value."""
    return TYPE_NAMES[type(value)]


class Clock:
    """The time commands see: fixed while one command runs."""
    __slots__ = ("ms",)

    def __init__(self):
        self.ms = int(time.time() * 1000)

    def tick(self) -> int:
        self.ms = int(time.time() * 1000)
        return self.ms


class Database:
    __slots__ = ("id", "data", "expires", "access", "clock", "stats", "_reaper", "on_delete",
                 "scan_index")

    def __init__(self, index: int, clock: Clock, stats: dict):
        self.id = index
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}
        self.access: dict[bytes, int] = {}  # key -> ms of its last read or write
        self.clock = clock
        self.stats = stats
        self._reaper = None
        self.scan_index = None  # SCAN's snapshot of the key order (reference/commands/generic.py)
        self.on_delete = None  # set by the server: called with (db, key) when a key goes away

    def __len__(self) -> int:
        return len(self.data)

    # --- reading -----------------------------------------------------------------------

    def _expired(self, key: bytes) -> bool:
        when = self.expires.get(key)
        if when is not None and when <= self.clock.ms:
            self._remove(key)
            self.stats["expired_keys"] += 1
            return True
        return False

    def get(self, key: bytes):
        """The value at key, or None; an expired key is deleted first."""
        value = self.data.get(key)
        if value is None:
            return None
        if self.expires and self._expired(key):
            return None
        return value

    def lookup_read(self, key: bytes):
        """get() that counts a keyspace hit or miss, as Redis's read lookups do."""
        value = self.get(key)
        if value is not None:
            self.access[key] = self.clock.ms
        self.stats["keyspace_hits" if value is not None else "keyspace_misses"] += 1
        return value

    def contains(self, key: bytes) -> bool:
        return self.get(key) is not None

    def ttl_ms(self, key: bytes) -> int | None:
        """Milliseconds left, or None for a key without expiry (the key must exist)."""
        when = self.expires.get(key)
        return None if when is None else max(0, when - self.clock.ms)

    def keys(self):
        """Live keys (expired ones are reaped on the way)."""
        if self.expires:
            for key in [k for k, when in self.expires.items() if when <= self.clock.ms]:
                self._expired(key)
        return self.data.keys()

    # --- writing -----------------------------------------------------------------------

    def set(self, key: bytes, value, keep_ttl: bool = False) -> None:
        """Store value; the key loses its expiry unless keep_ttl."""
        self.data[key] = value
        self.access[key] = self.clock.ms
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)

    def replace(self, key: bytes, value) -> None:
        """Overwrite the value of an existing key, keeping its expiry (APPEND, INCR ...)."""
        self.data[key] = value
        self.access[key] = self.clock.ms

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def delete(self, key: bytes) -> bool:
        """Remove a live key; False if there was none."""
        if self.get(key) is None:
            return False
        self._remove(key)
        return True

    def _remove(self, key: bytes) -> None:
        del self.data[key]
        self.expires.pop(key, None)
        self.access.pop(key, None)
        if self.on_delete is not None:
            self.on_delete(self, key)

    def flush(self) -> int:
        removed = len(self.data)
        self.data = {}
        self.expires = {}
        self.access = {}
        self._reaper = None
        return removed

    def swap(self, other: Database) -> None:
        self.data, other.data = other.data, self.data
        self.expires, other.expires = other.expires, self.expires
        self.access, other.access = other.access, self.access
        self._reaper = other._reaper = None

    # --- active expiry -----------------------------------------------------------------

    def expire_some(self, budget: int) -> int:
        """Look at up to `budget` keys with an expiry, resuming where the last call stopped,
        and delete those whose time has passed. Returns how many were deleted."""
        if not self.expires:
            return 0
        now = self.clock.ms
        due = []
        looked = 0
        while looked < budget:
            if self._reaper is None:
                self._reaper = iter(list(self.expires.items()))
            try:
                key, when = next(self._reaper)
            except StopIteration:
                self._reaper = None
                if looked == 0 or len(self.expires) <= looked:
                    break
                continue
            looked += 1
            if when <= now:
                due.append(key)
        deleted = 0
        for key in due:
            when = self.expires.get(key)
            if when is not None and when <= now:
                self._remove(key)
                self.stats["expired_keys"] += 1
                deleted += 1
        return deleted

    # --- access times (OBJECT IDLETIME) ------------------------------------------------
    # Redis stamps each value with the time of its last access. Here `self.access` maps a key to
    # the clock of the last command that read or wrote it: one dict entry per key, the stamp
    # being the clock's own int object, shared by every key a command touches.

    def note_access(self, key: bytes) -> None:
        self.access[key] = self.clock.ms

    def idle_ms(self, key: bytes) -> int:
        """Milliseconds since key (which must exist) was last read or written."""
        last = self.access.get(key)
        return 0 if last is None else max(0, self.clock.ms - last)


class Keyspace:
    """All databases, sharing one clock and one set of keyspace statistics."""

    def __init__(self, databases: int = 16):
        self.clock = Clock()
        self.stats = {"expired_keys": 0, "keyspace_hits": 0, "keyspace_misses": 0, "evicted_keys": 0}
        self.dbs = [Database(i, self.clock, self.stats) for i in range(databases)]

    def __getitem__(self, index: int) -> Database:
        return self.dbs[index]

    def __len__(self) -> int:
        return len(self.dbs)

    def swap(self, a: int, b: int) -> None:
        self.dbs[a].swap(self.dbs[b])

    def total_keys(self) -> int:
        return sum(len(db) for db in self.dbs)
