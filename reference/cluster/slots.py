"""Key slots (spec/cluster.md, "Keys and slots"): the 16384 slots a cluster's keys are spread
over, a key's slot, and the two forms a set of slots is written in: the bitmap of the cluster
bus and the ranges of CLUSTER NODES and nodes.conf.

The CRC is CRC-16/XMODEM (polynomial 0x1021, initial value 0, bits not reflected, no final
xor), which is what Python's `binascii.crc_hqx` computes when started from 0: the standard
library's C, so no dependency (redis-py's `redis.crc.key_slot` does the same, but the reference
does not depend on a client library).
"""
from __future__ import annotations

from binascii import crc_hqx

SLOTS = 16384
BITMAP_SIZE = SLOTS // 8  # bytes in a slot bitmap


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM of data: the check value of b"123456789" is 0x31c3."""
    return crc_hqx(data, 0)


def hash_tag(key: bytes) -> bytes:
    """The part of key that decides its slot: what lies between its first `{` and the first `}`
    after that, if that is not empty; else the whole key (`{}x`, `x{` and `x}{` hash whole)."""
    start = key.find(b"{")
    if start == -1:
        return key
    end = key.find(b"}", start + 1)
    if end == -1 or end == start + 1:
        return key
    return key[start + 1:end]


def key_slot(key: bytes) -> int:
    """The slot of key: the low 14 bits of the CRC-16 of its hash tag (CLUSTER KEYSLOT)."""
    return crc16(hash_tag(bytes(key))) & (SLOTS - 1)


def slots_to_bitmap(slots) -> bytes:
    """A set of slots as the bus carries it: slot n is bit n % 8 (least significant first) of
    byte n // 8."""
    bitmap = bytearray(BITMAP_SIZE)
    for slot in slots:
        if not 0 <= slot < SLOTS:
            raise ValueError(f"slot {slot} out of range")
        bitmap[slot >> 3] |= 1 << (slot & 7)
    return bytes(bitmap)


def bitmap_to_slots(bitmap: bytes) -> list[int]:
    """The slots set in a bitmap of BITMAP_SIZE bytes, in increasing order."""
    if len(bitmap) != BITMAP_SIZE:
        raise ValueError(f"a slot bitmap has {BITMAP_SIZE} bytes, not {len(bitmap)}")
    return [(index << 3) | bit for index, byte in enumerate(bitmap) if byte
            for bit in range(8) if byte >> bit & 1]


def slot_ranges(slots) -> list[tuple[int, int]]:
    """A set of slots as runs of consecutive slots, (first, last) each, in increasing order:
    the ranges CLUSTER NODES writes as `first-last`, or `first` alone when first == last."""
    ranges: list[tuple[int, int]] = []
    for slot in sorted(set(slots)):
        if ranges and ranges[-1][1] == slot - 1:
            ranges[-1] = (ranges[-1][0], slot)
        else:
            ranges.append((slot, slot))
    return ranges
