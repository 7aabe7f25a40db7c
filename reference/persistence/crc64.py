"""CRC-64 as Redis checksums RDB files and DUMP payloads: the Jones polynomial
0xad93d23594c935a9, bits reflected, initial value 0, no final xor. Check value: the CRC of
b"123456789" is 0xe9c6d914c4b8d9ca."""

_POLY_REFLECTED = 0x95AC9329AC4BC9B5  # 0xad93d23594c935a9 with its 64 bits in reverse order


def _table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc64(data: bytes, crc: int = 0) -> int:
    """The running CRC of data, continuing from crc."""
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc
