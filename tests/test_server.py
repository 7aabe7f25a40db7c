"""Unit tests of the server family's pure helpers: INFO's text, COMMAND's descriptions."""
import selectors
import time
from types import SimpleNamespace

import pytest

import spec
from reference import info
from reference.blocking import Block, BlockedClients
from reference.commands import server as commands
from reference.config import Config
from reference.dispatch import CommandError, build_table
from reference.keyspace import Keyspace
from reference.replication import Replication


@pytest.fixture(scope="module")
def table():
    return build_table()


@pytest.fixture
def server(table):
    server = SimpleNamespace(config=Config(), keyspace=Keyspace(16), commands=table,
                             stats={"total_commands_processed": 7}, clients={}, start_time=time.time(),
                             selector=selectors.DefaultSelector(), buffer_peaks=info.ClientBufferPeaks(),
                             postponed=[], released=[], shutdown_in_ms=lambda: None)
    server.blocked = BlockedClients(server)
    server.replication = Replication(server)
    return server


def test_clients_section_counts_blocked_clients_and_their_timeouts(server):
    def fields():
        return dict(line.split(":") for line in info.clients_section(server))
    class Waiter:  # what parking a client uses of it
        db, blocked = server.keyspace[0], None
    waiting = [Waiter() for _ in range(3)]
    for client, timeout_ms in zip(waiting, (0, 5000, 100)):
        server.blocked.park(client, None, [b"blpop"], Block([b"k"], timeout_ms, None))
    assert (fields()["blocked_clients"], fields()["clients_in_timeout_table"]) == ("3", "2")
    server.blocked.release(waiting[1])
    assert (fields()["blocked_clients"], fields()["clients_in_timeout_table"]) == ("2", "1")


