"""Handlers of spec/hashes.md.

A hash is a `HashValue`: a dict of field -> value (both bytes) that also remembers whether Redis
would have converted it from listpack to hashtable. Redis decides that on writes only, from the
configuration of that moment, and never converts back, so the encoding is state, not something
computed from the contents. Python dicts keep insertion order, updates in place and deletions
exactly as a listpack does, so a listpack-encoded hash lists its fields in Redis's order.

Order of checks follows t_hash.c: numbers given as arguments, then the key's type, then the
stored values.
"""
from __future__ import annotations

import bisect
import random
from fractions import Fraction

from reference import longdouble
from reference.commands import handler
from reference.commands.generic import parse_scan_cursor
from reference.dispatch import WRONGTYPE, CommandError
from reference.keyspace import register_type
from reference.matcher import SYNTAX_ERROR
from reference.patterns import glob_match
from reference.protocol import OK
from reference.values import FLOAT_ERROR, INT64_MAX, INT64_MIN, parse_int, string2ll


class HashValue(dict):
    """field -> value. `hashtable`: Redis's encoding would be hashtable (else listpack).
    `scan_order`: HSCAN's snapshot of the fields in cursor order, while a scan is under way."""
    __slots__ = ("hashtable", "scan_order")

    def __init__(self, *args):
        super().__init__(*args)
        self.hashtable = False
        self.scan_order = None


def hash_encoding(value: HashValue, config=None) -> str:
    return "hashtable" if value.hashtable else "listpack"


def copy_hash(value: HashValue) -> HashValue:
    copy = HashValue(value)
    copy.hashtable = value.hashtable
    return copy


register_type(HashValue, "hash", hash_encoding, copy_hash)


# --- lookups and writes --------------------------------------------------------------------

def _hash(value) -> HashValue | None:
    """value itself if it is a hash or None; WRONGTYPE otherwise."""
    if value is not None and not isinstance(value, HashValue):
        raise CommandError(WRONGTYPE)
    return value


def _read(client, key: bytes) -> HashValue | None:
    return _hash(client.db.lookup_read(key))


def _for_write(client, key: bytes) -> HashValue:
    """The hash at key, or a new empty one not yet stored (see _saved)."""
    value = _hash(client.db.get(key))
    return HashValue() if value is None else value


def _saved(client, key: bytes, value: HashValue, changes: int = 1) -> None:
    """Store a new hash, or tell the keyspace an existing one changed in place (keeping its TTL)."""
    client.db.replace(key, value, changes)


def _set_field(client, value: HashValue, field: bytes, data: bytes) -> bool:
    """Set one field as Redis's hashTypeSet does, converting to hashtable when a string is too
    long for a listpack or the hash has too many fields. True if the field is new."""
    config = client.server.config
    longest = config["hash-max-listpack-value"]
    if len(field) > longest or len(data) > longest:
        value.hashtable = True
    new = field not in value
    value[field] = data
    if len(value) > config["hash-max-listpack-entries"]:
        value.hashtable = True
    return new


# --- HSET HMSET HSETNX ---------------------------------------------------------------------

def _hset(client, args) -> int:
    key = args["key"]
    value = _for_write(client, key)
    created = 0
    pairs = args["field_value"]
    for pair in pairs:
        created += _set_field(client, value, pair["field"], pair["value"])
    _saved(client, key, value, changes=len(pairs))  # Redis counts every field set, new or not
    return created


@handler("hset")
def hset(client, args):
    return _hset(client, args)


@handler("hmset")
def hmset(client, args):
    _hset(client, args)
    return OK


@handler("hsetnx")
def hsetnx(client, args):
    key, field = args["key"], args["field"]
    value = _for_write(client, key)
    if field in value:
        return 0
    _set_field(client, value, field, args["value"])
    _saved(client, key, value)
    return 1


# --- reads ---------------------------------------------------------------------------------

@handler("hget")
def hget(client, args):
    value = _read(client, args["key"])
    return None if value is None else value.get(args["field"])


@handler("hmget")
def hmget(client, args):
    value = _read(client, args["key"]) or {}
    return [value.get(field) for field in args["field"]]


@handler("hlen")
def hlen(client, args):
    return len(_read(client, args["key"]) or ())


@handler("hstrlen")
def hstrlen(client, args):
    value = _read(client, args["key"]) or {}
    return len(value.get(args["field"], b""))


@handler("hexists")
def hexists(client, args):
    value = _read(client, args["key"]) or {}
    return int(args["field"] in value)


@handler("hkeys")
def hkeys(client, args):
    return list(_read(client, args["key"]) or ())


@handler("hvals")
def hvals(client, args):
    return list((_read(client, args["key"]) or {}).values())


@handler("hgetall")
def hgetall(client, args):
    return dict(_read(client, args["key"]) or {})   # a map: RESP2 sends it as a flat array


# --- HDEL ----------------------------------------------------------------------------------

@handler("hdel")
def hdel(client, args):
    db, key = client.db, args["key"]
    value = _hash(db.get(key))
    if value is None:
        return 0
    deleted = sum(value.pop(field, None) is not None for field in args["field"])
    if not value:
        db.delete(key, changes=deleted)   # the last field went: the key goes too
    elif deleted:
        _saved(client, key, value, changes=deleted)
    return deleted


# --- HINCRBY HINCRBYFLOAT ------------------------------------------------------------------

