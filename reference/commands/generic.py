"""Handlers of spec/generic.md: commands about keys whatever their type.

Lookups follow Redis's three kinds (db.c): a *read* lookup counts a keyspace hit or miss and
marks the key as accessed (OBJECT IDLETIME restarts); a *no-touch* read (EXISTS, TYPE, TTL,
OBJECT ...) counts the hit or miss but leaves the access time alone; a *write* lookup does
neither. All three delete a key whose time has passed first.
"""
from __future__ import annotations

import bisect
import random

from reference.commands import handler, subcommand_help
from reference.dispatch import CommandError
from reference.patterns import glob_match
from reference.keyspace import VALUE_TYPES, Database, type_name
from reference.persistence.rdb import LFU_INIT_VAL  # the one counter the reference reports
from reference.protocol import OK, Status
from reference.values import INT64_MAX, is_int, parse_int

NO_SUCH_KEY = "ERR no such key"
SAME_OBJECT = "ERR source and destination objects are the same"
DB_OUT_OF_RANGE = "ERR DB index is out of range"
SYNTAX_ERROR = "ERR syntax error"
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
UINT64_MASK = (1 << 64) - 1


def lookup_notouch(db: Database, key: bytes):
    """A read that counts a hit or miss but is not an access (LOOKUP_NOTOUCH)."""
    value = db.get(key)
    db.stats["keyspace_hits" if value is not None else "keyspace_misses"] += 1
    return value


def db_index_arg(client, index: int) -> Database:
    """The database a DB / MOVE argument names: a C int, then a valid index."""
    if not INT32_MIN <= index <= INT32_MAX:
        raise CommandError(f"ERR value is out of range, value must between {INT32_MIN} and {INT32_MAX}")
    keyspace = client.server.keyspace
    if not 0 <= index < len(keyspace):
        raise CommandError(DB_OUT_OF_RANGE)
    return keyspace[index]


# --- DEL UNLINK EXISTS TOUCH TYPE ---------------------------------------------------------
# Each key argument counts on its own: EXISTS k k is 2, DEL k k is 1 (the second finds nothing).

def _delete(db: Database, key: bytes) -> bool:
    # On a replica a key past its time is not deleted by the lookup: DEL removes it, and
    # counts it, as Redis's delGenericCommand (on a master it is expired first: not counted).
    if db.keyspace.replica_expiry is not None:
        return db.discard(key)
    return db.delete(key)


@handler("del")
def del_(client, args):
    return sum(_delete(client.db, key) for key in args["key"])


@handler("unlink")
def unlink(client, args):
    return sum(_delete(client.db, key) for key in args["key"])


@handler("exists")
def exists(client, args):
    return sum(lookup_notouch(client.db, key) is not None for key in args["key"])


@handler("touch")
def touch(client, args):
    return sum(client.db.lookup_read(key) is not None for key in args["key"])


@handler("type")
def type_(client, args):
    value = lookup_notouch(client.db, args["key"])
    return Status("none" if value is None else type_name(value))


# --- KEYS SCAN RANDOMKEY --------------------------------------------------------------------

@handler("keys")
def keys(client, args):
    pattern = args["pattern"]
    # Keys past their time are left out but not deleted (nor written as DEL), as in Redis.
    db, now = client.db, client.db.clock.ms
    live = [key for key in db.data if db.expires.get(key, now + 1) > now]
    if pattern == b"*":
        return list(live)
    return [key for key in live if glob_match(pattern, key)]


