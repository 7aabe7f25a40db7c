"""Writing RDB files (version 10) byte for byte as Redis 7.0 writes them.

Layout: the magic "REDIS0010"; AUX fields (name/value strings: redis-ver, redis-bits, ctime,
used-mem, aof-base); per non-empty database a SELECTDB opcode and a RESIZEDB hint (keys, keys
with an expiry), then each key as [EXPIRETIME_MS ms] type key value; the EOF opcode; the CRC-64
of everything before it, little-endian (zero when rdbchecksum is off).

Strings (keys, values, and the blobs of the compact encodings alike) are written as Redis's
rdbSaveRawString does: a string of at most 11 bytes that is the exact text of a 32-bit integer
in the 1, 2 or 4-byte integer encodings; a string longer than 20 bytes LZF-compressed when
rdbcompression is on and compression saves more than 4 bytes; otherwise length and bytes.

Each value is written in the form Redis 7.0 holds it in memory (see `encode_value`): the flag
the value class keeps (hash `hashtable`, set `intset`, zset `skiplist`) decides between the
compact type and the plain one, so that a file holds what Redis's own would for the same data.
"""
from __future__ import annotations

import os
import struct
import time

from reference.keyspace import type_name
from reference.persistence import intset, listpack, lzf
from reference.persistence.crc64 import crc64
from reference.values import string2ll

RDB_VERSION = 10
OPCODE_FUNCTION2 = 0xF5
OPCODE_MODULE_AUX = 0xF7
OPCODE_IDLE = 0xF8
OPCODE_FREQ = 0xF9
OPCODE_AUX = 0xFA
OPCODE_RESIZEDB = 0xFB
OPCODE_EXPIRETIME_MS = 0xFC
OPCODE_EXPIRETIME = 0xFD
OPCODE_SELECTDB = 0xFE
OPCODE_EOF = 0xFF

TYPE_STRING = 0
TYPE_LIST = 1
TYPE_SET = 2
TYPE_ZSET = 3            # scores as text (read only)
TYPE_HASH = 4
TYPE_ZSET_2 = 5          # scores as binary doubles
TYPE_HASH_ZIPMAP = 9     # 9..14: older compact encodings, read only
TYPE_LIST_ZIPLIST = 10
TYPE_SET_INTSET = 11
TYPE_ZSET_ZIPLIST = 12
TYPE_HASH_ZIPLIST = 13
TYPE_LIST_QUICKLIST = 14
TYPE_HASH_LISTPACK = 16
TYPE_ZSET_LISTPACK = 17
TYPE_LIST_QUICKLIST_2 = 18

ENC_INT8, ENC_INT16, ENC_INT32, ENC_LZF = 0xC0, 0xC1, 0xC2, 0xC3
QUICKLIST_NODE_PLAIN, QUICKLIST_NODE_PACKED = 1, 2

# Quicklist nodes: a negative list-max-listpack-size -1..-5 caps a node's listpack at these
# bytes; a positive one caps its entries, within a safety limit of 8 KiB.
NODE_SIZE_LIMITS = (4096, 8192, 16384, 32768, 65536)
NODE_SAFETY_LIMIT = 8192
ENTRY_OVERHEAD_ESTIMATE = 8  # what Redis adds to an element's length to guess its cost


