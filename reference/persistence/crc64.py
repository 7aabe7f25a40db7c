"""CRC-64 as Redis checksums RDB files and DUMP payloads: the Jones polynomial
0xad93d23594c935a9, bits reflected, initial value 0, no final xor (the catalogue's
"CRC-64/REDIS"). Check value: the CRC of b"123456789" is 0xe9c6d914c4b8d9ca.

The arithmetic is the anycrc library's (C, table-driven): a byte at a time in Python would
make saving and loading a large file several times slower. tests/test_rdb.py checks it against
the definition above, bit by bit."""
import anycrc

_REDIS = anycrc.Model("CRC64-REDIS")


def crc64(data, crc: int = 0) -> int:
    """The running CRC of data (bytes, bytearray, memoryview, mmap), continuing from crc."""
    return _REDIS.calc(data, crc)
