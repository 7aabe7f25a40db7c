"""Handlers of spec/hyperloglog.md: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.

An HLL is a string value whose bytes are Redis's (reference/hll.py reads and edits them in
place). A command that may change one first makes the stored value a `bytearray` (raw, as
Redis's dbUnshareStringValue makes it).
"""
from __future__ import annotations

import math
import random

from reference import hll
from reference.commands import handler
from reference.commands.strings import STRING_TYPES
from reference.dispatch import WRONGTYPE, CommandError
from reference.protocol import OK, Status, wire_text

NOT_AN_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
CORRUPT = "INVALIDOBJ Corrupted HLL object detected"


def _checked(value):
    """The value, if it is a string holding an HLL; the errors of Redis's isHLLObjectOrReply."""
    if not isinstance(value, STRING_TYPES):
        raise CommandError(WRONGTYPE)
    if not hll.is_hll(value):
        raise CommandError(NOT_AN_HLL)
    return value


def _private(db, key: bytes, value) -> bytearray:
    """The value at key as a bytearray stored there (same bytes, same expiry), accessed now."""
    if not isinstance(value, bytearray):
        value = bytearray(value)
        db.data[key] = value
    db.note_access(key)
    return value


def _create(db, key: bytes) -> bytearray:
    """A new HLL at key (a missing one), without counting a change: the command counts its own."""
    value = hll.new()
    db.data[key] = value
    db.note_access(key)
    return value


def _signed(number: int) -> int:
    """An unsigned 64-bit count as Redis replies it (a long long)."""
    return number - (1 << 64) if number >> 63 else number


def _max_sparse(client) -> int:
    return client.server.config["hll-sparse-max-bytes"]


@handler("pfadd")
def pfadd(client, args):
    db, key = client.db, args["key"]
    value = db.get(key)
    updated = 0
    if value is None:
        value = _create(db, key)
        updated = 1
    else:
        value = _private(db, key, _checked(value))
    limit = _max_sparse(client)
    for element in args.get("element", []):
        try:
            updated += hll.add(value, element, limit)
        except hll.Corrupt:
            raise CommandError(CORRUPT) from None
    if updated:
        hll.invalidate(value)
        db.changed(key, updated)
    return 1 if updated else 0


def _union(db, keys: list[bytes]) -> tuple[list[int], bool]:
    """The registers' maximum over the HLLs at keys (read lookups), and whether one was dense."""
    registers, dense = [0] * hll.REGISTERS, False
    for key in keys:
        value = db.lookup_read(key)
        if value is None:
            continue
        _checked(value)
        dense = dense or value[4] == hll.DENSE
        try:
            hll.merge_into(registers, value)
        except hll.Corrupt:
            raise CommandError(CORRUPT) from None
    return registers, dense


@handler("pfcount")
def pfcount(client, args):
    db, keys = client.db, args["key"]
    if len(keys) > 1:
        registers, _ = _union(db, keys)
        return _signed(hll.estimate(hll.histogram_of_registers(registers)))
    key = keys[0]
    value = db.lookup_read(key)
    if value is None:
        return 0
    value = _private(db, key, _checked(value))
    cardinality = hll.cached(value)
    if cardinality is None:
        try:
            cardinality = hll.count(value)
        except hll.Corrupt:
            raise CommandError(CORRUPT) from None
        hll.store_cache(value, cardinality)
        db.changed(key)
        # A readonly command that changed the dataset: Redis propagates it as any command that
        # moved its change counter (reference/server.py propagates only write commands).
        db.effects.append((client.db_index, list(client.argv)))
    return _signed(cardinality)


@handler("pfmerge")
def pfmerge(client, args):
    db, destination = client.db, args["destkey"]
    registers, dense = _union(db, [destination, *args.get("sourcekey", [])])
    value = db.get(destination)
    value = _create(db, destination) if value is None else _private(db, destination, value)
    if dense:
        try:
            hll.to_dense(value)
        except hll.Corrupt:
            raise CommandError(CORRUPT) from None
    limit = _max_sparse(client)
    for index, register in enumerate(registers):
        if register:
            try:
                hll.set_register(value, index, register, limit)
            except hll.Corrupt:
                pass    # Redis ignores it here: the destination was checked as a source
    hll.invalidate(value)
    db.changed(destination)
    return OK


# --- PFDEBUG ---------------------------------------------------------------------------------

def _to_dense_counted(client, value: bytearray) -> bool:
    """Make the HLL dense; a conversion counts one change (so the command is propagated) but
    does not signal the key, as Redis's PFDEBUG."""
    try:
        converted = hll.to_dense(value)
    except hll.Corrupt:
        raise CommandError(CORRUPT) from None
    if converted:
        client.server.keyspace.dirty += 1
    return converted


@handler("pfdebug")
def pfdebug(client, args):
    db, key = client.db, args["key"]
    value = db.get(key)
    if value is None:
        raise CommandError("ERR The specified key does not exist")
    value = _private(db, key, _checked(value))
    name = args["subcommand"].split(b"\0", 1)[0]    # Redis compares and prints it as a C string
    subcommand = name.lower()
    if subcommand == b"getreg":
        _to_dense_counted(client, value)
        return hll.dense_registers(value)
    if subcommand == b"decode":
        if value[4] != hll.SPARSE:
            raise CommandError("ERR HLL encoding is not sparse")
        return hll.decode(value).encode()
    if subcommand == b"encoding":
        return Status("sparse" if value[4] == hll.SPARSE else "dense")
    if subcommand == b"todense":
        return 1 if _to_dense_counted(client, value) else 0
    raise CommandError(f"ERR Unknown PFDEBUG subcommand '{wire_text(name)}'")


# --- PFSELFTEST ------------------------------------------------------------------------------

# Fewer than Redis's 1000 rounds and 10^7 elements (a named divergence, spec/hyperloglog.md).
SELFTEST_ROUNDS = 20
SELFTEST_ELEMENTS = 100_000


def _selftest_registers() -> str | None:
    dense = hll.new()
    hll.to_dense(dense)
    for _ in range(SELFTEST_ROUNDS):
        expected = [random.randrange(64) for _ in range(hll.REGISTERS)]
        for index, value in enumerate(expected):
            hll.dense_put(dense, index, value)
        for index, value in enumerate(expected):
            found = hll.dense_get(dense, index)
            if found != value:
                return f"TESTFAILED Register {index} should be {value} but is {found}"
    return None


def _selftest_counts(max_sparse: int) -> str | None:
    dense, sparse = hll.new(), hll.new()
    hll.to_dense(dense)
    relative_error = 1.04 / math.sqrt(hll.REGISTERS)
    seed = random.getrandbits(64)
    checkpoint = 1
    for j in range(1, SELFTEST_ELEMENTS + 1):
        element = (j ^ seed).to_bytes(8, "little")
        hll.add(dense, element, max_sparse)
        hll.add(sparse, element, max_sparse)
        if j != checkpoint:
            continue
        if j < max_sparse // 2 and sparse[4] != hll.SPARSE:
            return "TESTFAILED sparse encoding not used"
        if hll.count(dense) != hll.count(sparse):
            return "TESTFAILED dense/sparse disagree"
        error = abs(checkpoint - hll.count(dense))
        allowed = 1 if j == 10 else math.ceil(relative_error * 6 * checkpoint)
        if error > allowed:
            return f"TESTFAILED Too big error. card:{checkpoint} abserr:{error}"
        checkpoint *= 10
    return None


@handler("pfselftest")
def pfselftest(client, args):
    failure = _selftest_registers() or _selftest_counts(_max_sparse(client))
    if failure:
        raise CommandError(failure)
    return OK
