"""Handlers of spec/lists.md.

A list is a `ListValue`, a deque of element bytes: both ends are O(1) as in Redis's quicklist.
Redis 7.0 encodes every list as a quicklist, whatever its size and configuration.

Order of checks follows Redis: numbers the command reads before the key (LRANGE, LTRIM, LREM,
LPOS, the pop counts and timeouts) are converted by the matcher or by the converters given to
it; LINDEX and LSET look the key up first and read their index here (`raw`).

Blocking commands return a `Block` when nothing can be served; the server runs the very same
command again when a waited-on key is written (reference/blocking.py). A rerun must behave as
Redis 7.0 serving a blocked client: only a key that now holds a non-empty list serves it, a key
that was given another type meanwhile is passed over (the client goes on waiting), and a
destination of the wrong type is reported as an error.
"""
from __future__ import annotations

from collections import deque
from itertools import islice

from reference.blocking import Block, parse_timeout
from reference.commands import handler
from reference.dispatch import WRONGTYPE, CommandError
from reference.keyspace import register_type
from reference.protocol import NULL_ARRAY, OK
from reference.values import INT64_MIN, index_range, parse_int, string2ll

SYNTAX_ERROR = "ERR syntax error"


class ListValue(deque):
    """A list value: elements as bytes, the head at index 0."""
    __slots__ = ()


register_type(ListValue, "list", lambda value, config=None: "quicklist", copy=ListValue)


# --- looking keys up ---------------------------------------------------------------------

def _checked(value):
    """value if it is a list or None; WRONGTYPE otherwise."""
    if value is not None and not isinstance(value, ListValue):
        raise CommandError(WRONGTYPE)
    return value


def _read(client, key: bytes) -> ListValue | None:
    """The list at key for a reading command (counts a keyspace hit or miss)."""
    return _checked(client.db.lookup_read(key))


def _write(client, key: bytes) -> ListValue | None:
    """The list at key for a writing command (no hit/miss statistics, as Redis's write lookups)."""
    value = _checked(client.db.get(key))
    if value is not None:
        client.db.note_access(key)
    return value


def _changed(client, key: bytes, value: ListValue, count: int) -> None:
    """After an in-place change of `count` elements: delete the key if the list is now empty,
    else mark it touched."""
    if value:
        client.db.changed(key, count)
    else:
        client.db.delete(key, changes=count)


def _push_one(client, key: bytes, value: ListValue | None, element: bytes, left: bool,
              changes: int = 1) -> None:
    """Push to the list at key (`value`, or None to create it), counting `changes`."""
    if value is None:
        value = ListValue()
        client.db.set(key, value, changes=changes)
    else:
        client.db.changed(key, changes)
    if left:
        value.appendleft(element)
    else:
        value.append(element)


def _pop_many(value: ListValue, left: bool, count: int) -> list[bytes]:
    """Up to count elements from one end, in popping order."""
    take = value.popleft if left else value.pop
    return [take() for _ in range(min(count, len(value)))]


# --- argument readers ----------------------------------------------------------------------

def _nonnegative(error: str):
    """A parser of integers from 0 up, answering `error` for anything else."""
    def parse(raw: bytes) -> int:
        value = parse_int(raw, error)
        if value < 0:
            raise CommandError(error)
        return value
    return parse


def _positive(raw: bytes, error: str) -> int:
    """An integer from 1 up, or `error` (LMPOP's numkeys and COUNT)."""
    value = string2ll(raw)
    if value is None or value < 1:
        raise CommandError(error)
    return value


POP_COUNT = _nonnegative("ERR value is out of range, must be positive")


def parse_mpop_count(raw: bytes) -> int:
    """LMPOP's COUNT, checked as it is read: an integer from 1 up."""
    return _positive(raw, "ERR count should be greater than 0")


# --- pushing -----------------------------------------------------------------------------

def _push(client, args, left: bool, only_if_exists: bool) -> int:
    key = args["key"]
    value = _write(client, key)
    if value is None:
        if only_if_exists:
            return 0
        value = ListValue()
        client.db.set(key, value)  # counts one change
        already_counted = 1
    else:
        already_counted = 0
    elements = args["element"]
    if left:
        value.extendleft(elements)
    else:
        value.extend(elements)
    client.db.changed(key, len(elements) - already_counted)  # Redis counts each element pushed
    return len(value)


@handler("lpush")
def lpush(client, args):
    return _push(client, args, left=True, only_if_exists=False)


@handler("rpush")
def rpush(client, args):
    return _push(client, args, left=False, only_if_exists=False)


@handler("lpushx")
def lpushx(client, args):
    return _push(client, args, left=True, only_if_exists=True)


@handler("rpushx")
def rpushx(client, args):
    return _push(client, args, left=False, only_if_exists=True)


# --- popping -----------------------------------------------------------------------------

