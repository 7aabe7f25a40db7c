"""reference/config.py and config_options.py: redis-server's command line, config files,
the option table, CONFIG GET / SET.

Every expected text here was checked against a live redis-server 7.0.15
(stderr and exit status for startup errors, error replies for CONFIG SET).
"""

import io
import os

import pytest

from reference.config import (
    Config, ConfigApplyError, ConfigError, ConfigSetError, StartupExit,
    repr_arg, split_args,
)
from reference.config_options import OPTIONS, find_option

# `CONFIG GET *` of `redis-server --port 7453` started in the foreground
# (dir and port left out: they depend on how it was started).
LIVE_DEFAULTS = """
acl-pubsub-default	resetchannels
aclfile	
acllog-max-len	128
active-defrag-cycle-max	25
active-defrag-cycle-min	1
active-defrag-ignore-bytes	104857600
active-defrag-max-scan-fields	1000
active-defrag-threshold-lower	10
active-defrag-threshold-upper	100
active-expire-effort	1
activedefrag	no
activerehashing	yes
always-show-logo	no
aof-disable-auto-gc	no
aof-load-truncated	yes
aof-rewrite-incremental-fsync	yes
aof-timestamp-enabled	no
aof-use-rdb-preamble	yes
aof_rewrite_cpulist	
appenddirname	appendonlydir
appendfilename	appendonly.aof
appendfsync	everysec
appendonly	no
auto-aof-rewrite-min-size	67108864
auto-aof-rewrite-percentage	100
bgsave_cpulist	
bind	* -::*
bind-source-addr	
bio_cpulist	
busy-reply-threshold	5000
client-output-buffer-limit	normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60
client-query-buffer-limit	1073741824
cluster-allow-pubsubshard-when-down	yes
cluster-allow-reads-when-down	no
cluster-allow-replica-migration	yes
cluster-announce-bus-port	0
cluster-announce-hostname	
cluster-announce-ip	
cluster-announce-port	0
cluster-announce-tls-port	0
cluster-config-file	nodes.conf
cluster-enabled	no
cluster-link-sendbuf-limit	0
cluster-migration-barrier	1
cluster-node-timeout	15000
cluster-port	0
cluster-preferred-endpoint-type	ip
cluster-replica-no-failover	no
cluster-replica-validity-factor	10
cluster-require-full-coverage	yes
cluster-slave-no-failover	no
cluster-slave-validity-factor	10
crash-log-enabled	yes
crash-memcheck-enabled	yes
daemonize	no
databases	16
dbfilename	dump.rdb
disable-thp	yes
dynamic-hz	yes
enable-debug-command	no
enable-module-command	no
enable-protected-configs	no
hash-max-listpack-entries	512
hash-max-listpack-value	64
hash-max-ziplist-entries	512
hash-max-ziplist-value	64
hll-sparse-max-bytes	3000
hz	10
ignore-warnings	
io-threads	1
io-threads-do-reads	no
jemalloc-bg-thread	yes
latency-monitor-threshold	0
latency-tracking	yes
latency-tracking-info-percentiles	50 99 99.9
lazyfree-lazy-eviction	no
lazyfree-lazy-expire	no
lazyfree-lazy-server-del	no
lazyfree-lazy-user-del	no
lazyfree-lazy-user-flush	no
lfu-decay-time	1
lfu-log-factor	10
list-compress-depth	0
list-max-listpack-size	-2
list-max-ziplist-size	-2
logfile	
loglevel	notice
lua-time-limit	5000
masterauth	
masteruser	
maxclients	10000
maxmemory	0
maxmemory-clients	0
maxmemory-eviction-tenacity	10
maxmemory-policy	noeviction
maxmemory-samples	5
min-replicas-max-lag	10
min-replicas-to-write	0
min-slaves-max-lag	10
min-slaves-to-write	0
no-appendfsync-on-rewrite	no
notify-keyspace-events	
oom-score-adj	no
oom-score-adj-values	0 200 800
pidfile	
proc-title-template	{title} {listen-addr} {server-mode}
propagation-error-behavior	ignore
protected-mode	yes
proto-max-bulk-len	536870912
rdb-del-sync-files	no
rdb-save-incremental-fsync	yes
rdbchecksum	yes
rdbcompression	yes
repl-backlog-size	1048576
repl-backlog-ttl	3600
repl-disable-tcp-nodelay	no
repl-diskless-load	disabled
repl-diskless-sync	yes
repl-diskless-sync-delay	5
repl-diskless-sync-max-replicas	0
repl-ping-replica-period	10
repl-ping-slave-period	10
repl-timeout	60
replica-announce-ip	
replica-announce-port	0
replica-announced	yes
replica-ignore-disk-write-errors	no
replica-ignore-maxmemory	yes
replica-lazy-flush	no
replica-priority	100
replica-read-only	yes
replica-serve-stale-data	yes
replicaof	
requirepass	
sanitize-dump-payload	no
save	3600 1 300 100 60 10000
server_cpulist	
set-max-intset-entries	512
set-proc-title	yes
shutdown-on-sigint	default
shutdown-on-sigterm	default
shutdown-timeout	10
slave-announce-ip	
slave-announce-port	0
slave-ignore-maxmemory	yes
slave-lazy-flush	no
slave-priority	100
slave-read-only	yes
slave-serve-stale-data	yes
slaveof	
slowlog-log-slower-than	10000
slowlog-max-len	128
socket-mark-id	0
stop-writes-on-bgsave-error	yes
stream-node-max-bytes	4096
stream-node-max-entries	100
supervised	no
syslog-enabled	no
syslog-facility	local0
syslog-ident	redis
tcp-backlog	511
tcp-keepalive	300
timeout	0
tls-auth-clients	yes
tls-ca-cert-dir	
tls-ca-cert-file	
tls-cert-file	
tls-ciphers	
tls-ciphersuites	
tls-client-cert-file	
tls-client-key-file	
tls-client-key-file-pass	
tls-cluster	no
tls-dh-params-file	
tls-key-file	
tls-key-file-pass	
tls-port	0
tls-prefer-server-ciphers	no
tls-protocols	
tls-replication	no
tls-session-cache-size	20480
tls-session-cache-timeout	300
tls-session-caching	yes
tracking-table-max-keys	1000000
unixsocket	
unixsocketperm	0
zset-max-listpack-entries	128
zset-max-listpack-value	64
zset-max-ziplist-entries	128
zset-max-ziplist-value	64
"""


