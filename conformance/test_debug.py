"""Conformance of DEBUG (spec/server.md): every subcommand of Redis 7.0.15's DEBUG HELP, with
its help text, its arguments and errors, the shape of its reply, and what it does.

DEBUG needs `enable-debug-command yes` on the target (the launcher passes it). Where Redis
reports C internals (OBJECT, SDSLEN, HTSTATS, ...) the tests check the reply's shape, field
names and order, and the values that mean the same on any server (encoding, serialized length,
idle time, element counts). A test that changes the server for good (restart, crash, a file
rewritten) runs on a server of its own; one that changes a DEBUG setting of the session server
sets it back. Waiting is bounded polling, never a sleep assumed long enough. The crashes
(SEGFAULT, ASSERT, PANIC, OOM) and their reports are judged in test_crash.py.
"""
from __future__ import annotations

import os
import random
import re
import shlex
import shutil
import struct
import time

import pytest

import spec
from conformance import rdb_bytes
from conformance.client import ErrorReply, Verbatim, encode_command
from conformance.targets import ServerLauncher
from conformance.readings import config_value, info
from conformance.waiting import wait_for

pytestmark = pytest.mark.internals("DEBUG")

WAIT = 30.0  # seconds anything the server does in the background gets, even on a loaded machine
NOT_AN_INTEGER = ErrorReply("ERR value is not an integer or out of range")
NOT_POSITIVE = ErrorReply("ERR value is out of range, must be positive")
ZEROS = "0" * 40


def unknown(name: str) -> ErrorReply:
    return ErrorReply(f"ERR unknown subcommand or wrong number of arguments for '{name}'. Try DEBUG HELP.")


def info_fields(client, section: str) -> dict[str, str]:
    return info(client, section)


def text_of(reply) -> str:
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def uses_jemalloc(client) -> bool:
    return info_fields(client, "memory")["mem_allocator"].startswith("jemalloc")


# --- HELP ----------------------------------------------------------------------------------

# A Redis built with jemalloc lists two subcommands more, after REPLICATE's lines.
JEMALLOC_LINES = ["MALLCTL <key> [<val>]", "    Get or set a malloc tuning integer.",
                  "MALLCTL-STR <key> [<val>]", "    Get or set a malloc tuning string."]


def expected_help(client) -> list[str]:
    lines = spec.load()["debug"].fenced("help").splitlines()
    if uses_jemalloc(client):
        at = lines.index("    Replicates the provided string to replicas, allowing data divergence.") + 1
        lines[at:at] = JEMALLOC_LINES
    return lines


def test_help_is_redis_text(client, resp3_client):
    lines = expected_help(client)
    assert client.call("DEBUG", "HELP") == lines
    assert resp3_client.call("debug", "help") == lines  # the first line names it in capitals
    raw = client.call_raw("DEBUG", "HELP")
    assert raw.startswith(b"*%d\r\n+DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n" % len(lines))


# --- arguments ------------------------------------------------------------------------------

WRONG_COUNTS = [
    ("help", "x"), ("sleep",), ("sleep", "1", "2"), ("set-active-expire",), ("log",), ("error",),
    ("protocol",), ("protocol", "string", "x"), ("digest", "x"), ("leak",), ("leak", "a", "b"),
    ("htstats",), ("htstats", "0", "1"), ("htstats-key",), ("replicate",), ("object",),
    ("object", "k", "x"), ("drop-cluster-packet-filter",), ("populate",), ("populate", "1", "a", "2", "3"),
    ("sdslen",), ("quicklist-packed-threshold",), ("set-skip-checksum-validation",),
    ("aof-flush-sleep",), ("stringmatch-test", "x"), ("structsize", "x"), ("listpack",),
    ("quicklist",), ("quicklist", "k", "1", "2"), ("client-eviction", "x"), ("pause-cron",),
    ("pause-cron", "0", "1"), ("replybuffer", "resizing"), ("replybuffer", "foo", "1"),
    ("replybuffer", "resizing", "1", "2"), ("clusterlink", "kill", "a"), ("clusterlink", "foo", "a", "b"),
    ("clusterlink", "kill", "to", "a", "b"), ("change-repl-id", "x"), ("config-rewrite-force-all", "x"),
    ("nosuch",), ("Nosuch", "a", "b"), ("SLEEP",),
]


@pytest.mark.parametrize("args", WRONG_COUNTS, ids=" ".join)
def test_wrong_arguments_are_an_unknown_subcommand(client, args):
    assert client.call("DEBUG", *args) == unknown(args[0])


@pytest.mark.parametrize("args, error", [
    (("restart", "abc"), NOT_AN_INTEGER),
    (("crash-and-recover", "1.5"), NOT_AN_INTEGER),
    (("htstats", "x"), NOT_AN_INTEGER),
    (("htstats", "-1"), ErrorReply("ERR Out of range database")),
    (("htstats", "100000"), ErrorReply("ERR Out of range database")),
    (("drop-cluster-packet-filter", "x"), NOT_AN_INTEGER),
    (("populate", "-1"), NOT_POSITIVE),
    (("populate", "x"), NOT_POSITIVE),
    (("populate", "x", "p", "-1"), NOT_POSITIVE),
    (("populate", "1", "p", "x"), NOT_POSITIVE),
    (("replybuffer", "peak-reset-time", "x"), NOT_AN_INTEGER),
    (("clusterlink", "kill", "to", "abc"), ErrorReply("ERR Debug option only available for cluster mode enabled setup!")),
])
def test_bad_values(client, args, error):
    assert client.call("DEBUG", *args) == error
    assert client.call("DBSIZE") == 0  # nothing was populated


