"""The keyspace: lazy and active expiry, counted statistics."""
from reference.keyspace import Keyspace


def make():
    keyspace = Keyspace(2)
    keyspace.clock.ms = 1_000_000
    return keyspace, keyspace[0]


def test_a_key_past_its_time_is_gone_when_read():
    keyspace, db = make()
    db.set(b"k", b"v")
    db.set_expire(b"k", 1_000_500)
    assert db.get(b"k") == b"v"
    keyspace.clock.ms = 1_000_500
    assert db.get(b"k") is None
    assert b"k" not in db.data and b"k" not in db.expires
    assert keyspace.stats["expired_keys"] == 1


def test_set_clears_the_expiry_unless_kept():
    _, db = make()
    db.set(b"k", b"v")
    db.set_expire(b"k", 2_000_000)
    db.set(b"k", b"w", keep_ttl=True)
    assert db.ttl_ms(b"k") == 1_000_000
    db.set(b"k", b"x")
    assert db.ttl_ms(b"k") is None


def test_active_expiry_reaps_keys_nobody_reads():
    keyspace, db = make()
    for i in range(100):
        db.set(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, 1_000_100 if i % 2 else 9_000_000)
    keyspace.clock.ms = 1_000_100
    reaped = 0
    for _ in range(20):
        reaped += db.expire_some(20)
    assert reaped == 50
    assert len(db) == 50 and len(db.expires) == 50
    assert all(int(k[1:]) % 2 == 0 for k in db.data)


def test_active_expiry_survives_changes_between_calls():
    keyspace, db = make()
    for i in range(50):
        db.set(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, 1_000_001)
    db.expire_some(10)
    db.delete(b"k30")
    db.set(b"new", b"v")
    db.set_expire(b"new", 1_000_001)
    keyspace.clock.ms = 2_000_000
    for _ in range(20):
        db.expire_some(20)
    assert len(db) == 0


def test_hits_and_misses_are_counted_by_read_lookups():
    keyspace, db = make()
    db.set(b"k", b"v")
    db.lookup_read(b"k")
    db.lookup_read(b"nope")
    assert keyspace.stats["keyspace_hits"] == 1 and keyspace.stats["keyspace_misses"] == 1


def test_swap_exchanges_contents_and_expiries():
    keyspace, db = make()
    db.set(b"k", b"v")
    db.set_expire(b"k", 5_000_000)
    keyspace.swap(0, 1)
    assert len(keyspace[0]) == 0 and keyspace[1].ttl_ms(b"k") == 4_000_000