class ScanIndex:
    """The keys of one database in the order SCAN visits them: by a 64-bit hash.

    SCAN's promise is that a key present from the first call (cursor 0) to the last is
    returned at least once, however the database grows or shrinks in between. Redis keeps it
    with a reverse-binary cursor over its hash table's buckets. We keep it more simply: the
    cursor is a position in hash space, "every key whose hash is below the cursor has been
    returned", and a call returns keys in increasing hash order from there. The position of a
    key does not depend on how many keys there are, so growth and shrinkage cannot make the
    cursor skip anything.

    The order is materialised as a sorted snapshot of the keys, rebuilt whenever a scan starts
    (cursor 0): a key present for a whole scan is therefore in every snapshot that scan uses.
    Keys added after the snapshot are not returned (allowed), deleted ones are filtered out on
    the way. A full scan costs one sort; each call costs O(log N + COUNT).
    """
    __slots__ = ("keys", "positions")

    def __init__(self, db: Database):
        self.keys = sorted(db.data, key=hash)
        # Python's hash of bytes is a signed 64-bit number, stable for the life of the process.
        self.positions = [hash(key) + (1 << 63) for key in self.keys]

    def batch(self, cursor: int, count: int) -> tuple[int, list[bytes]]:
        """Up to count keys (more if hashes tie) from cursor on, and the next cursor (0: done)."""
        start = bisect.bisect_left(self.positions, cursor)
        end = min(start + count, len(self.keys))
        while 0 < end < len(self.keys) and self.positions[end] == self.positions[end - 1]:
            end += 1  # never split keys of equal hash between calls: the cursor could not say so
        next_cursor = self.positions[end] if end < len(self.keys) else 0
        return next_cursor, self.keys[start:end]


def parse_scan_cursor(raw: bytes) -> int:
    """SCAN's cursor as C's strtoul reads it: optional sign, digits, nothing else; a minus
    wraps around 2**64 and more than 64 bits is an error. An empty cursor is 0."""
    if raw == b"":
        return 0
    sign = raw[:1] if raw[:1] in (b"+", b"-") else b""
    digits = raw[len(sign):]
    if not digits.isdigit() or int(digits) > UINT64_MASK:  # bytes.isdigit: ASCII digits only
        raise CommandError("ERR invalid cursor")
    value = int(digits)
    return (-value) & UINT64_MASK if sign == b"-" else value


@handler("scan", convert={"cursor": parse_scan_cursor})
def scan(client, args):
    count = args.get("count", 10)
    if count < 1:
        raise CommandError(SYNTAX_ERROR)
    cursor = args["cursor"]
    pattern = args.get("pattern")
    if pattern == b"*":
        pattern = None
    wanted_type = args["type"].decode("latin-1").lower() if "type" in args else None
    db = client.db
    if not db.data:
        return [b"0", []]
    index = db.scan_index
    if index is None or cursor == 0:
        index = db.scan_index = ScanIndex(db)
    next_cursor, batch = index.batch(cursor, count)
    found = []
    for key in batch:
        if pattern is not None and not glob_match(pattern, key):
            continue
        if key not in db.data:
            continue  # deleted since the snapshot was taken
        if wanted_type is not None:
            value = lookup_notouch(db, key)
            if value is None or type_name(value) != wanted_type:
                continue
        if db.get(key) is None:
            continue  # expired: deleted now, as Redis does
        found.append(key)
    return [str(next_cursor).encode(), found]


@handler("randomkey")
def randomkey(client, args):
    db = client.db
    # On a replica a key past its time stays (hidden): if every key has an expiry they may all
    # be past it, so after 100 draws the last one drawn is answered anyway, as Redis does.
    draws_left = 100 if db.keyspace.replica_expiry is not None and len(db.expires) == len(db.data) else -1
    while db.data:
        key = random.choice(list(db.data))  # O(N): a reference needs no O(1) sampler
        draws_left -= 1
        if draws_left == 0 or db.get(key) is not None:  # an expired key is passed over
            return key
    return None


# --- RENAME RENAMENX COPY MOVE ----------------------------------------------------------------

def _rename(client, args, only_if_new: bool):
    db = client.db
    source, target = args["key"], args["newkey"]
    value = db.get(source)
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    if source == target:
        return 0 if only_if_new else "OK"
    if only_if_new and db.get(target) is not None:
        return 0
    # One change, as Redis counts it: the value (and its expiry) replaces whatever target held.
    when = db.expires.get(source)
    db.delete(source, changes=0)
    db.set(target, value, expire_at=when)
    return 1 if only_if_new else "OK"


