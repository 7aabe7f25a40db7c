"""Side-by-side benchmark of the reference server against real redis-server.

Starts both servers on free ports, measures memory per key and SAVE/load with the same socket
load for both, then runs redis-benchmark against each in turn. Every row reports what each
server did (requests per second, bytes per key, seconds) and the server's own CPU time per
request, read from /proc around the run, so the client's CPU is never counted.

This is a measuring tool, not a test: it asserts nothing about speed.
Only the Python standard library is used.

    python bench/run.py [--quick] [-n REQUESTS] [--repeat R] [--keys KEYS] [--tests a,b]
                        [--markdown] [--reference-cmd CMD] [--redis-cmd CMD]
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# The tests, in the order they are reported: redis-benchmark -t names (the CSV rows are
# matched by their first word, so "MSET (10 keys)" is found as "mset"), or names of
# CUSTOM_TESTS.
TESTS = ["set", "get", "incr", "mset", "lpush", "lpop", "lrange_100", "sadd", "hset", "zadd",
         "zrange_100"]

# Tests run as a command line of their own: (commands that prepare the data, outside the
# measurement; the command line to benchmark). redis-benchmark's own LRANGE_100 would first
# run -n LPUSHes in the same run, whose CPU time could not be told apart; so LRANGE_100 reads
# 100 elements of 3 bytes (redis-benchmark's default value size) pushed beforehand. ZRANGE_100,
# which redis-benchmark 7.0 lacks, reads 100 members of a sorted set of 100 the same way.
CUSTOM_TESTS = {
    "lrange_100": ([["DEL", "bench:list"], ["RPUSH", "bench:list", *["xxx"] * 100]],
                   ["LRANGE", "bench:list", "0", "99"]),
    "zrange_100": ([["ZADD", "bench:zset", str(i), f"member:{i}"] for i in range(100)],
                   ["ZRANGE", "bench:zset", "0", "99"]),
}

PIPELINES = [1, 16]
CLIENTS = 50
DEFAULT_REQUESTS = 100_000
QUICK_REQUESTS = 2_000
DEFAULT_REPEAT = 3
DEFAULT_MEMORY_KEYS = 1_000_000
QUICK_MEMORY_KEYS = 20_000

# The aims of the reference: reference/redis ratios, and server CPU per request.
MIN_RATIO_BY_PIPELINE = {1: 0.35, 16: 0.10}
MAX_CPU_US = {("set", 16): 12.0, ("get", 16): 12.0}
MAX_MEMORY_RATIO = 3.0
MAX_PERSISTENCE_RATIO = 4.0

LOAD_BATCH = 1_000  # commands per round trip: replies stay far below socket buffers
START_TIMEOUT = 60.0
BENCHMARK_TIMEOUT = 1_800.0
SOCKET_TIMEOUT = 300.0


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the result table."""
    print(message, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------
# Server CPU time


def cpu_seconds(pid: int) -> float:
    """CPU time the process has used so far, all its threads, in seconds.

    Read from /proc/PID/task/*/schedstat, whose first field is the time each thread has run, in
    nanoseconds: the CPU time that utime + stime in /proc/PID/stat count in clock ticks (10 ms,
    too coarse for Redis's 50 ms of a pipelined run). Without schedstat (a kernel built
    without CONFIG_SCHED_INFO), utime + stime it is.
    """
    if os.path.exists(f"/proc/{pid}/schedstat"):
        total = 0
        for task in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                    total += int(f.read().split()[0])
            except (FileNotFoundError, ProcessLookupError):
                continue  # a thread that ended meanwhile
        return total / 1e9
    # The command name, in parentheses, may hold spaces: fields are counted after it.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --------------------------------------------------------------------------
# Servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    directory: Path
    log_path: Path

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server's own process group (it has its own session), then remove its directory."""
        if self.process.poll() is None:
            for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.process.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.process.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        shutil.rmtree(self.directory, ignore_errors=True)


def start_server(name: str, command: str, servers: list[Server], port: int | None = None,
                 directory: Path | None = None) -> Server:
    """Start `command --port N --save ""` in a fresh temp dir (or `directory`, to start again on
    what a stopped server left) and wait until it answers PING.

    The server is appended to `servers` before waiting so the caller cleans it up
    even if it never becomes ready. The process started must be the server itself (CMD must
    exec it, not fork it): its CPU time and memory are read from /proc by its pid.
    """
    port = port or free_port()
    directory = directory or Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
    log_path = directory / "server.log"
    argv = shlex.split(command) + ["--port", str(port), "--save", ""]
    if "/" in argv[0]:  # the server runs in its temp dir, so pin a relative path to ours
        argv[0] = os.path.abspath(argv[0])
    log(f"starting {name}: {shlex.join(argv)}")
    try:
        with open(log_path, "ab") as log_file:
            process = subprocess.Popen(
                argv,
                cwd=directory,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us, and we stop it in order
            )
    except OSError as error:
        shutil.rmtree(directory, ignore_errors=True)
        raise BenchError(f"cannot start {name}: {error}") from error
    server = Server(name, port, process, directory, log_path)
    servers.append(server)

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{name} exited with {process.returncode}:\n{server.log_tail()}")
        try:
            with RespConnection(port, timeout=2.0) as connection:
                if connection.command("PING") == "PONG":
                    return server
        except (OSError, BenchError):
            pass
        time.sleep(0.02)
    raise BenchError(f"{name} did not answer PING within {START_TIMEOUT:.0f}s:\n{server.log_tail()}")


# --------------------------------------------------------------------------
# A minimal RESP2 client, enough for PING, FLUSHALL, DBSIZE, SAVE and pipelined writes


def encode_command(*args: str | bytes) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode() if isinstance(arg, str) else arg
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RespConnection:
    def __init__(self, port: int, timeout: float = SOCKET_TIMEOUT):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.reader = self.sock.makefile("rb")

    def __enter__(self) -> RespConnection:
        return self

    def __exit__(self, *exc) -> None:
        self.reader.close()
        self.sock.close()

    def read_reply(self) -> str | int | None:
        """Read one simple reply: status, error, integer or bulk string (no aggregates needed here)."""
        line = self.reader.readline()
        if not line.endswith(b"\r\n"):
            raise BenchError("connection closed by server")
        kind, body = line[:1], line[1:-2].decode()
        if kind == b"+":
            return body
        if kind == b"-":
            raise BenchError(f"server error: {body}")
        if kind == b":":
            return int(body)
        if kind == b"$":
            length = int(body)
            if length < 0:
                return None
            return self.reader.read(length + 2)[:-2].decode()
        raise BenchError(f"unexpected reply type: {line!r}")

    def command(self, *args: str) -> str | int | None:
        self.sock.sendall(encode_command(*args))
        return self.read_reply()

    def pipeline(self, commands: list[bytes]) -> None:
        """Send encoded commands in one write and read one reply per command."""
        self.sock.sendall(b"".join(commands))
        for _ in commands:
            self.read_reply()

    def load(self, keys: int, command_for) -> None:
        """Send command_for(n) for n < keys, LOAD_BATCH at a time."""
        for start in range(0, keys, LOAD_BATCH):
            stop = min(start + LOAD_BATCH, keys)
            self.pipeline([encode_command(*command_for(n)) for n in range(start, stop)])


# --------------------------------------------------------------------------
# What one row holds: per server, the measured value and the server CPU per unit of work.


@dataclass
class Measured:
    """A server's result for one row: values of several runs (or one), and the server CPU
    seconds per request (or per key) of each run."""
    values: list[float]
    cpu: list[float]

    @property
    def value(self) -> float:
        return statistics.median(self.values)

    @property
    def cpu_us(self) -> float:
        return statistics.median(self.cpu) * 1e6


def spread(samples: list[float]) -> float | None:
    """Half the range of the samples, relative to their median: the ± of a cell; None for one."""
    if len(samples) < 2 or not statistics.median(samples):
        return None
    return (max(samples) - min(samples)) / 2 / statistics.median(samples)


# --------------------------------------------------------------------------
# Memory per key


def rss_bytes(pid: int) -> int:
    """Resident set size from /proc, the same source for both servers (INFO would differ)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            value, unit = line.split()[1:3]
            assert unit == "kB", line
            return int(value) * 1024
    raise BenchError(f"no VmRSS for pid {pid}")


def measure_memory(server: Server, keys: int) -> Measured | None:
    """(RSS after loading `keys` small strings - RSS before) / keys, in bytes, and the server CPU
    per SET of the load; None (reported as n/a) when the server cannot complete the load."""
    log(f"{server.name}: loading {keys} keys for the memory measurement")
    try:
        with RespConnection(server.port) as connection:
            connection.command("FLUSHALL")
            before, cpu_before = rss_bytes(server.process.pid), server.cpu()
            connection.load(keys, lambda n: ["SET", f"key:{n}", f"v{n}"])
            cpu = server.cpu() - cpu_before
            size = connection.command("DBSIZE")
            if size != keys:
                raise BenchError(f"{server.name}: DBSIZE is {size} after loading {keys} keys")
            after = rss_bytes(server.process.pid)
            connection.command("FLUSHALL")  # the throughput runs start from an empty database
        return Measured([(after - before) / keys], [cpu / keys])
    except (BenchError, OSError) as error:
        log(f"{server.name}: memory measurement failed: {error}")
        return None


# --------------------------------------------------------------------------
# Persistence: SAVE and load of mixed keys


def mixed_key_command(n: int) -> list[str]:
    """Key n of the persistence load: strings, lists, hashes, sets and sorted sets in turn."""
    kind = n % 5
    if kind == 0:
        return ["SET", f"s:{n}", f"value-{n}"]
    if kind == 1:
        return ["RPUSH", f"l:{n}", "a", "b", str(n)]
    if kind == 2:
        return ["HSET", f"h:{n}", "name", f"n{n}", "count", str(n)]
    if kind == 3:
        return ["SADD", f"t:{n}", "1", "2", str(n)]
    return ["ZADD", f"z:{n}", "1", "a", str(n % 100), "b"]


@dataclass
class Persistence:
    save: Measured       # seconds of SAVE; server CPU per key saved
    file_bytes: int
    load: Measured       # seconds from start to the first PING answered; CPU per key loaded


def measure_persistence(server: Server, command: str, keys: int,
                        servers: list[Server]) -> tuple[Persistence | None, Server]:
    """SAVE `keys` mixed keys, then start the server again on the file. Returns the result
    (None if it fails) and the server now running (the restarted one, on the same port)."""
    try:
        log(f"{server.name}: loading {keys} mixed keys for SAVE and load")
        with RespConnection(server.port) as connection:
            connection.command("FLUSHALL")
            connection.load(keys, mixed_key_command)
            started, cpu_before = time.monotonic(), server.cpu()
            if connection.command("SAVE") != "OK":
                raise BenchError(f"{server.name}: SAVE failed")
            save = Measured([time.monotonic() - started], [(server.cpu() - cpu_before) / keys])
        size = (server.directory / "dump.rdb").stat().st_size
        with RespConnection(server.port) as connection:
            connection.sock.sendall(encode_command("SHUTDOWN", "NOSAVE"))
        server.process.wait(timeout=60)
        servers.remove(server)
        started = time.monotonic()
        again = start_server(server.name, command, servers, server.port, server.directory)
        load = Measured([time.monotonic() - started], [again.cpu() / keys])
        with RespConnection(again.port) as connection:
            if connection.command("DBSIZE") != keys:
                raise BenchError(f"{server.name}: the reloaded dataset is not the saved one")
            connection.command("FLUSHALL")
        return Persistence(save, size, load), again
    except (BenchError, OSError, subprocess.TimeoutExpired) as error:
        log(f"{server.name}: persistence measurement failed: {error}")
        running = [s for s in servers if s.name == server.name]
        if not running:
            raise BenchError(f"{server.name} is not running after the persistence measurement")
        return None, running[0]


# --------------------------------------------------------------------------
# Throughput and CPU per request


def parse_benchmark_csv(text: str) -> dict[str, float]:
    """Map lower-case -t name -> requests per second from `redis-benchmark --csv` output.

    Rows look like "MSET (10 keys)"; the first word is the -t name.
    """
    rates = {}
    for row in csv.DictReader(io.StringIO(text)):
        rates[row["test"].split()[0].lower()] = float(row["rps"])
    return rates


def run_benchmark(server: Server, test: str, requests: int, pipeline: int) -> tuple[float, float] | None:
    """One redis-benchmark run of one test: (requests per second, server CPU seconds per
    request), or None if it failed. The CPU is the server's, read just before and after."""
    argv = [
        "redis-benchmark", "-h", "127.0.0.1", "-p", str(server.port),
        "-c", str(CLIENTS), "-n", str(requests), "-P", str(pipeline), "-q", "--csv",
    ]
    if test in CUSTOM_TESTS:
        setup, command = CUSTOM_TESTS[test]
        with RespConnection(server.port) as connection:
            connection.pipeline([encode_command(*words) for words in setup])
        argv += command
    else:
        argv += ["-t", test]
    log(f"{server.name}: {shlex.join(argv)}")
    cpu_before = server.cpu()
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=BENCHMARK_TIMEOUT)
    except subprocess.TimeoutExpired:
        log(f"{server.name}: {test} timed out after {BENCHMARK_TIMEOUT:.0f}s")
        return None
    cpu = server.cpu() - cpu_before
    if server.process.poll() is not None:
        raise BenchError(f"{server.name} died during {test}:\n{server.log_tail()}")
    rates = parse_benchmark_csv(result.stdout)
    rate = next(iter(rates.values()), None) if test in CUSTOM_TESTS else rates.get(test)
    if result.returncode != 0 or rate is None:
        log(f"{server.name}: {test} failed ({result.returncode}): {result.stderr.strip()[:300]}")
        return None
    return rate, cpu / requests


