"""reference/cluster/slots.py: key slots with hash tags, checked against CLUSTER KEYSLOT of a
real redis-server 7.0.15 in cluster mode; slot bitmaps and ranges."""
import random

import pytest

from conformance.targets import ServerLauncher
from reference.cluster.slots import (BITMAP_SIZE, SLOTS, bitmap_to_slots, crc16, hash_tag, key_slot,
                                     slot_ranges, slots_to_bitmap)

EDGE_KEYS = [
    b"", b"a", b"foo", b"{", b"}", b"{}", b"}{", b"{}{}", b"{{}}", b"{{a}}", b"{a}}", b"a{b}c{d}",
    b"{user1000}.following", b"{user1000}.followers", b"foo{}{bar}", b"foo{{bar}}zap",
    b"foo{bar}{zap}", b"{bar", b"bar}", b"x{", b"{ }", b"{\x00}", b"\x00", b"\xff\xfe{\x80}",
    b"{\xe9t\xe9}", "clé".encode(), b"123456789", b"a" * 1000 + b"{z}",
]


def random_keys(count: int) -> list[bytes]:
    """Keys of random bytes, braces made frequent so that most have some sort of tag."""
    chooser = random.Random(1007)
    alphabet = [b"{", b"}", b"a", b"b", b"\x00", b"\xff", b"\x7b\x7d"] + [bytes([n]) for n in range(256)]
    return [b"".join(chooser.choice(alphabet) for _ in range(chooser.randrange(0, 12))) for _ in range(count)]


@pytest.fixture(scope="module")
def node():
    launcher = ServerLauncher("redis-server")
    try:
        server = launcher.start(cluster_enabled="yes", cluster_config_file="nodes.conf")
        with server.client() as client:
            yield client
    finally:
        launcher.stop_all()


def test_crc16_is_xmodem():
    assert crc16(b"123456789") == 0x31C3  # the catalogue's check value of CRC-16/XMODEM
    assert crc16(b"") == 0


def test_key_slot_equals_cluster_keyslot(node):
    keys = EDGE_KEYS + random_keys(3000)
    replies = node.pipeline(*[("CLUSTER", "KEYSLOT", key) for key in keys])
    assert all(isinstance(reply, int) for reply in replies) and len(replies) == len(keys)
    mismatches = [(key, reply, key_slot(key)) for key, reply in zip(keys, replies) if reply != key_slot(key)]
    assert not mismatches


def test_hash_tags():
    assert hash_tag(b"{user1000}.following") == b"user1000"
    assert hash_tag(b"foo{}{bar}") == b"foo{}{bar}"  # the first { opens; an empty tag: whole key
    assert hash_tag(b"foo{{bar}}zap") == b"{bar"
    assert hash_tag(b"foo{bar}{zap}") == b"bar"
    assert hash_tag(b"}{a}") == b"a"  # a } before the first { counts for nothing
    assert key_slot(b"{a}x") == key_slot(b"{a}y") == key_slot(b"a")
    assert key_slot(bytearray(b"{a}")) == key_slot(b"a")


def test_bitmaps_put_slot_n_in_bit_n_mod_8_of_byte_n_div_8():
    bitmap = slots_to_bitmap([0, 9, SLOTS - 1])
    assert len(bitmap) == BITMAP_SIZE
    assert bitmap[0] == 0b1 and bitmap[1] == 0b10 and bitmap[-1] == 0b10000000
    assert sum(bitmap) == 0b1 + 0b10 + 0b10000000
    assert bitmap_to_slots(bitmap) == [0, 9, SLOTS - 1]
    assert bitmap_to_slots(slots_to_bitmap(range(SLOTS))) == list(range(SLOTS))
    with pytest.raises(ValueError):
        slots_to_bitmap([SLOTS])
    with pytest.raises(ValueError):
        bitmap_to_slots(bytes(10))


def test_slot_ranges_are_runs():
    assert slot_ranges([]) == []
    assert slot_ranges([5, 3, 4, 9, 0]) == [(0, 0), (3, 5), (9, 9)]
    assert slot_ranges(range(SLOTS)) == [(0, SLOTS - 1)]
