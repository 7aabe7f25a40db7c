"""Handlers of spec/sets.md.

A set is a `SetValue`: a Python set of member bytes that also remembers whether Redis would hold
it as an intset. Redis 7.0's encoding is a matter of history, not only of contents (a set that
once held a non-integer, or grew past set-max-intset-entries, stays a hashtable), so the flag is
kept with the value and updated by `add`, the one way members get in. An intset is iterated in
ascending numeric order, which replies that walk a set reproduce (`ordered`); a hashtable's order
is Redis's hash order, which nobody can reproduce, so Python's own order stands in for it.

Order of checks follows Redis: counts are read before the key (SPOP, SRANDMEMBER, SINTERCARD's
words); SSCAN reads its options after the key (`_scan_options`).
"""
from __future__ import annotations

import random

from reference.commands import handler
from reference.commands.generic import ScanIndex, parse_scan_cursor
from reference.dispatch import WRONGTYPE, CommandError
from reference.keyspace import register_type
from reference.patterns import glob_match
from reference.protocol import RespSet
from reference.values import INT64_MAX, INT64_MIN, is_int, parse_int, string2ll

SYNTAX_ERROR = "ERR syntax error"
INTSET_HARD_LIMIT = 1 << 30  # Redis caps set-max-intset-entries here (intset internals)
REPEATS_LIMIT = 1 << 24      # the largest |count| of a negative SRANDMEMBER the reference serves


def _max_intset_entries(config) -> int:
    return min(config["set-max-intset-entries"], INTSET_HARD_LIMIT)


class SetValue(set):
    """A set value. `intset`: Redis would hold it as an intset. `scan_index`: SSCAN's snapshot
    of the member order, kept between the calls of a scan (None when no scan is under way)."""
    __slots__ = ("intset", "scan_index")

    def __init__(self, members=(), intset: bool = True):
        super().__init__(members)
        self.intset = intset
        self.scan_index = None

    def add_member(self, member: bytes, max_intset: int) -> bool:
        """Add one member as Redis's setTypeAdd does; False if it was there already.
        Only a successful addition can turn an intset into a hashtable."""
        if member in self:
            return False
        self.add(member)
        if self.intset and (not is_int(member) or len(self) > max_intset):
            self.intset = False
        return True

    def ordered(self) -> list[bytes]:
        """The members in the order Redis iterates them: ascending for an intset."""
        return sorted(self, key=int) if self.intset else list(self)


def _new_set(members, max_intset: int) -> SetValue:
    """A set built afresh by adding `members` one by one (Redis's createIntsetObject + adds)."""
    value = SetValue()
    for member in members:
        value.add_member(member, max_intset)
    return value


def _copy(value: SetValue) -> SetValue:
    return SetValue(value, value.intset)  # COPY keeps the encoding (setTypeDup)


register_type(SetValue, "set", lambda value, config=None: "intset" if value.intset else "hashtable",
              copy=_copy)


# --- looking keys up ---------------------------------------------------------------------

def _checked(value):
    """value if it is a set or None; WRONGTYPE otherwise."""
    if value is not None and not isinstance(value, SetValue):
        raise CommandError(WRONGTYPE)
    return value


def _read(client, key: bytes) -> SetValue | None:
    """The set at key for a reading command (counts a keyspace hit or miss)."""
    return _checked(client.db.lookup_read(key))


def _write(client, key: bytes) -> SetValue | None:
    """The set at key for a writing command (no hit/miss statistics, as Redis's write lookups)."""
    value = _checked(client.db.get(key))
    if value is not None:
        client.db.note_access(key)
    return value


def _read_all(client, keys) -> list[SetValue | None]:
    """Every key looked up before anything is done: one wrong type anywhere fails the command."""
    return [_read(client, key) for key in keys]


def _changed(client, key: bytes, value: SetValue, count: int) -> None:
    """After `count` members were removed: delete the key if the set is now empty, else touch it."""
    if value:
        client.db.changed(key, count)
    else:
        client.db.delete(key, changes=count)


def _store(client, destination: bytes, result: SetValue) -> int:
    """The STORE variants: a non-empty result replaces the destination (its TTL goes too),
    an empty one deletes it."""
    if result:
        client.db.set(destination, result)
    else:
        client.db.discard(destination)  # not looked up: one past its time counts, no DEL of its own
    return len(result)


# --- SADD SREM SCARD SISMEMBER SMISMEMBER SMOVE ------------------------------------------

