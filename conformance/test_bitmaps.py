"""Conformance: the bitmaps family (spec/bitmaps.md): SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP,
BITFIELD, BITFIELD_RO over string values.

Expected values come from a bit string model written here (bit 0 is the most significant bit of
the first byte) or are worked out by hand in the comments.
"""
import os

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conformance.client import ErrorReply
from conformance.readings import changes, info

INTEGER_ERROR = ErrorReply("ERR value is not an integer or out of range")
SYNTAX_ERROR = ErrorReply("ERR syntax error")
WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
OFFSET_ERROR = ErrorReply("ERR bit offset is not an integer or out of range")
BIT_ERROR = ErrorReply("ERR bit is not an integer or out of range")
TYPE_ERROR = ErrorReply("ERR Invalid bitfield type. Use something like i16 u8. "
                        "Note that u64 is not supported but i64 is.")
OVERFLOW_ERROR = ErrorReply("ERR Invalid OVERFLOW type specified")
RO_ERROR = ErrorReply("ERR BITFIELD_RO only supports the GET subcommand")
BIT_ARGUMENT_ERROR = ErrorReply("ERR The bit argument must be 1 or 0.")
NOT_ERROR = ErrorReply("ERR BITOP NOT must be called with a single source key.")


def bits(value: bytes) -> str:
    """The model: a string as its bits, most significant first."""
    return "".join(f"{byte:08b}" for byte in value)


# -- SETBIT and GETBIT -------------------------------------------------------


def test_setbit_creates_the_key_with_zero_bytes_and_replies_the_old_bit(client):
    assert client.call("SETBIT", "k", 9, 1) == 0           # second byte, second bit
    assert client.call("GET", "k") == b"\x00\x40"
    assert client.call("SETBIT", "k", 9, 1) == 1
    assert client.call("SETBIT", "k", 9, 0) == 1
    assert client.call("SETBIT", "k", 0, 1) == 0
    assert client.call("GET", "k") == b"\x80\x00"
    assert client.call("SETBIT", "k", 31, 0) == 0          # grows even when clearing
    assert client.call("GET", "k") == b"\x80\x00\x00\x00"


def test_setbit_on_an_existing_string_keeps_its_ttl(client):
    client.call("SET", "k", "@")                           # 0100 0000
    client.call("EXPIRE", "k", 1000)
    assert client.call("SETBIT", "k", 1, 0) == 1
    assert client.call("SETBIT", "k", 7, 1) == 0
    assert client.call("GET", "k") == b"\x01"
    assert 0 < client.call("TTL", "k") <= 1000


@pytest.mark.internals("OBJECT ENCODING")
def test_a_string_written_by_bit_commands_is_raw(client):
    client.call("SET", "n", "12")
    assert client.call("OBJECT", "ENCODING", "n") == b"int"
    client.call("SETBIT", "n", 0, 0)                       # "1" is 0011 0001: unchanged
    assert client.call("GET", "n") == b"12"
    assert client.call("OBJECT", "ENCODING", "n") == b"raw"
    client.call("SETBIT", "new", 3, 1)
    client.call("BITFIELD", "field", "SET", "u8", 0, 65)
    client.call("SET", "a", "x")
    client.call("BITOP", "OR", "dest", "a")
    for key in ("new", "field", "dest"):
        assert client.call("OBJECT", "ENCODING", key) == b"raw"


@pytest.mark.parametrize("offset, value, error", [
    (-1, 1, OFFSET_ERROR), ("abc", 1, OFFSET_ERROR), ("1.0", 1, OFFSET_ERROR), (" 1", 1, OFFSET_ERROR),
    (4294967296, 1, OFFSET_ERROR), (2**64, 1, OFFSET_ERROR),
    (1, 2, BIT_ERROR), (1, -1, BIT_ERROR), (1, "x", BIT_ERROR), (1, "", BIT_ERROR),
    ("x", "x", OFFSET_ERROR),                              # the offset first
])
def test_setbit_bad_arguments(client, offset, value, error):
    assert client.call("SETBIT", "k", offset, value) == error
    assert client.call("EXISTS", "k") == 0


def test_getbit(client):
    client.call("SET", "k", b"\x81\x01")
    assert [client.call("GETBIT", "k", i) for i in range(17)] == [int(b) for b in "1000000100000001"] + [0]
    assert client.call("GETBIT", "k", 4294967295) == 0
    assert client.call("GETBIT", "missing", 5) == 0
    assert client.call("EXISTS", "missing") == 0


