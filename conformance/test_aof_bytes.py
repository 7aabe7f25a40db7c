"""The AOF a target writes is, byte for byte, the one real Redis 7.0 writes for the same commands.

Differential: the same command sequence goes to the target (started with --appendonly yes
--appendfsync always) and to a real redis-server 7.0, and after every step the bytes each
appended to its incr file are compared (and the two replies, raw). The only legitimate
difference is the clock: an absolute time a server computed itself (SET ... EX written as
PXAT ms, EXPIRE as PEXPIREAT, RESTORE's relative TTL as ABSTTL) is replaced by a placeholder
naming its unit before comparing (see `normalize`).

Hypothesis draws the sequences, per family, over every write command with its options, with
failing invocations (WRONGTYPE, syntax errors) among them: those must write nothing. A key pool
of three names shared by all types makes WRONGTYPE and overwrites frequent. Expiry times are
long (minutes) or already past: active expiry is off on both sides, so a key past its time
(SET ... PXAT in the past) is deleted by the next command that looks it up, at the same step on
both, and that DEL is written with the command's own effects. Fixed tests cover lazy expiry by
reads, and blocked clients served by another client's write. With --server redis-server both
sides are real Redis (the test then checks itself).
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from conformance.blocking import wait_until_blocked
from conformance.targets import ServerLauncher

pytestmark = [pytest.mark.launches, pytest.mark.internals("AOF file contents")]

INCR_FILE = os.path.join("appendonlydir", "appendonly.aof.1.incr.aof")
DAY_MS = 86_400_000


# --- the two servers ----------------------------------------------------------------------

@dataclass
class Side:
    """One server of the pair: its process, and how far into its incr file we have read."""
    server: object
    offset: int = 0

    def path(self) -> str:
        return os.path.join(self.server.dir, INCR_FILE)

    def appended(self) -> bytes:
        """The bytes written to the incr file since the last call."""
        with open(self.path(), "rb") as f:
            f.seek(self.offset)
            data = f.read()
        self.offset += len(data)
        return data


def _start(launcher: ServerLauncher):
    return launcher.start(appendonly="yes", appendfsync="always")


@pytest.fixture(scope="module")
def pair(request, server_options):
    """(target, real Redis), both writing an AOF; shared by the module's tests, which start
    each example with FLUSHALL and read only what came after it."""
    target_launcher = ServerLauncher(request.config.getoption("server"), default_options=server_options)
    redis_launcher = ServerLauncher("redis-server")
    try:
        sides = Side(_start(target_launcher)), Side(_start(redis_launcher))
        for side in sides:
            with side.server.client() as c:
                # Keys past their time (SET ... EXAT in the past) are then deleted only when
                # looked up, at the same step on both sides, not when each one's cron runs.
                assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
        with sides[1].server.client() as c:
            for kind, (command, *arguments) in PAYLOAD_SOURCES.items():
                c.call(command, "source", *arguments)
                PAYLOADS[kind] = c.call("DUMP", "source")
                c.call("DEL", "source")
        yield sides
    finally:
        target_launcher.stop_all()
        redis_launcher.stop_all()


# --- words that become absolute times when sent -------------------------------------------

@dataclass(frozen=True)
class At:
    """An absolute unix time `offset` seconds from now, written in `unit` ("s" or "ms"); resolved
    once per step, so both servers receive the same number."""
    offset: int
    unit: str

    def resolve(self, now: float) -> str:
        when = now + self.offset
        return str(int(when * 1000) if self.unit == "ms" else int(when))


@dataclass(frozen=True)
class Dumped:
    """The DUMP payload of a value of `kind` (see PAYLOAD_SOURCES), for RESTORE."""
    kind: str

    def resolve(self, now: float) -> bytes:
        return PAYLOADS[self.kind]


# What DUMP gives for these values on real Redis: filled in by the `pair` fixture.
PAYLOAD_SOURCES = {"string": ("SET", "v"), "list": ("RPUSH", "1", "2"), "zset": ("ZADD", "1", "m")}
PAYLOADS: dict[str, bytes] = {}


def resolve(argv, now: float) -> list:
    return [word.resolve(now) if isinstance(word, (At, Dumped)) else word for word in argv]


_BULK_NUMBER = re.compile(rb"\$(\d+)\r\n(-?\d+)\r\n")


def normalize(data: bytes, now_ms: int) -> bytes:
    """Replace each bulk string holding a unix time within a day of now (in ms, or in s) by a
    placeholder naming the unit: the clock differs between the two servers, nothing else may."""
    def replace(match):
        number = int(match.group(2))
        if abs(number - now_ms) < DAY_MS:
            return b"$<ms>\r\n<unix-ms>\r\n"
        if abs(number - now_ms // 1000) < DAY_MS // 1000:
            return b"$<s>\r\n<unix-s>\r\n"
        return match.group(0)
    return _BULK_NUMBER.sub(replace, data)


def show(data: bytes) -> str:
    """The RESP commands in data as readable lines."""
    return data.decode("utf-8", "replace").replace("\r\n", " ").replace(" *", "\n*")


# --- running steps on both servers --------------------------------------------------------

# A step is a list of commands sent in order on the main connection; a command is a list of
# words, or ("other", words) for one sent on a second connection (WATCH then a change by
# someone else). Its replies and what it appended to the AOF must be equal on both sides.

class Session:
    def __init__(self, side: Side):
        self.side = side
        self.main = side.server.client()
        self.other = side.server.client()
        assert self.main.call("FLUSHALL") == "OK"
        side.appended()  # start after the FLUSHALL

    def run(self, step, now: float) -> tuple[list[bytes], bytes]:
        replies = []
        for command in step:
            connection = self.main
            if isinstance(command, tuple):
                connection, command = self.other, command[1]
            replies.append(connection.call_raw(*resolve(command, now)))
        return replies, self.side.appended()

    def close(self):
        self.main.close()
        self.other.close()


def compare(pair, steps) -> None:
    sessions = [Session(side) for side in pair]
    try:
        history = []
        for step in steps:
            now = time.time()
            (target_replies, target_aof), (redis_replies, redis_aof) = (s.run(step, now) for s in sessions)
            history.append(step)
            context = "after the steps:\n" + "\n".join(map(repr, history))
            assert target_replies == redis_replies, context
            now_ms = int(time.time() * 1000)
            assert show(normalize(target_aof, now_ms)) == show(normalize(redis_aof, now_ms)), context
    finally:
        for session in sessions:
            session.close()


# --- strategies ---------------------------------------------------------------------------

def _flatten(parts) -> list:
    words = []
    for part in parts:
        if part is None:
            continue
        if isinstance(part, list):
            words.extend(_flatten(part))
        else:
            words.append(part)
    return words


def cmd(*parts) -> SearchStrategy:
    """A command: each part is a word, or a strategy for a word or a list of words (None: none)."""
    return st.tuples(*(p if isinstance(p, SearchStrategy) else st.just(p) for p in parts)).map(_flatten)


def opt(*parts) -> SearchStrategy:
    """The words of cmd(*parts), or none of them."""
    return st.one_of(st.none(), cmd(*parts))


def kw(word: str) -> SearchStrategy:
    """A keyword (or command name) as typed: upper or lower case (Redis writes it as typed)."""
    return st.sampled_from([word.upper(), word.lower()])


def one_of_kw(*words: str) -> SearchStrategy:
    return st.one_of(*map(kw, words))


def some(strategy, max_size=3) -> SearchStrategy:
    return st.lists(strategy, min_size=1, max_size=max_size)


KEY = st.sampled_from(["a", "b", "c"])
VALUE = st.sampled_from(["1", "2", "-3", "x", "1.5", "10", ""])
NUMBER = st.sampled_from(["1", "2", "-3", "0", "10"])
FLOAT = st.sampled_from(["1", "0.5", "-2.5", "3", "1e2", "abc"])
INDEX = st.sampled_from(["0", "1", "-1", "2", "-5"])
COUNT = st.sampled_from(["1", "2", "5", "0", "-1"])
DB = st.sampled_from(["0", "1", "2"])
FIELD = st.sampled_from(["f", "g", "h"])
MEMBER = st.sampled_from(["m", "n", "1", "2"])
SCORE = st.sampled_from(["1", "2", "-1", "1.5", "+inf", "x"])
TIMEOUT = st.sampled_from(["0.01"])  # the key may be empty: then it times out, writing nothing
SECONDS = st.sampled_from(["100", "200", "0", "-1", "x"])
MILLISECONDS = st.sampled_from(["100000", "200000", "0", "-5"])
# Absolute times: minutes ahead, or already past (the key is deleted: written as DEL).
UNIX_S = st.sampled_from([At(300, "s"), At(600, "s"), At(-100, "s")])
UNIX_MS = st.sampled_from([At(300, "ms"), At(600, "ms"), At(-100, "ms")])
PAYLOAD = st.sampled_from([Dumped(kind) for kind in PAYLOAD_SOURCES])
LEFT_RIGHT = one_of_kw("LEFT", "RIGHT")
MIN_MAX = one_of_kw("MIN", "MAX")


def expiry() -> SearchStrategy:
    return st.one_of(cmd(kw("EX"), SECONDS), cmd(kw("PX"), MILLISECONDS), cmd(kw("EXAT"), UNIX_S),
                     cmd(kw("PXAT"), UNIX_MS))


STRING_COMMANDS = [
    cmd(kw("SET"), KEY, VALUE, opt(one_of_kw("NX", "XX")), opt(kw("GET")),
        st.one_of(st.none(), expiry(), kw("KEEPTTL"))),
    cmd(kw("SET"), KEY, VALUE, kw("NX"), kw("XX")),                  # syntax error
    cmd(kw("SETEX"), KEY, SECONDS, VALUE),
    cmd(kw("PSETEX"), KEY, MILLISECONDS, VALUE),
    cmd(kw("SETNX"), KEY, VALUE),
    cmd(kw("GETSET"), KEY, VALUE),
    cmd(kw("GETDEL"), KEY),
    cmd(kw("GETEX"), KEY, st.one_of(st.none(), expiry(), kw("PERSIST"))),
    cmd(kw("MSET"), some(cmd(KEY, VALUE))),
    cmd(kw("MSETNX"), some(cmd(KEY, VALUE))),
    cmd(kw("APPEND"), KEY, VALUE),
    cmd(kw("SETRANGE"), KEY, st.sampled_from(["0", "2", "-1"]), VALUE),
    cmd(one_of_kw("INCR", "DECR"), KEY),
    cmd(one_of_kw("INCRBY", "DECRBY"), KEY, NUMBER),
    cmd(kw("INCRBYFLOAT"), KEY, FLOAT),
]

GENERIC_COMMANDS = [
    cmd(one_of_kw("DEL", "UNLINK"), some(KEY)),
    cmd(one_of_kw("EXPIRE"), KEY, SECONDS, opt(one_of_kw("NX", "XX", "GT", "LT"))),
    cmd(one_of_kw("PEXPIRE"), KEY, MILLISECONDS, opt(one_of_kw("NX", "XX", "GT", "LT"))),
    cmd(one_of_kw("EXPIREAT"), KEY, UNIX_S, opt(one_of_kw("NX", "XX", "GT", "LT"))),
    cmd(one_of_kw("PEXPIREAT"), KEY, UNIX_MS, opt(one_of_kw("NX", "XX", "GT", "LT"))),
    cmd(kw("EXPIRE"), KEY, "100", kw("NX"), kw("XX")),               # syntax error
    cmd(kw("PERSIST"), KEY),
    cmd(one_of_kw("RENAME", "RENAMENX"), KEY, KEY),
    cmd(kw("COPY"), KEY, KEY, opt(kw("DB"), DB), opt(kw("REPLACE"))),
    cmd(kw("MOVE"), KEY, DB),
    cmd(kw("SWAPDB"), DB, DB),
    cmd(kw("FLUSHDB"), opt(one_of_kw("SYNC", "ASYNC"))),
    cmd(kw("FLUSHALL"), opt(one_of_kw("SYNC", "ASYNC"))),
    cmd(kw("SELECT"), DB),
    # A relative TTL (with ABSTTL: long past), or an absolute one with ABSTTL
    cmd(kw("RESTORE"), KEY, st.sampled_from(["0", "100000", "-1"]), PAYLOAD, opt(kw("REPLACE")),
        opt(kw("ABSTTL")), opt(one_of_kw("IDLETIME", "FREQ"), st.sampled_from(["10", "-1"]))),
    cmd(kw("RESTORE"), KEY, UNIX_MS, PAYLOAD, opt(kw("REPLACE")), kw("ABSTTL")),
    cmd(kw("SET"), KEY, VALUE),
    cmd(kw("RPUSH"), KEY, VALUE),
]

LIST_COMMANDS = [
    cmd(one_of_kw("LPUSH", "RPUSH", "LPUSHX", "RPUSHX"), KEY, some(VALUE)),
    cmd(one_of_kw("LPOP", "RPOP"), KEY, opt(COUNT)),
    cmd(kw("LMPOP"), "2", KEY, KEY, LEFT_RIGHT, opt(kw("COUNT"), COUNT)),
    cmd(kw("LMOVE"), KEY, KEY, LEFT_RIGHT, LEFT_RIGHT),
    cmd(kw("RPOPLPUSH"), KEY, KEY),
    cmd(kw("LREM"), KEY, st.sampled_from(["0", "1", "-1"]), VALUE),
    cmd(kw("LTRIM"), KEY, INDEX, INDEX),
    cmd(kw("LSET"), KEY, INDEX, VALUE),
    cmd(kw("LINSERT"), KEY, one_of_kw("BEFORE", "AFTER"), VALUE, VALUE),
    cmd(one_of_kw("BLPOP", "BRPOP"), some(KEY, 2), TIMEOUT),
    cmd(kw("BLMOVE"), KEY, KEY, LEFT_RIGHT, LEFT_RIGHT, TIMEOUT),
    cmd(kw("BRPOPLPUSH"), KEY, KEY, TIMEOUT),
    cmd(kw("BLMPOP"), TIMEOUT, "2", KEY, KEY, LEFT_RIGHT, opt(kw("COUNT"), COUNT)),
]

HASH_COMMANDS = [
    cmd(one_of_kw("HSET", "HMSET"), KEY, some(cmd(FIELD, VALUE))),
    cmd(kw("HSETNX"), KEY, FIELD, VALUE),
    cmd(kw("HDEL"), KEY, some(FIELD)),
    cmd(kw("HINCRBY"), KEY, FIELD, NUMBER),
    cmd(kw("HINCRBYFLOAT"), KEY, FIELD, FLOAT),
]


def one_member_spop() -> SearchStrategy:
    """SPOP only where its choice is forced: a set of one member (else the member is random)."""
    return st.tuples(KEY, MEMBER, opt(COUNT), kw("SPOP")).map(
        lambda t: [["DEL", t[0]], ["SADD", t[0], t[1]], _flatten([t[3], t[0], t[2]])])


def lex_range_removal() -> SearchStrategy:
    """ZREMRANGEBYLEX on a sorted set whose scores are all equal, or on whatever the key holds:
    the sets here are small (listpacks), which Redis walks in a set order even when the scores
    differ (see spec/sorted-sets.md, ZLEXCOUNT)."""
    bounds = st.tuples(st.sampled_from(["-", "[m", "(1", "+"]), st.sampled_from(["+", "[n", "(m", "-"]))
    equal_scores = st.tuples(KEY, bounds, kw("ZREMRANGEBYLEX")).map(
        lambda t: [["DEL", t[0]], ["ZADD", t[0], "0", "m", "0", "n", "0", "1"], [t[2], t[0], *t[1]]])
    as_it_is = st.tuples(KEY, bounds, kw("ZREMRANGEBYLEX")).map(lambda t: [[t[2], t[0], *t[1]]])
    return st.one_of(equal_scores, as_it_is)


SET_COMMANDS = [
    cmd(kw("SADD"), KEY, some(MEMBER)),
    cmd(kw("SREM"), KEY, some(MEMBER)),
    cmd(kw("SMOVE"), KEY, KEY, MEMBER),
    cmd(one_of_kw("SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"), KEY, some(KEY)),
]

ZSET_COMMANDS = [
    cmd(kw("ZADD"), KEY, opt(one_of_kw("NX", "XX")), opt(one_of_kw("GT", "LT")), opt(kw("CH")),
        opt(kw("INCR")), some(cmd(SCORE, MEMBER))),
    cmd(kw("ZINCRBY"), KEY, SCORE, MEMBER),
    cmd(kw("ZREM"), KEY, some(MEMBER)),
    cmd(kw("ZREMRANGEBYSCORE"), KEY, st.sampled_from(["-inf", "(1", "1"]), st.sampled_from(["+inf", "2", "(2"])),
    cmd(kw("ZREMRANGEBYRANK"), KEY, INDEX, INDEX),
    cmd(one_of_kw("ZPOPMIN", "ZPOPMAX"), KEY, opt(COUNT)),
    cmd(kw("ZMPOP"), "2", KEY, KEY, MIN_MAX, opt(kw("COUNT"), COUNT)),
    cmd(one_of_kw("BZPOPMIN", "BZPOPMAX"), some(KEY, 2), TIMEOUT),
    cmd(kw("BZMPOP"), TIMEOUT, "2", KEY, KEY, MIN_MAX, opt(kw("COUNT"), COUNT)),
    cmd(kw("ZRANGESTORE"), KEY, KEY, INDEX, INDEX, opt(kw("REV"))),
    cmd(one_of_kw("ZUNIONSTORE", "ZINTERSTORE"), KEY, "2", KEY, KEY, opt(kw("WEIGHTS"), "2", "1"),
        opt(kw("AGGREGATE"), one_of_kw("SUM", "MIN", "MAX"))),
    cmd(kw("ZDIFFSTORE"), KEY, "2", KEY, KEY),
]

SORT_COMMANDS = [
    cmd(kw("SORT"), KEY, opt(kw("LIMIT"), "0", COUNT), opt(one_of_kw("ASC", "DESC")), opt(kw("ALPHA")),
        kw("STORE"), KEY),
]

ALL_COMMANDS = (STRING_COMMANDS + GENERIC_COMMANDS + LIST_COMMANDS + HASH_COMMANDS + SET_COMMANDS
                + ZSET_COMMANDS + SORT_COMMANDS)


# A key already past its time (active expiry is off): the next command that looks it up
# deletes it, and writes that DEL with its own effects in one MULTI ... EXEC.
EXPIRED_KEY = cmd(kw("SET"), KEY, "1", kw("PXAT"), At(-100, "ms"))


def steps(commands, extra=()) -> SearchStrategy:
    """Sequences of steps: single commands drawn from `commands` (and EXPIRED_KEY), or `extra`
    steps."""
    single = st.one_of(*commands, EXPIRED_KEY).map(lambda command: [command])
    return st.lists(st.one_of(single, *extra), min_size=1, max_size=20)


def transaction(commands) -> SearchStrategy:
    """MULTI, some commands, EXEC (an error inside is that command's reply; the others run)."""
    return st.lists(st.one_of(*commands), min_size=1, max_size=4).map(
        lambda queued: [["MULTI"], *queued, ["EXEC"]])


def failed_transaction(commands) -> SearchStrategy:
    """WATCH a key, another client changes it, MULTI ... EXEC: nothing runs, only the other
    client's SET is written (in its own database, 0)."""
    return st.tuples(KEY, st.lists(st.one_of(*commands), min_size=1, max_size=3)).map(
        lambda t: [["SELECT", "0"], ["WATCH", t[0]], ("other", ["SET", t[0], "theirs"]),
                   ["MULTI"], *t[1], ["EXEC"]])


def aborted_transaction(commands) -> SearchStrategy:
    """A command refused while queueing (unknown, wrong arity): EXEC answers EXECABORT and
    nothing is written."""
    return st.tuples(st.lists(st.one_of(*commands), min_size=1, max_size=3),
                     st.sampled_from([["NOSUCHCOMMAND"], ["SET", "a"], ["LPUSH"]])).map(
        lambda t: [["MULTI"], *t[0], t[1], ["EXEC"]])


# --- generated sequences, one test per family ---------------------------------------------

@given(steps(STRING_COMMANDS))
@example([[["SET", "a", "2"]], [["INCRBYFLOAT", "a", "1"]], [["set", "a", "1", "keepttl", "get", "xx"]]])
@example([[["SET", "a", "1", "EX", "100"]], [["GETEX", "a", "PERSIST"]], [["GETEX", "a", "exat", At(-100, "s")]]])
# A key past its time, looked up by a write: MULTI, DEL, the write, EXEC.
@example([[["SET", "a", "1", "PXAT", At(-100, "ms")]], [["MSET", "b", "1", "a", "2"]]])
@example([[["SET", "a", "1", "EXAT", At(-100, "s")]], [["SETNX", "a", "1"]]])
def test_strings(pair, sequence):
    compare(pair, sequence)


@given(steps(GENERIC_COMMANDS + [STRING_COMMANDS[0]]))
@example([[["SET", "a", "1"]], [["EXPIRE", "a", "100", "gt"]], [["pexpire", "a", "-5"]]])
@example([[["SET", "a", "1"]], [["SELECT", "1"]], [["FLUSHALL"]], [["FLUSHALL"]], [["FLUSHDB"]]])
# RESTORE ... REPLACE removes a key past its time without looking it up: no DEL of its own.
@example([[["SET", "a", "1", "PXAT", At(-100, "ms")]],
          [["RESTORE", "a", At(300, "ms"), Dumped("string"), "REPLACE", "ABSTTL"]]])
@example([[["SET", "a", "1", "EX", "100"]], [["COPY", "a", "b", "DB", "1"]], [["MOVE", "a", "2"]],
          [["SWAPDB", "0", "1"]], [["RENAME", "b", "c"]]])
def test_generic(pair, sequence):
    compare(pair, sequence)


@given(steps(LIST_COMMANDS))
@example([[["RPUSH", "a", "1", "2", "3"]], [["BLMPOP", "0", "2", "b", "a", "LEFT", "COUNT", "2"]],
          [["BRPOPLPUSH", "a", "b", "0"]], [["LPOP", "a", "0"]]])
@example([[["RPUSH", "a", "1"]], [["BLMOVE", "a", "a", "LEFT", "left", "0"]]])  # written as typed
def test_lists(pair, sequence):
    compare(pair, sequence)


@given(steps(HASH_COMMANDS))
@example([[["HINCRBYFLOAT", "a", "f", "1.5"]], [["hincrbyfloat", "a", "f", "1e2"]], [["HDEL", "a", "f", "g"]]])
def test_hashes(pair, sequence):
    compare(pair, sequence)


@given(steps(SET_COMMANDS, extra=[one_member_spop()]))
@example([[["DEL", "a"], ["SADD", "a", "m"], ["SPOP", "a", "5"]], [["SADD", "b", "1"]], [["SPOP", "b", "0"]]])
# An empty result removes a destination past its time without looking it up: the STORE command
# itself is written (it counts as a change), no DEL.
@example([[["SET", "a", "1", "PXAT", At(-100, "ms")]], [["SINTERSTORE", "a", "b"]]])
def test_sets(pair, sequence):
    compare(pair, sequence)


@given(steps(ZSET_COMMANDS, extra=[lex_range_removal()]))
@example([[["ZADD", "a", "1", "m", "2", "n"]], [["BZMPOP", "0", "1", "a", "MAX", "COUNT", "5"]],
          [["ZADD", "a", "INCR", "1", "m"]], [["ZINCRBY", "a", "+inf", "m"]], [["ZINCRBY", "a", "-inf", "m"]]])
@example([[["SET", "a", "1", "PXAT", At(-100, "ms")]], [["ZDIFFSTORE", "a", "1", "b"]],
          [["SET", "c", "1", "PXAT", At(-100, "ms")]], [["ZRANGESTORE", "c", "b", "0", "-1"]]])
def test_sorted_sets(pair, sequence):
    compare(pair, sequence)


@example([[["SET", "a", "1"]], [["LPUSH", "b", "1"]], [["BLMOVE", "b", "a", "LEFT", "LEFT", "0.01"]]])
@given(steps(ALL_COMMANDS, extra=[transaction(ALL_COMMANDS), failed_transaction(ALL_COMMANDS),
                                   aborted_transaction(ALL_COMMANDS), one_member_spop(),
                                   lex_range_removal()]))
@example([[["RPUSH", "a", "3", "1", "2"]], [["SORT", "a", "STORE", "b"]], [["SORT", "c", "STORE", "b"]]])
@example([[["MULTI"], ["SET", "a", "1", "EX", "100"], ["INCRBYFLOAT", "a", "1"], ["SELECT", "1"],
           ["LPUSH", "a", "x"], ["BLPOP", "a", "0"], ["EXEC"]]])
# WATCH does not delete a key past its time (no DEL); the other client's SET does, in its unit.
@example([[["SET", "b", "1", "PXAT", At(-100, "ms")]],
          [["SELECT", "0"], ["WATCH", "b"], ("other", ["SET", "b", "theirs"]), ["MULTI"], ["GETDEL", "a"], ["EXEC"]]])
@example([[["SET", "a", "1", "PXAT", At(-100, "ms")]], [["SORT", "b", "STORE", "a"]]])
def test_mixed_with_transactions(pair, sequence):
    compare(pair, sequence)


# --- fixed sequences ------------------------------------------------------------------------

def _both(pair, action) -> list[bytes]:
    """Run action(side) on both servers; return what each appended to its AOF, normalized."""
    written = []
    for side in pair:
        with side.server.client() as c:
            assert c.call("FLUSHALL") == "OK"
        side.appended()
        action(side)
        written.append(normalize(side.appended(), int(time.time() * 1000)))
    return written


def test_lazy_expiry_is_written_as_del(pair):
    """A key read after its time has passed is deleted and written as DEL; several DELs, or a
    DEL and the write command that looked the key up, are one MULTI ... EXEC; KEYS does not
    delete (nor write). Active expiry is off (see `pair`): only lookups delete."""
    def action(side):
        with side.server.client() as c:
            c.call("SET", "a", "1", "PX", "1")
            c.call("SET", "b", "1", "PX", "1")
            c.call("SET", "c", "1", "PX", "1")
            time.sleep(0.05)
            assert c.call("GET", "a") is None       # DEL a
            c.call("KEYS", "*")
            assert c.call("INCR", "b") == 1         # DEL b then INCR b, as one transaction
            c.call("SELECT", "1")
            assert c.call("EXISTS", "c") == 0       # another database: nothing to delete
            c.call("SELECT", "0")
            assert c.call("EXISTS", "c") == 0       # DEL c
            for key in ("m1", "m2", "s", "x"):
                c.call("SET", key, "1", "PX", "1")
            c.call("SELECT", "1")
            c.call("SET", "y", "1", "PX", "1")
            c.call("SELECT", "0")
            time.sleep(0.05)
            assert c.call("MGET", "m1", "m2") == [None, None]  # a read too: MULTI DEL DEL EXEC
            assert c.call("SCAN", "0", "MATCH", "s") == [b"0", []]  # DEL s
            assert c.call("MSET", "x", "2") == "OK"     # MULTI DEL x MSET EXEC
            c.call("SET", "y", "1")
            assert c.call("MOVE", "y", "1") == 1        # the expired y of db 1 goes first
    target, redis = _both(pair, action)
    assert show(target) == show(redis)


def test_served_blocking_pop_is_written_as_push_then_pop(pair):
    """BLPOP waiting, then LPUSH by another client: LPUSH is written, then the LPOP that served
    the waiting client."""
    def action(side):
        with side.server.client() as waiting, side.server.client() as pusher:
            waiting.send_command("BLPOP", "q", "0")
            waiting.send_command("BLMOVE", "q2", "dst", "RIGHT", "LEFT", "0")
            wait_until_blocked(pusher, 1)
            pusher.call("LPUSH", "q", "x", "y")
            assert waiting.read_reply() == [b"q", b"y"]
            wait_until_blocked(pusher, 1)
            pusher.call("SELECT", "0")
            pusher.call("RPUSH", "q2", "z")
            assert waiting.read_reply() == b"z"
    target, redis = _both(pair, action)
    assert show(target) == show(redis)


def test_served_blocking_zpop_is_written_as_zadd_then_zpop(pair):
    def action(side):
        with side.server.client() as waiting, side.server.client() as adder:
            waiting.send_command("BZMPOP", "0", "1", "z", "MAX", "COUNT", "2")
            wait_until_blocked(adder, 1)
            adder.call("ZADD", "z", "1", "a", "2", "b", "3", "c")
            assert waiting.read_reply() == [b"z", [[b"c", b"3"], [b"b", b"2"]]]
    target, redis = _both(pair, action)
    assert show(target) == show(redis)
