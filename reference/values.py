"""Numbers as Redis reads and writes them.

Redis is strict where Python is lenient: an integer argument is an optional '-' and digits with
no leading zero, no '+', no spaces, within a signed 64-bit range; a float argument is what C's
strtod accepts (so 'inf', '1e3', '.5', hex floats) but not NaN and not surrounded by spaces.
"""
import re

INTEGER_ERROR = "ERR value is not an integer or out of range"
FLOAT_ERROR = "ERR value is not a valid float"

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
# The bytes a string that string2ll accepts can begin with: a cheap test before calling it.
INTEGER_FIRST_BYTES = frozenset(b"-0123456789")

_FLOAT = re.compile(rb"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?)", re.I)
_HEX_FLOAT = re.compile(rb"[+-]?0x(?:[0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(?:p[+-]?[0-9]+)?", re.I)


class BadValue(Exception):
    """A number argument that is not one; the message is the error reply."""


def string2ll(raw: bytes) -> int | None:
    """Redis's string2ll: the signed 64-bit integer `raw` spells exactly, or None."""
    if len(raw) >= 21:
        return None
    if raw.isdigit():  # bytes.isdigit() accepts only ASCII 0-9
        if raw[0] == 0x30 and len(raw) > 1:
            return None
        value = int(raw)
        return value if value <= INT64_MAX else None
    if raw[:1] == b"-" and raw[1:].isdigit() and raw[1] != 0x30:
        value = -int(raw[1:])
        return value if value >= INT64_MIN else None
    return None


def parse_int(raw: bytes, error: str = INTEGER_ERROR) -> int:
    """An integer argument, or the error reply `error`."""
    value = string2ll(raw)
    if value is None:
        raise BadValue(error)
    return value


def is_int(raw: bytes) -> bool:
    """Would parse_int accept it (and would Redis store it as an int-encoded string)?"""
    return string2ll(raw) is not None


def parse_float(raw: bytes, error: str = FLOAT_ERROR) -> float:
    """Redis's getDoubleFromObject: strtod over the whole string, no NaN, no spaces."""
    if _FLOAT.fullmatch(raw):
        return float(raw)
    if _HEX_FLOAT.fullmatch(raw):
        text = raw.decode()
        sign = -1.0 if text.startswith("-") else 1.0
        text = text.lstrip("+-")
        if "p" not in text.lower():
            text += "p0"
        return sign * float.fromhex(text)
    raise BadValue(error)


def index_range(length: int, start: int, stop: int) -> tuple[int, int] | None:
    """Redis's inclusive start/stop indexes (LRANGE, LTRIM, ZRANGE by rank) into a sequence of
    `length`: negatives count from the end, the range is clipped to the sequence; None if
    empty."""
    if start < 0:
        start += length
    if stop < 0:
        stop += length
    start = max(start, 0)
    if start > stop or start >= length:
        return None
    return start, min(stop, length - 1)
