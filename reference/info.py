"""The text of INFO: sections of `name:value` lines, as Redis 7.0 lays them out.

Layout (Redis's genRedisInfoString): each section starts with a `# Title` line; lines end with
CRLF; one empty line separates two sections; sections always come in the order of `SECTIONS`
whatever order they were asked in. Asking only for unknown sections gives an empty string.

Which sections: no argument or "default" means `DEFAULT_SECTIONS`; "all" means every section;
"everything" means every section plus what modules add (we have no modules, so it is "all").
Names are matched case-insensitively; "modules" is an alias of the default "module_list".

Values mean what Redis means (spec/server.md lists every field): counters the server keeps are
reported, things it does not have (replicas, Lua, an allocator of its own, client tracking,
eviction) are reported as absent (0, idle, "ok"), the way a Redis that never used them reports
them. Memory figures come from the operating system, as a Python process cannot count its own
allocations the way zmalloc does.
"""
from __future__ import annotations

import os
import platform
import resource
import struct
import sys
import time

REDIS_VERSION = "7.0.15"

# Section name -> (title, function(server) -> list of lines), in output order.
SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
            "module_list", "commandstats", "errorstats", "latencystats", "cluster", "keyspace")
DEFAULT_SECTIONS = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
                    "module_list", "errorstats", "cluster", "keyspace")
TITLES = {"module_list": "Modules", "commandstats": "Commandstats", "errorstats": "Errorstats",
          "latencystats": "Latencystats", "cpu": "CPU"}

# Identity of this process: a server is one process, so these are per process, as in Redis
# (run_id is new at every start).
RUN_ID = os.urandom(20).hex()


def wanted_sections(args: list[bytes]) -> set[str]:
    """The section names INFO's arguments select (lowercase), "default"/"all" expanded."""
    if not args:
        return set(DEFAULT_SECTIONS)
    wanted: set[str] = set()
    for arg in args:
        name = arg.decode("latin-1").lower()
        if name == "default":
            wanted.update(DEFAULT_SECTIONS)
        elif name in ("all", "everything"):
            wanted.update(SECTIONS)
        elif name == "modules":
            wanted.add("module_list")
        else:
            wanted.add(name)
    return wanted


def info_text(server, args: list[bytes]) -> str:
    wanted = wanted_sections(args)
    blocks = []
    for name in SECTIONS:
        if name in wanted:
            title = TITLES.get(name, name.capitalize())
            lines = [f"# {title}", *_GENERATORS[name](server)]
            blocks.append("".join(line + "\r\n" for line in lines))
    return "\r\n".join(blocks)


# --- formatting helpers ------------------------------------------------------------------

def bytes_to_human(n: int) -> str:
    """Redis's bytesToHuman: 1023B, 1.00K, 2.50M ... with two decimals above a KiB."""
    if n < 1024:
        return f"{n}B"
    for power, suffix in enumerate("KMGTP", start=1):
        if n < 1024 ** (power + 1):
            return f"{n / 1024 ** power:.2f}{suffix}"
    return f"{n}B"


def _fields(pairs) -> list[str]:
    return [f"{name}:{value}" for name, value in pairs]


def _stat(server, name: str) -> int:
    # Counters the server keeps in server.stats; those it does not keep are 0.
    return server.stats.get(name, 0)


# --- the sections ------------------------------------------------------------------------

def _gcc_version() -> str:
    # The compiler that built this interpreter, the closest thing to the server's compiler.
    words = platform.python_compiler().split()
    if len(words) >= 2 and words[0] == "GCC" and words[1].count(".") == 2:
        return words[1]
    return "0.0.0"


def _multiplexing_api(server) -> str:
    kind = type(server.selector).__name__.replace("Selector", "").lower()
    return kind or "select"


