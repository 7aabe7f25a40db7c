"""CLIENT PAUSE and CLIENT UNPAUSE (spec/connection.md): commands held back, not refused.

A held command is seen from another client as a blocked one (CLIENT LIST flag b, INFO
blocked_clients), and its reply comes once the pause is lifted. A pause of ALL holds CLIENT
UNPAUSE and every observer's commands too, so those tests only check that nothing was answered
before the pause could have ended (a lower bound on the time taken: a busy machine only makes
it longer).
"""
from __future__ import annotations

import socket
import time

import pytest

from conformance.blocking import wait_until_blocked
from conformance.client import ErrorReply
from conformance.readings import info
from conformance.waiting import wait_for


@pytest.fixture
def paused(client_factory):
    """Clients on the target, emptied first; CLIENT UNPAUSE after the test, whatever happened."""
    observer = client_factory()
    assert observer.call("FLUSHALL") == "OK"
    yield client_factory
    observer.call("CLIENT", "UNPAUSE")


def test_errors_in_redis_order(client):
    assert client.call("CLIENT", "PAUSE", "abc", "foo") == ErrorReply("ERR CLIENT PAUSE mode must be WRITE or ALL")
    assert client.call("CLIENT", "PAUSE", "abc") == ErrorReply("ERR timeout is not an integer or out of range")
    assert client.call("CLIENT", "PAUSE", "-1", "write") == ErrorReply("ERR timeout is negative")
    assert client.call("CLIENT", "PAUSE", "10", "write", "extra") == ErrorReply(
        "ERR unknown subcommand or wrong number of arguments for 'PAUSE'. Try CLIENT HELP.")
    assert client.call("CLIENT", "PAUSE") == ErrorReply("ERR wrong number of arguments for 'client|pause' command")
    assert client.call("CLIENT", "UNPAUSE", "x") == ErrorReply(
        "ERR wrong number of arguments for 'client|unpause' command")
    assert client.call("CLIENT", "UNPAUSE") == "OK"  # nothing paused: fine
    assert client.call("SET", "k", "v") == "OK"  # none of those paused anything


def test_a_pause_that_ends_at_once(client):
    """0, or a timeout whose end overflows a 64-bit integer, pauses nothing."""
    for timeout in ("0", "9223372036854775807"):
        assert client.call("CLIENT", "PAUSE", timeout, "ALL") == "OK"
        assert client.call("SET", "k", timeout) == "OK"
        assert client.call("GET", "k") == timeout.encode()


@pytest.mark.internals("INFO sections and fields")
def test_write_pause_holds_writes_and_lets_reads_through(paused):
    writer, publisher, reader = paused(), paused(), paused()
    writer.call("SET", "k", "before")
    assert reader.call("CLIENT", "PAUSE", 100000, "WRITE") == "OK"
    writer.send_command("SET", "k", "during")
    publisher.send_command("PUBLISH", "channel", "message")  # may_replicate: held too
    wait_until_blocked(reader, 2)
    assert int(info(reader, "clients")["blocked_clients"]) == 2
    assert reader.call("GET", "k") == b"before"
    assert reader.call("PING") == "PONG"
    assert writer.received_nothing() and publisher.received_nothing()
    assert reader.call("CLIENT", "UNPAUSE") == "OK"
    assert writer.read_reply() == "OK"
    assert publisher.read_reply() == 0
    assert reader.call("GET", "k") == b"during"
    assert int(info(reader, "clients")["blocked_clients"]) == 0


def test_held_client_goes_on_with_its_pipeline(paused):
    writer, observer = paused(), paused()
    assert observer.call("CLIENT", "PAUSE", 100000, "WRITE") == "OK"
    writer.send_command("INCR", "n")
    writer.send_command("GET", "n")  # a read, but behind the held write
    writer.send_command("INCR", "n")
    wait_until_blocked(observer, 1)
    assert writer.received_nothing()
    assert observer.call("GET", "n") is None
    assert observer.call("CLIENT", "UNPAUSE") == "OK"
    assert [writer.read_reply() for _ in range(3)] == [1, b"1", 2]


def test_refusals_are_not_held(paused):
    client, observer = paused(), paused()
    assert observer.call("CLIENT", "PAUSE", 100000, "WRITE") == "OK"
    assert client.call("NOSUCHCOMMAND").startswith("ERR unknown command 'NOSUCHCOMMAND'")
    assert client.call("SET", "k") == ErrorReply("ERR wrong number of arguments for 'set' command")
    assert client.call("LPUSH", "k") == ErrorReply("ERR wrong number of arguments for 'lpush' command")


