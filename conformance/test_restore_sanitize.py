"""sanitize-dump-payload (no, yes, clients): how deeply RESTORE and a file's loading check a
value whose CRC is right (spec/persistence.md).

Every load checks a listpack's header (total size, terminator) and an intset's width and size;
ziplists and zipmaps are walked whole whatever the setting. The deep check walks listpacks and
intsets too: entries within bounds, the header's count, no field or member twice, whole pairs,
an intset ascending. `yes` applies it everywhere, files included; `clients` to the RESTORE of an
ordinary client only; `no` (the default) nowhere.

A value that passes the shallow check but not the deep one is accepted under `no`; reading it
may then crash Redis 7.0 itself (HGETALL asserts on a listpack whose count lies), so these tests
only look at such a key's type and encoding, and delete it. Where Redis converts such a value
while loading it (its count past the listpack limits) and the entries are whole, the result is
an ordinary hash table, read here like any other.
"""
from __future__ import annotations

import re
import struct

import pytest

from conformance import rdb_bytes as B
from conformance.client import ErrorReply
from conformance.targets import free_port, run_until_exit, server_words

pytestmark = pytest.mark.internals("sanitize-dump-payload and crafted RDB payloads")

BAD_DATA = "ERR Bad data format"


def lp(items: list[bytes], count: int | None = None) -> bytes:
    return B.string(B.listpack(items, count))


def damaged_entry_listpack() -> bytes:
    """A listpack of [a, 1, b, 2] whose last entry's backlen is wrong (its header right)."""
    data = bytearray(B.listpack([b"a", b"1", b"b", b"2"]))
    data[-2] = 7
    return B.string(bytes(data))


def node(blob: bytes) -> bytes:
    """A quicklist of one packed node."""
    return B.length(1) + B.length(2) + B.string(blob)


# Payload bodies the shallow check accepts and the deep check refuses: (type, body, TYPE, encoding).
SHALLOW_ONLY = {
    "hash-count-lies": (B.HASH_LISTPACK, lp([b"a", b"1", b"b", b"2"], count=6), "hash", "listpack"),
    "hash-field-twice": (B.HASH_LISTPACK, lp([b"a", b"1", b"a", b"2"]), "hash", "listpack"),
    "hash-odd-count": (B.HASH_LISTPACK, lp([b"a", b"1", b"b"]), "hash", "listpack"),
    "hash-damaged-entry": (B.HASH_LISTPACK, damaged_entry_listpack(), "hash", "listpack"),
    "zset-member-twice": (B.ZSET_LISTPACK, lp([b"a", b"1", b"a", b"2"]), "zset", "listpack"),
    "zset-odd-count": (B.ZSET_LISTPACK, lp([b"a", b"1", b"b"]), "zset", "listpack"),
    "intset-out-of-order": (B.SET_INTSET, B.string(B.intset([3, 1, 2])), "set", "intset"),
    "intset-member-twice": (B.SET_INTSET, B.string(B.intset([1, 1])), "set", "intset"),
    "plain-hash-field-twice": (B.HASH, B.length(2) + (B.string(b"a") + B.string(b"1")) * 2, "hash", "listpack"),
    "quicklist-count-lies": (B.LIST_QUICKLIST_2, node(B.listpack([b"x", b"y"], count=5)), "list", "quicklist"),
    "quicklist-damaged-entry": (B.LIST_QUICKLIST_2, B.length(1) + B.length(2) + damaged_entry_listpack(),
                                "list", "quicklist"),
}

