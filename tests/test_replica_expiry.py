"""A replica's view of keys past their time (spec/replication.md, "Expiry on a replica"), in the
keyspace and in the RDB loader, and where a replica's copy goes (repl-diskless-load), in the
handshake: the parts that need no network."""
from reference.keyspace import ALIVE, DELETED, HIDDEN, Keyspace
from reference.persistence.crc64 import crc64
from reference.persistence.rdb import encode_string
from reference.persistence.rdb_load import DEFAULTS, parse_rdb
from reference.replication.link import FullResync, Greeting, Handshake


def keyspace_with_a_key_past_its_time(verdict) -> Keyspace:
    keyspace = Keyspace(1)
    db = keyspace[0]
    db.set(b"old", b"v", expire_at=keyspace.clock.ms - 1000)
    db.set(b"live", b"w")
    keyspace.effects.clear()
    keyspace.replica_expiry = None if verdict is None else (lambda: verdict)
    return keyspace


def test_a_master_deletes_a_key_past_its_time_when_it_meets_it():
    keyspace = keyspace_with_a_key_past_its_time(None)
    assert keyspace[0].get(b"old") is None and len(keyspace[0]) == 1
    assert keyspace.stats["expired_keys"] == 1 and keyspace.effects == [(0, [b"DEL", b"old"])]


def test_a_replica_hides_it_from_reads_keeps_it_and_writes_no_del():
    keyspace = keyspace_with_a_key_past_its_time(HIDDEN)
    db = keyspace[0]
    assert db.get(b"old") is None and db.lookup_read(b"old") is None
    assert len(db) == 2 and b"old" in db.expires
    assert keyspace.stats["expired_keys"] == 0 and keyspace.effects == []
    assert not db.already_expired(keyspace.clock.ms - 1)  # EXPIRE in the past keeps the key too


def test_to_the_masters_commands_it_is_alive_and_a_writable_replicas_write_deletes_it():
    keyspace = keyspace_with_a_key_past_its_time(ALIVE)
    assert keyspace[0].get(b"old") == b"v"
    keyspace = keyspace_with_a_key_past_its_time(DELETED)
    assert keyspace[0].get(b"old") is None and len(keyspace[0]) == 1
    assert keyspace.stats["expired_keys"] == 1


def _file_with_a_key_past_its_time() -> bytes:
    data = b"REDIS0010\xfe\x00" + b"\xfc" + (5).to_bytes(8, "little") + b"\x00" + encode_string(b"k") \
        + encode_string(b"v") + b"\xff"
    return data + crc64(data).to_bytes(8, "little")


def test_only_a_master_leaves_out_the_keys_past_their_time_of_a_file():
    data = _file_with_a_key_past_its_time()
    assert parse_rdb(data, {**DEFAULTS, "replicaof": None}, now_ms=10).data[0] == {}
    loaded = parse_rdb(data, {**DEFAULTS, "replicaof": ("127.0.0.1", 6379)}, now_ms=10)
    assert loaded.data[0] == {b"k": b"v"} and loaded.expires[0] == {b"k": 5} and loaded.keys_expired == 0


def test_the_handshake_asks_where_the_copy_goes_when_its_header_comes():
    events = []
    shake = Handshake(Greeting(6380), lambda: ("?", "-1"), lambda: events.append(("starts", shake.to_parser)),
                      lambda: events.append("asked") or True)
    shake.start()
    shake.receive(b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC " + b"b" * 40 + b" 7\r\n")
    assert events == [] and not shake.to_parser
    shake.receive(b"$3\r\nabc")
    assert events == ["asked", ("starts", True)]
    assert shake.outcome == FullResync("b" * 40, 7, b"abc", b"")


def test_a_writable_replica_expires_the_keys_its_clients_gave_a_time():
    keyspace = Keyspace(2)
    verdict = [DELETED]  # a client of a writable replica writing
    keyspace.replica_expiry = lambda: verdict[0]
    now = keyspace.clock.ms
    keyspace[1].set(b"own", b"v", expire_at=now - 1)
    keyspace[1].set(b"later", b"v", expire_at=now + 60_000)
    verdict[0] = ALIVE  # the master's
    keyspace[0].set(b"masters", b"v", expire_at=now - 1)
    assert keyspace.replica_own_expires == {b"own": {1}, b"later": {1}}
    keyspace.expire_replica_own_keys()
    assert b"own" not in keyspace[1].data and b"later" in keyspace[1].data and b"masters" in keyspace[0].data
    assert keyspace.replica_own_expires == {b"later": {1}} and keyspace.stats["expired_keys"] == 1
    keyspace[1].persist(b"later")
    keyspace.expire_replica_own_keys()  # no expiry any more: forgotten
    assert keyspace.replica_own_expires == {}
