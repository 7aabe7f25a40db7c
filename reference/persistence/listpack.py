"""Listpacks: the compact list of strings and integers Redis 7.0 uses for small hashes, sorted
sets and the nodes of quicklists, and writes into RDB files as it holds them in memory.

Layout: total size (u32 LE), number of entries (u16 LE, 65535 meaning "count them"), the
entries, and a 0xFF terminator. An entry is its encoding with its data, then a "backlen": the
size of encoding + data written in 7-bit groups so that it can be read backwards. A string that
spells a 64-bit integer exactly (as string2ll accepts it) is stored as that integer, in the
smallest of the integer encodings that holds it; reading gives the integer back as its text.
"""
from __future__ import annotations

import struct

from reference.values import string2ll

TERMINATOR = 0xFF
UNKNOWN_COUNT = 0xFFFF


class ListpackError(ValueError):
    """The bytes are not a well-formed listpack."""


def _encode_entry(item: bytes) -> bytes:
    n = string2ll(item) if len(item) < 21 else None
    if n is not None:
        if 0 <= n <= 127:
            body = bytes([n])
        elif -4096 <= n <= 4095:
            n &= 0x1FFF
            body = bytes([0xC0 | (n >> 8), n & 0xFF])
        elif -(1 << 15) <= n < 1 << 15:
            body = b"\xf1" + struct.pack("<h", n)
        elif -(1 << 23) <= n < 1 << 23:
            body = b"\xf2" + (n & 0xFFFFFF).to_bytes(3, "little")
        elif -(1 << 31) <= n < 1 << 31:
            body = b"\xf3" + struct.pack("<i", n)
        else:
            body = b"\xf4" + struct.pack("<q", n)
    else:
        size = len(item)
        if size < 64:
            body = bytes([0x80 | size]) + item
        elif size < 4096:
            body = bytes([0xE0 | (size >> 8), size & 0xFF]) + item
        else:
            body = b"\xf0" + struct.pack("<I", size) + item
    return body + _backlen(len(body))


def _backlen(size: int) -> bytes:
    """size in 7-bit groups, most significant first, all but the first flagged 128. The group
    count follows Redis's thresholds, which are one short of the powers of 128 (so 16383
    takes three bytes, the first being 0)."""
    groups = 1 if size <= 127 else 2 if size < 16383 else 3 if size < 2097151 else 4 if size < 268435455 else 5
    out = [(size >> (7 * k)) & 127 | 128 for k in range(groups - 2, -1, -1)]
    return bytes([size >> (7 * (groups - 1))] + out) if groups > 1 else bytes([size])


def entry_size(item: bytes) -> int:
    """Bytes the item takes in a listpack (quicklist node sizing)."""
    return len(_encode_entry(bytes(item)))


def encode(items) -> bytes:
    body = b"".join(_encode_entry(bytes(item)) for item in items)
    count = len(items) if hasattr(items, "__len__") else None
    if count is None:
        raise TypeError("items must be a sized collection")
    total = 6 + len(body) + 1
    return struct.pack("<IH", total, min(count, UNKNOWN_COUNT)) + body + bytes([TERMINATOR])


def decode(data: bytes) -> list[bytes]:
    """The items of a listpack, integers as their decimal text; ListpackError if malformed."""
    if len(data) < 7:
        raise ListpackError("listpack too short")
    total, count = struct.unpack_from("<IH", data)
    if total != len(data) or data[-1] != TERMINATOR:
        raise ListpackError("listpack size or terminator wrong")
    items: list[bytes] = []
    i, end = 6, len(data) - 1
    try:
        while i < end:
            start = i
            first = data[i]
            if first < 0x80:
                item, i = b"%d" % first, i + 1
            elif first < 0xC0:
                size = first & 0x3F
                item, i = data[i + 1:i + 1 + size], i + 1 + size
                if len(item) != size:
                    raise ListpackError("string past the end")
            elif first < 0xE0:
                n = ((first & 0x1F) << 8) | data[i + 1]
                item, i = b"%d" % (n - (1 << 13) if n >= 1 << 12 else n), i + 2
            elif first < 0xF0:
                size = ((first & 0x0F) << 8) | data[i + 1]
                item, i = data[i + 2:i + 2 + size], i + 2 + size
                if len(item) != size:
                    raise ListpackError("string past the end")
            elif first == 0xF0:
                size = struct.unpack_from("<I", data, i + 1)[0]
                item, i = data[i + 5:i + 5 + size], i + 5 + size
                if len(item) != size:
                    raise ListpackError("string past the end")
            elif first in (0xF1, 0xF2, 0xF3, 0xF4):
                width = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}[first]
                raw = data[i + 1:i + 1 + width]
                if len(raw) != width:
                    raise ListpackError("integer past the end")
                item, i = b"%d" % int.from_bytes(raw, "little", signed=True), i + 1 + width
            else:
                raise ListpackError(f"bad entry encoding {first:#x}")
            back = _backlen(i - start)
            if data[i:i + len(back)] != back:
                raise ListpackError("bad backlen")
            i += len(back)
            items.append(bytes(item))
    except (IndexError, struct.error):
        raise ListpackError("entry past the end") from None
    if i != end or (count != UNKNOWN_COUNT and count != len(items)):
        raise ListpackError("entry count wrong")
    return items