# Refused by the shallow check already, or empty by their header: refused in every mode.
ALWAYS_REFUSED = {
    "listpack-total-size": (B.HASH_LISTPACK, B.string(struct.pack("<IH", 99, 2) + b"\x81a\x02\x01\x01\xff")),
    "listpack-no-terminator": (B.HASH_LISTPACK, B.string(B.listpack([b"a", b"1"])[:-1] + b"\x00")),
    "hash-count-below-a-pair": (B.HASH_LISTPACK, lp([b"a", b"1"], count=1)),
    "zset-count-zero": (B.ZSET_LISTPACK, lp([b"a", b"1"], count=0)),
    "quicklist-node-count-zero": (B.LIST_QUICKLIST_2, node(B.listpack([b"x"], count=0))),
    "intset-width-3": (B.SET_INTSET, B.string(struct.pack("<II", 3, 1) + b"\x01\x00\x00")),
    "intset-size": (B.SET_INTSET, B.string(B.intset([1, 2])[:-1])),
    "intset-empty": (B.SET_INTSET, B.string(B.intset([]))),
    "ziplist-count-lies": (B.HASH_ZIPLIST, B.string(B.ziplist([b"a", b"1"], count=4))),
}


def restore(c, key: str, rdb_type: int, body: bytes, mode: str):
    c.call("CONFIG", "SET", "sanitize-dump-payload", mode)
    try:
        return c.call("RESTORE", key, "0", B.payload(rdb_type, body))
    finally:
        c.call("CONFIG", "SET", "sanitize-dump-payload", "no")


def assert_ok(reply, what: str = "") -> None:
    assert reply in ("OK", b"OK"), f"{what}: expected OK, got {reply!r}" if what else f"expected OK, got {reply!r}"


def as_text(reply) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


@pytest.mark.parametrize("case", list(SHALLOW_ONLY))
def test_without_sanitizing_the_shallow_check_decides(client, case):
    rdb_type, body, kind, encoding = SHALLOW_ONLY[case]
    assert_ok(restore(client, "k", rdb_type, body, "no"))
    assert (as_text(client.call("TYPE", "k")), as_text(client.call("OBJECT", "ENCODING", "k"))) == (kind, encoding)
    assert client.call("DEL", "k") == 1  # not read: Redis may crash on reading it


@pytest.mark.parametrize("mode", ["yes", "clients"])
@pytest.mark.parametrize("case", list(SHALLOW_ONLY))
def test_sanitizing_refuses_what_the_deep_check_finds(client, case, mode):
    """`clients` sanitizes the RESTORE of an ordinary client as `yes` does."""
    rdb_type, body, _, _ = SHALLOW_ONLY[case]
    reply = restore(client, "k", rdb_type, body, mode)
    assert isinstance(reply, ErrorReply) and str(reply) == BAD_DATA, reply
    assert client.call("EXISTS", "k") == 0


@pytest.mark.parametrize("mode", ["no", "yes"])
@pytest.mark.parametrize("case", list(ALWAYS_REFUSED))
def test_what_the_shallow_check_finds_is_refused_in_every_mode(client, case, mode):
    rdb_type, body = ALWAYS_REFUSED[case]
    reply = restore(client, "k", rdb_type, body, mode)
    assert isinstance(reply, ErrorReply) and str(reply) == BAD_DATA, reply
    assert client.call("EXISTS", "k") == 0


def test_sanitizing_applies_inside_a_transaction(client):
    rdb_type, body, _, _ = SHALLOW_ONLY["hash-field-twice"]
    client.call("CONFIG", "SET", "sanitize-dump-payload", "clients")
    try:
        client.call("MULTI")
        client.call("RESTORE", "k", "0", B.payload(rdb_type, body))
        replies = client.call("EXEC")
    finally:
        client.call("CONFIG", "SET", "sanitize-dump-payload", "no")
    assert [str(reply) for reply in replies] == [BAD_DATA]


@pytest.mark.parametrize("mode", ["no", "yes"])
def test_a_score_that_is_no_number_passes_the_deep_check_and_reads_as_zero(client, mode):
    """The deep check looks at a sorted set's members, not its scores; a score is read as
    strtod reads it."""
    body = lp([b"a", b"one", b"b", b"2.5x", b"c", b"0x10"])
    assert_ok(restore(client, "z", B.ZSET_LISTPACK, body, mode))
    assert [client.call("ZSCORE", "z", member) for member in ("a", "b", "c")] == [b"0", b"2.5", b"16"]


