"""DUMP and RESTORE: payload bytes equal to Redis 7.0's where its encoding is deterministic,
round trips of every type and encoding, RESTORE's options and errors (in Redis's order), and
payloads carried from a real redis-server to the target."""
from __future__ import annotations

import pytest

from conformance.client import ErrorReply
from conformance.rdb_bytes import crc64

# Payloads real Redis 7.0.15 produces for these values (type, body, version 10, CRC-64).
KNOWN_PAYLOADS = [
    (("SET", "k", "hello"), b"\x00\x05hello\n\x00cr\xdfve4 \n"),
    (("SET", "k", "12345"), b"\x00\xc190\n\x00\x9d\x94\xea'\x93\xfc\x08\xb9"),
    (("HSET", "k", "f", "v"), b"\x10\r\r\x00\x00\x00\x02\x00\x81f\x02\x81v\x02\xff\n\x00 \xf1=D#T\x08\x9d"),
    (("SADD", "k", "1", "2"),
     b"\x0b\x0c\x02\x00\x00\x00\x02\x00\x00\x00\x01\x00\x02\x00\n\x00oy8\xb14\xeb ."),
    (("ZADD", "k", "1.5", "a"),
     b"\x11\x0f\x0f\x00\x00\x00\x02\x00\x81a\x02\x831.5\x04\xff\n\x00\x08\x0cn\x19\x80\x8e}\x98"),
    (("RPUSH", "k", "a", "1", "-70000"),
     b"\x12\x01\x02\x11\x11\x00\x00\x00\x03\x00\x81a\x02\x01\x01\xf2\x90\xee\xfe\x04\xff\n\x00"
     b"\x18A\x8eV\xc0@Y\x84"),
]


def assert_error(reply, text: str) -> None:
    """reply is the error `text` (an ErrorReply, not a string that reads the same)."""
    assert isinstance(reply, ErrorReply) and str(reply) == text, f"expected the error {text!r}, got {reply!r}"


def test_dump_of_a_missing_key_is_nil(client):
    assert client.call_raw("DUMP", "nokey") == b"$-1\r\n"


@pytest.mark.internals("DUMP payloads, the RDB format")
@pytest.mark.parametrize("command, payload", KNOWN_PAYLOADS, ids=lambda c: str(c[:1]))
def test_payload_bytes(client, command, payload):
    client.call(*command)
    assert client.call("DUMP", "k") == payload


@pytest.mark.internals("OBJECT ENCODING")
@pytest.mark.parametrize("command", [c for c, _ in KNOWN_PAYLOADS] + [("SET", "k", "abcdefghij" * 10)],
                         ids=str)
def test_round_trip_keeps_value_type_and_encoding(client, command):
    client.call(*command)
    payload = client.call("DUMP", "k")
    assert payload[-10:-8] == b"\n\x00"
    encoding = client.call("OBJECT", "ENCODING", "k")
    assert client.call_raw("RESTORE", "copy", "0", payload) == b"+OK\r\n"
    assert client.call("TYPE", "copy") == client.call("TYPE", "k")
    assert client.call("OBJECT", "ENCODING", "copy") == encoding
    assert client.call("DUMP", "copy") == payload


def test_restore_ttl_replace_absttl_idletime(client):
    client.call("SET", "k", "v")
    payload = client.call("DUMP", "k")
    assert_error(client.call("RESTORE", "k", "0", payload), "BUSYKEY Target key name already exists.")
    assert client.call_raw("RESTORE", "k", "50000", payload, "REPLACE") == b"+OK\r\n"
    assert 0 < client.call("PTTL", "k") <= 50000
    assert client.call_raw("RESTORE", "a", "4000000000000", payload, "ABSTTL") == b"+OK\r\n"
    assert client.call("PEXPIRETIME", "a") == 4000000000000
    assert client.call_raw("RESTORE", "b", "0", payload, "IDLETIME", "1000") == b"+OK\r\n"
    assert client.call("OBJECT", "IDLETIME", "b") >= 1000
    assert client.call_raw("RESTORE", "c", "0", payload, "FREQ", "100") == b"+OK\r\n"
    assert client.call("GET", "c") == b"v"
    # A TTL already past creates nothing; with REPLACE the old key goes all the same.
    assert client.call_raw("RESTORE", "a", "1", payload, "ABSTTL", "REPLACE") == b"+OK\r\n"
    assert client.call("EXISTS", "a") == 0


