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

import gc
import math
import os
import struct
import time
from contextlib import contextmanager
from itertools import chain

from reference.keyspace import type_name
from reference.persistence import intset, listpack, lzf
from reference.persistence.crc64 import crc64
from reference.values import INTEGER_FIRST_BYTES, string2ll

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

# Quicklist nodes: a negative list-max-listpack-size -1..-5 (less is -5) caps a node's listpack
# at these bytes; a positive one caps its entries, within a safety limit of 8 KiB.
NODE_SIZE_LIMITS = (4096, 8192, 16384, 32768, 65536)
NODE_SAFETY_LIMIT = 8192
FILL_MAX = (1 << 15) - 1  # a positive list-max-listpack-size counts elements up to this
ENTRY_OVERHEAD_ESTIMATE = 8  # what Redis adds to an element's length to guess its cost
# An element of at least this many bytes is a plain node of its own (DEBUG
# QUICKLIST-PACKED-THRESHOLD changes it, for the whole process as in Redis).
DEFAULT_PACKED_THRESHOLD = 1 << 30
packed_threshold = DEFAULT_PACKED_THRESHOLD


def encode_length(n: int) -> bytes:
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | (n >> 8), n & 0xFF])
    if n <= 0xFFFFFFFF:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


_INT8, _INT16, _INT32 = struct.Struct("<Bb").pack, struct.Struct("<Bh").pack, struct.Struct("<Bi").pack


def encode_string(value: bytes, compress: bool = False) -> bytes:
    """A string as rdbSaveRawString writes it (integer encodings, LZF when `compress`)."""
    size = len(value)
    if size <= 11 and size and value[0] in INTEGER_FIRST_BYTES:
        n = string2ll(value)
        if n is not None:
            if -(1 << 7) <= n < 1 << 7:
                return _INT8(ENC_INT8, n)
            if -(1 << 15) <= n < 1 << 15:
                return _INT16(ENC_INT16, n)
            if -(1 << 31) <= n < 1 << 31:
                return _INT32(ENC_INT32, n)
    if compress and size > 20:
        packed = lzf.compress(value, size - 4)
        if packed is not None:
            return bytes([ENC_LZF]) + encode_length(len(packed)) + encode_length(size) + packed
    if size < 1 << 6:
        return b"%c%b" % (size, value)
    return encode_length(size) + value


_DOUBLE = struct.Struct("<d").pack
_SCORE_INTEGER_LIMIT = float(2 ** 62)


def score_text(score: float) -> bytes:
    """A score as a listpack holds it (Redis's d2string): integral values within +-2^62 as
    integers (but -0 as "-0"), others as %.17g (which spells infinities inf and -inf)."""
    if -_SCORE_INTEGER_LIMIT <= score <= _SCORE_INTEGER_LIMIT and score == int(score):
        if score == 0 and math.copysign(1.0, score) < 0:
            return b"-0"
        return b"%d" % int(score)
    return b"%.17g" % score


def quicklist_nodes(items, fill: int) -> list[list[bytes] | bytes]:
    """The elements split into nodes as a list built by RPUSH is (quicklistPushTail): a
    packed node is a list of its listpack entries (`listpack.entry`), a plain node (an element
    of at least `packed_threshold` bytes) the element itself."""
    nodes: list[list[bytes] | bytes] = []
    threshold = packed_threshold
    fill = max(-len(NODE_SIZE_LIMITS), min(fill, FILL_MAX))  # as quicklistSetFill bounds it
    size_limit = NODE_SIZE_LIMITS[-fill - 1] if fill < 0 else None
    node: list[bytes] = []
    size = 0  # the node's listpack bytes
    for item in items:
        if len(item) >= threshold:
            nodes.append(item)
            node = []  # the next element starts a node of its own
            continue
        encoded = listpack.entry(item)
        if node:
            new_size = size + len(item) + ENTRY_OVERHEAD_ESTIMATE
            fits = size_limit is not None and new_size <= size_limit
            if not fits and new_size <= NODE_SAFETY_LIMIT:
                fits = len(node) < fill
            if fits:
                node.append(encoded)
                size += len(encoded)
                continue
        node = [encoded]
        nodes.append(node)
        size = listpack.HEADER_SIZE + 1 + len(encoded)
    return nodes


