"""RDB bytes written by hand: lengths, strings, the compact encodings of Redis before 7.0
(ziplists, zipmaps) and of 7.0 (listpacks, intsets), DUMP payloads and whole RDB files.

Written for the tests from the formats as Redis documents them in its sources (ziplist.c,
zipmap.c, listpack.c, intset.c, rdb.h), independently of reference/: what a payload built here
means is judged by real Redis, which must accept it (or refuse it) as the tests say. Each
encoder chooses encodings as Redis 6.2 did when it wrote them (integers stored as integers in
the smallest encoding), so its bytes are the ones an old server wrote; test_rdb_encodings.py
checks a few against payloads a real Redis 6.2.14 produced.
"""
from __future__ import annotations

import struct

# RDB object types (rdb.h)
STRING, LIST, SET, ZSET, HASH, ZSET_2 = 0, 1, 2, 3, 4, 5
MODULE_2 = 7
HASH_ZIPMAP, LIST_ZIPLIST, SET_INTSET, ZSET_ZIPLIST, HASH_ZIPLIST, LIST_QUICKLIST = 9, 10, 11, 12, 13, 14
HASH_LISTPACK, ZSET_LISTPACK, LIST_QUICKLIST_2 = 16, 17, 18
# Opcodes
MODULE_AUX, IDLE, FREQ, AUX, RESIZEDB, EXPIRETIME_MS, EXPIRETIME, SELECTDB, EOF = range(0xF7, 0x100)
FUNCTION2 = 0xF5


def crc64(data: bytes) -> int:
    """Redis's CRC-64 (Jones polynomial, reflected), bit by bit: slow but obviously right."""
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x95AC9329AC4BC9B5 if crc & 1 else crc >> 1
    return crc


def length(n: int) -> bytes:
    """rdbSaveLen: 6 bits, 14 bits (big-endian), 0x80 and 32 bits, 0x81 and 64 bits."""
    if n < 1 << 6:
        return bytes([n])
    if n < 1 << 14:
        return bytes([0x40 | n >> 8, n & 0xFF])
    if n < 1 << 32:
        return b"\x80" + struct.pack(">I", n)
    return b"\x81" + struct.pack(">Q", n)


def string(raw: bytes) -> bytes:
    """A string as length and bytes (never integer-encoded nor compressed)."""
    return length(len(raw)) + raw


def int_string(n: int) -> bytes:
    """A string that spells n, in RDB's 8, 16 or 32-bit integer encoding."""
    for code, fmt in ((0xC0, "<b"), (0xC1, "<h"), (0xC2, "<i")):
        try:
            return bytes([code]) + struct.pack(fmt, n)
        except struct.error:
            continue
    raise ValueError(f"{n} does not fit 32 bits")


def as_integer(raw: bytes) -> int | None:
    """The integer raw spells exactly (no sign but '-', no leading zero, 64 bits), else None."""
    text = raw.decode("latin-1")
    digits = text[1:] if text.startswith("-") else text
    if not digits.isdigit() or not digits.isascii() or (digits[0] == "0" and len(text) > 1) or len(text) > 20:
        return None
    n = int(text)
    return n if -(1 << 63) <= n < 1 << 63 else None


# --- ziplists (Redis before 7.0) ---------------------------------------------------------------

def ziplist_entry_body(item: bytes) -> bytes:
    """An entry's encoding and data, without the previous entry's length before it."""
    n = as_integer(item) if len(item) <= 32 else None
    if n is None:
        size = len(item)
        if size < 1 << 6:
            return bytes([size]) + item
        if size < 1 << 14:
            return bytes([0x40 | size >> 8, size & 0xFF]) + item
        return b"\x80" + struct.pack(">I", size) + item
    if 0 <= n <= 12:
        return bytes([0xF1 + n])
    for code, width in ((0xFE, 1), (0xC0, 2), (0xF0, 3), (0xD0, 4), (0xE0, 8)):
        if -(1 << (8 * width - 1)) <= n < 1 << (8 * width - 1):
            return bytes([code]) + n.to_bytes(width, "little", signed=True)
    raise AssertionError("unreachable")


