"""Unit tests of the transactions family's handlers (reference/commands/transactions.py) on a
bare keyspace: what WATCH registers, what makes EXEC fail, what ends a transaction."""
from types import SimpleNamespace

import pytest

from reference.commands import transactions
from reference.dispatch import CommandError
from reference.keyspace import Keyspace
from reference.protocol import NULL_ARRAY, ErrorReply
from reference.server import Server


@pytest.fixture
def keyspace():
    return Keyspace(2)


def make_client(keyspace):
    # Only what the handlers use; Server.unwatch_all does not use its server.
    server = SimpleNamespace(unwatch_all=lambda client: Server.unwatch_all(None, client))
    return SimpleNamespace(server=server, db=keyspace[0], transaction=None,
                           transaction_failed=False, dirty_cas=False, watched={}, in_exec=False)


def watch(client, *keys):
    return transactions.watch(client, {"key": list(keys)})


def test_watch_registers_each_key_once(keyspace):
    client = make_client(keyspace)
    watch(client, b"k", b"k", b"j")
    watch(client, b"k")
    db = keyspace[0]
    assert client.watched == {(db, b"k"): False, (db, b"j"): False}  # -> expired when watched?
    assert db.watched_keys == {b"k": [client], b"j": [client]}


def test_a_write_marks_the_watcher_a_read_does_not(keyspace):
    client, other = make_client(keyspace), make_client(keyspace)
    watch(client, b"k")
    db = keyspace[0]
    db.lookup_read(b"k")
    assert not client.dirty_cas
    db.set(b"other", b"v")
    keyspace[1].set(b"k", b"v")  # same name, other database
    assert not client.dirty_cas and not other.dirty_cas
    db.set(b"k", b"v")
    assert client.dirty_cas and not other.dirty_cas


def test_flush_marks_only_existing_watched_keys(keyspace):
    client = make_client(keyspace)
    watch(client, b"missing")
    keyspace[0].flush()
    assert not client.dirty_cas
    keyspace[0].set(b"there", b"v")
    watch(client, b"there")
    keyspace[0].flush()
    assert client.dirty_cas


def test_a_key_already_expired_when_watched_counts_as_absent(keyspace):
    client = make_client(keyspace)
    db = keyspace[0]
    db.set(b"k", b"v")
    db.set_expire(b"k", db.clock.ms - 1)
    watch(client, b"k")
    assert b"k" in db.data  # WATCH looks nothing up (no DEL written), it remembers instead
    assert client.watched == {(db, b"k"): True}
    assert not transactions.watched_key_expired(client)
    assert db.get(b"k") is None  # its deletion now is no change
    assert not client.dirty_cas and client.watched == {(db, b"k"): False}
    db.set(b"k", b"v")  # but a new value is
    assert client.dirty_cas


def test_a_watched_key_whose_time_passed_is_a_change(keyspace):
    client = make_client(keyspace)
    db = keyspace[0]
    db.set(b"k", b"v")
    db.set_expire(b"k", db.clock.ms + 1000)
    watch(client, b"k")
    assert not transactions.watched_key_expired(client)
    db.clock.ms += 1000
    assert transactions.watched_key_expired(client)  # still stored, but its time has come
    client.transaction = []
    assert transactions.exec_(client, {}) is NULL_ARRAY


def test_exec_after_a_change_is_null_and_ends_everything(keyspace):
    client = make_client(keyspace)
    watch(client, b"k")
    keyspace[0].set(b"k", b"v")
    assert transactions.multi(client, {}) == "OK"
    client.transaction.append([b"GET", b"k"])
    assert transactions.exec_(client, {}) is NULL_ARRAY
    assert client.transaction is None and client.watched == {} and not client.dirty_cas
    assert keyspace[0].watched_keys == {}


def test_exec_of_a_doomed_transaction_aborts_first(keyspace):
    client = make_client(keyspace)
    watch(client, b"k")
    keyspace[0].set(b"k", b"v")
    transactions.multi(client, {})
    client.transaction_failed = True
    assert transactions.exec_(client, {}) == ErrorReply(transactions.EXECABORT)
    assert client.transaction is None and not client.transaction_failed and client.watched == {}


def test_errors_outside_and_inside_multi(keyspace):
    client = make_client(keyspace)
    for handler, error in ((transactions.exec_, "ERR EXEC without MULTI"),
                           (transactions.discard, "ERR DISCARD without MULTI")):
        with pytest.raises(CommandError, match=error):
            handler(client, {})
    transactions.multi(client, {})
    with pytest.raises(CommandError, match="ERR MULTI calls can not be nested"):
        transactions.multi(client, {})
    with pytest.raises(CommandError, match="ERR WATCH inside MULTI is not allowed"):
        watch(client, b"k")
    assert client.transaction == [] and not client.transaction_failed  # neither dooms it


def test_discard_and_unwatch_forget_the_watches(keyspace):
    client = make_client(keyspace)
    watch(client, b"k")
    transactions.multi(client, {})
    assert transactions.discard(client, {}) == "OK"
    assert client.transaction is None and client.watched == {}
    watch(client, b"k")
    keyspace[0].set(b"k", b"v")
    assert transactions.unwatch(client, {}) == "OK"
    assert client.watched == {} and not client.dirty_cas
