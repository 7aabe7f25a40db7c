"""Replication side by side: the reference against real redis-server, each replicating to itself.

For each implementation in turn (a master and two replicas of the same kind, on free ports):

- full sync: the master holds KEYS mixed keys (bench/run.py's five types); a replica is told
  REPLICAOF and the time until its link is up with the whole dataset is measured, with the
  master's and the replica's CPU per key;
- under load: with two replicas attached, redis-benchmark SET -P 16 runs against the master;
  the master's requests per second and CPU per request, the largest lag of a replica seen
  while it runs (master_repl_offset minus the replica's slave_repl_offset, in bytes, sampled
  every 20 ms), and the seconds the replicas take to catch up once it ends.

This is a measuring tool, not a test: it asserts nothing. Standard library only.

    python bench/replication.py [--quick] [--keys KEYS] [-n REQUESTS] [--repeat R] [--markdown]
                                [--reference-cmd CMD] [--redis-cmd CMD]
"""
from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

import run  # bench/run.py: servers, the RESP connection, CPU readings, the table
from run import BenchError, Measured, RespConnection, log

DEFAULT_KEYS = 1_000_000
QUICK_KEYS = 20_000
DEFAULT_REQUESTS = 200_000
QUICK_REQUESTS = 5_000
DEFAULT_REPEAT = 3
SYNC_TIMEOUT = 600.0
SAMPLE_EVERY = 0.02  # seconds between two readings of the offsets during the load
# A copy starts at once (Redis 7.0 waits 5 seconds for more replicas by default), streamed
# to the replica's socket on both.
MASTER_OPTIONS = ["--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"]


def replication_fields(port: int) -> dict[str, str]:
    with RespConnection(port) as connection:
        connection.sock.sendall(run.encode_command("INFO", "replication"))
        line = connection.reader.readline()  # $<length>
        text = connection.reader.read(int(line[1:-2]) + 2).decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def synced(replica: run.Server, keys: int) -> bool:
    fields = replication_fields(replica.port)
    if fields.get("master_link_status") != "up" or fields.get("master_sync_in_progress") != "0":
        return False
    with RespConnection(replica.port) as connection:
        return connection.command("DBSIZE") == keys


def wait(condition, what: str, timeout: float = SYNC_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.01)


def start(name: str, command: str, servers: list[run.Server], master: bool) -> run.Server:
    return run.start_server(name, f"{command} {shlex.join(MASTER_OPTIONS)}" if master else command, servers)


def full_sync(name: str, command: str, keys: int, servers: list[run.Server]) -> tuple[Measured, Measured]:
    """(seconds from REPLICAOF to a replica holding every key, the master's CPU per key),
    (the same seconds, the replica's CPU per key)."""
    master = start(f"{name}-master", command, servers, master=True)
    replica = start(f"{name}-replica", command, servers, master=False)
    log(f"{name}: loading {keys} mixed keys into the master")
    with RespConnection(master.port) as connection:
        connection.load(keys, run.mixed_key_command)
    master_cpu, replica_cpu = master.cpu(), replica.cpu()
    started = time.monotonic()
    with RespConnection(replica.port) as connection:
        connection.command("REPLICAOF", "127.0.0.1", str(master.port))
    wait(lambda: synced(replica, keys), f"{name}: full sync of {keys} keys")
    seconds = time.monotonic() - started
    result = (Measured([seconds], [(master.cpu() - master_cpu) / keys]),
              Measured([seconds], [(replica.cpu() - replica_cpu) / keys]))
    for server in (master, replica):
        server.stop()
        servers.remove(server)
    return result


def offsets(master: run.Server, replicas: list[run.Server]) -> tuple[int, list[int]]:
    ahead = int(replication_fields(master.port)["master_repl_offset"])
    return ahead, [int(replication_fields(r.port).get("slave_repl_offset", 0)) for r in replicas]


