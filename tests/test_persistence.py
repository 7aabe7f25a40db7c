"""The change counter saves and the AOF rely on (Redis's server.dirty)."""
from reference.keyspace import Keyspace


def test_each_change_counts_and_nothing_else_does():
    keyspace = Keyspace(2)
    db = keyspace[0]
    db.set(b"a", b"1")
    db.set(b"b", b"2")
    assert keyspace.dirty == 2
    assert db.delete(b"missing") is False and keyspace.dirty == 2
    db.set_expire(b"a", keyspace.clock.ms + 100_000)
    assert db.persist(b"a") is True and db.persist(b"a") is False
    assert keyspace.dirty == 4
    db.changed(b"b", 3)  # an in-place change of several elements
    assert keyspace.dirty == 7
    assert db.flush() == 2 and keyspace.dirty == 9


def test_expiry_is_not_a_change_but_is_recorded_for_the_aof():
    keyspace = Keyspace(1)
    db = keyspace[0]
    db.set(b"k", b"v")
    db.set_expire(b"k", keyspace.clock.ms + 10)
    before = keyspace.dirty
    keyspace.clock.ms += 20
    assert db.get(b"k") is None
    assert keyspace.dirty == before
    assert keyspace.effects[-1] == (0, [b"DEL", b"k"])