@pytest.mark.parametrize("args, error", [
    (("5", "IDLETIME", "-1"), "ERR Invalid IDLETIME value, must be >= 0"),
    (("5", "FREQ", "256"), "ERR Invalid FREQ value, must be >= 0 and <= 255"),
    (("5", "FREQ", "x"), "ERR value is not an integer or out of range"),
    (("5", "IDLETIME", "1", "FREQ", "1"), "ERR syntax error"),
    (("5", "BOGUS"), "ERR syntax error"),
    (("-1",), "ERR Invalid TTL value, must be >= 0"),
    (("x",), "ERR value is not an integer or out of range"),
])
def test_restore_option_errors(client, args, error):
    client.call("SET", "src", "v")
    payload = client.call("DUMP", "src")
    assert_error(client.call("RESTORE", "k", args[0], payload, *args[1:]), error)
    assert client.call("EXISTS", "k") == 0


def test_busykey_is_checked_before_the_ttl(client):
    client.call("SET", "k", "v")
    assert_error(client.call("RESTORE", "k", "x", "junk"), "BUSYKEY Target key name already exists.")


@pytest.mark.internals("DUMP payloads, the RDB format")
@pytest.mark.parametrize("damage", ["checksum", "version", "short"])
def test_payload_trailer_errors(client, damage):
    client.call("SET", "src", "value")
    payload = bytearray(client.call("DUMP", "src"))
    if damage == "checksum":
        payload[-1] ^= 1
    elif damage == "version":
        payload[-10] = 11
    else:
        payload = payload[:5]
    reply = client.call("RESTORE", "k", "0", bytes(payload))
    assert_error(reply, "ERR DUMP payload version or checksum are wrong")
    assert client.call("EXISTS", "k") == 0
    assert client.call_raw("PING") == b"+PONG\r\n"


@pytest.mark.internals("DUMP payloads, the RDB format")
def test_bad_body_with_a_good_checksum(client):
    import struct
    body = b"\x00\x45hello\n\x00"  # a string that claims more bytes than follow
    payload = body + struct.pack("<Q", crc64(body))
    assert_error(client.call("RESTORE", "k", "0", payload), "ERR Bad data format")
    assert client.call("EXISTS", "k") == 0


@pytest.mark.internals("DUMP payloads, the RDB format")
@pytest.mark.launches
def test_payloads_from_real_redis_restore_on_the_target(launcher):
    from conformance.targets import ServerLauncher
    real_launcher = ServerLauncher("redis-server")
    try:
        real = real_launcher.start().client()
        target = launcher.start().client()
        commands = [
            ("SET", "s", "x" * 200), ("SET", "i", "-123456"),
            ("RPUSH", "l", *[str(i) * 9 for i in range(1000)]),
            ("HSET", "h", *[str(i) for i in range(400)]), ("HSET", "hs", "a", "b"),
            ("SADD", "t", *[str(i) for i in range(100)]), ("SADD", "u", "x", "y"),
            ("ZADD", "z", "1", "a", "2", "b"), ("ZADD", "zz", *[x for i in range(200) for x in (str(i), f"m{i}")]),
        ]
        for command in commands:
            real.call(*command)
            key = command[1]
            payload = real.call("DUMP", key)
            assert target.call("RESTORE", key, "0", payload) in ("OK", b"OK")
            assert target.call("OBJECT", "ENCODING", key) == real.call("OBJECT", "ENCODING", key)
            if real.call("OBJECT", "ENCODING", key) not in (b"hashtable",):
                assert target.call("DUMP", key) == payload, key
            back = target.call("DUMP", key)
            assert real.call("RESTORE", key + ":back", "0", back) in ("OK", b"OK")
    finally:
        real_launcher.stop_all()


@pytest.mark.internals("encodings: list-max-listpack-size")
@pytest.mark.launches
@pytest.mark.parametrize("fill", ["3", "1", "40000", "-1", "-5", "-6"])
def test_list_nodes_follow_list_max_listpack_size_as_in_real_redis(launcher, real_redis, fill):
    """A list's payload splits it into nodes as Redis does for list-max-listpack-size: at most
    that many elements a node (positive, up to 32767), at most 4, 8, 16, 32 or 64 KiB (-1 to
    -5, and less is -5)."""
    items = [f"element-{i}" * (1 + i % 7) for i in range(400)]
    payloads = []
    for side in (real_redis, launcher):
        with side.start().client() as c:
            c.call("CONFIG", "SET", "list-max-listpack-size", fill)
            c.call("RPUSH", "k", *items)
            payloads.append(c.call("DUMP", "k"))
    assert payloads[1] == payloads[0]