def server_section(server) -> list[str]:
    now = time.time()
    uptime = int(now - server.start_time)
    uname = os.uname()
    config = server.config
    return _fields([
        ("redis_version", REDIS_VERSION),
        ("redis_git_sha1", "00000000"),
        ("redis_git_dirty", 0),
        ("redis_build_id", "0"),
        ("redis_mode", "cluster" if config["cluster-enabled"] else "standalone"),
        ("os", f"{uname.sysname} {uname.release} {uname.machine}"),
        ("arch_bits", struct.calcsize("P") * 8),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", _multiplexing_api(server)),
        ("atomicvar_api", "none"),   # one thread: nothing is shared
        ("gcc_version", _gcc_version()),
        ("process_id", os.getpid()),
        ("process_supervised", "no"),
        ("run_id", RUN_ID),
        ("tcp_port", config["port"] or config["tls-port"]),  # as Redis: the TLS port without a TCP one
        ("server_time_usec", int(now * 1_000_000)),
        ("uptime_in_seconds", uptime),
        ("uptime_in_days", uptime // 86400),
        ("hz", config["hz"]),
        ("configured_hz", config["hz"]),
        ("lru_clock", int(now) & ((1 << 24) - 1)),
        ("executable", sys.executable),
        ("config_file", config.config_file or ""),
        ("io_threads_active", 0),
    ] + ([("shutdown_in_milliseconds", left)] if (left := server.shutdown_in_ms()) is not None else []))


class ClientBufferPeaks:
    """The largest query buffer and reply buffer (bytes waiting) any client had in each of the
    last 8 seconds, sampled by the cron as Redis's clientsCronTrackExpansiveClients does; INFO
    shows the largest of the 8 (client_recent_max_input_buffer, ..._output_buffer)."""
    SLOTS = 8

    def __init__(self):
        self.input = [0] * self.SLOTS
        self.output = [0] * self.SLOTS

    def sample(self, clients, now: float | None = None) -> None:
        slot = int(time.time() if now is None else now) % self.SLOTS
        following = (slot + 1) % self.SLOTS
        self.input[following] = self.output[following] = 0  # forget what is 8 seconds old
        for client in clients:
            waiting_in = client.parser.pending()
            if waiting_in > self.input[slot]:
                self.input[slot] = waiting_in
            if client.out:
                waiting_out = sum(map(len, client.out))
                if waiting_out > self.output[slot]:
                    self.output[slot] = waiting_out

    def recent(self) -> tuple[int, int]:
        return max(self.input), max(self.output)


def clients_section(server) -> list[str]:
    # A replica's link is not a client here (Redis lists it under replication); the link to
    # our master is.
    normal = sum(1 for client in server.clients.values() if client.kind != "replica")
    recent_in, recent_out = server.buffer_peaks.recent()
    return _fields([
        ("connected_clients", normal),
        ("cluster_connections", 0),
        ("maxclients", server.config["maxclients"]),
        ("client_recent_max_input_buffer", recent_in),
        ("client_recent_max_output_buffer", recent_out),
        ("blocked_clients", len(server.blocked.waiting) + len(server.postponed) + len(server.released)),
        ("tracking_clients", 0),  # no CLIENT TRACKING
        ("clients_in_timeout_table", server.blocked.with_deadline()),
    ])


def resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _system_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 0


def memory_section(server) -> list[str]:
    used = resident_bytes()
    peak = max(used, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    system = _system_memory()
    maxmemory = server.config["maxmemory"]
    return _fields([
        ("used_memory", used),
        ("used_memory_human", bytes_to_human(used)),
        ("used_memory_rss", used),
        ("used_memory_rss_human", bytes_to_human(used)),
        ("used_memory_peak", peak),
        ("used_memory_peak_human", bytes_to_human(peak)),
        ("used_memory_peak_perc", f"{used * 100 / peak:.2f}%"),
        ("used_memory_overhead", 0),
        ("used_memory_startup", 0),
        ("used_memory_dataset", used),
        ("used_memory_dataset_perc", "100.00%"),
        ("allocator_allocated", used),
        ("allocator_active", used),
        ("allocator_resident", used),
        ("total_system_memory", system),
        ("total_system_memory_human", bytes_to_human(system)),
        ("used_memory_lua", 0),
        ("used_memory_vm_eval", 0),
        ("used_memory_lua_human", "0B"),
        ("used_memory_scripts_eval", 0),
        ("number_of_cached_scripts", 0),
        ("number_of_functions", 0),
        ("number_of_libraries", 0),
        ("used_memory_vm_functions", 0),
        ("used_memory_vm_total", 0),
        ("used_memory_vm_total_human", "0B"),
        ("used_memory_functions", 0),
        ("used_memory_scripts", 0),
        ("used_memory_scripts_human", "0B"),
        ("maxmemory", maxmemory),
        ("maxmemory_human", bytes_to_human(maxmemory)),
        ("maxmemory_policy", server.config["maxmemory-policy"]),
        ("allocator_frag_ratio", "1.00"),
        ("allocator_frag_bytes", 0),
        ("allocator_rss_ratio", "1.00"),
        ("allocator_rss_bytes", 0),
        ("rss_overhead_ratio", "1.00"),
        ("rss_overhead_bytes", 0),
        ("mem_fragmentation_ratio", "1.00"),
        ("mem_fragmentation_bytes", 0),
        ("mem_not_counted_for_evict", 0),
        ("mem_replication_backlog", 0),
        ("mem_total_replication_buffers", 0),
        ("mem_clients_slaves", 0),
        ("mem_clients_normal", 0),
        ("mem_cluster_links", 0),
        ("mem_aof_buffer", 0),
        ("mem_allocator", "libc"),
        ("active_defrag_running", 0),
        ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ])


def _snapshots(server):
    # A server that never saved (a stand-in server without the saving machinery reports so).
    snapshots = getattr(server, "snapshots", None)
    if snapshots is None:
        from reference.persistence.snapshots import Snapshots
        snapshots = Snapshots(server)
        snapshots.lastsave = int(server.start_time)
    return snapshots


def persistence_section(server) -> list[str]:
    # RDB from the server's snapshots state (reference/persistence/snapshots.py); no AOF yet.
    # rdb_last_save_time starts as the start time, as Redis sets it when it loads nothing.
    snapshots = _snapshots(server)
    return _fields([
        *server.replication.loading_fields(),  # loading, async_loading (and a copy's progress)
        ("current_cow_peak", 0),
        ("current_cow_size", 0),
        ("current_cow_size_age", 0),
        ("current_fork_perc", "0.00"),
        ("current_save_keys_processed", 0),
        ("current_save_keys_total", 0),
        ("rdb_changes_since_last_save", snapshots.dirty),
        ("rdb_bgsave_in_progress", int(snapshots.in_progress)),
        ("rdb_last_save_time", snapshots.lastsave),
        ("rdb_last_bgsave_status", "ok" if snapshots.last_bgsave_ok else "err"),
        ("rdb_last_bgsave_time_sec", snapshots.last_bgsave_seconds),
        ("rdb_current_bgsave_time_sec", snapshots.current_bgsave_seconds()),
        ("rdb_saves", snapshots.saves),
        ("rdb_last_cow_size", 0),
        ("rdb_last_load_keys_expired", server.keyspace.last_load[1]),
        ("rdb_last_load_keys_loaded", server.keyspace.last_load[0]),
        *_aof_fields(server),
        ("module_fork_in_progress", 0),
        ("module_fork_last_cow_size", 0),
    ]) + _fields(_aof_sizes(server)) + _fields(server.replication.loading_progress())


def _aof_fields(server) -> list:
    aof = getattr(server, "aof", None)  # reference/persistence/aof.py
    if aof is None:
        return [("aof_enabled", 0), ("aof_rewrite_in_progress", 0), ("aof_rewrite_scheduled", 0),
                ("aof_last_rewrite_time_sec", -1), ("aof_current_rewrite_time_sec", -1),
                ("aof_last_bgrewrite_status", "ok"), ("aof_rewrites", 0),
                ("aof_rewrites_consecutive_failures", 0), ("aof_last_write_status", "ok"),
                ("aof_last_cow_size", 0)]
    return [
        ("aof_enabled", int(aof.state != "off")),
        ("aof_rewrite_in_progress", int(aof.in_progress)),
        ("aof_rewrite_scheduled", int(aof.scheduled)),
        ("aof_last_rewrite_time_sec", aof.last_rewrite_seconds),
        ("aof_current_rewrite_time_sec", aof.current_rewrite_seconds()),
        ("aof_last_bgrewrite_status", "ok" if aof.last_rewrite_ok else "err"),
        ("aof_rewrites", aof.rewrites),
        ("aof_rewrites_consecutive_failures", aof.consecutive_failures),
        ("aof_last_write_status", "ok" if aof.last_write_ok else "err"),
        ("aof_last_cow_size", 0),
    ]


def _aof_sizes(server) -> list:
    """Shown while appendonly is yes (the setting, as Redis's aof_enabled)."""
    aof = getattr(server, "aof", None)
    if aof is None or not server.config["appendonly"]:
        return []
    return [("aof_current_size", aof.current_size), ("aof_base_size", aof.base_size),
            ("aof_pending_rewrite", int(aof.scheduled)), ("aof_buffer_length", 0),
            ("aof_pending_bio_fsync", 0), ("aof_delayed_fsync", 0)]


def _pubsub_counts(server) -> tuple[int, int, int]:
    registry = getattr(server, "pubsub", None)  # reference/commands/pubsub.py, made on first use
    if registry is None:
        return 0, 0, 0
    return len(registry.channels), len(registry.patterns), len(registry.shard_channels)


def _sanitizations() -> int:
    """The deep checks sanitize-dump-payload made (reference/persistence/sanitize.py)."""
    from reference.persistence import sanitize
    return sanitize.sanitizations


def stats_section(server) -> list[str]:
    keyspace_stats = server.keyspace.stats
    counter = lambda name: _stat(server, name)  # noqa: E731
    channels, patterns, shard_channels = _pubsub_counts(server)
    return _fields([
        ("total_connections_received", counter("total_connections_received")),
        ("total_commands_processed", counter("total_commands_processed")),
        ("instantaneous_ops_per_sec", counter("instantaneous_ops_per_sec")),
        ("total_net_input_bytes", counter("total_net_input_bytes")),
        ("total_net_output_bytes", counter("total_net_output_bytes")),
        ("total_net_repl_input_bytes", 0),
        ("total_net_repl_output_bytes", 0),
        ("instantaneous_input_kbps", f"{counter('instantaneous_input_kbps'):.2f}"),
        ("instantaneous_output_kbps", f"{counter('instantaneous_output_kbps'):.2f}"),
        ("instantaneous_input_repl_kbps", "0.00"),
        ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", counter("rejected_connections")),
        ("sync_full", server.replication.stats["sync_full"]),
        ("sync_partial_ok", server.replication.stats["sync_partial_ok"]),
        ("sync_partial_err", server.replication.stats["sync_partial_err"]),
        ("expired_keys", keyspace_stats["expired_keys"]),
        ("expired_stale_perc", f"{keyspace_stats['expired_stale_perc'] * 100:.2f}"),
        ("expired_time_cap_reached_count", keyspace_stats["expired_time_cap_reached_count"]),
        ("expire_cycle_cpu_milliseconds", keyspace_stats["expire_cycle_usec"] // 1000),
        ("evicted_keys", keyspace_stats["evicted_keys"]),
        ("evicted_clients", 0),
        ("total_eviction_exceeded_time", 0),
        ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", keyspace_stats["keyspace_hits"]),
        ("keyspace_misses", keyspace_stats["keyspace_misses"]),
        ("pubsub_channels", channels),
        ("pubsub_patterns", patterns),
        ("pubsubshard_channels", shard_channels),
        ("latest_fork_usec", _snapshots(server).last_fork_usec),
        ("total_forks", _snapshots(server).forks),
        ("migrate_cached_sockets", 0),
        ("slave_expires_tracked_keys", 0),
        ("active_defrag_hits", 0),
        ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0),
        ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0),
        ("current_active_defrag_time", 0),
        ("tracking_total_keys", 0),
        ("tracking_total_items", 0),
        ("tracking_total_prefixes", 0),
        ("unexpected_error_replies", counter("unexpected_error_replies")),
        ("total_error_replies", counter("total_error_replies")),
        ("dump_payload_sanitizations", _sanitizations()),
        ("total_reads_processed", counter("total_reads_processed")),
        ("total_writes_processed", counter("total_writes_processed")),
        ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0),
        ("reply_buffer_shrinks", counter("reply_buffer_shrinks")),
        ("reply_buffer_expands", counter("reply_buffer_expands")),
    ])


