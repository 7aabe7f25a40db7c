"""Conformance of INFO's fields (spec/server.md, INFO): for each field whose value follows from
what a test did, that it means what Redis 7.0 means, e.g. blocked_clients rises while a client
waits in BLPOP and falls when it is served. Counters are read as deltas or after CONFIG
RESETSTAT; anything that happens in the server's own time (active expiry, the cron sampling
buffers) is polled for, never waited for with a sleep.

Tests marked `internals` read fields that depend on how Redis is built rather than on what a
client can observe otherwise (active expiry's estimates, buffer sampling, the AOF's files, DEBUG).
"""
from __future__ import annotations

import functools
import os
import re
import socket
import time

import pytest

import spec
from conformance import waiting
from conformance.client import ErrorReply, encode_command
from conformance.readings import config_value, info, info_fields

WAIT = 20.0  # seconds to wait for a state the server reaches by itself


# --- reading INFO --------------------------------------------------------------------------


def number(client, section: str, name: str) -> int:
    return int(info(client, section)[name])


def stat_line(client, section: str, name: str) -> dict[str, str] | None:
    """The comma-separated a=b parts of one line of a per-item section (commandstats ...)."""
    value = info(client, section).get(name)
    return None if value is None else dict(part.split("=", 1) for part in value.split(","))


wait_for = functools.partial(waiting.wait_for, timeout=WAIT)


def wait_for_field(client, section: str, name: str, wanted: int) -> None:
    wait_for(lambda: number(client, section, name) == wanted,
             f"INFO {name} to be {wanted} (it is {info(client, section).get(name)})")


def reset(client) -> None:
    assert client.call("CONFIG", "RESETSTAT") == "OK"


# --- the fields of each section, as spec/server.md lists them --------------------------------

SECTION_TITLES = {"Server": "server", "Clients": "clients", "Memory": "memory",
                  "Persistence": "persistence", "Stats": "stats", "Replication": "replication",
                  "CPU": "cpu", "Modules": "modules", "Cluster": "cluster"}


def spec_fields() -> dict[str, list[tuple[str, str | None]]]:
    """Section name -> [(field, condition or None)] from the "INFO fields" tables."""
    tables: dict[str, list] = {}
    section = None
    for line in (spec.SPEC_DIR / "server.md").read_text().splitlines():
        heading = re.match(r"### INFO fields: (\w+)$", line)
        if heading:
            section = SECTION_TITLES[heading.group(1)]
            tables[section] = []
            continue
        if line.startswith("## ") or (line.startswith("### ") and not heading):
            section = None
        row = re.match(r"\| `([a-z0-9_]+)`(?: \(([^)]*)\))? \|", line)
        if row and section:
            tables[section].append((row.group(1), row.group(2)))
    return tables


SPEC_FIELDS = spec_fields()


def test_the_spec_lists_every_section():
    assert list(SPEC_FIELDS) == list(SECTION_TITLES.values())
    for section, table in SPEC_FIELDS.items():
        names = [name for name, _ in table]
        assert len(names) == len(set(names)), section
        assert names or section == "modules", f"no fields read for {section}"


def check_fields(printed: list[str], table: list[tuple[str, str | None]]) -> None:
    names = [name for name, _ in table]
    unknown = [name for name in printed if name not in names]
    assert not unknown, f"fields spec/server.md does not list: {unknown}"
    positions = [names.index(name) for name in printed]
    assert positions == sorted(set(positions)), f"not in the order of spec/server.md: {printed}"
    missing = [name for name, condition in table if condition is None and name not in printed]
    assert not missing, f"fields missing: {missing}"


@pytest.mark.internals("the fields of every INFO section")
@pytest.mark.parametrize("section", list(SECTION_TITLES.values()))
def test_each_section_prints_the_fields_of_redis_7_0_in_order(client, section):
    check_fields(list(info(client, section)), SPEC_FIELDS[section])