@pytest.mark.parametrize("case, rdb_type, body, encoding, contents", [
    ("hash", B.HASH_LISTPACK, lp([b"a", b"1", b"b", b"2"], count=2000), "hashtable",
     ("HGETALL", [b"a", b"1", b"b", b"2"])),
    ("zset", B.ZSET_LISTPACK, lp([b"a", b"1", b"b", b"2"], count=1000), "skiplist",
     ("ZRANGE", [b"a", b"b"])),
])
def test_a_count_past_the_limits_converts_whole_entries(client, case, rdb_type, body, encoding, contents):
    """Without sanitizing, a header that claims more pairs than the listpack limits makes Redis
    convert the value while loading it: the entries it holds count, not the header's claim."""
    assert_ok(restore(client, "k", rdb_type, body, "no"))
    assert as_text(client.call("OBJECT", "ENCODING", "k")) == encoding
    command, expected = contents
    reply = client.call(command, "k", *(["0", "-1"] if command == "ZRANGE" else []))
    if isinstance(reply, dict):  # HGETALL under RESP3 clients
        reply = [item for pair in reply.items() for item in pair]
    assert sorted(reply) == sorted(expected)
    assert client.call("HLEN" if case == "hash" else "ZCARD", "k") == 2


def test_an_intset_past_the_limit_converts(client):
    body = B.string(B.intset(list(range(600, 0, -1))))  # descending, more than 512
    assert_ok(restore(client, "s", B.SET_INTSET, body, "no"))
    assert as_text(client.call("OBJECT", "ENCODING", "s")) == "hashtable"
    assert client.call("SCARD", "s") == 600
    assert client.call("SISMEMBER", "s", "5") == 1


# --- the log line of a refused RESTORE, and files at start-up --------------------------------------

INTERNAL = r"Internal error in RDB reading offset 0, function at \S+:\d+ -> "
LOG_LINE = re.compile(r"\d+:[CMSX] \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} ([.*#-]) (.*)")


def log_messages(text: str) -> list[tuple[str, str]]:
    """(mark, message) of each line in Redis's log format."""
    return [(m[1], m[2]) for m in map(LOG_LINE.fullmatch, text.splitlines()) if m]


@pytest.mark.launches
def test_a_refused_restore_is_logged_at_verbose_level(launcher):
    server = launcher.start(loglevel="verbose")
    rdb_type, body, _, _ = SHALLOW_ONLY["hash-field-twice"]
    with server.client() as c:
        assert str(restore(c, "k", rdb_type, body, "yes")) == BAD_DATA
        c.call("PING")
    with open(server.log_path, encoding="utf-8", errors="replace") as log:
        found = log_messages(log.read())
    assert any(mark == "-" and re.fullmatch(INTERNAL + "Hash listpack integrity check failed.", message)
               for mark, message in found), found[-5:]


DAMAGED_FILE = B.rdb_file(bytes([B.SELECTDB]) + B.length(0)
                          + B.key(B.HASH_LISTPACK, b"h", lp([b"a", b"1", b"a", b"2"]))
                          + B.key(B.STRING, b"s", B.string(b"v")))


def run_server(request, directory, mode: str):
    words = server_words(request.config.getoption("server"))
    return run_until_exit([*words, "--port", str(free_port()), "--dir", str(directory), "--save", "",
                           "--sanitize-dump-payload", mode], text=True)


@pytest.mark.launches
def test_a_file_is_sanitized_only_under_yes(request, tmp_path):
    """At start-up a value failing the deep check stops the server under `yes`: its reason
    logged, then (once redis-check-rdb, run on the file, has met the same damage) that the
    server terminates; exit status 1."""
    (tmp_path / "dump.rdb").write_bytes(DAMAGED_FILE)
    result = run_server(request, tmp_path, "yes")
    found = [message for _, message in log_messages(result.stdout)]
    assert result.returncode == 1, found[-5:]
    assert re.fullmatch(INTERNAL + "Hash listpack integrity check failed.", found[-2]), found[-5:]
    assert found[-1] == "Terminating server after rdb file reading failure."
    assert "Ready to accept connections" not in found