def replication_section(server) -> list[str]:
    # reference/replication/ knows the role, the replicas, the ids, offsets and backlog.
    return _fields(server.replication.info_fields())


def _seconds(value: float) -> str:
    # Redis prints a struct timeval as %ld.%06ld
    return f"{value:.6f}"


def cpu_section(server) -> list[str]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    lines = [
        ("used_cpu_sys", _seconds(own.ru_stime)),
        ("used_cpu_user", _seconds(own.ru_utime)),
        ("used_cpu_sys_children", _seconds(children.ru_stime)),
        ("used_cpu_user_children", _seconds(children.ru_utime)),
    ]
    if hasattr(resource, "RUSAGE_THREAD"):
        thread = resource.getrusage(resource.RUSAGE_THREAD)
        lines += [("used_cpu_sys_main_thread", _seconds(thread.ru_stime)),
                  ("used_cpu_user_main_thread", _seconds(thread.ru_utime))]
    return _fields(lines)


def modules_section(server) -> list[str]:
    return []   # no modules can be loaded


def _walk_commands(table):
    for command in table.values():
        yield command
        yield from _walk_commands(command.subcommands)


def commandstats_section(server) -> list[str]:
    # Only commands that were called, failed or rejected; a subcommand under its full name.
    lines = []
    for command in _walk_commands(server.commands):
        if command.calls or command.failed_calls or command.rejected_calls:
            per_call = command.usec / command.calls if command.calls else 0
            lines.append(f"cmdstat_{command.name}:calls={command.calls},usec={command.usec},"
                         f"usec_per_call={per_call:.2f},rejected_calls={command.rejected_calls},"
                         f"failed_calls={command.failed_calls}")
    return lines