def encode_length(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def encode_string(value: bytes, compress: bool = False) -> bytes:
    """A string as rdbSaveRawString writes it (integer encodings, LZF when `compress`)."""
    value = bytes(value)
    if len(value) <= 11:
        n = string2ll(value)
        if n is not None:
            if -(1 << 7) <= n < 1 << 7:
                return bytes([ENC_INT8]) + struct.pack("<b", n)
            if -(1 << 15) <= n < 1 << 15:
                return bytes([ENC_INT16]) + struct.pack("<h", n)
            if -(1 << 31) <= n < 1 << 31:
                return bytes([ENC_INT32]) + struct.pack("<i", n)
    if compress and len(value) > 20:
        packed = lzf.compress(value, len(value) - 4)
        if packed is not None:
            return bytes([ENC_LZF]) + encode_length(len(packed)) + encode_length(len(value)) + packed
    return encode_length(len(value)) + value


def _double(score: float) -> bytes:
    return struct.pack("<d", score)


def score_text(score: float) -> bytes:
    """A score as a listpack holds it (Redis's d2string): integral values within +-2^62 as
    integers, others as %.17g."""
    if score != score:
        return b"nan"
    if score in (float("inf"), float("-inf")):
        return b"inf" if score > 0 else b"-inf"
    if score == 0:
        return b"-0" if str(score).startswith("-") else b"0"
    if -(2 ** 62) <= score <= 2 ** 62 and score == int(score):
        return b"%d" % int(score)
    return b"%.17g" % score


def quicklist_nodes(items, fill: int) -> list[list[bytes]]:
    """The elements split into listpack nodes as a list built by RPUSH is (quicklistPushTail)."""
    nodes: list[list[bytes]] = []
    size = 0
    for item in items:
        limit_ok = False
        if nodes:
            new_size = size + len(item) + ENTRY_OVERHEAD_ESTIMATE
            if fill < 0 and -fill - 1 < len(NODE_SIZE_LIMITS):
                limit_ok = new_size <= NODE_SIZE_LIMITS[-fill - 1]
            if not limit_ok and new_size <= NODE_SAFETY_LIMIT:
                limit_ok = len(nodes[-1]) < fill
        if limit_ok:
            nodes[-1].append(item)
            size += listpack.entry_size(item)
        else:
            nodes.append([item])
            size = 7 + listpack.entry_size(item)
    return nodes


def encode_value(value, compress: bool = True, list_fill: int = -2) -> tuple[int, bytes]:
    """(RDB type, serialized value) of a stored value, in the encoding Redis would hold it."""
    if isinstance(value, (bytes, bytearray)):
        return TYPE_STRING, encode_string(value, compress)
    kind = type_name(value)
    if kind == "list":
        nodes = quicklist_nodes(value, list_fill)
        return TYPE_LIST_QUICKLIST_2, encode_length(len(nodes)) + b"".join(
            encode_length(QUICKLIST_NODE_PACKED) + encode_string(listpack.encode(node), compress)
            for node in nodes)
    if kind == "set":
        if value.intset:
            return TYPE_SET_INTSET, encode_string(intset.encode(value), compress)
        return TYPE_SET, encode_length(len(value)) + b"".join(encode_string(m, compress) for m in value)
    if kind == "hash":
        if not value.hashtable:
            flat = [x for pair in value.items() for x in pair]
            return TYPE_HASH_LISTPACK, encode_string(listpack.encode(flat), compress)
        return TYPE_HASH, encode_length(len(value)) + b"".join(
            encode_string(field, compress) + encode_string(data, compress) for field, data in value.items())
    if kind == "zset":
        if not value.skiplist:
            flat = [x for score, member in value.order for x in (member, score_text(score))]
            return TYPE_ZSET_LISTPACK, encode_string(listpack.encode(flat), compress)
        # Highest score first, as Redis walks its skiplist from the tail.
        return TYPE_ZSET_2, encode_length(len(value)) + b"".join(
            encode_string(member, compress) + _double(score) for score, member in reversed(value.order))
    raise TypeError(f"no RDB encoding for {kind}")


def _options(config) -> dict:
    if config is None:
        return {"compress": True, "list_fill": -2}
    return {"compress": bool(config["rdbcompression"]), "list_fill": config["list-max-listpack-size"]}


LFU_INIT_VAL = 5  # the LFU counter of a new key, the only one the reference keeps (OBJECT FREQ)


def _eviction_info(config) -> str | None:
    """What a file records per key for the maxmemory-policy: "lru" (IDLE: seconds since the key
    was last used), "lfu" (FREQ: its access counter) or None."""
    policy = maxmemory_policy(config)
    return "lru" if "lru" in policy else "lfu" if "lfu" in policy else None


def maxmemory_policy(config) -> str:
    """The config's maxmemory-policy; noeviction (the default) for none or a partial one."""
    try:
        return config["maxmemory-policy"]
    except (TypeError, KeyError):
        return "noeviction"


def dump_payload(value, config=None) -> bytes:
    """DUMP's serialization: type, value, RDB version (2 bytes LE), CRC-64 of those (8 bytes LE)."""
    kind, body = encode_value(value, **_options(config))
    data = bytes([kind]) + body + struct.pack("<H", RDB_VERSION)
    return data + struct.pack("<Q", crc64(data))


def dump_rdb(keyspace, used_memory: int = 0, checksum: bool = True, config=None) -> bytes:
    """The whole keyspace as an RDB file's bytes. `config` (optional) supplies rdbcompression
    and list-max-listpack-size; without it Redis's defaults apply."""
    options = _options(config)
    compress = options["compress"]
    eviction_info = _eviction_info(config)
    out = [b"REDIS%04d" % RDB_VERSION]
    aux = [(b"redis-ver", b"7.0.15"), (b"redis-bits", b"64"), (b"ctime", b"%d" % int(time.time())),
           (b"used-mem", b"%d" % used_memory), (b"aof-base", b"0")]
    for name, value in aux:
        out.append(bytes([OPCODE_AUX]) + encode_string(name, compress) + encode_string(value, compress))
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
            if eviction_info == "lru":
                out.append(bytes([OPCODE_IDLE]) + encode_length(db.idle_ms(key) // 1000))
            elif eviction_info == "lfu":
                out.append(bytes([OPCODE_FREQ, LFU_INIT_VAL]))
            kind, payload = encode_value(db.data[key], **options)
            out.append(bytes([kind]) + encode_string(key, compress) + payload)
    out.append(bytes([OPCODE_EOF]))
    body = b"".join(out)
    return body + struct.pack("<Q", crc64(body) if checksum else 0)


def save_rdb(keyspace, directory: str, filename: str, checksum: bool = True, config=None) -> None:
    """Write the RDB atomically: a temporary file renamed over the old one."""
    data = dump_rdb(keyspace, checksum=checksum, config=config)
    temporary = os.path.join(directory, f"temp-{os.getpid()}.rdb")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, os.path.join(directory, filename))
