"""How a replica loads its master's copy (spec/replication.md, "Loading the copy"):
`repl-diskless-load disabled` (to disk, then loaded), `on-empty-db` (from the socket when the
replica holds no key) and `swapdb` (from the socket, beside the old data, which stays until the
copy is complete); what the replica serves meanwhile, and what it keeps when the copy breaks.

Real masters (the `pair` fixture) for whole copies; a master played by the test
(conformance/fake_master.py) for copies cut short or sent a little at a time.
"""
from __future__ import annotations

import os
import select

import pytest

from conformance import rdb_bytes
from conformance.fake_master import FakeMaster
from conformance.readings import info
from conformance.replicas import MASTER_OPTIONS, fill, in_sync, replicate, wait_for

pytestmark = pytest.mark.internals("debug")  # DEBUG DIGEST compares the datasets

RECEIVING = "MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF {}"
FLUSHING = "MASTER <-> REPLICA sync: Flushing old data"
SWAPPING = "MASTER <-> REPLICA sync: Swapping active DB with loaded DB"
DISCARDING_OLD = "MASTER <-> REPLICA sync: Discarding old DB in background"
DISCARDING_TEMPORARY = "MASTER <-> REPLICA sync: Discarding temporary DB in background"
SHORT_READ = "Failure loading rdb format from socket, assuming connection error, resuming operation."
FAILED_FROM_SOCKET = "Failed trying to load the MASTER synchronization DB from socket: "
LOADING = "LOADING Redis is loading the dataset in memory"


def log_after(server, mark: str) -> str:
    """The server's log from the last line containing `mark` on."""
    text = server.log_tail(400)
    return text[text.rindex(mark):]


@pytest.mark.parametrize("mode, holds_keys, to_parser", [
    ("disabled", True, False),
    ("on-empty-db", False, True),
    ("on-empty-db", True, False),  # not empty: to disk, as disabled
    ("swapdb", True, True),
])
def test_each_mode_loads_the_copy_its_way(pair, mode, holds_keys, to_parser):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    fill(master.client())
    replica = replicas.start(**{"repl-diskless-load": mode})
    if holds_keys:
        replica.client().call("SET", "old", "replaced by the copy")
    replicate(replica, master)
    in_sync(master, replica)
    assert replica.client().call("EXISTS", "old") == 0
    log = log_after(replica, "Full resync from master")
    assert RECEIVING.format("to parser" if to_parser else "to disk") in log
    assert (FLUSHING in log) == (mode != "swapdb")
    assert (SWAPPING in log and DISCARDING_OLD in log) == (mode == "swapdb")
    assert "MASTER <-> REPLICA sync: Finished with success" in log
    # A copy loaded from the socket is not written to the replica's dbfilename.
    assert os.path.exists(os.path.join(replica.dir, "dump.rdb")) == (not to_parser)


def test_a_copy_of_known_length_loaded_from_the_socket(pair):
    masters, replicas = pair
    master = masters.start(**{"repl-diskless-sync": "no"})  # a file saved first: `$<length>`
    fill(master.client())
    replica = replicas.start(**{"repl-diskless-load": "swapdb"})
    replicate(replica, master)
    in_sync(master, replica)
    log = log_after(replica, "Full resync from master")
    size = os.path.getsize(os.path.join(master.dir, "dump.rdb"))
    assert f"MASTER <-> REPLICA sync: receiving {size} bytes from master to parser" in log