@handler("sadd")
def sadd(client, args):
    key, members = args["key"], args["member"]
    value = _write(client, key)
    max_intset = _max_intset_entries(client.server.config)
    created = value is None
    if created:
        # Redis creates an intset if the first member is an integer, a hashtable otherwise.
        value = SetValue(intset=is_int(members[0]))
        client.db.set(key, value, keep_ttl=True)  # counts one change
    added = sum(value.add_member(member, max_intset) for member in members)
    if added:
        client.db.changed(key, added - created)  # Redis counts each member added
    return added


@handler("srem")
def srem(client, args):
    key = args["key"]
    value = _write(client, key)
    if value is None:
        return 0
    removed = 0
    for member in args["member"]:
        if member in value:
            value.discard(member)
            removed += 1
    if removed:
        _changed(client, key, value, removed)
    return removed


@handler("scard")
def scard(client, args):
    value = _read(client, args["key"])
    return 0 if value is None else len(value)


@handler("sismember")
def sismember(client, args):
    value = _read(client, args["key"])
    return int(value is not None and args["member"] in value)


@handler("smismember")
def smismember(client, args):
    value = _read(client, args["key"]) or ()
    return [int(member in value) for member in args["member"]]


@handler("smove")
def smove(client, args):
    source_key, destination_key, member = args["source"], args["destination"], args["member"]
    source = client.db.get(source_key)
    destination = client.db.get(destination_key)
    if source is None:
        return 0
    _checked(source)
    _checked(destination)
    if source_key == destination_key:
        return int(member in source)
    if member not in source:
        return 0
    # One change for the removal, and one more if the destination did not have the member.
    source.discard(member)
    _changed(client, source_key, source, 1)
    if destination is None:
        destination = SetValue(intset=is_int(member))
        client.db.set(destination_key, destination, changes=0)
    if destination.add_member(member, _max_intset_entries(client.server.config)):
        client.db.changed(destination_key)
    return 1


# --- SMEMBERS SRANDMEMBER SPOP --------------------------------------------------------------

@handler("smembers")
def smembers(client, args):
    value = _read(client, args["key"])
    return RespSet(value.ordered() if value is not None else ())


@handler("srandmember")
def srandmember(client, args):
    count = args.get("count")
    if count == INT64_MIN:
        raise CommandError("ERR value is out of range, value must between "
                           f"{-INT64_MAX} and {INT64_MAX}")
    value = _read(client, args["key"])
    if count is None:
        return None if value is None else random.choice(list(value))
    if value is None or count == 0:
        return []
    if count < 0:
        if -count > REPEATS_LIMIT:  # a named divergence (spec/sets.md): Redis runs out of memory
            raise CommandError("ERR count is too large")
        return random.choices(list(value), k=-count)  # drawn independently: repeats allowed
    if count >= len(value):
        return value.ordered()
    return random.sample(list(value), count)


@handler("spop")
def spop(client, args):
    count = args.get("count")
    if count is not None and count < 0:
        raise CommandError("ERR value is out of range, must be positive")
    key = args["key"]
    value = _write(client, key)
    if count is None:
        if value is None:
            return None
        member = random.choice(list(value))
        value.discard(member)
        _changed(client, key, value, 1)
        client.propagate_as = [[b"SREM", key, member]]  # the AOF must not draw again
        return member
    if value is None or count == 0:
        return RespSet()
    if count >= len(value):
        client.db.delete(key, changes=len(value))
        client.propagate_as = [[b"DEL", key]]
        return RespSet(value.ordered())
    popped = random.sample(list(value), count)
    value.difference_update(popped)
    if len(value) * 5 <= count:
        # Redis rebuilds the set from the few members left, which may make it an intset again.
        value.intset = _new_set(value, _max_intset_entries(client.server.config)).intset
    client.db.changed(key, count)
    client.propagate_as = [[b"SREM", key, member] for member in popped]  # one SREM each, as Redis
    return RespSet(popped)


# --- SINTER SINTERCARD SUNION SDIFF and their STORE variants ---------------------------

def _intersection(sets: list[SetValue | None]) -> list[bytes]:
    """The members common to all sets, in the order of the smallest (as Redis walks it)."""
    if any(value is None for value in sets):
        return []
    smallest = min(sets, key=len)
    return [member for member in smallest.ordered() if all(member in other for other in sets)]


def _union(sets: list[SetValue | None]) -> list[bytes]:
    members: dict[bytes, None] = {}
    for value in sets:
        if value is not None:
            members.update(dict.fromkeys(value))
    return list(members)


