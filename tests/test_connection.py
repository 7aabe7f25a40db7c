"""Unit tests of the pure helpers in reference/commands/connection.py."""
import time
from types import SimpleNamespace

import pytest

from reference.commands import connection
from reference.dispatch import CommandError
from reference.reply_buffers import ReplyBuffer
from reference.values import BadValue


def fake_client(**changes):
    fields = dict(
        id=7, addr="127.0.0.1:5000", laddr="127.0.0.1:6379", fd=9, name=b"", created=time.time(),
        last_interaction=time.time(), kind="normal", channels={}, patterns={},
        shard_channels={}, transaction=None, blocked=False, postponed=None, dirty_cas=False,
        close_after_reply=False, unix_socket=False, db_index=0, out=[], writing=False, last_command="NULL",
        protocol=2,
        parser=SimpleNamespace(pending=lambda: 0), reply_buffer=ReplyBuffer(),
    )
    fields.update(changes)
    client = SimpleNamespace(**fields)
    client.subscription_count = lambda: len(client.channels) + len(client.patterns) + len(client.shard_channels)
    return client


@pytest.mark.parametrize("name, valid", [
    (b"", True), (b"abc", True), (b"!~", True), (b"a b", False), (b"a\n", False),
    (b"\x7f", False), (b"\x80", False), (b"\x00", False),
])
def test_valid_name(name, valid):
    assert connection.valid_name(name) is valid


@pytest.mark.parametrize("word, kind", [
    (b"normal", "normal"), (b"NORMAL", "normal"), (b"slave", "replica"), (b"Replica", "replica"),
    (b"pubsub", "pubsub"), (b"master", "master"),
])
def test_client_type_by_name(word, kind):
    assert connection.client_type_by_name(word) == kind


def test_client_type_by_name_unknown():
    with pytest.raises(CommandError, match="ERR Unknown client type 'monitor'"):
        connection.client_type_by_name(b"monitor")


def test_client_type():
    assert connection.client_type(fake_client()) == "normal"
    assert connection.client_type(fake_client(patterns={b"p*"})) == "pubsub"


def test_flag_letters_in_redis_order():
    assert connection.flag_letters(fake_client()) == "N"
    client = fake_client(channels={b"c": None}, transaction=[], dirty_cas=True, close_after_reply=True)
    assert connection.flag_letters(client) == "Pxdc"
    client = fake_client(channels={b"c": None}, close_after_reply=True, unix_socket=True)
    assert connection.flag_letters(client) == "PcU"
    assert connection.flag_letters(fake_client(unix_socket=True)) == "U"
    assert connection.flag_letters(fake_client(postponed=[b"SET", b"k", b"v"])) == "b"  # held by a pause


def test_describe_fields_in_order():
    line = connection.describe(fake_client(name=b"joe", transaction=[[b"SET", b"k", b"v"]]))
    names = [item.split("=", 1)[0] for item in line.split(" ")]
    assert names == ["id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub",
                     "ssub", "multi", "qbuf", "qbuf-free", "argv-mem", "multi-mem", "rbs", "rbp", "obl",
                     "oll", "omem", "tot-mem", "events", "cmd", "user", "redir", "resp"]
    assert "name=joe " in line and " flags=x " in line and " multi=1 " in line and " multi-mem=5 " in line


def test_read_kill_filters():
    filters = connection.read_kill_filters([b"id", b"3", b"TYPE", b"pubsub", b"SKIPME", b"No",
                                            b"ADDR", b"1.2.3.4:5", b"id", b"4"])
    assert filters == {"skipme": False, "id": 4, "type": "pubsub", "addr": "1.2.3.4:5"}


@pytest.mark.parametrize("words, error", [
    ([b"ID", b"0"], "ERR client-id should be greater than 0"),
    ([b"ID", b"x"], "ERR client-id should be greater than 0"),
    ([b"USER", b"bob"], "ERR No such user 'bob'"),
    ([b"SKIPME", b"y"], "ERR syntax error"),
    ([b"TYPE", b"normal", b"ID"], "ERR syntax error"),
])
def test_read_kill_filters_errors(words, error):
    with pytest.raises((CommandError, BadValue)) as caught:
        connection.read_kill_filters(words)
    assert caught.value.args[0] == error


def test_matches_kill_filters_spares_the_caller_unless_told():
    caller, other = fake_client(id=1), fake_client(id=2)
    assert connection.matches_kill_filters(other, caller, {"skipme": True})
    assert not connection.matches_kill_filters(caller, caller, {"skipme": True})
    assert connection.matches_kill_filters(caller, caller, {"skipme": False, "id": 1})
    assert not connection.matches_kill_filters(other, caller, {"skipme": True, "id": 1})
