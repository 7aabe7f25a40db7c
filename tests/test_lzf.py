"""LZF: round trips, Redis's exact output for known inputs, and malformed input refused."""
import random

import pytest

from reference.persistence.lzf import LZFError, compress, decompress


def test_round_trips():
    rng = random.Random(7)
    for _ in range(500):
        alphabet = rng.choice([b"ab", b"abc ", bytes(range(256)), b"a"])
        data = bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 700)))
        packed = compress(data, len(data) + 64)
        assert packed is not None and decompress(packed, len(data)) == data


def test_redis_output_for_a_repeated_string():
    # redis-server 7.0.15's DUMP of SET k ("abcdefghij" * 10) holds exactly these 18 bytes.
    assert compress(b"abcdefghij" * 10, 96) == b"\nabcdefghija\xe0N\t\x01ij"


def test_incompressible_data_does_not_fit():
    data = bytes(range(100))
    assert compress(data, len(data) - 4) is None


@pytest.mark.parametrize("packed, length", [(b"\x05ab", 6), (b"\x01ab", 5), (b"\x20\x05", 3), (b"\x00a", 2)])
def test_malformed_input(packed, length):
    with pytest.raises(LZFError):
        decompress(packed, length)