@pytest.mark.parametrize("size", ["-1", "abc", "1x", "4293918721", "5gb", "4gb"])
def test_quicklist_packed_threshold_bad_sizes(client, size):
    assert client.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", size) == ErrorReply(
        "ERR argument must be a memory value bigger than 1 and smaller than 4gb")


def test_arity(client):
    assert client.call("DEBUG") == ErrorReply("ERR wrong number of arguments for 'debug' command")


@pytest.mark.parametrize("args", [("leak", "something"), ("replicate", "SET", "k", "v"),
                                  ("drop-cluster-packet-filter", "-1"), ("set-disable-deny-scripts", "0"),
                                  ("LEAK", "")])
def test_ok_and_nothing_to_see(client, args):
    """Subcommands whose effect is out of sight (a leak, replicas, the cluster bus, scripts)."""
    assert client.call("DEBUG", *args) == "OK"
    assert client.call("DBSIZE") == 0  # REPLICATE sends to replicas, it does not run here


# Redis matches ten million random patterns: tens of seconds on a busy machine.
STRINGMATCH_TEST_TIMEOUT = 600.0


def test_stringmatch_test(client_factory):
    client = client_factory(timeout=STRINGMATCH_TEST_TIMEOUT)
    assert client.call("DEBUG", "STRINGMATCH-TEST") == "Apparently Redis did not crash: test passed"


def test_mallctl_is_jemalloc_only(client):
    for name in ("MALLCTL", "MALLCTL-STR"):
        reply = client.call("DEBUG", name, "nosuch.key")
        if uses_jemalloc(client):
            assert reply == ErrorReply("ERR No such file or directory")
        else:
            assert reply == unknown(name)


# --- SLEEP, SET-ACTIVE-EXPIRE, PAUSE-CRON, AOF-FLUSH-SLEEP -----------------------------------

def test_sleep(client):
    started = time.monotonic()
    assert client.call_raw("DEBUG", "SLEEP", "0.3") == b"+OK\r\n"
    assert time.monotonic() - started >= 0.29


def test_sleep_blocks_the_whole_server(client, client_factory):
    """The sleeper sets a marker just before sleeping, in the same write. Another client that
    sees the marker was served after the sleep began, so, the server doing one thing at a time,
    after it ended: at least the sleep's length after the sleeper sent it. One that does not see
    it was served first (a loaded machine may read both connections in one go): another round."""
    other = client_factory()
    for round in range(5):
        marker = f"marker:{round}"
        sent = time.monotonic()
        client.send_raw(encode_command(("SET", marker, "1")) + encode_command(("DEBUG", "SLEEP", "0.3")))
        time.sleep(0.05)  # most likely the sleep has begun
        seen = other.call("EXISTS", marker)
        waited = time.monotonic() - sent
        assert [client.read_reply(), client.read_reply()] == ["OK", "OK"]
        if seen:
            assert waited >= 0.29, f"served {waited:.3f}s after the sleep of 0.3s began"
            return
    pytest.fail("the other client was served before the sleep began, every round")


@pytest.mark.parametrize("seconds", ["0", "abc", "-1", "0.01xyz", "1e400"])
def test_sleep_reads_numbers_leniently(client, seconds):
    assert client.call("DEBUG", "sleep", seconds) == "OK"


def expiry_is_held_back(client, switch: str) -> None:
    """With `switch` 1, a key past its time stays until it is looked up; with 0 again, the
    periodic work removes it."""
    assert client.call_raw("DEBUG", switch, "1" if switch == "PAUSE-CRON" else "0") == b"+OK\r\n"
    try:
        client.call("SET", "k", "v", "PX", 20)
        set_at = time.monotonic()
        while time.monotonic() < set_at + 0.4:  # many cron ticks, had there been any
            time.sleep(0.05)
        assert client.call("DBSIZE") == 1  # nobody removed it yet
        assert client.call("GET", "k") is None  # expired on access
        assert client.call("DBSIZE") == 0
        client.call("SET", "k", "v", "PX", 20)
    finally:
        assert client.call("DEBUG", switch, "0" if switch == "PAUSE-CRON" else "1") == "OK"
    wait_for(lambda: client.call("DBSIZE") == 0, "active expiry removes the key")


def test_set_active_expire(client):
    expiry_is_held_back(client, "SET-ACTIVE-EXPIRE")


def test_pause_cron_stops_active_expiry(client):
    expiry_is_held_back(client, "PAUSE-CRON")


@pytest.mark.launches
def test_pause_cron_stops_client_timeouts(launcher):
    server = launcher.start(timeout="1")
    with server.client() as client, server.client() as idle:
        idle_id = idle.call("CLIENT", "ID")
        assert client.call("DEBUG", "PAUSE-CRON", "1") == "OK"
        listed = lambda: f"id={idle_id} ".encode() in client.call("CLIENT", "LIST")  # noqa: E731
        started = time.monotonic()
        while time.monotonic() < started + 2.5:  # over twice the timeout
            assert listed()
            time.sleep(0.1)
        assert client.call("DEBUG", "PAUSE-CRON", "0") == "OK"
        wait_for(lambda: not listed(), "the idle client is closed")
        assert idle.is_closed()


