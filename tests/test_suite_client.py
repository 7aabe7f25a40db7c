"""Unit tests of the conformance suite's raw client (conformance/client.py) against a scripted
peer: a reply that never comes fails with the command named, and the connection is closed."""

import socket

import pytest

from conformance import client as client_module
from conformance.client import Client, ReplyTimeout, describe_command


@pytest.fixture
def scripted():
    """(client, peer): a Client with a short reply timeout, and the socket it talks to."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = Client("127.0.0.1", listener.getsockname()[1], timeout=0.3)
        peer, _ = listener.accept()
    yield client, peer
    client.close()
    peer.close()


def test_a_missing_reply_names_the_command_and_closes_the_connection(scripted):
    client, peer = scripted
    with pytest.raises(ReplyTimeout) as failure:
        client.call("OBJECT", "FREQ", b"k")
    port = client.port
    assert str(failure.value) == f"no reply to 'OBJECT FREQ k' within 0.3s from 127.0.0.1:{port}"
    assert isinstance(failure.value, TimeoutError)
    peer.sendall(b":1\r\n")  # too late: it must not pass for the next command's reply
    with pytest.raises(ConnectionError, match="closed: no reply to 'OBJECT FREQ k'"):
        client.call("PING")


def test_in_a_pipeline_the_first_unanswered_command_is_named(scripted):
    client, peer = scripted
    peer.sendall(b"+OK\r\n")
    with pytest.raises(ReplyTimeout, match="no reply to 'GET a'"):
        client.pipeline(("SET", "a", "1"), ("GET", "a"), ("GET", "b"))


def test_extra_replies_do_not_confuse_the_naming(scripted):
    client, peer = scripted
    client.send_command("SUBSCRIBE", "a", "b")
    peer.sendall(b"*1\r\n:1\r\n*1\r\n:2\r\n")  # two replies to one command
    assert client.read_reply() == [1] and client.read_reply() == [2]
    with pytest.raises(ReplyTimeout, match="no further reply after 'SUBSCRIBE a b'"):
        client.read_reply()


def test_a_probe_with_its_own_timeout_leaves_the_connection_usable(scripted):
    client, peer = scripted
    with pytest.raises(TimeoutError) as probe:
        client.next_push(timeout=0.05)
    assert not isinstance(probe.value, ReplyTimeout)
    peer.sendall(b"+PONG\r\n")
    assert client.call("PING") == "PONG"


def test_the_default_reply_timeout_is_the_module_setting(monkeypatch):
    monkeypatch.setattr(client_module, "DEFAULT_REPLY_TIMEOUT", 1.5)
    with socket.create_server(("127.0.0.1", 0)) as listener:
        with Client("127.0.0.1", listener.getsockname()[1]) as client:
            assert client.timeout == 1.5 and client.sock.gettimeout() == 1.5


def test_the_observer_sees_every_command_sent(scripted, monkeypatch):
    client, peer = scripted
    seen = []
    monkeypatch.setattr(client_module, "command_observer", seen.append)
    client.send_command("SET", "k", 1)
    client.send_raw(b"PING\r\n")  # raw bytes are not a command the client can name
    peer.sendall(b"+OK\r\n+OK\r\n")
    client.pipeline(("GET", "k"))
    assert seen == [("SET", "k", 1), ("GET", "k")]


def test_the_reply_observer_hears_each_reply_with_what_it_answers(scripted, monkeypatch):
    client, peer = scripted
    heard = []
    monkeypatch.setattr(client_module, "reply_observers", [lambda command, reply: heard.append((command, reply))])
    peer.sendall(b"+OK\r\n$1\r\nv\r\n")
    client.pipeline(("SET", "k", "v"), ("GET", "k"))
    assert heard == [("'SET k v'", "OK"), ("'GET k'", b"v")]


def test_text_the_client_decoded_goes_back_as_it_came(scripted):
    client, peer = scripted
    peer.sendall(b"+\xb0<\r\n")  # a simple string that is no UTF-8
    text = client.read_reply()
    client.send_command("RESTORE", "k", 0, text)
    assert peer.recv(100).endswith(b"$2\r\n\xb0<\r\n")


def test_describe_command_shortens_long_commands():
    assert describe_command(("SET", b"k\xff", 1.5)) == repr("SET k\udcff 1.5")
    assert describe_command(("SET", "k", "v" * 200)).endswith("...'")
