"""Handlers of spec/strings.md.

A string value is `bytes` as stored by SET and friends, and becomes a `bytearray` the first time
APPEND or SETRANGE changes it in place (so a loop of APPENDs is linear, as with Redis's sds).
Replies are the same bytes either way. Counters (INCR ...) store the decimal text of the result.

Order of checks follows Redis: argument syntax (done by the matcher), then numbers, then the
key's type, then the command's own limits; where Redis looks the key up before it reads a number
(GETEX, LCS, INCRBYFLOAT), the number is declared `raw` and converted here.
"""
from __future__ import annotations

from fractions import Fraction

from reference import longdouble
from reference.commands import getkeys, handler
from reference.keyspace import register_type
from reference.dispatch import WRONGTYPE, CommandError
from reference.protocol import OK
from reference.values import FLOAT_ERROR, INT64_MAX, INT64_MIN, is_int, parse_int

STRING_TYPES = (bytes, bytearray)
TOO_BIG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"


def _string(value):
    """value itself if it is a string or None; WRONGTYPE otherwise."""
    if value is not None and not isinstance(value, STRING_TYPES):
        raise CommandError(WRONGTYPE)
    return value


def _check_length(client, length: int) -> None:
    """A string may not grow past proto-max-bulk-len bytes."""
    if length > client.server.config["proto-max-bulk-len"]:
        raise CommandError(TOO_BIG)


# --- expiry options shared by SET, SETEX, PSETEX and GETEX ------------------------------

# The name of each expiry option in the spec -> (milliseconds per unit, relative to now?)
EXPIRY_UNITS = {
    "seconds": (1000, True),                      # EX
    "milliseconds": (1, True),                    # PX
    "unix-time-seconds": (1000, False),           # EXAT
    "unix-time-milliseconds": (1, False),         # PXAT
}
EXPIRY_ARGUMENTS = tuple(EXPIRY_UNITS)


def _expiry_ms(client, command: str, option: str, amount) -> int:
    """The absolute unix time in ms an expiry option asks for. The amount must be positive and
    the result must fit a signed 64-bit integer (Redis detects the overflow of its C arithmetic)."""
    if isinstance(amount, (bytes, bytearray)):
        amount = parse_int(amount)
    unit, relative = EXPIRY_UNITS[option]
    invalid = CommandError(f"ERR invalid expire time in '{command}' command")
    if amount <= 0 or amount * unit > INT64_MAX:
        raise invalid
    when = amount * unit
    if relative:
        when += client.server.keyspace.clock.ms
        if when > INT64_MAX:
            raise invalid
    return when


# --- SET and its variants --------------------------------------------------------------

def _propagate_set_pxat(client, key: bytes, value: bytes, expire_at: int) -> None:
    """A SET with an expiry reaches the AOF (and replicas) as SET key value PXAT ms, as Redis
    writes it: a relative time would mean something else when the file is read."""
    client.propagate_as = [[b"SET", key, bytes(value), b"PXAT", b"%d" % expire_at]]


def _set(client, key: bytes, value: bytes, *, nx=False, xx=False, get=False,
         expire_at: int | None = None, keep_ttl=False):
    """What SET does with its options; returns (done, the old value if `get`)."""
    db = client.db
    old = _string(db.lookup_read(key)) if get else None
    exists = db.get(key) is not None
    if (nx and exists) or (xx and not exists):
        return False, old
    # The value and its expiry are one change. A time already past is stored as it is: the key
    # is gone at its next lookup.
    db.set(key, bytes(value), keep_ttl=keep_ttl, expire_at=expire_at)
    return True, old


@handler("set", raw=EXPIRY_ARGUMENTS)
def set_(client, args):
    option = args.get("expiration")
    expire_at = None
    if option in EXPIRY_UNITS:
        expire_at = _expiry_ms(client, "set", option, args[option])
    get = args.get("get", False)
    done, old = _set(client, args["key"], args["value"], nx=args.get("condition") == "nx",
                     xx=args.get("condition") == "xx", get=get, expire_at=expire_at,
                     keep_ttl=option == "keepttl")
    if done and expire_at is not None:
        _propagate_set_pxat(client, args["key"], args["value"], expire_at)
    elif get:  # written without its GET words: only the client wanted the old value
        client.propagate_as = [[word for position, word in enumerate(client.argv)
                                if position < 3 or word.lower() != b"get"]]
    if get:
        return old
    return OK if done else None