@pytest.mark.launches
def test_aof_flush_sleep_delays_the_writes(launcher):
    server = launcher.start(appendonly="yes")
    with server.client() as client:
        assert client.call("DEBUG", "AOF-FLUSH-SLEEP", "1000000") == "OK"
        started = time.monotonic()
        assert client.call("SET", "k", "v") == "OK"
        assert time.monotonic() - started >= 0.99  # written to the AOF after the sleep
        started = time.monotonic()
        for _ in range(5):  # reads append nothing: no sleep (five would take five seconds)
            assert client.call("GET", "k") == b"v"
        assert time.monotonic() - started < 5
        assert client.call("DEBUG", "AOF-FLUSH-SLEEP", "0") == "OK"
        assert client.call("SET", "k", "w") == "OK"
    server.restart()
    with server.client() as client:
        assert client.call("GET", "k") == b"w"


# --- RELOAD, LOADAOF, SET-SKIP-CHECKSUM-VALIDATION ------------------------------------------

@pytest.mark.launches
def test_reload_saves_and_loads_back(launcher):
    server = launcher.start()
    with server.client() as client:
        client.call("RPUSH", "l", "a", "b")
        client.call("SET", "s", "v", "EX", "100")
        digest = client.call("DEBUG", "DIGEST")
        assert client.call("DEBUG", "RELOAD") == "OK"
        assert client.call("DEBUG", "DIGEST") == digest
        assert os.path.exists(os.path.join(server.dir, "dump.rdb"))
        assert client.call("DEBUG", "RELOAD", "nosuch") == ErrorReply(
            "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
        client.call("SET", "extra", "1")
        assert client.call("DEBUG", "RELOAD", "NOSAVE") == "OK"  # the file as it was
        assert client.call("DEBUG", "DIGEST") == digest
        client.call("SET", "extra", "1")
        assert client.call("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE") == "OK"
        assert client.call("DBSIZE") == 3


DATASET = [("SET", "s", "hello"), ("SET", "n", "123"), ("RPUSH", "l", "a", "1", "b"),
           ("SADD", "t", "x", "y", "3"), ("SADD", "i", "1", "2", "3"), ("HSET", "h", "f", "v", "g", "1"),
           ("ZADD", "z", "1.5", "a", "-inf", "b", "3", "c"), ("ZADD", "zi", "0.1", "100"),
           ("EXPIRE", "s", "1000"), ("SELECT", "3"), ("SET", "k3", "v"), ("SELECT", "0")]


@pytest.mark.launches
def test_loadaof_reloads_from_the_files(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as client:
        for command in DATASET:
            client.call(*command)
        digest = client.call("DEBUG", "DIGEST")
        assert client.call("DEBUG", "LOADAOF", "ignored", "words") == "OK"
        assert client.call("DEBUG", "DIGEST") == digest
        assert info_fields(client, "persistence")["rdb_changes_since_last_save"] == "0"
        client.call("SET", "after", "1")  # still appending to the same files
    server.restart()
    with server.client() as client:
        assert client.call("GET", "after") == b"1"


@pytest.mark.launches
def test_loadaof_without_an_aof_ends_the_server(launcher):
    server = launcher.start()
    with server.client() as client:
        client.send_command("DEBUG", "LOADAOF")
    assert server.process.wait(WAIT) == 1


def bad_checksum(payload: bytes) -> bytes:
    return payload[:-1] + bytes([payload[-1] ^ 0xFF])


def test_skip_checksum_validation_lets_restore_take_a_bad_crc(client):
    client.call("RPUSH", "l", "a", "b", "c")
    payload = bad_checksum(client.call("DUMP", "l"))
    refused = ErrorReply("ERR DUMP payload version or checksum are wrong")
    assert client.call("RESTORE", "copy", "0", payload) == refused
    assert client.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1") == "OK"
    try:
        assert client.call("RESTORE", "copy", "0", payload) == "OK"
        assert client.call("LRANGE", "copy", "0", "-1") == [b"a", b"b", b"c"]
        newer = payload[:-10] + struct.pack("<H", 11) + payload[-8:]  # the version is still checked
        assert client.call("RESTORE", "newer", "0", newer) == refused
    finally:
        assert client.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "0") == "OK"
    assert client.call("RESTORE", "again", "0", payload) == refused


@pytest.mark.launches
def test_skip_checksum_validation_loads_an_rdb_with_a_bad_crc(launcher):
    server = launcher.start()
    with server.client() as client:
        client.call("SET", "k", "v")
        assert client.call("SAVE") == "OK"
        path = os.path.join(server.dir, "dump.rdb")
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(bad_checksum(data))
        client.call("SET", "later", "1")
        assert client.call("DEBUG", "SET-SKIP-CHECKSUM-VALIDATION", "1") == "OK"
        assert client.call("DEBUG", "RELOAD", "NOSAVE") == "OK"  # without the switch: a crash
        assert client.call("KEYS", "*") == [b"k"]


# --- POPULATE, DIGEST, DIGEST-VALUE ---------------------------------------------------------

def test_populate_makes_redis_keys_and_values(client):
    changes = info_fields(client, "persistence")["rdb_changes_since_last_save"]
    assert client.call("DEBUG", "POPULATE", "3") == "OK"
    assert sorted(client.call("KEYS", "*")) == [b"key:0", b"key:1", b"key:2"]
    assert client.call("MGET", "key:0", "key:2") == [b"value:0", b"value:2"]
    assert client.call("OBJECT", "ENCODING", "key:1") == b"embstr"
    assert info_fields(client, "persistence")["rdb_changes_since_last_save"] == changes  # no change counted
    assert client.call("DEBUG", "POPULATE", "0") == "OK"


def test_populate_prefix_and_size(client):
    client.call("SET", "p:1", "mine")
    assert client.call("DEBUG", "POPULATE", "2", "p", "10") == "OK"
    assert client.call("GET", "p:0") == b"value:0\0\0\0"  # padded with zero bytes
    assert client.call("GET", "p:1") == b"mine"  # an existing key is left alone
    assert client.call("DEBUG", "POPULATE", "3", "q", "3") == "OK"
    assert client.call("MGET", "q:0", "q:2") == [b"val", b"val"]
    assert client.call("DEBUG", "POPULATE", "1", "r", "0") == "OK"  # size 0: as none
    assert client.call("GET", "r:0") == b"value:0"
    assert client.call("DBSIZE") == 6


def test_digest_and_digest_value_shapes(client):
    assert client.call("DEBUG", "DIGEST") == ZEROS
    assert client.call("DEBUG", "DIGEST-VALUE") == []
    client.call("SET", "k", "v")
    [digest] = client.call("DEBUG", "DIGEST-VALUE", "k")
    assert re.fullmatch("[0-9a-f]{40}", digest) and digest != ZEROS
    assert re.fullmatch("[0-9a-f]{40}", client.call("DEBUG", "DIGEST")) and client.call("DEBUG", "DIGEST") != ZEROS


@pytest.mark.launches
def test_digest_is_real_redis_digest(client, real_redis):
    """The same data gives the same fingerprints as real Redis: the dataset's and each value's."""
    oracle = real_redis.start()
    with oracle.client() as other:
        for server in (client, other):
            server.call("FLUSHALL")
            assert server.call("DEBUG", "DIGEST") == ZEROS
            for command in DATASET:
                server.call(*command)
        assert client.call("DEBUG", "DIGEST") == other.call("DEBUG", "DIGEST") != ZEROS
        keys = ["s", "n", "l", "t", "i", "h", "z", "zi", "missing"]
        assert client.call("DEBUG", "DIGEST-VALUE", *keys) == other.call("DEBUG", "DIGEST-VALUE", *keys)


def test_digest_value_ignores_order_and_ttl_times(client):
    client.call("SADD", "a", "x", "y", "z")
    client.call("SADD", "b", "z", "x", "y")
    client.call("RPUSH", "l1", "x", "y")
    client.call("RPUSH", "l2", "y", "x")
    client.call("SET", "e1", "v", "EX", "100")
    client.call("SET", "e2", "v", "EX", "200")
    client.call("SET", "e3", "v")
    a, b, l1, l2, e1, e2, e3, missing = client.call(
        "DEBUG", "DIGEST-VALUE", "a", "b", "l1", "l2", "e1", "e2", "e3", "missing")
    assert a == b and l1 != l2 and e1 == e2 != e3 and missing == ZEROS
    before = client.call("DEBUG", "DIGEST")
    client.call("MOVE", "e3", "5")  # the same key and value in another database
    assert client.call("DEBUG", "DIGEST") != before


# --- OBJECT, SDSLEN, STRUCTSIZE ---------------------------------------------------------------

OBJECT_LINE = re.compile(r"Value at:0x[0-9a-f]+ refcount:(\d+) encoding:(\w+) serializedlength:(\d+) "
                         r"lru:(\d+) lru_seconds_idle:(\d+)"
                         r"(?: ql_nodes:(\d+) ql_avg_node:(\d+\.\d\d) ql_listpack_max:(-?\d+) "
                         r"ql_compressed:([01]) ql_uncompressed_size:(\d+))?")


def debug_object(client, key: str) -> dict:
    reply = client.call("DEBUG", "OBJECT", key)
    match = OBJECT_LINE.fullmatch(reply)
    assert match, reply
    names = ("refcount", "encoding", "serializedlength", "lru", "idle", "ql_nodes", "ql_avg_node",
             "ql_listpack_max", "ql_compressed", "ql_uncompressed_size")
    return {name: value for name, value in zip(names, match.groups()) if value is not None}


VALUES = [("SET", "str", "hello"), ("SET", "int", "123"), ("SET", "long", "x" * 100),
          ("RPUSH", "list", "a", "b", "c"), ("HSET", "hash", "f", "v"), ("HSET", "bighash", "f", "v" * 100),
          ("SADD", "intset", "1", "2"), ("SADD", "set", "a"), ("ZADD", "zset", "1", "a"),
          ("ZADD", "bigzset", "1", "a" * 100)]


@pytest.mark.parametrize("command", VALUES, ids=lambda command: command[1])
def test_object_means_what_other_commands_say(client, command):
    """encoding is OBJECT ENCODING's, refcount OBJECT REFCOUNT's, serializedlength the length of
    the value in DUMP's payload (its type byte and 10-byte trailer aside)."""
    client.call(*command)
    key = command[1]
    fields = debug_object(client, key)
    assert fields["encoding"] == client.call("OBJECT", "ENCODING", key).decode()
    assert int(fields["refcount"]) == client.call("OBJECT", "REFCOUNT", key)
    assert int(fields["serializedlength"]) == len(client.call("DUMP", key)) - 11
    assert ("ql_nodes" in fields) == (fields["encoding"] == "quicklist")


def test_object_of_a_list(client):
    client.call("RPUSH", "l", "a", "b", "c")
    fields = debug_object(client, "l")
    assert (fields["ql_nodes"], fields["ql_avg_node"], fields["ql_compressed"]) == ("1", "3.00", "0")
    assert fields["ql_listpack_max"] == config_value(client, "list-max-listpack-size").decode()
    assert fields["ql_uncompressed_size"] == "16"  # one listpack: 6 + 3 entries of 3 bytes + 1


def test_object_lru_is_the_access_clock(client):
    client.call("SET", "k", "v")
    payload = client.call("DUMP", "k")
    assert client.call("RESTORE", "old", "0", payload, "IDLETIME", "1000") == "OK"
    fields = debug_object(client, "old")
    now = int(client.call("TIME")[0])
    assert 1000 <= int(fields["idle"]) <= 1000 + WAIT
    assert abs(int(fields["idle"]) - client.call("OBJECT", "IDLETIME", "old")) <= 1
    behind = (now - 1000 - int(fields["lru"])) % (1 << 24)  # seconds, on a 24-bit clock
    assert min(behind, (1 << 24) - behind) <= WAIT
    assert client.call("OBJECT", "IDLETIME", "old") >= 1000  # DEBUG OBJECT was no access


def test_object_and_sdslen_find_keys_past_their_time(client):
    assert client.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"
    try:
        client.call("SET", "k", "value", "PX", "1")
        set_at = time.monotonic()
        while time.monotonic() < set_at + 0.05:
            time.sleep(0.01)
        assert debug_object(client, "k")["encoding"] == "embstr"
        assert client.call("DEBUG", "SDSLEN", "k").startswith("key_sds_len:1, ")
        assert client.call("DEBUG", "LISTPACK", "k") == ErrorReply("ERR no such key")  # looked up: gone
        assert client.call("DBSIZE") == 0
    finally:
        assert client.call("DEBUG", "SET-ACTIVE-EXPIRE", "1") == "OK"


@pytest.mark.parametrize("subcommand", ["OBJECT", "SDSLEN", "LISTPACK", "QUICKLIST", "HTSTATS-KEY"])
def test_no_such_key(client, subcommand):
    assert client.call("DEBUG", subcommand, "missing") == ErrorReply("ERR no such key")


SDSLEN_LINE = re.compile(r"key_sds_len:(\d+), key_sds_avail:(\d+), key_zmalloc: (\d+), "
                         r"val_sds_len:(\d+), val_sds_avail:(\d+), val_zmalloc: (\d+)")


def test_sdslen(client):
    client.call("SET", "key", "hello")
    client.call("SET", "grown", "a")
    client.call("APPEND", "grown", "bcdefghij" * 5)
    for key, length in (("key", 5), ("grown", 46)):
        match = SDSLEN_LINE.fullmatch(client.call("DEBUG", "SDSLEN", key))
        assert match and int(match[1]) == len(key) and int(match[4]) == length
        assert int(match[6]) >= length
    client.call("SET", "int", "12345")
    client.call("RPUSH", "list", "a")
    for key in ("int", "list"):
        assert client.call("DEBUG", "SDSLEN", key) == ErrorReply("ERR Not an sds encoded string.")


def test_structsize(client):
    reply = client.call("DEBUG", "STRUCTSIZE")
    assert isinstance(reply, bytes)
    match = re.fullmatch(rb"bits:(32|64) robj:\d+ dictentry:\d+ sdshdr5:\d+ sdshdr8:\d+ sdshdr16:\d+ "
                         rb"sdshdr32:\d+ sdshdr64:\d+ ", reply)
    assert match


# --- HTSTATS, HTSTATS-KEY, LISTPACK, QUICKLIST ----------------------------------------------

def table_stats(text: str) -> dict:
    """One table's statistics: its numbers by name, and the chain length distribution."""
    lines = text.split("\n")
    assert lines[0] == "Hash table 0 stats (main hash table):"
    if lines[1] == "No stats available for empty dictionaries":
        assert lines[2:] == [""]
        return {}
    names = ["table size", "number of elements", "different slots", "max chain length",
             "avg chain length (counted)", "avg chain length (computed)"]
    stats = {}
    for name, line in zip(names, lines[1:7]):
        label, _, value = line.partition(": ")
        assert label == f" {name}"
        stats[name] = float(value) if "avg" in name else int(value)
    assert lines[7] == " Chain length distribution:" and lines[-1] == ""
    distribution = {}
    for line in lines[8:-1]:
        match = re.fullmatch(r"   (\d+): (\d+) \((\d+\.\d\d)%\)", line)
        assert match, line
        distribution[int(match[1])] = int(match[2])
    stats["distribution"] = distribution
    return stats


def check_consistent(stats: dict, elements: int) -> None:
    size = stats["table size"]
    assert stats["number of elements"] == elements
    assert size >= 4 and size & (size - 1) == 0
    assert sum(stats["distribution"].values()) == size
    assert size - stats["distribution"].get(0, 0) == stats["different slots"]
    assert sum(length * slots for length, slots in stats["distribution"].items()) == elements
    assert max(stats["distribution"]) == stats["max chain length"]


def htstats(client, db: int) -> tuple[dict, dict]:
    """The statistics of a database's two tables, once Redis has finished rehashing them."""
    def settled():
        reply = text_of(client.call("DEBUG", "HTSTATS", str(db)))
        return reply if "rehashing target" not in reply else None
    reply = wait_for(settled, "the tables are rehashed")
    assert reply.startswith("[Dictionary HT]\n")
    main, expires = reply.removeprefix("[Dictionary HT]\n").split("[Expires HT]\n")
    return table_stats(main), table_stats(expires)


def test_htstats(client, resp3_client):
    assert htstats(client, 0) == ({}, {})
    for n in range(5):
        client.call("SET", f"k{n}", "v")
    client.call("EXPIRE", "k0", "100")
    keys, expires = htstats(client, 0)
    check_consistent(keys, 5)
    check_consistent(expires, 1)
    assert (keys["table size"], expires["table size"]) == (8, 4)  # grown by insertions
    assert isinstance(resp3_client.call("DEBUG", "HTSTATS", "0"), Verbatim)


def test_htstats_key(client):
    client.call("HSET", "hash", "f", "x" * 100, "g", "1")
    client.call("SADD", "set", "a", "b", "c")
    client.call("ZADD", "zset", "1", "a" * 100, "2", "b")
    for key, count in (("hash", 2), ("set", 3), ("zset", 2)):
        def settled():
            reply = text_of(client.call("DEBUG", "HTSTATS-KEY", key))
            return reply if "rehashing target" not in reply else None
        check_consistent(table_stats(wait_for(settled, "rehashed")), count)
    client.call("HSET", "small", "f", "v")
    client.call("SADD", "ints", "1")
    client.call("SET", "str", "v")
    for key in ("small", "ints", "str"):
        assert client.call("DEBUG", "HTSTATS-KEY", key) == ErrorReply(
            "ERR The value stored at the specified key is not represented using an hash table")


def test_listpack_and_quicklist(client):
    client.call("HSET", "hash", "f", "v")
    client.call("ZADD", "zset", "1", "a")
    client.call("RPUSH", "list", "a")
    client.call("HSET", "bighash", "f", "v" * 100)
    for key in ("hash", "zset"):
        assert client.call_raw("DEBUG", "LISTPACK", key) == b"+Listpack structure printed on stdout\r\n"
    for key in ("bighash", "list"):
        assert client.call("DEBUG", "LISTPACK", key) == ErrorReply("ERR Not a listpack encoded object.")
    for detail in ((), ("0",), ("1",), ("x",)):
        assert client.call_raw("DEBUG", "QUICKLIST", "list", *detail) == b"+Quicklist structure printed on stdout\r\n"
    assert client.call("DEBUG", "QUICKLIST", "hash") == ErrorReply("ERR Not a quicklist encoded object.")


# --- QUICKLIST-PACKED-THRESHOLD -------------------------------------------------------------

def quicklist_payload(nodes) -> bytes:
    """A list's DUMP payload: each node a list of elements (a listpack) or one element (plain)."""
    body = rdb_bytes.length(len(nodes))
    for node in nodes:
        if isinstance(node, list):
            body += rdb_bytes.length(2) + rdb_bytes.string(rdb_bytes.listpack(node))
        else:
            body += rdb_bytes.length(1) + rdb_bytes.string(node)
    return rdb_bytes.payload(rdb_bytes.LIST_QUICKLIST_2, body, version=10)


# Bytes that do not compress (RDB strings are LZF-compressed when that saves room).
BIG = random.Random(15).randbytes(2000)


def test_quicklist_packed_threshold_makes_plain_nodes(client):
    assert client.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "1kb") == "OK"
    try:
        client.call("RPUSH", "l", "a", BIG, "b", "c")
        assert debug_object(client, "l")["ql_nodes"] == "3"
        assert client.call("DUMP", "l") == quicklist_payload([[b"a"], BIG, [b"b", b"c"]])
        assert client.call("LRANGE", "l", "0", "-1") == [b"a", BIG, b"b", b"c"]
        assert client.call("RESTORE", "copy", "0", client.call("DUMP", "l")) == "OK"
        assert client.call("LRANGE", "copy", "0", "-1") == [b"a", BIG, b"b", b"c"]
    finally:
        assert client.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "0") == "OK"  # 1GB again
    client.call("RPUSH", "l2", "a", BIG, "b", "c")
    assert debug_object(client, "l2")["ql_nodes"] == "1"
    assert client.call("DUMP", "l2") == quicklist_payload([[b"a", BIG, b"b", b"c"]])


