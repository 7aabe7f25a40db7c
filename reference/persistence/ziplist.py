"""Decoders of the two older compact encodings Redis 7.0 still loads from RDB files written by
earlier versions (it never writes them): ziplists (lists, hashes and sorted sets before 7.0) and
zipmaps (hashes before 2.6).

Ziplist: total size (u32 LE), offset of the last entry (u32 LE), count (u16 LE), entries, 0xFF.
An entry: the previous entry's size (1 byte, or 0xFE and a u32), an encoding, data. Encodings:
00xxxxxx / 01xxxxxx yyyyyyyy / 10xxxxxx + u32 BE: string lengths; 0xC0 int16, 0xD0 int32, 0xE0
int64, 0xF0 int24, 0xFE int8 (little-endian); 0xF1..0xFD the immediates 0..12.

Zipmap: a count byte, then per pair: key length, key, value length, a "free" byte, value and
that many unused bytes; 0xFF ends it. Lengths are one byte below 254, else 0xFE and a u32.
"""
from __future__ import annotations

import struct


class ZiplistError(ValueError):
    """The bytes are not a well-formed ziplist or zipmap."""


_INTS = {0xC0: 2, 0xD0: 4, 0xE0: 8, 0xF0: 3, 0xFE: 1}


def decode_ziplist(data: bytes) -> list[bytes]:
    """The items, integers as their text; ZiplistError unless the ziplist passes Redis's deep
    validation: the header's size, tail offset and count, the terminator, and every entry's
    previous-entry size and bounds."""
    try:
        total, tail, count = struct.unpack_from("<IIH", data)
        if total != len(data) or data[-1] != 0xFF or tail > len(data) - 1:
            raise ZiplistError("ziplist size, tail or terminator wrong")
        items, i, previous, last = [], 10, 0, None
        while data[i] != 0xFF:
            start = i
            if data[i] < 0xFE:
                prevlen, i = data[i], i + 1
            else:
                prevlen, i = struct.unpack_from("<I", data, i + 1)[0], i + 5
            if prevlen != previous:
                raise ZiplistError("ziplist prevlen wrong")
            code = data[i]
            if code >> 6 == 0:  # strings: a 6-bit length,
                size, i = code & 0x3F, i + 1
            elif code >> 6 == 1:  # a 14-bit one (big-endian),
                size, i = ((code & 0x3F) << 8) | data[i + 1], i + 2
            elif code >> 6 == 2:  # or a 32-bit one (big-endian) after the encoding byte
                size, i = struct.unpack_from(">I", data, i + 1)[0], i + 5
            else:
                size = None
                i += 1
            if size is not None:
                item = data[i:i + size]
                if len(item) != size:
                    raise ZiplistError("ziplist string past the end")
                i += size
            elif code in _INTS:
                width = _INTS[code]
                raw = data[i:i + width]
                if len(raw) != width:
                    raise ZiplistError("ziplist integer past the end")
                item, i = b"%d" % int.from_bytes(raw, "little", signed=True), i + width
            elif 0xF1 <= code <= 0xFD:
                item = b"%d" % (code - 0xF1)
            else:
                raise ZiplistError(f"bad ziplist encoding {code:#x}")
            if i > len(data) - 1:
                raise ZiplistError("ziplist entry past the end")
            items.append(bytes(item))
            previous, last = i - start, start
        if i != len(data) - 1 or (last is not None and tail != last):
            raise ZiplistError("ziplist tail offset wrong")
        if count != 0xFFFF and count != len(items):
            raise ZiplistError("ziplist count wrong")
        return items
    except (IndexError, struct.error):
        raise ZiplistError("ziplist entry past the end") from None


def decode_zipmap(data: bytes) -> list[bytes]:
    """Keys and values, alternating; ZiplistError unless it passes Redis's validation: within
    bounds to its terminator, not empty, its count byte right (unless 254, "count them")."""
    def length(i):  # a byte below 254, else (254, or 255 where a value's length is) a u32
        if data[i] < 254:
            return data[i], i + 1
        return struct.unpack_from("<I", data, i + 1)[0], i + 5

    try:
        items, i = [], 1
        while data[i] != 0xFF:
            size, i = length(i)
            items.append(bytes(data[i:i + size]))
            i += size
            size, i = length(i)
            free = data[i]
            items.append(bytes(data[i + 1:i + 1 + size]))
            i += 1 + size + free
            if i > len(data) - 1:
                raise ZiplistError("zipmap entry past the end")
        if i != len(data) - 1 or not items or (data[0] != 254 and data[0] != len(items) // 2):
            raise ZiplistError("zipmap trailing bytes, empty, or count wrong")
        return items
    except (IndexError, struct.error):
        raise ZiplistError("zipmap entry past the end") from None