@handler("setnx")
def setnx(client, args):
    done, _ = _set(client, args["key"], args["value"], nx=True)
    return int(done)


@handler("setex")
def setex(client, args):
    expire_at = _expiry_ms(client, "setex", "seconds", args["seconds"])
    _set(client, args["key"], args["value"], expire_at=expire_at)
    _propagate_set_pxat(client, args["key"], args["value"], expire_at)
    return OK


@handler("psetex")
def psetex(client, args):
    expire_at = _expiry_ms(client, "psetex", "milliseconds", args["milliseconds"])
    _set(client, args["key"], args["value"], expire_at=expire_at)
    _propagate_set_pxat(client, args["key"], args["value"], expire_at)
    return OK


@handler("getset")
def getset(client, args):
    _, old = _set(client, args["key"], args["value"], get=True)
    client.propagate_as = [[b"SET", *client.argv[1:]]]  # written as the SET it did
    return old


class FloatText(bytes):
    """The text INCRBYFLOAT stored. Redis makes it from a long double as a plain string, never
    integer-encoded (INCRBYFLOAT k 1 on "2" gives "3", which OBJECT ENCODING calls embstr).
    Everything else treats it as the bytes it is; a reload or a SET makes it ordinary again."""
    __slots__ = ()


def string_encoding(value, config=None) -> str:
    """int for a decimal long of at most 20 characters, embstr up to 44 bytes, raw beyond, and
    raw for a string modified in place (bytearray), as Redis's tryObjectEncoding decides; an
    INCRBYFLOAT result is never int."""
    if isinstance(value, bytearray):
        return "raw"
    if len(value) <= 20 and is_int(value) and not isinstance(value, FloatText):
        return "int"
    return "embstr" if len(value) <= 44 else "raw"


register_type(bytes, "string", string_encoding, copy=lambda value: value)  # immutable: shared
register_type(FloatText, "string", string_encoding, copy=lambda value: value)
register_type(bytearray, "string", string_encoding, copy=bytearray)


@getkeys("set")
def set_keys(argv: list[bytes]) -> list[tuple[int, tuple[str, ...]]]:
    """SET's key is only overwritten, unless GET also reads it."""
    if any(word.upper() == b"GET" for word in argv[3:]):
        return [(1, ("RW", "access", "update"))]
    return [(1, ("OW", "update"))]


@handler("mset")
def mset(client, args):
    for pair in args["key_value"]:
        key, value = pair["key"], pair["value"]
        client.db.set(key, value)
    return OK


@handler("msetnx")
def msetnx(client, args):
    pairs = [(pair["key"], pair["value"]) for pair in args["key_value"]]
    if any(client.db.get(key) is not None for key, _ in pairs):
        return 0
    for key, value in pairs:
        client.db.set(key, value)
    return 1


# --- reading ---------------------------------------------------------------------------

@handler("get")
def get(client, args):
    return _string(client.db.lookup_read(args["key"]))


@handler("getdel")
def getdel(client, args):
    value = _string(client.db.lookup_read(args["key"]))
    if value is not None:
        client.db.delete(args["key"])
        client.propagate_as = [[b"UNLINK" if client.server.config["lazyfree-lazy-user-del"]
                                else b"DEL", args["key"]]]
    return value


@handler("getex", raw=EXPIRY_ARGUMENTS)
def getex(client, args):
    db, key = client.db, args["key"]
    value = _string(db.lookup_read(key))
    if value is None:
        return None            # even when the expiry given is malformed
    option = args.get("expiration")
    client.propagate_as = []   # GETEX itself is never written to the AOF, only what it did
    if option in EXPIRY_UNITS:
        when = _expiry_ms(client, "getex", option, args[option])
        if not EXPIRY_UNITS[option][1] and db.already_expired(when):
            db.delete(key)     # an absolute time already past deletes the key now
            client.propagate_as = [[b"UNLINK" if client.server.config["lazyfree-lazy-expire"]
                                    else b"DEL", key]]
        else:
            db.set_expire(key, when)
            client.propagate_as = [[b"PEXPIREAT", key, b"%d" % when]]
    elif option == "persist":
        if db.expires.get(key) is not None:
            client.propagate_as = [[b"PERSIST", key]]
        db.persist(key)
    return value


