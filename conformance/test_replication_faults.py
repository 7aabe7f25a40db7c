"""Bad input on a replication link, as a master sees it (spec/replication.md, "PSYNC",
"REPLCONF"): a PSYNC the master cannot continue, ACKs that are not numbers, a replica that
sends bytes that are not the protocol. The replica is played by the test on a raw connection,
so that what it sends is exactly the fault.
"""
from __future__ import annotations

import re

import pytest

from conformance.readings import info
from conformance.replicas import DEADLINE, MASTER_OPTIONS, received_until, stats, wait_for

pytestmark = pytest.mark.launches


def copied(data: bytes) -> bool:
    """A whole `$EOF:<mark>` copy (what a diskless master sends) is in data."""
    match = re.search(rb"\$EOF:([0-9a-f]{40})\r\n", data)
    return match is not None and data.count(match.group(1)) >= 2


def raw_replica(server, port: int, replid: str = "?", offset: int = -1):
    """A connection that says it is a replica listening on `port` and asks PSYNC replid offset;
    returns it with what it received up to the whole copy, or the +CONTINUE line."""
    client = server.client()
    for words in (("REPLCONF", "listening-port", port), ("REPLCONF", "capa", "eof", "capa", "psync2")):
        client.send_command(*words)
        assert client.read_reply() == "OK"
    client.send_command("PSYNC", replid, offset)
    data = received_until(client, lambda got: copied(got) or got.lstrip(b"\n").startswith(b"+CONTINUE")
                          and got.endswith(b"\r\n"))
    return client, data.lstrip(b"\n")


def replica_field(server) -> str | None:
    """INFO replication's slave0 line, or None without a replica."""
    return info(server.client(), "replication").get("slave0")


def test_psync_of_an_unknown_history_is_a_full_resync(launcher):
    master = launcher.start(**MASTER_OPTIONS)
    master.client().call("SET", "k", "v")
    asked_of = info(master.client(), "replication")["master_replid"]
    _, data = raw_replica(master, 7001, "a" * 40, 1)
    # (the first replica makes a backlog, and with it a new history, which the copy starts)
    replid = info(master.client(), "replication")["master_replid"]
    assert replid != asked_of
    assert data.startswith(f"+FULLRESYNC {replid} ".encode())
    assert stats(master) == {"sync_full": 1, "sync_partial_ok": 0, "sync_partial_err": 1}
    line = (f"Partial resynchronization not accepted: Replication ID mismatch (Replica asked for "
            f"'{'a' * 40}', my replication IDs are '{asked_of}' and '{'0' * 40}')")
    wait_for(lambda: line in master.log_tail(100), "the master's log says why")


def test_psync_from_an_offset_the_backlog_lacks_is_a_full_resync(launcher):
    master = launcher.start(**MASTER_OPTIONS)
    first, _ = raw_replica(master, 7001)  # (a replica makes the backlog)
    replid = info(master.client(), "replication")["master_replid"]
    offset = int(info(master.client(), "replication")["master_repl_offset"])
    _, data = raw_replica(master, 7002, replid, offset + 1000)  # beyond what was written
    assert data.startswith(f"+FULLRESYNC {replid} ".encode())
    assert stats(master) == {"sync_full": 2, "sync_partial_ok": 0, "sync_partial_err": 1}
    for line in (f"Unable to partial resync with replica 127.0.0.1:7002 for lack of backlog (Replica "
                 f"request was: {offset + 1000}).",
                 "Warning: replica 127.0.0.1:7002 tried to PSYNC with an offset that is greater than the "
                 "master replication offset."):
        wait_for(lambda: line in master.log_tail(100), f"the master's log line {line!r}")
    first.close()


def test_an_ack_that_is_no_number_is_ignored(launcher):
    master = launcher.start(**MASTER_OPTIONS)
    replica, _ = raw_replica(master, 7001)
    offset = int(info(master.client(), "replication")["master_repl_offset"])
    replica.send_command("REPLCONF", "ACK", offset)
    wait_for(lambda: f"offset={offset}," in (replica_field(master) or ""), "the ACK counted")
    master.client().call("SET", "more", "data")  # the master's offset moves on
    replica.send_command("REPLCONF", "ACK", "not-a-number")
    replica.send_command("REPLCONF", "ACK", offset - 1)  # an older offset does not go back
    master.client().call("PING")  # (the ACKs were read before this answer comes: one loop)
    assert f"offset={offset}," in replica_field(master)
    assert info(master.client(), "replication")["connected_slaves"] == "1"


def dropped_for_a_reply(master, replica, command: str) -> None:
    """A replica's connection is not for replies: one that made the master reply is dropped,
    sent nothing (not the reply), and logged as Redis logs it."""
    wait_for(lambda: info(master.client(), "replication")["connected_slaves"] == "0", "the replica dropped")
    rest = b""
    replica.sock.settimeout(DEADLINE)
    while chunk := replica.sock.recv(65536):
        rest += chunk
    assert rest.strip(b"\n") in (b"", b"*1\r\n$4\r\nPING\r\n")  # (at most the stream's PING)
    line = f"Replica generated a reply to command '{command}', disconnecting it: id="
    wait_for(lambda: line in master.log_tail(100), f"the master's log line {line!r}")
    assert "Connection with replica 127.0.0.1:7001 lost." in master.log_tail(100)


def test_a_replica_sending_what_is_not_the_protocol_is_dropped(launcher):
    master = launcher.start(**MASTER_OPTIONS)
    replica, _ = raw_replica(master, 7001)
    assert info(master.client(), "replication")["connected_slaves"] == "1"
    replica.sock.sendall(b"*1\r\n$x\r\n")  # a bulk length that is not a number
    dropped_for_a_reply(master, replica, "psync")  # (the error follows the last command run)


def test_a_replica_sending_a_command_with_a_reply_is_dropped(launcher):
    master = launcher.start(**MASTER_OPTIONS)
    replica, _ = raw_replica(master, 7001)
    replica.send_command("PING")
    dropped_for_a_reply(master, replica, "ping")