def rendered(config, name):
    """The value as CONFIG GET shows it."""
    return config.get([name])[name]


def load(*argv, stdin=b"", **hooks):
    return Config.from_argv(list(argv), stdin=io.BytesIO(stdin), **hooks)


def startup_error(*argv, stdin=b"", **hooks):
    with pytest.raises(StartupExit) as caught:
        load(*argv, stdin=stdin, **hooks)
    return caught.value


def fatal(line_number, line, reason):
    return (f"\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
            f"Reading the configuration file, at line {line_number}\n>>> '{line}'\n{reason}\n")


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- the option table and defaults

def test_defaults_are_what_config_get_shows_on_a_default_server():
    expected = dict(line.split("\t") for line in LIVE_DEFAULTS.strip("\n").split("\n"))
    shown = Config().get(["*"])
    assert shown.pop("dir") == os.getcwd()
    assert shown.pop("port") == "6379"
    assert shown == expected


def test_hidden_options_answer_only_by_exact_name():
    config = Config()
    hidden = ["use-exit-on-panic", "rdb-key-save-delay", "key-load-delay", "watchdog-period",
              "loading-process-events-interval-bytes"]
    assert not set(hidden) & set(config.get(["*"]))
    assert config.get(hidden) == {"use-exit-on-panic": "no", "rdb-key-save-delay": "0",
                                  "key-load-delay": "0", "watchdog-period": "0",
                                  "loading-process-events-interval-bytes": "2097152"}


def test_table_has_unique_names_and_typed_defaults():
    names = [o.name for o in OPTIONS] + [o.alias for o in OPTIONS if o.alias]
    assert len(names) == len(set(names)) == 192 + 5  # live `CONFIG GET *` shows 192; 5 are hidden
    assert find_option("SLAVEOF").name == "replicaof"
    assert find_option("nope") is None


def test_typed_values():
    config = Config()
    assert config["maxmemory"] == 0 and config["hz"] == 10
    assert config["appendonly"] is False and config["protected-mode"] is True
    assert config["maxmemory-policy"] == "noeviction"
    assert config["save"] == [(3600, 1), (300, 100), (60, 10000)]
    assert config["bind"] == ["*", "-::*"]
    assert config["replicaof"] is None and config["slaveof"] is None
    assert config["client-output-buffer-limit"]["pubsub"] == (32 * 2**20, 8 * 2**20, 60)
    assert config["oom-score-adj-values"] == (0, 200, 800)
    assert config["latency-tracking-info-percentiles"] == [50.0, 99.0, 99.9]
    assert config["notify-keyspace-events"] == 0
    assert config["shutdown-on-sigint"] == "default"
    assert config["Slave-Priority"] == 100
    with pytest.raises(KeyError):
        config["nope"]


