"""How many changes each write command counts: INFO persistence `rdb_changes_since_last_save`.

Redis keeps one change counter (server.dirty). Save points (`save 60 1000`) compare it with their
thresholds, INFO reports it, and a command that moved it is written to the AOF and sent to the
replicas. Commands do not all count one per call: most count one per element they added, removed
or moved (LPUSH of three elements is 3, LTRIM counts the elements trimmed, SORT ... STORE the
elements stored), some count one per key (DEL, MSET), some one per call whatever they did
(RENAME, FLUSHDB counts the keys it removed), and a command that changed nothing, or failed,
counts 0.

Every case below was checked against redis-server 7.0.15: a setup, the counter read, one
command, the counter read again. The counter is read as a difference, so no SAVE is needed;
save points are switched off for the test so that no background save resets it half-way.
Keys are short names: s string, l list, h hash, t set, z sorted set (and d a destination).
"""
from __future__ import annotations

import pytest

from conformance.blocking import wait_until_blocked
from conformance.client import ErrorReply
from conformance.readings import changes

pytestmark = pytest.mark.internals("INFO rdb_changes_since_last_save, Redis's change counter")

# What DUMP of the string "hello" is in Redis 7.0 (RDB version 10), for RESTORE.
HELLO_PAYLOAD = b"\x00\x05hello\n\x00cr\xdfve4 \n"


def words(command) -> tuple:
    """'RPUSH l a b' -> ('RPUSH', 'l', 'a', 'b'); a tuple is already split (binary arguments)."""
    return tuple(command.split()) if isinstance(command, str) else command


def case(setup: str, command, count: int):
    """One row: `setup` is commands separated by ';' (may be empty)."""
    steps = [step.strip() for step in setup.split(";") if step.strip()]
    name = " ".join(word if isinstance(word, str) else "<payload>" for word in words(command))
    return pytest.param(steps, words(command), count, id=name)


STRINGS = [
    case("", "SET s v", 1),
    case("SET s v", "SET s w", 1),
    case("SET s v", "SET s w NX", 0),
    case("", "SET s w XX", 0),
    case("", "SET s v EX 100", 1),              # the value and its expiry: one change
    case("SET s v", "SET s w PX 100000", 1),
    case("SET s v EX 100", "SET s w KEEPTTL", 1),
    case("", "SET s v EXAT 1", 1),              # stored already expired: still one change
    case("SET s v", "SET s w GET", 1),
    case("SET s v", "SET s w NX GET", 0),
    case("", "SETNX s v", 1),
    case("SET s v", "SETNX s w", 0),
    case("", "SETEX s 100 v", 1),
    case("", "PSETEX s 100000 v", 1),
    case("SET s v", "GETSET s w", 1),
    case("", "GETSET s w", 1),
    case("", "MSET a 1 b 2 c 3", 3),
    case("SET a 0", "MSET a 1 a 2", 2),         # one per pair, even for the same key
    case("", "MSETNX a 1 b 2 c 3", 3),
    case("SET b 0", "MSETNX a 1 b 2 c 3", 0),
    case("SET s v", "GETDEL s", 1),
    case("", "GETDEL s", 0),
    case("SET s v EX 100", "GETEX s", 0),
    case("SET s v", "GETEX s EX 100", 1),
    case("SET s v", "GETEX s PXAT 1", 1),       # a time past deletes the key
    case("SET s v EX 100", "GETEX s PERSIST", 1),
    case("SET s v", "GETEX s PERSIST", 0),      # no expiry to remove
    case("", "GETEX s EX 100", 0),
    case("", "APPEND s abc", 1),
    case("SET s v", "APPEND s abc", 1),
    case("SET s v", ("APPEND", "s", ""), 1),          # counted although the value is the same
    case("", "SETRANGE s 3 abc", 1),
    case("SET s hello", "SETRANGE s 1 abc", 1),
    case("APPEND s hello", "SETRANGE s 1 abc", 1),
    case("SET s hello; SETRANGE s 0 H", "SETRANGE s 10 abc", 1),
    case("SET s hello", ("SETRANGE", "s", "1", ""), 0),
    case("", ("SETRANGE", "s", "1", ""), 0),
    case("", "INCR s", 1),
    case("SET s 5", "INCRBY s 10", 1),
    case("SET s 5", "DECR s", 1),
    case("SET s 5", "DECRBY s 7", 1),
    case("SET s 1.5", "INCRBYFLOAT s 2.25", 1),
    case("", "INCRBYFLOAT s 2.25", 1),
]