def test_getbit_of_an_integer_reads_its_digits(client):
    client.call("SET", "n", 12)                            # "1" is 0011 0001
    assert [client.call("GETBIT", "n", i) for i in range(8)] == [0, 0, 1, 1, 0, 0, 0, 1]


@pytest.mark.parametrize("offset", [-1, "x", 4294967296, "9223372036854775808"])
def test_getbit_bad_offset_before_the_key(client, offset):
    client.call("LPUSH", "l", "a")
    assert client.call("GETBIT", "l", offset) == OFFSET_ERROR
    assert client.call("GETBIT", "missing", offset) == OFFSET_ERROR


@pytest.mark.launches
def test_offsets_are_limited_by_proto_max_bulk_len(launcher):
    limit = 1024 * 1024
    with launcher.start(proto_max_bulk_len="1mb").client() as client:
        last = limit * 8 - 1
        assert client.call("SETBIT", "k", last, 1) == 0
        assert client.call("STRLEN", "k") == limit
        assert client.call("SETBIT", "k", last + 1, 1) == OFFSET_ERROR
        assert client.call("GETBIT", "k", last) == 1
        assert client.call("GETBIT", "k", last + 1) == OFFSET_ERROR
        assert client.call("BITFIELD", "k", "GET", "u8", last - 7) == [1]
        assert client.call("BITFIELD", "k", "GET", "u8", last + 1) == OFFSET_ERROR
        assert client.call("BITFIELD", "k", "GET", "u8", f"#{limit - 1}") == [1]
        assert client.call("BITFIELD", "k", "GET", "u8", f"#{limit}") == OFFSET_ERROR
        # only the start of a field is limited: one reaching past the limit still reads
        assert client.call("BITFIELD", "k", "GET", "u16", last) == [0x8000]


def test_wrongtype(client):
    client.call("LPUSH", "l", "a")
    for command in (("SETBIT", "l", 1, 1), ("GETBIT", "l", 1), ("BITCOUNT", "l"), ("BITCOUNT", "l", "x"),
                    ("BITPOS", "l", 1), ("BITPOS", "l", 1, "x", "y", "z", "w"), ("BITOP", "AND", "d", "l"),
                    ("BITOP", "AND", "l", "missing", "l"), ("BITFIELD", "l", "GET", "u8", 0),
                    ("BITFIELD", "l", "SET", "u8", 0, 1), ("BITFIELD_RO", "l", "GET", "u8", 0)):
        assert client.call(*command) == WRONGTYPE, command
    assert client.call("BITFIELD", "l") == WRONGTYPE        # no operation: the key is still read
    assert client.call("EXISTS", "d") == 0
    assert client.call("LRANGE", "l", 0, -1) == [b"a"]


# -- BITCOUNT ----------------------------------------------------------------

VALUE = b"\x0f\xf0\x81\x00\xff"


def model_range(length: int, start: int, end: int) -> range:
    """Indexes from start to end inclusive, negative ones from the end, clamped, as the spec says."""
    if start < 0 and end < 0 and start > end:
        return range(0)
    start, end = start + length if start < 0 else start, end + length if end < 0 else end
    start, end = max(start, 0), min(max(end, 0), length - 1)
    return range(start, end + 1)


@pytest.mark.parametrize("start, end", [(0, -1), (1, 1), (-2, -1), (-1, -2), (2, 1), (-100, 100),
                                        (3, 99), (99, 100), (-1, -1), (0, 0), (-5, 0)])
def test_bitcount_byte_ranges(client, start, end):
    client.call("SET", "k", VALUE)
    expected = sum(bits(VALUE[i:i + 1]).count("1") for i in model_range(len(VALUE), start, end))
    assert client.call("BITCOUNT", "k", start, end) == expected
    assert client.call("BITCOUNT", "k", start, end, "byte") == expected


@pytest.mark.parametrize("start, end", [(0, -1), (4, 11), (5, 5), (-9, -2), (-2, -9), (13, 16),
                                        (0, 1000), (38, 39), (17, 23), (-40, 3), (39, 39)])