# --- the command line

def test_options_on_the_command_line():
    config = load("--port", "7000", "--maxmemory", "1gb", "--appendonly", "YES", "--LogLevel", "WARNING")
    assert config["port"] == 7000
    assert config["maxmemory"] == 2**30
    assert config["appendonly"] is True
    assert config["loglevel"] == "warning"
    assert config.config_file is None


def test_repeated_save_options_add_up_and_empty_save_clears():
    assert load("--save", "900", "1", "--save", "60", "100")["save"] == [(900, 1), (60, 100)]
    assert load("--save", "900 1 300 10")["save"] == [(900, 1), (300, 10)]
    assert load("--save", "")["save"] == []
    assert load("--save")["save"] == []
    assert load("--save", "--loglevel", "verbose")["save"] == []
    assert load("--save", "900", "1", "--save", "", "--save", "60", "100")["save"] == [(60, 100)]


def test_a_name_without_value_takes_the_next_word_even_if_it_starts_with_dashes():
    assert load("--requirepass", "--port")["requirepass"] == "--port"


def test_name_and_value_in_one_word():
    assert load("--port 7001")["port"] == 7001


def test_multi_word_options_and_aliases():
    config = load("--replicaof", "127.0.0.1", "6390", "--slave-read-only", "no",
                  "--hash-max-ziplist-entries", "7", "--bind", "127.0.0.1 ::1")
    assert rendered(config, "slaveof") == "127.0.0.1 6390"
    assert config["replicaof"] == ("127.0.0.1", 6390)
    assert config.get(["replica-read-only", "slave-read-only"]) == {
        "replica-read-only": "no", "slave-read-only": "no"}
    assert config["hash-max-listpack-entries"] == 7
    assert config["bind"] == ["127.0.0.1", "::1"]
    assert load("--slaveof", "no one")["replicaof"] is None


def test_config_file_then_stdin_then_options(in_tmp):
    (in_tmp / "redis.conf").write_text("port 7000\nmaxmemory 1mb\nsave 900 1\n")
    config = load("redis.conf", "--maxmemory", "2mb", "-", stdin=b"hz 20\nsave 60 5\n")
    assert config.config_file == str(in_tmp / "redis.conf")
    assert config.read_stdin
    assert (config["port"], config["maxmemory"], config["hz"]) == (7000, 2 * 2**20, 20)
    assert config["save"] == [(900, 1), (60, 5)]


def test_stdin_alone():
    config = load("-", stdin=b"port 7000\nmaxmemory 5mb\n")
    assert (config["port"], config["maxmemory"]) == (7000, 5 * 2**20)


def test_version_and_help():
    version = startup_error("--version")
    assert (version.status, version.stream) == (0, "stdout")
    assert version.text.startswith("Redis server v=7.0.15 sha=00000000:0 malloc=")
    assert startup_error("-v").status == 0
    usage = startup_error("-h")
    assert (usage.status, usage.stream) == (1, "stderr")
    assert usage.text.startswith("Usage: ./redis-server [/path/to/redis.conf] [options] [-]\n")
    assert startup_error("--help").text == usage.text
    assert startup_error("--test-memory").text == (
        "Please specify the amount of memory to test in megabytes.\n"
        "Example: ./redis-server --test-memory 4096\n\n")


# --- config files

def test_config_file_syntax(in_tmp):
    (in_tmp / "redis.conf").write_bytes(
        b"# a comment\n"
        b"   \n"
        b"  port 7000  \r\n"
        b"requirepass \"p\\x41ss \\\"w\\\" \\n\"\n"
        b"masterauth 'it\\'s'\n"
        b"save 900 1\n"
        b"save 300 10\n"
        b"list-max-ziplist-entries 5\n"     # deprecated: ignored
        b"lua-replicate-commands yes\n"
        b"rename-command FLUSHALL \"\"\n"
        b"user alice on >pw ~* +@all\n"
        b"loadmodule /x.so a b\n"
        b"mymod.option 1 2\n"
        b"sentinel\n")
    config = load("redis.conf")
    assert config["port"] == 7000
    assert config["requirepass"] == 'pAss "w" \n'
    assert config["masterauth"] == "it's"
    assert config["save"] == [(900, 1), (300, 10)]
    assert config.renamed_commands == [("FLUSHALL", "")]
    assert config.modules == [("/x.so", ["a", "b"])]
    assert config.module_configs == {"mymod.option": "1 2"}