def _pop(client, args, left: bool):
    key, count = args["key"], args.get("count")
    value = _write(client, key)
    if value is None:
        return None if count is None else NULL_ARRAY
    if count == 0:
        return []
    popped = _pop_many(value, left, 1 if count is None else count)
    _changed(client, key, value, len(popped))
    return popped[0] if count is None else popped


@handler("lpop", convert={"count": POP_COUNT})
def lpop(client, args):
    return _pop(client, args, left=True)


@handler("rpop", convert={"count": POP_COUNT})
def rpop(client, args):
    return _pop(client, args, left=False)


def _pop_from_first(client, keys: list[bytes], left: bool, count: int | None):
    """Pop from the first key holding a non-empty list: `[key, element]` (count None) or
    `[key, [elements...]]`; None if there is none. A rerun of a blocked command passes over
    keys of another type, as Redis serves a blocked client only from a list."""
    rerun = client.blocked is not None
    ready = client.blocked.ready_key if rerun else None
    if ready is not None:
        keys = [ready]  # Redis serves a blocked client from the key that became ready
    for key in keys:
        value = client.db.get(key)
        if value is None or (rerun and not isinstance(value, ListValue)):
            continue
        value = _write(client, key)
        popped = _pop_many(value, left, 1 if count is None else count)
        # Redis counts no change for a waiting BLPOP/BRPOP it serves (the push that fed it
        # counted), yet records the pop: forced. A served BLMPOP counts its elements.
        _changed(client, key, value, 0 if rerun and count is None else len(popped))
        client.force_propagation = True
        # written to the AOF as the plain pop it was (BLPOP k → LPOP k; LMPOP → LPOP k count)
        pop = b"LPOP" if left else b"RPOP"
        client.propagate_as = [[pop, key] if count is None else [pop, key, b"%d" % len(popped)]]
        return [key, popped[0] if count is None else popped]
    return None


@handler("lmpop", convert={"count": parse_mpop_count})
def lmpop(client, args):
    served = _pop_from_first(client, args["key"], args["where"] == "left", args.get("count", 1))
    return NULL_ARRAY if served is None else served


# --- reading -----------------------------------------------------------------------------

@handler("llen")
def llen(client, args):
    value = _read(client, args["key"])
    return 0 if value is None else len(value)


@handler("lrange")
def lrange(client, args):
    value = _read(client, args["key"])
    if value is None:
        return []
    span = index_range(len(value), args["start"], args["stop"])
    if span is None:
        return []
    return list(islice(value, span[0], span[1] + 1))


@handler("lindex", raw=("index",))
def lindex(client, args):
    value = _read(client, args["key"])
    if value is None:
        return None
    index = parse_int(args["index"])
    if index < 0:
        index += len(value)
    return value[index] if 0 <= index < len(value) else None


@handler("lpos", convert={"rank": lambda raw: _rank(raw),
                          "num-matches": _nonnegative("ERR COUNT can't be negative"),
                          "len": _nonnegative("ERR MAXLEN can't be negative")})
def lpos(client, args):
    rank, count, maxlen = args.get("rank", 1), args.get("num-matches"), args.get("len", 0)
    value = _read(client, args["key"])
    if value is None:
        return None if count is None else []
    element, length = args["element"], len(value)
    from_tail = rank < 0
    # Redis negates a negative rank in C: -(-2**63) stays -2**63, which every match count
    # reaches, and the COUNT test then overflows and never stops the scan.
    wrapped = rank == INT64_MIN
    rank = 1 if wrapped else abs(rank)
    if wrapped and count:
        count = 0
    scanned = reversed(value) if from_tail else iter(value)
    if maxlen:
        scanned = islice(scanned, maxlen)
    found = []
    matches = 0
    for position, item in enumerate(scanned):
        if item != element:
            continue
        matches += 1
        if matches < rank:
            continue
        found.append(length - 1 - position if from_tail else position)
        if count is None or (count and len(found) >= count):
            break
    if count is None:
        return found[0] if found else None
    return found


def _rank(raw: bytes) -> int:
    rank = parse_int(raw)
    if rank == 0:
        raise CommandError("ERR RANK can't be zero: use 1 to start from the first match, 2 from "
                           "the second ... or use negative to start from the end of the list")
    return rank


# --- changing in place ---------------------------------------------------------------------

@handler("lset", raw=("index",))
def lset(client, args):
    key = args["key"]
    value = client.db.get(key)
    if value is None:
        raise CommandError("ERR no such key")
    _checked(value)
    index = parse_int(args["index"])
    if index < 0:
        index += len(value)
    if not 0 <= index < len(value):
        raise CommandError("ERR index out of range")
    client.db.note_access(key)
    value[index] = args["element"]
    client.db.changed(key)
    return OK


