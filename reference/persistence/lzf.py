"""LZF, the compression Redis applies to long strings in RDB files and DUMP payloads.

A compressed stream is a sequence of chunks. A control byte below 32 starts a run of that many
plus one literal bytes. Otherwise its top three bits give a back-reference length (7 meaning
"one more byte follows with the rest") and, with the next byte, a 13-bit distance back into
the output already produced: length + 2 bytes are copied from output[-distance - 1].

Compressing makes choices the format leaves open; the reference must make Redis's to write the
bytes Redis does. Redis builds liblzf 3.6 with HLOG 16 and VERY_FAST (src/lzfP.h): a hash of the
next three bytes finds the last position they were seen at, a match is taken when it is within
reach, and after a match only the two positions before its end are hashed. The functions here
are that very library (the `python-neo-lzf` package bundles liblzf 3.6 with the same
configuration); tests/lzf_by_hand.py writes the algorithm out in Python as its specification,
and tests/test_lzf.py checks that the two give the same bytes and judge damaged input alike.

liblzf leaves its hash table uninitialised (Redis's INIT_HTAB 0) and the Python binding keeps it
as offsets where Redis keeps pointers; neither changes the output: a stale entry can only lead to
a match when the three bytes it points at equal the current three, and the first position with
those bytes was hashed in this very call, so the slot is no longer stale.
"""
from __future__ import annotations

import lzf as liblzf


class LZFError(ValueError):
    """The compressed data is malformed or does not expand to the announced length."""


def compress(data: bytes, limit: int) -> bytes | None:
    """data compressed into at most `limit` bytes (2 or more), or None if it does not fit
    (Redis compresses strings longer than 20 bytes, into len(data) - 4 bytes at most, so that
    compressing pays)."""
    # The binding gives liblzf one byte more room than it is asked for.
    return liblzf.compress(bytes(data), limit - 1)


def decompress(data: bytes, length: int) -> bytes:
    """The original bytes, which must be exactly `length` long; LZFError otherwise."""
    try:
        out = liblzf.decompress(bytes(data), length)
    except (ValueError, OverflowError, MemoryError):  # damaged; a length past 63 bits, or memory
        out = None
    if out is None or len(out) != length:
        raise LZFError("malformed, or not the announced length")
    return out