def test_bitcount_bit_ranges(client, start, end):
    client.call("SET", "k", VALUE)
    text = bits(VALUE)
    expected = sum(text[i] == "1" for i in model_range(len(text), start, end))
    assert client.call("BITCOUNT", "k", start, end, "BIT") == expected
    assert client.call("BITCOUNT", "k", start, end, "bIt") == expected


def test_bitcount_whole_and_missing(client):
    client.call("SET", "k", VALUE)
    assert client.call("BITCOUNT", "k") == bits(VALUE).count("1") == 18
    client.call("SET", "n", -12)                           # "-12": 0010 1101, 0011 0001, 0011 0010
    assert client.call("BITCOUNT", "n") == 4 + 3 + 3
    assert client.call("BITCOUNT", "missing") == 0
    client.call("SET", "e", "")
    assert client.call("BITCOUNT", "e", 0, -1) == 0


def test_bitcount_reads_the_key_before_its_arguments(client):
    # A missing key counts 0 whatever follows it, even what would be errors
    assert client.call("BITCOUNT", "missing", 0) == 0
    assert client.call("BITCOUNT", "missing", "x", "y", "z", "w") == 0
    client.call("SET", "k", VALUE)
    assert client.call("BITCOUNT", "k", 0) == SYNTAX_ERROR
    assert client.call("BITCOUNT", "k", 0, -1, "BIT", "x") == SYNTAX_ERROR
    assert client.call("BITCOUNT", "k", "x", -1) == INTEGER_ERROR
    assert client.call("BITCOUNT", "k", 0, "y") == INTEGER_ERROR
    assert client.call("BITCOUNT", "k", "x", -1, "nope") == INTEGER_ERROR  # numbers before the unit
    assert client.call("BITCOUNT", "k", 0, -1, "nope") == SYNTAX_ERROR
    assert client.call("BITCOUNT", "k", -1, -2, "nope") == 0     # an empty negative range: no unit read


# -- BITPOS ------------------------------------------------------------------


def model_bitpos(value: bytes, bit: int, *range_args) -> int:
    """BITPOS by the spec's rules, on the bit string."""
    unit_bits = len(range_args) == 3 and range_args[2].lower() == "bit"
    text = bits(value)
    if not range_args:
        start, end = 0, len(value) - 1
    else:
        start = range_args[0]
        end = range_args[1] if len(range_args) > 1 else -1
    positions = model_range(len(text) if unit_bits else len(value), start, end)
    if not unit_bits:
        positions = range(positions.start * 8, positions.stop * 8)
    for i in positions:
        if text[i] == str(bit):
            return i
    if bit == 0 and len(range_args) < 2 and len(positions):
        return positions.stop                               # the zeros past the end
    return -1


@pytest.mark.parametrize("value", [b"\xff\xff\xff", b"\x00\x00\x01", VALUE, b"\xff\x7f\xff"])
@pytest.mark.parametrize("bit", [0, 1])
@pytest.mark.parametrize("range_args", [(), (0,), (1,), (-1,), (5,), (0, -1), (1, 1), (2, 1), (-2, -1),
                                        (0, -1, "bit"), (3, 10, "BIT"), (9, 9, "bit"), (-5, -1, "bit"),
                                        (17, 23, "bit"), (0, 1, "byte"), (100, 200, "bit")])
def test_bitpos(client, value, bit, range_args):
    client.call("SET", "k", value)
    assert client.call("BITPOS", "k", bit, *range_args) == model_bitpos(value, bit, *range_args)


def test_bitpos_zero_past_the_end_only_without_an_end(client):
    client.call("SET", "k", b"\xff\xff")
    assert client.call("BITPOS", "k", 0) == 16
    assert client.call("BITPOS", "k", 0, 1) == 16
    assert client.call("BITPOS", "k", 0, 0, -1) == -1
    assert client.call("BITPOS", "k", 1, 2) == -1         # an empty range


def test_bitpos_missing_key(client):
    assert client.call("BITPOS", "missing", 0) == 0
    assert client.call("BITPOS", "missing", 1) == -1
    assert client.call("BITPOS", "missing", 1, "x", "y", "z", "w") == -1  # the range is not read


