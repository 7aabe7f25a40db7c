"""Keys past their time on a replica (spec/replication.md, "Expiry on a replica"): the replica
does not expire keys itself, it waits for its master's DEL; meanwhile a key past its time is
hidden from reads but still stored (DBSIZE and DEBUG DIGEST count it). The master's commands
see it as alive; a client's write on a writable replica deletes it. A copy loaded by a replica
keeps keys already past their time.

The master runs with DEBUG SET-ACTIVE-EXPIRE 0 and nobody reads its keys there, so that it sends no
DEL until the test makes it: keys past their time are kept on both sides deterministically.
"""
from __future__ import annotations

import pytest

from conformance.readings import info
from conformance.replicas import MASTER_OPTIONS, in_sync, replicate, wait_for

pytestmark = pytest.mark.internals("debug")  # DEBUG DIGEST, DEBUG SET-ACTIVE-EXPIRE


def master_keeping_expired_keys(masters):
    master = masters.start(**MASTER_OPTIONS)
    assert master.client().call("DEBUG", "SET-ACTIVE-EXPIRE", 0) == "OK"
    return master


def past_its_time(client, key: bytes | str) -> None:
    """Wait until key, which has an expiry, is past it as the replica `client` is on sees it
    (a replica's PTTL does not delete it)."""
    wait_for(lambda: client.call("PTTL", key) == -2, f"{key} past its time")


def master_clock_past(master, ms: int) -> None:
    """Wait until the keys just given an expiry of `ms` on the master are past it there, without
    touching them (a master's read would delete them): through a key of its own, in db 9,
    given the same expiry after them."""
    clock = master.client()
    clock.call("SELECT", 9)
    clock.call("SET", "clock", 1, "PX", ms)
    wait_for(lambda: clock.call("PTTL", "clock") == -2, "the master's clock past the keys' time")


def test_a_replica_hides_a_key_past_its_time_from_reads_and_keeps_it(pair):
    masters, replicas = pair
    master = master_keeping_expired_keys(masters)
    replica = replicas.start()
    replicate(replica, master)
    writer = master.client()
    writer.call("SET", "kept", "v")
    writer.call("SET", "volatile", "gone soon", "PX", 300)
    in_sync(master, replica)
    client = replica.client()
    past_its_time(client, "volatile")
    misses = int(info(client, "stats")["keyspace_misses"])
    assert client.call("GET", "volatile") is None
    assert client.call("MGET", "volatile", "kept") == [None, b"v"]
    assert client.call("EXISTS", "volatile", "kept") == 1
    assert client.call("TTL", "volatile") == -2
    assert client.call("EXPIRETIME", "volatile") == -2
    assert client.call("TYPE", "volatile") == "none"
    assert client.call("STRLEN", "volatile") == 0
    assert client.call("TOUCH", "volatile") == 0
    assert client.call("OBJECT", "ENCODING", "volatile") is None
    assert client.call("DUMP", "volatile") is None
    assert client.call("KEYS", "*") == [b"kept"]
    assert client.call("SCAN", 0)[1] == [b"kept"]
    assert all(client.call("RANDOMKEY") == b"kept" for _ in range(20))
    assert int(info(client, "stats")["keyspace_misses"]) > misses
    # ... but still there: counted, in the digest, never expired here.
    assert client.call("DBSIZE") == 2
    assert info(client, "keyspace")["db0"] == "keys=2,expires=1,avg_ttl=0"
    assert info(client, "stats")["expired_keys"] == "0"
    assert client.call("DEBUG", "DIGEST") == writer.call("DEBUG", "DIGEST")
    # A replica reloading its own file keeps it too (only a master leaves such keys out).
    assert client.call("DEBUG", "RELOAD") == "OK"
    assert client.call("DBSIZE") == 2 and client.call("GET", "volatile") is None
    # The master expires it when it meets it: its DEL removes it from the replica.
    assert writer.call("GET", "volatile") is None
    wait_for(lambda: client.call("DBSIZE") == 1, "the master's DEL applied")
    in_sync(master, replica)


