"""Redis's HyperLogLog, byte for byte, over the string that holds it (sans-I/O).

An HLL is a string value: a 16-byte header, then the registers. The header is "HYLL", an
encoding byte (0 dense, 1 sparse), three unused bytes, and the cached cardinality as a 64-bit
little-endian number whose top bit set means "stale, count again". There are 16384 registers
(the low 14 bits of an element's hash pick one); each holds the longest run seen of zero bits
(plus one) in the remaining 50 bits, so 1 to 51.

- Dense: 16384 registers of 6 bits, packed from the least significant bit of each byte up
  (12288 bytes after the header).
- Sparse: opcodes run over the registers in order. ZERO `00xxxxxx` is 1-64 zero registers;
  XZERO `01xxxxxx yyyyyyyy` is 1-16384 zero registers (14 bits, plus one); VAL `1vvvvvxx` is 1-4
  registers holding 1-32 (each field plus one). A register above 32, or an edit that would make
  the string longer than `hll-sparse-max-bytes`, turns it dense for good.

Sparse edits are made in place as Redis makes them (split the opcode that covers the register,
then merge equal VAL neighbours within a small window), not by re-encoding: the bytes, and so
GET, DUMP and the RDB file, are then those Redis writes. `Corrupt` is Redis's "invalid HLL"
(INVALIDOBJ); a string that is not an HLL at all is caught earlier, by `is_hll`.
"""
from __future__ import annotations

import math
import struct

MAGIC = b"HYLL"
HEADER = 16
DENSE, SPARSE = 0, 1
P = 14                              # bits of the hash that pick the register
Q = 64 - P                          # bits left to count zeros in
REGISTERS = 1 << P
DENSE_SIZE = HEADER + REGISTERS * 6 // 8
SPARSE_VAL_MAX = 32                 # the largest register value a VAL opcode holds
SPARSE_VAL_RUN_MAX = 4
SPARSE_ZERO_RUN_MAX = 64
SPARSE_XZERO_RUN_MAX = 16384
SEED = 0xADC83B19                   # Redis's seed for MurmurHash64A
STALE = 0x80                        # top bit of the cache's last byte
ALPHA_INF = 0.721347520444481703680  # 0.5 / ln 2

_M = 0xC6A4A7935BD1E995
_MASK = (1 << 64) - 1


class Corrupt(Exception):
    """The registers do not add up to an HLL (Redis: `INVALIDOBJ Corrupted HLL object detected`)."""


# --- hashing ---------------------------------------------------------------------------------

def murmurhash64a(data: bytes, seed: int = SEED) -> int:
    """Austin Appleby's MurmurHash64A (MurmurHash2, 64-bit), blocks read little endian as
    Redis reads them on every machine. Written here: no maintained package offers this variant."""
    length = len(data)
    h = (seed ^ (length * _M)) & _MASK
    blocks = length // 8
    for (k,) in struct.iter_unpack("<Q", data[:blocks * 8]):
        k = (k * _M) & _MASK
        k ^= k >> 47
        k = (k * _M) & _MASK
        h = ((h ^ k) * _M) & _MASK
    tail = data[blocks * 8:]
    if tail:
        h = ((h ^ int.from_bytes(tail, "little")) * _M) & _MASK
    h ^= h >> 47
    h = (h * _M) & _MASK
    return h ^ (h >> 47)


def register_of(element: bytes) -> tuple[int, int]:
    """(register index, value) an element asks for: the low 14 bits of its hash, and the
    position of the lowest set bit among the other 50 (1 to 51)."""
    hash_ = murmurhash64a(element)
    rest = (hash_ >> P) | (1 << Q)   # a 1 past the last bit: at most Q + 1
    return hash_ & (REGISTERS - 1), (rest & -rest).bit_length()


# --- the header ------------------------------------------------------------------------------

def new() -> bytearray:
    """An empty HLL as Redis creates one: sparse, one XZERO of every register, cache 0."""
    hll = bytearray(MAGIC) + bytes(HEADER - len(MAGIC))
    hll[4] = SPARSE
    hll += _xzero(REGISTERS)
    return hll


def is_hll(value) -> bool:
    """Does the string look like an HLL (Redis's isHLLObjectOrReply): the magic, a known
    encoding, and a dense one exactly the dense size. The registers are checked when used."""
    return (len(value) >= HEADER and value[:4] == MAGIC and value[4] in (DENSE, SPARSE)
            and (value[4] != DENSE or len(value) == DENSE_SIZE))


def cached(hll) -> int | None:
    """The cached cardinality, or None if it is stale."""
    if hll[15] & STALE:
        return None
    return int.from_bytes(hll[8:16], "little")


def store_cache(hll: bytearray, cardinality: int) -> None:
    hll[8:16] = (cardinality & _MASK).to_bytes(8, "little")


def invalidate(hll: bytearray) -> None:
    """Mark the cache stale; its other bits stay as they were (they are in the bytes)."""
    hll[15] |= STALE


# --- dense -----------------------------------------------------------------------------------

def dense_get(hll, index: int) -> int:
    byte, shift = HEADER + index * 6 // 8, index * 6 & 7
    return ((hll[byte] >> shift) | (_byte(hll, byte + 1) << (8 - shift))) & 63