# The writers of each type, as Redis 7.0 holds it in memory: (value, compress, list_fill) ->
# (RDB type, serialized value).

def _string(value, compress: bool, list_fill: int) -> tuple[int, bytes]:
    return TYPE_STRING, encode_string(value, compress)


def _list(value, compress: bool, list_fill: int) -> tuple[int, bytes]:
    nodes = quicklist_nodes(value, list_fill)
    packed_node, plain_node = encode_length(QUICKLIST_NODE_PACKED), encode_length(QUICKLIST_NODE_PLAIN)
    out = [encode_length(len(nodes))]
    for node in nodes:
        if type(node) is list:
            out.append(packed_node)
            out.append(encode_string(listpack.from_entries(node), compress))
        else:
            out.append(plain_node)
            out.append(encode_string(node, compress))
    return TYPE_LIST_QUICKLIST_2, b"".join(out)


def _set(value, compress: bool, list_fill: int) -> tuple[int, bytes]:
    if value.intset:
        return TYPE_SET_INTSET, encode_string(intset.encode(value), compress)
    return TYPE_SET, encode_length(len(value)) + b"".join([encode_string(m, compress) for m in value])


def _hash_listpack(value) -> bytes:
    return listpack.encode(chain.from_iterable(value.items()))


def _zset_listpack(value) -> bytes:
    entry = listpack.entry
    entries = []
    for score, member in value.order:
        entries.append(entry(member))
        entries.append(entry(score_text(score)))
    return listpack.from_entries(entries)


def value_listpack(value) -> bytes:
    """The listpack a hash or sorted set of encoding listpack is held in (DEBUG LISTPACK)."""
    return _hash_listpack(value) if type_name(value) == "hash" else _zset_listpack(value)


def _hash(value, compress: bool, list_fill: int) -> tuple[int, bytes]:
    if not value.hashtable:
        return TYPE_HASH_LISTPACK, encode_string(_hash_listpack(value), compress)
    return TYPE_HASH, encode_length(len(value)) + b"".join(
        [encode_string(field, compress) + encode_string(data, compress) for field, data in value.items()])


def _zset(value, compress: bool, list_fill: int) -> tuple[int, bytes]:
    if not value.skiplist:
        return TYPE_ZSET_LISTPACK, encode_string(_zset_listpack(value), compress)
    # Highest score first, as Redis walks its skiplist from the tail.
    return TYPE_ZSET_2, encode_length(len(value)) + b"".join(
        [encode_string(member, compress) + _DOUBLE(score) for score, member in reversed(value.order)])


_WRITERS = {"string": _string, "list": _list, "set": _set, "hash": _hash, "zset": _zset}
_writer_of_class: dict[type, object] = {}  # filled as classes are met: one lookup per value


def encode_value(value, compress: bool = True, list_fill: int = -2) -> tuple[int, bytes]:
    """(RDB type, serialized value) of a stored value, in the encoding Redis would hold it."""
    writer = _writer_of_class.get(type(value))
    if writer is None:
        kind = "string" if isinstance(value, (bytes, bytearray)) else type_name(value)
        writer = _writer_of_class[type(value)] = _WRITERS[kind]
    return writer(value, compress, list_fill)


# The settings writing reads from a config, and Redis's defaults for them (config None).
WRITE_DEFAULTS = {"rdbcompression": True, "list-max-listpack-size": -2, "maxmemory-policy": "noeviction"}


def _options(config) -> dict:
    settings = WRITE_DEFAULTS if config is None else config
    return {"compress": bool(settings["rdbcompression"]), "list_fill": settings["list-max-listpack-size"]}


LFU_INIT_VAL = 5  # the LFU counter of a new key, the only one the reference keeps (OBJECT FREQ)


def _eviction_info(config) -> str | None:
    """What a file records per key for the maxmemory-policy: "lru" (IDLE: seconds since the key
    was last used), "lfu" (FREQ: its access counter) or None."""
    policy = (WRITE_DEFAULTS if config is None else config)["maxmemory-policy"]
    return "lru" if "lru" in policy else "lfu" if "lfu" in policy else None


