"""A Hypothesis state machine that judges a server's keyspace against a tiny model.

The model is the specification in miniature: a few databases, each a dict
from key to Entry(value, deadline). Every rule sends one command (or a short
scripted sequence) to the server through the conformance client, predicts the
reply from the model, asserts the two agree, and then updates the model the
way the command says the keyspace changes. After every step the invariants
compare the selected database as a whole (DBSIZE, and TYPE, PTTL and value of
every key of the alphabet).

Keys come from a five-name alphabet, so commands collide all the time. Values
are short byte strings over an alphabet chosen so that the model knows exactly
which of them INCR and INCRBYFLOAT accept (no letters a float parser could
read: no e, i, n, f, x, p).

Time. Real time passes while the machine runs, so the model never lets the
clock decide an outcome:
  * a deadline the machine sets is either far away (100 s or more: it never
    passes during a run) or already past (a TTL of zero or less, or a unix
    time 100 s ago: the key is gone at once); the one exception is `short_ttl_then_wait`, which sets a deadline
    50-200 ms away and sleeps past it inside the same rule;
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

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from conformance.client import Client, ErrorReply
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
    value: bytes
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


class KeyspaceMachine(RuleBasedStateMachine):
    """Drives one connection to the target; see the module docstring."""

    target: Target  # set by the test before running the machine

    def __init__(self):
        super().__init__()
        self.client = Client(self.target.host, self.target.port)
        self.expect_reply(self.client.call("FLUSHALL"), "OK", ("FLUSHALL",))
        self.dbs: list[dict[bytes, Entry]] = [{} for _ in range(DATABASES)]
        self.selected = 0

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

    def check(self, args, expected):
        """Send args; the reply must equal expected (bytes, int, str for status, ErrorReply, None)."""
        reply = self.call(*args)
        if isinstance(expected, str) and expected.split(" ", 1)[0] in ("ERR", "WRONGTYPE"):
            expected = ErrorReply(expected)
        self.expect_reply(reply, expected, args)
        return reply

    @property
    def db(self) -> dict[bytes, Entry]:
        return self.dbs[self.selected]

    def value(self, key) -> bytes | None:
        entry = self.db.get(key)
        return None if entry is None else entry.value

    def store(self, key, value, deadline=None):
        self.db[key] = Entry(value, deadline)

    def assert_gone(self, key):
        """The server must no longer show a key whose deadline has passed."""
        self.check(("EXISTS", key), 0)

    # -- connection and databases -----------------------------------------------

    @initialize(protocol=st.sampled_from((2, 3)))
    def choose_protocol(self, protocol):
        reply = self.client.hello(protocol)
        assert isinstance(reply, (list, dict)), f"HELLO {protocol} -> {reply!r}"

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
        elif not value:  # writes nothing, creates nothing
            self.check(args, len(old.value) if old else 0)
        elif offset + len(value) > MAX_STRING_LENGTH:
            self.check(args, ERR_TOO_LONG)
        else:
            new = overwrite(old.value if old else b"", offset, value)
            self.check(args, len(new))
            self.store(key, new, old.deadline if old else None)

    # -- strings: reading -----------------------------------------------------

    @rule(key=keys)
    def get(self, key):
        self.check(("GET", key), self.value(key))

    @rule(key=keys)
    def getdel(self, key):
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
        self.check(("MGET", *keys), [self.value(key) for key in keys])

    @rule(key=keys)
    def strlen(self, key):
        self.check(("STRLEN", key), len(self.value(key) or b""))

    @rule(key=keys, start=range_indexes, end=range_indexes)
    def getrange(self, key, start, end):
        self.check(("GETRANGE", key, start, end), string_range(self.value(key) or b"", start, end))

    # -- strings: counters ----------------------------------------------------

    def add_to_integer(self, args, key, delta):
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
        self.check(("TYPE", key), "string" if key in self.db else "none")

    def matching(self, pattern) -> set[bytes]:
        return {key for key in self.db if pattern is None or fnmatch.fnmatchcase(key, pattern)}

    @rule(pattern=st.sampled_from(PATTERNS))
    def keys_(self, pattern):
        reply = self.call("KEYS", pattern)
        assert isinstance(reply, list), f"KEYS {pattern!r} -> {reply!r}"
        assert sorted(reply) == sorted(self.matching(pattern)), f"KEYS {pattern!r} -> {reply!r}"

    @rule(
        count=st.none() | st.integers(1, 10),
        pattern=st.none() | st.sampled_from(PATTERNS),
        type_=st.sampled_from((None, "string", "list")),
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
        expected = self.matching(pattern) if type_ in (None, "string") else set()
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
        if how in ("GETEX PX", "PEXPIRE") and key not in self.db:
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

    @invariant()
    def selected_db_matches_the_model(self):
        """DBSIZE, and each key's TYPE, PTTL and value, in one round trip."""
        commands = [("DBSIZE",)]
        for key in KEYS:
            commands += [("TYPE", key), ("PTTL", key), ("GET", key)]
        before = now_ms()
        replies = self.client.pipeline(*commands)
        after = now_ms()
        self.expect_reply(replies[0], len(self.db), ("DBSIZE",))
        for index, key in enumerate(KEYS):
            type_, ttl, value = replies[1 + 3 * index : 4 + 3 * index]
            entry = self.db.get(key)
            self.expect_reply(type_, "none" if entry is None else "string", ("TYPE", key))
            self.expect_reply(value, None if entry is None else entry.value, ("GET", key))
            if entry is None or entry.deadline is None:
                self.expect_reply(ttl, -2 if entry is None else -1, ("PTTL", key))
            else:
                low = max(0, entry.deadline.earliest - after)
                high = max(0, entry.deadline.latest - before)
                assert isinstance(ttl, int) and low <= ttl <= high, (
                    f"PTTL {key!r} -> {ttl!r}, the model expects {low}..{high}"
                )


def machine_on(target: Target) -> type[KeyspaceMachine]:
    """KeyspaceMachine bound to a target (Hypothesis constructs machines without arguments)."""
    return type("KeyspaceMachine", (KeyspaceMachine,), {"target": target})


def run_against(target: Target) -> None:
    """Run the machine against target with the current Hypothesis settings."""
    run_state_machine_as_test(machine_on(target))
