"""FAILOVER (spec/replication.md): a master hands its role over to a replica, writes paused
meanwhile; and what PSYNC ... FAILOVER does on the target.

As in test_replication.py, the server under test plays one part and --peer-server the other
(`pair`): with `--peer-server redis-server` a master of the reference fails over to a real
replica, and a real master to a replica of the reference. A replica is kept behind by pausing
its writes (CLIENT PAUSE WRITE holds the commands its master sends), so that a failover waits.
Every step is polled for with a generous deadline.
"""
from __future__ import annotations

import pytest

from conformance.blocking import wait_until_blocked
from conformance.readings import info
from conformance.replicas import MASTER_OPTIONS, READONLY, fill, in_sync, link_up, replicate, stats, wait_for

pytestmark = pytest.mark.internals("debug")  # DEBUG DIGEST compares the datasets


def state(server) -> str:
    return info(server.client(), "replication")["master_failover_state"]


def role(server) -> str:
    return info(server.client(), "replication")["role"]


def logged(server, line: str) -> None:
    wait_for(lambda: line in server.log_tail(300), f"{server} logging {line!r}")


def replica_of(replica, master) -> bool:
    fields = info(replica.client(), "replication")
    return fields["role"] == "slave" and fields["master_port"] == str(master.port) and link_up(replica)


def online(master) -> None:
    """Wait until the master counts its replica online (its copy sent: the target must be)."""
    wait_for(lambda: "state=online" in info(master.client(), "replication")["slave0"], f"{master}'s replica online")


def held_behind(replica, master) -> None:
    """Keep the replica behind: its writes paused, then a write on the master it cannot apply."""
    assert replica.client().call("CLIENT", "PAUSE", 1000000, "WRITE") == "OK"
    master.client().call("SET", "behind", "1")
    wait_for(lambda: int(info(replica.client(), "replication")["slave_read_repl_offset"])
             > int(info(replica.client(), "replication")["slave_repl_offset"]), "the replica holding a write back")