@pytest.mark.launches
def test_quicklist_prints_plain_nodes(launcher):
    server = launcher.start()
    with server.client() as client:
        assert client.call("DEBUG", "QUICKLIST-PACKED-THRESHOLD", "100") == "OK"
        client.call("RPUSH", "l", "a", "x" * 100, "b")
        assert client.call("DEBUG", "QUICKLIST", "l", "1") == "Quicklist structure printed on stdout"
        client.call("DEBUG", "LOG", "flushed")  # the log's write flushes standard output too

        def printed():
            with open(server.log_path, "rb") as f:
                log = f.read()
            return log if b"DEBUG LOG: flushed" in log else None
        log = wait_for(printed, "the log line")
    containers = re.findall(rb"\{container : (PLAIN|PACKED), encoding: RAW, size: (\d+), count: (\d+)", log)
    assert containers == [(b"PACKED", b"10", b"1"), (b"PLAIN", b"100", b"1"), (b"PACKED", b"10", b"1")]
    assert b"{ entry : " + b"x" * 100 in log  # (Redis prints on past the element, to a NUL)


# --- REPLYBUFFER, CLIENT-EVICTION -----------------------------------------------------------

def client_field(client, client_id: int, name: str) -> int:
    for line in client.call("CLIENT", "LIST").decode().splitlines():
        fields = dict(item.split("=", 1) for item in line.split(" "))
        if fields["id"] == str(client_id):
            return int(fields[name])
    raise AssertionError(f"client {client_id} is not listed")


