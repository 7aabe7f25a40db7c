"""Handler of DEBUG (spec/server.md): every subcommand of Redis 7.0's DEBUG.

The spec's `parse:` line declares each subcommand's arguments: the matcher hands over which one
was given (`args["subcommand"]`, dispatched through SUBCOMMANDS) and its arguments, and answers
a wrong number of them with Redis's error. Where Redis reports its C internals (OBJECT, SDSLEN,
HTSTATS, LISTPACK, QUICKLIST, STRUCTSIZE) the replies have Redis's shape and field order, with
values of the reference's own model, as spec/server.md describes field by field. The settings
DEBUG changes live where they act: the server (active expiry, the paused cron, reply buffers),
the AOF (its flush delay), the RDB writer (the quicklist packed threshold) and loader (checksum
skipping).
"""
from __future__ import annotations

import os
import random
import re
import signal
import struct
import sys
import time
from typing import NoReturn

import reference
import spec
from reference import crash, log, reply_buffers
from reference.commands import handler
from reference.commands.connection import memory_of
from reference.commands.generic import lookup_notouch, refcount_of
from reference.config import memory_to_int
from reference.config_rewrite import rewrite_config
from reference.digest import dataset_digest, value_digest
from reference.dispatch import CommandError
from reference.keyspace import VALUE_TYPES
from reference.patterns import glob_match
from reference.persistence import listpack, rdb, rdb_load
from reference.protocol import OK, ErrorReply, Frames, Push, RespSet, Status, Verbatim
from reference.server import NO_REPLY
from reference.values import parse_int, string2ll


def _unknown_subcommand(client) -> CommandError:
    """Redis's answer to a subcommand it does not know, or not with these arguments."""
    name = client.argv[1].decode("utf-8", "replace")[:128]
    return CommandError(f"ERR unknown subcommand or wrong number of arguments for '{name}'. Try DEBUG HELP.")


# --- numbers as C reads them -------------------------------------------------------------

