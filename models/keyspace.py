"""A Hypothesis state machine that judges a server's keyspace against a tiny model.

The model is the specification in miniature: a few databases, each a dict
from key to Entry(value, deadline). Every rule sends one command (or a short
scripted sequence) to the server through the conformance client, predicts the
reply from the model, asserts the two agree, and then updates the model the
way the command says the keyspace changes. After every step the invariants
compare the selected database as a whole: DBSIZE, and for every key of the
alphabet its TYPE, PTTL, whole value (read with its type's reading command)
and size (STRLEN, LLEN, HLEN, SCARD, ZCARD).

Values. A value is one of five immutable Python values (see TYPE_NAMES):
bytes (string), tuple (list), Hash (hash), frozenset (set), ZSet (sorted set:
member -> score). Rules never change a stored value in place: they build the
new one and `put` it, which is also where a container that becomes empty
disappears, as in the server. A rule that meets a key of another type expects
the exact WRONGTYPE error, after whatever argument errors the server reports
before looking the key up; that nothing changed is then seen by the
invariants. Each run starts with one key of each type (most rules write
strings, and would otherwise crowd the other types out).

Keys come from a five-name alphabet, so commands collide all the time, and
meet keys of other types all the time. String values are short byte strings
over an alphabet chosen so that the model knows exactly which of them INCR and
INCRBYFLOAT accept (no letters a float parser could read: no e, i, n, f, x,
p). Sorted-set scores come from a small table (SCORES) of exactly
representable values, so sums stay exact and RESP2's %.17g text is known.

Time. Real time passes while the machine runs, so the model never lets the
clock decide an outcome:
  * a deadline the machine sets is either far away (100 s or more: it never
    passes during a run) or already past (a TTL of zero or less, or a unix
    time 100 s ago: the key is gone at once); the one exception is
    `short_ttl_then_wait`, which sets a deadline 50-200 ms away and sleeps
    past it inside the same rule;
  * a relative TTL is measured from the server's clock when it runs the
    command, which the model knows only to lie between the wall-clock times
    just before and after the call; so a Deadline is an interval
    [earliest, latest] in unix ms, and where comparing two deadlines (EXPIRE
    GT/LT) is undecided by the intervals, the model accepts either reply and
    follows the one the server gave.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import math
import re
import time

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from conformance.client import Client, ErrorReply, RespSet
from conformance.targets import Target

LLONG_MAX = 2**63 - 1
LLONG_MIN = -(2**63)
MAX_STRING_LENGTH = 512 * 1024 * 1024  # proto-max-bulk-len's default

DATABASES = 3  # the model's databases: 0, 1, 2 (the server has 16)
OUT_OF_RANGE_DB = 16

ERR_NOT_INTEGER = "ERR value is not an integer or out of range"
ERR_NOT_FLOAT = "ERR value is not a valid float"
ERR_OVERFLOW = "ERR increment or decrement would overflow"
ERR_DECREMENT_OVERFLOW = "ERR decrement would overflow"
ERR_OFFSET = "ERR offset is out of range"
ERR_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
ERR_NO_SUCH_KEY = "ERR no such key"
ERR_SAME_OBJECT = "ERR source and destination objects are the same"
ERR_DB_RANGE = "ERR DB index is out of range"
ERR_NX_AND_OTHERS = "ERR NX and XX, GT or LT options at the same time are not compatible"
ERR_GT_AND_LT = "ERR GT and LT options at the same time are not compatible"
ERR_WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
ERR_INDEX = "ERR index out of range"
ERR_NOT_POSITIVE = "ERR value is out of range, must be positive"
ERR_RANK_ZERO = (
    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    "or use negative to start from the end of the list"
)
ERR_COUNT_NEGATIVE = "ERR COUNT can't be negative"
ERR_MAXLEN_NEGATIVE = "ERR MAXLEN can't be negative"
ERR_HASH_NOT_INTEGER = "ERR hash value is not an integer"
ERR_ZADD_NX_XX = "ERR XX and NX options at the same time are not compatible"
ERR_ZADD_GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
ERR_ZADD_INCR_PAIRS = "ERR INCR option supports a single increment-element pair"
ERR_NAN_SCORE = "ERR resulting score is not a number (NaN)"
ERR_BOUND = "ERR min or max is not a float"
ERR_LIMIT_BY_RANK = "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
ERR_NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
ERR_CORRUPT_HLL = ErrorReply("INVALIDOBJ Corrupted HLL object detected")


def err_expire_time(command: str) -> str:
    return f"ERR invalid expire time in '{command.lower()}' command"


# -- values as INCR and INCRBYFLOAT read them ---------------------------------

# A string holds an integer only in canonical form: no sign but a leading
# minus, no leading zeros, no spaces, and within 64 bits.
CANONICAL_INTEGER = re.compile(rb"0|-?[1-9][0-9]*")
# A string holds a float if it is a whole decimal or exponent literal, without
# surrounding spaces (the model's values never spell inf, nan or hex).
DECIMAL_FLOAT = re.compile(rb"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


def integer_value(value: bytes) -> int | None:
    """The integer INCR reads from a string value, or None if it is not one."""
    if CANONICAL_INTEGER.fullmatch(value) is None:
        return None
    number = int(value)
    return number if LLONG_MIN <= number <= LLONG_MAX else None


def float_value(value: bytes) -> float | None:
    """The number INCRBYFLOAT reads from a string value, or None if it is not one."""
    return float(value) if DECIMAL_FLOAT.fullmatch(value) else None


def string_range(value: bytes, start: int, end: int) -> bytes:
    """GETRANGE: inclusive indexes, negative ones counted from the end, clamped."""
    if start < 0 and end < 0 and start > end:
        return b""
    length = len(value)
    first = max(0, start + length if start < 0 else start)
    last = min(length - 1, max(0, end + length if end < 0 else end))
    return value[first : last + 1] if first <= last else b""


def overwrite(value: bytes, offset: int, data: bytes) -> bytes:
    """SETRANGE: write data at offset, padding with zero bytes past the end."""
    padded = value.ljust(offset, b"\0")
    return padded[:offset] + data + padded[offset + len(data) :]


# -- HyperLogLog ------------------------------------------------------------------

HLL_ELEMENTS = (b"a", b"b", b"c", b"", b"hello", b"\x00\xff", b"42")


def looks_like_hll(value: bytes) -> bool:
    """What HLL commands accept: the HYLL header, sparse (1) or dense (0), a dense one 12304
    bytes long; the registers themselves are checked only when walked."""
    return (len(value) >= 16 and value[:4] == b"HYLL" and value[4] in (0, 1)
            and (value[4] == 1 or len(value) == 12304))


# -- the other value types --------------------------------------------------------


class Hash(dict):
    """A hash value: field -> value. The model never changes one in place."""


class ZSet(dict):
    """A sorted set value: member -> score. The model never changes one in place."""


TYPE_NAMES = {bytes: "string", tuple: "list", Hash: "hash", frozenset: "set", ZSet: "zset"}
EMPTY = {"list": (), "hash": Hash(), "set": frozenset(), "zset": ZSet()}


def type_name(value) -> str:
    """What TYPE answers for a value."""
    return TYPE_NAMES[type(value)]


def index_range(length: int, start: int, stop: int) -> range:
    """LRANGE/LTRIM/ZRANGE's inclusive indexes, negative ones counted from the end, clamped."""
    start = start + length if start < 0 else start
    stop = stop + length if stop < 0 else stop
    start = max(start, 0)
    if start > stop or start >= length:
        return range(0)
    return range(start, min(stop, length - 1) + 1)


def list_index(length: int, index: int) -> int | None:
    """LINDEX/LSET's index as a position, or None out of range."""
    position = index + length if index < 0 else index
    return position if 0 <= position < length else None


def remove_from_list(items: tuple, count: int, element: bytes) -> tuple:
    """LREM: drop `count` occurrences from the head (count > 0), the tail (< 0) or all (0)."""
    order = list(reversed(items)) if count < 0 else list(items)
    kept, removed = [], 0
    for item in order:
        if item == element and (count == 0 or removed < abs(count)):
            removed += 1
        else:
            kept.append(item)
    return tuple(reversed(kept)) if count < 0 else tuple(kept)


def list_positions(items: tuple, element: bytes, rank: int, maxlen: int) -> list[int]:
    """LPOS: the indexes of the matches the search reports, in the order it finds them.

    A negative rank searches from the tail; |rank| - 1 matches are skipped;
    maxlen > 0 compares only that many elements.
    """
    indexes = range(len(items) - 1, -1, -1) if rank < 0 else range(len(items))
    compared = indexes[:maxlen] if maxlen else indexes
    matches = [index for index in compared if items[index] == element]
    return matches[abs(rank) - 1 :]