def dense_put(hll: bytearray, index: int, value: int) -> None:
    """Write a register (0-63) of a dense HLL."""
    byte, shift = HEADER + index * 6 // 8, index * 6 & 7
    hll[byte] = (hll[byte] & ~(63 << shift) & 0xFF) | ((value << shift) & 0xFF)
    if byte + 1 < len(hll):           # (the last register ends its string's last byte)
        hll[byte + 1] = (hll[byte + 1] & ~(63 >> (8 - shift))) | (value >> (8 - shift))


def dense_set(hll: bytearray, index: int, value: int) -> bool:
    """Raise the register to value if it is lower; whether it was."""
    if value <= dense_get(hll, index):
        return False
    dense_put(hll, index, value)
    return True


def dense_registers(hll) -> list[int]:
    """The 16384 register values of a dense HLL (three bytes hold four registers)."""
    values = []
    data = bytes(hll[HEADER:DENSE_SIZE])
    for i in range(0, len(data), 3):
        word = data[i] | data[i + 1] << 8 | data[i + 2] << 16
        values += (word & 63, word >> 6 & 63, word >> 12 & 63, word >> 18)
    return values


# --- sparse opcodes ----------------------------------------------------------------------------

def _xzero(run: int) -> bytes:
    return bytes(((run - 1) >> 8 | 0x40, (run - 1) & 0xFF))


def _zero(run: int) -> bytes:
    return bytes((run - 1,))


def _val(value: int, run: int) -> int:
    return 0x80 | (value - 1) << 2 | (run - 1)


def _zeros(run: int) -> bytes:
    """Redis's choice for a run of zeros inside a split: XZERO only if ZERO cannot hold it."""
    return _xzero(run) if run > SPARSE_ZERO_RUN_MAX else _zero(run)


def _byte(hll, i: int) -> int:
    """hll[i], or 0 just past the end: Redis's strings end in a NUL that a truncated XZERO reads."""
    return hll[i] if i < len(hll) else 0


def opcode(hll, p: int) -> tuple[str, int, int, int]:
    """(kind "zero"/"xzero"/"val", registers covered, value, bytes taken) of the opcode at p."""
    b = hll[p]
    if b & 0x80:
        return "val", (b & 3) + 1, (b >> 2 & 31) + 1, 1
    if b & 0x40:
        return "xzero", ((b & 0x3F) << 8 | _byte(hll, p + 1)) + 1, 0, 2
    return "zero", (b & 0x3F) + 1, 0, 1


def sparse_runs(hll):
    """(registers covered, value) of each opcode, in order."""
    p = HEADER
    while p < len(hll):
        _, run, value, size = opcode(hll, p)
        yield run, value
        p += size


def _sparse_to_max(hll, registers: list[int] | None) -> list[int]:
    """Redis's walk of a sparse HLL when converting or merging it: the runs are applied to
    `registers` (max); a run past the last register, or runs that end short of it, are Corrupt
    (as in Debian's 7.0.15, which has the fix of CVE-2025-32023: upstream 7.0.15 let a VAL past
    the end stop the walk quietly)."""
    registers = [0] * REGISTERS if registers is None else registers
    index = 0
    for run, value in sparse_runs(hll):
        if index + run > REGISTERS:
            raise Corrupt
        if value:
            for i in range(index, index + run):
                if value > registers[i]:
                    registers[i] = value
        index += run
    if index != REGISTERS:
        raise Corrupt
    return registers


def to_dense(hll: bytearray) -> bool:
    """Make a sparse HLL dense in place (the header, cache included, is kept); whether it was
    sparse. Corrupt if its registers do not add up."""
    if hll[4] == DENSE:
        return False
    registers = _sparse_to_max(hll, None)
    dense = bytearray(hll[:HEADER]) + bytes(DENSE_SIZE - HEADER)
    dense[4] = DENSE
    for index, value in enumerate(registers):
        if value:
            dense_set(dense, index, value)
    hll[:] = dense
    return True


def _sparse_set(hll: bytearray, index: int, value: int, max_bytes: int) -> bool:
    """Raise register `index` to `value` in a sparse HLL, as Redis's hllSparseSet: find the
    opcode covering it, split it into at most three, merge equal VAL neighbours near it; or go
    dense if the value does not fit a VAL or the string would outgrow max_bytes."""
    if value > SPARSE_VAL_MAX:
        return _promote(hll, index, value)
    end = len(hll)
    p, first, span, previous = HEADER, 0, 0, None
    while p < end:
        kind, span, current, size = opcode(hll, p)
        if index <= first + span - 1:
            break
        previous, p, first = p, p + size, first + span
    else:
        raise Corrupt                       # the runs end before the register
    following = p + size < end
    if kind == "val":
        if current >= value:
            return False
        if span == 1:
            hll[p] = _val(value, 1)
            return _merge_neighbours(hll, previous)
    if kind == "zero" and span == 1:
        hll[p] = _val(value, 1)
        return _merge_neighbours(hll, previous)
    last = first + span - 1
    if kind == "val":
        before = bytes((_val(current, index - first),)) if index != first else b""
        after = bytes((_val(current, last - index),)) if index != last else b""
    else:
        before = _zeros(index - first) if index != first else b""
        after = _zeros(last - index) if index != last else b""
    sequence = before + bytes((_val(value, 1),)) + after
    grow = len(sequence) - size
    if grow > 0 and end + grow > max_bytes:
        return _promote(hll, index, value)
    if following:
        hll[p:p + size] = sequence
    else:
        # The last opcode: its bytes end the string (a truncated XZERO's second byte was the
        # terminating NUL, so the string ends one byte earlier than the sequence written).
        hll[p:] = sequence
        del hll[end + grow:]
    return _merge_neighbours(hll, previous)