_STRTOD_PREFIX = re.compile(rb"\s*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_ATOI_PREFIX = re.compile(rb"\s*[+-]?[0-9]+")
LONG_MIN, LONG_MAX = -(1 << 63), (1 << 63) - 1


def _strtod(raw: bytes) -> float:
    """What C's strtod makes of raw when nobody checks: its numeric prefix, or 0."""
    match = _STRTOD_PREFIX.match(raw)
    return float(match.group()) if match else 0.0


def _atoi(raw: bytes) -> int:
    """What C's atoi makes of raw: its integer prefix (0 if none), read as a long and then
    cut to a 32-bit int, as glibc's atoi does."""
    match = _ATOI_PREFIX.match(raw)
    value = max(LONG_MIN, min(LONG_MAX, int(match.group()))) if match else 0
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


def _positive_long(raw: bytes) -> int:
    """getPositiveLongFromObjectOrReply: a long of 0 or more, one error for anything else."""
    value = string2ll(raw)
    if value is None or value < 0:
        raise CommandError("ERR value is out of range, must be positive")
    return value


# --- HELP, and the subcommands about time and periodic work ------------------------------

def _help(client, args):
    lines = spec.load()["debug"].fenced("help").splitlines()
    # The first line names the command as the client typed it, in capitals.
    lines[0] = client.argv[0].decode("utf-8", "replace").upper() + lines[0].removeprefix("DEBUG")
    return [Status(line) for line in lines]


def _sleep(client, args):
    # Redis reads the number with strtod and no check ("abc" sleeps 0 seconds), in whole
    # microseconds; a negative or overflowing time does not sleep.
    micros = _strtod(args["seconds"]) * 1_000_000
    if 0 < micros < 1 << 63:
        time.sleep(int(micros) / 1_000_000)
    return OK


def _set_active_expire(client, args):
    client.server.active_expire_enabled = _atoi(args["flag"]) != 0
    return OK


def _pause_cron(client, args):
    client.server.cron_paused = _atoi(args["flag"]) != 0
    return OK


def _aof_flush_sleep(client, args):
    client.server.aof.flush_sleep_us = _atoi(args["microseconds"]) % (1 << 32)  # usleep's unsigned
    return OK


# --- persistence --------------------------------------------------------------------------

def _reload(client, args):
    """DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the RDB file, empty the keyspace, load the
    file back. MERGE lets keys of the file replace existing ones (with NOFLUSH)."""
    words = {option.lower() for option in args.get("option") or []}
    if not words <= {b"merge", b"noflush", b"nosave"}:
        return ErrorReply("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
    server = client.server
    if b"nosave" not in words and not server.save_rdb():
        return ErrorReply("ERR")
    if b"noflush" not in words:  # emptied first, as Redis does: a load that fails leaves nothing
        for db in server.keyspace.dbs:
            db.flush()
    path = os.path.join(server.config["dir"], server.config["dbfilename"])
    try:
        with open(path, "rb") as f:
            loaded = rdb_load.parse_rdb(f.read(), server.config)
    except (OSError, rdb_load.RDBLoadError):
        # Redis aborts the process on a corrupt file; a missing one gets this reply.
        return ErrorReply("ERR Error trying to load the RDB dump")
    server.keyspace.last_load = (loaded.keys_loaded, loaded.keys_expired)
    for db, data, expires, access in zip(server.keyspace.dbs, loaded.data, loaded.expires,
                                         loaded.access):
        if b"merge" not in words and any(key in db.data for key in data):  # (NOFLUSH only)
            return ErrorReply("ERR Error trying to load the RDB dump")
        for key, value in data.items():
            db.set(key, value)
            if key in expires:
                db.set_expire(key, expires[key])
            if key in access:  # an idle time the file recorded (LRU policies)
                db.access[key] = access[key]
    log.warning("DB reloaded by DEBUG RELOAD")
    return OK


def _loadaof(client, args):
    client.server.aof.reload()
    return OK


def _set_skip_checksum_validation(client, args):
    rdb_load.skip_checksum_validation = _atoi(args["flag"]) != 0
    return OK


PACKED_THRESHOLD_ERROR = "ERR argument must be a memory value bigger than 1 and smaller than 4gb"


def _quicklist_packed_threshold(client, args):
    size = memory_to_int(args["size"].decode("latin-1"))
    if size is None or size > (1 << 32) - (1 << 20):  # not even slightly below 4GB
        raise CommandError(PACKED_THRESHOLD_ERROR)
    rdb.packed_threshold = size or rdb.DEFAULT_PACKED_THRESHOLD
    return OK


def _config_rewrite_force_all(client, args):
    try:
        rewrite_config(client.server.config, force_all=True)
    except OSError as error:
        raise CommandError(f"ERR CONFIG-REWRITE-FORCE-ALL failed: {error.strerror}") from None
    return OK


# --- restarting and crashing --------------------------------------------------------------

RESTART_FAILED = "ERR failed to restart the server. Check server logs."


def _restart(client, args):
    """Stop as SHUTDOWN does, saving as it would, and execute the server again."""
    server = client.server
    if not _can_execute(server):
        return ErrorReply(RESTART_FAILED)
    if server.config.config_file:
        try:
            rewrite_config(server.config, force_all=False)
        except OSError as error:
            log.warning(f"Can't restart: configuration rewrite process failed: {error.strerror}")
            return ErrorReply(RESTART_FAILED)
    if not server.prepare_shutdown():
        log.warning("Can't restart: error preparing for shutdown")
        return ErrorReply(RESTART_FAILED)
    server.finish_shutdown()
    _execute_again(args.get("milliseconds", 0))


def _crash_and_recover(client, args):
    """Execute the server again at once, without saving anything."""
    if not _can_execute(client.server):
        return ErrorReply(RESTART_FAILED)
    _execute_again(args.get("milliseconds", 0))


def _can_execute(server) -> bool:
    if os.access(sys.executable, os.X_OK):
        return True
    log.warning(f"Can't restart: this process has no permissions to execute {sys.executable}")
    return False


def _execute_again(delay_ms: int) -> NoReturn:
    """As Redis's restartServer: close every descriptor but the standard three, wait, and
    execute the same command line in this process. `python -m reference` finds its package
    again through PYTHONPATH: the working directory is `dir` now."""
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))
    if delay_ms > 0:
        time.sleep(delay_ms / 1000)
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(reference.__file__)))
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if package_root not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, *paths]))
    try:
        os.execv(sys.executable, sys.orig_argv)
    finally:
        os._exit(1)  # nothing else can be done if the execution failed


# The allocation DEBUG OOM asks for: half the address space, which no allocator grants.
OOM_REQUEST = (1 << 63) - 1


def _segfault(client, args):
    crash.bug_report_and_die(client.server, signal_number=signal.SIGSEGV, client=client)


def _assert(client, args):
    crash.bug_report_and_die(client.server, signal_number=signal.SIGABRT, client=client,
                             assertion="1 == 2")