def dump_payload(value, config=None) -> bytes:
    """DUMP's serialization: type, value, RDB version (2 bytes LE), CRC-64 of those (8 bytes LE)."""
    kind, body = encode_value(value, **_options(config))
    data = bytes([kind]) + body + struct.pack("<H", RDB_VERSION)
    return data + struct.pack("<Q", crc64(data))


@contextmanager
def cyclic_gc_paused(freeze: bool = False):
    """Saving or loading a keyspace makes millions of containers and not one reference cycle:
    Python's cyclic collector, were it to run meanwhile, would only walk them again and again
    (a third of the time of loading a large file). `freeze` (loading at start-up, when nothing
    else lives yet): what exists at the end, the values just loaded, is moved out of the
    collector's sight for good (gc.freeze) rather than walked once more by the next
    collections; those values are freed, as ever, when no longer referenced."""
    enabled = gc.isenabled()  # off already in an enclosing pause
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


_EXPIRETIME_MS = struct.Struct("<Bq").pack
_TYPE_BYTES = [bytes([kind]) for kind in range(256)]


def dump_rdb(keyspace, used_memory: int = 0, checksum: bool = True, config=None,
             replication: tuple[int, str, int] | None = None) -> bytes:
    """The whole keyspace as an RDB file's bytes. `config` (optional) supplies rdbcompression,
    list-max-listpack-size and maxmemory-policy; without it Redis's defaults (WRITE_DEFAULTS)
    apply. `replication` (stream db, replication id, offset) adds the AUX fields a copy for a
    replica carries (repl-stream-db, repl-id, repl-offset)."""
    options = _options(config)
    compress = options["compress"]
    eviction_info = _eviction_info(config)
    out = [b"REDIS%04d" % RDB_VERSION]
    aux = [(b"redis-ver", b"7.0.15"), (b"redis-bits", b"64"), (b"ctime", b"%d" % int(time.time())),
           (b"used-mem", b"%d" % used_memory)]
    if replication is not None:
        stream_db, replid, offset = replication
        aux += [(b"repl-stream-db", b"%d" % stream_db), (b"repl-id", replid.encode()),
                (b"repl-offset", b"%d" % offset)]
    aux.append((b"aof-base", b"0"))
    for name, value in aux:
        out.append(bytes([OPCODE_AUX]) + encode_string(name, compress) + encode_string(value, compress))
    with cyclic_gc_paused():
        _write_keys(keyspace, out, compress, options["list_fill"], eviction_info)
    out.append(bytes([OPCODE_EOF]))
    body = b"".join(out)
    return body + struct.pack("<Q", crc64(body) if checksum else 0)


def _write_keys(keyspace, out: list[bytes], compress: bool, list_fill: int, eviction_info) -> None:
    """Every database's SELECTDB, RESIZEDB and keys, appended to out."""
    writers = _writer_of_class
    for db in keyspace.dbs:
        if not db.data:  # keys past their time are written too, as Redis writes them
            continue
        expires = db.expires
        out.append(bytes([OPCODE_SELECTDB]) + encode_length(db.id))
        out.append(bytes([OPCODE_RESIZEDB]) + encode_length(len(db.data)) + encode_length(len(expires)))
        for key, value in db.data.items():
            if expires:
                when = expires.get(key)
                if when is not None:
                    out.append(_EXPIRETIME_MS(OPCODE_EXPIRETIME_MS, when))
            if eviction_info == "lru":
                out.append(bytes([OPCODE_IDLE]) + encode_length(db.idle_ms(key) // 1000))
            elif eviction_info == "lfu":
                out.append(bytes([OPCODE_FREQ, LFU_INIT_VAL]))
            writer = writers.get(type(value)) or encode_value  # encode_value learns a new class
            kind, payload = writer(value, compress, list_fill)
            out += (_TYPE_BYTES[kind], encode_string(key, compress), payload)


def save_rdb(keyspace, directory: str, filename: str, checksum: bool = True, config=None) -> None:
    """Write the RDB atomically: a temporary file renamed over the old one."""
    data = dump_rdb(keyspace, checksum=checksum, config=config)
    temporary = os.path.join(directory, f"temp-{os.getpid()}.rdb")
    with open(temporary, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, os.path.join(directory, filename))