@pytest.mark.launches
@pytest.mark.parametrize("mode", ["no", "clients"])
def test_a_file_is_not_sanitized_under_no_or_clients(launcher, tmp_path, mode):
    (tmp_path / "dump.rdb").write_bytes(DAMAGED_FILE)
    server = launcher.start(dir=str(tmp_path), **{"sanitize-dump-payload": mode})
    with server.client() as c:
        assert (as_text(c.call("TYPE", "h")), c.call("GET", "s")) == ("hash", b"v")


def resp(*argv: bytes) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in argv)


def write_aof(directory, *commands: tuple) -> None:
    """An AOF of one incr file holding `commands`, as Redis 7.0 lays it out."""
    aof = directory / "appendonlydir"
    aof.mkdir()
    (aof / "appendonly.aof.manifest").write_bytes(b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    (aof / "appendonly.aof.1.incr.aof").write_bytes(b"".join(resp(*argv) for argv in commands))


AOF_RESTORE = (b"RESTORE", b"h", b"0", B.payload(B.HASH_LISTPACK, lp([b"a", b"1", b"a", b"2"])))


@pytest.mark.launches
def test_an_aof_restore_is_not_sanitized_under_clients(launcher, tmp_path):
    """The AOF's commands are no client's: `clients` leaves their payloads unsanitized."""
    write_aof(tmp_path, AOF_RESTORE, (b"SET", b"s", b"v"))
    server = launcher.start(dir=str(tmp_path), appendonly="yes", **{"sanitize-dump-payload": "clients"})
    with server.client() as c:
        assert (as_text(c.call("TYPE", "h")), c.call("GET", "s")) == ("hash", b"v")


@pytest.mark.launches
def test_an_aof_restore_refused_under_yes_stops_the_start_up(request, tmp_path):
    """Redis reports the damage as that of a file being loaded, and exits."""
    write_aof(tmp_path, AOF_RESTORE, (b"SET", b"s", b"v"))
    words = server_words(request.config.getoption("server"))
    result = run_until_exit([*words, "--port", str(free_port()), "--dir", str(tmp_path), "--save", "",
                             "--appendonly", "yes", "--sanitize-dump-payload", "yes"], text=True)
    found = [(mark, message) for mark, message in log_messages(result.stdout)]
    assert result.returncode == 1, found[-5:]
    assert found[-1][0] == "#" and re.fullmatch(INTERNAL + "Hash listpack integrity check failed.", found[-1][1]), \
        found[-5:]


def sanitizations(c) -> int:
    info = as_text(c.call("INFO", "stats"))
    return int(dict(line.split(":", 1) for line in info.splitlines() if ":" in line)["dump_payload_sanitizations"])


def test_each_deep_check_is_counted(client):
    """INFO stats `dump_payload_sanitizations` counts the listpacks and intsets the deep check
    walked, each packed quicklist node one, a refused one too; CONFIG RESETSTAT zeroes it."""
    quicklist = (B.LIST_QUICKLIST_2, B.length(3) + B.length(2) + lp([b"a"]) + B.length(1) + B.string(b"plain")
                 + B.length(2) + lp([b"b", b"c"]))
    for rdb_type, body, mode, counted in [
        (*quicklist, "yes", 2),
        (B.HASH_LISTPACK, lp([b"f", b"v"]), "yes", 1),
        (B.ZSET_LISTPACK, lp([b"m", b"1"]), "clients", 1),
        (B.SET_INTSET, B.string(B.intset([1, 2])), "yes", 1),
        (*SHALLOW_ONLY["hash-field-twice"][:2], "yes", 1),
        (B.HASH_LISTPACK, lp([b"f", b"v"]), "no", 0),
        (B.HASH_ZIPLIST, B.string(B.ziplist([b"f", b"v"])), "yes", 0),
        (B.HASH, B.length(1) + B.string(b"f") + B.string(b"v"), "yes", 0),
    ]:
        before = sanitizations(client)
        restore(client, "k", rdb_type, body, mode)
        assert sanitizations(client) - before == counted, (rdb_type, mode)
        client.call("DEL", "k")
    assert_ok(client.call("CONFIG", "RESETSTAT"))
    assert sanitizations(client) == 0
