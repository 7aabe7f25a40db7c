"""RDB files the reference writes: encodings, checksum, and redis-check-rdb's verdict."""
import subprocess

import pytest

from reference.keyspace import Keyspace
from reference.persistence.crc64 import crc64
from reference.persistence.rdb import dump_rdb, encode_length, encode_string, save_rdb


def test_crc64_check_value():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64(b"6789", crc64(b"12345")) == crc64(b"123456789")


@pytest.mark.parametrize("n, encoded", [
    (0, b"\x00"), (63, b"\x3f"), (64, b"\x40\x40"), (16383, b"\x7f\xff"),
    (16384, b"\x80\x00\x00\x40\x00"), (1 << 32, b"\x81\x00\x00\x00\x01\x00\x00\x00\x00"),
])
def test_length_encoding(n, encoded):
    assert encode_length(n) == encoded


@pytest.mark.parametrize("value, encoded", [
    (b"7", b"\xc0\x07"), (b"-128", b"\xc0\x80"), (b"300", b"\xc1\x2c\x01"),
    (b"100000", b"\xc2\xa0\x86\x01\x00"), (b"012", b"\x03012"), (b"99999999999", b"\x0b99999999999"),
    (b"abc", b"\x03abc"),
])
def test_string_encoding(value, encoded):
    assert encode_string(value) == encoded


def test_file_layout_and_checksum():
    keyspace = Keyspace(16)
    keyspace[0].set(b"k", b"v")
    data = dump_rdb(keyspace)
    assert data.startswith(b"REDIS0010")
    assert b"\xfe\x00\xfb\x01\x00\x00\x01k\x01v\xff" in data
    assert int.from_bytes(data[-8:], "little") == crc64(data[:-8])
    assert dump_rdb(keyspace, checksum=False)[-8:] == bytes(8)


def test_redis_check_rdb_accepts_the_file(tmp_path):
    keyspace = Keyspace(16)
    for i in range(500):
        keyspace[i % 3].set(b"key:%d" % i, b"%d" % (i * 1000 - 7) if i % 2 else b"v" * i)
    keyspace[1].set_expire(b"key:1", 4_000_000_000_000)
    save_rdb(keyspace, str(tmp_path), "dump.rdb")
    result = subprocess.run(["redis-check-rdb", str(tmp_path / "dump.rdb")], capture_output=True, text=True)
    assert "RDB looks OK" in result.stdout, result.stdout
    assert "500 keys read" in result.stdout and "1 expires" in result.stdout