GENERIC = [
    case("SET a 1; SET b 2", "DEL a b c", 2),
    case("SET a 1", "DEL a a", 1),
    case("", "DEL a b", 0),
    case("SET a 1; RPUSH b x y", "UNLINK a b c", 2),
    case("SET s v", "EXPIRE s 100", 1),
    case("", "EXPIRE s 100", 0),
    case("SET s v EX 100", "EXPIRE s 200 NX", 0),
    case("SET s v", "EXPIRE s 200 XX", 0),
    case("SET s v", "EXPIRE s 200 GT", 0),      # no expiry counts as infinitely far
    case("SET s v EX 100", "EXPIRE s 50 LT", 1),
    case("SET s v", "EXPIRE s -1", 1),          # a time past deletes the key
    case("SET s v", "PEXPIRE s 100000", 1),
    case("SET s v", "EXPIREAT s 1", 1),
    case("SET s v", "PEXPIREAT s 99999999999999", 1),
    case("SET s v EX 100", "PERSIST s", 1),
    case("SET s v", "PERSIST s", 0),
    case("", "PERSIST s", 0),
    case("SET a 1", "RENAME a b", 1),
    case("SET a 1 EX 100; SET b 2", "RENAME a b", 1),  # deletes b, moves a and its expiry: one
    case("SET a 1", "RENAME a a", 0),
    case("SET a 1", "RENAMENX a b", 1),
    case("SET a 1; SET b 2", "RENAMENX a b", 0),
    case("SET a 1", "COPY a b", 1),
    case("SET a 1 EX 100; SET b 2", "COPY a b REPLACE", 1),
    case("SET a 1; SET b 2", "COPY a b", 0),
    case("", "COPY a b", 0),
    case("SADD a x y z", "COPY a b DB 1", 1),
    case("SET a 1 EX 100", "MOVE a 1", 1),
    case("SET a 1; SELECT 1; SET a 2; SELECT 0", "MOVE a 1", 0),
    case("", "MOVE a 1", 0),
    case("SET a 1", "SWAPDB 0 1", 1),
    case("", "SWAPDB 0 1", 1),                  # counted even with nothing to swap
    case("", "SWAPDB 0 0", 1),
    case("SET a 1; SET b 2; RPUSH l x y z", "FLUSHDB", 3),  # one per key removed
    case("", "FLUSHDB", 0),
    case("SET a 1; SELECT 1; SET a 1; SET b 2; SELECT 0", "FLUSHALL", 3),
    case("", "FLUSHALL", 0),
    case("", ("RESTORE", "s", "0", HELLO_PAYLOAD), 1),
    case("SET s v", ("RESTORE", "s", "0", HELLO_PAYLOAD, "REPLACE"), 1),  # replaced: one change
    case("", ("RESTORE", "s", "100000", HELLO_PAYLOAD), 1),
    case("SET s v", ("RESTORE", "s", "1", HELLO_PAYLOAD, "REPLACE", "ABSTTL"), 1),  # only deleted
    case("", ("RESTORE", "s", "1", HELLO_PAYLOAD, "ABSTTL"), 0),      # expired: nothing created
]