@handler("linsert")
def linsert(client, args):
    key = args["key"]
    value = _write(client, key)
    if value is None:
        return 0
    try:
        at = value.index(args["pivot"])
    except ValueError:
        return -1
    value.insert(at if args["where"] == "before" else at + 1, args["element"])
    client.db.changed(key)
    return len(value)


@handler("lrem")
def lrem(client, args):
    key, count, element = args["key"], args["count"], args["element"]
    value = _write(client, key)
    if value is None:
        return 0
    limit = abs(count) or len(value)
    items = list(reversed(value)) if count < 0 else list(value)
    kept, removed = [], 0
    for item in items:
        if item == element and removed < limit:
            removed += 1
        else:
            kept.append(item)
    if removed:
        value.clear()
        value.extend(reversed(kept) if count < 0 else kept)
        _changed(client, key, value, removed)
    return removed


@handler("ltrim")
def ltrim(client, args):
    key = args["key"]
    value = _write(client, key)
    if value is None:
        return OK
    length = len(value)
    span = index_range(length, args["start"], args["stop"])
    if span is None:
        value.clear()
    else:
        start, stop = span
        for _ in range(length - 1 - stop):
            value.pop()
        for _ in range(start):
            value.popleft()
    # Redis signals the key even when nothing was removed (and counts nothing then).
    _changed(client, key, value, length - len(value))
    return OK


# --- moving between lists ------------------------------------------------------------------

def _move(client, source: bytes, destination: bytes, from_left: bool, to_left: bool,
          changes: int = 1):
    """LMOVE: the element moved, or None if the source is missing."""
    value = _write(client, source)
    if value is None:
        return None
    target = _write(client, destination)  # WRONGTYPE before anything moves
    element = value.popleft() if from_left else value.pop()
    _push_one(client, destination, target, element, to_left, changes)  # the move's one change
    _changed(client, source, value, 0)
    return element


@handler("lmove")
def lmove(client, args):
    return _move(client, args["source"], args["destination"],
                 args["wherefrom"] == "left", args["whereto"] == "left")


@handler("rpoplpush")
def rpoplpush(client, args):
    return _move(client, args["source"], args["destination"], False, True)


# --- blocking ------------------------------------------------------------------------------

def _blocking_pop(client, keys: list[bytes], left: bool, timeout_ms: int, count: int | None):
    served = _pop_from_first(client, keys, left, count)
    if served is not None:
        return served
    return Block(keys, timeout_ms, NULL_ARRAY)


@handler("blpop", convert={"timeout": parse_timeout})
def blpop(client, args):
    return _blocking_pop(client, args["key"], True, args["timeout"], None)


@handler("brpop", convert={"timeout": parse_timeout})
def brpop(client, args):
    return _blocking_pop(client, args["key"], False, args["timeout"], None)


@handler("blmpop", raw=("timeout",), convert={"count": parse_mpop_count})
def blmpop(client, args):
    # Redis reads the timeout last, after every other argument.
    return _blocking_pop(client, args["key"], args["where"] == "left",
                         parse_timeout(args["timeout"]), args.get("count", 1))


def _blocking_move(client, source: bytes, destination: bytes, from_left: bool, to_left: bool,
                   timeout_ms: int, plain: list[bytes]):
    """BLMOVE / BRPOPLPUSH; `plain` is the non-blocking command the AOF gets when it moves."""
    found = client.db.get(source)
    if client.blocked is not None and not isinstance(found, ListValue):
        found = None  # a rerun waits on through a source of another type
    if _checked(found) is None:
        if client.in_exec:
            return None  # not allowed to wait: nil, although a real timeout is a null array
        return Block([source], timeout_ms, NULL_ARRAY)
    client.propagate_as = [plain]
    moved = _move(client, source, destination, from_left, to_left,
                  changes=0 if client.blocked is not None else 1)  # (WRONGTYPE raises here)
    # As for BLPOP: a waiting client served counts no change, and is recorded all the same.
    client.force_propagation = True
    return moved


@handler("blmove", convert={"timeout": parse_timeout})
def blmove(client, args):
    source, destination = args["source"], args["destination"]
    wherefrom, whereto = args["wherefrom"], args["whereto"]
    # Written as LMOVE with the directions as typed; a waiting client served later gets
    # Redis's own lower-case words (left, right).
    if client.blocked is None:
        plain = [b"LMOVE", *client.argv[1:5]]
    else:
        plain = [b"LMOVE", source, destination, wherefrom.lower().encode(), whereto.lower().encode()]
    return _blocking_move(client, source, destination, wherefrom == "left", whereto == "left",
                          args["timeout"], plain)


@handler("brpoplpush", convert={"timeout": parse_timeout})
def brpoplpush(client, args):
    return _blocking_move(client, args["source"], args["destination"], False, True, args["timeout"],
                          [b"RPOPLPUSH", args["source"], args["destination"]])