def test_include_is_relative_to_dir_and_a_glob_may_match_nothing(in_tmp):
    (in_tmp / "conf.d").mkdir()
    (in_tmp / "conf.d" / "a.conf").write_text("maxclients 10\n")
    (in_tmp / "conf.d" / "b.conf").write_text("maxclients 20\ntimeout 5\n")
    (in_tmp / "redis.conf").write_text(f"dir {in_tmp}/conf.d\ninclude *.conf\ninclude none*.conf\n")
    config = load("redis.conf")
    assert (config["maxclients"], config["timeout"]) == (20, 5)
    assert config["dir"] == os.path.realpath(in_tmp / "conf.d")


def test_save_lines_after_an_include_replace_instead_of_adding(in_tmp):
    # Redis's "reading a config file" flag is cleared when an included file ends.
    (in_tmp / "inc.conf").write_text("save 1 1\n")
    (in_tmp / "redis.conf").write_text("save 900 1\ninclude inc.conf\nsave 300 10\n")
    assert load("redis.conf")["save"] == [(300, 10)]
    (in_tmp / "plain.conf").write_text("save 900 1\nsave 300 10\n")
    assert load("plain.conf", "--save", "60", "100")["save"] == [(900, 1), (300, 10), (60, 100)]


def test_hz_is_capped_after_loading():
    assert load("--hz", "1000")["hz"] == 500
    assert load("--hz", "0")["hz"] == 1


def test_rename_command_checks_names_when_given_the_command_table():
    known = {"get", "set", "flushall"}.__contains__
    assert load("--rename-command", "get", "fetch", command_exists=known).renamed_commands == [
        ("get", "fetch")]
    error = startup_error("--rename-command", "nosuch", "foo", command_exists=known)
    assert error.text == fatal(2, 'rename-command "nosuch" "foo"', "No such command in rename-command")
    error = startup_error("--rename-command", "get", "set", command_exists=known)
    assert error.text == fatal(2, 'rename-command "get" "set"', "Target command name already exists")


def test_rename_command_checks_the_spec_by_default():
    assert load("--rename-command", "flushdb", "").renamed_commands == [("flushdb", "")]
    error = startup_error("--rename-command", "nosuch", "foo")
    assert error.text == fatal(2, 'rename-command "nosuch" "foo"', "No such command in rename-command")


def test_user_lines_are_accepted():  # the reference has one user, default (README)
    load("--user", "alice", "blah")


# --- startup errors, each text as printed by redis-server 7.0.15