@handler("rename")
def rename(client, args):
    _rename(client, args, only_if_new=False)
    return OK


@handler("renamenx")
def renamenx(client, args):
    return _rename(client, args, only_if_new=True)


@handler("copy")
def copy_(client, args):
    source_db = client.db
    target_db = db_index_arg(client, args["destination-db"]) if "destination-db" in args else source_db
    source, target = args["source"], args["destination"]
    if source_db is target_db and source == target:
        raise CommandError(SAME_OBJECT)
    value = source_db.lookup_read(source)
    if value is None:
        return 0
    if target_db.get(target) is not None and not args.get("replace"):
        return 0
    # One change: the copy (and the source's expiry) replaces whatever target held.
    copy = VALUE_TYPES[type(value)].copy(value)
    target_db.set(target, copy, expire_at=source_db.expires.get(source))
    return 1


@handler("move")
def move(client, args):
    source_db = client.db
    target_db = db_index_arg(client, args["db"])
    if target_db is source_db:
        raise CommandError(SAME_OBJECT)
    key = args["key"]
    value = source_db.get(key)
    if value is None or target_db.get(key) is not None:
        return 0
    when = source_db.expires.get(key)
    source_db.delete(key, changes=0)  # moved, not lost: the move is one change
    target_db.set(key, value, expire_at=when)
    return 1


# --- EXPIRE PEXPIRE EXPIREAT PEXPIREAT ------------------------------------------------------

def check_expire_conditions(conditions: set[str]) -> None:
    """NX with any other condition, or GT with LT, is an error of its own."""
    if "nx" in conditions and len(conditions) > 1:
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if {"gt", "lt"} <= conditions:
        raise CommandError("ERR GT and LT options at the same time are not compatible")


def _expire(client, args, command: str, amount_name: str, unit_ms: int, relative: bool):
    # The conditions are checked before the number (raw here), so `EXPIRE k abc NX XX`
    # complains about NX XX, as Redis does.
    conditions = args.get("condition", set())
    check_expire_conditions(conditions)
    when = parse_int(args[amount_name])
    invalid = f"ERR invalid expire time in '{command}' command"
    if unit_ms == 1000:
        if abs(when) > INT64_MAX // 1000:  # seconds that overflow once made milliseconds
            raise CommandError(invalid)
        when *= 1000
    db = client.db
    base = db.clock.ms if relative else 0
    if when > INT64_MAX - base:
        raise CommandError(invalid)
    when += base
    key = args["key"]
    if db.get(key) is None:
        return 0
    current = db.expires.get(key)  # None: no expiry, which GT and LT treat as infinitely far
    if "nx" in conditions and current is not None:
        return 0
    if "xx" in conditions and current is None:
        return 0
    if "gt" in conditions and (current is None or when <= current):
        return 0
    if "lt" in conditions and current is not None and when >= current:
        return 0
    if db.already_expired(when):  # a time already past deletes the key (and still answers 1)
        db.delete(key)
        client.propagate_as = [[_lazy_delete_command(client, "lazyfree-lazy-expire"), key]]
    else:
        db.set_expire(key, when)
        if command != "pexpireat":
            # The AOF and replicas get the absolute time; the conditions stay as they were
            # typed (Redis rewrites only the command's name and its time).
            client.propagate_as = [[b"PEXPIREAT", key, b"%d" % when, *client.argv[3:]]]
    return 1


def _lazy_delete_command(client, option: str) -> bytes:
    """How Redis propagates a deletion it made itself: UNLINK when the lazyfree option is on."""
    return b"UNLINK" if client.server.config[option] else b"DEL"


@handler("expire", raw=("seconds",))
def expire(client, args):
    return _expire(client, args, "expire", "seconds", 1000, relative=True)


