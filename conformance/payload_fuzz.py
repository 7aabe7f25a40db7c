"""Mutated DUMP payloads for the RESTORE fuzzer (conformance/test_restore_fuzz.py): valid
payloads of every type and encoding (`SEEDS`, built with rdb_bytes), and `payload_of`, which
draws one, mutates it (a bit flipped, a byte set, the payload cut short, a byte inserted or
removed, a byte one more or less, a size or count of a compact blob's header rewritten) and
gives it a trailer: usually a CRC that matches, sometimes the old one, or another RDB version.
Everything is drawn from the Random given: a case is reproducible from its seed alone."""
from __future__ import annotations

import random
import struct

from conformance import rdb_bytes as B


# --- CRC-64 (Jones, reflected), by table: rdb_bytes' bit by bit is too slow for 100,000 cases ---

def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x95AC9329AC4BC9B5 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC_TABLE = _crc_table()


def crc64(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc


def with_trailer(body: bytes, version: int = 9) -> bytes:
    data = body + struct.pack("<H", version)
    return data + struct.pack("<Q", crc64(data))


# --- the seeds: (name, RDB type, body, offset of a compact blob's header in the body or None,
# the blob's kind) ---------------------------------------------------------------------------

def lzf_string(raw_char: bytes, repeat: int) -> bytes:
    """An LZF-compressed string of one byte repeated: a literal of it, then back references."""
    assert 3 <= repeat
    packed, left = b"\x00" + raw_char, repeat - 1
    while left:
        run = min(left, 8)
        if run < 3:
            packed += bytes([run - 1]) + raw_char * run  # a short literal rather than a reference
        else:
            packed += bytes([(run - 2) << 5, 0])  # copy `run` bytes from 1 back
        left -= run
    return b"\xc3" + B.length(len(packed)) + B.length(repeat) + packed


def seeds() -> list[tuple]:
    words = [b"%d" % n for n in (0, 1, 12, 13, 127, 128, -1, 4095, -4096, 70000, 1 << 40)]
    texts = [b"", b"a", b"field", b"x" * 63, b"y" * 64, b"z" * 300, b"1.5", b"-0", b"010"]
    items = words + texts
    pairs = [(b"f%d" % i, item) for i, item in enumerate(items)]
    flat = [part for pair in pairs for part in pair]
    scores = [(b"m%d" % i, score) for i, score in enumerate([b"1", b"2.5", b"-3", b"1e10", b"inf", b"0"])]
    zflat = [part for pair in scores for part in pair]

    def blob(rdb_type, data, kind, prefix=b""):
        body = prefix + B.string(data)
        return rdb_type, body, len(prefix) + len(B.length(len(data))), kind

    return [
        ("string-raw", B.STRING, B.string(b"hello world"), None, None),
        ("string-int", B.STRING, B.int_string(-123456), None, None),
        ("string-lzf", B.STRING, lzf_string(b"a", 40), None, None),
        ("list-plain", B.LIST, B.length(len(items)) + b"".join(map(B.string, items)), None, None),
        ("set-plain", B.SET, B.length(len(texts) - 1) + b"".join(map(B.string, texts[1:])), None, None),
        ("zset-text-scores", B.ZSET, B.length(2) + B.string(b"a") + bytes([3]) + b"1.5" + B.string(b"b")
         + bytes([254]), None, None),
        ("zset-binary-scores", B.ZSET_2, B.length(3) + b"".join(B.string(m) + struct.pack("<d", s)
                                                               for m, s in ((b"a", 1.0), (b"b", -2.5), (b"c", 1e300))),
         None, None),
        ("hash-plain-small", B.HASH, B.length(3) + b"".join(B.string(p) for p in (b"a", b"1", b"b", b"2", b"c", b"3")),
         None, None),
        ("hash-plain-long-value", B.HASH, B.length(3) + b"".join(B.string(p) for p in (b"a", b"1", b"b", b"2", b"c",
                                                                                       b"v" * 80)), None, None),
        ("zipmap", *blob(B.HASH_ZIPMAP, B.zipmap([(b"a", b"1"), (b"bb", b"hello")], free=2), "zipmap")),
        ("list-ziplist", *blob(B.LIST_ZIPLIST, B.ziplist(items), "ziplist")),
        ("set-intset-16", *blob(B.SET_INTSET, B.intset([-5, 1, 2, 300]), "intset")),
        ("set-intset-64", *blob(B.SET_INTSET, B.intset([-(1 << 40), 7, 1 << 40]), "intset")),
        ("zset-ziplist", *blob(B.ZSET_ZIPLIST, B.ziplist(zflat), "ziplist")),
        ("hash-ziplist", *blob(B.HASH_ZIPLIST, B.ziplist(flat), "ziplist")),
        ("list-quicklist-ziplist", *blob(B.LIST_QUICKLIST, B.ziplist(items), "ziplist", prefix=B.length(1))),
        ("hash-listpack", *blob(B.HASH_LISTPACK, B.listpack(flat), "listpack")),
        ("zset-listpack", *blob(B.ZSET_LISTPACK, B.listpack(zflat), "listpack")),
        ("list-quicklist-listpack", *blob(B.LIST_QUICKLIST_2, B.listpack(items), "listpack",
                                          prefix=B.length(1) + B.length(2))),
        ("list-quicklist-plain-node", B.LIST_QUICKLIST_2, B.length(2) + B.length(1) + B.string(b"p" * 100)
         + B.length(2) + B.string(B.listpack([b"a", b"7"])), None, None),
    ]


SEEDS = seeds()
# Seeds a single mutation can turn into a value Redis 7.0 asserts on inside RESTORE when it is
# not sanitized (see the module docstring): fuzzed under `yes` only.
UNSAFE_UNSANITIZED = {"hash-plain-long-value"}

# Header fields of the compact blobs: kind -> [(offset, struct format)] (sizes and counts).
HEADER_FIELDS = {
    "listpack": [(0, "<I"), (4, "<H")],
    "ziplist": [(0, "<I"), (4, "<I"), (8, "<H")],
    "intset": [(0, "<I"), (4, "<I")],
    "zipmap": [(0, "<B")],
}
INTERESTING = [0, 1, 2, 3, 7, 127, 128, 254, 255, 256, 511, 512, 513, 1000, 0x7FFF, 0xFFFE, 0xFFFF,
               0x10000, 0x7FFFFFFF, 0xFFFFFFFF]


def mutate(rng: random.Random, body: bytes, header_at: int | None, kind: str | None) -> bytes:
    """body changed once; header_at: where a compact blob's header is in it (kind: which)."""
    data = bytearray(body)
    choice = rng.randrange(7 if header_at is not None else 6)
    if choice == 0:  # flip one bit
        i = rng.randrange(len(data))
        data[i] ^= 1 << rng.randrange(8)
    elif choice == 1:  # set one byte to a value that means something somewhere
        data[rng.randrange(len(data))] = rng.choice([0x00, 0x01, 0x3F, 0x40, 0x7F, 0x80, 0xBF, 0xC0, 0xC3,
                                                     0xE0, 0xF0, 0xF4, 0xF5, 0xFE, 0xFF])
    elif choice == 2:  # cut short
        del data[rng.randrange(len(data)):]
    elif choice == 3:  # insert a byte
        data.insert(rng.randrange(len(data) + 1), rng.randrange(256))
    elif choice == 4:  # remove a byte
        del data[rng.randrange(len(data))]
    elif choice == 5:  # one more or one less at a byte (lengths, counts, prevlens, backlens)
        i = rng.randrange(len(data))
        data[i] = (data[i] + rng.choice([1, -1])) & 0xFF
    else:  # rewrite a size or count of the blob's header
        offset, fmt = rng.choice(HEADER_FIELDS[kind])
        size = struct.calcsize(fmt)
        at = header_at + offset
        if at + size <= len(data):
            value = rng.choice(INTERESTING) & ((1 << (8 * size)) - 1)
            data[at:at + size] = struct.pack(fmt, value)
    return bytes(data)


def payload_of(rng: random.Random, seed: tuple) -> bytes:
    """The seed's payload, mutated once, with a trailer."""
    name, rdb_type, body, header_at, kind = seed
    mutated = mutate(rng, bytes([rdb_type]) + body, None if header_at is None else header_at + 1, kind)
    if rng.random() < 0.15:  # the trailer kept as it was: the CRC no longer matches (usually)
        return mutated + with_trailer(bytes([rdb_type]) + body)[-10:]
    return with_trailer(mutated, rng.choice([9, 9, 9, 10, 11]))