@pytest.mark.internals("INFO persistence fields")
def test_aof_size_fields_are_printed_while_appendonly_is_yes(launcher):
    server = launcher.start(appendonly="yes")
    with server.client() as c:
        table = SPEC_FIELDS["persistence"]
        printed = list(info(c, "persistence"))
        check_fields(printed, table)
        only_with_aof = [name for name, condition in table if condition == "appendonly yes"]
        assert len(only_with_aof) == 6
        assert printed[-6:] == only_with_aof
        assert c.call("CONFIG", "SET", "appendonly", "no") == "OK"
        assert not set(only_with_aof) & set(info(c, "persistence"))


@pytest.mark.internals("INFO replication fields")
def test_good_replicas_are_counted_while_min_replicas_is_set(client):
    assert "min_slaves_good_slaves" not in info(client, "replication")
    assert client.call("CONFIG", "SET", "min-replicas-to-write", "1") == "OK"
    try:
        printed = list(info(client, "replication").items())
        at = printed.index(("connected_slaves", "0"))
        assert printed[at + 1] == ("min_slaves_good_slaves", "0")
    finally:
        client.call("CONFIG", "SET", "min-replicas-to-write", "0")


# --- clients -------------------------------------------------------------------------------


def blocked(observer) -> tuple[int, int]:
    fields = info(observer, "clients")
    return int(fields["blocked_clients"]), int(fields["clients_in_timeout_table"])


def wait_blocked(observer, wanted: tuple[int, int]) -> None:
    wait_for(lambda: blocked(observer) == wanted,
             f"(blocked_clients, clients_in_timeout_table) to be {wanted}, not {blocked(observer)}")


def test_blocked_clients_and_their_timeouts(client, client_factory):
    forever, for_a_while = client_factory(), client_factory()
    assert blocked(client) == (0, 0)
    forever.send_command("BLPOP", "queue", 0)
    wait_blocked(client, (1, 0))  # no timeout: not in the timeout table
    for_a_while.send_command("BZPOPMIN", "zqueue", 100)
    wait_blocked(client, (2, 1))
    assert client.call("LPUSH", "queue", "a") == 1
    assert forever.read_reply() == [b"queue", b"a"]
    assert blocked(client) == (1, 1)  # served before LPUSH's reply was sent
    assert client.call("ZADD", "zqueue", 1, "m") == 1
    assert for_a_while.read_reply() == [b"zqueue", b"m", b"1"]
    assert blocked(client) == (0, 0)


def test_a_blocked_client_that_times_out_leaves_or_is_killed_is_no_longer_counted(client, client_factory):
    waiter = client_factory()
    assert waiter.call("BLPOP", "queue", "0.05") is None
    assert blocked(client) == (0, 0)
    leaver, killed = client_factory(), client_factory()
    killed_id = killed.call("CLIENT", "ID")
    leaver.send_command("BLPOP", "queue", 0)
    killed.send_command("BLMOVE", "queue", "elsewhere", "LEFT", "LEFT", 100)
    wait_blocked(client, (2, 1))
    leaver.close()
    wait_blocked(client, (1, 1))
    assert client.call("CLIENT", "KILL", "ID", killed_id) == 1
    assert blocked(client) == (0, 0)


def test_connected_clients_and_connections_received(client, client_factory):
    reset(client)
    before = number(client, "clients", "connected_clients")
    others = [client_factory() for _ in range(3)]
    for other in others:
        assert other.call("PING") == "PONG"
    fields = info(client, "clients") | info(client, "stats")
    assert int(fields["connected_clients"]) == before + 3
    assert fields["total_connections_received"] == "3"
    others[0].close()
    wait_for_field(client, "clients", "connected_clients", before + 2)
    assert number(client, "stats", "total_connections_received") == 3


def test_connections_refused_at_maxclients_are_rejected_not_received(launcher):
    server = launcher.start(maxclients=2)
    with server.client() as first:
        wait_for_field(first, "clients", "connected_clients", 1)  # the launcher's PING has left
        reset(first)
        with server.client() as second:
            assert second.call("PING") == "PONG"
            refused = socket.create_connection((server.target.host, server.port), timeout=10)
            with refused:
                received = b""
                while chunk := refused.recv(1024):
                    received += chunk
            assert received == b"-ERR max number of clients reached\r\n"
            fields = info(first, "stats") | info(first, "clients")
            assert fields["rejected_connections"] == "1"
            assert fields["total_connections_received"] == "1"
            assert fields["connected_clients"] == "2"