def error_code(message: str) -> str:
    """The code an error reply is counted under: its first word ("ERR", "WRONGTYPE"), looked
    for in the first 32 characters; ERR when there is none."""
    space = message.find(" ", 0, 31)
    return message[:space] if space > 0 else "ERR"


def errorstats_section(server) -> list[str]:
    # server.error_stats: {code: count}, kept by the server for every error reply it sends.
    counts = server.error_stats
    return [f"errorstat_{code}:count={counts[code]}" for code in sorted(counts)]


def hdr_bucket(value: int) -> tuple[int, int]:
    """The smallest and largest value of the bucket holding `value` in Redis's latency
    histograms (hdr_histogram from 1 ns to 1 s, 2 significant digits: 256 sub-buckets in the
    first power of two, then 128 per power of two). Percentiles report the largest (the
    smallest for the 0th)."""
    shift = (value | 255).bit_length() - 8
    bottom = (value >> shift) << shift
    return bottom, bottom + (1 << shift) - 1


def percentile_label(percentile: float) -> str:
    """50.0 -> "50", 99.9 -> "99.9" (printf %f, trailing zeros dropped)."""
    text = f"{percentile:f}"
    return text.rstrip("0").rstrip(".")


def latency_percentiles(latency: dict[int, int], percentiles: list[float]) -> list[tuple[str, str]]:
    """(label, µs as "%.3f") for each percentile of calls that took `latency` {µs: calls},
    as Redis's hdr_value_at_percentile reads its histogram (durations are recorded in ns,
    at least 1 ns and at most 1 s)."""
    ns_counts = sorted((min(max(usec * 1000, 1), 1_000_000_000), calls)
                       for usec, calls in latency.items())
    total = sum(calls for _, calls in ns_counts)
    values = []
    for percentile in percentiles:
        wanted = max(1, int(min(percentile, 100.0) / 100 * total + 0.5))
        seen = 0
        for ns, calls in ns_counts:
            seen += calls
            if seen >= wanted:
                break
        bottom, top = hdr_bucket(ns)
        reported = bottom if percentile == 0.0 else top
        values.append((percentile_label(percentile), f"{reported / 1000:.3f}"))
    return values


