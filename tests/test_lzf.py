"""LZF: round trips, Redis's exact output for known inputs, malformed input refused, and the C
library (`compress`, `decompress`) agreeing with the specification written out in Python
(tests/lzf_by_hand.py)."""
import random

import pytest

from reference.persistence.lzf import LZFError, compress, decompress
from tests.lzf_by_hand import compress_python, decompress_python

BOTH_COMPRESSORS = pytest.mark.parametrize("compressor", [compress, compress_python])
BOTH_DECOMPRESSORS = pytest.mark.parametrize("decompressor", [decompress, decompress_python])


def _samples(seed: int, count: int):
    """Inputs of the kinds RDB files hold: repetitive text, small alphabets, listpack-like
    blobs that differ a little from one to the next, random bytes; short and long."""
    rng = random.Random(seed)
    for n in range(count):
        kind = n % 5
        if kind == 0:
            yield bytes(rng.choice(rng.choice([b"ab", b"abc ", b"a"])) for _ in range(rng.randint(1, 700)))
        elif kind == 1:
            yield (b"value-%d-" % n) * rng.randint(1, 60)
        elif kind == 2:
            yield b"\x21\x00\x00\x00\x04\x00\x84name\x05\x87n%d\x08\x85count\x06\xf2" % n + n.to_bytes(3, "little")
        elif kind == 3:
            yield bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
        else:  # long enough for back-references at the far end of the 8 KiB window
            chunk = bytes(rng.randrange(256) for _ in range(rng.randint(3, 40)))
            yield chunk + bytes(rng.randrange(256) for _ in range(rng.randint(8000, 8300))) + chunk * 3


@BOTH_COMPRESSORS
@BOTH_DECOMPRESSORS
def test_round_trips(compressor, decompressor):
    for data in _samples(7, 150):
        packed = compressor(data, len(data) + len(data) // 16 + 64)
        assert packed is not None and decompressor(packed, len(data)) == data


@BOTH_COMPRESSORS
def test_redis_output_for_a_repeated_string(compressor):
    # redis-server 7.0.15's DUMP of SET k ("abcdefghij" * 10) holds exactly these 18 bytes.
    assert compressor(b"abcdefghij" * 10, 96) == b"\nabcdefghija\xe0N\t\x01ij"


@BOTH_COMPRESSORS
def test_incompressible_data_does_not_fit(compressor):
    data = bytes(range(100))
    assert compressor(data, len(data) - 4) is None


@BOTH_DECOMPRESSORS
@pytest.mark.parametrize("packed, length", [(b"\x05ab", 6), (b"\x01ab", 5), (b"\x20\x05", 3), (b"\x00a", 2),
                                            (b"\x00a", 0), (b"\x40\x00", 3), (b"\xe0", 9), (b"", 1)])
def test_malformed_input(decompressor, packed, length):
    with pytest.raises(LZFError):
        decompressor(packed, length)


def test_the_library_compresses_as_the_specification_does():
    """Byte for byte, at Redis's limit (len - 4) and at tight limits around the compressed size,
    where liblzf's conservative bound checks decide between compressing and not."""
    for data in _samples(11, 1500):
        redis_limit = max(2, len(data) - 4)  # compress takes a limit of 2 or more
        expected = compress_python(data, redis_limit)
        assert compress(data, redis_limit) == expected
        if expected is not None:
            for limit in range(max(2, len(expected) - 3), len(expected) + 5):
                assert compress(data, limit) == compress_python(data, limit)


def test_the_library_judges_damaged_input_as_the_specification_does():
    rng = random.Random(3)
    for data in _samples(5, 400):
        packed = bytearray(compress_python(data, len(data) + len(data) // 16 + 64))
        for _ in range(3):
            damaged = bytearray(packed)
            damaged[rng.randrange(len(damaged))] = rng.randrange(256)
            if rng.random() < 0.3:
                del damaged[rng.randrange(len(damaged)):]
            for length in (len(data), len(data) - 1, len(data) + 1):
                outcomes = []
                for decompressor in (decompress, decompress_python):
                    try:
                        outcomes.append(decompressor(bytes(damaged), length))
                    except LZFError:
                        outcomes.append(LZFError)
                assert outcomes[0] == outcomes[1]