@pytest.mark.internals("how the server samples client buffers")
def test_recent_largest_query_buffer(launcher):
    server = launcher.start()
    with server.client() as observer, server.client() as writer:
        assert number(observer, "clients", "client_recent_max_input_buffer") < 100_000
        writer.send_raw(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$200000\r\n" + b"x" * 100_000)
        wait_for(lambda: number(observer, "clients", "client_recent_max_input_buffer") >= 100_000,
                 "client_recent_max_input_buffer to count the half-sent command")
        writer.send_raw(b"x" * 100_000 + b"\r\n")
        assert writer.read_reply() == "OK"


@pytest.mark.internals("how the server samples client buffers")
def test_recent_largest_reply_buffer(launcher):
    server = launcher.start()
    megabyte = 1 << 20
    with server.client() as observer:
        assert observer.call("SET", "big", b"x" * megabyte) == "OK"
        assert number(observer, "clients", "client_recent_max_output_buffer") < megabyte
        reader = socket.socket()
        reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # so the replies back up
        with reader:
            reader.connect((server.target.host, server.port))
            reader.sendall(encode_command(["GET", "big"]) * 32)  # and never read
            wait_for(lambda: number(observer, "clients", "client_recent_max_output_buffer") >= 16 * megabyte,
                     "client_recent_max_output_buffer to count the replies not yet sent")


# --- stats ---------------------------------------------------------------------------------


def test_total_commands_processed_counts_what_ran(client):
    reset(client)  # counts itself, once it has run
    client.call("PING")
    client.call("SET", "k", "v")
    assert client.call("GET") == ErrorReply("ERR wrong number of arguments for 'get' command")
    assert isinstance(client.call("NOSUCH"), ErrorReply)
    assert client.call("INCR", "k") == ErrorReply("ERR value is not an integer or out of range")
    # RESETSTAT, PING, SET and the failed INCR; refused commands never ran; INFO counts after
    assert number(client, "stats", "total_commands_processed") == 4


def test_network_bytes_reads_and_writes_follow_the_traffic(client):
    def counters(reply: bytes) -> tuple[int, int, int, int]:
        fields = info_fields(reply, "INFO stats")
        return tuple(int(fields[name]) for name in ("total_net_input_bytes", "total_net_output_bytes",
                                                    "total_reads_processed", "total_writes_processed"))

    first = client.call_raw("INFO", "stats")  # counts its own request, not yet its reply
    assert client.call_raw("PING") == b"+PONG\r\n"
    second = client.call_raw("INFO", "stats")
    before, after = counters(first[first.index(b"\r\n") + 2:]), counters(second[second.index(b"\r\n") + 2:])
    sent = len(encode_command(["PING"])) + len(encode_command(["INFO", "stats"]))
    answered = len(first) + len(b"+PONG\r\n")
    assert (after[0] - before[0], after[1] - before[1]) == (sent, answered)
    assert (after[2] - before[2], after[3] - before[3]) == (2, 2)  # one read, one write each


@pytest.mark.parametrize("command, hits, misses", [
    (("GET", "s"), 1, 0),
    (("GET", "nokey"), 0, 1),
    (("GET", "l"), 1, 0),  # found, though of the wrong type
    (("EXISTS", "s", "nokey"), 1, 1),
    (("MGET", "s", "nokey", "l"), 2, 1),
    (("TYPE", "nokey"), 0, 1),
    (("TTL", "s"), 1, 0),
    (("LRANGE", "l", 0, -1), 1, 0),
    (("SUNIONSTORE", "dest", "st", "nokey"), 1, 1),
    (("SET", "s", "2"), 0, 0),  # writes look keys up without counting
    (("INCR", "n"), 0, 0),
    (("DEL", "s", "nokey"), 0, 0),
    (("RENAME", "s", "t"), 0, 0),
])
def test_keyspace_hits_and_misses(client, command, hits, misses):
    client.call("SET", "s", "1")
    client.call("SET", "n", "5")
    client.call("RPUSH", "l", "a")
    client.call("SADD", "st", "m")
    before = info(client, "stats")
    client.call(*command)
    after = info(client, "stats")
    assert int(after["keyspace_hits"]) - int(before["keyspace_hits"]) == hits
    assert int(after["keyspace_misses"]) - int(before["keyspace_misses"]) == misses


@pytest.mark.internals("DEBUG SET-ACTIVE-EXPIRE")
def test_expired_keys_counts_a_key_found_expired(client):
    assert client.call("DEBUG", "SET-ACTIVE-EXPIRE", 0) == "OK"
    try:
        reset(client)
        client.call("SET", "short", "v", "PX", 1)
        client.call("SET", "kept", "v")
        time.sleep(0.01)  # let its time pass: with active expiry off only a lookup removes it
        assert client.call("DBSIZE") == 2
        assert client.call("GET", "short") is None
        fields = info(client, "stats")
        assert (fields["expired_keys"], fields["keyspace_misses"]) == ("1", "1")
        assert client.call("DBSIZE") == 1
    finally:
        client.call("DEBUG", "SET-ACTIVE-EXPIRE", 1)


@pytest.mark.internals("DEBUG SET-ACTIVE-EXPIRE, active expiry's estimates")
def test_active_expiry_counts_expired_keys_and_estimates_the_stale_share(client):
    hz = config_value(client, "hz")
    assert client.call("DEBUG", "SET-ACTIVE-EXPIRE", 0) == "OK"
    try:
        for i in range(50):
            client.call("SET", f"k{i}", "v", "PX", 1)
        time.sleep(0.01)  # their time passes; nothing removes them yet
        assert client.call("DBSIZE") == 50
        reset(client)
        # one cycle a second: its estimate then decays slowly enough to be read
        assert client.call("CONFIG", "SET", "hz", 1) == "OK"
        assert info(client, "stats")["expired_stale_perc"] == "0.00"
        assert client.call("DEBUG", "SET-ACTIVE-EXPIRE", 1) == "OK"
        wait_for_field(client, "stats", "expired_keys", 50)
        assert client.call("DBSIZE") == 0
        stale = float(info(client, "stats")["expired_stale_perc"])
        assert 0 < stale <= 100  # the cycles found stale keys
    finally:
        client.call("DEBUG", "SET-ACTIVE-EXPIRE", 1)
        client.call("CONFIG", "SET", "hz", hz)


@pytest.mark.internals("active expiry's estimates")
def test_active_expiry_estimates_the_mean_ttl_of_live_keys(client):
    reset(client)
    for i in range(10):
        client.call("SET", f"live{i}", "v", "EX", 1000)
    client.call("SET", "forever", "v")

    def average_ttl():
        line = info(client, "keyspace")["db0"]
        fields = dict(part.split("=") for part in line.split(","))
        assert (fields["keys"], fields["expires"]) == ("11", "10")
        return int(fields["avg_ttl"])

    estimate = wait_for(average_ttl, "active expiry to sample the keys (avg_ttl above 0)")
    assert 900_000 < estimate <= 1_000_000
    fields = info(client, "stats")
    assert (fields["expired_stale_perc"], fields["expired_keys"]) == ("0.00", "0")  # none was stale
    client.call("FLUSHALL")
    assert info(client, "keyspace") == {}


def test_pubsub_counts_channels_and_patterns_with_subscribers(client, client_factory):
    def counts():
        fields = info(client, "stats")
        return tuple(int(fields[name]) for name in ("pubsub_channels", "pubsub_patterns", "pubsubshard_channels"))

    def subscribe(subscriber, command, *names):
        subscriber.send_command(command, *names)
        for _ in names:
            subscriber.read_reply()

    first, second = client_factory(), client_factory()
    assert counts() == (0, 0, 0)
    subscribe(first, "SUBSCRIBE", "a", "b")
    subscribe(second, "SUBSCRIBE", "b", "c")
    subscribe(second, "PSUBSCRIBE", "p*", "h?llo")
    subscribe(second, "SSUBSCRIBE", "shard")
    assert counts() == (3, 2, 1)  # b counts once however many listen
    subscribe(first, "UNSUBSCRIBE", "a")
    assert counts() == (2, 2, 1)
    second.close()
    wait_for(lambda: counts() == (1, 0, 0), f"the leaver's subscriptions to go (now {counts()})")


# --- commandstats, errorstats, latencystats --------------------------------------------------


def test_commandstats_counts_calls_failures_and_rejections(client):
    reset(client)
    client.call("SET", "s", "v")
    client.call("SET", "s", "w")
    assert isinstance(client.call("INCR", "s"), ErrorReply)  # ran, failed
    assert isinstance(client.call("INCR"), ErrorReply)  # wrong arity: refused, never ran
    assert isinstance(client.call("NOSUCH"), ErrorReply)  # no command: no line
    assert isinstance(client.call("CONFIG", "NOSUCH"), ErrorReply)  # no subcommand: no line
    assert isinstance(client.call("CONFIG", "GET"), ErrorReply)  # a subcommand's own line
    client.call("MULTI")
    assert isinstance(client.call("GET"), ErrorReply)  # refused while queueing
    assert client.call("EXEC").startswith("EXECABORT")  # ran, failed
    text = client.call("INFO", "commandstats").decode()
    lines = dict(line.removeprefix("cmdstat_").split(":", 1) for line in text.split("\r\n")[1:] if line)
    stat = re.compile(r"calls=(\d+),usec=(\d+),usec_per_call=(\d+\.\d\d),rejected_calls=(\d+),failed_calls=(\d+)")
    parsed = {name: stat.fullmatch(value).groups() for name, value in lines.items()}
    counts = {name: (int(calls), int(rejected), int(failed))
              for name, (calls, _, _, rejected, failed) in parsed.items()}
    assert counts == {"config|resetstat": (1, 0, 0), "set": (2, 0, 0), "incr": (1, 1, 1),
                      "config|get": (0, 1, 0), "multi": (1, 0, 0), "get": (0, 1, 0),
                      "exec": (1, 0, 1)}
    for name, (calls, usec, per_call, _, _) in parsed.items():
        expected = int(usec) / int(calls) if int(calls) else 0
        assert abs(float(per_call) - expected) <= 0.01, name


def test_a_blocking_call_counts_once_when_it_blocks(client, client_factory):
    reset(client)
    waiter = client_factory()
    waiter.send_command("BLPOP", "queue", 0)
    wait_blocked(client, (1, 0))
    assert stat_line(client, "commandstats", "cmdstat_blpop")["calls"] == "1"  # while it waits
    client.call("RPUSH", "queue", "a")
    assert waiter.read_reply() == [b"queue", b"a"]
    assert waiter.call("BLPOP", "queue", "0.01") is None  # timed out
    line = stat_line(client, "commandstats", "cmdstat_blpop")
    assert (line["calls"], line["failed_calls"], line["rejected_calls"]) == ("2", "0", "0")


def test_errorstats_counts_replies_by_error_code(client):
    client.call("RPUSH", "l", "a")
    client.call("SET", "s", "v")
    payload = client.call("DUMP", "s")
    reset(client)
    assert client.call("INFO", "errorstats") == b"# Errorstats\r\n"
    client.call("GET", "l")
    client.call("LLEN", "s")
    client.call("HELLO", 4)
    client.call("RESTORE", "s", 0, payload)
    client.call("GET")
    client.call("MULTI")
    client.call("SET", "x")
    client.call("EXEC")
    assert client.call("INFO", "errorstats") == (
        b"# Errorstats\r\n"  # each code once, in byte order
        b"errorstat_BUSYKEY:count=1\r\n"
        b"errorstat_ERR:count=2\r\n"
        b"errorstat_EXECABORT:count=1\r\n"
        b"errorstat_NOPROTO:count=1\r\n"
        b"errorstat_WRONGTYPE:count=2\r\n")
    assert info(client, "stats")["total_error_replies"] == "7"


LATENCY_LINE = re.compile(r"latency_percentiles_usec_([a-z|]+):(.*)")


def latencies(client) -> dict[str, dict[str, float]]:
    """command -> {percentile label: µs} from INFO latencystats."""
    text = client.call("INFO", "latencystats").decode()
    lines = text.split("\r\n")
    assert lines[0] == "# Latencystats" and lines[-1] == ""
    result = {}
    for line in lines[1:-1]:
        name, values = LATENCY_LINE.fullmatch(line).groups()
        result[name] = {}
        for part in values.split(","):
            label, value = re.fullmatch(r"p([0-9.]+)=(\d+\.\d{3})", part).groups()
            result[name][label] = float(value)
    return result


def test_latencystats_has_the_percentiles_of_each_command_run(client, client_factory):
    reset(client)
    assert list(latencies(client)) == ["config|resetstat"]  # INFO records itself after
    for _ in range(3):
        client.call("PING")
    found = latencies(client)
    assert set(found) == {"config|resetstat", "info", "ping"}
    assert list(found["ping"]) == ["50", "99", "99.9"]
    assert 0 < found["ping"]["50"] <= found["ping"]["99"] <= found["ping"]["99.9"]
    waiter = client_factory()
    assert waiter.call("BLPOP", "queue", "0.01") is None
    assert "blpop" not in latencies(client)  # recorded when served, not when it times out
    waiter.send_command("BLPOP", "queue", 0)
    wait_blocked(client, (1, 0))
    assert "blpop" not in latencies(client)
    client.call("RPUSH", "queue", "a")
    assert waiter.read_reply() == [b"queue", b"a"]
    assert "blpop" in latencies(client)


def test_latencystats_follows_its_settings(client):
    assert client.call("CONFIG", "SET", "latency-tracking-info-percentiles", "0 50.5 100") == "OK"
    try:
        client.call("PING")
        ping = latencies(client)["ping"]
        assert list(ping) == ["0", "50.5", "100"]
        assert ping["0"] <= ping["50.5"] <= ping["100"]
        assert client.call("CONFIG", "SET", "latency-tracking", "no") == "OK"
        assert client.call("INFO", "latencystats") == b"# Latencystats\r\n"
    finally:
        client.call("CONFIG", "SET", "latency-tracking", "yes")
        client.call("CONFIG", "SET", "latency-tracking-info-percentiles", "50 99 99.9")


# --- persistence ---------------------------------------------------------------------------


def persistence(client) -> dict[str, str]:
    return info(client, "persistence")


def test_rdb_fields_follow_saves_and_resetstat(launcher):
    server = launcher.start()
    with server.client() as c:
        fields = persistence(c)
        assert (fields["rdb_changes_since_last_save"], fields["rdb_saves"]) == ("0", "0")
        assert fields["rdb_last_bgsave_time_sec"] == "-1"
        c.call("SET", "a", "1")
        c.call("MSET", "b", "1", "c", "1")
        assert persistence(c)["rdb_changes_since_last_save"] == "3"
        started = int(time.time())
        assert c.call("SAVE") == "OK"
        fields = persistence(c)
        assert (fields["rdb_changes_since_last_save"], fields["rdb_saves"]) == ("0", "1")
        assert started <= int(fields["rdb_last_save_time"]) <= time.time()
        c.call("SET", "d", "1")
        assert c.call("BGSAVE") == "Background saving started"
        wait_for_field(c, "persistence", "rdb_bgsave_in_progress", 0)
        fields = persistence(c) | info(c, "stats")
        assert (fields["rdb_saves"], fields["rdb_last_bgsave_status"]) == ("2", "ok")
        assert fields["rdb_changes_since_last_save"] == "0"
        assert int(fields["rdb_last_bgsave_time_sec"]) >= 0
        assert fields["total_forks"] == "1" and int(fields["latest_fork_usec"]) > 0
        saved_at = fields["rdb_last_save_time"]
        c.call("SET", "e", "1")
        reset(c)
        fields = persistence(c) | info(c, "stats")
        assert (fields["rdb_saves"], fields["total_forks"], fields["latest_fork_usec"]) == ("0", "0", "0")
        # RESETSTAT zeroes counts, not the state of the data
        assert (fields["rdb_changes_since_last_save"], fields["rdb_last_save_time"]) == ("1", saved_at)


@pytest.mark.internals("DEBUG RELOAD")
def test_rdb_last_load_counts_keys_loaded_and_expired(launcher):
    server = launcher.start()
    with server.client() as c:
        assert c.call("DEBUG", "SET-ACTIVE-EXPIRE", 0) == "OK"
        c.call("SET", "a", "1")
        c.call("SET", "b", "1", "EX", 1000)
        c.call("SET", "gone", "1", "PX", 1)
        time.sleep(0.01)  # past its time, still there: it is saved, and skipped when loaded
        assert c.call("DEBUG", "RELOAD") == "OK"
        fields = persistence(c)
        assert (fields["rdb_last_load_keys_loaded"], fields["rdb_last_load_keys_expired"]) == ("2", "1")
        assert c.call("DBSIZE") == 2
    server.stop()
    server = launcher.start(dir=server.dir)  # loads the file DEBUG RELOAD wrote
    with server.client() as c:
        fields = persistence(c)
        assert (fields["rdb_last_load_keys_loaded"], fields["rdb_last_load_keys_expired"]) == ("2", "1")


def test_aof_fields_follow_rewrites_and_resetstat(launcher):
    server = launcher.start(appendonly="yes")
    with server.client() as c:
        wait_for(lambda: (persistence(c)["aof_rewrite_in_progress"], persistence(c)["aof_rewrite_scheduled"]) == ("0", "0"),
                 "the AOF to be on, with no rewrite running")
        before = persistence(c) | info(c, "stats")
        assert before["aof_enabled"] == "1" and before["aof_last_write_status"] == "ok"
        c.call("SET", "k", "v")
        assert int(persistence(c)["aof_current_size"]) > int(before["aof_current_size"])
        assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
        wait_for(lambda: (persistence(c)["aof_rewrite_in_progress"], persistence(c)["aof_rewrite_scheduled"]) == ("0", "0"),
                 "the rewrite to finish")
        after = persistence(c) | info(c, "stats")
        assert int(after["aof_rewrites"]) == int(before["aof_rewrites"]) + 1
        assert int(after["total_forks"]) == int(before["total_forks"]) + 1  # a rewrite forks
        assert after["aof_last_bgrewrite_status"] == "ok"
        assert int(after["aof_last_rewrite_time_sec"]) >= 0
        assert after["aof_rewrites_consecutive_failures"] == "0"
        reset(c)
        fields = persistence(c)
        assert (fields["aof_rewrites"], fields["aof_last_bgrewrite_status"]) == ("0", "ok")


@pytest.mark.internals("AOF files")
def test_an_error_while_loading_the_aof_is_counted_as_unexpected(launcher, tmp_path):
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    with server.client() as c:
        c.call("SET", "k", "not a number")
    server.stop()
    incr = os.path.join(server.dir, "appendonlydir", "appendonly.aof.1.incr.aof")
    with open(incr, "ab") as f:
        f.write(encode_command(["INCR", "k"]))
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    with server.client() as c:
        assert info(c, "stats")["unexpected_error_replies"] == "1"
        errors = {name: int(count.removeprefix("count=")) for name, count in info(c, "errorstats").items()}
        # (the launcher's PINGs may have met LOADING while the file loaded)
        assert errors.pop("errorstat_LOADING", 0) + 1 == number(c, "stats", "total_error_replies")
        assert errors == {"errorstat_ERR": 1}
        assert c.call("GET", "k") == b"not a number"
    assert "== CRITICAL == This server is sending an error to its AOF-loading-client" in server.log_tail(60)