# Scores as ZADD/ZINCRBY read them (None: "not a valid float"). A table, not a
# parser: these are exactly representable, so sums stay exact and every score
# prints the same under %.17g whatever the server's formatter.
SCORES = {
    b"0": 0.0, b"1": 1.0, b"-1": -1.0, b"1.5": 1.5, b"-2.5": -2.5, b"10": 10.0, b"0.25": 0.25,
    b"1e3": 1000.0, b"inf": math.inf, b"-inf": -math.inf, b"+inf": math.inf,
    b"abc": None, b"nan": None, b"": None, b" 1": None,
}  # fmt: skip


def parse_bound(bound: bytes) -> tuple[float, bool] | None:
    """A BYSCORE bound -> (score, exclusive), or None if it is not a float."""
    exclusive = bound.startswith(b"(")
    score = SCORES.get(bound[1:] if exclusive else bound)
    return None if score is None else (score, exclusive)


def in_bounds(score: float, low: tuple[float, bool], high: tuple[float, bool]) -> bool:
    above = score > low[0] if low[1] else score >= low[0]
    below = score < high[0] if high[1] else score <= high[0]
    return above and below


def zset_order(zset: ZSet) -> list[tuple[bytes, float]]:
    """A sorted set's (member, score) pairs in rank order: by score, then member bytes."""
    return sorted(zset.items(), key=lambda pair: (pair[1], pair[0]))


# -- time ---------------------------------------------------------------------


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclasses.dataclass(frozen=True)
class Deadline:
    """A key's expiry time in unix ms, known to lie in [earliest, latest]."""

    earliest: int
    latest: int

    @classmethod
    def at(cls, ms: int) -> "Deadline":
        return cls(ms, ms)

    @classmethod
    def after(cls, ms: int, before: int, after: int) -> "Deadline":
        """ms after the server's clock while it ran a command sent at `before`, answered by `after`."""
        return cls(before + ms, after + ms)

    def surely_later_than(self, other: "Deadline") -> bool:
        return self.earliest > other.latest

    def surely_not_later_than(self, other: "Deadline") -> bool:
        return self.latest <= other.earliest


ERROR = "error"  # an expiry argument the server refuses
PAST = "past"  # an expiry that has already passed: the key is deleted at once

# How far away an expiry argument points; see expiry_amount. Mostly far
# future, so that most expiries are accepted and the keys stay.
HORIZONS = ("100s", "1000s", "10000s", "100s", "1000s", "10000s", "past", "zero", "huge")


def expiry_amount(horizon: str, in_seconds: bool, absolute: bool) -> int:
    """The argument of EX/PX/EXAT/PXAT or EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT for a horizon."""
    unit = 1000 if in_seconds else 1
    if horizon == "zero":
        return 0
    if horizon == "huge":
        # In seconds it overflows as ms; as a relative ms TTL it overflows
        # now + ttl; as a unix time in ms it is merely very far away (not
        # LLONG_MAX: Redis 7.0's EXPIRETIME overflows rounding that).
        return LLONG_MAX if not (in_seconds or absolute) else 2**62
    if horizon == "past":
        return (now_ms() - 100_000) // unit if absolute else -5
    ms = int(horizon.removesuffix("s")) * 1000
    return (now_ms() + ms) // unit if absolute else ms // unit