def test_replybuffer_shrinks_and_grows(client, client_factory):
    """As Redis's own test: an idle client's reply buffer shrinks once its peak is forgotten,
    and grows back while big replies fill it."""
    shrinks = int(info_fields(client, "stats")["reply_buffer_shrinks"])
    assert client.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "100") == "OK"
    try:
        other = client_factory()
        other_id = other.call("CLIENT", "ID")
        wait_for(lambda: 1024 <= client_field(client, other_id, "rbs") < 2048, "the idle buffer shrinks")
        assert int(info_fields(client, "stats")["reply_buffer_shrinks"]) > shrinks
        client.call("SET", "big", "x" * 32768)
        assert client.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "NEVER") == "OK"
        wait_for(lambda: other.call("GET", "big") and client_field(client, other_id, "rbs") >= 16384,
                 "the buffer grows")
        assert client_field(client, other_id, "rbs") < 32768
        assert int(info_fields(client, "stats")["reply_buffer_expands"]) > 0
    finally:
        assert client.call("DEBUG", "REPLYBUFFER", "PEAK-RESET-TIME", "RESET") == "OK"


def test_replybuffer_resizing_off(client, client_factory):
    assert client.call("DEBUG", "REPLYBUFFER", "RESIZING", "0") == "OK"
    try:
        other = client_factory()
        other_id = other.call("CLIENT", "ID")
        assert client_field(client, other_id, "rbs") == client_field(client, other_id, "rbp") == 16384
        started = time.monotonic()
        while time.monotonic() < started + 0.5:  # cron ticks, had resizing been on
            assert client_field(client, other_id, "rbs") == 16384
            time.sleep(0.05)
    finally:
        assert client.call("DEBUG", "REPLYBUFFER", "RESIZING", "1") == "OK"


