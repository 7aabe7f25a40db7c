"""CONFIG SET and CONFIG GET over each kind of option, as redis-server 7.0 parses, checks and
shows them: numbers, memory sizes and percentages, enums and flag sets, the special options
(save, client-output-buffer-limit, oom-score-adj-values, notify-keyspace-events, bind,
latency-tracking-info-percentiles, dir) and the options with checks of their own; a refused
value changes nothing, a value the server cannot apply undoes the whole CONFIG SET.

The ordinary tests change the session server's configuration and put back every value they
changed; the protected options (dir, dbfilename) are set on servers of their own.
"""
from __future__ import annotations

import os

import pytest

from conformance.client import ErrorReply

pytestmark = pytest.mark.internals("redis-server's options: their names, values and error texts")


def as_dict(reply) -> dict[bytes, bytes]:
    return dict(zip(reply[0::2], reply[1::2]))


@pytest.fixture
def config(client, client_factory):
    """The client, and every option it changes is set back after the test (on a client of
    its own: the test may have closed this one)."""
    before = as_dict(client.call("CONFIG", "GET", "*"))
    yield client
    restorer = client_factory()
    after = as_dict(restorer.call("CONFIG", "GET", "*"))
    for name, value in before.items():
        if after.get(name) != value:
            assert restorer.call("CONFIG", "SET", name, value) == "OK", name