def _panic(client, args):
    crash.bug_report_and_die(client.server, signal_number=signal.SIGABRT, client=client,
                             panic=f"DEBUG PANIC called at Unix time {int(time.time())}")


def _oom(client, args):
    server = client.server
    log.warning(f"Out Of Memory allocating {OOM_REQUEST} bytes!")
    crash.bug_report_and_die(server, signal_number=signal.SIGABRT, client=client,
                             panic=f"Redis aborting for OUT OF MEMORY. Allocating {OOM_REQUEST} bytes!")


# --- data ---------------------------------------------------------------------------------

def _populate(client, args):
    """`<prefix>:<n>` = `value:<n>` (cut or padded with zeros to `size`), unless the key exists;
    no change is counted and nothing is propagated, as in Redis."""
    count = _positive_long(args["count"])
    size = _positive_long(args["size"]) if "size" in args else 0
    prefix = args.get("prefix", b"key").split(b"\0", 1)[0]  # a C string
    db = client.db
    for n in range(count):
        key = b"%b:%d" % (prefix, n)
        key = key[:127]  # Redis formats the name into 128 bytes, its NUL included
        if db.get(key) is not None:
            continue
        value = b"value:%d" % n
        if size:
            value = value[:size].ljust(size, b"\0")
        db.set(key, value, changes=0)
    return OK


def _digest(client, args):
    return Status(dataset_digest(client.server.keyspace).hex())


def _digest_value(client, args):
    return [Status(value_digest(client.db, key).hex()) for key in args.get("key", [])]


_LEAKED: list[bytes] = []  # what DEBUG LEAK leaked: referenced for good, never freed


def _leak(client, args):
    _LEAKED.append(bytes(args["string"]))
    return OK


# --- values in memory ---------------------------------------------------------------------

NO_SUCH_KEY = "ERR no such key"
LRU_CLOCK_MAX = (1 << 24) - 1
FILL_LIMITS = (-5, (1 << 15) - 1)  # list-max-listpack-size as quicklistSetFill bounds it


def _stored(client, key: bytes):
    """The value at key as Redis's dictFind finds it: even past its time, not an access."""
    value = client.db.data.get(key)
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    return value


def _looked_up(client, key: bytes):
    """The value at key as OBJECT ENCODING looks it up."""
    value = lookup_notouch(client.db, key)
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    return value


def _encoding(client, value) -> str:
    return VALUE_TYPES[type(value)].encoding(value, client.server.config)


def _list_fill(config) -> int:
    low, high = FILL_LIMITS
    return max(low, min(high, config["list-max-listpack-size"]))