@handler("mget")
def mget(client, args):
    # A key holding another type reads as nil here, not as an error.
    values = (client.db.lookup_read(key) for key in args["key"])
    return [value if isinstance(value, STRING_TYPES) else None for value in values]


@handler("strlen")
def strlen(client, args):
    value = _string(client.db.lookup_read(args["key"]))
    return 0 if value is None else len(value)


def _range(value: bytes, start: int, end: int) -> bytes:
    """GETRANGE's slice: inclusive ends, negative ones count from the end, clamped to the
    string; a start after the end (or both negative the wrong way round) gives ""."""
    length = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(length + start, 0)
    if end < 0:
        end = max(length + end, 0)
    end = min(end, length - 1)
    if start > end or length == 0:
        return b""
    return bytes(value[start:end + 1])


@handler("getrange")
def getrange(client, args):
    value = _string(client.db.lookup_read(args["key"]))
    return _range(value or b"", args["start"], args["end"])


@handler("substr")
def substr(client, args):
    return getrange(client, args)


# --- changing a string in place --------------------------------------------------------

@handler("append")
def append(client, args):
    db, key, tail = client.db, args["key"], args["value"]
    value = _string(db.get(key))
    if value is None:
        db.set(key, bytes(tail))
        return len(tail)
    _check_length(client, len(value) + len(tail))
    if not isinstance(value, bytearray):
        value = bytearray(value)
    value += tail
    db.replace(key, value)
    return len(value)


@handler("setrange")
def setrange(client, args):
    db, key, offset, piece = client.db, args["key"], args["offset"], args["value"]
    if offset < 0:
        raise CommandError("ERR offset is out of range")
    value = _string(db.get(key))
    if not piece:
        return 0 if value is None else len(value)   # nothing written, no key created
    _check_length(client, offset + len(piece))
    if value is None:
        value = bytearray(offset + len(piece))
        db.set(key, value)
    else:
        if not isinstance(value, bytearray):
            value = bytearray(value)   # changed in place from now on
        db.replace(key, value)
    if len(value) < offset + len(piece):
        value.extend(bytes(offset + len(piece) - len(value)))   # the gap is zero bytes
    value[offset:offset + len(piece)] = piece
    return len(value)


# --- counters --------------------------------------------------------------------------

def _increment(client, key: bytes, delta: int) -> int:
    db = client.db
    value = _string(db.get(key))
    current = 0 if value is None else parse_int(bytes(value))
    result = current + delta
    if not INT64_MIN <= result <= INT64_MAX:
        raise CommandError("ERR increment or decrement would overflow")
    _store_number(db, key, value, str(result).encode())
    return result


def _store_number(db, key: bytes, old, text: bytes) -> None:
    """A counter's new value keeps the key's expiry."""
    if old is None:
        db.set(key, text)
    else:
        db.replace(key, text)


@handler("incr")
def incr(client, args):
    return _increment(client, args["key"], 1)


@handler("decr")
def decr(client, args):
    return _increment(client, args["key"], -1)


@handler("incrby")
def incrby(client, args):
    return _increment(client, args["key"], args["increment"])


@handler("decrby")
def decrby(client, args):
    if args["decrement"] == INT64_MIN:   # its negation does not fit
        raise CommandError("ERR decrement would overflow")
    return _increment(client, args["key"], -args["decrement"])


