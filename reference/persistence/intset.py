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


def decode(data: bytes) -> list[bytes]:
    """The members, ascending, as their decimal texts; IntsetError if malformed."""
    if len(data) < 8:
        raise IntsetError("intset too short")
    width, count = _HEADER.unpack_from(data)
    if width not in _FORMATS or len(data) != 8 + width * count:
        raise IntsetError("intset size wrong")
    values = _array_reader(count, width)(data, 8)
    if not all(map(operator.lt, values, values[1:])):
        raise IntsetError("intset not strictly ascending")
    # All the texts from one formatting, b"1 2 3 ".split(): a fraction of one per member.
    return (b"%d " * count % values).split()


_HEADER = struct.Struct("<II")


@functools.lru_cache(maxsize=1024)
def _array_reader(count: int, width: int):
    """unpack_from for `count` integers of `width` bytes (made once: most sets are alike)."""
    return struct.Struct(f"<{count}{_FORMATS[width]}").unpack_from