BUCKET_LINE = re.compile(r"bucket ([ \d]{10})(?: - ([ \d]{10})|\+ {12}): tot-mem: ([ \d]{10}), clients: (\d+)")


def test_client_eviction(client, resp3_client):
    assert client.call("DEBUG", "CLIENT-EVICTION") == ErrorReply("ERR maxmemory-clients is disabled.")
    assert client.call("CONFIG", "SET", "maxmemory-clients", "100mb") == "OK"
    try:
        reply = resp3_client.call("DEBUG", "CLIENT-EVICTION")
    finally:
        assert client.call("CONFIG", "SET", "maxmemory-clients", "0") == "OK"
    assert isinstance(reply, Verbatim)
    lines = reply.split("\n")
    assert len(lines) == 20 and lines[-1] == ""
    bounds = []
    for line in lines[:-1]:
        match = BUCKET_LINE.fullmatch(line)
        assert match, line
        bounds.append((int(match[1]), int(match[2]) if match[2] else None))
    assert bounds[0] == (0, 32767) and bounds[-1] == (1 << 32, None)
    assert all(high == low * 2 - 1 for low, high in bounds[1:-1])


# --- replication and cluster ----------------------------------------------------------------

def test_change_repl_id(client):
    before = info_fields(client, "replication")
    assert client.call("DEBUG", "CHANGE-REPL-ID") == "OK"
    after = info_fields(client, "replication")
    assert re.fullmatch("[0-9a-f]{40}", after["master_replid"]) and after["master_replid"] != before["master_replid"]
    assert (after["master_replid2"], after["second_repl_offset"]) == (ZEROS, "-1")