def test_randomkey_on_a_replica_whose_keys_are_all_past_their_time(pair):
    """Every key has an expiry, every one past it: RANDOMKEY still answers one of them (after
    a bounded number of draws) rather than draw for ever."""
    masters, replicas = pair
    master = master_keeping_expired_keys(masters)
    replica = replicas.start()
    replicate(replica, master)
    names = [b"a", b"b", b"c"]
    for name in names:
        master.client().call("SET", name, "v", "PX", 200)
    in_sync(master, replica)
    client = replica.client()
    for name in names:
        past_its_time(client, name)
    assert client.call("RANDOMKEY") in names
    assert client.call("DBSIZE") == 3


def test_a_write_on_the_master_expires_the_key_there_and_the_replica_follows(pair):
    """The master's write of a key past its time deletes it first (a DEL in the stream), then
    runs: the replica, which kept the key, ends with what the master has."""
    masters, replicas = pair
    master = master_keeping_expired_keys(masters)
    replica = replicas.start()
    replicate(replica, master)
    writer = master.client()
    writer.call("SET", "counter", 10, "PX", 300)
    master_clock_past(master, 300)
    in_sync(master, replica)
    client = replica.client()
    past_its_time(client, "counter")
    assert client.call("DEBUG", "DIGEST") == writer.call("DEBUG", "DIGEST")  # kept on both sides
    assert writer.call("INCR", "counter") == 1
    in_sync(master, replica)
    assert client.call("GET", "counter") == b"1" and client.call("TTL", "counter") == -1


def test_a_writable_replica_deletes_a_key_past_its_time_when_its_client_writes_it(pair):
    masters, replicas = pair
    master = master_keeping_expired_keys(masters)
    replica = replicas.start(**{"replica-read-only": "no"})
    replicate(replica, master)
    writer = master.client()
    for name in ("incremented", "deleted", "read"):
        writer.call("SET", name, 41, "PX", 300)
    in_sync(master, replica)
    client = replica.client()
    for name in ("incremented", "deleted", "read"):
        past_its_time(client, name)
    assert client.call("GET", "read") is None  # a read hides it, and keeps it
    assert client.call("DBSIZE") == 3
    assert client.call("INCR", "incremented") == 1  # a write deletes it first: 1, not 42
    assert client.call("TTL", "incremented") == -1
    assert info(client, "stats")["expired_keys"] == "1"
    assert client.call("DEL", "deleted") == 1  # DEL removes what is stored, and counts it
    assert client.call("DBSIZE") == 2
    # A key its own client gave an expiry the replica expires itself (its master knows nothing
    # of it), with no read; the master's key past its time stays until the master's DEL.
    client.call("SET", "own", "v", "PX", 200)
    wait_for(lambda: client.call("DBSIZE") == 2 and info(client, "stats")["expired_keys"] == "2",
             "the replica's own key expired actively")
    assert client.call("KEYS", "*") == [b"incremented"]


def test_a_replica_keeps_the_keys_past_their_time_of_the_copy_it_loads(pair):
    """Only a master leaves out, when it loads a file, the keys already past their time: a
    replica loading its master's copy keeps them (hidden) until the master's DEL."""
    masters, replicas = pair
    master = master_keeping_expired_keys(masters)
    writer = master.client()
    writer.call("SET", "kept", "v")
    writer.call("SET", "volatile", "v", "PX", 200)
    master_clock_past(master, 200)
    replica = replicas.start()
    replicate(replica, master)
    in_sync(master, replica)  # (the digests count the key past its time on both sides)
    client = replica.client()
    assert client.call("DBSIZE") == 2 and client.call("EXISTS", "volatile") == 0
    assert "Done loading RDB, keys loaded: 2, keys expired: 0." in replica.log_tail(200)
    # (db 9's clock key was deleted by the master: not in the copy)
    fields = info(client, "persistence")
    assert (fields["rdb_last_load_keys_loaded"], fields["rdb_last_load_keys_expired"]) == ("2", "0")