LISTS = [
    case("", "LPUSH l a b c", 3),               # one per element pushed
    case("RPUSH l a", "RPUSH l b c", 2),
    case("", "LPUSHX l a b", 0),
    case("RPUSH l a", "RPUSHX l b c", 2),
    case("RPUSH l a b c", "LPOP l", 1),
    case("RPUSH l a b c", "LPOP l 2", 2),       # one per element popped
    case("RPUSH l a b c", "RPOP l 10", 3),
    case("RPUSH l a b c", "LPOP l 0", 0),
    case("", "LPOP l 2", 0),
    case("", "RPOP l", 0),
    case("RPUSH b x y z", "LMPOP 2 a b LEFT COUNT 5", 3),
    case("RPUSH a x y z", "LMPOP 1 a RIGHT", 1),
    case("", "LMPOP 2 a b LEFT COUNT 5", 0),
    case("RPUSH b x y z", "BLMPOP 0 2 a b RIGHT COUNT 2", 2),
    case("RPUSH l a b", "BLPOP l 0", 1),
    case("RPUSH l a b", "BRPOP l 0", 1),
    case("RPUSH l a b c", "LSET l 1 x", 1),
    case("RPUSH l a b c", "LSET l 1 b", 1),     # counted although the element is the same
    case("RPUSH l a b c", "LINSERT l BEFORE b x", 1),
    case("RPUSH l a b c", "LINSERT l AFTER q x", 0),
    case("", "LINSERT l AFTER q x", 0),
    case("RPUSH l x a x b x", "LREM l 0 x", 3),  # one per element removed
    case("RPUSH l x a x b x", "LREM l -2 x", 2),
    case("RPUSH l x x", "LREM l 0 x", 2),
    case("RPUSH l a b", "LREM l 0 x", 0),
    case("", "LREM l 0 x", 0),
    case("RPUSH l a b c d e", "LTRIM l 1 2", 3),  # one per element trimmed
    case("RPUSH l a b c d e", "LTRIM l 0 -1", 0),
    case("RPUSH l a b c d e", "LTRIM l 5 10", 5),
    case("", "LTRIM l 0 1", 0),
    case("RPUSH a x y", "LMOVE a b LEFT RIGHT", 1),  # popped and pushed: one change
    case("RPUSH a x; RPUSH b y", "LMOVE a b RIGHT LEFT", 1),
    case("RPUSH a x y", "LMOVE a a LEFT RIGHT", 1),
    case("", "LMOVE a b LEFT RIGHT", 0),
    case("RPUSH a x y", "RPOPLPUSH a b", 1),
    case("RPUSH a x y", "BLMOVE a b LEFT RIGHT 0", 1),
    case("RPUSH a x y", "BRPOPLPUSH a b 0", 1),
]

HASHES = [
    case("", "HSET h f v", 1),
    case("HSET h f v", "HSET h f w g x", 2),    # one per field set, new or not
    case("HSET h f v", "HSET h f v", 1),
    case("", "HMSET h a 1 b 2 c 3", 3),
    case("", "HSETNX h f v", 1),
    case("HSET h g v", "HSETNX h f v", 1),
    case("HSET h f v", "HSETNX h f w", 0),
    case("HSET h a 1 b 2 c 3", "HDEL h a b x", 2),  # one per field removed
    case("HSET h a 1 b 2 c 3", "HDEL h a b c", 3),
    case("HSET h a 1 b 2", "HDEL h a a", 1),
    case("HSET h a 1", "HDEL h x y", 0),
    case("", "HDEL h x", 0),
    case("HSET h f 5", "HINCRBY h f 3", 1),
    case("", "HINCRBY h f 3", 1),
    case("HSET h f 5", "HINCRBY h f 0", 1),
    case("HSET h f 1.5", "HINCRBYFLOAT h f 2", 1),
    case("", "HINCRBYFLOAT h f 2", 1),
]

SETS = [
    case("", "SADD t a b c", 3),
    case("SADD t a", "SADD t a b", 1),          # one per member added
    case("SADD t a", "SADD t a", 0),
    case("SADD t a b c", "SREM t a b x", 2),    # one per member removed
    case("SADD t a b c", "SREM t a b c", 3),
    case("SADD t a", "SREM t x", 0),
    case("", "SREM t x", 0),
    case("SADD a x y", "SMOVE a b x", 2),       # removed from one, added to the other
    case("SADD a x y; SADD b x", "SMOVE a b x", 1),  # ... already there: only the removal
    case("SADD a x", "SMOVE a b x", 2),
    case("SADD a x", "SMOVE a b q", 0),
    case("SADD a x", "SMOVE a a x", 0),
    case("", "SMOVE a b x", 0),
    case("SADD t a b c", "SPOP t", 1),
    case("SADD t a b c d e", "SPOP t 2", 2),    # one per member popped
    case("SADD t a b c", "SPOP t 10", 3),
    case("SADD t a b c", "SPOP t 0", 0),
    case("", "SPOP t", 0),
    case("", "SPOP t 3", 0),
    case("SADD a x y; SADD b y z", "SINTERSTORE d a b", 1),  # one per store, whatever its size
    case("SADD a x; SADD b y; SET d v", "SINTERSTORE d a b", 1),  # empty result deletes d
    case("SADD a x; SADD b y", "SINTERSTORE d a b", 0),
    case("SADD a x; SET d v", "SINTERSTORE d a missing", 1),
    case("SADD a x y; SADD b y z", "SUNIONSTORE d a b", 1),
    case("", "SUNIONSTORE d a b", 0),
    case("SADD a x y; SADD b y z", "SDIFFSTORE d a b", 1),
    case("SADD a x; SADD b x; SADD d q", "SDIFFSTORE d a b", 1),
    case("SADD a x; SADD b x", "SDIFFSTORE d a b", 0),
]

