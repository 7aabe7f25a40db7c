"""SORT and SORT_RO (spec/generic.md), as Redis's sort.c: load the elements, maybe look up the
keys BY names for them, sort (numbers or bytes), apply LIMIT, then reply with the elements or with
what GET patterns name for them, or store that as a list."""
from __future__ import annotations

from reference.commands import getkeys, handler
from reference.dispatch import WRONGTYPE, CommandError
from reference.keyspace import type_name
from reference.zset import strtod_whole

NOT_A_DOUBLE = "ERR One or more scores can't be converted into double"


def lookup_by_pattern(db, pattern: bytes, element: bytes):
    """The value a BY/GET pattern names for element: `#` is the element; the first `*` takes
    the element and `key->field` reads a hash field. None if missing or of the wrong type."""
    if pattern == b"#":
        return element
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(pattern):
        field = pattern[arrow + 2:]
        pattern = pattern[:arrow]
    value = db.get(pattern[:star] + element + pattern[star + 1:])
    if value is None:
        return None
    if field is not None:
        return value.get(field) if type_name(value) == "hash" else None
    return value if type_name(value) == "string" else None


def _elements(value, start: int, end: int, desc: bool, dontsort: bool) -> list[bytes]:
    kind = type_name(value)
    if kind == "zset":
        members = [member for _, member in value.order]
    else:
        members = list(value)  # a list in order; a set in its own order
    if dontsort and kind in ("list", "zset"):
        if desc:
            members.reverse()
        return members[start:end + 1]
    return members


def sort(client, args, store: bytes | None):
    db = client.db
    desc = args.get("order") == "desc"
    alpha = "alpha" in args
    by = args.get("by-pattern")
    gets = args.get("get-pattern", [])
    dontsort = by is not None and b"*" not in by
    value = db.lookup_read(args["key"])
    if value is not None and type_name(value) not in ("list", "set", "zset"):
        raise CommandError(WRONGTYPE)
    if value is not None and dontsort and type_name(value) == "set" and store is not None:
        dontsort, alpha, by = False, True, None  # stored results must not depend on hash order
    size = 0 if value is None else len(value)
    offset, count = args.get("offset", 0), args.get("count", -1)
    start = max(offset, 0)
    end = size - 1 if count < 0 else start + count - 1
    if start >= size:
        start, end = size - 1, size - 2
    end = min(end, size - 1)
    if value is None:
        elements = []
    elif dontsort:
        elements = _elements(value, start, end, desc, True)
        if type_name(value) != "set":
            start, end = 0, len(elements) - 1
    else:
        elements = _elements(value, start, end, desc, False)
    if not dontsort:
        elements = _sorted(db, elements, by, alpha, desc, store is not None)
    chosen = elements[start:end + 1] if end >= start else []
    if gets:
        output = [lookup_by_pattern(db, pattern, element) for element in chosen for pattern in gets]
    else:
        output = chosen
    if store is None:
        return output
    if output:
        from reference.commands.lists import ListValue
        db.set(store, ListValue(b"" if item is None else item for item in output),
               changes=len(output))  # one per element stored
    else:
        db.discard(store)  # not looked up: one past its time counts, no DEL of its own
    return len(output)


def _sorted(db, elements: list[bytes], by: bytes | None, alpha: bool, desc: bool, storing: bool):
    if alpha:
        def key(element):
            if by is None:
                # without STORE Redis compares with strcoll, which stops at a NUL byte
                return (1, element if storing else element.split(b"\0", 1)[0])
            looked = lookup_by_pattern(db, by, element)
            return (0, b"") if looked is None else (1, bytes(looked))
        ordered = sorted(elements, key=key)
    else:
        scored = []
        for element in elements:
            source = element if by is None else lookup_by_pattern(db, by, element)
            score = 0.0 if source is None else strtod_whole(bytes(source))
            if score is None:
                raise CommandError(NOT_A_DOUBLE)
            scored.append((score, element))
        ordered = [element for _, element in sorted(scored)]
    if desc:
        ordered.reverse()
    return ordered


@handler("sort")
def sort_(client, args):
    return sort(client, args, args.get("destination"))


@handler("sort_ro")
def sort_ro(client, args):
    return sort(client, args, None)


@getkeys("sort")
def sort_keys(argv: list[bytes]):
    """The sorted key and STORE's destination (the last one given), as Redis's sortGetKeys
    scans: LIMIT skips two words, GET and BY one, anything else none (not even STORE's key)."""
    keys = [(1, ("RO", "access"))]
    store = None
    i = 2
    while i < len(argv):
        word = argv[i].upper()
        if word == b"LIMIT":
            i += 2
        elif word in (b"GET", b"BY"):
            i += 1
        elif word == b"STORE" and i + 1 < len(argv):
            store = i + 1
        i += 1
    if store is not None:
        keys.append((store, ("OW", "update")))
    return keys


@getkeys("sort_ro")
def sort_ro_keys(argv: list[bytes]):
    return [(1, ("RO", "access"))]
