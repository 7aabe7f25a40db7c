"""DEBUG DIGEST and DEBUG DIGEST-VALUE: a SHA-1 fingerprint of the dataset, equal to real
Redis's for the same data, so that two servers can be compared with one command.

The construction (Redis's debug.c, reimplemented): two ways of folding a string into a 20-byte
digest,
  - xor(d, s): d ^= SHA1(s)               order does not matter (set members, hash fields, keys)
  - mix(d, s): d = SHA1(d ^ SHA1(s))      order matters (list elements, the parts of one entry)
A key contributes mix(key), mix(its type as a 4-byte big-endian number: string 0, list 1, set 2,
sorted set 3, hash 4), then its value: a string mixed; list elements mixed in order; set members
xored; a hash's field/value pairs and a sorted set's member/score pairs (score as C's "%.17g")
each mixed into a fresh digest that is then xored in; and "!!expire!!" xored if it has a TTL.
The dataset digest xors the key digests of each non-empty database after mixing in the
database's number; all zeros for an empty dataset. Keys whose time has passed but that nobody
has removed yet count, as in Redis.
"""
from __future__ import annotations

import hashlib
import struct

TYPE_NUMBERS = {"string": 0, "list": 1, "set": 2, "zset": 3, "hash": 4}


def _xor(digest: bytearray, data: bytes) -> None:
    for i, byte in enumerate(hashlib.sha1(data).digest()):
        digest[i] ^= byte


def _mix(digest: bytearray, data: bytes) -> None:
    _xor(digest, data)
    digest[:] = hashlib.sha1(digest).digest()


def _format_score(score: float) -> bytes:
    return b"%.17g" % score  # Python's %g and C's agree, inf and -inf included


def value_digest(db, key: bytes, digest: bytearray | None = None) -> bytearray:
    """The digest of the value at key (DEBUG DIGEST-VALUE), folded into `digest` if given; all
    zeros for a missing key. No lookup: a key past its time, not yet removed, counts."""
    from reference.keyspace import type_name

    digest = bytearray(20) if digest is None else digest
    value = db.data.get(key)
    if value is None:
        return digest
    kind = type_name(value)
    _mix(digest, struct.pack(">I", TYPE_NUMBERS[kind]))
    if kind == "string":
        _mix(digest, bytes(value))
    elif kind == "list":
        for element in value:
            _mix(digest, element)
    elif kind == "set":
        for member in value:
            _xor(digest, member)
    elif kind == "zset":
        for score, member in value.order:
            pair = bytearray(20)
            _mix(pair, member)
            _mix(pair, _format_score(score))
            _xor(digest, bytes(pair))
    else:  # hash
        for field, data in value.items():
            pair = bytearray(20)
            _mix(pair, field)
            _mix(pair, data)
            _xor(digest, bytes(pair))
    if key in db.expires:
        _xor(digest, b"!!expire!!")
    return digest


def dataset_digest(keyspace) -> bytes:
    """The digest of every database (DEBUG DIGEST)."""
    final = bytearray(20)
    for db in keyspace.dbs:
        if not db.data:
            continue
        _mix(final, struct.pack(">I", db.id))
        for key in db.data:
            digest = bytearray(20)
            _mix(digest, key)
            value_digest(db, key, digest)
            _xor(final, bytes(digest))
    return bytes(final)
