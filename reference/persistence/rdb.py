"""Writing RDB files (version 10, as Redis 7.0 writes them).

Layout: the magic "REDIS0010"; AUX fields (name/value strings); per non-empty database a
SELECTDB opcode and a RESIZEDB hint, then each key as [EXPIRETIME_MS ms] type key value; the EOF
opcode; the CRC-64 of everything before it, little-endian (zero when rdbchecksum is off).

Strings that read as integers are stored in the integer encodings, the others as length-prefixed
bytes. Redis compresses strings longer than 20 bytes with LZF when rdbcompression is on; this
writer does not compress yet (the files load the same: compression is the writer's choice).
Lists, sets, hashes and sorted sets are written in the plain (non-listpack) types.
"""
from __future__ import annotations

import os
import struct
import time

from reference.keyspace import type_name
from reference.persistence.crc64 import crc64
from reference.values import is_int

RDB_VERSION = 10
OPCODE_AUX = 0xFA
OPCODE_RESIZEDB = 0xFB
OPCODE_EXPIRETIME_MS = 0xFC
OPCODE_SELECTDB = 0xFE
OPCODE_EOF = 0xFF
TYPE_STRING = 0
TYPE_LIST = 1     # a plain list of strings: Redis 7.0 loads it (into its own encoding)
TYPE_SET = 2
TYPE_HASH = 4
TYPE_ZSET_2 = 5   # member strings with binary double scores
ENC_INT8, ENC_INT16, ENC_INT32 = 0xC0, 0xC1, 0xC2


def encode_length(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def encode_string(value: bytes) -> bytes:
    """A string in the integer encodings when it is a small integer's exact text."""
    if len(value) <= 11 and is_int(value):
        n = int(value)
        if -(1 << 7) <= n < 1 << 7:
            return bytes([ENC_INT8]) + struct.pack("<b", n)
        if -(1 << 15) <= n < 1 << 15:
            return bytes([ENC_INT16]) + struct.pack("<h", n)
        if -(1 << 31) <= n < 1 << 31:
            return bytes([ENC_INT32]) + struct.pack("<i", n)
    return encode_length(len(value)) + bytes(value)


def _strings(items) -> bytes:
    return b"".join(encode_string(item) for item in items)


def encode_value(value) -> tuple[int, bytes]:
    """(RDB type, serialized value) of a stored value. Containers are written in the plain
    forms every Redis loads (Redis itself writes listpacks and quicklists: a later step)."""
    if isinstance(value, (bytes, bytearray)):
        return TYPE_STRING, encode_string(value)
    kind = type_name(value)
    if kind == "list":
        return TYPE_LIST, encode_length(len(value)) + _strings(value)
    if kind == "set":
        return TYPE_SET, encode_length(len(value)) + _strings(value)
    if kind == "hash":
        return TYPE_HASH, encode_length(len(value)) + _strings(x for pair in value.items() for x in pair)
    if kind == "zset":
        pairs = list(value.items())  # (member, score)
        return TYPE_ZSET_2, encode_length(len(pairs)) + b"".join(
            encode_string(member) + struct.pack("<d", score) for member, score in pairs)
    raise TypeError(f"no RDB encoding for {kind}")


def dump_rdb(keyspace, used_memory: int = 0, checksum: bool = True) -> bytes:
    """The whole keyspace as an RDB file's bytes."""
    out = [b"REDIS%04d" % RDB_VERSION]
    aux = [(b"redis-ver", b"7.0.15"), (b"redis-bits", b"64"), (b"ctime", b"%d" % int(time.time())),
           (b"used-mem", b"%d" % used_memory), (b"aof-base", b"0")]
    for name, value in aux:
        out.append(bytes([OPCODE_AUX]) + encode_string(name) + encode_string(value))
    for db in keyspace.dbs:
        keys = list(db.keys())  # expired keys are reaped on the way
        if not keys:
            continue
        out.append(bytes([OPCODE_SELECTDB]) + encode_length(db.id))
        out.append(bytes([OPCODE_RESIZEDB]) + encode_length(len(keys)) + encode_length(len(db.expires)))
        expires = db.expires
        for key in keys:
            when = expires.get(key)
            if when is not None:
                out.append(bytes([OPCODE_EXPIRETIME_MS]) + struct.pack("<q", when))
            kind, payload = encode_value(db.data[key])
            out.append(bytes([kind]) + encode_string(key) + payload)
    out.append(bytes([OPCODE_EOF]))
    body = b"".join(out)
    return body + struct.pack("<Q", crc64(body) if checksum else 0)


def save_rdb(keyspace, directory: str, filename: str, checksum: bool = True) -> None:
    """Write the RDB atomically: a temporary file renamed over the old one."""
    data = dump_rdb(keyspace, checksum=checksum)
    temporary = os.path.join(directory, f"temp-{os.getpid()}.rdb")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, os.path.join(directory, filename))