def measure_throughput(servers: dict[str, Server], tests: list[str], requests: int,
                       repeat: int) -> dict[tuple[str, int], dict[str, Measured | None]]:
    """(test, pipeline) -> server name -> its runs. The servers take turns run by run, and the
    whole table is run `repeat` times, so that a busy moment of the machine hits both alike
    and shows as spread; a test that fails on any run is reported as n/a."""
    runs: dict[tuple[str, int], dict[str, list]] = {
        (test, pipeline): {name: [] for name in servers} for pipeline in PIPELINES for test in tests}
    for round_number in range(1, repeat + 1):
        log(f"--- round {round_number} of {repeat}")
        for pipeline in PIPELINES:
            for test in tests:
                for name, server in servers.items():  # one after the other, never concurrently
                    runs[(test, pipeline)][name].append(run_benchmark(server, test, requests, pipeline))
    def measured(results):
        return None if None in results else Measured([r[0] for r in results], [r[1] for r in results])

    return {row: {name: measured(results) for name, results in by_server.items()}
            for row, by_server in runs.items()}


# --------------------------------------------------------------------------
# Report


def ratio(reference: float | None, redis: float | None) -> float | None:
    if reference is None or not redis:
        return None
    return reference / redis


def fmt_number(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def fmt_measured(value: float | None, samples: list[float] | None, digits: int) -> str:
    """A median with its spread: 7.40 ±3%."""
    text = fmt_number(value, digits)
    relative = spread(samples) if samples else None
    return text if relative is None else f"{text} ±{relative * 100:.0f}%"


def cpu_digits(value: float | None) -> int:
    return 2 if value is not None and value < 10 else 1


def row(label: str, redis: Measured | None, reference: Measured | None, digits: int,
        aims: list[tuple[str, bool | None]]) -> list[str]:
    """label, value redis, value reference, ratio, CPU µs redis, CPU µs reference, CPU ratio,
    aims, met."""
    redis_value = redis.value if redis else None
    reference_value = reference.value if reference else None
    redis_cpu = redis.cpu_us if redis else None
    reference_cpu = reference.cpu_us if reference else None
    met = [m for _, m in aims]
    return [
        label,
        fmt_measured(redis_value, redis.values if redis else None, digits),
        fmt_measured(reference_value, reference.values if reference else None, digits),
        fmt_number(ratio(reference_value, redis_value), 2),
        fmt_measured(redis_cpu, redis.cpu if redis else None, cpu_digits(redis_cpu)),
        fmt_measured(reference_cpu, reference.cpu if reference else None, cpu_digits(reference_cpu)),
        fmt_number(ratio(reference_cpu, redis_cpu), 1),
        "; ".join(text for text, _ in aims),
        "" if not aims else "n/a" if None in met else "yes" if all(met) else "NO",
    ]


def build_rows(throughput, memory, persistence) -> list[list[str]]:
    rows = []
    for pipeline in PIPELINES:
        aim = MIN_RATIO_BY_PIPELINE[pipeline]
        for (test, p), by_server in throughput.items():
            if p != pipeline:
                continue
            redis, reference = by_server["redis"], by_server["reference"]
            r = ratio(reference.value if reference else None, redis.value if redis else None)
            aims = [(f"ops >= {aim:.2f}", None if r is None else r >= aim)]
            max_cpu = MAX_CPU_US.get((test, pipeline))
            if max_cpu is not None:
                aims.append((f"CPU <= {max_cpu:.0f} µs",
                             None if reference is None else reference.cpu_us <= max_cpu))
            rows.append(row(f"{test.upper()} -P {pipeline}", redis, reference, 0, aims))
    r = ratio(memory["reference"].value if memory["reference"] else None,
              memory["redis"].value if memory["redis"] else None)
    rows.append(row("memory bytes/key (CPU: per SET)", memory["redis"], memory["reference"], 0,
                    [(f"<= {MAX_MEMORY_RATIO:.2f}", None if r is None else r <= MAX_MEMORY_RATIO)]))
    for label, part in (("SAVE seconds (CPU: per key)", "save"), ("load seconds (CPU: per key)", "load")):
        redis = getattr(persistence["redis"], part) if persistence["redis"] else None
        reference = getattr(persistence["reference"], part) if persistence["reference"] else None
        r = ratio(reference.value if reference else None, redis.value if redis else None)
        rows.append(row(label, redis, reference, 2,
                        [(f"<= {MAX_PERSISTENCE_RATIO:.2f}", None if r is None else r <= MAX_PERSISTENCE_RATIO)]))
    sizes = {name: p.file_bytes if p else None for name, p in persistence.items()}
    rows.append(["RDB file bytes (no CPU: a size)", fmt_number(sizes["redis"]), fmt_number(sizes["reference"]),
                 fmt_number(ratio(sizes["reference"], sizes["redis"]), 2), "", "", "", "", ""])
    return rows


HEADER = ["test", "redis ops/s", "reference ops/s", "ratio", "redis CPU µs/req", "reference CPU µs/req",
          "CPU ratio", "aim", "met"]


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |",
                 "|" + "|".join(["---"] + ["---:"] * 6 + ["---", ":---:"]) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(cells):
        return "  ".join(c.ljust(w) if i in (0, 7) else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(HEADER), line(["-" * w for w in widths]), *map(line, rows)])