def failed(name: str, reason: str) -> ErrorReply:
    return ErrorReply(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")


ENUM_SHUTDOWN = "argument(s) must be one of the following: default, save, nosave, now, force"
BUFFER_LIMIT_VALUES = "Error in hard, soft or soft_seconds setting in buffer limit configuration."
OOM_VALUES = "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
EVENT_CLASSES = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
PERCENTILES = "Invalid latency-tracking-info-percentiles parameters"
PERCENTILE_RANGE = "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
TEMPLATE = "template format is invalid or contains unknown variables"
HOSTNAME_CHARS = "Hostnames may only contain alphanumeric characters, hyphens or dots"
SAVE = "Invalid save parameters"


@pytest.mark.parametrize("name, value, reason", [
    # numbers, memory sizes and percentages
    ("maxmemory-clients", "101%", "percentage argument must be less or equal to 100"),
    ("maxmemory-clients", "-1%", "argument must be a memory or percent value"),
    ("maxmemory-clients", "%", "argument must be a memory or percent value"),
    ("maxmemory-clients", "1x%", "argument must be a memory or percent value"),
    ("maxmemory", "-1", "argument must be a memory value"),
    ("maxmemory", "1kbb", "argument must be a memory value"),
    ("proto-max-bulk-len", "1", "argument must be between 1048576 and 9223372036854775807 inclusive"),
    ("maxclients", "0", "argument must be between 1 and 4294967295 inclusive"),
    ("maxclients", "-1", "argument must be between 1 and 4294967295 inclusive"),
    ("hash-max-listpack-entries", "-1", "argument must be between 0 and 9223372036854775807 inclusive"),
    ("hz", " 10", "argument couldn't be parsed into an integer"),
    # enums and sets of flags
    ("loglevel", "", "argument(s) must be one of the following: debug, verbose, notice, warning"),
    ("shutdown-on-sigint", "", ENUM_SHUTDOWN),
    ("shutdown-on-sigint", "bogus", ENUM_SHUTDOWN),
    ("shutdown-on-sigint", "save bogus", ENUM_SHUTDOWN),
    ("shutdown-on-sigint", "save nosave", "shutdown options SAVE and NOSAVE can't be used simultaneously"),
    # options with a syntax of their own
    ("client-output-buffer-limit", "normal 1 2", "Wrong number of arguments in buffer limit configuration."),
    ("client-output-buffer-limit", "master 1 2 3",
     "Invalid client class specified in buffer limit configuration."),
    ("client-output-buffer-limit", "normal x 2 3", BUFFER_LIMIT_VALUES),
    ("client-output-buffer-limit", "normal 1 -2 3", BUFFER_LIMIT_VALUES),
    ("client-output-buffer-limit", "normal 1 2 -3", BUFFER_LIMIT_VALUES),
    ("client-output-buffer-limit", "normal 1 2 3x", BUFFER_LIMIT_VALUES),
    ("oom-score-adj-values", "1 2", "wrong number of arguments"),
    ("oom-score-adj-values", " -1 2 0", "wrong number of arguments"),  # split on each space
    ("oom-score-adj-values", "1 2 3000", OOM_VALUES),
    ("oom-score-adj-values", "1 2 -2001", OOM_VALUES),
    ("oom-score-adj-values", "1 2 x", OOM_VALUES),
    ("notify-keyspace-events", "K E", EVENT_CLASSES),
    ("notify-keyspace-events", "KEX", EVENT_CLASSES),
    ("notify-keyspace-events", "ke", EVENT_CLASSES),
    ("bind", " ".join(f"127.0.0.{i}" for i in range(1, 18)), "Too many bind addresses specified."),
    ("latency-tracking-info-percentiles", "abc", PERCENTILES),
    ("latency-tracking-info-percentiles", "50 x", PERCENTILES),
    ("latency-tracking-info-percentiles", " 50", PERCENTILES),
    ("latency-tracking-info-percentiles", "5_0", PERCENTILES),
    ("latency-tracking-info-percentiles", "nan", PERCENTILES),
    ("latency-tracking-info-percentiles", "1e999", PERCENTILES),  # overflow is a range error
    ("latency-tracking-info-percentiles", "1e-999", PERCENTILES),  # so is underflow
    ("latency-tracking-info-percentiles", "101", PERCENTILE_RANGE),
    ("latency-tracking-info-percentiles", "-0.5", PERCENTILE_RANGE),
    ("latency-tracking-info-percentiles", "inf", PERCENTILE_RANGE),
    ("save", "1 2 3", SAVE),
    ("save", "x 1", SAVE),
    ("save", "0 1", SAVE),
    ("save", "1 -1", SAVE),
    # checks of their own
    ("activedefrag", "yes", "Active defragmentation cannot be enabled: it requires a Redis server "
     "compiled with a modified Jemalloc like the one shipped by default with the Redis source "
     "distribution"),
    ("cluster-announce-hostname", "a_b", HOSTNAME_CHARS),
    ("cluster-announce-hostname", "h\u00e9", HOSTNAME_CHARS),
    ("cluster-announce-hostname", "a" * 256, "Hostnames must be less than 256 characters"),
    ("proc-title-template", "", TEMPLATE),
    ("proc-title-template", "{", TEMPLATE),
    ("proc-title-template", "{title", TEMPLATE),
    ("proc-title-template", "{title} {nosuch}", TEMPLATE),
])
def test_refused_value_changes_nothing(config, name, value, reason):
    before = config.call("CONFIG", "GET", name)
    assert config.call("CONFIG", "SET", name, value) == failed(name, reason)
    assert config.call("CONFIG", "GET", name) == before


@pytest.mark.parametrize("name, value, shown", [
    ("maxmemory-clients", "50%", "50%"),
    ("maxmemory-clients", "0%", "0"),
    ("maxmemory-clients", "2mb", "2097152"),
    ("maxmemory", "1kb", "1024"),
    ("maxmemory", "1K", "1000"),
    ("maxmemory", "3m", "3000000"),
    ("maxmemory", "2GB", "2147483648"),
    ("maxmemory", "5B", "5"),
    ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
    ("list-max-listpack-size", "-5", "-5"),
    ("shutdown-on-sigint", "save now", "save now"),
    ("shutdown-on-sigint", "now FORCE save", "save now force"),
    ("shutdown-on-sigint", "default now", "now"),
    ("shutdown-on-sigint", "default", "default"),
    ("oom-score-adj", "relative", "yes"),  # a second name of the same value
    ("oom-score-adj", "absolute", "absolute"),
    ("client-output-buffer-limit", "replica 1mb 2mb 3 PUBSUB 1 2 3",
     "normal 0 0 0 slave 1048576 2097152 3 pubsub 1 2 3"),
    ("oom-score-adj-values", "-2000 2000 +7", "-2000 2000 7"),
    ("oom-score-adj-values", "\t5 0 0", "5 0 0"),  # read with strtoll: leading space is fine
    ("notify-keyspace-events", "", ""),
    ("notify-keyspace-events", "Em", "Em"),
    ("notify-keyspace-events", "gA$n", "A"),  # 'A' covers every class but 'n' and 'm'
    ("notify-keyspace-events", "Kg$lshzxetd", "AK"),  # every class of 'A' given one by one
    ("notify-keyspace-events", "Kg$lshzxet", "g$lshzxetK"),
    ("notify-keyspace-events", "nKd", "dnK"),
    ("latency-tracking-info-percentiles", "50 99.9999 0x10", "50 99.9999 16"),
    ("latency-tracking-info-percentiles", "1e1 .5 100 0", "10 0.5 100 0"),
    ("latency-tracking-info-percentiles", "", ""),
    ("save", "10 1 20 2", "10 1 20 2"),
    ("save", "", ""),
    ("cluster-announce-hostname", "ok-host.example", "ok-host.example"),
    ("cluster-announce-hostname", "", ""),
    ("proc-title-template", "plain", "plain"),
    ("proc-title-template", "{{x}} {title} {port} {listen-addr} {server-mode} {config-file}",
     "{{x}} {title} {port} {listen-addr} {server-mode} {config-file}"),
    ("activedefrag", "no", "no"),
])
def test_value_as_config_get_shows_it(config, name, value, shown):
    assert config.call("CONFIG", "SET", name, value) == "OK"
    assert config.call("CONFIG", "GET", name) == [name.encode(), shown.encode()]


def test_an_alias_sets_the_option(config):
    assert config.call("CONFIG", "SET", "hash-max-ziplist-entries", "100") == "OK"
    assert config.call("CONFIG", "GET", "hash-max-listpack-entries") == [b"hash-max-listpack-entries", b"100"]
    # An alias and its option are two names: setting both at once is no duplicate, the last wins.
    assert config.call("CONFIG", "SET", "hash-max-ziplist-entries", "7", "hash-max-listpack-entries", "8") == "OK"
    assert config.call("CONFIG", "GET", "hash-max-ziplist-entries") == [b"hash-max-ziplist-entries", b"8"]


def test_proto_max_bulk_len_applies_to_connected_clients(config):
    assert config.call("CONFIG", "SET", "proto-max-bulk-len", "1mb") == "OK"
    config.send_raw(b"*2\r\n$4\r\nECHO\r\n$1048577\r\n")
    assert config.read_all_until_closed() == b"-ERR Protocol error: invalid bulk length\r\n"


def test_immutable_and_protected_options_on_the_session_server(client):
    assert client.call("CONFIG", "SET", "unixsocketperm", "700") == failed("unixsocketperm", "can't set immutable config")
    assert client.call("CONFIG", "SET", "replicaof", "no one") == failed("replicaof", "can't set immutable config")
    assert client.call("CONFIG", "SET", "dbfilename", "x.rdb") == failed("dbfilename", "can't set protected config")


# --- protected options, on servers of their own ----------------------------------------------


@pytest.mark.launches
def test_protected_options_from_a_local_connection(launcher, tmp_path):
    """enable-protected-configs local lets a connection from 127.0.0.1 set dir and dbfilename;
    enable-debug-command local lets it run DEBUG."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "afile").write_text("")
    server = launcher.start(dir=str(tmp_path), enable_protected_configs="local",
                            enable_debug_command="local")
    client = server.client()
    assert client.call("DEBUG", "SLEEP", "0") == "OK"
    for value, reason in [("", "No such file or directory"),
                          (str(tmp_path / "nonexistent"), "No such file or directory"),
                          (str(tmp_path / "afile"), "Not a directory"),
                          ("afile", "Not a directory")]:
        assert client.call("CONFIG", "SET", "dir", value) == failed("dir", reason)
    assert client.call("CONFIG", "GET", "dir") == [b"dir", str(tmp_path).encode()]
    assert client.call("CONFIG", "SET", "dir", "sub") == "OK"  # relative to the current dir
    assert client.call("CONFIG", "GET", "dir") == [b"dir", str(tmp_path / "sub").encode()]
    assert client.call("CONFIG", "SET", "dir", "..") == "OK"
    assert client.call("CONFIG", "GET", "dir") == [b"dir", str(tmp_path).encode()]
    for value in ("a/b", "a\\b"):
        assert client.call("CONFIG", "SET", "dbfilename", value) == \
            failed("dbfilename", "dbfilename can't be a path, just a filename")
    assert client.call("CONFIG", "SET", "dbfilename", "other.rdb") == "OK"
    assert client.call("SET", "k", "v") == "OK"
    assert client.call("SAVE") == "OK"
    assert os.path.exists(tmp_path / "other.rdb")


@pytest.mark.launches
def test_a_value_that_cannot_be_applied_undoes_the_whole_config_set(launcher, tmp_path):
    """Turning appendonly on needs a rewrite, which needs the AOF directory: in a removed
    working directory it cannot be created, and every option of the CONFIG SET is put back."""
    gone = tmp_path / "gone"
    gone.mkdir()
    server = launcher.start(dir=str(tmp_path), enable_protected_configs="yes")
    client = server.client()
    assert client.call("CONFIG", "SET", "dir", str(gone)) == "OK"
    gone.rmdir()
    unable = failed("appendonly", "Unable to turn on AOF. Check server logs.")
    assert client.call("CONFIG", "SET", "hz", "50", "appendonly", "yes") == unable
    assert client.call("CONFIG", "SET", "appendonly", "yes", "maxmemory", "1mb") == unable
    got = as_dict(client.call("CONFIG", "GET", "hz", "appendonly", "maxmemory"))
    assert got == {b"hz": b"10", b"appendonly": b"no", b"maxmemory": b"0"}
    assert client.call("SET", "k", "v") == "OK"  # the server goes on, without AOF