def set_expiry(option: str, amount: int, before: int, after: int):
    """SET/GETEX/SETEX/PSETEX's EX|PX|EXAT|PXAT amount -> a Deadline, PAST or ERROR.

    These commands refuse a time that is not positive, or that overflows in ms.
    """
    in_seconds = option in ("EX", "EXAT")
    if amount <= 0 or (in_seconds and amount > LLONG_MAX // 1000):
        return ERROR
    ms = amount * 1000 if in_seconds else amount
    if option in ("EX", "PX"):
        return ERROR if ms > LLONG_MAX - after else Deadline.after(ms, before, after)
    return PAST if ms <= before else Deadline.at(ms)


def expire_deadline(command: str, amount: int, before: int, after: int):
    """EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT's amount -> (Deadline, is_past), or ERROR.

    These accept any time (zero and negative ones included) that does not
    overflow in ms.
    """
    in_seconds = command in ("EXPIRE", "EXPIREAT")
    absolute = command.endswith("AT")
    if in_seconds and abs(amount) > LLONG_MAX // 1000:
        return ERROR
    ms = amount * 1000 if in_seconds else amount
    if absolute:
        return Deadline.at(ms), ms <= before
    if ms > LLONG_MAX - after:
        return ERROR
    return Deadline.after(ms, before, after), ms <= 0


# -- the model ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Entry:
    value: bytes | tuple | Hash | frozenset | ZSet
    deadline: Deadline | None = None  # None: the key never expires


KEYS = (b"a", b"b", b"c", b"ab", b"ba")
# Glob patterns whose meaning fnmatch shares with the server's matcher.
PATTERNS = (b"*", b"a*", b"*a", b"?", b"??", b"[ab]", b"[a-b]?", b"c", b"x*")

keys = st.sampled_from(KEYS)
key_lists = st.lists(keys, min_size=1, max_size=4)
NOTABLE_VALUES = (
    b"", b"0", b"1", b"-1", b"10", b"007", b"-0", b" 1", b"1 ", b"+1", b"1.5", b".5", b"1.",
    b"1e3", b"abc", b"\x00\xff", b"9223372036854775807", b"-9223372036854775808",
    b"9223372036854775808", b"9223372036854775806", b"-9223372036854775807",
)  # fmt: skip
values = st.sampled_from(NOTABLE_VALUES) | st.text("0123456789-. abc", max_size=6).map(str.encode)
databases = st.integers(0, DATABASES - 1)
databases_or_invalid = databases | st.just(OUT_OF_RANGE_DB)
horizons = st.sampled_from(HORIZONS)
set_expiry_options = st.sampled_from(("EX", "PX", "EXAT", "PXAT"))
increments = st.sampled_from((*range(-3, 4), 100, -100, LLONG_MAX, LLONG_MIN, LLONG_MAX - 1, LLONG_MIN + 1))
bad_integers = st.sampled_from((b"1.5", b"x", b"", b" 1", b"9223372036854775808"))
float_increments = st.sampled_from((b"1", b"-1.5", b"0.25", b"1e3", b"-2.5e-1", b"10.", b"abc", b"", b" 1"))
expire_flags = st.lists(st.sampled_from(("NX", "XX", "GT", "LT")), max_size=2, unique=True)
offsets = st.sampled_from((*range(13), -1, MAX_STRING_LENGTH))
range_indexes = st.sampled_from((*range(-8, 9), LLONG_MAX, LLONG_MIN, -LLONG_MAX))
type_names = st.sampled_from(("string", "list", "hash", "set", "zset"))
# List elements, set members and sorted-set members: integers among them, as
# sets and listpacks store those differently.
elements = st.sampled_from((b"x", b"y", b"z", b"1", b"2", b"-3", b""))
element_lists = st.lists(elements, min_size=1, max_size=4)
list_ends = st.sampled_from(("LEFT", "RIGHT"))
fields = st.sampled_from((b"f", b"g", b"h", b"1", b""))
field_lists = st.lists(fields, min_size=1, max_size=3)
scores = st.sampled_from(tuple(SCORES))
good_scores = st.sampled_from(tuple(score for score, value in SCORES.items() if value is not None))
# ZADD's options: half the time a combination it accepts, else any (often refused).
zadd_flags = st.builds(
    lambda condition, comparison, ch, incr: [flag for flag in (condition, comparison, ch, incr) if flag],
    st.sampled_from((None, "NX", "XX")),
    st.sampled_from((None, "GT", "LT")),
    st.sampled_from((None, "CH")),
    st.sampled_from((None, "INCR")),
).filter(lambda flags: not ("NX" in flags and ("GT" in flags or "LT" in flags))) | st.lists(
    st.sampled_from(("NX", "XX", "GT", "LT", "CH", "INCR")), max_size=3, unique=True
)
# ZRANGE's LIMIT offset count (a negative count: all the rest).
limits = st.none() | st.tuples(st.sampled_from((0, 1, 2, -1)), st.sampled_from((-1, 0, 1, 2)))
score_bounds = st.sampled_from((b"-inf", b"+inf", b"inf", b"(-inf", b"0", b"1", b"(1", b"1.5", b"(10", b"-1", b"abc"))


class KeyspaceMachine(RuleBasedStateMachine):
    """Drives one connection to the target; see the module docstring."""

    target: Target  # set by the test before running the machine

    def __init__(self):
        super().__init__()
        self.client = Client(self.target.host, self.target.port)
        self.expect_reply(self.client.call("FLUSHALL"), "OK", ("FLUSHALL",))
        self.dbs: list[dict[bytes, Entry]] = [{} for _ in range(DATABASES)]
        self.selected = 0
        self.protocol = 2

    def teardown(self):
        self.client.close()

    # -- talking to the server ------------------------------------------------

    def call(self, *args):
        return self.client.call(*args)

    def timed(self, *args):
        """(reply, wall-clock ms before sending, wall-clock ms after the reply)."""
        before = now_ms()
        reply = self.client.call(*args)
        return reply, before, now_ms()

    @staticmethod
    def expect_reply(reply, expected, args):
        assert type(reply) is type(expected) or expected is None, (
            f"{args!r} -> {reply!r}, the model expects {expected!r}"
        )
        assert reply == expected, f"{args!r} -> {reply!r}, the model expects {expected!r}"

    def check(self, args, expected) -> None:
        """Send args; the reply must equal expected (bytes, int, str for status, ErrorReply, None)."""
        reply = self.call(*args)
        if isinstance(expected, str) and expected.split(" ", 1)[0] in ("ERR", "WRONGTYPE"):
            expected = ErrorReply(expected)
        self.expect_reply(reply, expected, args)

    @property
    def db(self) -> dict[bytes, Entry]:
        return self.dbs[self.selected]

    def value(self, key) -> bytes | None:
        """A string key's value (None if missing); callers have ruled out other types."""
        entry = self.db.get(key)
        return None if entry is None else entry.value

    def store(self, key, value, deadline=None):
        self.db[key] = Entry(value, deadline)

    def holds_other_type(self, key, type_) -> bool:
        entry = self.db.get(key)
        return entry is not None and type_name(entry.value) != type_

    def wrongtype(self, args, type_, *keys) -> bool:
        """If one of keys holds another type than type_, send args and expect WRONGTYPE."""
        if not any(self.holds_other_type(key, type_) for key in keys):
            return False
        self.check(args, ERR_WRONGTYPE)
        return True

    def container(self, key, type_):
        """A key's list, hash, set or sorted set, or an empty one if the key is missing."""
        entry = self.db.get(key)
        return EMPTY[type_] if entry is None else entry.value

    def put(self, key, value):
        """Store a rule's new container for key, keeping its deadline; an empty one disappears."""
        entry = self.db.get(key)
        if not value:
            self.db.pop(key, None)
        else:
            self.db[key] = Entry(value, entry.deadline if entry else None)

    # -- replies whose shape depends on the protocol ------------------------------

    def score_reply(self, score: float):
        """A score as the server sends it: a bulk string in RESP2, a double in RESP3."""
        if self.protocol == 3:
            return score
        return b"inf" if score == math.inf else b"-inf" if score == -math.inf else b"%.17g" % score

    def check_set(self, args, expected: set):
        """A set reply (SMEMBERS, SINTER...): any order, no repeats; a RESP3 set in RESP3."""
        reply = self.call(*args)
        assert type(reply) is (RespSet if self.protocol == 3 else list), f"{args!r} -> {reply!r}"
        assert len(set(reply)) == len(reply) and set(reply) == expected, (
            f"{args!r} -> {reply!r}, the model expects {sorted(expected)!r} in any order"
        )

    def as_dict(self, reply, args) -> dict:
        """A map reply (HGETALL): a RESP3 map, or a flat field-value array in RESP2."""
        if self.protocol == 3:
            assert type(reply) is dict, f"{args!r} -> {reply!r}"
            return reply
        assert type(reply) is list and len(reply) % 2 == 0, f"{args!r} -> {reply!r}"
        pairs = dict(zip(reply[::2], reply[1::2]))
        assert len(pairs) == len(reply) // 2, f"{args!r} -> {reply!r} repeats a field"
        return pairs

    def members_reply(self, pairs, withscores: bool) -> list:
        """ZRANGE's reply for (member, score) pairs: flat in RESP2, [member, score] pairs in RESP3."""
        if not withscores:
            return [member for member, _ in pairs]
        if self.protocol == 3:
            return [[member, score] for member, score in pairs]
        return [part for member, score in pairs for part in (member, self.score_reply(score))]

    def assert_gone(self, key):
        """The server must no longer show a key whose deadline has passed."""
        self.check(("EXISTS", key), 0)

    # -- connection and databases -----------------------------------------------

    @initialize(protocol=st.sampled_from((2, 3)))
    def choose_protocol(self, protocol):
        reply = self.client.hello(protocol)
        assert isinstance(reply, (list, dict)), f"HELLO {protocol} -> {reply!r}"
        self.protocol = protocol

    @initialize(
        order=st.permutations(KEYS),
        string=values,
        items=element_lists,
        pairs=st.lists(st.tuples(fields, values), min_size=1, max_size=3),
        members=element_lists,
        scored=st.lists(st.tuples(good_scores, elements), min_size=1, max_size=3),
    )
    def one_key_of_each_type(self, order, string, items, pairs, members, scored):
        """Start with every type present: most rules write strings, and would crowd the others out."""
        self.set(order[0], string, condition=None, get=False, expiry=None)
        self.push("RPUSH", order[1], items)
        self.hset(order[2], pairs)
        self.sadd(order[3], members)
        self.zadd(order[4], [], scored)

    @rule(index=databases_or_invalid)
    def select(self, index):
        if index >= DATABASES:
            self.check(("SELECT", index), ERR_DB_RANGE)
        else:
            self.check(("SELECT", index), "OK")
            self.selected = index

    @rule()
    def dbsize(self):
        self.check(("DBSIZE",), len(self.db))

    @rule(command=st.sampled_from(("FLUSHDB", "FLUSHALL")), mode=st.sampled_from((None, "SYNC", "ASYNC")))
    def flush(self, command, mode):
        self.check((command, *([mode] if mode else [])), "OK")
        for db in [self.db] if command == "FLUSHDB" else self.dbs:
            db.clear()

    @rule(first=databases_or_invalid, second=databases)
    def swapdb(self, first, second):
        if first >= DATABASES:
            self.check(("SWAPDB", first, second), ERR_DB_RANGE)
            return
        self.check(("SWAPDB", first, second), "OK")
        self.dbs[first], self.dbs[second] = self.dbs[second], self.dbs[first]

    # -- strings: setting -----------------------------------------------------

    @rule(
        key=keys,
        value=values,
        condition=st.sampled_from((None, "NX", "XX")),
        get=st.booleans(),
        expiry=st.none() | st.just("KEEPTTL") | st.tuples(set_expiry_options, horizons),
    )
    def set(self, key, value, condition, get, expiry):
        args = ["SET", key, value]
        args += [condition] if condition else []
        args += ["GET"] if get else []
        if expiry == "KEEPTTL":
            args.append("KEEPTTL")
        elif expiry:
            option, horizon = expiry
            args += [option, expiry_amount(horizon, option in ("EX", "EXAT"), option.endswith("AT"))]
        reply, before, after = self.timed(*args)

        old = self.db.get(key)
        new_deadline = None
        if expiry == "KEEPTTL":
            new_deadline = old.deadline if old else None
        elif expiry:
            new_deadline = set_expiry(option, args[-1], before, after)
            if new_deadline is ERROR:
                self.expect_reply(reply, ErrorReply(err_expire_time("SET")), args)
                return
        if get and self.holds_other_type(key, "string"):  # GET reads first, and refuses
            self.expect_reply(reply, ErrorReply(ERR_WRONGTYPE), args)
            return
        exists = old is not None
        refused = (condition == "NX" and exists) or (condition == "XX" and not exists)
        if get:  # the old value, whether or not the condition let the SET happen
            expected = old.value if exists else None
        else:
            expected = None if refused else "OK"
        self.expect_reply(reply, expected, args)
        if refused:
            return
        if new_deadline is PAST:
            self.db.pop(key, None)
            self.assert_gone(key)
        else:
            self.store(key, value, new_deadline)

    @rule(key=keys, value=values)
    def setnx(self, key, value):
        if key in self.db:
            self.check(("SETNX", key, value), 0)
        else:
            self.check(("SETNX", key, value), 1)
            self.store(key, value)

    @rule(command=st.sampled_from(("SETEX", "PSETEX")), key=keys, horizon=horizons, value=values)
    def setex(self, command, key, horizon, value):
        option = "EX" if command == "SETEX" else "PX"
        amount = expiry_amount(horizon, option == "EX", absolute=False)
        reply, before, after = self.timed(command, key, amount, value)
        deadline = set_expiry(option, amount, before, after)
        if deadline is ERROR:
            self.expect_reply(reply, ErrorReply(err_expire_time(command)), (command, key, amount))
            return
        self.expect_reply(reply, "OK", (command, key, amount, value))
        self.store(key, value, deadline)

    @rule(key=keys, value=values)
    def getset(self, key, value):
        if self.wrongtype(("GETSET", key, value), "string", key):
            return
        self.check(("GETSET", key, value), self.value(key))
        self.store(key, value)

    @rule(pairs=st.lists(st.tuples(keys, values), min_size=1, max_size=4))
    def mset(self, pairs):
        self.check(("MSET", *[part for pair in pairs for part in pair]), "OK")
        for key, value in pairs:
            self.store(key, value)

    @rule(pairs=st.lists(st.tuples(keys, values), min_size=1, max_size=3))
    def msetnx(self, pairs):
        args = ("MSETNX", *[part for pair in pairs for part in pair])
        if any(key in self.db for key, _ in pairs):
            self.check(args, 0)
            return
        self.check(args, 1)
        for key, value in pairs:
            self.store(key, value)

    @rule(key=keys, value=values)
    def append(self, key, value):
        if self.wrongtype(("APPEND", key, value), "string", key):
            return
        old = self.db.get(key, Entry(b""))
        new = old.value + value
        self.check(("APPEND", key, value), len(new))
        self.store(key, new, old.deadline)

    @rule(key=keys, offset=offsets, value=values)
    def setrange(self, key, offset, value):
        args = ("SETRANGE", key, offset, value)
        old = self.db.get(key)
        if offset < 0:
            self.check(args, ERR_OFFSET)
        elif old is None and not value:
            self.check(args, 0)
        elif old is None and offset + len(value) > MAX_STRING_LENGTH:
            self.check(args, ERR_TOO_LONG)
        elif self.wrongtype(args, "string", key):  # checked only once the key is found
            pass
        elif not value:  # writes nothing, creates nothing
            self.check(args, len(old.value) if old else 0)
        elif offset + len(value) > MAX_STRING_LENGTH:
            self.check(args, ERR_TOO_LONG)
        else:
            new = overwrite(old.value if old else b"", offset, value)
            self.check(args, len(new))
            self.store(key, new, old.deadline if old else None)

    # -- bitmaps (strings as bits; bit 0 is the first byte's most significant) ---

    @rule(key=keys, offset=st.integers(0, 40), bit=st.sampled_from((0, 1)))
    def setbit(self, key, offset, bit):
        args = ("SETBIT", key, offset, bit)
        if self.wrongtype(args, "string", key):
            return
        old = self.db.get(key, Entry(b""))
        value = bytearray(old.value.ljust((offset >> 3) + 1, b"\0"))  # grown with zero bytes
        byte, mask = offset >> 3, 0x80 >> (offset & 7)
        self.check(args, 1 if value[byte] & mask else 0)
        value[byte] = (value[byte] & ~mask) | (mask if bit else 0)
        self.store(key, bytes(value), old.deadline)

    @rule(key=keys)
    def bitcount(self, key):
        if not self.wrongtype(("BITCOUNT", key), "string", key):
            self.check(("BITCOUNT", key), sum(bin(byte).count("1") for byte in self.value(key) or b""))

    @rule(operation=st.sampled_from(("AND", "OR", "XOR", "NOT")), destination=keys, sources=key_lists)
    def bitop(self, operation, destination, sources):
        sources = sources[:1] if operation == "NOT" else sources
        args = ("BITOP", operation, destination, *sources)
        if self.wrongtype(args, "string", *sources):
            return
        strings = [self.value(key) or b"" for key in sources]
        length = max(len(string) for string in strings)
        padded = [string.ljust(length, b"\0") for string in strings]
        result = bytearray(padded[0])
        for other in padded[1:]:
            for i, byte in enumerate(other):
                result[i] = {"AND": result[i] & byte, "OR": result[i] | byte, "XOR": result[i] ^ byte}[operation]
        if operation == "NOT":
            result = bytearray(255 - byte for byte in result)
        self.check(args, length)
        if length:
            self.store(destination, bytes(result))   # replaced: no time to live
        else:
            self.db.pop(destination, None)

    # -- HyperLogLog (strings in Redis's HLL layout) -------------------------------
    # The model does not hash elements: it checks what holds whatever the registers (the
    # errors in Redis's order, that PFADD creates an HLL and replies 1 exactly when the bytes
    # changed, that a PFCOUNT writes only the cache and a union nothing), then learns the bytes
    # the server holds. conformance/test_hyperloglog.py judges the bytes against real Redis.

    def hll_refused(self, args, *keys) -> bool:
        """If a key (in order) holds another type, or a string without an HLL's header, send
        args and expect that key's error."""
        for key in keys:
            entry = self.db.get(key)
            if entry is None:
                continue
            if type_name(entry.value) != "string":
                self.check(args, ERR_WRONGTYPE)
                return True
            if not looks_like_hll(entry.value):
                self.check(args, ERR_NOT_HLL)
                return True
        return False

    def learn_hll(self, key, old):
        """The HLL the server now holds at key (GET), kept with the key's deadline."""
        value = self.call("GET", key)
        assert isinstance(value, bytes) and looks_like_hll(value), f"GET {key!r} -> {value!r}"
        self.store(key, value, old.deadline if old else None)
        return value

    @rule(key=keys, elements=st.lists(st.sampled_from(HLL_ELEMENTS), max_size=3))
    def pfadd(self, key, elements):
        args = ("PFADD", key, *elements)
        if self.hll_refused(args, key):
            return
        old = self.db.get(key)
        reply = self.call(*args)
        value = self.learn_hll(key, old)
        if old is None:
            self.expect_reply(reply, 1, args)
            assert value[:5] == b"HYLL\x01", f"PFADD {key!r} made {value!r}, not a sparse HLL"
        elif reply != ERR_CORRUPT_HLL:  # (a string whose runs were damaged by string commands)
            self.expect_reply(reply, int(value != old.value), args)

    @rule(keys=key_lists)
    def pfcount(self, keys):
        args = ("PFCOUNT", *keys)
        if self.hll_refused(args, *keys):
            return
        reply = self.call(*args)
        if reply == ERR_CORRUPT_HLL:
            return
        assert isinstance(reply, int), f"{args!r} -> {reply!r}"
        if all(key not in self.db for key in keys):
            self.expect_reply(reply, 0, args)
        if len(keys) == 1 and keys[0] in self.db:   # the count is cached in the header
            old = self.db[keys[0]]
            value = self.learn_hll(keys[0], old)
            assert value[:8] + value[16:] == old.value[:8] + old.value[16:], f"{args!r} changed the registers"
            assert value[8:16] == (reply % 2**64).to_bytes(8, "little"), f"{args!r} cached {value[8:16]!r}"

    @rule(destination=keys, sources=st.lists(keys, max_size=3))
    def pfmerge(self, destination, sources):
        args = ("PFMERGE", destination, *sources)
        if self.hll_refused(args, destination, *sources):
            return
        reply = self.call(*args)
        if reply != ERR_CORRUPT_HLL:
            self.expect_reply(reply, "OK", args)
            value = self.learn_hll(destination, self.db.get(destination))
            assert value[15] & 0x80, f"{args!r}: the cache of {value!r} is not marked stale"

    # -- strings: reading -----------------------------------------------------

    @rule(key=keys)
    def get(self, key):
        if not self.wrongtype(("GET", key), "string", key):
            self.check(("GET", key), self.value(key))

    @rule(key=keys)
    def getdel(self, key):
        if self.wrongtype(("GETDEL", key), "string", key):
            return
        self.check(("GETDEL", key), self.value(key))
        self.db.pop(key, None)

    @rule(key=keys, option=st.none() | st.just("PERSIST") | set_expiry_options, horizon=horizons)
    def getex(self, key, option, horizon):
        args = ["GETEX", key]
        if option == "PERSIST":
            args.append(option)
        elif option:
            args += [option, expiry_amount(horizon, option in ("EX", "EXAT"), option.endswith("AT"))]
        reply, before, after = self.timed(*args)
        entry = self.db.get(key)
        if entry is None:  # a missing key answers nil before the expiry is even validated
            self.expect_reply(reply, None, args)
            return
        if self.holds_other_type(key, "string"):  # refused before the expiry is validated
            self.expect_reply(reply, ErrorReply(ERR_WRONGTYPE), args)
            return
        if option in (None, "PERSIST"):
            self.expect_reply(reply, entry.value, args)
            if option == "PERSIST":
                self.store(key, entry.value)
            return
        deadline = set_expiry(option, args[-1], before, after)
        if deadline is ERROR:
            self.expect_reply(reply, ErrorReply(err_expire_time("GETEX")), args)
            return
        self.expect_reply(reply, entry.value, args)
        if deadline is PAST:
            del self.db[key]
            self.assert_gone(key)
        else:
            self.store(key, entry.value, deadline)

    @rule(keys=key_lists)
    def mget(self, keys):
        """A key of another type reads as nil."""
        expected = [None if self.holds_other_type(key, "string") else self.value(key) for key in keys]
        self.check(("MGET", *keys), expected)

    @rule(key=keys)
    def strlen(self, key):
        if not self.wrongtype(("STRLEN", key), "string", key):
            self.check(("STRLEN", key), len(self.value(key) or b""))

    @rule(key=keys, start=range_indexes, end=range_indexes)
    def getrange(self, key, start, end):
        args = ("GETRANGE", key, start, end)
        if not self.wrongtype(args, "string", key):
            self.check(args, string_range(self.value(key) or b"", start, end))

    # -- strings: counters ----------------------------------------------------

    def add_to_integer(self, args, key, delta):
        if self.wrongtype(args, "string", key):
            return
        entry = self.db.get(key, Entry(b"0"))
        current = integer_value(entry.value)
        if current is None:
            self.check(args, ERR_NOT_INTEGER)
        elif not LLONG_MIN <= current + delta <= LLONG_MAX:
            self.check(args, ERR_OVERFLOW)
        else:
            self.check(args, current + delta)
            self.store(key, b"%d" % (current + delta), entry.deadline)

    @rule(key=keys)
    def incr(self, key):
        self.add_to_integer(("INCR", key), key, 1)

    @rule(key=keys)
    def decr(self, key):
        self.add_to_integer(("DECR", key), key, -1)

    @rule(key=keys, increment=increments)
    def incrby(self, key, increment):
        self.add_to_integer(("INCRBY", key, increment), key, increment)

    @rule(key=keys, decrement=increments)
    def decrby(self, key, decrement):
        if decrement == LLONG_MIN:  # its negation does not fit in 64 bits
            self.check(("DECRBY", key, decrement), ERR_DECREMENT_OVERFLOW)
        else:
            self.add_to_integer(("DECRBY", key, decrement), key, -decrement)

    @rule(command=st.sampled_from(("INCRBY", "DECRBY")), key=keys, amount=bad_integers)
    def incrby_not_an_integer(self, command, key, amount):
        self.check((command, key, amount), ERR_NOT_INTEGER)

    @rule(key=keys, increment=float_increments)
    def incrbyfloat(self, key, increment):
        """Checks the sum with a tolerance; the exact formatting is the strings suite's job."""
        args = ("INCRBYFLOAT", key, increment)
        if self.wrongtype(args, "string", key):  # before either number is read
            return
        entry = self.db.get(key, Entry(b"0"))
        current, delta = float_value(entry.value), float_value(increment)
        if current is None or delta is None:
            self.check(args, ERR_NOT_FLOAT)
            return
        reply = self.call(*args)
        assert isinstance(reply, bytes) and float_value(reply) is not None, f"{args!r} -> {reply!r}"
        assert math.isclose(float(reply), current + delta, rel_tol=1e-12, abs_tol=1e-12), (
            f"{args!r} -> {reply!r}, the model expects about {current + delta!r}"
        )
        self.store(key, reply, entry.deadline)  # the server's digits, so later INCRs read what it stored

    # -- lists ----------------------------------------------------------------

    @rule(command=st.sampled_from(("LPUSH", "RPUSH", "LPUSHX", "RPUSHX")), key=keys, items=element_lists)
    def push(self, command, key, items):
        args = (command, key, *items)
        if self.wrongtype(args, "list", key):
            return
        if command.endswith("X") and key not in self.db:  # only onto an existing list
            self.check(args, 0)
            return
        old = self.container(key, "list")
        new = tuple(reversed(items)) + old if command.startswith("L") else old + tuple(items)
        self.check(args, len(new))
        self.put(key, new)

    @rule(command=st.sampled_from(("LPOP", "RPOP")), key=keys, count=st.none() | st.sampled_from((0, 1, 2, 5, -1)))
    def pop(self, command, key, count):
        args = (command, key, *([] if count is None else [count]))
        if count is not None and count < 0:  # the count is read before the key
            self.check(args, ERR_NOT_POSITIVE)
            return
        if key not in self.db:  # nil, or with a count the null array (None in both protocols)
            self.check(args, None)
            return
        if self.wrongtype(args, "list", key):
            return
        old = self.container(key, "list")
        taken = min(1 if count is None else count, len(old))
        popped = old[:taken] if command == "LPOP" else tuple(reversed(old[len(old) - taken :]))
        self.check(args, popped[0] if count is None else list(popped))
        self.put(key, old[taken:] if command == "LPOP" else old[: len(old) - taken])

    @rule(key=keys, start=range_indexes, stop=range_indexes)
    def lrange(self, key, start, stop):
        args = ("LRANGE", key, start, stop)
        if not self.wrongtype(args, "list", key):
            items = self.container(key, "list")
            self.check(args, [items[index] for index in index_range(len(items), start, stop)])

    @rule(key=keys, index=range_indexes)
    def lindex(self, key, index):
        args = ("LINDEX", key, index)
        if not self.wrongtype(args, "list", key):
            items = self.container(key, "list")
            position = list_index(len(items), index)
            self.check(args, None if position is None else items[position])

    @rule(key=keys, index=range_indexes, element=elements)
    def lset(self, key, index, element):
        args = ("LSET", key, index, element)
        if key not in self.db:
            self.check(args, ERR_NO_SUCH_KEY)
            return
        if self.wrongtype(args, "list", key):
            return
        items = self.container(key, "list")
        position = list_index(len(items), index)
        if position is None:
            self.check(args, ERR_INDEX)
            return
        self.check(args, "OK")
        self.put(key, items[:position] + (element,) + items[position + 1 :])

    @rule(key=keys, where=st.sampled_from(("BEFORE", "AFTER")), pivot=elements, element=elements)
    def linsert(self, key, where, pivot, element):
        args = ("LINSERT", key, where, pivot, element)
        if self.wrongtype(args, "list", key):
            return
        items = self.container(key, "list")
        if not items:
            self.check(args, 0)
        elif pivot not in items:
            self.check(args, -1)
        else:
            position = items.index(pivot) + (where == "AFTER")  # the first occurrence of the pivot
            self.check(args, len(items) + 1)
            self.put(key, items[:position] + (element,) + items[position:])

    @rule(key=keys, count=st.integers(-3, 3), element=elements)
    def lrem(self, key, count, element):
        args = ("LREM", key, count, element)
        if self.wrongtype(args, "list", key):
            return
        items = self.container(key, "list")
        new = remove_from_list(items, count, element)
        self.check(args, len(items) - len(new))
        self.put(key, new)

    @rule(key=keys, start=range_indexes, stop=range_indexes)
    def ltrim(self, key, start, stop):
        args = ("LTRIM", key, start, stop)
        if self.wrongtype(args, "list", key):
            return
        items = self.container(key, "list")
        self.check(args, "OK")
        self.put(key, tuple(items[index] for index in index_range(len(items), start, stop)))

    @rule(key=keys)
    def llen(self, key):
        if not self.wrongtype(("LLEN", key), "list", key):
            self.check(("LLEN", key), len(self.container(key, "list")))

    @rule(source=keys, destination=keys, wherefrom=list_ends, whereto=list_ends)
    def lmove(self, source, destination, wherefrom, whereto):
        args = ("LMOVE", source, destination, wherefrom, whereto)
        if source not in self.db:  # nil, whatever the destination holds
            self.check(args, None)
            return
        if self.wrongtype(args, "list", source, destination):
            return
        items = self.container(source, "list")
        element, rest = (items[0], items[1:]) if wherefrom == "LEFT" else (items[-1], items[:-1])
        self.check(args, element)
        if source == destination:  # a rotation: the key never empties, its deadline stays
            self.put(source, (element, *rest) if whereto == "LEFT" else (*rest, element))
            return
        self.put(source, rest)
        target = self.container(destination, "list")
        self.put(destination, (element, *target) if whereto == "LEFT" else (*target, element))

    @rule(
        key=keys,
        element=elements,
        rank=st.none() | st.sampled_from((1, 2, -1, -2, 0)),
        count=st.none() | st.sampled_from((0, 1, 2, -1)),
        maxlen=st.none() | st.sampled_from((0, 1, 3, -1)),
    )
    def lpos(self, key, element, rank, count, maxlen):
        args = ["LPOS", key, element]
        args += ["RANK", rank] if rank is not None else []
        args += ["COUNT", count] if count is not None else []
        args += ["MAXLEN", maxlen] if maxlen is not None else []
        # The options are read in order, before the key.
        if rank == 0:
            return self.check(args, ERR_RANK_ZERO)
        if count is not None and count < 0:
            return self.check(args, ERR_COUNT_NEGATIVE)
        if maxlen is not None and maxlen < 0:
            return self.check(args, ERR_MAXLEN_NEGATIVE)
        if self.wrongtype(args, "list", key):
            return
        found = list_positions(self.container(key, "list"), element, rank or 1, maxlen or 0)
        if count is None:
            self.check(args, found[0] if found else None)
        else:
            self.check(args, found[:count] if count else found)

    # -- hashes ---------------------------------------------------------------

    @rule(key=keys, pairs=st.lists(st.tuples(fields, values), min_size=1, max_size=3))
    def hset(self, key, pairs):
        args = ("HSET", key, *[part for pair in pairs for part in pair])
        if self.wrongtype(args, "hash", key):
            return
        old = self.container(key, "hash")
        new = Hash(old)
        new.update(pairs)
        self.check(args, len(new) - len(old))
        self.put(key, new)

    @rule(key=keys, field=fields, value=values)
    def hsetnx(self, key, field, value):
        args = ("HSETNX", key, field, value)
        if self.wrongtype(args, "hash", key):
            return
        old = self.container(key, "hash")
        if field in old:
            self.check(args, 0)
        else:
            self.check(args, 1)
            self.put(key, Hash({**old, field: value}))

    @rule(key=keys, field=fields)
    def hget(self, key, field):
        args = ("HGET", key, field)
        if not self.wrongtype(args, "hash", key):
            self.check(args, self.container(key, "hash").get(field))

    @rule(key=keys, fields=field_lists)
    def hmget(self, key, fields):
        args = ("HMGET", key, *fields)
        if not self.wrongtype(args, "hash", key):
            old = self.container(key, "hash")
            self.check(args, [old.get(field) for field in fields])

    @rule(key=keys, fields=field_lists)
    def hdel(self, key, fields):
        args = ("HDEL", key, *fields)
        if self.wrongtype(args, "hash", key):
            return
        old = self.container(key, "hash")
        new = Hash({field: value for field, value in old.items() if field not in fields})
        self.check(args, len(old) - len(new))
        self.put(key, new)

    @rule(key=keys)
    def hgetall(self, key):
        args = ("HGETALL", key)
        if not self.wrongtype(args, "hash", key):
            reply = self.call(*args)
            self.expect_reply(self.as_dict(reply, args), dict(self.container(key, "hash")), args)

    @rule(key=keys, field=fields, increment=increments | bad_integers)
    def hincrby(self, key, field, increment):
        args = ("HINCRBY", key, field, increment)
        if isinstance(increment, bytes):  # read before the key
            return self.check(args, ERR_NOT_INTEGER)
        if self.wrongtype(args, "hash", key):
            return
        old = self.container(key, "hash")
        current = integer_value(old.get(field, b"0"))
        if current is None:
            self.check(args, ERR_HASH_NOT_INTEGER)
        elif not LLONG_MIN <= current + increment <= LLONG_MAX:
            self.check(args, ERR_OVERFLOW)
        else:
            self.check(args, current + increment)
            self.put(key, Hash({**old, field: b"%d" % (current + increment)}))

    @rule(key=keys)
    def hlen(self, key):
        if not self.wrongtype(("HLEN", key), "hash", key):
            self.check(("HLEN", key), len(self.container(key, "hash")))

    @rule(key=keys, field=fields)
    def hexists(self, key, field):
        args = ("HEXISTS", key, field)
        if not self.wrongtype(args, "hash", key):
            self.check(args, int(field in self.container(key, "hash")))

    # -- sets -----------------------------------------------------------------

    @rule(key=keys, members=element_lists)
    def sadd(self, key, members):
        args = ("SADD", key, *members)
        if self.wrongtype(args, "set", key):
            return
        old = self.container(key, "set")
        new = old | set(members)
        self.check(args, len(new) - len(old))
        self.put(key, new)

    @rule(key=keys, members=element_lists)
    def srem(self, key, members):
        args = ("SREM", key, *members)
        if self.wrongtype(args, "set", key):
            return
        old = self.container(key, "set")
        new = old - set(members)
        self.check(args, len(old) - len(new))
        self.put(key, new)

    @rule(key=keys, member=elements)
    def sismember(self, key, member):
        args = ("SISMEMBER", key, member)
        if not self.wrongtype(args, "set", key):
            self.check(args, int(member in self.container(key, "set")))

    @rule(key=keys)
    def smembers(self, key):
        if not self.wrongtype(("SMEMBERS", key), "set", key):
            self.check_set(("SMEMBERS", key), set(self.container(key, "set")))

    @rule(key=keys)
    def scard(self, key):
        if not self.wrongtype(("SCARD", key), "set", key):
            self.check(("SCARD", key), len(self.container(key, "set")))

    @rule(
        command=st.sampled_from(("SINTER", "SUNION", "SDIFF")),
        sources=st.lists(keys, min_size=1, max_size=3),
        destination=st.none() | keys,
    )
    def set_algebra(self, command, sources, destination):
        """SINTER/SUNION/SDIFF, or their STORE forms when there is a destination (of any type)."""
        args = (command, *sources) if destination is None else (command + "STORE", destination, *sources)
        if self.wrongtype(args, "set", *sources):  # every source is checked, even after a missing one
            return
        sets = [self.container(key, "set") for key in sources]
        if command == "SINTER":
            result = frozenset.intersection(*sets)
        elif command == "SUNION":
            result = frozenset.union(*sets)
        else:
            result = sets[0].difference(*sets[1:])
        if destination is None:
            self.check_set(args, set(result))
            return
        self.check(args, len(result))
        self.db.pop(destination, None)  # replaced whatever it held, deadline included
        self.put(destination, result)

    @rule(source=keys, destination=keys, member=elements)
    def smove(self, source, destination, member):
        args = ("SMOVE", source, destination, member)
        if source not in self.db:  # 0, whatever the destination holds
            return self.check(args, 0)
        if self.wrongtype(args, "set", source, destination):
            return
        members = self.container(source, "set")
        if member not in members:
            return self.check(args, 0)
        self.check(args, 1)
        if source != destination:
            self.put(source, members - {member})
            self.put(destination, self.container(destination, "set") | {member})

    # -- sorted sets ----------------------------------------------------------

    def zadd_one(self, zset: ZSet, score: float, member: bytes, flags, incr: bool):
        """One ZADD pair: (the new score or None if the flags skip it, added, changed), or NaN."""
        current = zset.get(member)
        if current is None:
            if "XX" in flags:
                return None, False, False
            zset[member] = score
            return score, True, False
        if "NX" in flags:
            return None, False, False
        new = current + score if incr else score
        if math.isnan(new):
            return math.nan, False, False
        if ("GT" in flags and new <= current) or ("LT" in flags and new >= current):
            return None, False, False
        zset[member] = new
        return new, False, new != current

    @rule(key=keys, flags=zadd_flags, pairs=st.lists(st.tuples(good_scores | scores, elements), min_size=1, max_size=3))
    def zadd(self, key, flags, pairs):
        args = ("ZADD", key, *flags, *[part for pair in pairs for part in pair])
        incr = "INCR" in flags
        # Checked in this order, before the key is looked up.
        if "NX" in flags and "XX" in flags:
            return self.check(args, ERR_ZADD_NX_XX)
        if len({"GT", "LT", "NX"} & set(flags)) > 1:
            return self.check(args, ERR_ZADD_GT_LT_NX)
        if incr and len(pairs) > 1:
            return self.check(args, ERR_ZADD_INCR_PAIRS)
        if any(SCORES[score] is None for score, _ in pairs):
            return self.check(args, ERR_NOT_FLOAT)
        if self.wrongtype(args, "zset", key):
            return
        if key not in self.db and "XX" in flags:  # nothing to update, and no key is created
            return self.check(args, None if incr else 0)
        zset = ZSet(self.container(key, "zset"))
        added = changed = 0
        for score, member in pairs:
            new, was_added, was_changed = self.zadd_one(zset, SCORES[score], member, flags, incr)
            if new is not None and math.isnan(new):
                return self.check(args, ERR_NAN_SCORE)  # only INCR can, on an existing member
            added += was_added
            changed += was_changed
        if incr:
            self.check(args, None if new is None else self.score_reply(new))
        else:
            self.check(args, added + changed if "CH" in flags else added)
        self.put(key, zset)

    @rule(key=keys, increment=scores, member=elements)
    def zincrby(self, key, increment, member):
        args = ("ZINCRBY", key, increment, member)
        if SCORES[increment] is None:
            return self.check(args, ERR_NOT_FLOAT)
        if self.wrongtype(args, "zset", key):
            return
        zset = ZSet(self.container(key, "zset"))
        new = zset.get(member, 0.0) + SCORES[increment]
        if math.isnan(new):
            return self.check(args, ERR_NAN_SCORE)
        zset[member] = new
        self.check(args, self.score_reply(new))
        self.put(key, zset)

    @rule(key=keys, member=elements)
    def zscore(self, key, member):
        args = ("ZSCORE", key, member)
        if not self.wrongtype(args, "zset", key):
            score = self.container(key, "zset").get(member)
            self.check(args, None if score is None else self.score_reply(score))

    @rule(key=keys, members=element_lists)
    def zrem(self, key, members):
        args = ("ZREM", key, *members)
        if self.wrongtype(args, "zset", key):
            return
        old = self.container(key, "zset")
        new = ZSet({member: score for member, score in old.items() if member not in members})
        self.check(args, len(old) - len(new))
        self.put(key, new)

    @rule(key=keys)
    def zcard(self, key):
        if not self.wrongtype(("ZCARD", key), "zset", key):
            self.check(("ZCARD", key), len(self.container(key, "zset")))

    @rule(key=keys, member=elements)
    def zrank(self, key, member):
        args = ("ZRANK", key, member)
        if not self.wrongtype(args, "zset", key):
            members = [member for member, _ in zset_order(self.container(key, "zset"))]
            self.check(args, members.index(member) if member in members else None)

    @rule(
        key=keys, start=range_indexes, stop=range_indexes, rev=st.booleans(), withscores=st.booleans(), limit=limits
    )
    def zrange_by_rank(self, key, start, stop, rev, withscores, limit):
        args = ["ZRANGE", key, start, stop, *(["REV"] if rev else []), *(["WITHSCORES"] if withscores else [])]
        args += ["LIMIT", *limit] if limit else []
        if limit and limit[1] != -1:  # LIMIT's count -1 is its default, so that one passes
            return self.check(args, ERR_LIMIT_BY_RANK)
        if self.wrongtype(args, "zset", key):
            return
        pairs = zset_order(self.container(key, "zset"))
        pairs = pairs[::-1] if rev else pairs
        self.check(args, self.members_reply([pairs[i] for i in index_range(len(pairs), start, stop)], withscores))

    @rule(
        key=keys, first=score_bounds, second=score_bounds, rev=st.booleans(), withscores=st.booleans(), limit=limits
    )
    def zrange_by_score(self, key, first, second, rev, withscores, limit):
        """ZRANGE BYSCORE: min then max, or with REV max then min."""
        args = ["ZRANGE", key, first, second, "BYSCORE", *(["REV"] if rev else [])]
        args += ["WITHSCORES"] if withscores else []
        args += ["LIMIT", *limit] if limit else []
        low, high = (second, first) if rev else (first, second)
        low, high = parse_bound(low), parse_bound(high)
        if low is None or high is None:
            return self.check(args, ERR_BOUND)
        if self.wrongtype(args, "zset", key):
            return
        pairs = [pair for pair in zset_order(self.container(key, "zset")) if in_bounds(pair[1], low, high)]
        pairs = pairs[::-1] if rev else pairs
        if limit:
            offset, count = limit
            pairs = [] if offset < 0 else pairs[offset:] if count < 0 else pairs[offset : offset + count]
        self.check(args, self.members_reply(pairs, withscores))

    # -- generic: keys --------------------------------------------------------

    @rule(command=st.sampled_from(("DEL", "UNLINK")), keys=key_lists)
    def delete(self, command, keys):
        present = {key for key in keys if key in self.db}
        self.check((command, *keys), len(present))
        for key in present:
            del self.db[key]

    @rule(command=st.sampled_from(("EXISTS", "TOUCH")), keys=key_lists)
    def exists(self, command, keys):
        """Both count every argument naming a key, repeats included."""
        self.check((command, *keys), sum(key in self.db for key in keys))

    @rule(key=keys)
    def type_(self, key):
        entry = self.db.get(key)
        self.check(("TYPE", key), "none" if entry is None else type_name(entry.value))

    def matching(self, pattern, type_=None) -> set[bytes]:
        return {
            key
            for key, entry in self.db.items()
            if (pattern is None or fnmatch.fnmatchcase(key, pattern))
            and (type_ is None or type_name(entry.value) == type_)
        }

    @rule(pattern=st.sampled_from(PATTERNS))
    def keys_(self, pattern):
        reply = self.call("KEYS", pattern)
        assert isinstance(reply, list), f"KEYS {pattern!r} -> {reply!r}"
        assert sorted(reply) == sorted(self.matching(pattern)), f"KEYS {pattern!r} -> {reply!r}"

    @rule(
        count=st.none() | st.integers(1, 10),
        pattern=st.none() | st.sampled_from(PATTERNS),
        type_=st.none() | type_names,
    )
    def scan(self, count, pattern, type_):
        """A full iteration: nothing changes meanwhile, so it returns exactly the matching keys."""
        options = []
        options += ["COUNT", count] if count else []
        options += ["MATCH", pattern] if pattern else []
        options += ["TYPE", type_] if type_ else []
        cursor, seen = b"0", []
        for _ in range(1000):
            reply = self.call("SCAN", cursor, *options)
            assert isinstance(reply, list) and len(reply) == 2, f"SCAN {cursor!r} {options} -> {reply!r}"
            cursor, batch = reply
            assert isinstance(cursor, bytes) and cursor.isdigit(), f"SCAN cursor {cursor!r}"
            seen += batch
            if cursor == b"0":
                break
        else:
            raise AssertionError(f"SCAN {options} did not finish in 1000 calls")
        expected = self.matching(pattern, type_)
        assert set(seen) == expected, f"SCAN 0 {options} returned {sorted(seen)}, the model has {sorted(expected)}"

    @rule()
    def randomkey(self):
        reply = self.call("RANDOMKEY")
        if self.db:
            assert reply in self.db, f"RANDOMKEY -> {reply!r}, the model has {sorted(self.db)}"
        else:
            assert reply is None, f"RANDOMKEY -> {reply!r} on an empty database"

    @rule(source=keys, destination=keys)
    def rename(self, source, destination):
        args = ("RENAME", source, destination)
        if source not in self.db:
            self.check(args, ERR_NO_SUCH_KEY)
            return
        self.check(args, "OK")
        self.db[destination] = self.db.pop(source)  # with its deadline

    @rule(source=keys, destination=keys)
    def renamenx(self, source, destination):
        args = ("RENAMENX", source, destination)
        if source not in self.db:
            self.check(args, ERR_NO_SUCH_KEY)
        elif destination in self.db:  # including destination == source
            self.check(args, 0)
        else:
            self.check(args, 1)
            self.db[destination] = self.db.pop(source)

    @rule(source=keys, destination=keys, db=st.none() | databases_or_invalid, replace=st.booleans())
    def copy(self, source, destination, db, replace):
        args = ["COPY", source, destination]
        args += ["DB", db] if db is not None else []
        args += ["REPLACE"] if replace else []
        target_index = self.selected if db is None else db
        if target_index >= DATABASES:
            self.check(args, ERR_DB_RANGE)
        elif target_index == self.selected and source == destination:
            self.check(args, ERR_SAME_OBJECT)
        elif source not in self.db:
            self.check(args, 0)
        elif destination in self.dbs[target_index] and not replace:
            self.check(args, 0)
        else:
            self.check(args, 1)
            self.dbs[target_index][destination] = self.db[source]  # with its deadline

    @rule(key=keys, db=databases_or_invalid)
    def move(self, key, db):
        args = ("MOVE", key, db)
        if db >= DATABASES:
            self.check(args, ERR_DB_RANGE)
        elif db == self.selected:
            self.check(args, ERR_SAME_OBJECT)
        elif key not in self.db or key in self.dbs[db]:
            self.check(args, 0)
        else:
            self.check(args, 1)
            self.dbs[db][key] = self.db.pop(key)

    # -- generic: expiry ------------------------------------------------------

    @rule(
        command=st.sampled_from(("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT")),
        key=keys,
        horizon=horizons,
        flags=expire_flags,
    )
    def expire(self, command, key, horizon, flags):
        amount = expiry_amount(horizon, command in ("EXPIRE", "EXPIREAT"), command.endswith("AT"))
        args = (command, key, amount, *flags)
        reply, before, after = self.timed(*args)
        if "NX" in flags and len(flags) > 1:
            return self.expect_reply(reply, ErrorReply(ERR_NX_AND_OTHERS), args)
        if "GT" in flags and "LT" in flags:
            return self.expect_reply(reply, ErrorReply(ERR_GT_AND_LT), args)
        outcome = expire_deadline(command, amount, before, after)
        if outcome is ERROR:
            return self.expect_reply(reply, ErrorReply(err_expire_time(command)), args)
        new, is_past = outcome
        entry = self.db.get(key)
        if entry is None:
            return self.expect_reply(reply, 0, args)

        # Does the condition let the new deadline in? True, False, or None: undecided.
        current = entry.deadline
        applies = True
        if "NX" in flags and current is not None:
            applies = False
        if "XX" in flags and current is None:
            applies = False
        if "GT" in flags and applies:  # no deadline counts as infinitely far
            if current is None or new.surely_not_later_than(current):
                applies = False
            elif not new.surely_later_than(current):
                applies = None
        if "LT" in flags and applies and current is not None:
            if current.surely_not_later_than(new):
                applies = False
            elif not current.surely_later_than(new):
                applies = None
        if applies is None:
            assert reply in (0, 1), f"{args!r} -> {reply!r}, the model expects 0 or 1"
            applies = reply == 1
        self.expect_reply(reply, int(applies), args)
        if not applies:
            return
        if is_past:
            del self.db[key]
        else:
            self.store(key, entry.value, new)

    @rule(key=keys)
    def persist(self, key):
        entry = self.db.get(key)
        if entry is None or entry.deadline is None:
            self.check(("PERSIST", key), 0)
        else:
            self.check(("PERSIST", key), 1)
            self.store(key, entry.value)

    @rule(command=st.sampled_from(("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME")), key=keys)
    def ttl(self, command, key):
        reply, before, after = self.timed(command, key)
        entry = self.db.get(key)
        if entry is None:
            return self.expect_reply(reply, -2, (command, key))
        if entry.deadline is None:
            return self.expect_reply(reply, -1, (command, key))
        low, high = entry.deadline.earliest, entry.deadline.latest
        if command in ("TTL", "PTTL"):  # time left, measured while the server ran the command
            low, high = max(0, low - after), max(0, high - before)
        if command in ("TTL", "EXPIRETIME"):  # seconds, rounded to the nearest
            low, high = (low + 500) // 1000, (high + 500) // 1000
        assert isinstance(reply, int) and low <= reply <= high, (
            f"{command} {key!r} -> {reply!r}, the model expects {low}..{high}"
        )

    @rule(
        key=keys,
        value=values,
        how=st.sampled_from(("SET PX", "PSETEX", "GETEX PX", "PEXPIRE")),
        ttl=st.integers(50, 200),
    )
    def short_ttl_then_wait(self, key, value, how, ttl):
        """Give a key a deadline ttl ms away, sleep past it, and see the key gone."""
        # GETEX needs a string; PEXPIRE any key, whatever its type.
        if (how == "GETEX PX" and (key not in self.db or self.holds_other_type(key, "string"))) or (
            how == "PEXPIRE" and key not in self.db
        ):
            self.check(("SET", key, value), "OK")
            self.store(key, value)
        commands = {
            "SET PX": ("SET", key, value, "PX", ttl),
            "PSETEX": ("PSETEX", key, ttl, value),
            "GETEX PX": ("GETEX", key, "PX", ttl),
            "PEXPIRE": ("PEXPIRE", key, ttl),
        }
        expected = {"SET PX": "OK", "PSETEX": "OK", "GETEX PX": self.value(key), "PEXPIRE": 1}
        reply, before, after = self.timed(*commands[how])
        self.expect_reply(reply, expected[how], commands[how])
        left = self.call("PTTL", key)
        assert left == -2 or 0 <= left <= ttl, f"PTTL {key!r} -> {left!r} just after a {ttl} ms TTL"
        time.sleep(max(0, after + ttl + 20 - now_ms()) / 1000)
        self.check(("GET", key), None)
        self.assert_gone(key)
        self.db.pop(key, None)

    # -- invariants -----------------------------------------------------------

    # Per type: the command that reads a whole value, and the one that counts it.
    READERS = {
        "string": (("GET",), ("STRLEN",)),
        "list": (("LRANGE", "{key}", 0, -1), ("LLEN",)),
        "hash": (("HGETALL",), ("HLEN",)),
        "set": (("SMEMBERS",), ("SCARD",)),
        "zset": (("ZRANGE", "{key}", 0, -1, "WITHSCORES"), ("ZCARD",)),
        None: (("GET",), ("EXISTS",)),  # a missing key: nil, and 0
    }

    @staticmethod
    def with_key(command, key):
        name, *rest = command
        return (name, key) if not rest else (name, *[key if part == "{key}" else part for part in rest])

    @invariant()
    def selected_db_matches_the_model(self):
        """DBSIZE, and each key's TYPE, PTTL, whole value and size, in one round trip."""
        commands = [("DBSIZE",)]
        for key in KEYS:
            entry = self.db.get(key)
            read, size = self.READERS[None if entry is None else type_name(entry.value)]
            commands += [("TYPE", key), ("PTTL", key), self.with_key(read, key), self.with_key(size, key)]
        before = now_ms()
        replies = self.client.pipeline(*commands)
        after = now_ms()
        self.expect_reply(replies[0], len(self.db), ("DBSIZE",))
        for index, key in enumerate(KEYS):
            type_, ttl, value, size = replies[1 + 4 * index : 5 + 4 * index]
            read, counted = commands[3 + 4 * index : 5 + 4 * index]
            entry = self.db.get(key)
            self.expect_reply(type_, "none" if entry is None else type_name(entry.value), ("TYPE", key))
            self.check_value(read, value, None if entry is None else entry.value)
            self.expect_reply(size, 0 if entry is None else len(entry.value), counted)
            if entry is None or entry.deadline is None:
                self.expect_reply(ttl, -2 if entry is None else -1, ("PTTL", key))
            else:
                low = max(0, entry.deadline.earliest - after)
                high = max(0, entry.deadline.latest - before)
                assert isinstance(ttl, int) and low <= ttl <= high, (
                    f"PTTL {key!r} -> {ttl!r}, the model expects {low}..{high}"
                )

    def check_value(self, args, reply, value):
        """A reading command's reply against the model's value (None: the key is missing)."""
        if isinstance(value, Hash):
            self.expect_reply(self.as_dict(reply, args), dict(value), args)
        elif isinstance(value, frozenset):
            assert type(reply) is (RespSet if self.protocol == 3 else list), f"{args!r} -> {reply!r}"
            assert len(reply) == len(value) and set(reply) == value, f"{args!r} -> {reply!r}, the model has {value!r}"
        elif isinstance(value, ZSet):
            self.expect_reply(reply, self.members_reply(zset_order(value), withscores=True), args)
        elif isinstance(value, tuple):
            self.expect_reply(reply, list(value), args)
        else:
            self.expect_reply(reply, value, args)


def machine_on(target: Target) -> type[KeyspaceMachine]:
    """KeyspaceMachine bound to a target (Hypothesis constructs machines without arguments)."""
    return type("KeyspaceMachine", (KeyspaceMachine,), {"target": target})


# The machine has over seventy rules over five types: it needs more and longer
# runs than the profile's default to build containers and collide them. This
# raises the floor; a profile asking for more (`thorough`) still gets more.
MIN_EXAMPLES = 100
STEPS = 100


def run_against(target: Target) -> None:
    """Run the machine against target with the current Hypothesis settings, raised to the floor above."""
    current = settings.default
    chosen = settings(current, max_examples=max(current.max_examples, MIN_EXAMPLES), stateful_step_count=STEPS)
    run_state_machine_as_test(machine_on(target), settings=chosen)
