"""WATCH across FLUSHDB, FLUSHALL and SWAPDB when the watched key is past its time (kept by
DEBUG SET-ACTIVE-EXPIRE 0), as Redis's touchAllWatchedKeysInDb decides: a key that was already
expired when watched and goes away, or is replaced by a key also past its time, is no change;
an absent key replaced by one past its time is no change either (it is then watched as expired);
anything else that a flush or a swap does to a watched key fails the EXEC."""
from __future__ import annotations

import time

import pytest

from conformance.test_transactions import transaction

pytestmark = pytest.mark.internals("DEBUG SET-ACTIVE-EXPIRE")


@pytest.fixture
def other(client, client_factory):
    """A second connection; keys past their time stay until something looks them up."""
    assert client.call("DEBUG", "SET-ACTIVE-EXPIRE", 0) == "OK"
    yield client_factory()
    client.call("DEBUG", "SET-ACTIVE-EXPIRE", 1)


def expired(client, db: int) -> None:
    """Key k in database db, past its time (and not looked at since)."""
    assert client.pipeline(("SELECT", db), ("SET", "k", "1", "PX", 1), ("SELECT", 0)) == ["OK"] * 3
    time.sleep(0.05)  # past its millisecond


def test_an_expired_watched_key_flushed_away_is_no_change(client, other):
    expired(client, 0)
    assert client.call("WATCH", "k") == "OK"
    assert other.call("FLUSHDB") == "OK"
    assert transaction(client, ("PING",)) == ["PONG"]


def test_an_expired_watched_key_swapped_for_an_expired_one_is_no_change(client, other):
    expired(client, 0)
    expired(client, 1)
    assert client.call("WATCH", "k") == "OK"
    assert other.call("SWAPDB", 0, 1) == "OK"
    assert transaction(client, ("PING",)) == ["PONG"]


def test_an_expired_watched_key_swapped_for_a_live_one_fails_exec(client, other):
    expired(client, 0)
    assert client.pipeline(("SELECT", 1), ("SET", "k", "2"), ("SELECT", 0)) == ["OK"] * 3
    assert client.call("WATCH", "k") == "OK"
    assert other.call("SWAPDB", 0, 1) == "OK"
    assert transaction(client, ("PING",)) is None


def test_an_absent_watched_key_swapped_for_an_expired_one_is_no_change(client, other):
    expired(client, 1)
    assert client.call("WATCH", "k") == "OK"
    assert other.call("SWAPDB", 0, 1) == "OK"
    assert transaction(client, ("PING",)) == ["PONG"]


def test_a_live_watched_key_flushed_fails_exec(client, other):
    assert client.call("SET", "k", "1") == "OK"
    assert client.call("WATCH", "k") == "OK"
    assert other.call("FLUSHALL") == "OK"
    assert transaction(client, ("PING",)) is None