def ziplist(items: list[bytes], count: int | None = None) -> bytes:
    """zlbytes (u32), the offset of the last entry (u32), the entry count (u16), the entries
    (each: the previous entry's size in 1 byte, or 0xFE and a u32; then its body), 0xFF."""
    entries, previous, last_offset = [], 0, 10
    offset = 10
    for item in items:
        prevlen = bytes([previous]) if previous < 254 else b"\xfe" + struct.pack("<I", previous)
        entry = prevlen + ziplist_entry_body(item)
        entries.append(entry)
        last_offset = offset
        offset += len(entry)
        previous = len(entry)
    body = b"".join(entries)
    total = 10 + len(body) + 1
    header = struct.pack("<IIH", total, last_offset, len(items) if count is None else count)
    return header + body + b"\xff"


# --- zipmaps (Redis before 2.6) ----------------------------------------------------------------

def zipmap(pairs: list[tuple[bytes, bytes]], free: int = 0) -> bytes:
    """A count byte (254 meaning "count them"), then per pair: key length, key, value length,
    a byte of unused space after the value, the value and that many spare bytes; 0xFF.
    Lengths are one byte below 254, else 254 and a u32."""
    def zm_length(n: int) -> bytes:
        return bytes([n]) if n < 254 else b"\xfe" + struct.pack("<I", n)

    out = [bytes([min(len(pairs), 254)])]
    for key, value in pairs:
        out.append(zm_length(len(key)) + key + zm_length(len(value)) + bytes([free]) + value + b"\x00" * free)
    return b"".join(out) + b"\xff"


# --- intsets and listpacks (what 7.0 writes too) --------------------------------------------

def intset(values: list[int], width: int | None = None) -> bytes:
    """The encoding's width (u32: 2, 4 or 8), the count (u32), the values ascending."""
    if width is None:
        width = 2 if all(-(1 << 15) <= v < 1 << 15 for v in values) else \
            4 if all(-(1 << 31) <= v < 1 << 31 for v in values) else 8
    fmt = {2: "h", 4: "i", 8: "q"}[width]
    return struct.pack(f"<II{len(values)}{fmt}", width, len(values), *values)


def listpack_entry(item: bytes) -> bytes:
    """An entry: encoding and data, then their size as a backlen (7 bits a byte)."""
    n = as_integer(item)
    if n is None:
        size = len(item)
        if size < 64:
            body = bytes([0x80 | size]) + item
        elif size < 4096:
            body = bytes([0xE0 | size >> 8, size & 0xFF]) + item
        else:
            body = b"\xf0" + struct.pack("<I", size) + item
    elif 0 <= n <= 127:
        body = bytes([n])
    elif -4096 <= n < 4096:
        body = bytes([0xC0 | (n & 0x1FFF) >> 8, n & 0xFF])
    else:
        for code, width in ((0xF1, 2), (0xF2, 3), (0xF3, 4), (0xF4, 8)):
            if -(1 << (8 * width - 1)) <= n < 1 << (8 * width - 1):
                body = bytes([code]) + n.to_bytes(width, "little", signed=True)
                break
    return body + backlen(len(body))


def backlen(size: int) -> bytes:
    if size <= 127:
        return bytes([size])
    if size < 16383:
        return bytes([size >> 7, (size & 127) | 128])
    raise ValueError("entry too large for these tests")


def listpack(items: list[bytes], count: int | None = None) -> bytes:
    """Total bytes (u32), the count (u16), the entries, 0xFF."""
    body = b"".join(listpack_entry(item) for item in items)
    return struct.pack("<IH", 6 + len(body) + 1, len(items) if count is None else count) + body + b"\xff"


# --- payloads and files -------------------------------------------------------------------------

def payload(rdb_type: int, body: bytes, version: int = 9) -> bytes:
    """A DUMP payload: type, body, RDB version (u16), CRC-64 of all that (u64)."""
    data = bytes([rdb_type]) + body + struct.pack("<H", version)
    return data + struct.pack("<Q", crc64(data))


def rdb_file(body: bytes, version: int = 9, checksum: bool = True) -> bytes:
    """REDIS and the 4-digit version, the body (opcodes and keys), EOF; from version 5 the
    CRC-64 of all that (or zeros: a file saved with rdbchecksum no)."""
    data = b"REDIS%04d" % version + body + bytes([EOF])
    if version < 5:
        return data
    return data + struct.pack("<Q", crc64(data) if checksum else 0)


def key(rdb_type: int, name: bytes, body: bytes, expire_ms: int | None = None) -> bytes:
    """One key of a file: [EXPIRETIME_MS ms] type name value."""
    prefix = bytes([EXPIRETIME_MS]) + struct.pack("<q", expire_ms) if expire_ms is not None else b""
    return prefix + bytes([rdb_type]) + string(name) + body
