"""client-output-buffer-limit (spec/connection.md): a client whose replies pile up unread past
its class's hard limit is closed at once, past its soft limit for longer than its seconds it is
closed by the cron; each is logged with the client's CLIENT LIST line.

The kernel holds some megabytes of what a server writes to a connection that is not read (about
4 MB on loopback here, on either server), so every test either makes the replies pile up before
anything can be written (a pipeline answered in one loop turn, a replica's stream held back
behind its copy) or writes far more than the limit plus what the kernel can hold.
"""
from __future__ import annotations

import os
import re
import socket
import time

import pytest

from conformance.readings import info
from conformance.replicas import DEADLINE, wait_for

pytestmark = pytest.mark.internals("log lines, CLIENT LIST memory fields")  # they say why a client went

MB = 1 << 20
SCHEDULED = "scheduled to be closed ASAP for overcoming of output buffer limits."
CLOSED_BY_CRON = "closed for overcoming of output buffer limits."


def log_text(server) -> str:
    with open(server.log_path, "rb") as log:
        return log.read().decode("utf-8", "replace")


def logged_client(server, ending: str) -> dict[str, str]:
    """The CLIENT LIST fields of the client a `Client <line> <ending>` log line names (waiting
    for the line)."""
    pattern = re.compile(rf"Client (id=\d+ .*) {re.escape(ending)}$", re.M)
    found = wait_for(lambda: pattern.search(log_text(server)), f"a log line ending {ending!r}")
    return dict(field.split("=", 1) for field in found.group(1).split(" "))


def raw_connection(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=DEADLINE)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_until_closed(sock: socket.socket) -> int:
    """Read what the server sent until it closed the connection (a reset counts: it may close
    with our requests unread); how many bytes came."""
    received = 0
    deadline = time.monotonic() + DEADLINE
    try:
        while chunk := sock.recv(MB):
            received += len(chunk)
            assert time.monotonic() < deadline, "the server kept the connection open"
    except ConnectionResetError:
        pass
    return received


def command(*words) -> bytes:
    words = [w if isinstance(w, bytes) else str(w).encode() for w in words]
    return b"*%d\r\n" % len(words) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in words)


def client_count(client) -> int:
    return int(info(client, "clients")["connected_clients"])


def test_a_pipeline_over_the_hard_limit_is_closed_unanswered(launcher):
    server = launcher.start()
    client = server.client()
    assert client.call("CONFIG", "SET", "client-output-buffer-limit", "normal 8mb 0 0") == "OK"
    assert client.call("SET", "big", b"x" * MB) == "OK"
    greedy = raw_connection(server)
    greedy.sendall(command("GET", "big") * 64)  # 64 MB of replies, all made in one loop turn
    assert read_until_closed(greedy) < 8 * MB  # closed before (nearly) anything was written
    fields = logged_client(server, SCHEDULED)
    assert fields["flags"] == "N" and fields["cmd"] == "get"
    # What counted: the replies in the list past the client's 16 KB buffer, at least the limit.
    assert int(fields["omem"]) >= 8 * MB and int(fields["oll"]) > 0 and fields["obl"] == "16384"
    wait_for(lambda: client_count(client) == 1, "only the well-behaved client left")
    assert client.call("GET", "missing") is None


def test_replies_under_the_hard_limit_all_come(launcher):
    server = launcher.start()
    client = server.client()
    assert client.call("CONFIG", "SET", "client-output-buffer-limit", "normal 8mb 0 0") == "OK"
    value = b"y" * MB
    assert client.call("SET", "big", value) == "OK"
    reader = server.client()
    assert reader.pipeline(*[("GET", "big")] * 4) == [value] * 4  # 4 MB: under the limit
    assert reader.call("PING") == "PONG"
    assert SCHEDULED not in log_text(server)


def test_over_the_soft_limit_for_its_seconds_the_cron_closes(launcher):
    server = launcher.start()
    client = server.client()
    seconds = 2
    assert client.call("CONFIG", "SET", "client-output-buffer-limit", f"normal 0 1mb {seconds}") == "OK"
    assert client.call("SET", "big", b"z" * MB) == "OK"
    slow = raw_connection(server)
    sent_at = time.monotonic()
    slow.sendall(command("GET", "big") * 32)  # 32 MB: most of it stays queued, never read
    # Seen over the limit when the replies were made, it must stay over for more than `seconds`
    # (whole seconds of the clock: closed at least that long after).
    wait_for(lambda: CLOSED_BY_CRON in log_text(server), "the cron closing the slow client")
    assert time.monotonic() - sent_at > seconds
    assert read_until_closed(slow) < 32 * MB
    fields = logged_client(server, CLOSED_BY_CRON)
    assert fields["cmd"] == "get" and int(fields["omem"]) >= MB
    assert SCHEDULED not in log_text(server)  # the hard limit is 0: nothing else closes it


