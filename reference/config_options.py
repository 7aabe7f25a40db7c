"""The table of every option redis-server 7.0 has: its name and alias, type,
default, bounds and flags, plus the checks some options make of a new value
(config.c's is_valid functions).

`OPTIONS` lists them and `find_option` looks one up by name or alias, in any
case. This module only describes the options; reference/config.py parses and
renders their values (command line, config files, CONFIG GET and CONFIG SET).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # for the annotation only: config.py imports this module, not the reverse
    from reference.config import Config

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
UINT_MAX = 2**32 - 1
LONG_MAX = LLONG_MAX = 2**63 - 1
ULLONG_MAX = 2**64 - 1

# Option flags (config.c's *_CONFIG flags that change behaviour here).
IMMUTABLE = "immutable"        # CONFIG SET refuses it
PROTECTED = "protected"        # CONFIG SET refuses it unless enable-protected-configs allows
HIDDEN = "hidden"              # CONFIG GET shows it only when asked by exact name
SENSITIVE = "sensitive"        # the value must be redacted from SLOWLOG / MONITOR
MULTI_ARG = "multi-arg"        # takes several words: `save 900 1 300 10`
VOLATILE = "volatile"          # names a file whose content may change: setting it always "changes" it

# notify-keyspace-events classes, in the order CONFIG GET prints them.
NOTIFY_KEYSPACE, NOTIFY_KEYEVENT, NOTIFY_GENERIC, NOTIFY_STRING = 1 << 0, 1 << 1, 1 << 2, 1 << 3
NOTIFY_LIST, NOTIFY_SET, NOTIFY_HASH, NOTIFY_ZSET = 1 << 4, 1 << 5, 1 << 6, 1 << 7
NOTIFY_EXPIRED, NOTIFY_EVICTED, NOTIFY_STREAM, NOTIFY_KEY_MISS = 1 << 8, 1 << 9, 1 << 10, 1 << 11
NOTIFY_MODULE, NOTIFY_NEW = 1 << 13, 1 << 14
NOTIFY_ALL = (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | NOTIFY_ZSET
              | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM | NOTIFY_MODULE)  # 'm' and 'n' are not in 'A'
NOTIFY_CLASSES = {"g": NOTIFY_GENERIC, "$": NOTIFY_STRING, "l": NOTIFY_LIST, "s": NOTIFY_SET,
                  "h": NOTIFY_HASH, "z": NOTIFY_ZSET, "x": NOTIFY_EXPIRED, "e": NOTIFY_EVICTED,
                  "t": NOTIFY_STREAM, "d": NOTIFY_MODULE, "n": NOTIFY_NEW}
NOTIFY_TARGETS = {"K": NOTIFY_KEYSPACE, "E": NOTIFY_KEYEVENT, "m": NOTIFY_KEY_MISS}

# shutdown-on-sigint / shutdown-on-sigterm flags.
SHUTDOWN_SAVE, SHUTDOWN_NOSAVE, SHUTDOWN_NOW, SHUTDOWN_FORCE = 1, 2, 4, 8


@dataclass(frozen=True)
class Option:
    name: str
    kind: str                       # bool int memory octal enum flags string, or a special's own name
    default: object                 # typed, as Config[name] returns it
    alias: str | None = None
    flags: frozenset = frozenset()
    low: int = 0                    # numeric bounds, inclusive
    high: int = 0
    unsigned: bool = False          # bounds compared as unsigned 64-bit (C unsigned / size_t types)
    percent: bool = False           # memory value or "N%", stored as -N
    choices: tuple = ()             # enum: ((name, value), ...); first name of a value is its rendering
    check: object = None            # extra validation: check(value, config) -> error text or None


def boolean(name, default, *flags, alias=None, check=None):
    return Option(name, "bool", default, alias, frozenset(flags), check=check)


def string(name, default, *flags, alias=None, check=None):
    return Option(name, "string", default, alias, frozenset(flags), check=check)


def integer(name, low, high, default, *flags, alias=None, unsigned=False, kind="int"):
    return Option(name, kind, default, alias, frozenset(flags), low, high, unsigned)


def memory(name, low, high, default, *flags, alias=None, unsigned=False, percent=False):
    return Option(name, "memory", default, alias, frozenset(flags), low, high, unsigned, percent)


def enum(name, choices, default, *flags, alias=None, check=None):
    """`choices` is "a b c" (values 0, 1, 2) or a tuple of (name, value) pairs.
    With MULTI_ARG the values are bit flags and several names may be given."""
    if isinstance(choices, str):
        choices = tuple((word, i) for i, word in enumerate(choices.split()))
    kind = "flags" if MULTI_ARG in flags else "enum"
    if kind == "flags":
        default = dict(choices)[default]  # flags are kept as a bit mask
    return Option(name, kind, default, alias, frozenset(flags), choices=choices, check=check)


def special(name, default, *flags, alias=None):
    """An option with its own syntax: its kind is its name."""
    return Option(name, name, default, alias, frozenset(flags))


# Validators (config.c's is_valid functions). Each returns an error text or None.

def _no_active_defrag(value, config):
    # Like Debian's redis-server, the reference has no defrag-capable allocator.
    if value:
        return ("Active defragmentation cannot be enabled: it requires a Redis server compiled "
                "with a modified Jemalloc like the one shipped by default with the Redis source "
                "distribution")


def _base_name(what, kind="filename", allow_empty=True):
    def check(value, config):
        if not allow_empty and value == "":
            return f"{what} can't be empty"
        if "/" in value or "\\" in value:
            return f"{what} can't be a path, just a {kind}"
    return check


def _hostname(value, config):
    if len(value.encode("utf-8", "surrogateescape")) >= 256:
        return "Hostnames must be less than 256 characters"
    if any(not (c.isascii() and (c.isalnum() or c in "-.")) for c in value):
        return "Hostnames may only contain alphanumeric characters, hyphens or dots"


def expand_proc_title_template(template: str, title: str, config: Config) -> str | None:
    """The process title for `template`, or None if it is malformed or names an
    unknown variable ({{ is a literal brace)."""
    port, tls_port = config["port"], config["tls-port"]
    bind, socket = config["bind"], config["unixsocket"]
    mode = "[cluster]" if config["cluster-enabled"] else ""
    variables = {
        "title": title,
        "listen-addr": (f"{bind[0] if bind else '*'}:{port or tls_port}" if port or tls_port
                        else f"unixsocket:{socket or '(null)'}"),
        "server-mode": mode,
        "config-file": config.config_file or "-",
        "port": str(port), "tls-port": str(tls_port), "unixsocket": socket,
    }
    out, i = [], 0
    while i < len(template):
        brace = template.find("{", i)
        if brace < 0:
            out.append(template[i:])
            break
        out.append(template[i:brace])
        if brace + 1 == len(template):
            return None
        if template[brace + 1] == "{":
            out.append("{")
            i = brace + 2
            continue
        end = template.find("}", brace + 1)
        if end < 0 or template[brace + 1:end] not in variables:
            return None
        out.append(variables[template[brace + 1:end]])
        i = end + 1
    return "".join(out).strip(" ")



def _proc_title_template(value, config):
    expanded = expand_proc_title_template(value, "", config)
    if expanded is None or expanded == "":
        return "template format is invalid or contains unknown variables"


def _shutdown_flags(value, config):
    if value & SHUTDOWN_SAVE and value & SHUTDOWN_NOSAVE:
        return "shutdown options SAVE and NOSAVE can't be used simultaneously"


PROTECTED_ACTION = "no yes local"
MAXMEMORY_POLICIES = ("volatile-lru volatile-lfu volatile-random volatile-ttl "
                      "allkeys-lru allkeys-lfu allkeys-random noeviction")
SHUTDOWN_ON_SIGNAL = (("default", 0), ("save", SHUTDOWN_SAVE), ("nosave", SHUTDOWN_NOSAVE),
                      ("now", SHUTDOWN_NOW), ("force", SHUTDOWN_FORCE))
MB = 1024 * 1024

OPTIONS: list[Option] = [
    # --- process, logging, startup (mostly fixed once the server runs)
    boolean("daemonize", False, IMMUTABLE),
    enum("supervised", "upstart systemd auto no", "no", IMMUTABLE),
    string("pidfile", "", IMMUTABLE),
    string("logfile", "", IMMUTABLE),
    enum("loglevel", "debug verbose notice warning", "notice"),
    boolean("syslog-enabled", False, IMMUTABLE),
    string("syslog-ident", "redis", IMMUTABLE),
    enum("syslog-facility", "user local0 local1 local2 local3 local4 local5 local6 local7",
         "local0", IMMUTABLE),
    boolean("always-show-logo", False, IMMUTABLE),
    boolean("set-proc-title", True, IMMUTABLE),
    string("proc-title-template", "{title} {listen-addr} {server-mode}", check=_proc_title_template),
    boolean("crash-log-enabled", True),
    boolean("crash-memcheck-enabled", True),
    boolean("use-exit-on-panic", False, HIDDEN),
    boolean("disable-thp", True, IMMUTABLE),
    string("ignore-warnings", ""),
    integer("databases", 1, INT_MAX, 16, IMMUTABLE),
    integer("io-threads", 1, 128, 1, IMMUTABLE),
    boolean("io-threads-do-reads", False, IMMUTABLE),
    string("server_cpulist", "", IMMUTABLE),
    string("bio_cpulist", "", IMMUTABLE),
    string("aof_rewrite_cpulist", "", IMMUTABLE),
    string("bgsave_cpulist", "", IMMUTABLE),
    enum("oom-score-adj", (("no", 0), ("yes", 1), ("relative", 1), ("absolute", 2)), "no"),
    special("oom-score-adj-values", (0, 200, 800), MULTI_ARG),
    boolean("jemalloc-bg-thread", True),
    integer("hz", 0, INT_MAX, 10),
    boolean("dynamic-hz", True),
    integer("watchdog-period", 0, INT_MAX, 0, HIDDEN),
    integer("shutdown-timeout", 0, INT_MAX, 10),
    enum("shutdown-on-sigint", SHUTDOWN_ON_SIGNAL, "default", MULTI_ARG, check=_shutdown_flags),
    enum("shutdown-on-sigterm", SHUTDOWN_ON_SIGNAL, "default", MULTI_ARG, check=_shutdown_flags),

    # --- network and clients
    integer("port", 0, 65535, 6379),
    special("bind", ["*", "-::*"], MULTI_ARG),
    string("bind-source-addr", ""),
    boolean("protected-mode", True),
    integer("tcp-backlog", 0, INT_MAX, 511, IMMUTABLE),
    integer("tcp-keepalive", 0, INT_MAX, 300),
    integer("socket-mark-id", 0, UINT_MAX, 0, IMMUTABLE, unsigned=True),
    string("unixsocket", "", IMMUTABLE),
    integer("unixsocketperm", 0, 0o777, 0, IMMUTABLE, unsigned=True, kind="octal"),
    integer("timeout", 0, INT_MAX, 0),
    integer("maxclients", 1, UINT_MAX, 10000, unsigned=True),
    memory("client-query-buffer-limit", MB, LONG_MAX, 1024 * MB, unsigned=True),
    memory("proto-max-bulk-len", MB, LONG_MAX, 512 * MB),
    special("client-output-buffer-limit",  # class: (hard limit, soft limit, soft seconds)
            {"normal": (0, 0, 0), "slave": (256 * MB, 64 * MB, 60), "pubsub": (32 * MB, 8 * MB, 60)},
            MULTI_ARG),
    memory("maxmemory-clients", -100, LLONG_MAX, 0, percent=True),
    integer("tracking-table-max-keys", 0, LONG_MAX, 1000000, unsigned=True),

    # --- security
    string("requirepass", "", SENSITIVE),
    string("aclfile", "", IMMUTABLE),
    integer("acllog-max-len", 0, LONG_MAX, 128),
    enum("acl-pubsub-default", (("allchannels", 1), ("resetchannels", 0)), "resetchannels"),
    enum("enable-protected-configs", PROTECTED_ACTION, "no", IMMUTABLE),
    enum("enable-debug-command", PROTECTED_ACTION, "no", IMMUTABLE),
    enum("enable-module-command", PROTECTED_ACTION, "no", IMMUTABLE),
    enum("sanitize-dump-payload", "no yes clients", "no"),

    # --- memory and eviction
    memory("maxmemory", 0, ULLONG_MAX, 0, unsigned=True),
    enum("maxmemory-policy", MAXMEMORY_POLICIES, "noeviction"),
    integer("maxmemory-samples", 1, INT_MAX, 5),
    integer("maxmemory-eviction-tenacity", 0, 100, 10),
    integer("lfu-log-factor", 0, INT_MAX, 10),
    integer("lfu-decay-time", 0, INT_MAX, 1),
    boolean("lazyfree-lazy-eviction", False),
    boolean("lazyfree-lazy-expire", False),
    boolean("lazyfree-lazy-server-del", False),
    boolean("lazyfree-lazy-user-del", False),
    boolean("lazyfree-lazy-user-flush", False),
    boolean("activerehashing", True),
    integer("active-expire-effort", 1, 10, 1),
    boolean("activedefrag", False, check=_no_active_defrag),
    memory("active-defrag-ignore-bytes", 1, LLONG_MAX, 100 * MB, unsigned=True),
    integer("active-defrag-threshold-lower", 0, 1000, 10),
    integer("active-defrag-threshold-upper", 0, 1000, 100),
    integer("active-defrag-cycle-min", 1, 99, 1),
    integer("active-defrag-cycle-max", 1, 99, 25),
    integer("active-defrag-max-scan-fields", 1, LONG_MAX, 1000),

    # --- encodings of small values
    integer("hash-max-listpack-entries", 0, LONG_MAX, 512, alias="hash-max-ziplist-entries",
            unsigned=True),
    memory("hash-max-listpack-value", 0, LONG_MAX, 64, alias="hash-max-ziplist-value", unsigned=True),
    integer("list-max-listpack-size", INT_MIN, INT_MAX, -2, alias="list-max-ziplist-size"),
    integer("list-compress-depth", 0, INT_MAX, 0),
    integer("set-max-intset-entries", 0, LONG_MAX, 512, unsigned=True),
    integer("zset-max-listpack-entries", 0, LONG_MAX, 128, alias="zset-max-ziplist-entries",
            unsigned=True),
    memory("zset-max-listpack-value", 0, LONG_MAX, 64, alias="zset-max-ziplist-value", unsigned=True),
    memory("hll-sparse-max-bytes", 0, LONG_MAX, 3000, unsigned=True),
    memory("stream-node-max-bytes", 0, LONG_MAX, 4096, unsigned=True),
    integer("stream-node-max-entries", 0, LLONG_MAX, 100),

    # --- persistence: RDB
    special("save", [(3600, 1), (300, 100), (60, 10000)], MULTI_ARG),
    special("dir", None, PROTECTED),  # default: the working directory
    string("dbfilename", "dump.rdb", PROTECTED, check=_base_name("dbfilename")),
    boolean("rdbcompression", True),
    boolean("rdbchecksum", True, IMMUTABLE),
    boolean("rdb-del-sync-files", False),
    boolean("rdb-save-incremental-fsync", True),
    boolean("stop-writes-on-bgsave-error", True),
    integer("rdb-key-save-delay", INT_MIN, INT_MAX, 0, HIDDEN),
    integer("key-load-delay", INT_MIN, INT_MAX, 0, HIDDEN),
    integer("loading-process-events-interval-bytes", 1024, INT_MAX, 2 * MB, HIDDEN),

    # --- persistence: AOF
    boolean("appendonly", False),
    string("appendfilename", "appendonly.aof", IMMUTABLE,
           check=_base_name("appendfilename", allow_empty=False)),
    string("appenddirname", "appendonlydir", IMMUTABLE,
           check=_base_name("appenddirname", "dirname", allow_empty=False)),
    enum("appendfsync", "everysec always no", "everysec"),
    boolean("no-appendfsync-on-rewrite", False),
    integer("auto-aof-rewrite-percentage", 0, INT_MAX, 100),
    memory("auto-aof-rewrite-min-size", 0, LLONG_MAX, 64 * MB),
    boolean("aof-load-truncated", True),
    boolean("aof-use-rdb-preamble", True),
    boolean("aof-timestamp-enabled", False),
    boolean("aof-rewrite-incremental-fsync", True),
    boolean("aof-disable-auto-gc", False),

    # --- replication
    special("replicaof", None, IMMUTABLE, MULTI_ARG, alias="slaveof"),
    string("masteruser", "", SENSITIVE),
    string("masterauth", "", SENSITIVE),
    boolean("replica-serve-stale-data", True, alias="slave-serve-stale-data"),
    boolean("replica-read-only", True, alias="slave-read-only"),
    boolean("replica-lazy-flush", False, alias="slave-lazy-flush"),
    boolean("replica-ignore-maxmemory", True, alias="slave-ignore-maxmemory"),
    boolean("replica-ignore-disk-write-errors", False),
    boolean("replica-announced", True),
    string("replica-announce-ip", "", alias="slave-announce-ip"),
    integer("replica-announce-port", 0, 65535, 0, alias="slave-announce-port"),
    integer("replica-priority", 0, INT_MAX, 100, alias="slave-priority"),
    boolean("repl-diskless-sync", True),
    integer("repl-diskless-sync-delay", 0, INT_MAX, 5),
    integer("repl-diskless-sync-max-replicas", 0, INT_MAX, 0),
    enum("repl-diskless-load", "disabled on-empty-db swapdb", "disabled"),
    boolean("repl-disable-tcp-nodelay", False),
    integer("repl-ping-replica-period", 1, INT_MAX, 10, alias="repl-ping-slave-period"),
    integer("repl-timeout", 1, INT_MAX, 60),
    memory("repl-backlog-size", 1, LLONG_MAX, MB),
    integer("repl-backlog-ttl", 0, LONG_MAX, 3600),
    integer("min-replicas-to-write", 0, INT_MAX, 0, alias="min-slaves-to-write"),
    integer("min-replicas-max-lag", 0, INT_MAX, 10, alias="min-slaves-max-lag"),
    enum("propagation-error-behavior", "ignore panic panic-on-replicas", "ignore"),

    # --- cluster
    boolean("cluster-enabled", False, IMMUTABLE),
    string("cluster-config-file", "nodes.conf", IMMUTABLE),
    integer("cluster-port", 0, 65535, 0, IMMUTABLE),
    integer("cluster-node-timeout", 0, LLONG_MAX, 15000),
    string("cluster-announce-ip", ""),
    string("cluster-announce-hostname", "", check=_hostname),
    integer("cluster-announce-port", 0, 65535, 0),
    integer("cluster-announce-bus-port", 0, 65535, 0),
    integer("cluster-announce-tls-port", 0, 65535, 0),
    enum("cluster-preferred-endpoint-type", "ip hostname unknown-endpoint", "ip"),
    boolean("cluster-require-full-coverage", True),
    boolean("cluster-replica-no-failover", False, alias="cluster-slave-no-failover"),
    integer("cluster-replica-validity-factor", 0, INT_MAX, 10, alias="cluster-slave-validity-factor"),
    integer("cluster-migration-barrier", 0, INT_MAX, 1),
    boolean("cluster-allow-replica-migration", True),
    boolean("cluster-allow-reads-when-down", False),
    boolean("cluster-allow-pubsubshard-when-down", True),
    memory("cluster-link-sendbuf-limit", 0, ULLONG_MAX, 0, unsigned=True),

    # --- scripting, monitoring, events
    integer("busy-reply-threshold", 0, LONG_MAX, 5000, alias="lua-time-limit"),
    integer("slowlog-log-slower-than", -1, LLONG_MAX, 10000),
    integer("slowlog-max-len", 0, LONG_MAX, 128),
    integer("latency-monitor-threshold", 0, LLONG_MAX, 0),
    boolean("latency-tracking", True),
    special("latency-tracking-info-percentiles", [50.0, 99.0, 99.9], MULTI_ARG),
    special("notify-keyspace-events", 0),

    # --- TLS (present because Debian's redis-server is built with TLS)
    integer("tls-port", 0, 65535, 0),
    boolean("tls-cluster", False),
    boolean("tls-replication", False),
    enum("tls-auth-clients", "no yes optional", "yes"),
    boolean("tls-prefer-server-ciphers", False),
    boolean("tls-session-caching", True),
    integer("tls-session-cache-size", 0, INT_MAX, 20 * 1024),
    integer("tls-session-cache-timeout", 0, INT_MAX, 300),
    string("tls-cert-file", "", VOLATILE),
    string("tls-key-file", "", VOLATILE),
    string("tls-key-file-pass", ""),
    string("tls-client-cert-file", "", VOLATILE),
    string("tls-client-key-file", "", VOLATILE),
    string("tls-client-key-file-pass", ""),
    string("tls-dh-params-file", "", VOLATILE),
    string("tls-ca-cert-file", "", VOLATILE),
    string("tls-ca-cert-dir", "", VOLATILE),
    string("tls-protocols", ""),
    string("tls-ciphers", ""),
    string("tls-ciphersuites", ""),
]

# Lookup by canonical name or alias, ASCII case-insensitively like Redis's config dict.
_BY_NAME: dict[str, Option] = {}
for _option in OPTIONS:
    _BY_NAME[_option.name] = _option
    if _option.alias:
        _BY_NAME[_option.alias] = _option

# Directives only a config file knows: ignored when given with exactly this many words.
_DEPRECATED_DIRECTIVES = {"list-max-ziplist-entries": 2, "list-max-ziplist-value": 2,
                          "lua-replicate-commands": 2}


def _ascii_lower(text: str) -> str:
    return "".join(chr(ord(c) + 32) if "A" <= c <= "Z" else c for c in text)


def find_option(name: str) -> Option | None:
    """The option called `name` (canonical name or alias, any case)."""
    option = _BY_NAME.get(name)  # the server asks by canonical name on every command: fast
    return option if option is not None else _BY_NAME.get(_ascii_lower(name))