def _merge_neighbours(hll: bytearray, previous: int | None) -> bool:
    """Merge adjacent VALs of one value (up to 4 registers together), looking at no more than
    five opcodes from the one before the change; then the cache is stale."""
    p = HEADER if previous is None else previous
    looks = 5
    while p < len(hll) and looks:
        looks -= 1
        kind, run, value, size = opcode(hll, p)
        if kind != "val":
            p += size
            continue
        if p + 1 < len(hll) and hll[p + 1] & 0x80:
            _, next_run, next_value, _ = opcode(hll, p + 1)
            if next_value == value and run + next_run <= SPARSE_VAL_RUN_MAX:
                hll[p + 1] = _val(value, run + next_run)
                del hll[p]
                continue                    # and try again with what follows
        p += 1
    invalidate(hll)
    return True


def _promote(hll: bytearray, index: int, value: int) -> bool:
    to_dense(hll)
    changed = dense_set(hll, index, value)
    assert changed, "a register that needed a sparse update is lower in the dense copy"
    return True


# --- what the commands do ----------------------------------------------------------------------

def set_register(hll: bytearray, index: int, value: int, max_sparse_bytes: int) -> bool:
    """Raise a register to value if lower, in either encoding; whether it changed."""
    if hll[4] == DENSE:
        return dense_set(hll, index, value)
    return _sparse_set(hll, index, value, max_sparse_bytes)


def add(hll: bytearray, element: bytes, max_sparse_bytes: int) -> bool:
    """Count an element; whether a register changed (the cache is then stale for sparse HLLs;
    the caller marks dense ones, as Redis's PFADD does)."""
    index, value = register_of(element)
    return set_register(hll, index, value, max_sparse_bytes)


def merge_into(registers: list[int], hll) -> None:
    """registers[i] = max(registers[i], the HLL's register i) (Redis's hllMerge)."""
    if hll[4] == DENSE:
        for i, value in enumerate(dense_registers(hll)):
            if value > registers[i]:
                registers[i] = value
    else:
        _sparse_to_max(hll, registers)


def histogram_of_registers(registers) -> list[int]:
    histogram = [0] * 64
    for value in registers:
        histogram[value] += 1
    return histogram


def histogram(hll) -> list[int]:
    """How many registers hold each value 0-63; Corrupt if a sparse HLL's runs do not cover
    exactly 16384 registers (counted without the walk's other checks, as Redis's count is)."""
    if hll[4] == DENSE:
        return histogram_of_registers(dense_registers(hll))
    counts, covered = [0] * 64, 0
    for run, value in sparse_runs(hll):
        counts[value] += run
        covered += run
    if covered != REGISTERS:
        raise Corrupt
    return counts


def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y, z = 1.0, x
    while True:
        x *= x
        previous = z
        z += x * y
        y += y
        if previous == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y, z = 1.0, 1.0 - x
    while True:
        x = math.sqrt(x)
        previous = z
        y *= 0.5
        z -= math.pow(1 - x, 2) * y
        if previous == z:
            return z / 3


def _llround(x: float) -> int:
    """C's llroundl of a double: half away from zero. What does not fit a long long (infinity:
    every register at 51 or more) gives what x86-64 gives, LLONG_MIN."""
    if not math.isfinite(x) or x >= 2.0 ** 63:
        return -(1 << 63)
    whole = math.floor(x)
    return whole + 1 if x - whole >= 0.5 else whole


def estimate(counts: list[int]) -> int:
    """The cardinality from the registers' histogram: Otmar Ertl's improved estimator, as
    Redis 7.0 computes it (in doubles, in its order), as an unsigned 64-bit number."""
    m = float(REGISTERS)
    z = m * _tau((m - counts[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += counts[j]
        z *= 0.5
    z += m * _sigma(counts[0] / m)
    return _llround(ALPHA_INF * m * m / z if z else math.inf) & _MASK


def count(hll) -> int:
    return estimate(histogram(hll))


def decode(hll) -> str:
    """PFDEBUG DECODE's text of a sparse HLL: `Z:n` XZERO, `z:n` ZERO, `v:value,n` VAL."""
    words = []
    p = HEADER
    while p < len(hll):
        kind, run, value, size = opcode(hll, p)
        words.append(f"v:{value},{run}" if kind == "val" else f"{'Z' if kind == 'xzero' else 'z'}:{run}")
        p += size
    return " ".join(words)