def test_a_subscriber_that_does_not_read_is_dropped(launcher):
    server = launcher.start()
    publisher = server.client()
    assert publisher.call("CONFIG", "SET", "client-output-buffer-limit", "pubsub 2mb 0 0") == "OK"
    subscriber = raw_connection(server)
    subscriber.sendall(command("SUBSCRIBE", "news"))
    confirmation = b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n"
    assert subscriber.recv(len(confirmation), socket.MSG_WAITALL) == confirmation
    message = b"m" * (100 * 1024)
    # Under the limit, even unread, it stays subscribed.
    assert publisher.pipeline(*[("PUBLISH", "news", message)] * 10) == [1] * 10
    assert publisher.call("PUBSUB", "NUMSUB", "news") == [b"news", 1]
    # 20 MB more: past what the kernel holds and then the limit.
    for _ in range(20):
        publisher.pipeline(*[("PUBLISH", "news", message)] * 10)
    wait_for(lambda: publisher.call("PUBSUB", "NUMSUB", "news") == [b"news", 0], "the subscriber dropped")
    fields = logged_client(server, SCHEDULED)
    assert fields["flags"] == "P" and fields["sub"] == "1" and fields["cmd"] == "subscribe"
    assert int(fields["omem"]) >= 2 * MB
    assert read_until_closed(subscriber) < 21 * len(message) * 10
    assert publisher.call("PUBLISH", "news", "after") == 0


def start_replica_by_hand(master) -> socket.socket:
    """A replica that says SYNC and then never reads: its copy, then its stream, pile up."""
    replica = raw_connection(master)
    replica.sendall(command("SYNC"))
    client = master.client()
    wait_for(lambda: info(client, "replication")["connected_slaves"] == "1", "the replica listed")
    return replica


def write_values(client, count: int, size: int) -> None:
    value = b"v" * size
    for start in range(0, count, 8):
        client.pipeline(*[("SET", f"key:{n}", value) for n in range(start, min(count, start + 8))])


def test_a_replica_that_falls_behind_is_dropped(launcher):
    master = launcher.start(**{"repl-diskless-sync": "no"})
    client = master.client()
    assert client.call("CONFIG", "SET", "client-output-buffer-limit", "replica 4mb 0 0") == "OK"
    replica = start_replica_by_hand(master)
    write_values(client, 24, MB)  # 24 MB of stream: past what the kernel holds and then the limit
    wait_for(lambda: info(client, "replication")["connected_slaves"] == "0", "the replica dropped")
    fields = logged_client(master, SCHEDULED)
    assert fields["flags"] == "S" and fields["cmd"] == "sync"
    assert int(fields["omem"]) >= 4 * MB
    assert "Connection with replica 127.0.0.1:<unknown-replica-port> lost." in log_text(master)
    assert read_until_closed(replica) < 24 * MB


def test_a_replica_limit_under_the_backlog_size_is_the_backlog_size(launcher):
    master = launcher.start(**{"repl-diskless-sync": "no", "repl-backlog-size": "16mb"})
    client = master.client()
    assert client.call("CONFIG", "SET", "client-output-buffer-limit", "replica 64kb 0 0") == "OK"
    replica = start_replica_by_hand(master)
    write_values(client, 12, MB)  # 12 MB: far past 64 KB, under 16 MB even if nothing was written
    assert client.call("PING") == "PONG"  # (the stream of the last write was fed)
    assert info(client, "replication")["connected_slaves"] == "1"
    write_values(client, 30, MB)  # 42 MB: past 16 MB whatever the kernel holds
    wait_for(lambda: info(client, "replication")["connected_slaves"] == "0", "the replica dropped")
    assert int(logged_client(master, SCHEDULED)["omem"]) >= 16 * MB
    replica.close()


def test_a_replica_that_does_not_read_its_diskless_copy_times_out(launcher):
    master = launcher.start(**{"repl-diskless-sync": "yes", "repl-diskless-sync-delay": "0",
                               "repl-timeout": "2", "rdbcompression": "no"})
    client = master.client()
    for start in range(0, 96, 8):  # about 12 MB of copy, more than the kernel holds
        client.pipeline(*[("SET", f"random:{n}", os.urandom(128 * 1024)) for n in range(start, start + 8)])
    replica = raw_connection(master)
    replica.sendall(command("REPLCONF", "capa", "eof"))
    assert replica.recv(5, socket.MSG_WAITALL) == b"+OK\r\n"  # (SYNC wants no reply pending)
    replica.sendall(command("PSYNC", "?", "-1"))
    line = "Disconnecting timedout replica (full sync): 127.0.0.1:<unknown-replica-port>"
    wait_for(lambda: line in log_text(master), "the replica timed out")
    wait_for(lambda: info(client, "replication")["connected_slaves"] == "0", "the replica forgotten")
    assert "Connection with replica 127.0.0.1:<unknown-replica-port> lost." in log_text(master)
    replica.close()
