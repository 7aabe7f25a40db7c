"""Replication (spec/replication.md): a master and its replicas, launched for each test.

The server under test (--server) plays one part and --peer-server (default: the same command)
the other, so that `--server "python -m reference" --peer-server redis-server` judges the
reference against real Redis both ways: the `sides` parameter says which of the two is the
master. After every step the nodes must hold the same data (DEBUG DIGEST), and INFO's counters
say whether a resynchronisation was full or partial.

Everything is polled for with generous deadlines: a busy machine makes every step slow.
"""
from __future__ import annotations

import re
import socket
import time

import pytest

from conformance.readings import info
from conformance.replicas import (DEADLINE, MASTER_OPTIONS, READONLY, fill, in_sync, link_up, received_until,
                                   replicate, stats, wait_for, write_more)

pytestmark = pytest.mark.internals("debug")  # DEBUG DIGEST compares the datasets


def test_full_sync_then_the_stream(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    fill(master.client())
    replicate(replica, master)
    in_sync(master, replica)
    assert replica.client().call("SELECT", 5) == "OK"
    write_more(master.client())
    in_sync(master, replica)
    # A fresh replica asks to continue its own history (it was a master): refused, then a copy.
    assert stats(master) == {"sync_full": 1, "sync_partial_ok": 0, "sync_partial_err": 1}
    client = replica.client()
    assert client.call("LRANGE", "list", 0, -1) == [b"b", b"c"]
    assert 0 < client.call("TTL", "expiring") <= 100000
    client.call("SELECT", 7)
    assert client.call("GET", "in-seven") == b"7"


def test_replica_state_as_reported(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    replicate(replica, master)
    master.client().call("SET", "k", "v")
    in_sync(master, replica)
    client = replica.client()
    fields = info(client, "replication")
    assert fields["role"] == "slave"
    assert (fields["master_host"], fields["master_port"]) == ("127.0.0.1", str(master.port))
    assert fields["slave_read_only"] == "1"
    master_fields = info(master.client(), "replication")
    assert fields["master_replid"] == master_fields["master_replid"]
    assert master_fields["role"] == "master" and master_fields["connected_slaves"] == "1"
    assert master_fields["repl_backlog_active"] == "1"
    assert re.fullmatch(rf"ip=127\.0\.0\.1,port={replica.port},state=online,offset=\d+,lag=\d+",
                        master_fields["slave0"])
    role = client.call("ROLE")
    assert role[:4] == [b"slave", b"127.0.0.1", master.port, b"connected"]
    assert role[4] == int(fields["slave_repl_offset"])
    master_role = master.client().call("ROLE")
    assert master_role[0] == b"master" and isinstance(master_role[1], int)
    assert [entry[:2] for entry in master_role[2]] == [[b"127.0.0.1", str(replica.port).encode()]]
    flags = lambda server: [re.search(r" flags=(\S+)", line).group(1)  # noqa: E731
                            for line in server.client().call("CLIENT", "LIST").decode().splitlines()]
    assert "M" in flags(replica)
    assert "S" in flags(master)
    listed = master.client().call("CLIENT", "LIST", "TYPE", "replica").decode().splitlines()
    assert len(listed) == 1 and " flags=S " in listed[0]


def test_replica_refuses_writes_from_its_clients(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    replicate(replica, master)
    client = replica.client()
    assert client.call("SET", "k", "v") == READONLY
    assert client.call("GET", "k") is None
    assert client.pipeline(("MULTI",), ("SET", "k", "v"), ("EXEC",)) == [
        "OK", READONLY, "EXECABORT Transaction discarded because of previous errors."]
    master.client().call("SET", "k", "from the master")
    wait_for(lambda: client.call("GET", "k") == b"from the master", "the master's write on the replica")
    assert client.call("CONFIG", "SET", "replica-read-only", "no") == "OK"
    assert client.call("SET", "local", "1") == "OK"


def test_partial_resync_after_the_link_is_cut(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    fill(master.client())
    replicate(replica, master)
    in_sync(master, replica)
    writer = master.client()
    assert writer.call("SELECT", 5) == "OK"
    writer.call("SET", "before", "the cut")  # the stream is in database 5 now
    in_sync(master, replica)
    before = stats(master)
    assert replica.client().call("CLIENT", "KILL", "TYPE", "master") == 1
    writer.call("SET", "after", "the cut")  # (no SELECT: the stream goes on in database 5)
    wait_for(lambda: stats(master)["sync_partial_ok"] == before["sync_partial_ok"] + 1, "a partial resync")
    wait_for(lambda: link_up(replica), "the link up again")
    write_more(master.client())
    in_sync(master, replica)
    assert stats(master)["sync_full"] == before["sync_full"]


def test_promoted_replica_serves_the_other_replica_partially(pair):
    """M with replicas R1 and R2; R1 is promoted (REPLICAOF NO ONE), R2 is pointed at it and
    continues where it was (PSYNC2: the old id is R1's second one). R1 is of the other kind
    than M and R2."""
    first, second = pair
    master = first.start(**MASTER_OPTIONS)
    promoted = second.start(**MASTER_OPTIONS)
    other = first.start()
    fill(master.client())
    replicate(promoted, master)
    replicate(other, master)
    write_more(master.client())
    in_sync(master, promoted, other)
    old = info(promoted.client(), "replication")
    assert promoted.client().call("REPLICAOF", "NO", "ONE") == "OK"
    now = info(promoted.client(), "replication")
    assert now["role"] == "master"
    assert now["master_replid2"] == old["master_replid"] != now["master_replid"]
    assert int(now["second_repl_offset"]) == int(now["master_repl_offset"]) + 1
    assert promoted.client().call("SET", "after", "promotion") == "OK"
    replicate(other, promoted)
    in_sync(promoted, other)
    assert stats(promoted) == {"sync_full": 0, "sync_partial_ok": 1, "sync_partial_err": 0}
    assert other.client().call("GET", "after") == b"promotion"


def test_disk_based_full_sync(pair):
    masters, replicas = pair
    master = masters.start(**{"repl-diskless-sync": "no"})
    replica = replicas.start()
    fill(master.client())
    replicate(replica, master)
    in_sync(master, replica)
    write_more(master.client())
    in_sync(master, replica)
    assert stats(master)["sync_full"] == 1
    assert int(info(master.client(), "persistence")["rdb_saves"]) >= 1  # the copy was a BGSAVE


def test_wait_counts_acknowledging_replicas(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    client = master.client()
    assert client.call("WAIT", 0, 0) == 0
    replicate(replica, master)
    client.call("SET", "k", "v")
    assert client.call("WAIT", 1, 0) == 1  # (0: no time limit)
    started = time.monotonic()
    assert client.call("WAIT", 2, 300) == 1  # only one replica: the time runs out
    assert time.monotonic() - started >= 0.29
    assert client.call("WAIT", 1, -1) == "ERR timeout is negative"
    assert client.call("WAIT", 1, "x") == "ERR timeout is not an integer or out of range"
    assert replica.client().call("WAIT", 0, 0).startswith("ERR WAIT cannot be used with replica instances.")


def test_wait_counts_replicas_of_both_kinds(pair):
    """One master, a replica of each kind (with --peer-server of another implementation): WAIT
    counts both once both acknowledged, and ROLE and INFO list both."""
    first, second = pair
    master = first.start(**MASTER_OPTIONS)
    same, other = first.start(), second.start()
    client = master.client()
    replicate(same, master)
    replicate(other, master)
    client.call("SET", "k", "v")
    assert client.call("WAIT", 2, 0) == 2
    in_sync(master, same, other)
    role = client.call("ROLE")
    assert sorted(int(port) for _, port, _ in role[2]) == sorted([same.port, other.port])
    assert info(client, "replication")["connected_slaves"] == "2"


def test_log_lines_of_a_sync(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    replicate(replica, master)
    replid = info(master.client(), "replication")["master_replid"]
    master_lines = (f"Replica 127.0.0.1:{replica.port} asks for synchronization",
                    "Starting BGSAVE for SYNC with target: replicas sockets",
                    f"Synchronization with replica 127.0.0.1:{replica.port} succeeded")
    # (Redis logs the last one once its cron has seen the child end: maybe after the replica
    # has loaded the copy)
    wait_for(lambda: all(line in master.log_tail(200) for line in master_lines), f"the master's lines {master_lines}")
    replica_log = replica.log_tail(200)
    for line in (f"Connecting to MASTER 127.0.0.1:{master.port}", "MASTER <-> REPLICA sync started",
                 "Master replied to PING, replication can continue...",
                 f"Full resync from master: {replid}:",
                 "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to disk",
                 "MASTER <-> REPLICA sync: Loading DB in memory",
                 "MASTER <-> REPLICA sync: Finished with success"):
        assert line in replica_log


def test_replicaof_answers(launcher):
    server = launcher.start()
    client = server.client()
    assert client.call("REPLICAOF", "NO", "ONE") == "OK"  # a master already: nothing to do
    assert client.call("REPLICAOF", "127.0.0.1", "port") == "ERR Invalid master port"
    assert client.call("REPLICAOF", "127.0.0.1", 65536) == "ERR Invalid master port"
    nobody = launcher.start()
    port = nobody.port
    nobody.stop()  # a master that does not answer
    assert client.call("SLAVEOF", "127.0.0.1", port) == "OK"
    assert client.call("REPLICAOF", "127.0.0.1", port) == "OK Already connected to specified master"
    fields = info(client, "replication")
    assert fields["role"] == "slave" and fields["master_link_status"] == "down"
    assert fields["slave_repl_offset"] == fields["slave_read_repl_offset"]
    role = client.call("ROLE")
    assert role[:3] == [b"slave", b"127.0.0.1", port] and role[3] in (b"connect", b"connecting")
    assert client.call("WAIT", 0, 0).startswith("ERR WAIT cannot be used with replica instances.")
    # replica-serve-stale-data no: while the link is down only `stale` commands are served.
    assert client.call("CONFIG", "SET", "replica-serve-stale-data", "no") == "OK"
    masterdown = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
    assert client.call("GET", "k") == masterdown
    assert client.call("PING") == masterdown
    assert client.pipeline(("MULTI",), ("INFO", "server"), ("EXEC",))[2][0].startswith(b"# Server")
    assert client.pipeline(("MULTI",), ("GET", "k"), ("EXEC",)) == [
        "OK", masterdown, "EXECABORT Transaction discarded because of previous errors."]
    assert client.call("CONFIG", "SET", "replica-serve-stale-data", "yes") == "OK"
    assert client.call("GET", "k") is None
    id_before = info(client, "replication")["master_replid"]
    assert client.call("REPLICAOF", "no", "one") == "OK"
    fields = info(client, "replication")
    assert fields["role"] == "master" and fields["master_replid2"] == id_before


def test_replconf_options(launcher):
    client = launcher.start().client()
    assert client.call("REPLCONF") == "OK"
    assert client.call("REPLCONF", "listening-port", 6380, "capa", "eof", "capa", "psync2", "capa", "new") == "OK"
    assert client.call("REPLCONF", "listening-port") == "ERR syntax error"
    assert client.call("REPLCONF", "listening-port", "x") == "ERR value is not an integer or out of range"
    assert client.call("REPLCONF", "nonsense", 1) == "ERR Unrecognized REPLCONF option: nonsense"
    assert client.call("REPLCONF", "ip-address", "a" * 255) == "OK"
    assert client.call("REPLCONF", "ip-address", "a" * 256) == \
        "ERR REPLCONF ip-address provided by replica instance is too long: 256 bytes"
    assert client.call("REPLCONF", "rdb-only", 2) == "ERR value is out of range, value must between 0 and 1"
    assert client.call("REPLCONF", "rdb-filter-only", "functions") == "OK"
    assert client.call("REPLCONF", "rdb-filter-only", "keys") == "ERR Unsupported rdb-filter-only option: keys"
    # ACK from a client that is no replica, and GETACK to a master: no reply at all.
    for command in (("REPLCONF", "ack", 10), ("REPLCONF", "getack", "*"), ("PING",)):
        client.send_command(*command)
    assert client.read_reply() == "PONG"
    assert client.call("PSYNC", "?", "x") == "ERR value is not an integer or out of range"


def test_sync_and_psync_as_a_replica_sees_them(launcher):
    """SYNC: the copy without a +FULLRESYNC line; PSYNC ? -1: the line, then the copy, whose
    offset is the master's at the copy; newlines may come first while the master prepares."""
    server = launcher.start(**MASTER_OPTIONS)
    server.client().call("SET", "k", "v")
    old = server.client()
    old.send_command("SYNC")
    data = received_until(old, lambda got: got.lstrip(b"\n")[:1] == b"$").lstrip(b"\n")
    assert data.startswith(b"$")
    new = server.client()
    new.send_command("REPLCONF", "capa", "psync2")
    assert new.read_reply() == "OK"
    new.send_command("PSYNC", "?", -1)
    data = received_until(new, lambda got: b"\r\n" in got.lstrip(b"\n")).lstrip(b"\n")
    replid = info(server.client(), "replication")["master_replid"]
    assert re.match(rb"\+FULLRESYNC ([0-9a-f]{40}) (\d+)\r\n", data).group(1) == replid.encode()
    assert stats(server) == {"sync_full": 2, "sync_partial_ok": 0, "sync_partial_err": 0}
    # A PSYNC of this history from an offset the backlog holds: +CONTINUE and the stream.
    offset = int(info(server.client(), "replication")["master_repl_offset"])
    server.client().call("SET", "k2", "v2")
    again = server.client()
    again.send_command("REPLCONF", "capa", "psync2")
    assert again.read_reply() == "OK"
    again.send_command("PSYNC", replid, offset + 1)
    data = received_until(again, lambda got: b"k2" in got)
    assert data.startswith(f"+CONTINUE {replid}\r\n".encode())
    assert b"*3\r\n$3\r\nSET\r\n$2\r\nk2\r\n$2\r\nv2\r\n" in data
    assert stats(server)["sync_partial_ok"] == 1


def test_replicaof_directive_at_start_up(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    fill(master.client())
    replica = replicas.start(replicaof=["127.0.0.1", master.port])
    wait_for(lambda: link_up(replica), "the replica started with replicaof connected")
    in_sync(master, replica)
    # A replica that starts with no history of its own asks for a copy without naming one.
    assert stats(master) == {"sync_full": 1, "sync_partial_ok": 0, "sync_partial_err": 0}
    assert "Partial resynchronization not possible (no cached master)" in replica.log_tail(200)


def test_replica_with_an_append_only_file_keeps_the_copy_in_it(pair):
    """The AOF of a replica starts anew after a copy (a rewrite), so that it holds the copy and
    the stream after it: loaded again, it gives the master's data."""
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start(appendonly="yes")
    fill(master.client())
    replicate(replica, master)
    write_more(master.client())
    in_sync(master, replica)
    client = replica.client()

    def rewritten() -> bool:
        fields = info(client, "persistence")
        return fields["aof_rewrite_in_progress"] == "0" and fields["aof_rewrite_scheduled"] == "0"
    wait_for(rewritten, "the replica's AOF rewritten after the copy")
    digest = master.client().call("DEBUG", "DIGEST")
    assert client.call("DEBUG", "LOADAOF") == "OK"
    assert client.call("DEBUG", "DIGEST") == digest


def test_replica_authenticates_with_masterauth(pair):
    masters, replicas = pair
    master = masters.start(requirepass="secret", **MASTER_OPTIONS)
    owner = master.client()
    assert owner.call("AUTH", "secret") == "OK"
    owner.call("SET", "k", "v")
    replica = replicas.start(masterauth="wrong")
    client = replica.client()
    assert client.call("REPLICAOF", "127.0.0.1", master.port) == "OK"
    wait_for(lambda: "Unable to AUTH to MASTER: -WRONGPASS" in replica.log_tail(200), "a refused AUTH logged")
    assert info(client, "replication")["master_link_status"] == "down"
    assert client.call("CONFIG", "SET", "masterauth", "secret") == "OK"
    wait_for(lambda: link_up(replica), "the link up with the right password")
    wait_for(lambda: client.call("GET", "k") == b"v", "the data copied")
    assert owner.call("DEBUG", "DIGEST") == client.call("DEBUG", "DIGEST")


def test_master_pings_its_replicas(pair):
    masters, replicas = pair
    master = masters.start(**{"repl-ping-replica-period": 1}, **MASTER_OPTIONS)
    replica = replicas.start()
    replicate(replica, master)
    offset = int(info(replica.client(), "replication")["slave_repl_offset"])
    # No write: the stream grows by the PINGs alone, and the replica follows.
    wait_for(lambda: int(info(replica.client(), "replication")["slave_repl_offset"]) >= offset + 14 * 2,
             "two PINGs (14 bytes each) applied by the replica")
    in_sync(master, replica)


def test_a_master_that_does_not_answer_is_given_up_and_tried_again(launcher):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # connections are made (the kernel accepts them), never answered
    try:
        replica = launcher.start(**{"repl-timeout": 1})
        client = replica.client()
        assert client.call("REPLICAOF", "127.0.0.1", silent.getsockname()[1]) == "OK"
        wait_for(lambda: replica.log_tail(200).count("Timeout connecting to the MASTER...") >= 2,
                 "the handshake given up twice")
        assert info(client, "replication")["master_link_status"] == "down"
    finally:
        silent.close()


def test_min_replicas_to_write(pair):
    masters, replicas = pair
    master = masters.start(**{"min-replicas-to-write": 1}, **MASTER_OPTIONS)
    client = master.client()
    assert client.call("SET", "k", "v") == "NOREPLICAS Not enough good replicas to write."
    assert client.pipeline(("MULTI",), ("SET", "k", "v"), ("EXEC",)) == [
        "OK", "NOREPLICAS Not enough good replicas to write.",
        "EXECABORT Transaction discarded because of previous errors."]
    assert client.call("GET", "k") is None  # reads go on
    assert info(client, "replication")["min_slaves_good_slaves"] == "0"
    replica = replicas.start()
    replicate(replica, master)
    wait_for(lambda: client.call("SET", "k", "v") == "OK", "a write accepted with a good replica")
    assert info(client, "replication")["min_slaves_good_slaves"] == "1"
    in_sync(master, replica)


def test_backlog_freed_after_repl_backlog_ttl_without_replicas(pair):
    masters, replicas = pair
    master = masters.start(**{"repl-backlog-ttl": 1}, **MASTER_OPTIONS)
    replica = replicas.start()
    replicate(replica, master)
    client = master.client()
    replid = info(client, "replication")["master_replid"]
    assert replica.client().call("REPLICAOF", "NO", "ONE") == "OK"
    wait_for(lambda: info(client, "replication")["repl_backlog_active"] == "0", "the backlog freed")
    fields = info(client, "replication")
    assert fields["connected_slaves"] == "0" and fields["master_replid"] != replid
    assert (fields["repl_backlog_first_byte_offset"], fields["repl_backlog_histlen"]) == ("0", "0")
    assert "Replication backlog freed after 1 seconds without connected replicas." in master.log_tail(100)


def test_a_chain_of_replicas(pair):
    """A master, its replica, and a replica of that replica (of the other kind): the
    sub-replica gets the master's stream as its replica passes it on, in the right database
    although no SELECT follows its copy."""
    first, second = pair
    master = first.start(**MASTER_OPTIONS)
    middle = second.start(**MASTER_OPTIONS)
    end = first.start()
    writer = master.client()
    fill(writer)
    replicate(middle, master)
    assert writer.call("SELECT", 5) == "OK"
    writer.call("SET", "before", "the sub-replica")  # the stream is in database 5
    in_sync(master, middle)
    replicate(end, middle)
    in_sync(middle, end)
    writer.call("SET", "after", "the sub-replica")  # no SELECT in the stream
    write_more(writer)
    in_sync(master, middle, end)
    client = end.client()
    client.call("SELECT", 5)
    assert client.call("GET", "after") == b"the sub-replica"
    # One history: the same id and offset everywhere (polled: a PING may be on its way).
    wait_for(lambda: len({(fields["master_replid"], fields["master_repl_offset"])
                          for fields in (info(node.client(), "replication") for node in (master, middle, end))}) == 1,
             "the same replication id and offset on the three")


def test_clients_blocked_on_a_master_becoming_a_replica_are_told_and_disconnected(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    server = replicas.start()
    blocked = server.client()
    blocked.send_command("BLPOP", "list", 0)
    client = server.client()
    wait_for(lambda: info(client, "clients")["blocked_clients"] == "1", "BLPOP blocked")
    replicate(server, master)
    assert blocked.read_reply() == \
        "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
    assert blocked.is_closed(timeout=DEADLINE)


def test_master_restarted_from_its_rdb_lets_its_replica_continue(pair):
    """A master's RDB file names its replication history (AUX repl-id, repl-offset): restarted
    from it, the master keeps that history as its second id, with a backlog, and its replica
    continues partially."""
    masters, replicas = pair
    master = masters.start(**{"repl-ping-replica-period": 3600}, **MASTER_OPTIONS)  # no PING between
    replica = replicas.start()
    fill(master.client())
    replicate(replica, master)
    write_more(master.client())
    in_sync(master, replica)

    def acknowledged() -> bool:  # (else Redis's SHUTDOWN asks for an ACK: a GETACK in the stream)
        fields = info(master.client(), "replication")
        return re.search(r",offset=(\d+),", fields["slave0"]).group(1) == fields["master_repl_offset"]
    wait_for(acknowledged, "the replica's ACK of everything")
    assert master.client().call("SAVE") == "OK"
    before = info(master.client(), "replication")
    master.restart()
    after = info(master.client(), "replication")
    assert after["master_replid2"] == before["master_replid"] != after["master_replid"]
    assert int(after["second_repl_offset"]) == int(before["master_repl_offset"]) + 1
    assert after["repl_backlog_active"] == "1"
    wait_for(lambda: link_up(replica), "the replica connected again")
    assert stats(master) == {"sync_full": 0, "sync_partial_ok": 1, "sync_partial_err": 0}
    write_more(master.client())
    in_sync(master, replica)


def test_replica_restarted_from_its_rdb_continues(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start(replicaof=["127.0.0.1", master.port])
    fill(master.client())
    wait_for(lambda: link_up(replica), "the replica connected")
    write_more(master.client())
    in_sync(master, replica)
    assert replica.client().call("SAVE") == "OK"
    replica.restart()
    wait_for(lambda: link_up(replica), "the restarted replica connected again")
    assert stats(master) == {"sync_full": 1, "sync_partial_ok": 1, "sync_partial_err": 0}
    master.client().call("SET", "after", "the restart")
    in_sync(master, replica)