def test_transactions_under_a_write_pause(paused):
    client, observer = paused(), paused()
    assert observer.call("CLIENT", "PAUSE", 100000, "WRITE") == "OK"
    # Only reads: not held, queued or executed.
    assert client.pipeline(("MULTI",), ("GET", "k"), ("EXEC",)) == ["OK", "QUEUED", [None]]
    # Queuing a write is held already.
    assert client.call("MULTI") == "OK"
    assert client.call("GET", "k") == "QUEUED"
    client.send_command("SET", "k", "v")
    wait_until_blocked(observer, 1)
    assert client.received_nothing()
    assert observer.call("CLIENT", "UNPAUSE") == "OK"
    assert client.read_reply() == "QUEUED"
    # EXEC of a transaction holding a write is held (pause again, then EXEC).
    assert observer.call("CLIENT", "PAUSE", 100000, "WRITE") == "OK"
    client.send_command("EXEC")
    wait_until_blocked(observer, 1)
    assert observer.call("GET", "k") is None
    assert observer.call("CLIENT", "UNPAUSE") == "OK"
    assert client.read_reply() == [None, "OK"]
    assert observer.call("GET", "k") == b"v"


def test_all_pause_holds_every_command_until_its_end(paused):
    first, second = paused(), paused()
    started = time.monotonic()
    assert first.call("CLIENT", "PAUSE", 1000, "ALL") == "OK"
    second.send_command("PING")
    second.send_command("CLIENT", "UNPAUSE")  # held too: only the end lifts a pause of ALL
    first.send_command("GET", "k")
    assert second.read_reply() == "PONG"
    assert second.read_reply() == "OK"
    assert first.read_reply() is None
    assert time.monotonic() - started >= 0.95  # not one reply before the pause's end


def test_pausing_again_only_widens_the_pause(paused):
    """The stricter mode and the later end of the two: a WRITE pause made ALL lasts as long as
    the WRITE one."""
    client = paused()
    started = time.monotonic()
    assert client.call("CLIENT", "PAUSE", 1500, "WRITE") == "OK"
    assert client.call("CLIENT", "PAUSE", 1, "ALL") == "OK"  # now ALL, until the later end
    assert client.call("GET", "k") is None
    assert time.monotonic() - started >= 1.4


@pytest.mark.internals("INFO sections and fields")
def test_keys_do_not_expire_while_paused(paused):
    client, observer = paused(), paused()
    assert client.call("SET", "k", "v", "PX", 100) == "OK"
    expired_before = int(info(observer, "stats")["expired_keys"])
    assert observer.call("CLIENT", "PAUSE", 100000, "WRITE") == "OK"
    # Past its time it reads as missing, but stays stored: no deletion, no DEL, no count.
    wait_for(lambda: client.call("EXISTS", "k") == 0, "the key past its time")
    assert client.call("GET", "k") is None
    assert client.call("DBSIZE") == 1
    assert int(info(observer, "stats")["expired_keys"]) == expired_before
    assert observer.call("CLIENT", "UNPAUSE") == "OK"
    wait_for(lambda: client.call("DBSIZE") == 0, "the key expired once the pause ended")
    assert int(info(observer, "stats")["expired_keys"]) == expired_before + 1


def test_a_replica_link_may_not_write_past_a_pause(launcher):
    """A connection that sent SYNC is a replica's link, which a pause never holds: so it may run
    nothing that reads or writes the dataset. It is refused, and since a replica is never
    answered, the link is dropped for it, the refusal unsent."""
    server = launcher.start(**{"repl-diskless-sync": "no"})  # (the copy then the stream, at once)
    other = server.client()
    link = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    try:
        link.sendall(b"SYNC\r\n")
        received = bytearray()

        def more() -> bytes:
            data = link.recv(65536)
            received.extend(data)
            return data
        wait_for(lambda: b"REDIS" in received or not more(), "the copy")  # (an RDB file starts so)
        assert other.call("CLIENT", "PAUSE", 100000, "WRITE") == "OK"
        link.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        wait_for(lambda: not more(), "the link dropped")
        assert b"Replica can't interact with the keyspace" not in received
        assert "Replica generated a reply to command 'set', disconnecting it: id=" in server.log_tail(100)
        assert other.call("DBSIZE") == 0
        assert other.call("CLIENT", "UNPAUSE") == "OK"
        assert other.call("DBSIZE") == 0
    finally:
        link.close()