@pytest.mark.parametrize("argv, line_number, line, reason", [
    (["--port", "7460", "--foo", "bar"], 3, 'foo "bar"', "Bad directive or wrong number of arguments"),
    (["--port", "abc"], 2, 'port "abc"', "argument couldn't be parsed into an integer"),
    (["--port", "70000"], 2, 'port "70000"', "argument must be between 0 and 65535 inclusive"),
    (["--maxmemory", "1x"], 2, 'maxmemory "1x"', "argument must be a memory value"),
    (["--appendonly", "maybe"], 2, 'appendonly "maybe"', "argument must be 'yes' or 'no'"),
    (["--loglevel", "loud"], 2, 'loglevel "loud"',
     "argument(s) must be one of the following: debug, verbose, notice, warning"),
    (["--save", "10"], 2, 'save "10"', "Invalid save parameters"),
    (["--save", "0", "1"], 2, 'save "0" "1"', "Invalid save parameters"),
    (["--port"], 2, "port", "wrong number of arguments"),
    (["--port", "1", "2"], 2, 'port "1" "2"', "wrong number of arguments"),
    (["--daemonize"], 2, "daemonize", "wrong number of arguments"),
    (["--include"], 2, "include", "Bad directive or wrong number of arguments"),
    (["--dbfilename", "a/b"], 2, 'dbfilename "a/b"', "dbfilename can't be a path, just a filename"),
    (["--appendfilename", ""], 2, 'appendfilename ""', "appendfilename can't be empty"),
    (["--appenddirname", "a\\b"], 2, 'appenddirname "a\\\\b"',
     "appenddirname can't be a path, just a dirname"),
    (["--replicaof", "localhost"], 2, 'replicaof "localhost"', "wrong number of arguments"),
    (["--replicaof", "host", "99999"], 2, 'replicaof "host" "99999"', "Invalid master port"),
    (["--client-output-buffer-limit", "foo 1 2 3"], 2, 'client-output-buffer-limit "foo 1 2 3"',
     "Invalid client class specified in buffer limit configuration."),
    (["--notify-keyspace-events", "Q"], 2, 'notify-keyspace-events "Q"',
     "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."),
    (["-x"], 2, '"-x"', "Bad directive or wrong number of arguments"),
    (["--port 7460", "--foo"], 3, "foo", "Bad directive or wrong number of arguments"),
    (["--save", "--foo", "1"], 3, 'foo "1"', "Bad directive or wrong number of arguments"),
    (["--port", "7460", "-v"], 2, 'port "7460" "-v"', "wrong number of arguments"),
    (["--port", "7460", "-", "--foo"], 2, 'port "7460" "-"', "wrong number of arguments"),
    (["--port", "1\n2"], 2, 'port "1\\n2"', "argument couldn't be parsed into an integer"),
    (["--port", "é"], 2, 'port "\\xc3\\xa9"', "argument couldn't be parsed into an integer"),
    (["--maxmemory-clients", "101%"], 2, 'maxmemory-clients "101%"',
     "percentage argument must be less or equal to 100"),
    (["--maxmemory-clients", "-1"], 2, 'maxmemory-clients "-1"',
     "argument must be a memory or percent value"),
    (["--unixsocketperm", "800"], 2, 'unixsocketperm "800"',
     "argument couldn't be parsed as an octal number"),
    (["--unixsocketperm", "1000"], 2, 'unixsocketperm "1000"',
     "argument must be between 0 and 777 inclusive"),
    (["--maxclients", "-1"], 2, 'maxclients "-1"', "argument must be between 1 and 4294967295 inclusive"),
    (["--timeout", "01"], 2, 'timeout "01"', "argument couldn't be parsed into an integer"),
    (["--list-max-listpack-size", "3000000000"], 2, 'list-max-listpack-size "3000000000"',
     "argument must be between -2147483648 and 2147483647 inclusive"),
    (["--oom-score-adj-values", "1 2"], 2, 'oom-score-adj-values "1 2"', "wrong number of arguments"),
    (["--shutdown-on-sigint", "save nosave"], 2, 'shutdown-on-sigint "save nosave"',
     "shutdown options SAVE and NOSAVE can't be used simultaneously"),
    (["--latency-tracking-info-percentiles", "101"], 2, 'latency-tracking-info-percentiles "101"',
     "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"),
    (["--proc-title-template", "{title}"], 2, 'proc-title-template "{title}"',
     "template format is invalid or contains unknown variables"),
    (["--cluster-announce-hostname", "a_b"], 2, 'cluster-announce-hostname "a_b"',
     "Hostnames may only contain alphanumeric characters, hyphens or dots"),
    (["--dir", "/nonexistent"], 2, 'dir "/nonexistent"', "No such file or directory"),
    (["--dir", "/etc/passwd"], 2, 'dir "/etc/passwd"', "Not a directory"),
    (["--activedefrag", "yes"], 2, 'activedefrag "yes"',
     "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified "
     "Jemalloc like the one shipped by default with the Redis source distribution"),
    (["--bind"] + [str(n) for n in range(17)], 2, "bind " + " ".join(f'"{n}"' for n in range(17)),
     "Too many bind addresses specified."),
    (["--a.b"], 2, "a.b", "Module config specified without value"),
    (["--list-max-ziplist-entries", "5", "--foo"], 3, "foo", "Bad directive or wrong number of arguments"),
])
def test_command_line_errors(argv, line_number, line, reason):
    error = startup_error(*argv)
    assert isinstance(error, ConfigError) and error.status == 1 and error.stream == "stderr"
    assert error.text == str(error) == fatal(line_number, line, reason)