# --- LOG, ERROR, PROTOCOL ----------------------------------------------------------------------

def test_log(client):
    assert client.call_raw("DEBUG", "LOG", "hello from the suite") == b"+OK\r\n"


def test_error(client):
    assert client.call_raw("DEBUG", "ERROR", "CUSTOM something failed") == b"-CUSTOM something failed\r\n"
    assert client.call_raw("DEBUG", "ERROR", "two\r\nlines") == b"-two  lines\r\n"
    assert client.call("PING") == "PONG"


PROTOCOL_SAMPLES = {
    # type: (RESP2 bytes, RESP3 bytes)
    "string": (b"$11\r\nHello World\r\n", b"$11\r\nHello World\r\n"),
    "integer": (b":12345\r\n", b":12345\r\n"),
    "double": (b"$5\r\n3.141\r\n", b",3.141\r\n"),
    "bignum": (b"$37\r\n1234567999999999999999999999999999999\r\n", b"(1234567999999999999999999999999999999\r\n"),
    "null": (b"$-1\r\n", b"_\r\n"),
    "array": (b"*3\r\n:0\r\n:1\r\n:2\r\n", b"*3\r\n:0\r\n:1\r\n:2\r\n"),
    "set": (b"*3\r\n:0\r\n:1\r\n:2\r\n", b"~3\r\n:0\r\n:1\r\n:2\r\n"),
    "map": (b"*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n", b"%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
    "attrib": (b"$39\r\nSome real reply following the attribute\r\n",
               b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n"
               b"$39\r\nSome real reply following the attribute\r\n"),
    "verbatim": (b"$25\r\nThis is a verbatim\nstring\r\n", b"=29\r\ntxt:This is a verbatim\nstring\r\n"),
    "true": (b":1\r\n", b"#t\r\n"),
    "false": (b":0\r\n", b"#f\r\n"),
}


@pytest.mark.parametrize("kind", sorted(PROTOCOL_SAMPLES))
def test_protocol(client, resp3_client, kind):
    resp2, resp3 = PROTOCOL_SAMPLES[kind]
    assert client.call_raw("DEBUG", "PROTOCOL", kind) == resp2
    assert resp3_client.call_raw("DEBUG", "PROTOCOL", kind.upper()) == resp3


def test_protocol_push(client, resp3_client):
    assert client.call("DEBUG", "PROTOCOL", "push") == ErrorReply("ERR RESP2 is not supported by this command")
    assert resp3_client.call("DEBUG", "PROTOCOL", "push") == b"Some real reply following the push reply"
    assert resp3_client.next_raw_push() == b">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n"


def test_protocol_unknown_type(client):
    assert client.call("DEBUG", "PROTOCOL", "nosuch") == ErrorReply(
        "ERR Wrong protocol type name. Please use one of the following: "
        "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false")


@pytest.mark.launches
def test_refused_unless_enabled(launcher):
    server = launcher.start(enable_debug_command="no")
    with server.client() as client:
        assert client.call("DEBUG", "SLEEP", "0") == ErrorReply(
            "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
            "you can run it from a local connection, otherwise you need to set this option in the "
            "configuration file, and then restart the server.")


# --- CONFIG-REWRITE-FORCE-ALL ------------------------------------------------------------------

@pytest.mark.launches
def test_config_rewrite_force_all_without_a_file(launcher):
    server = launcher.start()
    with server.client() as client:
        assert client.call("DEBUG", "CONFIG-REWRITE-FORCE-ALL") == ErrorReply(
            "ERR CONFIG-REWRITE-FORCE-ALL failed: Bad address")


def config_everything(client) -> dict:
    reply = client.call("CONFIG", "GET", "*")
    return dict(zip(reply[::2], reply[1::2]))


@pytest.mark.launches
def test_config_rewrite_force_all_writes_every_option(launcher, tmp_path):
    config = tmp_path / "redis.conf"
    config.write_text("# kept as it is\nmaxmemory 10mb\nsave 100 1\nsave 200 2\n\n\nhz 12\n")
    server = launcher.start(config_file=str(config))
    with server.client() as client:
        client.call("CONFIG", "SET", "maxmemory", "20mb")
        assert client.call("DEBUG", "CONFIG-REWRITE-FORCE-ALL") == "OK"
        settings = config_everything(client)
        lines = config.read_text().split("\n")
        assert lines[:4] == ["# kept as it is", "maxmemory 20mb", "save \"\"", ""]  # one save now
        assert "hz 12" in lines and "# Generated by CONFIG REWRITE" in lines
        written = {line.split(" ")[0] for line in lines if line and not line.startswith("#")}
        assert {"maxmemory", "hz", "timeout", "appendonly", "dbfilename", "maxclients", "loglevel"} <= written
        for name in written - {name.decode() for name in settings} - {"user"}:  # hidden options
            assert client.call("CONFIG", "GET", name)[0] == name.encode()
    server.stop()
    again = launcher.start(config_file=str(config), dir=server.dir, save=None)  # the file says it all now
    with again.client() as client:
        assert config_everything(client) == {**settings, b"port": str(again.port).encode()}


# --- RESTART, CRASH-AND-RECOVER ------------------------------------------------------------------

@pytest.fixture
def restartable(launcher):
    """A launcher whose servers can execute themselves again: Redis finds its executable from
    the name it was started by, made absolute against its working directory, so a server
    started by a name found on the PATH could not."""
    command = launcher.command
    found = shutil.which(command[0])
    again = ServerLauncher(shlex.join([os.path.abspath(found) if found else command[0], *command[1:]]),
                           default_options=launcher.default_options)
    yield again
    again.stop_all()


def comes_back(server) -> dict:
    """Wait for a restarting server to answer again; its INFO server fields."""
    def answering():
        try:
            with server.client(timeout=2) as client:
                return info_fields(client, "server")
        except (OSError, ConnectionError):
            return None
    return wait_for(answering, "the server answers again")


@pytest.mark.launches
def test_restart_saves_and_comes_back(restartable, tmp_path):
    config = tmp_path / "redis.conf"
    config.write_text("maxmemory 10mb\n")
    server = restartable.start(config_file=str(config), save=["3600", "1"])
    with server.client() as client:
        before = info_fields(client, "server")
        client.call("SET", "k", "v")
        client.call("CONFIG", "SET", "maxmemory", "20mb")
        client.send_command("DEBUG", "RESTART", "200")
        assert client.read_all_until_closed(WAIT) == b""  # closed without a reply
    after = comes_back(server)
    assert after["process_id"] == before["process_id"] and after["run_id"] != before["run_id"]
    assert server.is_running()
    with server.client() as client:
        assert client.call("GET", "k") == b"v"  # saved before, loaded after
        assert client.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"20971520"]  # rewritten
    assert "maxmemory 20mb" in config.read_text()


@pytest.mark.launches
def test_crash_and_recover_saves_nothing(restartable):
    server = restartable.start(save=["3600", "1"])
    with server.client() as client:
        before = info_fields(client, "server")
        client.call("SET", "k", "v")
        client.send_command("DEBUG", "CRASH-AND-RECOVER", "100")
        assert client.read_all_until_closed(WAIT) == b""
    after = comes_back(server)
    assert after["process_id"] == before["process_id"] and after["run_id"] != before["run_id"]
    with server.client() as client:
        assert client.call("DBSIZE") == 0


# --- SEGFAULT, ASSERT, PANIC, OOM ----------------------------------------------------------------
# Their bug reports, the signals they die by and use-exit-on-panic: conformance/test_crash.py.

@pytest.mark.launches
def test_oom_exits_on_panic(launcher):
    server = launcher.start(use_exit_on_panic="yes")
    with server.client() as client:
        client.send_command("DEBUG", "OOM")
        assert client.read_all_until_closed(WAIT) == b""
    assert server.process.wait(WAIT) == 1