def latencystats_section(server) -> list[str]:
    # Per command with a histogram, while latency-tracking is on: the configured percentiles.
    if not server.config["latency-tracking"]:
        return []
    percentiles = server.config["latency-tracking-info-percentiles"]
    lines = []
    for command in _walk_commands(server.commands):
        if command.latency:
            values = latency_percentiles(command.latency, percentiles)
            lines.append(f"latency_percentiles_usec_{command.name}:"
                         + ",".join(f"p{label}={value}" for label, value in values))
    return lines


def cluster_section(server) -> list[str]:
    return [f"cluster_enabled:{int(bool(server.config['cluster-enabled']))}"]


def keyspace_section(server) -> list[str]:
    # avg_ttl: active expiry's running estimate (reference/keyspace.py, Database.avg_ttl)
    lines = []
    for db in server.keyspace.dbs:
        if db.data or db.expires:
            lines.append(f"db{db.id}:keys={len(db.data)},expires={len(db.expires)},"
                         f"avg_ttl={db.avg_ttl}")
    return lines


def reset_statistics(server) -> None:
    """CONFIG RESETSTAT: zero what Redis's resetServerStats, resetCommandTableStats and
    resetErrorTableStats zero. Data, clients, uptime, the last save and load are not
    statistics."""
    for stats in (server.stats, server.keyspace.stats):
        for name in stats:
            stats[name] = 0
    for command in _walk_commands(server.commands):
        command.calls = command.usec = command.rejected_calls = command.failed_calls = 0
        command.latency = {}
    server.error_stats.clear()
    from reference.persistence import sanitize
    sanitize.sanitizations = 0
    snapshots = getattr(server, "snapshots", None)
    if snapshots is not None:
        snapshots.saves = snapshots.forks = snapshots.last_fork_usec = 0
    aof = getattr(server, "aof", None)
    if aof is not None and hasattr(aof, "rewrites"):
        aof.rewrites = aof.consecutive_failures = 0


_GENERATORS = {
    "server": server_section, "clients": clients_section, "memory": memory_section,
    "persistence": persistence_section, "stats": stats_section,
    "replication": replication_section, "cpu": cpu_section, "module_list": modules_section,
    "commandstats": commandstats_section, "errorstats": errorstats_section,
    "latencystats": latencystats_section, "cluster": cluster_section,
    "keyspace": keyspace_section,
}