def test_bitpos_errors_in_order(client):
    client.call("SET", "k", VALUE)
    assert client.call("BITPOS", "k", 2) == BIT_ARGUMENT_ERROR
    assert client.call("BITPOS", "missing", -1) == BIT_ARGUMENT_ERROR
    assert client.call("BITPOS", "missing", "x") == INTEGER_ERROR
    assert client.call("BITPOS", "k", 1, 0, -1, "bit", "x") == SYNTAX_ERROR
    assert client.call("BITPOS", "k", 1, "x", "y", "nope") == INTEGER_ERROR    # start first
    assert client.call("BITPOS", "k", 1, 0, "y", "nope") == SYNTAX_ERROR       # then the unit
    assert client.call("BITPOS", "k", 1, 0, "y", "bit") == INTEGER_ERROR       # then the end


# -- BITOP -------------------------------------------------------------------


def test_bitop_operations_pad_shorter_sources_with_zeros(client):
    client.call("SET", "a", b"\x0f\xff")
    client.call("SET", "b", b"\xf0")
    for operation, expected in (("AND", b"\x00\x00"), ("or", b"\xff\xff"), ("XoR", b"\xff\xff")):
        assert client.call("BITOP", operation, "d", "a", "b") == 2
        assert client.call("GET", "d") == expected
    assert client.call("BITOP", "AND", "d", "a", "a", "missing") == 2
    assert client.call("GET", "d") == b"\x00\x00"
    assert client.call("BITOP", "XOR", "d", "a", "a", "b") == 2
    assert client.call("GET", "d") == b"\xf0\x00"
    assert client.call("BITOP", "NOT", "d", "a") == 2
    assert client.call("GET", "d") == b"\xf0\x00"


def test_bitop_long_sources(client):
    # longer than a machine word's fast path in Redis, and with a ragged tail
    a, b = bytes(range(70)), bytes(range(255, 155, -1))
    client.call("SET", "a", a)
    client.call("SET", "b", b)
    padded = a.ljust(len(b), b"\0")
    assert client.call("BITOP", "AND", "d", "a", "b") == 100
    assert client.call("GET", "d") == bytes(x & y for x, y in zip(padded, b))
    assert client.call("BITOP", "OR", "d", "a", "b") == 100
    assert client.call("GET", "d") == bytes(x | y for x, y in zip(padded, b))
    assert client.call("BITOP", "NOT", "d", "b") == 100
    assert client.call("GET", "d") == bytes(255 - y for y in b)


def test_bitop_replaces_the_destination(client):
    client.call("LPUSH", "d", "x")
    client.call("SET", "s", "A")
    client.call("EXPIRE", "s", 100)
    assert client.call("BITOP", "OR", "d", "s") == 1
    assert client.call("GET", "d") == b"A"
    assert client.call("BITOP", "OR", "s", "s") == 1
    assert client.call("TTL", "s") == -1                   # overwritten: its time to live goes


def test_bitop_with_nothing_deletes_the_destination(client):
    client.call("SET", "d", "x")
    client.call("SET", "e", "")
    assert client.call("BITOP", "AND", "d", "missing", "other") == 0
    assert client.call("EXISTS", "d") == 0
    client.call("SET", "d", "x")
    assert client.call("BITOP", "NOT", "d", "e") == 0
    assert client.call("EXISTS", "d") == 0


def test_bitop_errors(client):
    client.call("SET", "a", "x")
    assert client.call("BITOP", "NAND", "d", "a") == SYNTAX_ERROR
    assert client.call("BITOP", "NOT", "d", "a", "a") == NOT_ERROR
    assert client.call("BITOP", "NOT", "d", "missing", "missing") == NOT_ERROR
    assert client.call("BITOP", "AND", "d") == ErrorReply("ERR wrong number of arguments for 'bitop' command")
    assert client.call("EXISTS", "d") == 0


# -- BITFIELD ----------------------------------------------------------------


def test_bitfield_set_get_incrby(client):
    assert client.call("BITFIELD", "k", "SET", "u8", 0, 200, "GET", "u8", 0, "GET", "i8", 0) == [0, 200, -56]
    assert client.call("GET", "k") == b"\xc8"
    assert client.call("BITFIELD", "k", "incrby", "u4", 4, 3, "get", "u4", 4) == [11, 11]  # 1000 + 3
    assert client.call("BITFIELD", "k", "SET", "i4", 2, -3) == [2]   # bits 2-5 were 0010
    assert client.call("GET", "k") == bytes([int("11" + "1101" + "11", 2)])
    assert client.call("BITFIELD", "k") == []