def test_without_persistence_the_copy_on_disk_is_removed(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    fill(master.client())
    replica = replicas.start(**{"rdb-del-sync-files": "yes"})  # (and no save points, no AOF)
    replicate(replica, master)
    in_sync(master, replica)
    assert ("Removing the RDB file obtained from the master. This replica has persistence disabled"
            in log_after(replica, "Full resync from master"))
    assert not os.path.exists(os.path.join(replica.dir, "dump.rdb"))


# --- a master played by the test ------------------------------------------------------------------

def big_copy(keys: int = 100) -> tuple[bytes, list[bytes]]:
    """An RDB file of `keys` strings of 1000 bytes in db 0, and their names."""
    names = [b"new%d" % i for i in range(keys)]
    body = b"".join(rdb_bytes.key(rdb_bytes.STRING, name, rdb_bytes.string(b"x" * 1000)) for name in names)
    return rdb_bytes.rdb_file(bytes([rdb_bytes.SELECTDB, 0]) + body), names


@pytest.fixture
def fake_master():
    master = FakeMaster()
    yield master
    master.close()


def follow(replica, master: FakeMaster) -> None:
    """REPLICAOF the fake master, through the handshake up to its PSYNC."""
    assert replica.client().call("REPLICAOF", "127.0.0.1", master.port) == "OK"
    commands = master.accept()
    assert commands[-1][0].upper() == b"PSYNC"


@pytest.mark.parametrize("mode, holds_keys, to_parser", [
    ("disabled", True, False),
    ("on-empty-db", False, True),
    ("on-empty-db", True, False),
    ("swapdb", True, True),
])
def test_a_copy_cut_short_leaves_nothing_of_it(launcher, fake_master, mode, holds_keys, to_parser):
    """The link closes half-way through the copy: the replica keeps its old data (to disk, or
    swapdb) or stays empty (on-empty-db, from the socket): no key of the copy is served; no
    file is left behind. It connects again at once."""
    replica = launcher.start(**{"repl-diskless-load": mode})
    client = replica.client()
    if holds_keys:
        client.call("SET", "old", "kept")
    copy, _ = big_copy()
    follow(replica, fake_master)
    fake_master.full_resync("a" * 40, 0, len(copy))
    fake_master.send(copy[:len(copy) // 2])
    fake_master.hang_up()
    fake_master.listener.accept()[0].close()  # it came back at once
    assert client.call("KEYS", "*") == ([b"old"] if holds_keys else [])
    assert client.call("DBSIZE") == int(holds_keys)
    left = os.listdir(replica.dir)
    assert "dump.rdb" not in left and not [name for name in left if name.startswith("temp-")]
    log = log_after(replica, "Full resync from master")
    if to_parser:
        assert SHORT_READ in log and FAILED_FROM_SOCKET in log
        assert (DISCARDING_TEMPORARY in log) == (mode == "swapdb")
    else:
        assert "I/O error trying to sync with MASTER: connection lost" in log
    assert f"Reconnecting to MASTER 127.0.0.1:{fake_master.port} after failure" in log


def reply_while_feeding(client, master: FakeMaster, rest: bytes, chunk: int = 2048) -> tuple[object, bytes]:
    """Send `rest` a piece at a time until the client's pending reply has come (Redis, loading
    from the socket, serves clients only between two pieces of the copy it reads); the reply
    and what is left of `rest`."""
    while True:
        readable, _, _ = select.select([client.sock], [], [], 1.0)
        if readable:
            return client.read_reply(), rest
        assert rest, "no reply while the copy came"
        master.send(rest[:chunk])
        rest = rest[chunk:]


def loading_seen(client, master: FakeMaster, rest: bytes) -> tuple[bytes, bytes]:
    """Ask INFO persistence (feeding the copy meanwhile) until it shows the copy loading; its
    reply, and what is left of `rest`."""
    while True:
        client.send_command("INFO", "persistence")
        reply, rest = reply_while_feeding(client, master, rest)
        if b"loading:1" in reply:  # (loading:1 or async_loading:1)
            return reply, rest


@pytest.mark.parametrize("same_history", [False, True], ids=["new-history", "same-history"])
def test_swapdb_serves_the_old_data_only_while_it_continues_the_same_history(
        launcher, fake_master, same_history):
    """swapdb: while the copy loads, commands get LOADING (INFO: loading:1), except when the
    copy continues the replica's own history (the same replication id): then the old data is
    still served (async_loading:1). Once the copy is complete, it replaces the old data."""
    replica = launcher.start(**{"repl-diskless-load": "swapdb", "loading-process-events-interval-bytes": 1024})
    client = replica.client()
    client.call("SET", "old", "served")
    replid = info(client, "replication")["master_replid"] if same_history else "b" * 40
    copy, names = big_copy()
    follow(replica, fake_master)
    fake_master.full_resync(replid, 0, len(copy))
    fake_master.send(copy[:8192])
    reply, rest = loading_seen(client, fake_master, copy[8192:])
    assert b"loading:%d\r\nasync_loading:%d\r\n" % (not same_history, same_history) in reply
    client.send_command("GET", "old")
    reply, rest = reply_while_feeding(client, fake_master, rest)
    assert reply == (b"served" if same_history else LOADING)
    assert rest, "the copy ended before the test could see it loading"
    fake_master.send(rest)
    wait_for(lambda: client.call("DBSIZE") == len(names), "the copy loaded")
    assert client.call("EXISTS", "old") == 0
    fields = info(client, "persistence")
    assert (fields["loading"], fields["async_loading"]) == ("0", "0")
    log = log_after(replica, "Full resync from master")
    assert SWAPPING in log and DISCARDING_OLD in log


def test_on_empty_db_answers_loading_while_the_copy_loads(launcher, fake_master):
    replica = launcher.start(**{"repl-diskless-load": "on-empty-db", "loading-process-events-interval-bytes": 1024})
    client = replica.client()
    copy, names = big_copy()
    follow(replica, fake_master)
    fake_master.full_resync("c" * 40, 0, len(copy))
    fake_master.send(copy[:8192])
    reply, rest = loading_seen(client, fake_master, copy[8192:])  # (INFO is served while loading)
    assert b"loading:1\r\nasync_loading:0\r\n" in reply and b"loading_start_time:" in reply
    client.send_command("DBSIZE")
    reply, rest = reply_while_feeding(client, fake_master, rest)
    assert reply == LOADING
    assert rest, "the copy ended before the test could see it loading"
    fake_master.send(rest)
    wait_for(lambda: client.call("DBSIZE") == len(names), "the copy loaded")


def damaged(copy: bytes, damage: str) -> bytes:
    if damage == "checksum":
        return copy[:-1] + bytes([copy[-1] ^ 1])
    if damage == "unknown-type":  # the first key's type byte (after REDIS0009 and SELECTDB 0)
        return copy[:11] + b"\x55" + copy[12:]
    assert damage == "signature"
    return b"XEDIS" + copy[5:]


@pytest.mark.parametrize("damage, mode, outcome", [
    ("checksum", "disabled", "exits"),
    ("checksum", "swapdb", "exits"),
    ("unknown-type", "disabled", "exits"),
    ("unknown-type", "swapdb", "retries"),  # (Redis takes it for a short read)
    ("signature", "disabled", "retries"),
    ("signature", "swapdb", "retries"),
])
def test_a_damaged_copy(launcher, fake_master, damage, mode, outcome):
    """A damaged copy ends the replica's process, as a damaged file at start-up does; except
    what Redis's loader takes for a broken link, and a copy that is no RDB file at all: the
    copy is asked for again. Either way nothing of it is served: the old data stays (swapdb)
    or is gone (to disk: flushed before the file is loaded)."""
    replica = launcher.start(**{"repl-diskless-load": mode})
    client = replica.client()
    client.call("SET", "old", "1")
    copy, _ = big_copy(20)
    copy = damaged(copy, damage)
    follow(replica, fake_master)
    fake_master.full_resync("a" * 40, 0, len(copy))
    fake_master.send(copy)
    if outcome == "exits":
        wait_for(lambda: not replica.is_running(), "the replica exited")
        assert replica.process.returncode == 1
        log = log_after(replica, "Full resync from master")
        if damage == "checksum":
            assert "Wrong RDB checksum expected: " in log and "RDB CRC error" in log
        if mode == "swapdb":
            assert "RDB CRC error. Failure loading rdb format\n" in log
            assert "Terminating server after rdb file reading failure." in log
        return
    fake_master.listener.accept()[0].close()  # it came back at once
    assert client.call("KEYS", "*") == ([b"old"] if mode == "swapdb" else [])
    log = log_after(replica, "Full resync from master")
    destination = "socket" if mode == "swapdb" else "disk"
    if damage == "signature":
        assert "Wrong signature trying to load DB from file" in log
        assert f"Failed trying to load the MASTER synchronization DB from {destination}: Invalid argument" in log
    else:
        assert "Unknown RDB encoding type 85. " + SHORT_READ in log and FAILED_FROM_SOCKET in log
    assert f"Reconnecting to MASTER 127.0.0.1:{fake_master.port} after failure" in log


@pytest.mark.parametrize("mode", ["disabled", "swapdb"])
def test_a_background_save_of_the_old_data_is_stopped_before_the_copy_loads(pair, mode):
    """A BGSAVE of the replica's old data still running when the copy is loaded is killed (its
    file would replace the copy's on disk), logged when the copy came to disk."""
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    fill(master.client())
    replica = replicas.start(**{"repl-diskless-load": mode, "rdb-key-save-delay": 1_000_000})  # 1 s a key
    client = replica.client()
    for n in range(60):
        client.call("SET", f"old{n}", n)
    assert client.call("BGSAVE") == "Background saving started"
    replicate(replica, master)
    in_sync(master, replica)
    # (its end is seen, and logged, by the cron)
    wait_for(lambda: info(client, "persistence")["rdb_bgsave_in_progress"] == "0", "the save stopped")
    assert info(client, "persistence")["rdb_last_bgsave_status"] == "ok"  # stopped, not failed
    log = log_after(replica, "Full resync from master")
    assert "Background saving terminated by signal 10" in log
    killing = "Replica is about to load the RDB file received from the master, but there is a pending RDB child running."
    assert (killing in log) == (mode == "disabled")
    assert not [name for name in os.listdir(replica.dir) if name.startswith("temp-")]