def _object(client, args):
    key = args["key"]
    value = _stored(client, key)
    config = client.server.config
    db = client.db
    _, serialized = rdb.encode_value(value, bool(config["rdbcompression"]), config["list-max-listpack-size"])
    last_access = db.access.get(key, db.clock.ms)
    if "lfu" in config["maxmemory-policy"]:  # minutes in the upper 16 bits, the counter below
        lru = ((last_access // 60_000) & 0xFFFF) << 8 | rdb.LFU_INIT_VAL
    else:
        lru = (last_access // 1000) & LRU_CLOCK_MAX
    encoding = _encoding(client, value)
    text = (f"Value at:{id(value):#x} refcount:{refcount_of(value, config)} "
            f"encoding:{encoding} serializedlength:{len(serialized)} "
            f"lru:{lru} lru_seconds_idle:{db.idle_ms(key) // 1000}")
    if encoding == "quicklist":
        nodes = rdb.quicklist_nodes(value, config["list-max-listpack-size"])
        text += (f" ql_nodes:{len(nodes)} ql_avg_node:{len(value) / len(nodes):.2f}"
                 f" ql_listpack_max:{_list_fill(config)}"
                 f" ql_compressed:{int(config['list-compress-depth'] != 0)}"
                 f" ql_uncompressed_size:{sum(_node_size(node) for node in nodes)}")
    return Status(text)


def _node_size(node) -> int:
    """A quicklist node's bytes: a plain node's element, or a packed node's listpack."""
    if isinstance(node, bytes):
        return len(node)
    return listpack.HEADER_SIZE + sum(map(len, node)) + 1


def _sdslen(client, args):
    key = args["key"]
    value = _stored(client, key)
    if not isinstance(value, (bytes, bytearray)) or _encoding(client, value) == "int":
        raise CommandError("ERR Not an sds encoded string.")
    # Room beyond the string and its terminator: a bytearray grown in place has some.
    avail = value.__alloc__() - len(value) - 1 if isinstance(value, bytearray) else 0
    return Status(f"key_sds_len:{len(key)}, key_sds_avail:0, key_zmalloc: {sys.getsizeof(key)}, "
                  f"val_sds_len:{len(value)}, val_sds_avail:{max(0, avail)}, "
                  f"val_zmalloc: {sys.getsizeof(value)}")


def _structsize(client, args):
    word = struct.calcsize("P")
    header = sys.getsizeof(b"") - 1  # a bytes object beyond its bytes and terminator
    sizes = [("bits", word * 8), ("robj", 0), ("dictentry", 3 * word)]
    sizes += [(f"sdshdr{bits}", header) for bits in (5, 8, 16, 32, 64)]
    return "".join(f"{name}:{size} " for name, size in sizes).encode()


def _htstats(client, args):
    keyspace = client.server.keyspace
    index = args["dbid"]
    if not 0 <= index < len(keyspace):
        raise CommandError("ERR Out of range database")
    db = keyspace[index]
    return Verbatim("[Dictionary HT]\n" + _table_stats(db.data) + "[Expires HT]\n" + _table_stats(db.expires))


def _htstats_key(client, args):
    value = _looked_up(client, args["key"])
    if _encoding(client, value) not in ("hashtable", "skiplist"):
        raise CommandError("ERR The value stored at the specified key is not represented using an hash table")
    return Verbatim(_table_stats(value))


STATS_CHAIN_LENGTHS = 50  # chain lengths counted one by one; longer ones are not listed


def _table_stats(elements) -> str:
    """Redis's statistics of a hash table, for the table Redis would have for these elements:
    the power of two (at least 4) that inserting them grows it to, each element in the slot
    the reference's hash picks."""
    used = len(elements)
    if not used:
        return "Hash table 0 stats (main hash table):\nNo stats available for empty dictionaries\n"
    size = max(4, 1 << (used - 1).bit_length())
    chains: dict[int, int] = {}
    for element in elements:
        slot = hash(element) & (size - 1)
        chains[slot] = chains.get(slot, 0) + 1
    slots = len(chains)
    lengths = [0] * STATS_CHAIN_LENGTHS
    lengths[0] = size - slots
    for length in chains.values():
        lengths[min(length, STATS_CHAIN_LENGTHS - 1)] += 1
    lines = ["Hash table 0 stats (main hash table):",
             f" table size: {size}",
             f" number of elements: {used}",
             f" different slots: {slots}",
             f" max chain length: {max(chains.values())}",
             f" avg chain length (counted): {used / slots:.2f}",
             f" avg chain length (computed): {used / slots:.2f}",
             " Chain length distribution:"]
    lines += [f"   {length}: {count} ({count / size * 100:.2f}%)"
              for length, count in enumerate(lengths[:-1]) if count]
    return "\n".join(lines) + "\n"


def _listpack(client, args):
    value = _looked_up(client, args["key"])
    if _encoding(client, value) != "listpack":
        raise CommandError("ERR Not a listpack encoded object.")
    _print(_listpack_repr(rdb.value_listpack(value)) + "\n")
    return Status("Listpack structure printed on stdout")


def _quicklist(client, args):
    value = _looked_up(client, args["key"])
    detailed = "detail" in args and _atoi(args["detail"]) != 0
    if _encoding(client, value) != "quicklist":
        raise CommandError("ERR Not a quicklist encoded object.")
    config = client.server.config
    nodes = rdb.quicklist_nodes(value, config["list-max-listpack-size"])
    out = [f"{{count : {len(value)}}}", f"{{len : {len(nodes)}}}", f"{{fill : {_list_fill(config)}}}",
           f"{{compress : {config['list-compress-depth']}}}", "{bookmark_count : 0}"]
    for number, node in enumerate(nodes):
        plain = isinstance(node, bytes)
        out.append(f"{{quicklist node({number})")
        out.append(f"{{container : {'PLAIN' if plain else 'PACKED'}, encoding: RAW, size: {_node_size(node)}, "
                   f"count: {1 if plain else len(node)}, recompress: 0, attempted_compress: 0}}")
        if detailed:
            if plain:
                out.append(f"{{ entry : {_c_text(node)} }}")
            else:
                out.append("{ listpack:")
                out.append(_listpack_repr(listpack.from_entries(node)))
                out.append("}")
            out.append("}")
    _print("\n".join(out) + "\n")
    return Status("Quicklist structure printed on stdout")


def _print(text: str) -> None:
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.buffer.flush()


def _c_text(data: bytes) -> str:
    """Bytes as printf's %s writes them: up to a NUL."""
    return data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _listpack_repr(blob: bytes) -> str:
    """A listpack as Redis's lpRepr prints it; the addresses are those of the reference's
    bytes."""
    items = listpack.decode(blob)
    out = [f"{{total bytes {len(blob)}}} {{num entries {len(items)}}}"]
    offset = listpack.HEADER_SIZE
    for index, item in enumerate(items):
        entry = listpack.entry(item)
        back_len = next(k for k in range(1, 6) if _backlen_size(len(entry) - k) == k)
        header = 2 if entry[0] & 0xF0 == 0xE0 else 5 if entry[0] == 0xF0 else 1
        text = item[:40] + (b"..." if len(item) > 40 else b"")
        out += ["{", f"\taddr: 0x{id(blob) + offset:08x},", f"\tindex: {index:2d},", f"\toffset: {offset:1d},",
                f"\thdr+entrylen+backlen: {len(entry):2d},", f"\thdrlen: {header:3d},",
                f"\tbacklen: {back_len:2d},", f"\tpayload: {len(entry) - back_len - header:1d}",
                "\tbytes: " + "".join(f"{byte:02x}|" for byte in entry),
                "\t[str]" + text.decode("utf-8", "surrogateescape"), "}"]
        offset += len(entry)
    out.append("{end}")
    return "\n".join(out) + "\n"


def _backlen_size(size: int) -> int:
    """The bytes of a listpack entry's backlen for an entry of `size` bytes."""
    return 1 if size <= 127 else 2 if size < 16383 else 3 if size < 2097151 else 4 if size < 268435455 else 5


# --- replication, cluster and clients -----------------------------------------------------

def _change_repl_id(client, args):
    server = client.server
    log.warning("Changing replication IDs after receiving DEBUG change-repl-id")
    server.replication.replid = os.urandom(20).hex()
    server.replication.clear_replication_id2()
    return OK


def _replicate(client, args):
    return OK  # sent to every replica: there are none


def _drop_cluster_packet_filter(client, args):
    return OK  # (the packet type was read as an integer) there is no cluster bus to filter


def _clusterlink(client, args):
    if client.argv[2].lower() != b"kill":
        raise _unknown_subcommand(client)
    if not client.server.config["cluster-enabled"]:
        raise CommandError("ERR Debug option only available for cluster mode enabled setup!")
    raise CommandError(f"ERR Unknown node {args['node-id'].decode('utf-8', 'replace')}")


BUCKET_MIN_LOG, BUCKET_MAX_LOG = 15, 33  # client memory buckets: up to 32KB ... 4GB and more


def _client_eviction(client, args):
    server = client.server
    if server.config["maxmemory-clients"] == 0:
        raise CommandError("ERR maxmemory-clients is disabled.")
    buckets = [[0, 0] for _ in range(BUCKET_MIN_LOG, BUCKET_MAX_LOG + 1)]
    for other in server.clients.values():
        if other.kind not in ("master", "replica"):  # normal and pub/sub connections may be evicted
            memory = memory_of(other)
            bucket = buckets[min(max(memory.bit_length(), BUCKET_MIN_LOG), BUCKET_MAX_LOG) - BUCKET_MIN_LOG]
            bucket[0] += memory
            bucket[1] += 1
    lines = []
    for number, (memory, clients) in enumerate(buckets):
        low = 0 if number == 0 else 1 << (number - 1 + BUCKET_MIN_LOG)
        if number == len(buckets) - 1:
            span = f"bucket {low:10d}+            : "
        else:
            span = f"bucket {low:10d} - {(1 << (number + BUCKET_MIN_LOG)) - 1:10d}: "
        lines.append(f"{span}tot-mem: {memory:10d}, clients: {clients}\n")
    return Verbatim("".join(lines))


def _replybuffer(client, args):
    settings = client.server.reply_buffers
    setting, value = args["setting"].lower(), args["value"]
    if setting == b"peak-reset-time":
        if value.lower() == b"never":
            settings.peak_reset_ms = -1
        elif value.lower() == b"reset":
            settings.peak_reset_ms = reply_buffers.DEFAULT_PEAK_RESET_MS
        else:
            settings.peak_reset_ms = parse_int(value)
    elif setting == b"resizing":
        settings.resizing = _atoi(value) != 0
    else:
        raise _unknown_subcommand(client)
    return OK


# --- the rest -----------------------------------------------------------------------------

def _log(client, args):
    log.warning(f"DEBUG LOG: {args['message'].decode('utf-8', 'replace')}")
    return OK


def _error(client, args):
    # The reply is the message itself, without an ERR prefix. Redis writes it as raw
    # protocol, so it is no error reply to its statistics (errorstats, failed_calls): a
    # frame of its own here, which the server does not count.
    return Frames([ErrorReply(args["message"].decode("utf-8", "surrogateescape"))])


# DEBUG PROTOCOL's sample replies; bignum and attrib have no reply value type, so their
# RESP3 frames are written as bytes.
_BIGNUM = b"1234567999999999999999999999999999999"
_AFTER_ATTRIBUTE = b"Some real reply following the attribute"
_PROTOCOL_SAMPLES = {
    "string": lambda: b"Hello World",
    "integer": lambda: 12345,
    "double": lambda: 3.141,
    "null": lambda: None,
    "array": lambda: [0, 1, 2],
    "set": lambda: RespSet([0, 1, 2]),
    "map": lambda: {0: False, 1: True, 2: False},
    "verbatim": lambda: Verbatim("This is a verbatim\nstring"),
    "true": lambda: True,
    "false": lambda: False,
}
PROTOCOL_TYPES = "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"


def _protocol(client, args):
    name = args["type"].decode("latin-1").lower()
    if name in _PROTOCOL_SAMPLES:
        return _PROTOCOL_SAMPLES[name]()
    if name == "bignum":
        if client.protocol == 2:
            return _BIGNUM
        client.reply_bytes(b"(%s\r\n" % _BIGNUM)
        return NO_REPLY
    if name == "attrib":
        if client.protocol == 3:
            client.reply_bytes(b"|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n")
        return _AFTER_ATTRIBUTE
    if name == "push":
        if client.protocol == 2:
            return ErrorReply("ERR RESP2 is not supported by this command")
        client.reply(Push([b"server-cpu-usage", 42]))
        return b"Some real reply following the push reply"
    return ErrorReply(f"ERR Wrong protocol type name. Please use one of the following: {PROTOCOL_TYPES}")


STRINGMATCH_CASES = 100_000  # Redis runs ten million: its matcher is C


def _stringmatch_test(client, args):
    """Random patterns and strings of up to 31 bytes of 0..127 through the glob matcher, to
    see it survive them; the number of matches goes to standard output."""
    draw = random.Random()
    matches = 0
    for _ in range(STRINGMATCH_CASES):
        string = bytes(draw.randrange(128) for _ in range(draw.randrange(32)))
        pattern = bytes(draw.randrange(128) for _ in range(draw.randrange(32)))
        matches += glob_match(pattern, string)
    _print(f"{matches}\n")
    return Status("Apparently Redis did not crash: test passed")


def _set_disable_deny_scripts(client, args):
    return OK  # lets scripts run commands they may not: there are no scripts


def _other(client, args):
    raise _unknown_subcommand(client)


SUBCOMMANDS = {
    "help": _help, "aof-flush-sleep": _aof_flush_sleep, "assert": _assert,
    "change-repl-id": _change_repl_id, "config-rewrite-force-all": _config_rewrite_force_all,
    "crash-and-recover": _crash_and_recover, "digest": _digest, "digest-value": _digest_value,
    "error": _error, "leak": _leak, "log": _log, "htstats": _htstats, "htstats-key": _htstats_key,
    "loadaof": _loadaof, "replicate": _replicate, "object": _object,
    "drop-cluster-packet-filter": _drop_cluster_packet_filter, "oom": _oom, "panic": _panic,
    "populate": _populate, "protocol": _protocol, "reload": _reload, "restart": _restart,
    "sdslen": _sdslen, "segfault": _segfault, "set-active-expire": _set_active_expire,
    "quicklist-packed-threshold": _quicklist_packed_threshold,
    "set-skip-checksum-validation": _set_skip_checksum_validation, "sleep": _sleep,
    "stringmatch-test": _stringmatch_test, "structsize": _structsize, "listpack": _listpack,
    "quicklist": _quicklist, "client-eviction": _client_eviction, "pause-cron": _pause_cron,
    "replybuffer": _replybuffer, "clusterlink": _clusterlink,
    "set-disable-deny-scripts": _set_disable_deny_scripts, "other": _other,
}


@handler("debug")
def debug(client, args):
    return SUBCOMMANDS[args["subcommand"]](client, args)