@handler("hincrby")
def hincrby(client, args):
    key, field, increment = args["key"], args["field"], args["increment"]
    value = _for_write(client, key)
    stored = value.get(field, b"0")
    current = string2ll(stored)
    if current is None:
        raise CommandError("ERR hash value is not an integer")
    total = current + increment
    if not INT64_MIN <= total <= INT64_MAX:
        raise CommandError("ERR increment or decrement would overflow")
    _set_field(client, value, field, str(total).encode())
    _saved(client, key, value)
    return total


@handler("hincrbyfloat", raw=("increment",))
def hincrbyfloat(client, args):
    # Arithmetic in C long double, as INCRBYFLOAT: see reference/longdouble.py.
    key, field = args["key"], args["field"]
    increment = longdouble.parse(args["increment"])
    if increment is None:
        raise CommandError(FLOAT_ERROR)
    if isinstance(increment, float):      # longdouble keeps only infinities as floats
        raise CommandError("ERR value is NaN or Infinity")
    value = _for_write(client, key)
    current = longdouble.parse(value[field]) if field in value else Fraction(0)
    if current is None:
        raise CommandError("ERR hash value is not a float")
    total = longdouble.add(current, increment)
    if isinstance(total, float):
        raise CommandError("ERR increment would produce NaN or Infinity")
    text = longdouble.format_human(total)
    _set_field(client, value, field, text)
    _saved(client, key, value)
    # Written as the value it produced, as Redis: replaying float arithmetic could differ.
    client.propagate_as = [[b"HSET", key, field, text if isinstance(text, bytes) else text.encode()]]
    return text


# --- HRANDFIELD ----------------------------------------------------------------------------

LONG_MAX = INT64_MAX


def parse_hrandfield_count(raw: bytes) -> int:
    """HRANDFIELD's count: a C long, but LONG_MIN is refused (its negation would not fit)."""
    count = parse_int(raw)
    if count < -LONG_MAX:
        raise CommandError(f"ERR value is out of range, value must between {-LONG_MAX} and {LONG_MAX}")
    return count


@handler("hrandfield", convert={"count": parse_hrandfield_count})
def hrandfield(client, args):
    with_values = args.get("withvalues", False)
    if "count" not in args:
        value = _read(client, args["key"])
        return None if value is None else random.choice(list(value))
    count = args["count"]
    if with_values and not -(LONG_MAX // 2) <= count <= LONG_MAX // 2:
        # Redis guards the size of the reply, which holds two elements per field.
        raise CommandError("ERR value is out of range")
    value = _read(client, args["key"])
    if value is None or count == 0:
        return []
    fields = list(value)
    if count < 0:        # drawn independently: repeats allowed, exactly -count of them
        picked = [random.choice(fields) for _ in range(-count)]
    elif count >= len(fields):
        picked = fields  # the whole hash, in its own order
    else:
        picked = random.sample(fields, count)
    if not with_values:
        return picked
    if client.protocol == 2:
        return [item for field in picked for item in (field, value[field])]
    return [[field, value[field]] for field in picked]


# --- HSCAN ---------------------------------------------------------------------------------

def _position(field: bytes) -> int:
    """Where a field sits in the cursor space: its hash as an unsigned 64-bit number. Python's
    hash of bytes is stable for the life of the process, which is all a cursor needs."""
    return hash(field) + (1 << 63)


def _scan_batch(value: HashValue, cursor: int, count: int) -> tuple[int, list[bytes]]:
    """Up to `count` fields (more if positions tie) from position `cursor` on, and the next
    cursor (0 when none are left). As SCAN's ScanIndex (reference/commands/generic.py): the
    fields are snapshotted in position order when a scan starts (cursor 0), so a field present
    for the whole scan is in every snapshot it uses; fields deleted since are skipped by the
    caller, fields added since may be missed, which the promise allows."""
    if value.scan_order is None or cursor == 0:
        fields = sorted(value, key=_position)
        value.scan_order = (fields, [_position(field) for field in fields])
    fields, positions = value.scan_order
    start = bisect.bisect_left(positions, cursor)
    end = min(start + count, len(fields))
    while 0 < end < len(fields) and positions[end] == positions[end - 1]:
        end += 1   # never split fields of one position between calls
    if end >= len(fields):
        value.scan_order = None   # this scan is over; the next one starts afresh
        return 0, fields[start:]
    return positions[end], fields[start:end]


def _scan_options(words: list[bytes]) -> tuple[bytes | None, int]:
    """MATCH and COUNT as scanGenericCommand reads them: (pattern or None, count)."""
    pattern, count = None, 10
    i = 0
    while i < len(words):
        option = words[i].lower()
        if option == b"count" and i + 1 < len(words):
            count = parse_int(words[i + 1])
            if count < 1:
                raise CommandError(SYNTAX_ERROR)
        elif option == b"match" and i + 1 < len(words):
            pattern = None if words[i + 1] == b"*" else words[i + 1]
        else:
            raise CommandError(SYNTAX_ERROR)
        i += 2
    return pattern, count


@handler("hscan", convert={"cursor": parse_scan_cursor})
def hscan(client, args):
    # spec/hashes.md's `parse:` takes the options as plain words: Redis reads them only after
    # it has found the key, so a missing key answers an empty scan whatever they say.
    cursor = args["cursor"]
    value = _read(client, args["key"])
    if value is None:
        return [b"0", []]
    pattern, count = _scan_options(args.get("option", []))
    if value.hashtable:
        cursor, fields = _scan_batch(value, cursor, count)
        fields = [field for field in fields if field in value]   # skip fields deleted meanwhile
    else:
        cursor, fields = 0, list(value)   # a listpack is returned whole, as Redis does
    if pattern is not None:
        fields = [field for field in fields if glob_match(pattern, field)]
    return [str(cursor).encode(), [item for field in fields for item in (field, value[field])]]
