"""Side-by-side benchmark of the reference server against real redis-server.

Starts both servers on free ports, measures memory per key with the same
socket load for both, then runs redis-benchmark against each in turn and
prints throughput and memory side by side with the project's aims.

This is a measuring tool, not a test: it asserts nothing about speed.
Only the Python standard library is used.

    python bench/run.py [--quick] [-n REQUESTS] [--keys KEYS] [--markdown]
                        [--reference-cmd CMD] [--redis-cmd CMD]
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
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

# The tests, in the order they are reported: redis-benchmark -t names (the CSV rows are
# matched by their first word, so "MSET (10 keys)" and "LRANGE_100 (first 100 elements)" are
# found as "mset" and "lrange_100"), or names of CUSTOM_TESTS.
TESTS = ["set", "get", "incr", "mset", "lpush", "lpop", "lrange_100", "sadd", "hset", "zadd",
         "zrange_100"]

# Tests redis-benchmark has no -t name for: (commands that prepare the data, the command line
# to benchmark). ZRANGE reads 100 members of a sorted set of 100, as LRANGE_100 reads a list.
CUSTOM_TESTS = {
    "zrange_100": ([["ZADD", "bench:zset", str(i), f"member:{i}"] for i in range(100)],
                   ["ZRANGE", "bench:zset", "0", "99"]),
}

PIPELINES = [1, 16]
CLIENTS = 50
DEFAULT_REQUESTS = 100_000
QUICK_REQUESTS = 2_000
DEFAULT_MEMORY_KEYS = 1_000_000
QUICK_MEMORY_KEYS = 20_000

# The aims of the reference, as reference/redis ratios.
MIN_RATIO_BY_PIPELINE = {1: 0.35, 16: 0.10}
MAX_MEMORY_RATIO = 3.0

LOAD_BATCH = 1_000  # SETs per round trip: replies (5 bytes each) stay far below socket buffers
START_TIMEOUT = 60.0
BENCHMARK_TIMEOUT = 1_800.0
SOCKET_TIMEOUT = 300.0


def log(message: str) -> None:
    """Progress goes to stderr so stdout holds only the result table."""
    print(message, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


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
    even if it never becomes ready.
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
        time.sleep(0.1)
    raise BenchError(f"{name} did not answer PING within {START_TIMEOUT:.0f}s:\n{server.log_tail()}")


# --------------------------------------------------------------------------
# A minimal RESP2 client, enough for PING, FLUSHALL, DBSIZE and pipelined SETs


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


def memory_per_key(server: Server, keys: int) -> float:
    """(RSS after loading `keys` small strings - RSS before) / keys, in bytes."""
    log(f"{server.name}: loading {keys} keys for the memory measurement")
    with RespConnection(server.port) as connection:
        connection.command("FLUSHALL")
        before = rss_bytes(server.process.pid)
        for start in range(0, keys, LOAD_BATCH):
            stop = min(start + LOAD_BATCH, keys)
            connection.pipeline([encode_command("SET", f"key:{n}", f"v{n}") for n in range(start, stop)])
        size = connection.command("DBSIZE")
        if size != keys:
            raise BenchError(f"{server.name}: DBSIZE is {size} after loading {keys} keys")
        after = rss_bytes(server.process.pid)
        connection.command("FLUSHALL")  # the throughput runs start from an empty database
    return (after - before) / keys


def measure_memory(server: Server, keys: int) -> float | None:
    """memory_per_key, or None (reported as n/a) when the server cannot complete the load."""
    try:
        return memory_per_key(server, keys)
    except (BenchError, OSError) as error:
        log(f"{server.name}: memory measurement failed: {error}")
        return None


# --------------------------------------------------------------------------
# Persistence: SAVE and load of mixed keys


def mixed_key_commands(n: int) -> list[str]:
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


def measure_persistence(server: Server, command: str, keys: int, servers: list[Server]):
    """(SAVE seconds, file bytes, load seconds) for `keys` mixed keys, or None if it fails.
    The load is timed from starting the server on the saved file until it answers PING."""
    try:
        log(f"{server.name}: loading {keys} mixed keys for SAVE and load")
        with RespConnection(server.port) as connection:
            connection.command("FLUSHALL")
            for start in range(0, keys, LOAD_BATCH):
                stop = min(start + LOAD_BATCH, keys)
                connection.pipeline([encode_command(*mixed_key_commands(n)) for n in range(start, stop)])
            started = time.monotonic()
            if connection.command("SAVE") != "OK":
                raise BenchError(f"{server.name}: SAVE failed")
            save_seconds = time.monotonic() - started
        size = (server.directory / "dump.rdb").stat().st_size
        with RespConnection(server.port) as connection:
            connection.sock.sendall(encode_command("SHUTDOWN", "NOSAVE"))
        server.process.wait(timeout=60)
        servers.remove(server)
        started = time.monotonic()
        again = start_server(server.name, command, servers, server.port, server.directory)
        load_seconds = time.monotonic() - started
        with RespConnection(again.port) as connection:
            if connection.command("DBSIZE") != keys:
                raise BenchError(f"{server.name}: the reloaded dataset is not the saved one")
            connection.command("FLUSHALL")
        return save_seconds, size, load_seconds, again
    except (BenchError, OSError, subprocess.TimeoutExpired) as error:
        log(f"{server.name}: persistence measurement failed: {error}")
        return None


# --------------------------------------------------------------------------
# Throughput


def parse_benchmark_csv(text: str) -> dict[str, float]:
    """Map lower-case -t name -> requests per second from `redis-benchmark --csv` output.

    Rows look like "MSET (10 keys)"; the first word is the -t name. Helper rows
    such as "LPUSH (needed to benchmark LRANGE)" are setup, not results.
    """
    rates = {}
    for row in csv.DictReader(io.StringIO(text)):
        label = row["test"]
        if "(needed" in label:
            continue
        rates[label.split()[0].lower()] = float(row["rps"])
    return rates


def run_benchmark(server: Server, tests: list[str], requests: int, pipeline: int) -> dict[str, float]:
    """Requests per second for each test; a test that fails is left out (reported as n/a).

    Each test gets its own redis-benchmark run because redis-benchmark stops at the
    first error reply, which would hide the results of the tests after it.
    """
    rates = {}
    for test in tests:
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
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=BENCHMARK_TIMEOUT)
        except subprocess.TimeoutExpired:
            log(f"{server.name}: {test} timed out after {BENCHMARK_TIMEOUT:.0f}s")
            continue
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} died during {test}:\n{server.log_tail()}")
        rates_found = parse_benchmark_csv(result.stdout)
        rate = rates_found.get(test) if test not in CUSTOM_TESTS else next(iter(rates_found.values()), None)
        if result.returncode != 0 or rate is None:
            log(f"{server.name}: {test} failed ({result.returncode}): {result.stderr.strip()[:300]}")
            continue
        rates[test] = rate
    return rates


# --------------------------------------------------------------------------
# Report


def ratio(reference: float | None, redis: float | None) -> float | None:
    if reference is None or not redis:
        return None
    return reference / redis


def fmt_number(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def verdict(met: bool | None) -> str:
    return "n/a" if met is None else ("yes" if met else "NO")


def build_rows(throughput, memory, persistence) -> list[list[str]]:
    rows = []
    for pipeline in PIPELINES:
        aim = MIN_RATIO_BY_PIPELINE[pipeline]
        for test in TESTS:
            redis_rate = throughput["redis"][pipeline].get(test)
            reference_rate = throughput["reference"][pipeline].get(test)
            r = ratio(reference_rate, redis_rate)
            rows.append([
                f"{test.upper()} -P {pipeline}", fmt_number(redis_rate), fmt_number(reference_rate),
                fmt_number(r, 2), f">= {aim:.2f}", verdict(None if r is None else r >= aim),
            ])
    r = ratio(memory["reference"], memory["redis"])
    rows.append([
        "memory bytes/key", fmt_number(memory["redis"]), fmt_number(memory["reference"]),
        fmt_number(r, 2), f"<= {MAX_MEMORY_RATIO:.2f}", verdict(None if r is None else r <= MAX_MEMORY_RATIO),
    ])
    for index, label, digits in ((0, "SAVE seconds", 2), (1, "RDB file bytes", 0), (2, "load seconds", 2)):
        redis_value = persistence["redis"][index] if persistence["redis"] else None
        reference_value = persistence["reference"][index] if persistence["reference"] else None
        rows.append([label, fmt_number(redis_value, digits), fmt_number(reference_value, digits),
                     fmt_number(ratio(reference_value, redis_value), 2), "", ""])
    return rows


HEADER = ["test", "redis ops/s", "reference ops/s", "ratio (ref/redis)", "aim", "met"]


def render(rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join(["---"] + ["---:"] * 4 + [":---:"]) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    return "\n".join([line(HEADER), line(["-" * w for w in widths]), *map(line, rows)])


# --------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: -n {QUICK_REQUESTS} and {QUICK_MEMORY_KEYS} keys for memory")
    parser.add_argument("--reference-cmd", default=f"{REPO_ROOT}/.venv/bin/python -m reference",
                        help="command starting the reference; --port N --save '' are appended")
    parser.add_argument("--redis-cmd", default="redis-server",
                        help="command starting real Redis; --port N --save '' are appended")
    parser.add_argument("-n", "--requests", type=int,
                        help=f"requests per redis-benchmark test, the same for both (default {DEFAULT_REQUESTS})")
    parser.add_argument("--keys", type=int,
                        help=f"keys loaded for the memory measurement (default {DEFAULT_MEMORY_KEYS})")
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    args = parser.parse_args(argv)
    if args.requests is None:
        args.requests = QUICK_REQUESTS if args.quick else DEFAULT_REQUESTS
    if args.keys is None:
        args.keys = QUICK_MEMORY_KEYS if args.quick else DEFAULT_MEMORY_KEYS
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

    servers: list[Server] = []
    try:
        start_server("redis", args.redis_cmd, servers)
        start_server("reference", args.reference_cmd, servers)
        by_name = {server.name: server for server in servers}

        memory = {name: measure_memory(server, args.keys) for name, server in by_name.items()}
        commands = {"redis": args.redis_cmd, "reference": args.reference_cmd}
        persistence = {}
        for name in list(by_name):
            measured = measure_persistence(by_name[name], commands[name], args.keys, servers)
            persistence[name] = measured[:3] if measured else None
            if measured:
                by_name[name] = measured[3]
        throughput = {name: {} for name in by_name}
        for pipeline in PIPELINES:
            for name, server in by_name.items():  # one after the other, never concurrently
                throughput[name][pipeline] = run_benchmark(server, TESTS, args.requests, pipeline)
    except BenchError as error:
        log(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        for server in servers:
            server.stop()

    print(f"redis-benchmark -c {CLIENTS} -n {args.requests}; memory: {args.keys} keys 'SET key:N vN', "
          f"RSS from /proc/PID/status; SAVE and load: {args.keys} keys of the five types")
    print()
    print(render(build_rows(throughput, memory, persistence), args.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