def test_bitfield_fields_at_any_offset(client):
    client.call("SET", "k", b"\x12\x34\x56\x78\x9a\xbc\xde\xf0\x11")
    text = bits(b"\x12\x34\x56\x78\x9a\xbc\xde\xf0\x11")
    for signed, width, offset in ((False, 7, 3), (True, 13, 5), (False, 63, 1), (True, 64, 7), (True, 1, 0),
                                  (False, 9, 68), (True, 33, 40)):
        field = text[offset:offset + width].ljust(width, "0")       # zeros past the end
        number = int(field, 2)
        if signed and field[0] == "1":
            number -= 1 << width
        kind = f"{'i' if signed else 'u'}{width}"
        assert client.call("BITFIELD", "k", "GET", kind, offset) == [number], kind
        assert client.call("BITFIELD_RO", "k", "GET", kind, offset) == [number], kind


def test_bitfield_hash_offsets_count_fields(client):
    assert client.call("BITFIELD", "k", "SET", "u8", "#1", 65, "SET", "i4", "#5", -1) == [0, 0]
    assert client.call("GET", "k") == b"\x00A\x0f"               # i4 #5: bits 20 to 23
    assert client.call("BITFIELD", "k", "GET", "u8", "#1", "GET", "u16", "#1") == [65, 0x0f00]
    assert client.call("BITFIELD", "k", "GET", "u8", "#-1") == OFFSET_ERROR
    assert client.call("BITFIELD", "k", "GET", "u8", "#x") == OFFSET_ERROR
    assert client.call("SETBIT", "k", "#1", 1) == OFFSET_ERROR     # only BITFIELD has them


@pytest.mark.parametrize("operations, replies", [
    # WRAP, the default
    (("SET", "u8", 0, 255, "INCRBY", "u8", 0, 10), [0, 9]),
    (("SET", "u8", 0, 256, "GET", "u8", 0), [0, 0]),
    (("SET", "u8", 0, -1, "GET", "u8", 0), [0, 255]),
    (("SET", "i8", 0, 200, "GET", "i8", 0), [0, -56]),
    (("SET", "i8", 0, 127, "INCRBY", "i8", 0, 1), [0, -128]),
    (("SET", "i64", 0, 2**63 - 1, "INCRBY", "i64", 0, 1), [0, -2**63]),
    (("SET", "u63", 0, 2**63 - 1, "INCRBY", "u63", 0, 1), [0, 0]),
    (("INCRBY", "u8", 0, -2**63, "INCRBY", "u8", 0, 2**63 - 1), [0, 255]),
    # SAT
    (("OVERFLOW", "SAT", "SET", "u8", 0, 300, "GET", "u8", 0), [0, 255]),
    (("OVERFLOW", "sat", "SET", "u8", 0, -1, "GET", "u8", 0), [0, 255]),   # -1 read as 2**64 - 1
    (("OVERFLOW", "SAT", "INCRBY", "u8", 0, -1), [0]),
    (("OVERFLOW", "SAT", "SET", "i8", 0, -1000, "GET", "i8", 0), [0, -128]),
    (("OVERFLOW", "SAT", "INCRBY", "i64", 0, 2**63 - 1, "INCRBY", "i64", 0, 1), [2**63 - 1, 2**63 - 1]),
    (("OVERFLOW", "SAT", "SET", "i64", 0, -2**63, "INCRBY", "i64", 0, -1), [0, -2**63]),
    # FAIL: nil, nothing written
    (("OVERFLOW", "FAIL", "INCRBY", "u2", 0, 4, "GET", "u2", 0), [None, 0]),
    (("OVERFLOW", "FAIL", "SET", "i4", 0, 8, "SET", "i4", 0, -8, "GET", "i4", 0), [None, 0, -8]),
    (("OVERFLOW", "FAIL", "INCRBY", "u8", 0, 255, "INCRBY", "u8", 0, 1, "OVERFLOW", "WRAP",
      "INCRBY", "u8", 0, 1), [255, None, 0]),
])
def test_bitfield_overflow(client, operations, replies):
    assert client.call("BITFIELD", "k", *operations) == replies


def test_bitfield_fail_nil_in_resp3(resp3_client):
    assert resp3_client.call_raw("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u1", 0, 2, "GET", "u1", 0) == (
        b"*2\r\n_\r\n:0\r\n")