@pytest.mark.parametrize("content, line_number, line, reason", [
    (b"port 7460\n\n# c\n  maxmemory \"1x\" \n", 4, 'maxmemory "1x"', "argument must be a memory value"),
    (b"port 7460\nsave \"abc\n", 2, 'save "abc', "Unbalanced quotes in configuration line"),
    (b"port 7460\nsave \"abc\"x\n", 2, 'save "abc"x', "Unbalanced quotes in configuration line"),
    (b"sentinel monitor x\n", 1, "sentinel monitor x", "sentinel directive while not in sentinel mode"),
    (b"port 7460\r\n  PORT  \"\\x37\\x34\" extra \n", 2, 'PORT  "\\x37\\x34" extra',
     "wrong number of arguments"),
])
def test_config_file_errors(in_tmp, content, line_number, line, reason):
    (in_tmp / "bad.conf").write_bytes(content)
    assert startup_error("bad.conf").text == fatal(line_number, line, reason)
    # Options come after the file: the file's error is still the one reported.
    assert startup_error("bad.conf", "--port", "1").text == fatal(line_number, line, reason)


def test_error_in_an_included_file_counts_its_own_lines(in_tmp):
    (in_tmp / "inc.conf").write_text("\n\nmaxclients 0\n")
    (in_tmp / "main.conf").write_text("port 7460\ninclude inc.conf\n")
    assert startup_error("main.conf").text == fatal(
        3, "maxclients 0", "argument must be between 1 and 4294967295 inclusive")


def test_error_line_numbers_count_stdin_too():
    error = startup_error("-", "--foo", "1", stdin=b"port 7460\nbar\n")
    assert error.text == fatal(2, "bar", "Bad directive or wrong number of arguments")


def test_errors_found_after_the_last_line():
    error = startup_error("--logfile", "/nonexistent/dir/x.log")
    assert error.text == ("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
                          "Can't open the log file: No such file or directory\n")
    error = startup_error("--cluster-enabled", "yes", "--replicaof", "1.2.3.4", "5")
    assert error.text.endswith("***\nreplicaof directive not allowed in cluster mode\n")


def test_missing_config_file_is_reported_through_the_log(in_tmp):
    error = startup_error("nonexist.conf")
    assert error.logged and error.status == 1
    assert error.text == (f"Fatal error, can't open config file '{in_tmp}/nonexist.conf': "
                          "No such file or directory")
    (in_tmp / "main.conf").write_text("include /nonexist.conf\n")
    assert startup_error("main.conf").text == (
        "Fatal error, can't open config file '/nonexist.conf': No such file or directory")


# --- quoting

@pytest.mark.parametrize("line, words", [
    (b"a b  c", [b"a", b"b", b"c"]),
    (b'"a b" \'c d\'', [b"a b", b"c d"]),
    (b'"\\x41\\x4a\\n\\t\\"\\\\\\q"', [b'AJ\n\t"\\q']),
    (b'"\\x4"', [b"x4"]),
    (b"'it\\'s' '\\n'", [b"it's", b"\\n"]),
    (b"ab\"c d\"e", None),   # a closing quote must end the word
    (b'"abc', None),
    (b"'abc", None),
    (b'x""', [b"x"]),           # a quote may open mid-word
    (b'""', [b""]),
    (b"  ", []),
])
def test_split_args(line, words):
    assert split_args(line) == words


def test_repr_arg_round_trips():
    for arg in [b"", b"plain", b'q"uote', b"back\\slash", b"\n\r\t\a\b", bytes(range(256))]:
        assert split_args(repr_arg(arg)) == [arg]
    assert repr_arg(b'a"\xe9\n') == b'"a\\"\\xe9\\n"'


# --- CONFIG GET

def test_config_get_patterns_include_aliases():
    config = Config()
    assert config.get(["slave-pri*"]) == {"slave-priority": "100"}
    assert set(config.get(["*priority*"])) == {"replica-priority", "slave-priority"}
    assert config.get(["p[o]rt"]) == {"port": "6379"}
    assert config.get(["b?nd"]) == {"bind": "* -::*"}
    assert config.get(["["]) == {} and config.get(["port\\"]) == {}
    assert config.get(["*-*-*-*-*"]).keys() == {
        "tls-client-key-file-pass", "cluster-allow-pubsubshard-when-down",
        "active-defrag-max-scan-fields", "auto-aof-rewrite-min-size",
        "replica-ignore-disk-write-errors", "repl-diskless-sync-max-replicas",
        "cluster-allow-reads-when-down", "stop-writes-on-bgsave-error"}


def test_config_get_exact_names_answer_as_asked_and_deduplicate_case_insensitively():
    config = Config()
    assert config.get(["MAXMEMORY"]) == {"MAXMEMORY": "0"}
    assert config.get(["maxmemory", "MAXMEMORY"]) == {"maxmemory": "0"}
    shown = config.get(["MaxMemory", "max*"])
    assert "MaxMemory" in shown and "maxmemory" not in shown and "maxclients" in shown
    assert config.get(["nope"]) == {}