def _difference(sets: list[SetValue | None], max_intset: int) -> SetValue:
    """SDIFF's result, with the encoding Redis's chosen algorithm leaves it in (spec/sets.md)."""
    first, others = sets[0], sets[1:]
    if first is None:
        return SetValue()
    if any(other is first for other in others):
        return SetValue()  # the first key named again: nothing can be left
    existing = [value for value in sets if value is not None]
    keep = [member for member in first.ordered()
            if not any(member in other for other in others if other is not None)]
    copies_whole_first_set = len(first) * len(existing) // 2 > sum(map(len, existing))
    if copies_whole_first_set:
        encoding_source = _new_set(first, max_intset)  # the whole first set went in
        return SetValue(keep, encoding_source.intset)
    return _new_set(keep, max_intset)


def _reply(members, max_intset: int) -> RespSet:
    """A computed result as Redis replies it: built as a new set, so ascending if an intset."""
    return RespSet(_new_set(members, max_intset).ordered())


@handler("sinter")
def sinter(client, args):
    sets = _read_all(client, args["key"])
    members = _intersection(sets)
    # The smallest set's order, which is ascending if it is an intset.
    return RespSet(members)


def parse_limit(raw: bytes) -> int:
    """SINTERCARD's LIMIT, checked as it is read: an integer from 0 up."""
    limit = string2ll(raw)
    if limit is None or limit < 0:
        raise CommandError("ERR LIMIT can't be negative")
    return limit


@handler("sintercard", convert={"limit": parse_limit})
def sintercard(client, args):
    limit = args.get("limit", 0)
    keys = args["key"]
    cardinality = len(_intersection(_read_all(client, keys)))
    return min(cardinality, limit) if limit else cardinality


@handler("sinterstore")
def sinterstore(client, args):
    sets = _read_all(client, args["key"])
    max_intset = _max_intset_entries(client.server.config)
    return _store(client, args["destination"], _new_set(_intersection(sets), max_intset))


@handler("sunion")
def sunion(client, args):
    sets = _read_all(client, args["key"])
    return _reply(_union(sets), _max_intset_entries(client.server.config))


@handler("sunionstore")
def sunionstore(client, args):
    sets = _read_all(client, args["key"])
    max_intset = _max_intset_entries(client.server.config)
    return _store(client, args["destination"], _new_set(_union(sets), max_intset))


@handler("sdiff")
def sdiff(client, args):
    sets = _read_all(client, args["key"])
    return RespSet(_difference(sets, _max_intset_entries(client.server.config)).ordered())


@handler("sdiffstore")
def sdiffstore(client, args):
    sets = _read_all(client, args["key"])
    max_intset = _max_intset_entries(client.server.config)
    return _store(client, args["destination"], _difference(sets, max_intset))


# --- SSCAN ------------------------------------------------------------------------------

class MemberScanIndex(ScanIndex):
    """SCAN's hash-ordered snapshot (reference/commands/generic.py) over a set's members."""
    __slots__ = ()

    def __init__(self, members):
        self.keys = sorted(members, key=hash)
        self.positions = [hash(member) + (1 << 63) for member in self.keys]


def _scan_options(options: list[bytes]) -> tuple[bytes | None, int]:
    """MATCH and COUNT, read word by word as Redis's scanGenericCommand reads them."""
    pattern, count = None, 10
    position = 0
    while position < len(options):
        word = options[position].upper()
        has_value = position + 1 < len(options)
        if word == b"COUNT" and has_value:
            count = parse_int(options[position + 1])
            if count < 1:
                raise CommandError(SYNTAX_ERROR)
        elif word == b"MATCH" and has_value:
            pattern = options[position + 1]
        else:
            raise CommandError(SYNTAX_ERROR)
        position += 2
    return (None if pattern == b"*" else pattern), count


@handler("sscan", convert={"cursor": parse_scan_cursor})
def sscan(client, args):
    value = _read(client, args["key"])
    if value is None:
        return [b"0", []]
    pattern, count = _scan_options(args.get("option", []))
    if value.intset:
        next_cursor, batch = 0, value.ordered()  # small: all of it at once, as Redis does
    else:
        cursor = args["cursor"]
        if value.scan_index is None or cursor == 0:
            value.scan_index = MemberScanIndex(value)
        next_cursor, batch = value.scan_index.batch(cursor, count)
        batch = [member for member in batch if member in value]  # removed since the snapshot
        if next_cursor == 0:
            value.scan_index = None
    if pattern is not None:
        batch = [member for member in batch if glob_match(pattern, member)]
    return [str(next_cursor).encode(), batch]
