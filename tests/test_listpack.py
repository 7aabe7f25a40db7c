"""Listpack, intset, ziplist codecs: Redis's exact bytes and round trips."""
import struct

import pytest

from reference.persistence import intset, listpack, ziplist


def test_listpack_bytes_as_redis_writes_them():
    # HSET k f1 v1 f2 2 in redis-server 7.0.15
    assert listpack.encode([b"f1", b"v1", b"f2", b"2"]) == (
        b"\x15\x00\x00\x00\x04\x00\x82f1\x03\x82v1\x03\x82f2\x03\x02\x01\xff")


@pytest.mark.parametrize("item", [b"0", b"127", b"128", b"-1", b"4095", b"-4096", b"40000", b"-8388608",
                                  b"2147483647", b"-9223372036854775808", b"007", b"-0", b"", b"x" * 63,
                                  b"x" * 64, b"y" * 4095, b"z" * 5000])
def test_listpack_round_trip(item):
    assert listpack.decode(listpack.encode([item, b"next"])) == [item, b"next"]


def test_backlen_thresholds():
    assert listpack._backlen(127) == b"\x7f"
    assert listpack._backlen(128) == b"\x01\x80"
    assert listpack._backlen(16383) == b"\x00\xff\xff"


def test_corrupt_listpack_refused():
    data = bytearray(listpack.encode([b"abc"]))
    data[-2] ^= 1
    with pytest.raises(listpack.ListpackError):
        listpack.decode(bytes(data))


@pytest.mark.parametrize("entry, item", [
    (b"\x05\x01", b"5"), (b"\xdf\xff\x02", b"-1"), (b"\xd0\x00\x02", b"-4096"),
    (b"\xf1\x00\x80\x03", b"-32768"), (b"\xf2\x40\xe2\x01\x04", b"123456"),
    (b"\xf2\xc0\x1d\xfe\x04", b"-123456"), (b"\xf2\xff\xff\x7f\x04", b"8388607"),
    (b"\xf3\x00\x00\x00\x80\x05", b"-2147483648"), (b"\xf4" + (-5).to_bytes(8, "little", signed=True) + b"\x09", b"-5"),
    (b"\xe0\x40" + b"s" * 64 + b"\x42", b"s" * 64), (b"\xf0\x01\x00\x00\x00t\x06", b"t"),
])
def test_listpack_entries_as_the_format_spells_them(entry, item):
    """Each encoding written out by hand, not by the encoder (some as Redis never writes them)."""
    data = struct.pack("<IH", 7 + len(entry), 1) + entry + b"\xff"
    assert listpack.decode(data) == [item]


def _decode_by_the_book(data: bytes):
    """The listpack format read as its specification states it, one entry at a time: the
    items, or None if the bytes are not a well-formed listpack."""
    if len(data) < 7 or struct.unpack_from("<I", data)[0] != len(data) or data[-1] != 0xFF:
        return None
    count, items, i = struct.unpack_from("<H", data, 4)[0], [], 6
    while i < len(data) - 1:
        first = data[i]
        if first < 0x80:
            header, length, number = 1, 0, first
        elif first < 0xC0:
            header, length, number = 1, first & 0x3F, None
        elif first < 0xE0:
            header, length = 2, 0
            number = int.from_bytes(data[i:i + 2], "big") & 0x1FFF
            number -= 0x2000 if number >= 0x1000 else 0
        elif first < 0xF0:
            header, length, number = 2, int.from_bytes(data[i:i + 2], "big") & 0xFFF, None
        elif first == 0xF0:
            header, length, number = 5, int.from_bytes(data[i + 1:i + 5], "little"), None
        elif first <= 0xF4:
            width = {0xF1: 2, 0xF2: 3, 0xF3: 4, 0xF4: 8}[first]
            header, length = 1 + width, 0
            number = int.from_bytes(data[i + 1:i + 1 + width], "little", signed=True)
        else:
            return None
        size = header + length
        backlen = listpack._backlen(size)
        if data[i + size:i + size + len(backlen)] != backlen or i + size + len(backlen) > len(data) - 1:
            return None
        items.append(b"%d" % number if number is not None else data[i + header:i + size])
        i += size + len(backlen)
    return items if count in (len(items), 0xFFFF) else None


def _damaged(data: bytes):
    """Every single-byte change of data (a few values at each place) and every truncation, the
    header's size kept right, so that the entries themselves are what is wrong."""
    for place in range(6, len(data)):
        for value in {data[place] ^ 1, data[place] ^ 0x80, 0, 1, 0x7F, 0x80, 0xC0, 0xE0, 0xF0, 0xF2, 0xFF}:
            yield data[:place] + bytes([value]) + data[place + 1:]
    for length in range(6, len(data)):
        cut = data[:length] + b"\xff"
        yield struct.pack("<I", len(cut)) + cut[4:]


@pytest.mark.parametrize("items", [
    [b"a", b"1", b"bb", b"-7", b"4095", b"40000", b"-8388608", b"2147483648", b"x" * 63, b"y" * 64, b""],
    [b"z" * 200, b"127", b"-9223372036854775808"],
])
def test_listpack_decoding_agrees_with_the_format_on_damaged_bytes(items):
    data = listpack.encode(items)
    assert listpack.decode(data) == _decode_by_the_book(data) == items
    for damaged in _damaged(data):
        try:
            decoded = listpack.decode(damaged)
        except listpack.ListpackError:
            decoded = None
        assert decoded == _decode_by_the_book(damaged), damaged


def test_intset_widths():
    assert intset.encode([b"2", b"1"]) == b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x02\x00"
    assert intset.decode(intset.encode([b"-70000", b"5"])) == [b"-70000", b"5"]
    assert intset.encode([b"5000000000"])[:4] == b"\x08\x00\x00\x00"


def test_ziplist_decoding():
    # a ziplist of "a", 1, 300 as Redis 6 wrote it
    entries = b"\x00\x01a" + b"\x03\xf2" + b"\x02\xc0\x2c\x01"
    total = 10 + len(entries) + 1
    data = total.to_bytes(4, "little") + (10 + 3 + 2).to_bytes(4, "little") + b"\x03\x00" + entries + b"\xff"
    assert ziplist.decode_ziplist(data) == [b"a", b"1", b"300"]


@pytest.mark.parametrize("data", [
    b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00",   # descending
    b"\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x01\x00",   # a member twice
    b"\x02\x00\x00\x00\x03\x00\x00\x00\x01\x00\x02\x00",   # fewer members than counted
    b"\x03\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00",       # no such width
    b"\x02\x00\x00\x00",
    b"\x02\x00\x00\x00\x00\x00\x00\x00",                   # empty
])
def test_malformed_intsets_refused(data):
    with pytest.raises(intset.IntsetError):
        intset.decode(data)


def test_intset_members_as_text_in_every_width():
    for members in ([b"-32768", b"0", b"32767"], [b"-2147483648", b"7", b"2147483647"],
                    [b"-9223372036854775808", b"9223372036854775807"]):
        assert intset.decode(intset.encode(members)) == members