# --- CONFIG SET

def set_error(config, *words, **kwargs):
    with pytest.raises(ConfigSetError) as caught:
        config.set(list(zip(words[0::2], words[1::2])), **kwargs)
    return caught.value.message


def failed(name, reason):
    return f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"


@pytest.mark.parametrize("words, message", [
    (("foo", "bar"), "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
    (("maxmemory", "1", "foo", "bar"), "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
    (("daemonize", "yes", "foo", "bar"), failed("daemonize", "can't set immutable config")),
    (("foo", "bar", "daemonize", "yes"), "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"),
    (("DAEMONIZE", "yes"), failed("DAEMONIZE", "can't set immutable config")),
    (("list-max-ziplist-entries", "5"),
     "ERR Unknown option or number of arguments for CONFIG SET - 'list-max-ziplist-entries'"),
    (("dir", "/tmp"), failed("dir", "can't set protected config")),
    (("dbfilename", "x"), failed("dbfilename", "can't set protected config")),
    (("maxmemory", "1", "MAXMEMORY", "2"), failed("MAXMEMORY", "duplicate parameter")),
    (("MAXMEMORY", "foo"), failed("maxmemory", "argument must be a memory value")),
    (("slave-priority", "foo"), failed("slave-priority", "argument couldn't be parsed into an integer")),
    (("maxmemory", "10mb", "maxmemory-policy", "bad"), failed(
        "maxmemory-policy", "argument(s) must be one of the following: volatile-lru, volatile-lfu, "
        "volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction")),
    (("save", "10 1  20 2"), failed("save", "Invalid save parameters")),
    (("oom-score-adj-values", "1 2 3000"),
     failed("oom-score-adj-values", "Invalid oom-score-adj-values, elements must be between -2000 and 2000.")),
    (("client-output-buffer-limit", "normal 1 2"), failed(
        "client-output-buffer-limit", "Wrong number of arguments in buffer limit configuration.")),
    (("client-output-buffer-limit", "master 1 2 3"), failed(
        "client-output-buffer-limit", "Invalid client class specified in buffer limit configuration.")),
    (("client-output-buffer-limit", "normal 1x 2 3"), failed(
        "client-output-buffer-limit",
        "Error in hard, soft or soft_seconds setting in buffer limit configuration.")),
    (("latency-tracking-info-percentiles", "50 abc"), failed(
        "latency-tracking-info-percentiles", "Invalid latency-tracking-info-percentiles parameters")),
    (("latency-tracking-info-percentiles", "1e400"), failed(
        "latency-tracking-info-percentiles", "Invalid latency-tracking-info-percentiles parameters")),
    (("latency-tracking-info-percentiles", "inf"), failed(
        "latency-tracking-info-percentiles",
        "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")),
    (("shutdown-on-sigint", ""), failed(
        "shutdown-on-sigint", "argument(s) must be one of the following: default, save, nosave, now, force")),
    (("maxmemory-clients", "abc"), failed("maxmemory-clients", "argument must be a memory or percent value")),
    (("proto-max-bulk-len", "20000000000000000000"), failed(
        "proto-max-bulk-len", "argument must be between 1048576 and 9223372036854775807 inclusive")),
    (("slowlog-log-slower-than", "-2"), failed(
        "slowlog-log-slower-than", "argument must be between -1 and 9223372036854775807 inclusive")),
    (("proc-title-template", "{foo}"), failed(
        "proc-title-template", "template format is invalid or contains unknown variables")),
    (("proc-title-template", "{unixsocket}"), failed(
        "proc-title-template", "template format is invalid or contains unknown variables")),
    (("slaveof", "no one"), failed("slaveof", "can't set immutable config")),
])
def test_config_set_errors(words, message):
    config = Config()
    before = config.get(["*"])
    assert set_error(config, *words) == message
    assert config.get(["*"]) == before


def test_config_set_is_all_or_nothing():
    config = Config()
    assert set_error(config, "maxmemory", "1", "hz", "20", "loglevel", "nope").startswith(
        "ERR CONFIG SET failed (possibly related to argument 'loglevel')")
    assert (config["maxmemory"], config["hz"], config["loglevel"]) == (0, 10, "notice")
    config.set([("maxmemory", "1", ), ("hz", "20"), ("loglevel", "warning")])
    assert (config["maxmemory"], config["hz"], config["loglevel"]) == (1, 20, "warning")


def test_config_set_alias_and_name_together_is_no_duplicate():
    config = Config()
    config.set([("slave-priority", "1"), ("replica-priority", "2")])
    assert config["replica-priority"] == 2


def test_config_set_values_and_their_rendering():
    config = Config()
    config.set([("hz", "0")])
    assert config["hz"] == 1  # capped
    config.set([("hz", "1000")])
    assert rendered(config, "hz") == "500"
    config.set([("save", "")])
    assert rendered(config, "save") == ""
    config.set([("save", "10 1 20 2")])
    assert config["save"] == [(10, 1), (20, 2)] and rendered(config, "save") == "10 1 20 2"
    config.set([("client-output-buffer-limit", "normal 1mb 2kb 3 replica 1 2 3")])
    assert rendered(config, "client-output-buffer-limit") == (
        "normal 1048576 2048 3 slave 1 2 3 pubsub 33554432 8388608 60")
    config.set([("latency-tracking-info-percentiles", "0.5 99.999 100")])
    assert rendered(config, "latency-tracking-info-percentiles") == "0.5 99.999 100"
    config.set([("shutdown-on-sigint", "nosave now force")])
    assert config["shutdown-on-sigint"] == "nosave now force"
    config.set([("maxmemory-clients", "50%")])
    assert config["maxmemory-clients"] == -50 and rendered(config, "maxmemory-clients") == "50%"
    config.set([("maxmemory", "99999999999999999999999")])
    assert rendered(config, "maxmemory") == "18446744073709551615"
    config.set([("maxmemory", "")])
    assert config["maxmemory"] == 0
    config.set([("oom-score-adj", "relative")])
    assert config["oom-score-adj"] == "yes"
    config.set([("appendonly", "YES"), ("loglevel", "WARNING")])
    assert config.get(["appendonly", "loglevel"]) == {"appendonly": "yes", "loglevel": "warning"}
    for events, shown in [("KEA", "AKE"), ("Kg$lshzxe", "g$lshzxeK"), ("Knd", "dnK"), ("Ex", "xE"), ("", "")]:
        config.set([("notify-keyspace-events", events)])
        assert rendered(config, "notify-keyspace-events") == shown
    assert rendered(load("--unixsocketperm", "700"), "unixsocketperm") == "700"


def test_protected_configs_follow_enable_protected_configs(tmp_path):
    assert set_error(load("--enable-protected-configs", "local"), "dir", str(tmp_path),
                     client_is_local=False) == failed("dir", "can't set protected config")
    config = load("--enable-protected-configs", "local")
    config.set([("dir", str(tmp_path))], client_is_local=True)
    assert config["dir"] == os.path.realpath(tmp_path)
    config = load("--enable-protected-configs", "yes")
    config.set([("dbfilename", "x.rdb")])
    assert set_error(config, "dbfilename", "a/b") == failed("dbfilename", "dbfilename can't be a path, just a filename")
    assert set_error(config, "dir", "/nonexistent") == failed("dir", "No such file or directory")
    assert config.protected_action_allowed("enable-debug-command", client_is_local=True) is False


def test_on_change_runs_once_per_callback_and_only_on_change():
    config, calls = Config(), []
    both = lambda cfg, name: calls.append(("both", name))  # noqa: E731
    config.on_change("min-replicas-to-write", both)
    config.on_change("min-slaves-max-lag", both)
    config.on_change("maxmemory", lambda cfg, name: calls.append((name, cfg["maxmemory"])))
    config.set([("min-replicas-max-lag", "3"), ("min-replicas-to-write", "2"), ("maxmemory", "0")])
    assert calls == [("both", "min-replicas-max-lag")]  # maxmemory did not change
    calls.clear()
    config.set([("maxmemory", "5")])
    assert calls == [("maxmemory", 5)]


def test_a_failing_callback_undoes_the_whole_set():
    config, seen = Config(), []

    def refuse(cfg, name):
        seen.append(cfg["maxclients"])
        if cfg["maxclients"] > 100:
            raise ConfigApplyError("The operating system is not able to handle the specified number "
                                   "of clients, try with 100")

    config.on_change("maxclients", refuse)
    assert set_error(config, "hz", "50", "maxclients", "500") == failed(
        "maxclients", "The operating system is not able to handle the specified number of clients, try with 100")
    assert (config["hz"], config["maxclients"]) == (10, 10000)
    assert seen == [500, 10000]  # applied, then re-applied with the restored value
