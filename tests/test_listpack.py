"""Listpack, intset, ziplist codecs: Redis's exact bytes and round trips."""
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