@pytest.mark.parametrize("n, human", [
    (0, "0B"), (1023, "1023B"), (1024, "1.00K"), (1536, "1.50K"), (1024 ** 2, "1.00M"),
    (5 * 1024 ** 3 // 2, "2.50G"), (1024 ** 4, "1.00T"), (1024 ** 5, "1.00P"), (1024 ** 6, f"{1024 ** 6}B"),
])
def test_bytes_to_human(n, human):
    assert info.bytes_to_human(n) == human


def test_wanted_sections():
    assert info.wanted_sections([]) == set(info.DEFAULT_SECTIONS)
    assert info.wanted_sections([b"DEFAULT"]) == set(info.DEFAULT_SECTIONS)
    assert info.wanted_sections([b"everything"]) == set(info.SECTIONS)
    assert info.wanted_sections([b"Modules", b"nosuch"]) == {"module_list", "nosuch"}


@pytest.mark.parametrize("message, code", [
    ("ERR syntax error", "ERR"), ("WRONGTYPE Operation against a key", "WRONGTYPE"),
    ("NOSPACEATALL", "ERR"), ("A" * 40 + " late space", "ERR"),
])
def test_error_code(message, code):
    assert info.error_code(message) == code


def test_info_text_layout(server):
    text = info.info_text(server, [b"stats", b"server"])
    assert text.startswith("# Server\r\nredis_version:7.0.15\r\n")
    assert "\r\n\r\n# Stats\r\ntotal_connections_received:0\r\ntotal_commands_processed:7\r\n" in text
    assert text.endswith("\r\n") and not text.endswith("\r\n\r\n")
    assert info.info_text(server, [b"nosuch"]) == ""


def test_keyspace_section_and_average_ttl(server):
    db = server.keyspace[3]
    db.clock.ms = 1_000_000
    db.set(b"a", b"1")
    db.set(b"b", b"1")
    db.set_expire(b"b", 1_000_000 + 4000)
    db.set(b"c", b"1")
    db.set_expire(b"c", 1_000_000 + 2000)
    # avg_ttl is active expiry's estimate: nothing sampled yet, then the first sample's mean
    assert info.keyspace_section(server) == ["db3:keys=3,expires=2,avg_ttl=0"]
    assert db.expire_some(20) == (2, 0)
    assert info.keyspace_section(server) == ["db3:keys=3,expires=2,avg_ttl=3000"]
    db.clock.ms += 1000  # later samples weigh 2%: 3000 // 50 * 49 + 2000 // 50
    db.expire_some(20)
    assert info.keyspace_section(server) == ["db3:keys=3,expires=2,avg_ttl=2980"]


@pytest.mark.parametrize("ns, bucket", [
    (1, (1, 1)), (255, (255, 255)), (256, (256, 257)), (3000, (2992, 3007)),
    (11000, (10944, 11007)), (149000, (148480, 149503)), (1_000_000_000, (998244352, 1002438655)),
])
def test_hdr_bucket(ns, bucket):
    # Redis prints these tops for calls of 3, 11 and 149 µs: p50=3.007, 11.007, 149.503
    assert info.hdr_bucket(ns) == bucket


def test_latency_percentiles():
    # 98 calls of 1 µs, one of 10 µs, one of 2 s (counted as the 1 s maximum)
    latency = {1: 98, 10: 1, 2_000_000: 1}
    assert info.latency_percentiles(latency, [0.0, 50.0, 99.0, 99.9, 100.0]) == [
        ("0", "1.000"), ("50", "1.003"), ("99", "10.047"), ("99.9", "1002438.655"),
        ("100", "1002438.655")]
    assert info.latency_percentiles({0: 1}, [50.0]) == [("50", "0.001")]  # at least 1 ns


@pytest.mark.parametrize("percentile, label", [(50.0, "50"), (99.9, "99.9"), (0.0, "0"),
                                               (100.0, "100"), (12.5, "12.5")])
def test_percentile_label(percentile, label):
    assert info.percentile_label(percentile) == label


def test_client_buffer_peaks_keep_eight_seconds():
    def client(pending_in: int, out: list[bytes]):
        return SimpleNamespace(parser=SimpleNamespace(pending=lambda: pending_in), out=out)
    peaks = info.ClientBufferPeaks()
    peaks.sample([client(100, [b"x" * 10, b"y" * 5]), client(7, [])], now=1000.5)
    assert peaks.recent() == (100, 15)
    peaks.sample([client(3, [])], now=1004)
    assert peaks.recent() == (100, 15)
    for second in range(1005, 1008):  # slot 1000 % 8 is emptied when second 1007 begins
        peaks.sample([client(3, [])], now=second)
    assert peaks.recent() == (3, 0)


def test_commandstats_lists_only_used_commands(server, table):
    table[b"dbsize"].calls, table[b"dbsize"].usec = 3, 10
    table[b"config"].subcommands[b"get"].rejected_calls = 1
    try:
        assert info.commandstats_section(server) == [  # in table order: DBSIZE is declared first
            "cmdstat_dbsize:calls=3,usec=10,usec_per_call=3.33,rejected_calls=0,failed_calls=0",
            "cmdstat_config|get:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0",
        ]
    finally:
        table[b"dbsize"].calls = table[b"dbsize"].usec = 0
        table[b"config"].subcommands[b"get"].rejected_calls = 0


def test_key_specs_come_from_the_declaration():
    declared = spec.load()
    assert commands.key_specs(declared["dbsize"]) == []
    [mset] = commands.key_specs(declared["mset"])
    assert mset["begin_search"] == {"type": "index", "spec": {"index": 1}}
    assert mset["find_keys"]["spec"] == {"lastkey": -1, "keystep": 2, "limit": 0}
    source, target = commands.key_specs(declared["rename"])
    assert list(source["flags"]) == ["RW", "access", "delete"] and list(target["flags"]) == ["OW", "update"]
    assert target["begin_search"]["spec"] == {"index": 2}


def test_key_spec_index_of_each_key_argument():
    declared = spec.load()
    assert spec.key_spec_indexes(declared["rename"]) == [0, 1]
    assert spec.key_spec_indexes(declared["mset"]) == [0]
    assert spec.key_spec_indexes(declared["sort"]) == [0, 2]  # STORE's key names its spec
    docs = commands.argument_docs(declared["copy"].arguments[1], iter([1]))
    assert docs["key_spec_index"] == 1


def test_command_info_orders_flags_and_categories(table):
    entry = commands.command_info(table[b"debug"])
    assert list(entry[2]) == ["admin", "noscript", "loading", "stale"]  # protected is hidden
    assert list(entry[6]) == ["@admin", "@slow", "@dangerous"]


@pytest.mark.parametrize("name, found", [
    (b"GET", "get"), (b"config|GET", "config|get"), (b"config|", None), (b"get|x", None),
    (b"a|b|c", None), (b"nosuch", None),
])
def test_find_command(table, name, found):
    command = commands.find_command(table, name)
    assert (command and command.name) == found


def test_keys_of(table):
    server = SimpleNamespace(commands=table)
    assert commands.keys_of(server, [b"mset", b"a", b"1", b"b", b"2"]) == [(1, ("OW", "update")), (3, ("OW", "update"))]
    assert commands.keys_of(server, [b"object", b"encoding", b"k"]) == [(2, ("RO",))]
    assert commands.keys_of(server, [b"set", b"k", b"v"]) == [(1, ("OW", "update"))]
    assert commands.keys_of(server, [b"set", b"k", b"v", b"get"]) == [(1, ("RW", "access", "update"))]
    # a range counted from the end takes what is there, as Redis does (MSET a 1 b -> a, b)
    assert [i for i, _ in commands.keys_of(server, [b"mset", b"a", b"1", b"b"])] == [1, 3]
    with pytest.raises(CommandError, match="Invalid command specified"):
        commands.keys_of(server, [b"config", b"nosuch", b"x"])
    with pytest.raises(CommandError, match="no key arguments"):
        commands.keys_of(server, [b"ping", b"x"])
    with pytest.raises(CommandError, match="Invalid number of arguments"):
        commands.keys_of(server, [b"get"])


def test_argument_docs_of_a_oneof():
    [filterby] = spec.load()["command"].subcommands["list"].arguments
    doc = commands.argument_docs(filterby, None)
    assert doc["name"] == "filterby" and doc["token"] == "FILTERBY" and list(doc["flags"]) == ["optional"]
    assert [child["token"] for child in doc["arguments"]] == ["MODULE", "ACLCAT", "PATTERN"]


def test_resetstat_zeroes_statistics_not_state(server, table):
    server.error_stats = {"ERR": 2}
    server.snapshots = SimpleNamespace(saves=3, forks=2, last_fork_usec=90, lastsave=1234)
    server.aof = SimpleNamespace(rewrites=1, consecutive_failures=1, last_rewrite_ok=False)
    server.keyspace.stats["expired_stale_perc"] = 0.25
    server.keyspace.last_load = (5, 1)
    get = table[b"get"]
    get.calls, get.usec, get.latency = 2, 9, {4: 2}
    info.reset_statistics(server)
    assert server.stats == {"total_commands_processed": 0} and server.error_stats == {}
    assert set(server.keyspace.stats.values()) == {0}
    assert (get.calls, get.usec, get.latency) == (0, 0, {})
    assert (server.snapshots.saves, server.snapshots.forks, server.snapshots.last_fork_usec) == (0, 0, 0)
    assert (server.aof.rewrites, server.aof.consecutive_failures) == (0, 0)
    # the outcome and time of the last save, rewrite and load are state, not counts
    assert (server.snapshots.lastsave, server.aof.last_rewrite_ok, server.keyspace.last_load) == (1234, False, (5, 1))