def under_load(name: str, command: str, requests: int, repeat: int,
               servers: list[run.Server]) -> tuple[Measured | None, Measured, Measured]:
    """Master throughput (ops/s; CPU per request), the largest lag seen in bytes, and the
    catch-up seconds, over `repeat` runs of redis-benchmark SET -P 16 with two replicas."""
    master = start(f"{name}-master", command, servers, master=True)
    replicas = [start(f"{name}-replica{i}", command, servers, master=False) for i in (1, 2)]
    for replica in replicas:
        with RespConnection(replica.port) as connection:
            connection.command("REPLICAOF", "127.0.0.1", str(master.port))
        wait(lambda: synced(replica, 0), f"{name}: replica attached")
    throughput, lags, catch_ups = [], [], []
    for round_number in range(repeat):
        largest = [0]
        running = threading.Event()
        running.set()

        def sample():
            while running.is_set():
                try:
                    ahead, behind = offsets(master, replicas)
                except (OSError, BenchError, KeyError, ValueError):
                    continue
                largest[0] = max(largest[0], *(ahead - b for b in behind))
                time.sleep(SAMPLE_EVERY)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            measured = run.run_benchmark(master, "set", requests, 16)
        finally:
            running.clear()
            sampler.join()
        ended = time.monotonic()
        target = offsets(master, replicas)[0]
        wait(lambda: min(offsets(master, replicas)[1]) >= target, f"{name}: replicas catching up")
        catch_ups.append(time.monotonic() - ended)
        lags.append(largest[0])
        throughput.append(measured)
        log(f"{name}: round {round_number + 1}: {measured and measured[0]:.0f} ops/s, largest lag "
            f"{largest[0]} bytes, caught up in {catch_ups[-1]:.3f} s")
    for server in (master, *replicas):
        server.stop()
        servers.remove(server)
    ops = None if None in throughput else Measured([t[0] for t in throughput], [t[1] for t in throughput])
    return ops, Measured(lags, [0.0] * len(lags)), Measured(catch_ups, [0.0] * len(catch_ups))


def build_rows(results: dict[str, dict], keys: int) -> list[list[str]]:
    redis, reference = results["redis"], results["reference"]
    rows = [
        run.row(f"full sync of {keys:,} keys, s (CPU: master per key)", redis["sync"][0], reference["sync"][0], 2, []),
        run.row("full sync, s (CPU: replica per key)", redis["sync"][1], reference["sync"][1], 2, []),
        run.row("SET -P 16 on a master with 2 replicas", redis["ops"], reference["ops"], 0, []),
    ]
    for label, part in (("largest replica lag, bytes (no CPU)", "lag"), ("replicas caught up after, s (no CPU)", "catch_up")):
        r, f = redis[part], reference[part]
        rows.append([label, run.fmt_measured(r.value, r.values, 0 if part == "lag" else 3),
                     run.fmt_measured(f.value, f.values, 0 if part == "lag" else 3),
                     run.fmt_number(run.ratio(f.value, r.value), 2), "", "", "", "", ""])
    return rows


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help=f"smoke run: {QUICK_KEYS} keys, -n {QUICK_REQUESTS}, one round")
    parser.add_argument("--reference-cmd", default=f"{run.REPO_ROOT}/.venv/bin/python -m reference")
    parser.add_argument("--redis-cmd", default="redis-server")
    parser.add_argument("--keys", type=int, help=f"keys of the full sync (default {DEFAULT_KEYS})")
    parser.add_argument("-n", "--requests", type=int, help=f"SETs per run under load (default {DEFAULT_REQUESTS})")
    parser.add_argument("--repeat", type=int, help=f"runs under load (default {DEFAULT_REPEAT})")
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args(argv)
    args.keys = args.keys or (QUICK_KEYS if args.quick else DEFAULT_KEYS)
    args.requests = args.requests or (QUICK_REQUESTS if args.quick else DEFAULT_REQUESTS)
    args.repeat = args.repeat or (1 if args.quick else DEFAULT_REPEAT)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("redis-benchmark") is None:
        log("redis-benchmark not found; install it with: apt-get install -y redis-tools")
        return 2
    signal.signal(signal.SIGTERM, lambda signum, _: sys.exit(128 + signum))
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(run.REPO_ROOT / "reference"),
                    str(run.REPO_ROOT / "spec")], check=False)
    servers: list[run.Server] = []
    results: dict[str, dict] = {}
    try:
        for name, command in (("redis", args.redis_cmd), ("reference", args.reference_cmd)):
            sync = full_sync(name, command, args.keys, servers)
            ops, lag, catch_up = under_load(name, command, args.requests, args.repeat, servers)
            results[name] = {"sync": sync, "ops": ops, "lag": lag, "catch_up": catch_up}
    except BenchError as error:
        log(f"error: {error}")
        return 1
    finally:
        for server in servers:
            server.stop()
    print(f"full sync: {args.keys} mixed keys, diskless, one run; under load: redis-benchmark -c "
          f"{run.CLIENTS} -n {args.requests} -P 16 SET against the master, {args.repeat} round(s), "
          f"median ± half the range")
    print()
    print(run.render(build_rows(results, args.keys), args.markdown))
    print()
    print("lag: the master's offset minus the furthest-behind replica's, sampled every "
          f"{SAMPLE_EVERY * 1000:.0f} ms; median of the rounds: {statistics.median(results['reference']['lag'].values):.0f} "
          "bytes for the reference")
    return 0


if __name__ == "__main__":
    sys.exit(main())