SORTED_SETS = [
    case("", "ZADD z 1 a 2 b 3 c", 3),
    case("ZADD z 1 a", "ZADD z 5 a 2 b", 2),    # one per member added or whose score moved
    case("ZADD z 1 a", "ZADD z 1 a", 0),
    case("ZADD z 1 a", "ZADD z NX 5 a", 0),
    case("", "ZADD z XX 5 a", 0),
    case("ZADD z 1 a", "ZADD z INCR 2 a", 1),
    case("ZADD z 1 a", "ZINCRBY z 2 a", 1),
    case("ZADD z 1 a", "ZINCRBY z 0 a", 0),     # the score did not move
    case("", "ZINCRBY z 2 a", 1),
    case("ZADD z 1 a 2 b 3 c", "ZREM z a b x", 2),  # one per member removed
    case("ZADD z 1 a 2 b 3 c", "ZREM z a b c", 3),
    case("ZADD z 1 a", "ZREM z x", 0),
    case("", "ZREM z x", 0),
    case("ZADD z 1 a 2 b 3 c 4 d", "ZREMRANGEBYRANK z 0 1", 2),
    case("ZADD z 1 a 2 b 3 c 4 d", "ZREMRANGEBYRANK z 0 -1", 4),
    case("ZADD z 1 a 2 b 3 c 4 d", "ZREMRANGEBYRANK z 10 20", 0),
    case("ZADD z 1 a 2 b 3 c 4 d", "ZREMRANGEBYSCORE z 2 3", 2),
    case("ZADD z 1 a 2 b", "ZREMRANGEBYSCORE z 5 6", 0),
    case("ZADD z 0 a 0 b 0 c 0 d", "ZREMRANGEBYLEX z [b +", 3),
    case("", "ZREMRANGEBYLEX z - +", 0),
    case("ZADD z 1 a 2 b 3 c", "ZPOPMIN z", 1),
    case("ZADD z 1 a 2 b 3 c", "ZPOPMIN z 2", 2),   # one per member popped
    case("ZADD z 1 a 2 b 3 c", "ZPOPMAX z 10", 3),
    case("ZADD z 1 a 2 b 3 c", "ZPOPMAX z 0", 0),
    case("", "ZPOPMIN z 2", 0),
    case("ZADD b 1 x 2 y 3 z", "ZMPOP 2 a b MIN COUNT 2", 2),
    case("", "ZMPOP 2 a b MAX COUNT 2", 0),
    case("ZADD z 1 a 2 b", "BZPOPMIN z 0", 1),
    case("ZADD z 1 a 2 b", "BZPOPMAX z 0", 1),
    case("ZADD z 1 a 2 b 3 c", "BZMPOP 0 1 z MAX COUNT 5", 3),
    case("ZADD a 1 x 2 y; ZADD b 1 y 2 z", "ZUNIONSTORE d 2 a b", 1),  # one per store
    case("ZADD a 1 x; ZADD b 1 y", "ZINTERSTORE d 2 a b", 0),
    case("ZADD a 1 x; ZADD b 1 y; SET d v", "ZINTERSTORE d 2 a b", 1),  # empty: deletes d
    case("ZADD a 1 x 2 y; ZADD b 1 y", "ZDIFFSTORE d 2 a b", 1),
    case("ZADD a 1 x 2 y 3 z", "ZRANGESTORE d a 0 1", 1),
    case("ZADD a 1 x; SET d v", "ZRANGESTORE d a 5 10", 1),
    case("SET d v", "ZRANGESTORE d a 0 -1", 1),
    case("", "ZRANGESTORE d a 0 -1", 0),
]

SORT = [
    case("RPUSH l 3 1 2", "SORT l STORE d", 3),  # one per element stored
    case("RPUSH l 3 1 2", "SORT l LIMIT 0 2 STORE d", 2),
    case("RPUSH l 3 1 2; SET w_1 a", "SORT l GET # GET w_* STORE d", 6),
    case("SADD t b a", "SORT t ALPHA STORE d", 2),
    case("ZADD z 1 a 2 b", "SORT z BY nosort STORE d", 2),
    case("SET d v", "SORT l STORE d", 1),        # an empty result deletes d
    case("", "SORT l STORE d", 0),
    case("RPUSH l 3 1 2", "SORT l", 0),
]