@handler("incrbyfloat", raw=("increment",))
def incrbyfloat(client, args):
    # Arithmetic in C long double, as Redis does: see reference/longdouble.py.
    db, key = client.db, args["key"]
    value = _string(db.get(key))
    current = Fraction(0) if value is None else longdouble.parse(bytes(value))
    increment = longdouble.parse(args["increment"])
    if current is None or increment is None:
        raise CommandError(FLOAT_ERROR)
    total = longdouble.add(current, increment)
    if isinstance(total, float):         # an infinity or NaN
        raise CommandError("ERR increment would produce NaN or Infinity")
    text = longdouble.format_human(total)
    text = text if isinstance(text, bytes) else text.encode()
    _store_number(db, key, value, FloatText(text))
    # Written as the value it produced: a float sum could round otherwise when replayed.
    client.propagate_as = [[b"SET", key, text, b"KEEPTTL"]]
    return text


# --- LCS -------------------------------------------------------------------------------

@handler("lcs", raw=("min-match-len",))
def lcs(client, args):
    db = client.db
    a, b = db.lookup_read(args["key1"]), db.lookup_read(args["key2"])
    if not all(v is None or isinstance(v, STRING_TYPES) for v in (a, b)):
        raise CommandError("ERR The specified keys must contain string values")
    # spec/strings.md's `parse:` names MINMATCHLEN's argument apart from the LEN keyword.
    min_length = max(parse_int(args["min-match-len"]), 0) if "min-match-len" in args else 0
    want_length, want_ranges = args.get("len", False), args.get("idx", False)
    if want_length and want_ranges:
        raise CommandError("ERR If you want both the length and indexes, please just use IDX.")
    a, b = bytes(a or b""), bytes(b or b"")
    # Redis refuses when its table of 32-bit lengths would exceed proto-max-bulk-len bytes.
    if (len(a) + 1) * (len(b) + 1) * 4 > client.server.config["proto-max-bulk-len"]:
        raise CommandError("ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len")
    table = lcs_table(a, b)
    if want_length:
        return table[len(a)][len(b)]
    common, ranges = lcs_walk(a, b, table)
    if not want_ranges:
        return common
    with_length = args.get("withmatchlen", False)
    matches = []
    for (a_start, a_end), (b_start, b_end) in ranges:
        length = a_end - a_start + 1
        if min_length and length < min_length:
            continue
        match = [[a_start, a_end], [b_start, b_end]]
        matches.append(match + [length] if with_length else match)
    return {b"matches": matches, b"len": table[len(a)][len(b)]}


def lcs_table(a: bytes, b: bytes) -> list[list[int]]:
    """table[i][j] = length of the longest common subsequence of a[:i] and b[:j]."""
    table = [[0] * (len(b) + 1)]
    for i in range(1, len(a) + 1):
        above, row, byte = table[i - 1], [0], a[i - 1]
        for j in range(1, len(b) + 1):
            row.append(above[j - 1] + 1 if byte == b[j - 1] else max(above[j], row[j - 1]))
        table.append(row)
    return table


def lcs_walk(a: bytes, b: bytes, table) -> tuple[bytes, list]:
    """Walk the table back from its corner as Redis does, so that among equally long answers
    the same one is chosen: on a mismatch step up in `a` only when that keeps a strictly longer
    subsequence, else step left in `b`. Returns the common subsequence and the matching ranges,
    ((a_start, a_end), (b_start, b_end)) inclusive, from the ends of the strings backwards."""
    i, j = len(a), len(b)
    common = bytearray()
    ranges = []
    current = None                      # [a_start, a_end, b_start, b_end] being extended
    while i > 0 and j > 0:
        close = False
        if a[i - 1] == b[j - 1]:
            common.append(a[i - 1])
            if current is None:
                current = [i - 1, i - 1, j - 1, j - 1]
            elif current[0] == i and current[2] == j:
                current[0] -= 1
                current[2] -= 1
            else:
                close = True            # not contiguous (Redis drops this byte from the ranges)
            if current[0] == 0 or current[2] == 0:
                close = True
            i -= 1
            j -= 1
        else:
            if table[i - 1][j] > table[i][j - 1]:
                i -= 1
            else:
                j -= 1
            close = current is not None
        if close:
            ranges.append(((current[0], current[1]), (current[2], current[3])))
            current = None
    common.reverse()
    return bytes(common), ranges