@handler("pexpire", raw=("milliseconds",))
def pexpire(client, args):
    return _expire(client, args, "pexpire", "milliseconds", 1, relative=True)


@handler("expireat", raw=("unix-time-seconds",))
def expireat(client, args):
    return _expire(client, args, "expireat", "unix-time-seconds", 1000, relative=False)


@handler("pexpireat", raw=("unix-time-milliseconds",))
def pexpireat(client, args):
    return _expire(client, args, "pexpireat", "unix-time-milliseconds", 1, relative=False)


# --- TTL PTTL EXPIRETIME PEXPIRETIME PERSIST --------------------------------------------------

def _ttl(client, args, in_ms: bool, absolute: bool) -> int:
    db = client.db
    key = args["key"]
    if lookup_notouch(db, key) is None:
        return -2
    when = db.expires.get(key)
    if when is None:
        return -1
    left = when if absolute else max(0, when - db.clock.ms)
    return left if in_ms else (left + 500) // 1000  # seconds are rounded to the nearest


@handler("ttl")
def ttl(client, args):
    return _ttl(client, args, in_ms=False, absolute=False)


@handler("pttl")
def pttl(client, args):
    return _ttl(client, args, in_ms=True, absolute=False)


@handler("expiretime")
def expiretime(client, args):
    return _ttl(client, args, in_ms=False, absolute=True)


@handler("pexpiretime")
def pexpiretime(client, args):
    return _ttl(client, args, in_ms=True, absolute=True)


@handler("persist")
def persist(client, args):
    db = client.db
    key = args["key"]
    return int(db.get(key) is not None and db.persist(key))


# --- OBJECT -----------------------------------------------------------------------------------

SHARED_INTEGERS = 10000        # Redis keeps one shared object for each of 0..9999
SHARED_REFCOUNT = 2147483647   # ... and reports INT_MAX as their reference count


def _uses_lfu(config) -> bool:
    return "lfu" in config["maxmemory-policy"]


def _shares_integers(config) -> bool:
    # With maxmemory set under an LRU or LFU policy every value needs its own access clock,
    # so Redis stops sharing the small integers.
    policy = config["maxmemory-policy"]
    return config["maxmemory"] == 0 or not ("lru" in policy or "lfu" in policy)


@handler("object|encoding")
def object_encoding(client, args):
    value = lookup_notouch(client.db, args["key"])
    if value is None:
        return None
    return VALUE_TYPES[type(value)].encoding(value, client.server.config).encode()


def refcount_of(value, config) -> int:
    """What OBJECT REFCOUNT (and DEBUG OBJECT) report for a stored value."""
    if (isinstance(value, bytes) and len(value) <= 20 and is_int(value)
            and 0 <= int(value) < SHARED_INTEGERS and _shares_integers(config)):
        return SHARED_REFCOUNT
    return 1


@handler("object|refcount")
def object_refcount(client, args):
    value = lookup_notouch(client.db, args["key"])
    if value is None:
        return None
    return refcount_of(value, client.server.config)


@handler("object|idletime")
def object_idletime(client, args):
    db = client.db
    key = args["key"]
    if lookup_notouch(db, key) is None:
        return None
    if _uses_lfu(client.server.config):
        raise CommandError(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when "
            "switching between policies at runtime LRU and LFU data will take some time to adjust.")
    return db.idle_ms(key) // 1000


@handler("object|freq")
def object_freq(client, args):
    value = lookup_notouch(client.db, args["key"])
    if value is None:
        return None
    if not _uses_lfu(client.server.config):
        raise CommandError(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note "
            "that when switching between policies at runtime LRU and LFU data will take some time "
            "to adjust.")
    return LFU_INIT_VAL  # divergence: no LFU counters are kept (see spec/generic.md)


@handler("object|help")
def object_help(client, args):
    return subcommand_help(client, "object")