def test_failover_to_a_named_replica(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start(**MASTER_OPTIONS)
    fill(master.client())
    replicate(replica, master)
    in_sync(master, replica)
    online(master)
    before = stats(replica)
    assert master.client().call("FAILOVER", "TO", "127.0.0.1", replica.port) == "OK"
    wait_for(lambda: replica_of(master, replica), "the old master following the new one")
    assert role(replica) == "master"
    assert state(master) == state(replica) == "no-failover"
    # The old master continued partially with the new one: PSYNC2 across the hand-over.
    assert stats(replica) == {**before, "sync_partial_ok": before["sync_partial_ok"] + 1}
    assert master.client().call("SET", "k", "v") == READONLY
    assert replica.client().call("SET", "k", "from the new master") == "OK"
    in_sync(replica, master)
    assert master.client().call("GET", "k") == b"from the new master"
    logged(master, f"FAILOVER requested to 127.0.0.1:{replica.port}.")
    logged(master, f"Failover target 127.0.0.1:{replica.port} is synced, failing over.")
    replid = info(replica.client(), "replication")["master_replid2"]
    logged(replica, f"Failover request received for replid {replid}.")
    logged(replica, "MASTER MODE enabled (failover request from '")


def test_failover_to_any_replica(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start(**MASTER_OPTIONS)
    replicate(replica, master)
    master.client().call("SET", "k", "v")
    in_sync(master, replica)
    assert master.client().call("FAILOVER") == "OK"
    wait_for(lambda: replica_of(master, replica), "the old master following its replica")
    assert role(replica) == "master"
    logged(master, "FAILOVER requested to any replica.")
    logged(master, f"Failover target 127.0.0.1:{replica.port} is synced, failing over.")
    in_sync(replica, master)


def test_a_failover_waits_with_writes_paused_until_aborted(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start(**MASTER_OPTIONS)
    replicate(replica, master)
    held_behind(replica, master)
    client = master.client()
    assert client.call("FAILOVER") == "OK"
    assert state(master) == "waiting-for-sync"
    assert client.call("FAILOVER") == "ERR FAILOVER already in progress."
    assert client.call("REPLICAOF", "NO", "ONE") == "ERR REPLICAOF not allowed while failing over."
    assert client.call("CLIENT", "UNPAUSE") == "OK"  # (the failover's pause is its own)
    writer = master.client()
    writer.send_command("SET", "k", "held")
    wait_until_blocked(client, 1)
    assert client.call("GET", "k") is None
    assert client.call("FAILOVER", "ABORT") == "OK"
    assert writer.read_reply() == "OK"
    assert state(master) == "no-failover" and role(master) == "master"
    assert client.call("FAILOVER", "ABORT") == "ERR No failover in progress."
    logged(master, "FAILOVER to any replica aborted: Failover manually aborted")
    assert replica.client().call("CLIENT", "UNPAUSE") == "OK"
    in_sync(master, replica)


def test_a_failover_gives_up_at_its_timeout(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start(**MASTER_OPTIONS)
    replicate(replica, master)
    held_behind(replica, master)
    online(master)
    client = master.client()
    assert client.call("FAILOVER", "TO", "127.0.0.1", replica.port, "TIMEOUT", 300) == "OK"
    logged(master, f"FAILOVER to 127.0.0.1:{replica.port} aborted: Replica never caught up before timeout")
    assert state(master) == "no-failover" and role(master) == "master"
    assert client.call("SET", "k", "v") == "OK"  # writes go on
    assert replica.client().call("CLIENT", "UNPAUSE") == "OK"
    in_sync(master, replica)


def test_a_forced_failover_hands_over_at_its_timeout(pair):
    """FORCE: the target takes over although it is behind; the old master, asking for more than
    the target has, is resynchronised in full and loses the write the target never applied."""
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start(**MASTER_OPTIONS)
    replicate(replica, master)
    master.client().call("SET", "kept", "1")
    in_sync(master, replica)
    held_behind(replica, master)
    online(master)
    before = stats(replica)
    assert master.client().call("FAILOVER", "TO", "127.0.0.1", replica.port, "FORCE", "TIMEOUT", 300) == "OK"
    logged(master, f"FAILOVER to 127.0.0.1:{replica.port} time out exceeded, failing over.")
    wait_for(lambda: replica_of(master, replica), "the old master following the new one")
    assert role(replica) == "master"
    assert state(master) == state(replica) == "no-failover"
    assert stats(replica)["sync_full"] == before["sync_full"] + 1
    assert replica.client().call("CLIENT", "UNPAUSE") == "OK"
    in_sync(replica, master)
    assert master.client().call("GET", "behind") is None
    assert master.client().call("GET", "kept") == b"1"


def test_failover_errors(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    client = master.client()
    assert client.call("FAILOVER") == "ERR FAILOVER requires connected replicas."
    assert client.call("FAILOVER", "ABORT") == "ERR No failover in progress."
    for words, error in (
            (("ABORT", "TIMEOUT", 5), "ERR syntax error"),
            (("TIMEOUT", 0, "ABORT"), "ERR FAILOVER timeout must be greater than 0"),
            (("TIMEOUT", -5), "ERR FAILOVER timeout must be greater than 0"),
            (("TIMEOUT", "x"), "ERR value is not an integer or out of range"),
            (("TIMEOUT", 5, "TIMEOUT", 6), "ERR syntax error"),
            (("TO", "127.0.0.1"), "ERR syntax error"),
            (("TO", "127.0.0.1", "port", "TIMEOUT", 0), "ERR value is not an integer or out of range"),
            (("FORCE", "FORCE"), "ERR syntax error"),
            (("BOGUS", "TIMEOUT", 0), "ERR syntax error"),
            (("TO", "a", 1, "TO", "b", 2), "ERR syntax error")):
        assert client.call("FAILOVER", *words) == error, words
    replica = replicas.start()
    replicate(replica, master)
    online(master)
    assert client.call("FAILOVER", "FORCE") == (
        "ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
    assert client.call("FAILOVER", "TO", "127.0.0.1", replica.port, "FORCE") == (
        "ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
    assert client.call("FAILOVER", "TO", "127.0.0.2", replica.port) == "ERR FAILOVER target HOST and PORT is not a replica."
    assert client.call("FAILOVER", "TO", "127.0.0.1", replica.port + 1) == (
        "ERR FAILOVER target HOST and PORT is not a replica.")
    assert replica.client().call("FAILOVER") == "ERR FAILOVER is not valid when server is a replica."
    assert state(master) == "no-failover"
    assert client.call("SET", "k", "v") == "OK"  # nothing paused


def test_psync_failover_on_the_wrong_server(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    replicate(replica, master)
    replid = info(master.client(), "replication")["master_replid"]
    assert master.client().call("PSYNC", replid, 1, "FAILOVER") == "ERR PSYNC FAILOVER can't be sent to a master."
    assert replica.client().call("PSYNC", "0" * 40, 1, "failover") == "ERR PSYNC FAILOVER replid must match my replid."
    assert role(replica) == "slave"
    logged(replica, f"Failover request received for replid {'0' * 40}.")


def test_a_paused_replica_holds_its_masters_stream(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    replicate(replica, master)
    in_sync(master, replica)
    held_behind(replica, master)  # (its offset stays short of what it received)
    assert replica.client().call("GET", "behind") is None
    assert replica.client().call("CLIENT", "UNPAUSE") == "OK"
    in_sync(master, replica)
    assert replica.client().call("GET", "behind") == b"1"


def test_wait_asks_for_acks_only_once_writes_resume(pair):
    """While clients are paused WAIT's REPLCONF GETACK is held back (it would move the offset
    a failover waits for the replica to reach); it goes out once the pause ends."""
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS, **{"repl-ping-replica-period": "3600"})
    replica = replicas.start()
    replicate(replica, master)
    client = master.client()
    client.call("SET", "k", "v")
    assert client.call("WAIT", 1, 0) == 1
    fields = info(client, "replication")
    offset = int(fields["master_repl_offset"])
    wait_for(lambda: f"offset={offset}," in info(client, "replication")["slave0"], "the replica acknowledging all")
    assert client.call("CLIENT", "PAUSE", 100000, "WRITE") == "OK"
    assert client.call("WAIT", 2, 50) == 1  # blocks (one replica only), then times out
    assert int(info(client, "replication")["master_repl_offset"]) == offset
    assert client.call("CLIENT", "UNPAUSE") == "OK"
    getack = len(b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n")
    wait_for(lambda: int(info(client, "replication")["master_repl_offset"]) == offset + getack,
             "the GETACK sent once unpaused")


def test_a_target_that_refuses_the_psync_ends_the_failover(pair):
    """The target stopped being a replica before the hand-over: it refuses PSYNC ... FAILOVER,
    and the old master becomes a master again, writes resumed."""
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start(**MASTER_OPTIONS)
    replicate(replica, master)
    held_behind(replica, master)
    online(master)
    client = master.client()
    assert client.call("FAILOVER", "TO", "127.0.0.1", replica.port, "FORCE", "TIMEOUT", 500) == "OK"
    assert replica.client().call("REPLICAOF", "NO", "ONE") == "OK"
    logged(master, f"FAILOVER to 127.0.0.1:{replica.port} aborted: Failover target rejected psync request")
    logged(replica, "Failover request received for replid")
    wait_for(lambda: role(master) == "master" and state(master) == "no-failover", "the old master a master again")
    assert client.call("SET", "k", "v") == "OK"
