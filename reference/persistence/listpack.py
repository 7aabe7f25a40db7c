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

from reference.values import INTEGER_FIRST_BYTES, string2ll

TERMINATOR = 0xFF
UNKNOWN_COUNT = 0xFFFF


class ListpackError(ValueError):
    """The bytes are not a well-formed listpack."""


# The entries of the integers 0..127 (one byte, and a backlen of 1), and their text.
_SMALL_INT_ENTRIES = [bytes([n, 1]) for n in range(128)]
_SMALL_INT_TEXTS = [b"%d" % n for n in range(128)]
_INT16, _INT32, _INT64 = struct.Struct("<Bhb").pack, struct.Struct("<Bib").pack, struct.Struct("<Bqb").pack


def entry(item: bytes) -> bytes:
    """One entry: encoding, data and backlen. A string that spells an integer is stored as
    one (only a digit or '-' can start such a string: a cheap test first); any other in the
    6, 12 or 32-bit string encoding its length calls for."""
    size = len(item)
    if size and size < 21 and item[0] in INTEGER_FIRST_BYTES:
        n = string2ll(item)
        if n is not None:
            return _integer_entry(n)
    if size < 64:
        return b"%c%b%c" % (0x80 | size, item, size + 1)
    if size < 4096:
        body = b"%c%c%b" % (0xE0 | (size >> 8), size & 0xFF, item)
    else:
        body = b"\xf0" + struct.pack("<I", size) + item
    return body + _backlen(len(body))


def _integer_entry(n: int) -> bytes:
    """The smallest integer encoding that holds n (each with its one-byte backlen)."""
    if 0 <= n <= 127:
        return _SMALL_INT_ENTRIES[n]
    if -4096 <= n <= 4095:  # 13 bits, two's complement
        n &= 0x1FFF
        return b"%c%c\x02" % (0xC0 | (n >> 8), n & 0xFF)
    if -(1 << 15) <= n < 1 << 15:
        return _INT16(0xF1, n, 3)
    if -(1 << 23) <= n < 1 << 23:
        return b"\xf2" + (n & 0xFFFFFF).to_bytes(3, "little") + b"\x04"
    if -(1 << 31) <= n < 1 << 31:
        return _INT32(0xF3, n, 5)
    return _INT64(0xF4, n, 9)


def _backlen(size: int) -> bytes:
    """size in 7-bit groups, most significant first, all but the first flagged 128. The group
    count follows Redis's thresholds, which are one short of the powers of 128 (so 16383
    takes three bytes, the first being 0)."""
    groups = 1 if size <= 127 else 2 if size < 16383 else 3 if size < 2097151 else 4 if size < 268435455 else 5
    out = [(size >> (7 * k)) & 127 | 128 for k in range(groups - 2, -1, -1)]
    return bytes([size >> (7 * (groups - 1))] + out) if groups > 1 else bytes([size])


HEADER_SIZE = 6  # total size (u32) and count (u16); a terminator byte ends the listpack
_HEADER = struct.Struct("<IH")


def from_entries(entries: list[bytes]) -> bytes:
    """A listpack of entries already encoded (`entry`)."""
    body = b"".join(entries)
    return _HEADER.pack(HEADER_SIZE + len(body) + 1, min(len(entries), UNKNOWN_COUNT)) + body + b"\xff"


def encode(items) -> bytes:
    """A listpack of the items (an iterable of bytes)."""
    return from_entries(list(map(entry, items)))


def header_ok(data: bytes) -> bool:
    """Redis's shallow check of a listpack (lpValidateIntegrity without `deep`): long enough
    for a header and a terminator, the header's total size that of the data, the last byte
    the terminator. The entries and the count are not looked at."""
    return len(data) >= HEADER_SIZE + 1 and _HEADER.unpack_from(data)[0] == len(data) and data[-1] == TERMINATOR


def count_of(data: bytes) -> int:
    """The entry count the header claims (UNKNOWN_COUNT: "count them")."""
    return _HEADER.unpack_from(data)[1]