def test_bitfield_replies_in_resp2(client):
    assert client.call_raw("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "i8", 0, -1, "INCRBY", "u1", 0, 2) == (
        b"*2\r\n:0\r\n$-1\r\n")


def test_bitfield_creates_the_key_only_when_writing(client):
    assert client.call("BITFIELD", "k", "GET", "u8", 100) == [0]
    assert client.call("EXISTS", "k") == 0
    assert client.call("BITFIELD", "k", "SET", "u1", 100, 1) == [0]
    assert client.call("GET", "k") == b"\x00" * 12 + b"\x08"
    # the string is made to hold the farthest field written, even if the write then fails
    assert client.call("BITFIELD", "f", "OVERFLOW", "FAIL", "SET", "u1", 23, 2, "GET", "u8", 99) == [None, 0]
    assert client.call("GET", "f") == b"\x00\x00\x00"


@pytest.mark.parametrize("operations, error", [
    (("FOO",), SYNTAX_ERROR),
    (("GET", "u8"), SYNTAX_ERROR),
    (("SET", "u8", 0), SYNTAX_ERROR),
    (("INCRBY", "u8", 0), SYNTAX_ERROR),
    (("OVERFLOW",), SYNTAX_ERROR),
    (("OVERFLOW", "FOO", "GET", "u8", "x"), OVERFLOW_ERROR),
    (("GET", "u64", 0), TYPE_ERROR),
    (("GET", "i65", 0), TYPE_ERROR),
    (("GET", "i0", 0), TYPE_ERROR),
    (("GET", "x8", 0), TYPE_ERROR),
    (("GET", "i", 0), TYPE_ERROR),
    (("GET", "U8", 0), TYPE_ERROR),                      # the type's letter is lowercase only
    (("GET", "u08", 0), TYPE_ERROR),
    (("GET", "u8", -1), OFFSET_ERROR),
    (("GET", "u8", "x"), OFFSET_ERROR),
    (("SET", "u8", 0, "x"), INTEGER_ERROR),
    (("INCRBY", "u8", 0, 2**63), INTEGER_ERROR),
    (("SET", "x8", 0, "x"), TYPE_ERROR),                 # the type, then the offset, then the value
    (("SET", "u8", "x", "x"), OFFSET_ERROR),
    (("GET", "u8", 0, "FOO"), SYNTAX_ERROR),
    (("SET", "u8", 0, 1, "GET", "x8", 0), TYPE_ERROR),   # all read before anything is written
])
def test_bitfield_errors(client, operations, error):
    client.call("LPUSH", "l", "a")
    assert client.call("BITFIELD", "k", *operations) == error
    assert client.call("BITFIELD", "l", *operations) == error   # read before the key
    assert client.call("EXISTS", "k") == 0


@pytest.mark.launches
def test_bitfield_large_offsets(launcher):
    with launcher.start(proto_max_bulk_len="1mb").client() as client:
        assert client.call("BITFIELD", "k", "SET", "u8", "#1048575", 7) == [0]
        assert client.call("STRLEN", "k") == 1024 * 1024
        assert client.call("BITFIELD", "k", "SET", "u8", "#1048576", 7) == OFFSET_ERROR


def test_bitfield_ro(client):
    client.call("SET", "k", b"\xf0")
    assert client.call("BITFIELD_RO", "k", "GET", "u4", 0, "get", "i4", "#0", "GET", "u8", 4) == [15, -1, 0]
    assert client.call("BITFIELD_RO", "k") == []
    assert client.call("BITFIELD_RO", "missing", "GET", "u8", 0) == [0]
    assert client.call("BITFIELD_RO", "k", "OVERFLOW", "SAT", "GET", "u1", 0) == [1]
    assert client.call("BITFIELD_RO", "k", "SET", "u8", 0, 1) == RO_ERROR
    assert client.call("BITFIELD_RO", "k", "GET", "u8", 0, "INCRBY", "u8", 0, 1) == RO_ERROR
    assert client.call("BITFIELD_RO", "k", "SET", "u8", 0, "x") == INTEGER_ERROR   # read as BITFIELD first
    assert client.call("BITFIELD_RO", "k", "FOO") == SYNTAX_ERROR
    client.call("LPUSH", "l", "a")
    assert client.call("BITFIELD_RO", "l", "SET", "u8", 0, 1) == RO_ERROR       # before the key
    assert client.call("GET", "k") == b"\xf0"


