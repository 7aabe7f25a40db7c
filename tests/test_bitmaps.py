"""Unit tests of the bitmaps family's pure helpers: BITFIELD's types, field reads and writes,
and its overflow arithmetic, checked against plain bit-string models."""
import pytest
from hypothesis import given, strategies as st

from reference.commands.bitmaps import bits_of, field_type, overflow, read_field, write_field
from reference.dispatch import CommandError
from reference.values import BadValue


def as_bits(value: bytes) -> str:
    return "".join(f"{byte:08b}" for byte in value)


@pytest.mark.parametrize("raw, expected", [(b"i1", (True, 1)), (b"i64", (True, 64)), (b"u1", (False, 1)),
                                           (b"u63", (False, 63))])
def test_field_types(raw, expected):
    assert field_type(raw) == expected


@pytest.mark.parametrize("raw", [b"u64", b"i65", b"i0", b"u0", b"i", b"I8", b"x8", b"i08", b"i-1", b"", b"i 8"])
def test_bad_field_types(raw):
    with pytest.raises((CommandError, BadValue), match="Invalid bitfield type"):
        field_type(raw)


@pytest.mark.parametrize("value, signed, width, mode, expected", [
    (255, False, 8, b"wrap", 255), (256, False, 8, b"wrap", 0), (-1, False, 8, b"wrap", 255),
    (256, False, 8, b"sat", 255), (-1, False, 8, b"sat", 0), (256, False, 8, b"fail", None),
    (128, True, 8, b"wrap", -128), (-129, True, 8, b"wrap", 127), (128, True, 8, b"sat", 127),
    (-129, True, 8, b"sat", -128), (-129, True, 8, b"fail", None), (-128, True, 8, b"fail", -128),
    (2**63, True, 64, b"wrap", -2**63), (-2**63 - 1, True, 64, b"sat", -2**63),
    (1, True, 1, b"wrap", -1), (-1, True, 1, b"fail", -1), (2**63, False, 63, b"wrap", 0),
])
def test_overflow(value, signed, width, mode, expected):
    assert overflow(value, signed, width, mode) == expected


@given(st.integers(-2**70, 2**70), st.booleans(), st.integers(1, 63))
def test_wrap_keeps_the_low_bits(value, signed, width):
    stored = overflow(value, signed, width, b"wrap")
    assert (stored - value) % (1 << width) == 0              # same low bits
    low = -(1 << (width - 1)) if signed else 0
    assert low <= stored < low + (1 << width)


@given(st.binary(max_size=10), st.integers(0, 90), st.integers(1, 64), st.booleans())
def test_read_field_is_the_bits_there(value, offset, width, signed):
    text = as_bits(value)[offset:offset + width].ljust(width, "0")   # zeros past the end
    expected = int(text, 2) - ((1 << width) if signed and text[0] == "1" else 0)
    assert read_field(value, offset, signed, width) == expected


@given(st.binary(min_size=10, max_size=12), st.integers(0, 16), st.integers(1, 64), st.integers(0, 2**64 - 1))
def test_write_field_changes_only_its_bits(value, offset, width, number):
    buffer = bytearray(value)
    write_field(buffer, offset, width, number)
    before, after = as_bits(value), as_bits(buffer)
    field = format(number & ((1 << width) - 1), f"0{width}b")
    assert after == before[:offset] + field + before[offset + width:]


def test_bits_of():
    assert bits_of(b"\x0f\xf0", 4, 11) == "11111111"
    assert bits_of(b"\x0f\xf0", 0, 0) == "0"
    assert bits_of(b"\x0f\xf0", 15, 15) == "0"
