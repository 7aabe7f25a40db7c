"""A fuzzer of RESTORE: valid payloads of every type and encoding, mutated (bits flipped, bytes
set, cut short, inserted or removed, a blob's count or size rewritten), their CRC fixed up or
not. Every RESTORE must get a reply, OK or one of Redis's two refusals; every read command of
the family must then answer, without an error, on what was accepted; the server must answer
PING at the end of each case.

Seeded and deterministic: case i of a run is drawn from Random(f"{seed}:{mode}:{i}"), and a
failure names the seed, the case and the payload. REDSPEC_FUZZ_CASES sets the number of cases
per mode (default 400, a few seconds per server), REDSPEC_FUZZ_SEED the seed (default 15).

Two modes. `sanitized`: sanitize-dump-payload yes, so whatever is accepted has passed Redis's
deep check and is read whole. `unsanitized` (no, the default): a payload accepted there is
RESTOREd again under yes; if that is accepted too, the value is sound and read as above. If
not, it passed only the shallow check, and reading it may crash Redis 7.0 itself (an HGETALL
on a listpack whose count lies asserts): such a key is only looked at with TYPE and EXISTS,
then deleted. For the same reason the unsanitized mode leaves out the seeds on which a single
mutation can make Redis assert inside RESTORE itself: a plain hash that loads as a listpack
until a long value converts it (a duplicated field then panics the conversion).
"""
from __future__ import annotations

import os
import random

import pytest

from conformance.client import ErrorReply
from conformance.payload_fuzz import SEEDS, UNSAFE_UNSANITIZED, payload_of

pytestmark = pytest.mark.internals("RESTORE of crafted and damaged RDB payloads")

CASES = int(os.environ.get("REDSPEC_FUZZ_CASES", "400"))
SEED = os.environ.get("REDSPEC_FUZZ_SEED", "15")
REFUSALS = {"ERR Bad data format", "ERR DUMP payload version or checksum are wrong"}


# --- reading what was accepted ---------------------------------------------------------------

READS = {
    b"string": [("GET",), ("STRLEN",), ("GETRANGE", "0", "-1"), ("GETRANGE", "-3", "-1")],
    b"list": [("LLEN",), ("LRANGE", "0", "-1"), ("LINDEX", "0"), ("LINDEX", "-1"), ("LPOS", "k", "a"),
              ("LRANGE", "1", "2")],
    b"set": [("SCARD",), ("SMEMBERS",), ("SISMEMBER", "1"), ("SMISMEMBER", "1", "a"), ("SRANDMEMBER", "3"),
             ("SSCAN", "0"), ("SINTERCARD", "1", "@key")],
    b"zset": [("ZCARD",), ("ZRANGE", "0", "-1", "WITHSCORES"), ("ZRANGEBYSCORE", "-inf", "+inf"),
              ("ZREVRANGE", "0", "-1"), ("ZSCORE", "m1"), ("ZRANK", "m0"), ("ZRANGEBYLEX", "-", "+"),
              ("ZCOUNT", "0", "10"), ("ZSCAN", "0"), ("ZRANDMEMBER", "3"), ("ZMSCORE", "a", "m2")],
    b"hash": [("HLEN",), ("HGETALL",), ("HKEYS",), ("HVALS",), ("HGET", "f0"), ("HEXISTS", "a"),
              ("HSTRLEN", "f1"), ("HRANDFIELD", "3"), ("HSCAN", "0"), ("HMGET", "a", "f2")],
}


def text(reply) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def read_all(c, key: str, where: str) -> None:
    """Every read of the key's family answers without an error, and the value DUMPs and
    RESTOREs (sanitized) to an equal one."""
    kind = c.call("TYPE", key)
    kind = kind if isinstance(kind, bytes) else str(kind).encode()
    assert kind in READS, f"{where}: TYPE {kind!r}"
    for command, *args in READS[kind]:
        if command == "SINTERCARD":
            argv = (command, "1", key)
        elif command == "LPOS":
            argv = (command, key, *args[1:])
        else:
            argv = (command, key, *args)
        reply = c.call(*argv)
        assert not isinstance(reply, ErrorReply), f"{where}: {argv} -> {reply}"
    c.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
    try:
        dumped = c.call("DUMP", key)
        again = c.call("RESTORE", "copy", "0", dumped, "REPLACE")
    finally:
        c.call("CONFIG", "SET", "sanitize-dump-payload", "no")
    assert text(again) == "OK", f"{where}: the DUMP of the accepted value restores as {again}"
    assert c.call("TYPE", "copy") == c.call("TYPE", key), where
    c.call("DEL", "copy")


def restore(c, key: str, payload: bytes, mode: str):
    c.call("CONFIG", "SET", "sanitize-dump-payload", mode)
    try:
        return c.call("RESTORE", key, "0", payload, "REPLACE")
    finally:
        c.call("CONFIG", "SET", "sanitize-dump-payload", "no")


@pytest.mark.parametrize("mode", ["sanitized", "unsanitized"])
def test_every_mutated_payload_gets_a_reply_and_what_is_accepted_reads(client, mode):
    pool = SEEDS if mode == "sanitized" else [s for s in SEEDS if s[0] not in UNSAFE_UNSANITIZED]
    accepted = shallow_only = 0
    for case in range(CASES):
        rng = random.Random(f"{SEED}:{mode}:{case}")
        seed = rng.choice(pool)
        payload = payload_of(rng, seed)
        where = f"seed {SEED}, {mode} case {case} ({seed[0]}), payload {payload.hex()}"
        reply = restore(client, "k", payload, "yes" if mode == "sanitized" else "no")
        if isinstance(reply, ErrorReply):
            assert str(reply) in REFUSALS, f"{where}: {reply}"
            assert client.call("EXISTS", "k") == 0, where
        else:
            assert text(reply) == "OK", f"{where}: {reply!r}"
            accepted += 1
            if mode == "sanitized" or text(restore(client, "sound", payload, "yes")) == "OK":
                read_all(client, "k", where)
            else:  # passed the shallow check alone: Redis may crash reading it
                shallow_only += 1
                assert text(client.call("TYPE", "k")) in ("string", "list", "set", "zset", "hash"), where
                assert client.call("EXISTS", "k") == 1, where
            client.call("DEL", "k", "sound")
        assert text(client.call("PING")) == "PONG", where
    # The mutations must leave a share of payloads that load, or the reads were never tried.
    assert accepted >= CASES // 10, (accepted, CASES)