@pytest.mark.internals("COMMAND GETKEYSANDFLAGS")
def test_bitfield_key_flags_follow_its_operations(client):
    def flags(*argv):
        [[key, key_flags]] = client.call("COMMAND", "GETKEYSANDFLAGS", *argv)
        assert key == b"k"
        return sorted(key_flags)
    read, write = ["RO", "access"], ["RW", "access", "update"]
    assert flags("BITFIELD", "k", "GET", "u8", 0, "OVERFLOW", "SAT") == read
    assert flags("BITFIELD", "k") == read
    assert flags("BITFIELD", "k", "GET", "u8", 0, "INCRBY", "u8", 0, 1) == write
    assert flags("BITFIELD", "k", "FOO") == write
    assert flags("BITFIELD_RO", "k", "GET", "u8", 0) == read


# -- a random model of the bit commands --------------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.binary(max_size=12),
       writes=st.lists(st.tuples(st.integers(0, 120), st.sampled_from([0, 1])), max_size=8),
       start=st.integers(-20, 20), end=st.integers(-20, 20), unit=st.sampled_from(["BYTE", "BIT"]))
def test_bits_against_the_model(client, value, writes, start, end, unit):
    client.call("DEL", "k")
    client.call("SET", "k", value)
    text = list(bits(value))
    for offset, bit in writes:
        old = int(text[offset]) if offset < len(text) else 0
        assert client.call("SETBIT", "k", offset, bit) == old
        text.extend("0" * (((offset >> 3) + 1) * 8 - len(text)))
        text[offset] = str(bit)
    now = bytes(int("".join(text[i:i + 8]), 2) for i in range(0, len(text), 8))
    assert client.call("GET", "k") == now
    length = len(text) if unit == "BIT" else len(now)
    picked = model_range(length, start, end)
    if unit == "BYTE":
        picked = range(picked.start * 8, picked.stop * 8)
    assert client.call("BITCOUNT", "k", start, end, unit) == sum(text[i] == "1" for i in picked)
    for bit in (0, 1):
        assert client.call("BITPOS", "k", bit, start, end, unit) == model_bitpos(now, bit, start, end, unit)


# -- changes, propagation ----------------------------------------------------


@pytest.mark.internals("INFO rdb_changes_since_last_save, Redis's change counter")
@pytest.mark.parametrize("setup, command, count", [
    ((), ("SETBIT", "k", 7, 1), 1),
    ((("SETBIT", "k", 7, 1),), ("SETBIT", "k", 7, 1), 0),     # no change
    ((("SETBIT", "k", 7, 1),), ("SETBIT", "k", 6, 0), 0),
    ((("SETBIT", "k", 7, 1),), ("SETBIT", "k", 30, 0), 1),    # grown
    ((), ("SETBIT", "k", 0, 0), 1),                           # created
    ((), ("BITFIELD", "k", "SET", "u8", 0, 1, "SET", "u8", 0, 1), 2),   # created: every write counts
    ((("SET", "k", "A"),), ("BITFIELD", "k", "SET", "u8", 0, 65, "SET", "u8", 0, 66, "INCRBY", "u8", 0, 0), 1),
    ((("SET", "k", "A"),), ("BITFIELD", "k", "SET", "u8", 8, 0, "INCRBY", "u8", 0, 0), 2),  # grown
    ((), ("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u1", 0, 2), 0),   # created, yet no change
    ((("SET", "k", "A"),), ("BITFIELD", "k", "GET", "u8", 0), 0),
    ((), ("BITOP", "OR", "d", "missing"), 0),
    ((("SET", "d", "x"),), ("BITOP", "OR", "d", "missing"), 1),          # deleted
    ((("SET", "a", "x"),), ("BITOP", "OR", "d", "a"), 1),
    ((("SET", "a", "x"), ("SET", "d", "x")), ("BITOP", "AND", "d", "a", "a"), 1),  # stored even if equal
])
def test_changes_counted(counting, setup, command, count):
    client = counting
    for step in setup:
        client.call(*step)
    before = changes(client)
    client.call(*command)
    assert changes(client) - before == count


