"""The keyspace: lazy and active expiry, counted statistics."""
import pytest

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
    assert db.expires[b"k"] - db.clock.ms == 1_000_000
    db.set(b"k", b"x")
    assert b"k" not in db.expires


def test_active_expiry_reaps_keys_nobody_reads():
    keyspace, db = make()
    for i in range(100):
        db.set(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, 1_000_100 if i % 2 else 9_000_000)
    keyspace.clock.ms = 1_000_100
    reaped = 0
    for _ in range(20):
        reaped += db.expire_some(20)[1]
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


def test_active_expire_cycle_estimates_the_stale_share():
    keyspace, db = make()
    other = keyspace[1]
    for i in range(30):
        db.set(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, 1_000_001)  # past its time below
    for i in range(10):
        other.set(b"live%d" % i, b"v")
        other.set_expire(b"live%d" % i, 1_100_000)
    keyspace.clock.ms = 1_000_100
    keyspace.active_expire_cycle(60.0)
    # every key looked at: 30 stale of 40 sampled, weighed 5% into an estimate that was 0
    assert len(db) == 0 and keyspace.stats["expired_keys"] == 30
    assert keyspace.stats["expired_stale_perc"] == pytest.approx(0.05 * 30 / 40)
    assert other.avg_ttl == 99_900 and db.avg_ttl == 0
    keyspace.active_expire_cycle(60.0)  # nothing stale now: the estimate decays
    assert keyspace.stats["expired_stale_perc"] == pytest.approx(0.95 * 0.05 * 30 / 40)
    assert keyspace.stats["expired_time_cap_reached_count"] == 0


def test_active_expire_cycle_counts_reaching_its_time_limit():
    keyspace, db = make()
    for i in range(100):
        db.set(b"k%d" % i, b"v")
        db.set_expire(b"k%d" % i, 1_000_001)
    keyspace.clock.ms = 1_000_100
    keyspace.active_expire_cycle(-1.0)  # out of time after the first sample
    assert keyspace.stats["expired_time_cap_reached_count"] == 1
    assert len(db) == 80


def test_flush_forgets_the_average_ttl():
    _, db = make()
    db.set(b"k", b"v")
    db.set_expire(b"k", 1_005_000)
    db.expire_some(20)
    assert db.avg_ttl == 5000
    db.flush()
    assert db.avg_ttl == 0


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
    assert len(keyspace[0]) == 0 and keyspace[1].expires[b"k"] - keyspace[1].clock.ms == 4_000_000
