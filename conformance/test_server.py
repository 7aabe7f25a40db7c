"""Conformance of spec/server.md: DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, INFO, CONFIG, COMMAND,
SHUTDOWN (DEBUG's are in test_debug.py); and the spec cross-check: every declared command's
COMMAND INFO and COMMAND DOCS on the target equal its declaration.

SHUTDOWN's successful forms stop a server, so they run on servers of their own
(@pytest.mark.launches).
"""
from __future__ import annotations

import os
import re
import time

import pytest

import spec
from conformance.client import ErrorReply, RespSet, Verbatim

# Flags real Redis has but COMMAND INFO never shows.
HIDDEN_FLAGS = {"protected", "may_replicate", "sentinel", "only_sentinel"}


def text(value):
    """A decoded reply with every bytes turned to str (for comparing documentation)."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, dict):
        return {text(k): text(v) for k, v in value.items()}
    if isinstance(value, list):
        return type(value)(text(v) for v in value) if isinstance(value, RespSet) else [text(v) for v in value]
    return value


def info_fields(reply) -> dict[str, str]:
    if isinstance(reply, bytes):
        reply = reply.decode()
    fields = {}
    for line in reply.split("\r\n"):
        if line and not line.startswith("#"):
            name, _, value = line.partition(":")
            fields[name] = value
    return fields


def info_titles(reply) -> list[str]:
    if isinstance(reply, bytes):
        reply = reply.decode()
    return [line[2:] for line in reply.split("\r\n") if line.startswith("# ")]


def bytes_to_human(n: int) -> str:
    if n < 1024:
        return f"{n}B"
    for power, suffix in enumerate("KMGTP", start=1):
        if n < 1024 ** (power + 1):
            return f"{n / 1024 ** power:.2f}{suffix}"
    return f"{n}B"


def arity_error(name: str) -> ErrorReply:
    return ErrorReply(f"ERR wrong number of arguments for '{name}' command")


SYNTAX = ErrorReply("ERR syntax error")


# --- DBSIZE --------------------------------------------------------------------------------


def test_dbsize_counts_keys_of_the_selected_db(client):
    assert client.call_raw("DBSIZE") == b":0\r\n"
    client.call("SET", "a", "1")
    client.call("SET", "b", "2")
    assert client.call("DBSIZE") == 2
    assert client.call("SELECT", 1) == "OK"
    assert client.call("DBSIZE") == 0


def test_dbsize_arity(client):
    assert client.call("DBSIZE", "x") == arity_error("dbsize")


# --- FLUSHDB / FLUSHALL ----------------------------------------------------------------------


@pytest.mark.parametrize("option", [None, "ASYNC", "SYNC", "async", "sync"])
def test_flushdb_empties_only_the_selected_db(client, option):
    client.call("SET", "a", "1")
    client.call("SELECT", 1)
    client.call("SET", "b", "1")
    args = ("FLUSHDB",) if option is None else ("FLUSHDB", option)
    assert client.call_raw(*args) == b"+OK\r\n"
    assert client.call("DBSIZE") == 0
    client.call("SELECT", 0)
    assert client.call("GET", "a") == b"1"


@pytest.mark.parametrize("option", [None, "ASYNC", "SYNC", "Async"])
def test_flushall_empties_every_db(client, option):
    client.call("SET", "a", "1")
    client.call("SELECT", 3)
    client.call("SET", "b", "1")
    args = ("FLUSHALL",) if option is None else ("FLUSHALL", option)
    assert client.call_raw(*args) == b"+OK\r\n"
    assert client.call("DBSIZE") == 0
    client.call("SELECT", 0)
    assert client.call("DBSIZE") == 0


@pytest.mark.parametrize("command", ["FLUSHDB", "FLUSHALL"])
@pytest.mark.parametrize("args", [("foo",), ("ASYNC", "SYNC"), ("SYNC", "SYNC"), ("ASYNC", "x")])
def test_flush_syntax_errors_keep_data(client, command, args):
    client.call("SET", "a", "1")
    assert client.call(command, *args) == SYNTAX
    assert client.call("GET", "a") == b"1"


# --- SWAPDB --------------------------------------------------------------------------------


def test_swapdb_exchanges_databases(client, client_factory):
    client.call("SET", "in0", "x")
    client.call("SELECT", 1)
    client.call("SET", "in1", "y")
    other = client_factory()
    other.call("SELECT", 1)
    assert client.call_raw("SWAPDB", 0, 1) == b"+OK\r\n"
    assert client.call("GET", "in0") == b"x"  # still db 1, which now holds db 0's keys
    assert client.call("GET", "in1") is None
    assert other.call("GET", "in0") == b"x"
    client.call("SELECT", 0)
    assert client.call("GET", "in1") == b"y"


def test_swapdb_with_itself(client):
    client.call("SET", "a", "1")
    assert client.call("SWAPDB", 0, 0) == "OK"
    assert client.call("GET", "a") == b"1"


@pytest.mark.parametrize("first, second, error", [
    ("a", "0", "ERR invalid first DB index"),
    ("0", "a", "ERR invalid second DB index"),
    ("a", "b", "ERR invalid first DB index"),
    ("1.5", "0", "ERR invalid first DB index"),
    ("2147483648", "0", "ERR invalid first DB index"),
    ("0", "99999999999999999999", "ERR invalid second DB index"),
    ("16", "0", "ERR DB index is out of range"),
    ("0", "-1", "ERR DB index is out of range"),
    ("-1", "0", "ERR DB index is out of range"),
    ("2147483647", "0", "ERR DB index is out of range"),
])
def test_swapdb_errors_keep_data(client, first, second, error):
    client.call("SET", "a", "1")
    assert client.call("SWAPDB", first, second) == ErrorReply(error)
    assert client.call("GET", "a") == b"1"


def test_swapdb_arity(client):
    assert client.call("SWAPDB", 0) == arity_error("swapdb")
    assert client.call("SWAPDB", 0, 1, 2) == arity_error("swapdb")


# --- TIME ----------------------------------------------------------------------------------


def test_time(client):
    before = time.time()
    reply = client.call("TIME")
    after = time.time()
    assert isinstance(reply, list) and len(reply) == 2
    assert all(isinstance(part, bytes) and part.isdigit() for part in reply)
    seconds, micros = int(reply[0]), int(reply[1])
    assert 0 <= micros < 1_000_000
    assert before - 2 <= seconds + micros / 1e6 <= after + 2


def test_time_raw_shape(client):
    assert re.fullmatch(rb"\*2\r\n\$\d+\r\n\d+\r\n\$\d+\r\n\d+\r\n", client.call_raw("TIME"))


def test_time_arity(client):
    assert client.call("TIME", "x") == arity_error("time")


# --- INFO ----------------------------------------------------------------------------------

DEFAULT_TITLES = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
                  "Modules", "Errorstats", "Cluster", "Keyspace"]
ALL_TITLES = ["Server", "Clients", "Memory", "Persistence", "Stats", "Replication", "CPU",
              "Modules", "Commandstats", "Errorstats", "Latencystats", "Cluster", "Keyspace"]


@pytest.mark.internals("INFO sections and fields")
@pytest.mark.parametrize("args", [(), ("default",), ("DEFAULT",)])
def test_info_default_sections(client, args):
    assert info_titles(client.call("INFO", *args)) == DEFAULT_TITLES


@pytest.mark.internals("INFO sections and fields")
@pytest.mark.parametrize("word", ["all", "everything", "ALL"])
def test_info_all_sections(client, word):
    assert info_titles(client.call("INFO", word)) == ALL_TITLES


@pytest.mark.internals("INFO sections and fields")
def test_info_layout(client):
    reply = client.call("INFO").decode()
    assert re.match(r"# Server\r\nredis_version:7\.0\.\d+\r\n", reply), reply[:100]  # any 7.0 release
    assert reply.endswith("\r\n") and not reply.endswith("\r\n\r\n")
    assert "\n" not in reply.replace("\r\n", "")
    for block in reply.split("\r\n\r\n"):
        lines = block.rstrip("\r\n").split("\r\n")
        assert lines[0].startswith("# ")
        assert all(":" in line for line in lines[1:])


@pytest.mark.internals("INFO sections and fields")
def test_info_sections_come_in_fixed_order_whatever_asked(client):
    reply = client.call("INFO", "keyspace", "SERVER", "cpu", "server")
    assert info_titles(reply) == ["Server", "CPU", "Keyspace"]
    assert b"\r\n\r\n# CPU\r\n" in reply


@pytest.mark.internals("INFO sections and fields")
@pytest.mark.parametrize("section, title", [
    ("server", "Server"), ("clients", "Clients"), ("memory", "Memory"),
    ("persistence", "Persistence"), ("stats", "Stats"), ("replication", "Replication"),
    ("cpu", "CPU"), ("modules", "Modules"), ("commandstats", "Commandstats"),
    ("errorstats", "Errorstats"), ("latencystats", "Latencystats"), ("cluster", "Cluster"),
    ("keyspace", "Keyspace"), ("Keyspace", "Keyspace"),
])
def test_info_one_section(client, section, title):
    reply = client.call("INFO", section)
    assert info_titles(reply) == [title]
    assert reply.startswith(f"# {title}\r\n".encode())


@pytest.mark.internals("INFO sections and fields")
def test_info_unknown_section_is_empty(client, resp3_client):
    assert client.call_raw("INFO", "nosuch") == b"$0\r\n\r\n"
    assert resp3_client.call_raw("INFO", "nosuch") == b"=4\r\ntxt:\r\n"
    assert info_titles(client.call("INFO", "nosuch", "cluster")) == ["Cluster"]


@pytest.mark.internals("INFO sections and fields")
def test_info_is_verbatim_text_in_resp3(resp3_client):
    reply = resp3_client.call("INFO", "server")
    assert isinstance(reply, Verbatim) and reply.format == "txt"
    assert reply.startswith("# Server\r\n")


@pytest.mark.internals("INFO sections and fields")
def test_info_server_fields(client, target):
    fields = info_fields(client.call("INFO", "server"))
    assert re.fullmatch(r"7\.0\.\d+", fields["redis_version"])  # any 7.0 release
    assert fields["redis_mode"] == "standalone"
    assert fields["arch_bits"] in ("32", "64")
    assert fields["os"]
    assert fields["process_id"].isdigit()
    assert re.fullmatch(r"[0-9a-f]{40}", fields["run_id"])
    assert fields["tcp_port"] == str(target.port)
    assert fields["uptime_in_seconds"].isdigit()
    assert int(fields["uptime_in_days"]) == int(fields["uptime_in_seconds"]) // 86400
    assert fields["hz"].isdigit() and fields["configured_hz"].isdigit()
    assert fields["process_supervised"] == "no"


def test_info_clients_fields(client, client_factory):
    before = int(info_fields(client.call("INFO", "clients"))["connected_clients"])
    client_factory().call("DBSIZE")
    fields = info_fields(client.call("INFO", "clients"))
    assert int(fields["connected_clients"]) == before + 1
    assert fields["maxclients"] == "10000"
    assert fields["blocked_clients"] == "0"


@pytest.mark.internals("INFO sections and fields")
def test_info_memory_fields(client):
    fields = info_fields(client.call("INFO", "memory"))
    assert int(fields["used_memory"]) > 0
    assert fields["used_memory_human"] == bytes_to_human(int(fields["used_memory"]))
    assert fields["maxmemory"] == "0" and fields["maxmemory_human"] == "0B"
    assert fields["maxmemory_policy"] == "noeviction"
    assert re.fullmatch(r"\d+\.\d\d%", fields["used_memory_peak_perc"])


def test_info_maxmemory_follows_config(client):
    assert client.call("CONFIG", "SET", "maxmemory", "1536kb") == "OK"
    try:
        fields = info_fields(client.call("INFO", "memory"))
        assert fields["maxmemory"] == "1572864"
        assert fields["maxmemory_human"] == "1.50M"
    finally:
        client.call("CONFIG", "SET", "maxmemory", "0")


@pytest.mark.internals("INFO sections and fields")
def test_info_persistence_fields(client):
    fields = info_fields(client.call("INFO", "persistence"))
    assert fields["loading"] == "0"
    assert fields["async_loading"] == "0"
    assert fields["rdb_bgsave_in_progress"] == "0"
    assert fields["rdb_last_bgsave_status"] == "ok"
    assert fields["aof_enabled"] == "0"
    assert fields["aof_rewrite_in_progress"] == "0"
    assert fields["rdb_changes_since_last_save"].isdigit()
    assert abs(int(fields["rdb_last_save_time"]) - time.time()) < 24 * 3600


@pytest.mark.internals("INFO sections and fields")
def test_info_replication_fields(client):
    fields = info_fields(client.call("INFO", "replication"))
    assert fields["role"] == "master"
    assert fields["connected_slaves"] == "0"
    assert re.fullmatch(r"[0-9a-f]{40}", fields["master_replid"])
    assert fields["master_replid2"] == "0" * 40
    assert fields["second_repl_offset"] == "-1"


@pytest.mark.internals("INFO sections and fields")
def test_info_cpu_fields(client):
    fields = info_fields(client.call("INFO", "cpu"))
    for name in ("used_cpu_sys", "used_cpu_user", "used_cpu_sys_children", "used_cpu_user_children"):
        assert re.fullmatch(r"\d+\.\d{6}", fields[name])


@pytest.mark.internals("INFO sections and fields")
def test_info_cluster_fields(client):
    assert client.call("INFO", "cluster") == b"# Cluster\r\ncluster_enabled:0\r\n"


def test_info_stats_counters(client):
    assert client.call("CONFIG", "RESETSTAT") == "OK"
    client.call("SET", "hit", "1")
    client.call("GET", "hit")
    client.call("GET", "hit")
    client.call("GET", "miss")
    fields = info_fields(client.call("INFO", "stats"))
    assert fields["keyspace_hits"] == "2"
    assert fields["keyspace_misses"] == "1"
    assert int(fields["total_commands_processed"]) >= 4
    for name in ("total_connections_received", "instantaneous_ops_per_sec", "expired_keys",
                 "evicted_keys", "total_error_replies", "rejected_connections",
                 "total_net_input_bytes", "total_net_output_bytes"):
        assert fields[name].isdigit(), name
    assert re.fullmatch(r"\d+\.\d\d", fields["instantaneous_input_kbps"])


def test_info_counts_expired_keys(client):
    client.call("CONFIG", "RESETSTAT")
    client.call("SET", "k", "v", "PX", 1)
    time.sleep(0.05)
    assert client.call("GET", "k") is None
    assert info_fields(client.call("INFO", "stats"))["expired_keys"] == "1"


def test_info_keyspace_lines(client):
    assert client.call("INFO", "keyspace") == b"# Keyspace\r\n"
    client.call("SET", "a", "1")
    client.call("SET", "b", "1", "EX", 100)
    client.call("SELECT", 2)
    client.call("SET", "c", "1")
    reply = client.call("INFO", "keyspace").decode()
    lines = reply.split("\r\n")
    assert lines[0] == "# Keyspace"
    assert re.fullmatch(r"db0:keys=2,expires=1,avg_ttl=\d+", lines[1])
    assert lines[2] == "db2:keys=1,expires=0,avg_ttl=0"
    assert lines[3:] == [""]


def test_info_commandstats(client):
    assert client.call("CONFIG", "RESETSTAT") == "OK"
    for _ in range(3):
        client.call("DBSIZE")
    client.call("SWAPDB", "x", 0)
    client.call("CONFIG", "GET", "port")
    reply = client.call("INFO", "commandstats").decode()
    lines = dict(line.split(":", 1) for line in reply.split("\r\n")[1:] if line)
    stat = re.compile(r"calls=(\d+),usec=(\d+),usec_per_call=(\d+\.\d\d),rejected_calls=(\d+),failed_calls=(\d+)")
    calls, usec, per_call, rejected, failed = stat.fullmatch(lines["cmdstat_dbsize"]).groups()
    assert (calls, rejected, failed) == ("3", "0", "0")
    assert per_call == f"{int(usec) / 3:.2f}"
    assert stat.fullmatch(lines["cmdstat_swapdb"]).group(1, 4, 5) == ("1", "0", "1")
    assert stat.fullmatch(lines["cmdstat_config|get"]).group(1) == "1"
    assert "cmdstat_get" not in lines


def test_info_commandstats_counts_rejected_calls(client):
    client.call("CONFIG", "RESETSTAT")
    assert client.call("DBSIZE", "extra") == arity_error("dbsize")
    reply = client.call("INFO", "commandstats").decode()
    assert "cmdstat_dbsize:calls=0,usec=0,usec_per_call=0.00,rejected_calls=1,failed_calls=0\r\n" in reply


def test_info_errorstats(client):
    client.call("CONFIG", "RESETSTAT")
    assert client.call("INFO", "errorstats") == b"# Errorstats\r\n"
    client.call("SWAPDB", "x", 0)
    client.call("FLUSHDB", "x")
    assert client.call("INFO", "errorstats") == b"# Errorstats\r\nerrorstat_ERR:count=2\r\n"
    assert info_fields(client.call("INFO", "stats"))["total_error_replies"] == "2"


# --- CONFIG --------------------------------------------------------------------------------


def test_config_get_exact_name(client, resp3_client, target):
    port = str(target.port).encode()
    assert client.call_raw("CONFIG", "GET", "port") == b"*2\r\n$4\r\nport\r\n$%d\r\n%s\r\n" % (len(port), port)
    assert resp3_client.call_raw("CONFIG", "GET", "port") == b"%%1\r\n$4\r\nport\r\n$%d\r\n%s\r\n" % (len(port), port)


def test_config_get_answers_under_the_name_asked(resp3_client, target):
    assert resp3_client.call("CONFIG", "GET", "PORT") == {b"PORT": str(target.port).encode()}


@pytest.mark.internals("the exact list of CONFIG options")
def test_config_get_pattern(resp3_client):
    reply = resp3_client.call("CONFIG", "GET", "maxmemory*")
    assert set(reply) == {b"maxmemory", b"maxmemory-clients", b"maxmemory-policy",
                          b"maxmemory-samples", b"maxmemory-eviction-tenacity"}
    assert reply[b"maxmemory-policy"] == b"noeviction"


def test_config_get_several_patterns_once_each(resp3_client):
    reply = resp3_client.call("CONFIG", "GET", "port", "port", "maxmemory-p*", "maxmemory-policy")
    assert set(reply) == {b"port", b"maxmemory-policy"}


def test_config_get_no_match(client, resp3_client):
    assert client.call_raw("CONFIG", "GET", "nosuch*") == b"*0\r\n"
    assert resp3_client.call_raw("CONFIG", "GET", "nosuch") == b"%0\r\n"


def test_config_get_arity(client):
    assert client.call("CONFIG", "GET") == arity_error("config|get")


def test_config_set_and_get_back(client):
    assert client.call_raw("CONFIG", "SET", "maxmemory-samples", "7") == b"+OK\r\n"
    try:
        assert client.call("CONFIG", "GET", "maxmemory-samples") == [b"maxmemory-samples", b"7"]
    finally:
        client.call("CONFIG", "SET", "maxmemory-samples", "5")


def test_config_set_several(client):
    assert client.call("CONFIG", "SET", "maxmemory-samples", "8", "maxmemory-policy", "allkeys-lru") == "OK"
    try:
        assert client.call("CONFIG", "GET", "maxmemory-samples") == [b"maxmemory-samples", b"8"]
        assert client.call("CONFIG", "GET", "maxmemory-policy") == [b"maxmemory-policy", b"allkeys-lru"]
    finally:
        client.call("CONFIG", "SET", "maxmemory-samples", "5", "maxmemory-policy", "noeviction")


@pytest.mark.parametrize("args, error", [
    (("maxmemory-samples", "9", "nosuch", "1"), "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
    (("maxmemory-samples", "abc"), "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - argument couldn't be parsed into an integer"),
    (("maxmemory-samples", "9", "daemonize", "yes"), "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"),
    (("maxmemory-samples", "9", "maxmemory-samples", "6"), "ERR CONFIG SET failed (possibly related to argument 'maxmemory-samples') - duplicate parameter"),
    (("maxmemory-samples", "9", "hz"), "ERR syntax error"),
])
def test_config_set_errors_change_nothing(client, args, error):
    assert client.call("CONFIG", "SET", *args) == ErrorReply(error)
    assert client.call("CONFIG", "GET", "maxmemory-samples") == [b"maxmemory-samples", b"5"]


def test_config_set_arity(client):
    assert client.call("CONFIG", "SET", "hz") == arity_error("config|set")


def test_config_resetstat(client):
    client.call("GET", "miss")
    client.call("SWAPDB", "x", 0)
    assert client.call_raw("CONFIG", "RESETSTAT") == b"+OK\r\n"
    stats = info_fields(client.call("INFO", "stats"))
    assert stats["keyspace_misses"] == "0"
    assert stats["total_error_replies"] == "0"
    assert stats["total_connections_received"] == "0"
    assert int(stats["total_commands_processed"]) <= 2  # RESETSTAT itself, maybe INFO
    assert client.call("INFO", "errorstats") == b"# Errorstats\r\n"
    commandstats = client.call("INFO", "commandstats").decode()
    assert "cmdstat_get:" not in commandstats and "cmdstat_swapdb:" not in commandstats


def test_config_resetstat_arity(client):
    assert client.call("CONFIG", "RESETSTAT", "x") == arity_error("config|resetstat")


def test_config_container(client):
    assert client.call("CONFIG") == arity_error("config")
    assert client.call("CONFIG", "nosuch") == ErrorReply("ERR unknown subcommand 'nosuch'. Try CONFIG HELP.")


# --- COMMAND -------------------------------------------------------------------------------

DBSIZE_INFO_RESP3 = (
    b"*1\r\n*10\r\n$6\r\ndbsize\r\n:1\r\n~2\r\n+readonly\r\n+fast\r\n:0\r\n:0\r\n:0\r\n"
    b"~3\r\n+@keyspace\r\n+@read\r\n+@fast\r\n"
    b"~2\r\n$25\r\nrequest_policy:all_shards\r\n$23\r\nresponse_policy:agg_sum\r\n~0\r\n~0\r\n")
GET_INFO_RESP2 = (
    b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n"
    b"*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n"
    b"*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n"
    b"$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n"
    b"$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n"
    b"*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n")


def test_command_info_exact_bytes(client, resp3_client):
    assert resp3_client.call_raw("COMMAND", "INFO", "dbsize") == DBSIZE_INFO_RESP3
    assert client.call_raw("COMMAND", "INFO", "get") == GET_INFO_RESP2


def test_command_info_unknown_is_nil(client, resp3_client):
    assert client.call_raw("COMMAND", "INFO", "nosuch") == b"*1\r\n$-1\r\n"
    assert resp3_client.call_raw("COMMAND", "INFO", "nosuch") == b"*1\r\n_\r\n"
    reply = client.call("COMMAND", "INFO", "GET", "nosuch", "dbsize")
    assert [entry and entry[0] for entry in reply] == [b"get", None, b"dbsize"]


@pytest.mark.parametrize("name, found", [
    ("config|get", b"config|get"), ("CONFIG|GET", b"config|get"), ("config", b"config"),
    ("config|nosuch", None), ("get|x", None), ("config|get|x", None), ("config|", None), ("|get", None),
])
def test_command_info_subcommand_names(client, name, found):
    entry = client.call("COMMAND", "INFO", name)[0]
    assert (entry and entry[0]) == found


def test_command_info_container_nests_subcommands(resp3_client):
    entry = resp3_client.call("COMMAND", "INFO", "config")[0]
    assert entry[0] == b"config" and entry[1] == -2
    assert len(entry) == 10, f"COMMAND INFO gives {len(entry)} fields, not 7.0's ten (with subcommands)"
    assert isinstance(entry[9], list) and not isinstance(entry[9], RespSet)
    names = {sub[0] for sub in entry[9]}
    assert {b"config|get", b"config|set", b"config|resetstat"} <= names
    get = next(sub for sub in entry[9] if sub[0] == b"config|get")
    assert get[1] == -3 and get[9] == RespSet([])


def test_command_info_key_spec_of_a_key_range(resp3_client):
    entry = resp3_client.call("COMMAND", "INFO", "mset")[0]
    assert entry[3:6] == [1, -1, 2]
    assert len(entry) == 10, f"COMMAND INFO gives {len(entry)} fields, not 7.0's ten (with key specs)"
    [key_spec] = entry[8]
    assert key_spec[b"begin_search"] == {b"type": b"index", b"spec": {b"index": 1}}
    assert key_spec[b"find_keys"] == {b"type": b"range", b"spec": {b"lastkey": -1, b"keystep": 2, b"limit": 0}}


def test_command_info_hides_internal_flags(resp3_client):
    entry = resp3_client.call("COMMAND", "INFO", "debug")[0]
    assert set(entry[2]) == {"admin", "noscript", "loading", "stale"}


def test_command_and_command_info_list_every_top_level_command(client):
    everything = client.call("COMMAND")
    names = [entry[0] for entry in everything]
    assert len(names) == len(set(names)) == client.call("COMMAND", "COUNT")
    assert all(len(entry) == 10 for entry in everything)
    assert all(b"|" not in name for name in names)
    assert {entry[0] for entry in client.call("COMMAND", "INFO")} == set(names)
    assert {b"get", b"config", b"command", b"info"} <= set(names)


def test_command_count(client):
    assert client.call("COMMAND", "COUNT") == len(client.call("COMMAND"))
    assert client.call("COMMAND", "COUNT", "x") == arity_error("command|count")


def test_command_unknown_subcommand(client):
    assert client.call("COMMAND", "nosuch") == ErrorReply("ERR unknown subcommand 'nosuch'. Try COMMAND HELP.")


def test_command_docs_of_one_command(resp3_client):
    docs = resp3_client.call("COMMAND", "DOCS", "get")
    assert list(docs) == [b"get"]
    get = docs[b"get"]
    assert list(get) == [b"summary", b"since", b"group", b"complexity", b"arguments"]
    assert get[b"since"] == b"1.0.0" and get[b"group"] == b"string" and get[b"complexity"] == b"O(1)"
    assert get[b"arguments"] == [{b"name": b"key", b"type": b"key", b"key_spec_index": 0}]


def test_command_docs_field_order(resp3_client):
    order = [b"summary", b"since", b"group", b"complexity", b"doc_flags", b"deprecated_since",
             b"replaced_by", b"history", b"arguments", b"subcommands"]
    for name, doc in resp3_client.call("COMMAND", "DOCS").items():
        keys = list(doc)
        assert keys == sorted(keys, key=order.index), name


def test_command_docs_argument_tree(resp3_client):
    doc = resp3_client.call("COMMAND", "DOCS", "command|list")[b"command|list"]
    [filterby] = doc[b"arguments"]
    assert filterby[b"name"] == b"filterby" and filterby[b"type"] == b"oneof"
    assert filterby[b"token"] == b"FILTERBY" and filterby[b"flags"] == RespSet(["optional"])
    assert filterby[b"arguments"] == [
        {b"name": b"module-name", b"type": b"string", b"token": b"MODULE"},
        {b"name": b"category", b"type": b"string", b"token": b"ACLCAT"},
        {b"name": b"pattern", b"type": b"pattern", b"token": b"PATTERN"},
    ]


def test_command_docs_container_and_doc_flags(resp3_client):
    docs = resp3_client.call("COMMAND", "DOCS", "config", "debug")
    assert set(docs) == {b"config", b"debug"}
    assert {b"config|get", b"config|set", b"config|resetstat"} <= set(docs[b"config"][b"subcommands"])
    assert docs[b"debug"][b"doc_flags"] == RespSet(["syscmd"])
    assert b"arguments" not in docs[b"debug"]


def test_command_docs_unknown_names_are_left_out(client, resp3_client):
    assert client.call_raw("COMMAND", "DOCS", "nosuch") == b"*0\r\n"
    assert resp3_client.call_raw("COMMAND", "DOCS", "nosuch") == b"%0\r\n"
    assert list(resp3_client.call("COMMAND", "DOCS", "nosuch", "CONFIG|GET")) == [b"config|get"]


def test_command_docs_resp2_is_flat(client):
    reply = client.call("COMMAND", "DOCS", "dbsize")
    assert isinstance(reply, list) and reply[0] == b"dbsize", reply
    doc = dict(zip(reply[1][0::2], reply[1][1::2]))
    assert doc[b"group"] == b"server"


def test_command_docs_all_top_level(resp3_client):
    names = set(resp3_client.call("COMMAND", "DOCS"))
    assert names == {entry[0] for entry in resp3_client.call("COMMAND")}


def test_command_list(client):
    names = set(client.call("COMMAND", "LIST"))
    top = {entry[0] for entry in client.call("COMMAND")}
    assert top <= names
    assert {b"config|get", b"command|list"} <= names
    assert all(name.split(b"|")[0] in top for name in names)


@pytest.mark.parametrize("pattern", ["config*", "CONFIG|G*", "c?nfig|*"])
def test_command_list_filterby_pattern(client, pattern):
    names = set(client.call("COMMAND", "LIST", "FILTERBY", "PATTERN", pattern))
    assert b"config|get" in names
    assert b"get" not in names
    assert all(name.startswith(b"config") for name in names)


@pytest.mark.parametrize("category", ["dangerous", "DANGEROUS"])
def test_command_list_filterby_aclcat(client, category):
    names = set(client.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", category))
    assert {b"flushall", b"config|set", b"debug"} <= names
    assert b"get" not in names and b"config" not in names


def test_command_list_filterby_nothing(client):
    assert client.call_raw("COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch") == b"*0\r\n"
    assert client.call_raw("COMMAND", "LIST", "FILTERBY", "MODULE", "nosuch") == b"*0\r\n"


@pytest.mark.parametrize("args", [("foo",), ("FILTERBY", "foo", "x"), ("FILTERBY", "PATTERN"),
                                  ("FILTERBY", "PATTERN", "a", "b"), ("FILTERBY",)])
def test_command_list_syntax_errors(client, args):
    assert client.call("COMMAND", "LIST", *args) == SYNTAX


@pytest.mark.parametrize("line, keys", [
    (("GET", "k"), [b"k"]),
    (("get", "k"), [b"k"]),
    (("MSET", "a", "1", "b", "2"), [b"a", b"b"]),
    (("MSET", "a", "1", "b"), [b"a", b"b"]),
    (("DEL", "a", "b", "c"), [b"a", b"b", b"c"]),
    (("RENAME", "a", "b"), [b"a", b"b"]),
    (("SET", "k", "v", "EX", "10"), [b"k"]),
    (("SET", "k", "v", "BADOPTION"), [b"k"]),
    (("OBJECT", "ENCODING", "k"), [b"k"]),
])
def test_command_getkeys(client, line, keys):
    assert client.call("COMMAND", "GETKEYS", *line) == keys


@pytest.mark.parametrize("subcommand", ["GETKEYS", "GETKEYSANDFLAGS"])
@pytest.mark.parametrize("line, error", [
    (("nosuch", "a", "b"), "ERR Invalid command specified"),
    (("OBJECT", "nosuch", "k"), "ERR Invalid command specified"),
    (("PING", "a", "b"), "ERR The command has no key arguments"),
    (("CONFIG", "GET", "x"), "ERR The command has no key arguments"),
    (("GET", "a", "b"), "ERR Invalid number of arguments specified for command"),
    (("SET", "a"), "ERR Invalid number of arguments specified for command"),
])
def test_command_getkeys_errors(client, subcommand, line, error):
    assert client.call("COMMAND", subcommand, *line) == ErrorReply(error)


@pytest.mark.parametrize("subcommand", ["GETKEYS", "GETKEYSANDFLAGS"])
def test_command_getkeys_arity(client, subcommand):
    assert client.call("COMMAND", subcommand, "GET") == arity_error(f"command|{subcommand.lower()}")


def test_command_getkeysandflags(client, resp3_client):
    assert resp3_client.call("COMMAND", "GETKEYSANDFLAGS", "GET", "k") == [[b"k", RespSet(["RO", "access"])]]
    assert client.call_raw("COMMAND", "GETKEYSANDFLAGS", "GET", "k") == b"*1\r\n*2\r\n$1\r\nk\r\n*2\r\n+RO\r\n+access\r\n"
    reply = resp3_client.call("COMMAND", "GETKEYSANDFLAGS", "MSET", "a", "1", "b", "2")
    assert [key for key, _ in reply] == [b"a", b"b"]
    assert all(isinstance(flags, RespSet) and flags for _, flags in reply)


# --- SHUTDOWN ------------------------------------------------------------------------------


def test_shutdown_abort_without_shutdown(client):
    assert client.call_raw("SHUTDOWN", "ABORT") == b"-ERR No shutdown in progress.\r\n"


@pytest.mark.parametrize("args", [("nosuch",), ("NOSAVE", "SAVE"), ("SAVE", "NOSAVE"), ("ABORT", "NOW"),
                                  ("NOW", "ABORT"), ("FORCE", "ABORT"), ("NOSAVE", "ABORT"), ("ABORT", "x")])
def test_shutdown_syntax_errors(client, args):
    assert client.call("SHUTDOWN", *args) == SYNTAX
    assert client.call("DBSIZE") == 0  # still serving


@pytest.mark.launches
@pytest.mark.parametrize("args", [("NOSAVE",), (), ("NOW", "NOSAVE", "FORCE"), ("nosave", "now", "now")])
def test_shutdown_stops_the_server_without_reply(launcher, args):
    server = launcher.start()
    client = server.client()
    client.send_command("SHUTDOWN", *args)
    assert client.read_all_until_closed() == b""
    server.process.wait(10)
    assert server.process.returncode == 0


@pytest.mark.launches
def test_shutdown_save_writes_the_dataset(launcher):
    server = launcher.start()
    client = server.client()
    client.call("SET", "k", "v")
    client.send_command("SHUTDOWN", "SAVE")
    assert client.read_all_until_closed() == b""
    server.process.wait(10)
    assert os.path.exists(os.path.join(server.dir, "dump.rdb"))


# --- the spec cross-check ------------------------------------------------------------------

DECLARED = spec.all_commands()


@pytest.fixture(scope="module")
def target_description(target):
    """COMMAND INFO and COMMAND DOCS of every declared command, asked once (RESP3)."""
    client = target.client()
    try:
        client.hello(3)
        names = [command.name for command in DECLARED]
        infos = dict(zip(names, client.call("COMMAND", "INFO", *names)))
        docs = text(client.call("COMMAND", "DOCS", *names))
    finally:
        client.close()
    return infos, docs


def key_spec_indexes(arguments: list[dict]) -> list[int]:
    """key_spec_index of every key argument of a COMMAND DOCS argument tree, in order."""
    found = []
    for arg in arguments:
        if arg["type"] == "key":
            found.append(arg["key_spec_index"])
        found.extend(key_spec_indexes(arg.get("arguments", [])))
    return found


@pytest.mark.parametrize("command", DECLARED, ids=[command.name for command in DECLARED])
def test_command_info_matches_spec(target_description, command):
    infos, _ = target_description
    entry = infos[command.name]
    assert entry is not None, f"the target does not know {command.name}"
    assert entry[0] == command.name.encode()
    assert entry[1] == command.arity
    assert set(entry[2]) == set(command.flags) - HIDDEN_FLAGS
    assert entry[3:6] == [command.first_key, command.last_key, command.key_step]
    assert set(entry[6]) == set(command.acl_categories)
    assert len(entry) == 10, f"COMMAND INFO {command.name} has {len(entry)} fields, not 7.0's ten" \
                             " (tips, key specifications and subcommands came in 7.0)"
    assert {tip.decode() for tip in entry[7]} == set(command.tips)
    assert spec.key_specs_from_info(text(entry[8])) == command.key_specs


@pytest.mark.parametrize("command", DECLARED, ids=[command.name for command in DECLARED])
def test_command_docs_match_spec(target_description, command):
    _, docs = target_description
    assert command.name in docs, f"the target does not document {command.name}"
    doc = docs[command.name]
    assert doc["group"] == command.group
    assert doc["since"] == command.since
    assert doc.get("complexity", "") == command.complexity
    assert set(doc.get("doc_flags", [])) == set(command.doc_flags)
    assert spec.arguments_from_docs(doc.get("arguments", [])) == command.arguments
    assert key_spec_indexes(doc.get("arguments", [])) == spec.key_spec_indexes(command)
    if command.container:
        assert set(command.subcommands) <= {name.split("|")[1] for name in doc["subcommands"]}


@pytest.mark.internals("INFO instantaneous_ops_per_sec, a sampled rate")
def test_info_instantaneous_ops_per_sec_sees_recent_commands(client):
    # The rate is sampled by the server's cron (every 100 ms at hz 10) over the last samples:
    # while commands keep coming, it shows positive once the cron has sampled them, however
    # late a loaded machine runs the cron.
    deadline = time.monotonic() + 30
    while True:
        client.pipeline(*[("PING",)] * 100)
        if int(info_fields(client.call("INFO", "stats"))["instantaneous_ops_per_sec"]) > 0:
            return
        assert time.monotonic() < deadline, "instantaneous_ops_per_sec stayed 0 while commands came"
        time.sleep(0.05)


# --- every option round-trips ----------------------------------------------------------------

def _all_options(client) -> dict[bytes, bytes]:
    reply = client.call("CONFIG", "GET", "*")
    return dict(zip(reply[::2], reply[1::2]))


@pytest.mark.internals("the exact list of CONFIG options")
@pytest.mark.launches
def test_every_option_accepts_the_value_config_get_shows(launcher):
    """CONFIG SET name <what CONFIG GET name says> is accepted, or refused only because the
    option cannot change at runtime, and changes nothing: every option parses what it renders."""
    server = launcher.start()
    client = server.client()
    before = _all_options(client)
    refused = {}
    for name, value in before.items():
        reply = client.call("CONFIG", "SET", name, value)
        if reply != "OK":
            refused[name.decode()] = reply
    for name, reply in refused.items():
        assert reply in (
            ErrorReply(f"ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config"),
            ErrorReply(f"ERR CONFIG SET failed (possibly related to argument '{name}') - can't set protected config"),
        ), (name, reply)
    assert _all_options(client) == before
    assert client.call("PING") == "PONG"


@pytest.mark.launches
def test_idle_clients_are_closed_after_timeout(launcher):
    server = launcher.start(timeout=1)
    idle, busy = server.client(), server.client()
    assert idle.call("PING") == "PONG"
    last_heard = time.monotonic()
    deadline = last_heard + 30  # the cron checks idle clients once a second: a loaded one, later
    while not idle.is_closed(timeout=0.2):
        assert busy.call("PING") == "PONG"  # a client that talks stays
        assert time.monotonic() < deadline, "the idle client was never closed"
    # Not at once: idle seconds are counted on the server's clock, cached, hence the margin.
    assert time.monotonic() - last_heard >= 0.5
    assert busy.call("PING") == "PONG"


# --- HELP of the container commands ---------------------------------------------------------

@pytest.mark.parametrize("container", ["CLIENT", "OBJECT", "PUBSUB", "CONFIG", "COMMAND"])
def test_help_names_every_subcommand_the_server_lists(client, container):
    """The text is each server's own; the shape is common: simple strings, a first line naming
    the container, then each subcommand COMMAND INFO lists at the start of a line, explained on
    indented lines below."""
    lines = client.call(container, "HELP")
    assert isinstance(lines, list) and all(isinstance(line, str) for line in lines)
    assert lines[0].startswith(f"{container} <subcommand> ")
    info = client.call("COMMAND", "INFO", container.lower())
    assert len(info[0]) == 10, f"COMMAND INFO gives {len(info[0])} fields, not 7.0's ten (with subcommands)"
    listed = [sub[0].decode().split("|")[1].upper() for sub in info[0][9]]
    starts = [line.split(" ")[0].upper() for line in lines[1:] if not line.startswith(" ")]
    assert "HELP" in listed and set(listed) <= set(starts)
    assert any(line.startswith("    ") for line in lines)  # explanations, indented
    assert str(client.call(container, "HELP", "extra")) == \
        f"ERR wrong number of arguments for '{container.lower()}|help' command"