@pytest.mark.parametrize("setup, command, count",
                         STRINGS + GENERIC + LISTS + HASHES + SETS + SORTED_SETS + SORT)
def test_changes_counted(counting, setup, command, count):
    for step in setup:
        reply = counting.call(*words(step))
        assert not isinstance(reply, ErrorReply), (step, reply)
    before = changes(counting)
    reply = counting.call(*command)
    assert not isinstance(reply, ErrorReply), reply
    assert changes(counting) - before == count, reply


# A client blocked on a key is served right after the write that fed it: the counter moves by
# the write's changes and the pop's; but serving a BLPOP, BRPOP, BLMOVE or BRPOPLPUSH that
# waited counts nothing, only the push that fed it.
@pytest.mark.parametrize("blocked, write, count", [
    ("BLPOP l 0", "LPUSH l a b", 2),
    ("BRPOP l 0", "RPUSH l a", 1),
    ("BLMOVE l d LEFT RIGHT 0", "LPUSH l a b", 2),
    ("BRPOPLPUSH l d 0", "LPUSH l a b c", 3),
    ("BLMPOP 0 1 l LEFT COUNT 5", "LPUSH l a b c", 3 + 3),
    ("BZPOPMIN z 0", "ZADD z 1 a 2 b", 2 + 1),
    ("BZMPOP 0 1 z MIN COUNT 5", "ZADD z 1 a 2 b 3 c", 3 + 3),
], ids=lambda value: value if isinstance(value, str) else None)
def test_serving_a_blocked_client_counts_its_pop(counting, client_factory, blocked, write, count):
    waiter = client_factory()
    waiter.send_command(*words(blocked))
    wait_until_blocked(counting, 1)
    before = changes(counting)
    counting.call(*words(write))
    assert not isinstance(waiter.read_reply(), ErrorReply)
    assert changes(counting) - before == count


# A command that fails changes nothing, whatever it had looked at.
FAILURES = [
    ("RPUSH l a", "SET l v GET"),
    ("RPUSH l a", "GETSET l v"),
    ("RPUSH l a", "GETDEL l"),
    ("RPUSH l a", "APPEND l x"),
    ("RPUSH l a", "SETRANGE l 0 x"),
    ("SET s abc", "INCR s"),
    ("SET s 9223372036854775807", "INCRBY s 1"),
    ("SET s abc", "INCRBYFLOAT s 1"),
    ("", "RENAME a b"),
    ("SET s v", "MOVE s 0"),
    ("SET s v", "RESTORE s 0 payload"),
    ("SET s v", "LPUSH s a b"),
    ("RPUSH l a", "LSET l 5 x"),
    ("", "LSET l 0 x"),
    ("RPUSH a x; SET b v", "LMOVE a b LEFT RIGHT"),
    ("SET s v", "LPOP s 2"),
    ("SET s v", "LMPOP 1 s LEFT COUNT 2"),
    ("HSET h f abc", "HINCRBY h f 1"),
    ("SET s v", "HSET s f v"),
    ("SET s v", "HDEL s f"),
    ("SADD a x; SET b v", "SMOVE a b x"),
    ("SET s v", "SREM s x"),
    ("SADD a x; SET b v", "SINTERSTORE d a b"),
    ("SET s v", "ZADD s 1 a"),
    ("ZADD z 1 a", "ZINCRBY z nan a"),
    ("SET s v", "ZREMRANGEBYRANK s 0 -1"),
    ("SET s v", "ZPOPMIN s 3"),
    ("ZADD a 1 x; SET b v", "ZUNIONSTORE d 2 a b"),
    ("RPUSH l a b", "SORT l STORE d"),
]


@pytest.mark.parametrize("setup, command", FAILURES, ids=[command for _, command in FAILURES])
def test_failed_commands_count_nothing(counting, setup, command):
    for step in [step.strip() for step in setup.split(";") if step.strip()]:
        counting.call(*words(step))
    before = changes(counting)
    reply = counting.call(*words(command))
    assert isinstance(reply, ErrorReply), reply
    assert changes(counting) == before