def decode(data: bytes) -> list[bytes]:
    """The items of a listpack, integers as their decimal text; ListpackError if malformed:
    the header's size and terminator, every entry within bounds with the backlen its size
    calls for, and the header's count (unless 65535) all checked (Redis's deep check)."""
    size = len(data)
    if size < HEADER_SIZE + 1:
        raise ListpackError("listpack shorter than its header")
    total, count = _HEADER.unpack_from(data)  # (header_ok and count_of, at once: a load's hot path)
    if total != size or data[-1] != TERMINATOR:
        raise ListpackError("listpack size or terminator wrong")
    items: list[bytes] = []
    if _read_entries(data, items) != size - 1 or (count != UNKNOWN_COUNT and count != len(items)):
        raise ListpackError("entry past the end, or count wrong")
    return items


def salvage(data: bytes) -> tuple[list[bytes], str]:
    """What can be read of a listpack that passed only header_ok (the header's count is not
    looked at): the items before the first damaged entry or the first terminator byte, and
    where the walk stopped: "end" (every entry whole, up to the real terminator),
    "terminator" (a terminator byte met early, where Redis's walks stop too) or "damage"."""
    items: list[bytes] = []
    try:
        stopped_at = _read_entries(data, items)
    except ListpackError:
        return items, "damage"
    return items, "end" if stopped_at == len(data) - 1 else "terminator"


def _read_entries(data: bytes, items: list[bytes]) -> int:
    """Append the items of the entries from the header on to `items`, up to the first byte
    that is a terminator; the offset of that byte. ListpackError at a damaged entry (what
    was read before it stays in `items`)."""
    end = len(data) - 1
    i = HEADER_SIZE
    try:
        while i < end:
            first = data[i]
            # The two commonest entries first, each checked against its one-byte backlen
            # (the entry's size) and passed over at once.
            if first < 0x80:  # 7-bit unsigned integer (size 1)
                if data[i + 1] != 1:
                    raise ListpackError("bad backlen")
                items.append(_SMALL_INT_TEXTS[first])
                i += 2
                continue
            if first < 0xC0:  # string of up to 63 bytes (size 1 + its length)
                backlen_at = i + first - 0x7F
                if data[backlen_at] != first - 0x7F:  # (past the end: IndexError)
                    raise ListpackError("bad backlen")
                items.append(data[i + 1:backlen_at])
                i = backlen_at + 1
                continue
            if first < 0xE0:  # 13-bit signed integer
                n = ((first & 0x1F) << 8) | data[i + 1]
                item = b"%d" % (n - (1 << 13) if n >= 1 << 12 else n)
                size = 2
            elif first < 0xF0:  # string of up to 4095 bytes
                size = 2 + (((first & 0x0F) << 8) | data[i + 1])
                item = data[i + 2:i + size]
            elif first == 0xF0:  # string of up to 2**32 - 1 bytes
                size = 5 + _U32.unpack_from(data, i + 1)[0]
                item = data[i + 5:i + size]
            elif first <= 0xF4:  # 16, 24, 32 and 64-bit signed integers
                size, read_integer = _WIDE_INTEGERS[first]
                item = b"%d" % read_integer(data, i)
            elif first == TERMINATOR:  # met early: where Redis's walks stop
                return i
            else:
                raise ListpackError(f"bad entry encoding {first:#x}")
            i += size
            if size <= 127:  # the backlen is one byte, the size itself
                if data[i] != size:
                    raise ListpackError("bad backlen")
                i += 1
            else:
                back = _backlen(size)
                if data[i:i + len(back)] != back:
                    raise ListpackError("bad backlen")
                i += len(back)
            if i > end:
                raise ListpackError("entry past the end")
            items.append(item)
    except (IndexError, struct.error):
        raise ListpackError("entry past the end") from None
    return i


_U32 = struct.Struct("<I")
_I16, _I32, _I64 = struct.Struct("<h"), struct.Struct("<i"), struct.Struct("<q")
# The wide integer encodings: encoding byte -> (size of that byte and the data, how the value
# is read from the data given the encoding byte's offset).
_WIDE_INTEGERS = {
    0xF1: (3, lambda data, i: _I16.unpack_from(data, i + 1)[0]),
    # 24 bits: the 32 little-endian bits that start at the encoding byte, that byte (the
    # lowest 8 bits) shifted out, the sign kept.
    0xF2: (4, lambda data, i: _I32.unpack_from(data, i)[0] >> 8),
    0xF3: (5, lambda data, i: _I32.unpack_from(data, i + 1)[0]),
    0xF4: (9, lambda data, i: _I64.unpack_from(data, i + 1)[0]),
}
