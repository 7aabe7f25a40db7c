"""LZF by hand: the compressor and decompressor that reference/persistence/lzf.py gets from the
liblzf C library, written out step by step in Python. They are the specification the library is
checked against (tests/test_lzf.py): the same bytes out, the same verdict on damaged input.

`compress_python` makes the same choices as liblzf as built into Redis (HLOG 16, VERY_FAST), so
that it writes the bytes Redis writes: a hash of the next three bytes finds the last position
they were seen at, a match is taken when it is within reach, and after a match only the two
positions before its end are hashed. The format itself is described in lzf.py.
"""
from __future__ import annotations

from reference.persistence.lzf import LZFError

HASH_BITS = 16
MAX_LITERAL = 32
MAX_OFFSET = 1 << 13
MAX_REFERENCE = (1 << 8) + (1 << 3)



def _slot(h: int) -> int:
    return ((h >> (24 - HASH_BITS)) - h * 5) & ((1 << HASH_BITS) - 1)


def compress_python(data: bytes, limit: int) -> bytes | None:
    """data compressed into at most `limit` bytes, or None if it does not fit. The bound checks
    are liblzf's own, which are a little conservative: the same inputs fit or not as in Redis."""
    n = len(data)
    if n == 0 or limit <= 0:
        return None
    out = bytearray()        # finished chunks
    literal = bytearray()    # the open literal run (liblzf reserves its control byte ahead)
    table: dict[int, int] = {}

    def position() -> int:   # liblzf's output pointer: past the reserved control byte
        return len(out) + 1 + len(literal)

    def close_run() -> None:
        if literal:
            out.append(len(literal) - 1)
            out.extend(literal)
            literal.clear()

    ip = 0
    h = (data[0] << 8) | data[1] if n > 1 else 0
    while ip < n - 2:
        h = ((h << 8) | data[ip + 2]) & 0xFFFFFFFF
        slot = _slot(h)
        ref = table.get(slot)
        table[slot] = ip
        if ref is not None and 0 < ref and ip - ref - 1 < MAX_OFFSET and data[ref:ref + 3] == data[ip:ip + 3]:
            offset = ip - ref - 1
            max_length = min(n - ip - 2, MAX_REFERENCE)
            if position() + 4 >= limit and position() - (not literal) + 4 >= limit:
                return None
            length = 2
            mismatch = False
            if max_length > 16:  # liblzf compares 16 bytes unchecked before its bounded loop
                for _ in range(16):
                    length += 1
                    if data[ref + length] != data[ip + length]:
                        mismatch = True
                        break
            if not mismatch:
                length += 1
                while length < max_length and data[ref + length] == data[ip + length]:
                    length += 1
            close_run()
            length -= 2  # stored as the number of bytes copied minus two
            if length < 7:
                out.append((offset >> 8) + (length << 5))
            else:
                out.append((offset >> 8) + (7 << 5))
                out.append(length - 7)
            out.append(offset & 0xFF)
            ip += length + 2
            if ip >= n - 2:
                break
            ip -= 2  # VERY_FAST: hash only the two positions before the match's end
            h = (data[ip] << 8) | data[ip + 1]
            h = ((h << 8) | data[ip + 2]) & 0xFFFFFFFF
            table[_slot(h)] = ip
            ip += 1
            h = ((h << 8) | data[ip + 2]) & 0xFFFFFFFF
            table[_slot(h)] = ip
            ip += 1
        else:
            if position() >= limit:
                return None
            literal.append(data[ip])
            ip += 1
            if len(literal) == MAX_LITERAL:
                close_run()
    if position() + 3 > limit:
        return None
    for byte in data[ip:]:
        literal.append(byte)
        if len(literal) == MAX_LITERAL:
            close_run()
    close_run()
    return bytes(out)


def decompress_python(data: bytes, length: int) -> bytes:
    """The original bytes, which must be exactly `length` long; LZFError otherwise."""
    out = bytearray()
    i = 0
    n = len(data)
    while i < n:
        control = data[i]
        i += 1
        if control < MAX_LITERAL:
            run = control + 1
            if i + run > n:
                raise LZFError("literal run past the end of the input")
            out += data[i:i + run]
            i += run
        else:
            size = control >> 5
            if size == 7:
                if i >= n:
                    raise LZFError("truncated back-reference")
                size += data[i]
                i += 1
            if i >= n:
                raise LZFError("truncated back-reference")
            start = len(out) - ((control & 0x1F) << 8) - data[i] - 1
            i += 1
            if start < 0:
                raise LZFError("back-reference before the start of the output")
            for k in range(size + 2):  # byte by byte: a reference may overlap its own output
                out.append(out[start + k])
        if len(out) > length:
            raise LZFError("output longer than announced")
    if len(out) != length:
        raise LZFError("output shorter than announced")
    return bytes(out)