def noise_summary(throughput) -> str:
    """The typical and the largest spread of the throughput and CPU cells."""
    rates, cpus = [], []
    for by_server in throughput.values():
        for measured in by_server.values():
            if measured is not None and spread(measured.values) is not None:
                rates.append(spread(measured.values))
                cpus.append(spread(measured.cpu))
    if not rates:
        return "noise: one run per row, no spread measured"
    return (f"noise (± half the range of the runs, over the median): "
            f"CPU µs/req median ±{statistics.median(cpus) * 100:.0f}% (largest ±{max(cpus) * 100:.0f}%), "
            f"ops/s median ±{statistics.median(rates) * 100:.0f}% (largest ±{max(rates) * 100:.0f}%)")


# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: -n {QUICK_REQUESTS}, one round, {QUICK_MEMORY_KEYS} keys")
    parser.add_argument("--reference-cmd", default=f"{REPO_ROOT}/.venv/bin/python -m reference",
                        help="command starting the reference; --port N --save '' are appended")
    parser.add_argument("--redis-cmd", default="redis-server",
                        help="command starting real Redis; --port N --save '' are appended")
    parser.add_argument("-n", "--requests", type=int,
                        help=f"requests per redis-benchmark run, the same for both (default {DEFAULT_REQUESTS})")
    parser.add_argument("--repeat", type=int,
                        help=f"rounds of the throughput table: medians and spread (default {DEFAULT_REPEAT})")
    parser.add_argument("--keys", type=int,
                        help=f"keys for memory and SAVE/load (default {DEFAULT_MEMORY_KEYS}; 0 skips both)")
    parser.add_argument("--tests", help=f"comma-separated subset of {','.join(TESTS)}")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = parser.parse_args(argv)
    if args.requests is None:
        args.requests = QUICK_REQUESTS if args.quick else DEFAULT_REQUESTS
    if args.repeat is None:
        args.repeat = 1 if args.quick else DEFAULT_REPEAT
    if args.keys is None:
        args.keys = QUICK_MEMORY_KEYS if args.quick else DEFAULT_MEMORY_KEYS
    args.tests = TESTS if args.tests is None else args.tests.split(",")
    unknown = set(args.tests) - set(TESTS)
    if unknown:
        parser.error(f"unknown tests: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("redis-benchmark") is None:
        log("redis-benchmark not found; install it with: apt-get install -y redis-tools")
        return 2

    def terminate(signum, _frame):
        raise SystemExit(128 + signum)  # unwinds through `finally`, which stops the servers

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)

    # An installed package has its bytecode compiled; a checkout run with PYTHONDONTWRITEBYTECODE
    # would compile every module again at each start, which the load time would then include.
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO_ROOT / "reference"),
                    str(REPO_ROOT / "spec")], check=False)
    servers: list[Server] = []
    commands = {"redis": args.redis_cmd, "reference": args.reference_cmd}
    memory = {name: None for name in commands}
    persistence = {name: None for name in commands}
    try:
        by_name = {name: start_server(name, command, servers) for name, command in commands.items()}
        if args.keys:
            memory = {name: measure_memory(server, args.keys) for name, server in by_name.items()}
            for name in commands:
                persistence[name], by_name[name] = measure_persistence(
                    by_name[name], commands[name], args.keys, servers)
        throughput = measure_throughput(by_name, args.tests, args.requests, args.repeat)
    except BenchError as error:
        log(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for server in servers:
            server.stop()

    print(f"redis-benchmark -c {CLIENTS} -n {args.requests}, {args.repeat} round(s): median ± half the "
          f"range; CPU = the server's own CPU time (/proc/PID/task/*/schedstat) per request; "
          f"memory, SAVE and load: {args.keys} keys, one run")
    print()
    print(render(build_rows(throughput, memory, persistence), args.markdown))
    print()
    print(noise_summary(throughput))
    return 0


if __name__ == "__main__":
    sys.exit(main())
