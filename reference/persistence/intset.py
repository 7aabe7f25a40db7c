"""Intsets: a sorted array of integers all of one width (2, 4 or 8 bytes), the encoding of small
all-integer sets. Layout: width (u32 LE), count (u32 LE), the integers ascending, little-endian.
A new intset uses the smallest width that holds every member (Redis only ever widens one, so a
set that once held a wide member keeps the wide encoding: contents alone cannot tell)."""
from __future__ import annotations

import functools
import operator
import struct

_FORMATS = {2: "h", 4: "i", 8: "q"}


class IntsetError(ValueError):
    """The bytes are not a well-formed intset."""


def encode(members) -> bytes:
    values = sorted(map(int, members))
    width = 2
    if values and (values[0] < -(1 << 15) or values[-1] >= 1 << 15):
        width = 4
    if values and (values[0] < -(1 << 31) or values[-1] >= 1 << 31):
        width = 8
    return struct.pack(f"<II{len(values)}{_FORMATS[width]}", width, len(values), *values)


def header_ok(data: bytes) -> bool:
    """Redis's shallow check of an intset (intsetValidateIntegrity without `deep`): a known
    width, a size that is the header and `count` integers of it exactly, at least one."""
    if len(data) < 8:
        return False
    width, count = _HEADER.unpack_from(data)
    return width in _FORMATS and len(data) == 8 + width * count and count > 0


def members(data: bytes) -> list[bytes]:
    """The integers of an intset that passed header_ok, in the order stored, as their texts."""
    width, count = _HEADER.unpack_from(data)
    # All the texts from one formatting, b"1 2 3 ".split(): a fraction of one per member.
    return (b"%d " * count % _array_reader(count, width)(data, 8)).split()


def decode(data: bytes) -> list[bytes]:
    """The members, ascending, as their decimal texts; IntsetError unless it passes Redis's
    deep check: header_ok, and the integers strictly ascending."""
    if len(data) < 8:
        raise IntsetError("intset shorter than its header")
    width, count = _HEADER.unpack_from(data)  # (header_ok written out: a load's hot path)
    if width not in _FORMATS or len(data) != 8 + width * count or count == 0:
        raise IntsetError("intset size wrong, or empty")
    values = _array_reader(count, width)(data, 8)
    if not all(map(operator.lt, values, values[1:])):
        raise IntsetError("intset not strictly ascending")
    return (b"%d " * count % values).split()


_HEADER = struct.Struct("<II")


@functools.lru_cache(maxsize=1024)
def _array_reader(count: int, width: int):
    """unpack_from for `count` integers of `width` bytes (made once: most sets are alike)."""
    return struct.Struct(f"<{count}{_FORMATS[width]}").unpack_from