@pytest.mark.parametrize("setup, command, aborted", [
    ((), ("BITFIELD", "k", "OVERFLOW", "FAIL", "SET", "u1", 0, 2), False),   # created, not changed
    ((("SET", "k", b"\x01"),), ("SETBIT", "k", 7, 1), False),
    ((("SET", "k", b"\x01"),), ("SETBIT", "k", 7, 0), True),
    ((("SET", "k", b"\x01"),), ("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 300), False),
    ((("SET", "k", b"\x01"),), ("BITFIELD", "k", "INCRBY", "u8", 0, 0, "SET", "u8", 8, 0), True),  # grown
    ((), ("BITOP", "OR", "k", "missing"), False),
    ((("SET", "k", b"\x01"),), ("BITOP", "OR", "k", "k"), True),
])
def test_watch_sees_only_changes(client, client_factory, setup, command, aborted):
    for step in setup:
        client.call(*step)
    assert client.call("WATCH", "k") == "OK"
    client_factory().call(*command)
    client.call("MULTI")
    client.call("PING")
    assert client.call("EXEC") == (None if aborted else ["PONG"])


@pytest.mark.internals("INFO keyspace_hits and keyspace_misses")
def test_reads_count_keyspace_hits_and_misses(client):
    def counts():
        stats = info(client, "stats")
        return int(stats["keyspace_hits"]), int(stats["keyspace_misses"])
    client.call("SET", "k", "x")
    client.call("CONFIG", "RESETSTAT")
    for command, expected in (
            (("SETBIT", "k", 1, 1), (0, 0)), (("SETBIT", "m", 1, 1), (0, 0)),   # writes: not counted
            (("BITFIELD", "k", "SET", "u8", 0, 1), (0, 0)),
            (("GETBIT", "k", 1), (1, 0)), (("GETBIT", "none", 1), (1, 1)),
            (("BITCOUNT", "k"), (2, 1)), (("BITPOS", "none", 1), (2, 2)),
            (("BITFIELD", "k", "GET", "u8", 0), (3, 2)), (("BITFIELD_RO", "none", "GET", "u8", 0), (3, 3)),
            (("BITOP", "AND", "d", "k", "none"), (4, 4))):       # each source read, not the destination
        client.call(*command)
        assert counts() == expected, command


@pytest.mark.internals("AOF files")
def test_writes_are_propagated_as_themselves(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as client:
        client.call("SETBIT", "k", 7, 1)
        client.call("SETBIT", "k", 7, 1)                                   # no change: not written
        client.call("BITFIELD", "k", "OVERFLOW", "FAIL", "INCRBY", "u8", 0, 300)   # nor this
        client.call("BITFIELD", "k", "GET", "u8", 0, "INCRBY", "u4", 4, 2)
        client.call("BITFIELD_RO", "k", "GET", "u8", 0)
        client.call("BITOP", "NOT", "d", "k")
        client.call("BITOP", "AND", "gone", "missing")                     # nothing deleted: not written
    path = os.path.join(server.dir, "appendonlydir", "appendonly.aof.1.incr.aof")
    with open(path, "rb") as f:
        text = f.read()

    def resp(*argv):
        return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)
    assert text == (b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
                    + resp(b"SETBIT", b"k", b"7", b"1")
                    + resp(b"BITFIELD", b"k", b"GET", b"u8", b"0", b"INCRBY", b"u4", b"4", b"2")
                    + resp(b"BITOP", b"NOT", b"d", b"k"))
    server.restart()
    with server.client() as client:
        assert client.call("GET", "k") == b"\x03"
        assert client.call("GET", "d") == b"\xfc"


@pytest.mark.internals("AOF files")
def test_the_aof_is_not_held_to_the_offset_limit(launcher):
    """A SETBIT past proto-max-bulk-len in the AOF is obeyed when the file is loaded."""
    server = launcher.start(appendonly="yes", appendfsync="always", proto_max_bulk_len="2mb")
    offset = 3 * 1024 * 1024 * 8 // 2                       # byte 1.5 MB
    with server.client() as client:
        assert client.call("SETBIT", "k", offset, 1) == 0
    server.stop()
    smaller = launcher.start(dir=server.dir, appendonly="yes", proto_max_bulk_len="1mb")
    with smaller.client() as client:
        assert client.call("STRLEN", "k") == offset // 8 + 1
        assert client.call("GETBIT", "k", offset) == OFFSET_ERROR    # a client is held to it
        assert client.call("BITCOUNT", "k") == 1
