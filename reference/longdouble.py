"""INCRBYFLOAT's arithmetic: C `long double` on x86-64, emulated exactly.

Redis reads both operands with strtold, adds them in the x87 80-bit extended format (a 64-bit
significand, exponents down to 2**-16382 with subnormals below, overflow past 2**16384) and
prints the sum with "%.17Lf" before trimming trailing zeros. Python floats have a 53-bit
significand, so they would print 10.6 as 10.59999999999999964. Here every finite value is an
exact `Fraction` holding a number the 80-bit format can represent; each step rounds the exact
result to nearest, ties to even, as the x87 unit and glibc do. Infinities are math.inf/-math.inf.
The sign of zero is not kept: Redis never shows it (a "-0" result is printed as "0").
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

SIGNIFICAND_BITS = 64
MIN_NORMAL_EXPONENT = -16382                      # 2**-16382 is the smallest normal number
SMALLEST_QUANTUM = MIN_NORMAL_EXPONENT - (SIGNIFICAND_BITS - 1)   # 2**-16445, least subnormal
OVERFLOW_EXPONENT = 16384                         # values rounding to 2**16384 or more are inf

# strtold reads at most this buffer in Redis (MAX_LONG_DOUBLE_CHARS): longer text is refused.
MAX_TEXT_LENGTH = 5 * 1024 - 1
DECIMALS = 17                                      # "%.17Lf"

_DECIMAL = re.compile(rb"([+-]?)([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?")
_HEX = re.compile(rb"([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?(?:[pP]([+-]?[0-9]+))?")
_INFINITY = re.compile(rb"([+-]?)(?:inf|infinity)", re.I)
_C_SPACE = b" \t\n\v\f\r"

# Decimal exponents beyond these bounds certainly overflow / underflow (the largest finite value
# is about 1.19e4932, the smallest subnormal about 3.6e-4951); checking them first keeps the
# exact arithmetic away from numbers like 10**-(10**12).
_DECIMAL_MAGNITUDE_LIMITS = (-4960, 4940)
_BINARY_MAGNITUDE_LIMITS = (SMALLEST_QUANTUM - 2, OVERFLOW_EXPONENT + 4)


# Python refuses int <-> decimal text conversions beyond 4300 digits (sys.int_info), and these
# numbers can have up to about 5000: convert in pieces below that size.
_PIECE = 4000


def _int_from_decimal(digits: bytes) -> int:
    if len(digits) <= _PIECE:
        return int(digits)
    head, tail = digits[:-_PIECE], digits[-_PIECE:]
    return _int_from_decimal(head) * 10 ** _PIECE + int(tail)


def _decimal_from_int(number: int) -> str:
    if number < 10 ** _PIECE:
        return str(number)
    head, tail = divmod(number, 10 ** _PIECE)
    return _decimal_from_int(head) + str(tail).zfill(_PIECE)


def round_to_long_double(exact: Fraction) -> Fraction | float:
    """The 80-bit value nearest to `exact` (ties to even), or an infinity on overflow."""
    if exact == 0:
        return Fraction(0)
    magnitude = abs(exact)
    # exponent such that 2**exponent <= magnitude < 2**(exponent + 1)
    exponent = magnitude.numerator.bit_length() - magnitude.denominator.bit_length()
    if Fraction(2) ** exponent > magnitude:
        exponent -= 1
    quantum = max(exponent - (SIGNIFICAND_BITS - 1), SMALLEST_QUANTUM)
    units = round(magnitude / Fraction(2) ** quantum)   # Fraction rounds half to even
    rounded = units * Fraction(2) ** quantum
    if rounded >= Fraction(2) ** OVERFLOW_EXPONENT:
        return math.inf if exact > 0 else -math.inf
    return rounded if exact > 0 else -rounded


def parse(text: bytes) -> Fraction | float | None:
    """What Redis's string2ld makes of `text`: the rounded value, an infinity for "inf", or None
    where it refuses (empty, too long, leading space, trailing junk, NaN, overflow, or a nonzero
    number so small it rounds to zero)."""
    if not text or len(text) > MAX_TEXT_LENGTH or text[0] in _C_SPACE:
        return None
    if match := _INFINITY.fullmatch(text):
        return -math.inf if match.group(1) == b"-" else math.inf
    if match := _HEX.fullmatch(text):
        base, bits_per_digit, limits = 16, 4, _BINARY_MAGNITUDE_LIMITS
    elif match := _DECIMAL.fullmatch(text):
        base, bits_per_digit, limits = 10, None, _DECIMAL_MAGNITUDE_LIMITS
    else:
        return None
    sign, whole, fraction, exponent = match.group(1), match.group(2), match.group(3) or b"", match.group(4)
    if not whole and not fraction:
        return None   # "", ".", "e5", "0x": strtold stops before the end
    digits = (whole + fraction).lstrip(b"0")
    if not digits:
        return Fraction(0)
    power = int(exponent or 0)
    if base == 10:
        scale_base, scale = 10, power - len(fraction)
        magnitude = len(digits) + scale                  # about log10 of the value
    else:
        scale_base, scale = 2, power - bits_per_digit * len(fraction)
        magnitude = bits_per_digit * len(digits) + scale  # about log2 of the value
    if magnitude > limits[1]:
        return None                                      # ERANGE, HUGE_VAL
    if magnitude < limits[0]:
        return None                                      # ERANGE, rounded to zero
    mantissa = _int_from_decimal(digits) if base == 10 else int(digits, 16)
    exact = mantissa * Fraction(scale_base) ** scale
    value = round_to_long_double(-exact if sign == b"-" else exact)
    if value == 0 or isinstance(value, float):
        return None                                      # underflow to zero, or overflow
    return value


def add(a: Fraction | float, b: Fraction | float) -> Fraction | float:
    """a + b rounded to the 80-bit format; an infinity or NaN if either operand is infinite."""
    if isinstance(a, float) or isinstance(b, float):
        return a + b
    return round_to_long_double(a + b)


def format_human(value: Fraction) -> bytes:
    """A finite value as Redis prints it for INCRBYFLOAT: "%.17Lf" (the exact binary value
    rounded to 17 decimals, ties to even), trailing zeros and a bare '.' removed, "-0" as "0"."""
    units = round(abs(value) * 10 ** DECIMALS)
    whole, fraction = divmod(units, 10 ** DECIMALS)
    text = f"{'-' if value < 0 else ''}{_decimal_from_int(whole)}.{fraction:0{DECIMALS}d}".rstrip("0").rstrip(".")
    return b"0" if text == "-0" else text.encode()
