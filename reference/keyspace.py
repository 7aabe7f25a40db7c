"""The keyspace: numbered databases of typed values with expiry.

A value is stored as the Python object that holds it, without a wrapper, to keep memory per key
small: `bytes` is a string Redis would encode as int or embstr/raw, `bytearray` a string that was
modified in place (APPEND, SETRANGE), which Redis reports as raw. Each data-type family registers
the class of its values with `register_type` (what TYPE says, OBJECT ENCODING, how COPY copies).
Expiry times are absolute unix milliseconds, kept in a second dict only for keys that have one,
as Redis keeps its `expires` dict.

Every change to a key goes through `touch(key)` (the Database's own writes call it; a command
that changes a value in place calls it itself), as Redis's signalModifiedKey: it makes the
transactions that WATCH the key fail, and marks the key ready for the clients blocked on it.

Expiry is lazy (a key past its time is deleted when looked up) and active (the server cron calls
`Database.expire_some` to reap keys nobody reads); on a replica neither deletes (see
`Keyspace.replica_expiry`). `now_ms` is the clock of the command being
executed: Redis freezes time for the length of a command so that a key cannot expire half-way.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class ValueType:
    """What the keyspace knows of one kind of value."""
    name: str                               # what TYPE replies: string, list, set, zset, hash
    encoding: Callable[[object, object], str]  # (value, config) -> what OBJECT ENCODING replies
    copy: Callable[[object], object]        # an independent copy, for COPY


VALUE_TYPES: dict[type, ValueType] = {}

# What a key past its time is on a replica (Keyspace.replica_expiry).
ALIVE, HIDDEN, DELETED = "alive", "hidden", "deleted"


def register_type(cls: type, name: str, encoding, copy) -> None:
    VALUE_TYPES[cls] = ValueType(name, encoding, copy)


def type_name(value) -> str:
    """What TYPE replies for a stored value."""
    return VALUE_TYPES[type(value)].name


class Clock:
    """The time commands see: fixed while one command runs."""
    __slots__ = ("ms",)

    def __init__(self):
        self.ms = int(time.time() * 1000)

    def tick(self) -> int:
        self.ms = int(time.time() * 1000)
        return self.ms


class Database:
    __slots__ = ("id", "keyspace", "data", "expires", "access", "clock", "stats", "_reaper",
                 "scan_index", "watched_keys", "blocking_keys", "ready_keys", "effects", "avg_ttl")

    def __init__(self, index: int, keyspace: Keyspace):
        self.id = index
        self.keyspace = keyspace  # for the counters all databases share
        self.data: dict[bytes, object] = {}
        self.expires: dict[bytes, int] = {}
        self.access: dict[bytes, int] = {}  # key -> ms of its last read or write
        self.clock = keyspace.clock
        self.stats = keyspace.stats
        self._reaper = None
        # Estimated mean ms left of the keys with an expiry (INFO keyspace avg_ttl): a running
        # average of what active expiry samples, as Redis keeps it; 0 until it samples.
        self.avg_ttl = 0
        self.scan_index = None  # SCAN's snapshot of the key order (reference/commands/generic.py)
        self.watched_keys: dict[bytes, list] = {}   # key -> clients that WATCH it
        self.blocking_keys: dict[bytes, list] = {}  # key -> clients blocked on it, first come first
        # (db, key) of blocked-on keys written since they were last served, shared by all dbs
        self.ready_keys: dict = keyspace.ready_keys
        # (db index, argv) of the changes to record in the AOF, shared by all dbs (see Keyspace)
        self.effects: list = keyspace.effects

    def __len__(self) -> int:
        return len(self.data)

    # --- reading -----------------------------------------------------------------------

    def _expired(self, key: bytes) -> bool:
        """Is key past its time? If so it is deleted, except on a replica (see Keyspace)."""
        when = self.expires.get(key)
        if when is None or when > self.clock.ms or self.keyspace.loading:
            return False
        replica_expiry = self.keyspace.replica_expiry
        if replica_expiry is not None:
            verdict = replica_expiry()
            if verdict is not DELETED:
                return verdict is HIDDEN
        if self.keyspace.paused:  # clients are paused: the dataset stays as it is, the key reads as gone
            return True
        self._remove(key)
        self.stats["expired_keys"] += 1
        self.effects.append((self.id, [b"DEL", key]))  # as Redis propagates an expiry
        return True

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

    def already_expired(self, when_ms: int) -> bool:
        """Does an expiry time given to a command (EXPIRE in the past, RESTORE ...) delete the
        key at once? Not while an AOF loads, nor on a replica: the key is kept with that time
        (hidden from reads on a replica), as Redis does."""
        return when_ms <= self.clock.ms and not self.keyspace.loading and self.keyspace.replica_expiry is None

    # --- writing -----------------------------------------------------------------------

    def touch(self, key: bytes) -> None:
        """The key changed: WATCHers' transactions will fail, blocked clients may be served."""
        if self.watched_keys or self.blocking_keys:
            for client in self.watched_keys.get(key, ()):
                if client.watched.get((self, key)) and key not in self.data:
                    # Watched when already past its time: its deletion is no change (once).
                    client.watched[(self, key)] = False
                    continue
                client.dirty_cas = True
            if key in self.blocking_keys:
                self.ready_keys[(self, key)] = None  # a dict: served in the order they became ready

    def changed(self, key: bytes, count: int = 1) -> None:
        """A command changed the value at key in place (`count` changes, as Redis counts them
        in server.dirty: elements added, fields set ...)."""
        self.keyspace.dirty += count
        self.touch(key)

    def touch_all(self, replaced_with: Database | None = None) -> None:
        """This database is emptied (FLUSHDB), or gets the contents of `replaced_with`
        (SWAPDB): a watched key that exists here or there changed, as Redis's
        touchAllWatchedKeysInDb decides; for a key that was past its time when watched, going
        away or staying past its time is no change."""
        def past_its_time(key: bytes) -> bool:
            when = replaced_with.expires.get(key)
            return when is not None and when <= self.clock.ms
        for key, clients in self.watched_keys.items():
            here = key in self.data
            there = replaced_with is not None and key in replaced_with.data
            if not (here or there):
                continue
            for client in clients:
                if client.watched.get((self, key)):
                    if not there:
                        client.watched[(self, key)] = False
                        continue
                    if past_its_time(key):
                        continue
                elif not here and past_its_time(key):
                    client.watched[(self, key)] = True
                    continue
                client.dirty_cas = True

    # The writes below count `changes` in `dirty`: one unless the command counts its own way
    # (elements pushed, members removed ...; Redis chooses per command).

    def set(self, key: bytes, value, keep_ttl: bool = False, expire_at: int | None = None,
            changes: int = 1) -> None:
        """Store value; the key's expiry becomes expire_at (absolute ms; None: no expiry),
        unless keep_ttl keeps the one it had."""
        if key in self.expires:
            # Redis looks the key up before overwriting it (setKey): one past its time is
            # deleted first, and that DEL is written before the command (MSET, ...).
            self._expired(key)
        self.data[key] = value
        self.access[key] = self.clock.ms
        self.keyspace.dirty += changes
        if expire_at is not None:
            self.expires[key] = expire_at
            if self.keyspace.replica_expiry is not None:
                self.keyspace.note_replica_own_expire(self.id, key)
        elif not keep_ttl and self.expires:
            self.expires.pop(key, None)
        if self.watched_keys or self.blocking_keys:
            self.touch(key)

    def replace(self, key: bytes, value, changes: int = 1) -> None:
        """Overwrite the value of an existing key, keeping its expiry (APPEND, INCR ...)."""
        self.data[key] = value
        self.access[key] = self.clock.ms
        self.keyspace.dirty += changes
        if self.watched_keys or self.blocking_keys:
            self.touch(key)

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        if self.keyspace.replica_expiry is not None:
            self.keyspace.note_replica_own_expire(self.id, key)
        self.changed(key)

    def persist(self, key: bytes) -> bool:
        if self.expires.pop(key, None) is None:
            return False
        self.changed(key)
        return True

    def delete(self, key: bytes, changes: int = 1) -> bool:
        """Remove a live key; False if there was none (and nothing is counted)."""
        if self.get(key) is None:
            return False
        self._remove(key)
        self.keyspace.dirty += changes
        return True

    def discard(self, key: bytes, changes: int = 1) -> bool:
        """Remove what is stored at key without looking it up (Redis's dbDelete): a key past
        its time counts as there, and no DEL of its own is written. False if nothing was."""
        if key not in self.data:
            return False
        self._remove(key)
        self.keyspace.dirty += changes
        return True

    def _remove(self, key: bytes) -> None:
        del self.data[key]
        self.expires.pop(key, None)
        self.access.pop(key, None)
        self.touch(key)

    def flush(self) -> int:
        removed = len(self.data)
        self.touch_all()
        self.keyspace.dirty += removed
        self.data = {}
        self.expires = {}
        self.access = {}
        self._reaper = None
        self.avg_ttl = 0
        return removed

    def swap(self, other: Database) -> None:
        """Exchange contents (SWAPDB); clients stay with their database number, so watchers
        of either see their keys change and blocked clients may now be served."""
        self.touch_all(replaced_with=other)
        other.touch_all(replaced_with=self)
        self.data, other.data = other.data, self.data
        self.expires, other.expires = other.expires, self.expires
        self.access, other.access = other.access, self.access
        self.avg_ttl, other.avg_ttl = other.avg_ttl, self.avg_ttl
        self._reaper = other._reaper = None
        for db in (self, other):
            db.ready_keys.update(((db, key), None) for key in db.blocking_keys if key in db.data)

    # --- active expiry -----------------------------------------------------------------

    def expire_some(self, budget: int) -> tuple[int, int]:
        """Look at up to `budget` keys with an expiry, resuming where the last call stopped,
        and delete those whose time has passed; the time left of the others goes into avg_ttl
        (Redis's running average: 2% weight for each sample's mean). Returns (keys looked at,
        keys deleted)."""
        if not self.expires:
            self.avg_ttl = 0
            return 0, 0
        now = self.clock.ms
        looked = deleted = ttl_sum = ttl_samples = 0
        while looked < budget:
            if self._reaper is None:
                self._reaper = iter(list(self.expires))
            try:
                key = next(self._reaper)
            except StopIteration:
                self._reaper = None
                if looked == 0 or len(self.expires) <= looked:
                    break
                continue
            when = self.expires.get(key)
            if when is None:
                continue  # deleted or persisted since the walk began
            looked += 1
            if when <= now:
                self._remove(key)
                self.stats["expired_keys"] += 1
                self.effects.append((self.id, [b"DEL", key]))
                deleted += 1
            else:
                ttl_sum += when - now
                ttl_samples += 1
        if ttl_samples:
            sample_mean = ttl_sum // ttl_samples
            if self.avg_ttl == 0:
                self.avg_ttl = sample_mean
            self.avg_ttl = self.avg_ttl // 50 * 49 + sample_mean // 50
        return looked, deleted

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
        self.stats = {"expired_keys": 0, "keyspace_hits": 0, "keyspace_misses": 0, "evicted_keys": 0,
                      # active expiry's (active_expire_cycle); RESETSTAT zeroes them too
                      "expired_stale_perc": 0.0, "expired_time_cap_reached_count": 0,
                      "expire_cycle_usec": 0}
        # (db, key) with blocked clients to serve, in the order they became ready (blocking.py)
        self.ready_keys: dict = {}
        # (db index, argv) of every change, in order, for whoever records them (the AOF), which
        # takes them after each command; nobody listening: the server empties it.
        self.effects: list = []
        # Changes made so far (Redis's server.dirty): every write adds what it changed; saves
        # and the AOF compare it before and after a command.
        self.dirty = 0
        # Loading an AOF (Redis's server.loading): nothing expires meanwhile, so that each
        # command meets the keys it met when it first ran (see already_expired).
        self.loading = False
        # (keys loaded, keys skipped as already expired) by the last RDB load, INFO's
        # rdb_last_load_keys_loaded and _expired; an AOF load starts them from 0.
        self.last_load = (0, 0)
        # None on a master. On a replica (Redis's server.masterhost set) its master decides
        # expiry and sends a DEL for each key it expires: a key past its time met here is not
        # deleted. The replication sets this to a callable saying what such a key is to the
        # command running: ALIVE to the master's own commands, DELETED to a write of a
        # writable replica's client, HIDDEN otherwise (absent to reads, still stored: DBSIZE
        # counts it). Active expiry does not run on a replica (Server.cron).
        self.replica_expiry: Callable[[], str] | None = None
        # Keys a writable replica's own clients gave an expiry (key -> db indexes), which it
        # expires itself (its master knows nothing of them), as Redis's slaveKeysWithExpire.
        self.replica_own_expires: dict[bytes, set[int]] = {}
        # While clients are paused (CLIENT PAUSE, FAILOVER, SHUTDOWN waiting) nothing expires:
        # a key past its time reads as missing but stays stored (the server sets this).
        self.paused = False
        self.dbs = [Database(i, self) for i in range(databases)]

    def __getitem__(self, index: int) -> Database:
        return self.dbs[index]

    def __len__(self) -> int:
        return len(self.dbs)

    def swap(self, a: int, b: int) -> None:
        self.dbs[a].swap(self.dbs[b])

    def active_expire_cycle(self, time_limit: float) -> None:
        """One cron turn of active expiry, as Redis's activeExpireCycle: in each database,
        sample 20 keys with an expiry and delete those past their time, again while more than
        10% of a sample was, until `time_limit` seconds have passed. Keeps INFO's estimates:
        expired_stale_perc (a running average, 5% weight per cycle, of the share of sampled keys
        found expired), expired_time_cap_reached_count, expire_cycle_cpu_milliseconds."""
        stats = self.stats
        started = time.monotonic()
        deadline = started + time_limit
        sampled_total = expired_total = 0
        out_of_time = False
        for db in self.dbs:
            if out_of_time:
                break
            if not db.expires:
                db.avg_ttl = 0
            while db.expires:
                sampled, expired = db.expire_some(20)
                sampled_total += sampled
                expired_total += expired
                if time.monotonic() > deadline:
                    out_of_time = True
                    stats["expired_time_cap_reached_count"] += 1
                    break
                if sampled and expired * 100 // sampled <= 10:
                    break
        stats["expire_cycle_usec"] += int((time.monotonic() - started) * 1_000_000)
        stale = expired_total / sampled_total if sampled_total else 0.0
        stats["expired_stale_perc"] = stale * 0.05 + stats["expired_stale_perc"] * 0.95

    def note_replica_own_expire(self, db: int, key: bytes) -> None:
        """An expiry was set on a replica: remember it if a client of the writable replica set
        it (the verdict on its writes is DELETED), not its master."""
        if self.replica_expiry() is DELETED:
            self.replica_own_expires.setdefault(key, set()).add(db)

    def expire_replica_own_keys(self) -> None:
        """A replica's cron (with active expiry on): delete the keys of replica_own_expires past
        their time, as a master's active expiry would; forget those that have no expiry any
        more. (Redis samples them at random for a millisecond or so: the reference looks at
        all.)"""
        now = self.clock.ms
        for key, dbs in list(self.replica_own_expires.items()):
            for index in list(dbs):
                db = self.dbs[index]
                when = db.expires.get(key)
                if when is not None and when <= now:
                    db._remove(key)
                    self.stats["expired_keys"] += 1
                    db.effects.append((index, [b"DEL", key]))  # (for the AOF: a replica sends no stream)
                if when is None or when <= now:
                    dbs.discard(index)
            if not dbs:
                del self.replica_own_expires[key]

    def total_keys(self) -> int:
        return sum(len(db) for db in self.dbs)
