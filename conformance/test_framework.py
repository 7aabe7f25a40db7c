"""Smoke tests of the suite's own machinery: the raw client, the fixtures, the launcher.

The decoder tests talk to a scripted socket (no server needed), so every RESP3
type is covered whatever the target supports; the others talk to the target.
"""

import math
import os
import socket
import time

import pytest

from conformance.client import Client, ErrorReply, Push, RespSet, Verbatim, encode_command
from conformance.targets import ServerLaunchError


# -- the decoder, against a scripted peer ------------------------------------


@pytest.fixture
def scripted():
    """(client, peer): a Client connected to a socket the test writes replies into."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = Client("127.0.0.1", listener.getsockname()[1], timeout=2.0)
        peer, _ = listener.accept()
    yield client, peer
    client.close()
    peer.close()


DECODED = [
    (b"+OK\r\n", "OK"),
    (b"-ERR syntax error\r\n", ErrorReply("ERR syntax error")),
    (b"!21\r\nSYNTAX invalid syntax\r\n", ErrorReply("SYNTAX invalid syntax")),
    (b":-42\r\n", -42),
    (b"(3492890328409238509324850943850943825024385\r\n", 3492890328409238509324850943850943825024385),
    (b"$5\r\na\r\n\x00b\r\n", b"a\r\n\x00b"),
    (b"$0\r\n\r\n", b""),
    (b"$-1\r\n", None),
    (b"*-1\r\n", None),
    (b"_\r\n", None),
    (b"*0\r\n", []),
    (b"*3\r\n:1\r\n$1\r\nx\r\n*1\r\n_\r\n", [1, b"x", [None]]),
    (b",1.5\r\n", 1.5),
    (b",inf\r\n", math.inf),
    (b",-inf\r\n", -math.inf),
    (b"#t\r\n", True),
    (b"#f\r\n", False),
    (b"%2\r\n$1\r\na\r\n:1\r\n+b\r\n_\r\n", {b"a": 1, "b": None}),
    (b"~2\r\n:1\r\n*1\r\n:2\r\n", RespSet([1, [2]])),
    (b"|1\r\n+ttl\r\n:3600\r\n$2\r\nhi\r\n", b"hi"),
    (b"*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", [1, 2]),
]


@pytest.mark.parametrize("wire, expected", DECODED, ids=[repr(w)[2:-1][:20] for w, _ in DECODED])
def test_decoding(scripted, wire, expected):
    client, peer = scripted
    peer.sendall(wire)
    reply = client.read_reply()
    assert reply == expected
    assert type(reply) is type(expected)


def test_nan_double(scripted):
    client, peer = scripted
    peer.sendall(b",nan\r\n")
    assert math.isnan(client.read_reply())


def test_verbatim_keeps_its_format(scripted):
    client, peer = scripted
    peer.sendall(b"=15\r\ntxt:Some string\r\n")
    reply = client.read_reply()
    assert isinstance(reply, Verbatim)
    assert (reply.format, str(reply)) == ("txt", "Some string")


def test_raw_reply_is_one_whole_frame_with_its_attribute(scripted):
    client, peer = scripted
    first = b"|1\r\n+key\r\n*2\r\n:1\r\n:2\r\n*2\r\n$1\r\na\r\n:7\r\n"
    peer.sendall(first + b"+next\r\n")
    assert client.read_raw_reply() == first
    assert client.read_raw_reply() == b"+next\r\n"


def test_frame_split_across_many_receives(scripted):
    client, peer = scripted
    wire = b"*2\r\n$10\r\n0123456789\r\n%1\r\n+k\r\n,2.5\r\n"
    for byte in wire:
        peer.sendall(bytes([byte]))
        time.sleep(0.001)
    assert client.read_raw_reply() == wire


def test_timeout_midway_keeps_the_partial_frame(scripted):
    client, peer = scripted
    peer.sendall(b"*2\r\n:1\r\n")
    with pytest.raises(TimeoutError):
        client.next_push(timeout=0.2)
    peer.sendall(b":2\r\n")
    assert client.read_reply() == [1, 2]


def test_pushes_are_queued_apart_from_replies(scripted):
    client, peer = scripted
    peer.sendall(b">2\r\n+message\r\n$1\r\nm\r\n+reply\r\n>1\r\n+later\r\n")
    assert client.read_reply() == "reply"
    assert client.next_push() == Push(["message", b"m"])
    assert client.next_raw_push() == b">1\r\n+later\r\n"


def test_replies_are_queued_while_awaiting_a_push(scripted):
    client, peer = scripted
    peer.sendall(b":1\r\n>1\r\n+p\r\n")
    assert client.next_push() == Push(["p"])
    assert client.read_reply() == 1


def test_command_encoding():
    assert encode_command(("SET", b"k\x00", 12, 1.5)) == b"*4\r\n$3\r\nSET\r\n$2\r\nk\x00\r\n$2\r\n12\r\n$3\r\n1.5\r\n"
    with pytest.raises(TypeError):
        encode_command(("SET", "k", True))


def test_closed_connection_is_seen(scripted):
    client, peer = scripted
    assert not client.is_closed(timeout=0.1)
    peer.sendall(b"-ERR bye\r\n")
    peer.close()
    assert client.read_all_until_closed(timeout=2) == b"-ERR bye\r\n"


def test_read_all_until_closed_times_out_on_an_open_connection(scripted):
    client, peer = scripted
    peer.sendall(b"+still here\r\n")
    with pytest.raises(TimeoutError, match="still here"):
        client.read_all_until_closed(timeout=0.2)


# -- the target ---------------------------------------------------------------


def test_ping(client):
    assert client.call("PING") == "PONG"
    assert client.call_raw("PING") == b"+PONG\r\n"


def test_exact_raw_bytes(client):
    assert client.call_raw("SET", "k", "v") == b"+OK\r\n"
    assert client.call_raw("GET", "k") == b"$1\r\nv\r\n"
    assert client.call_raw("GET", "missing") == b"$-1\r\n"
    assert client.call_raw("INCR", "n") == b":1\r\n"
    assert client.call_raw("MGET", "k", "missing") == b"*2\r\n$1\r\nv\r\n$-1\r\n"


def test_error_replies_are_returned(client):
    client.call("SET", "k", "v")
    reply = client.call("INCR", "k")
    assert reply == ErrorReply("ERR value is not an integer or out of range")
    assert reply.code == "ERR"
    assert client.call("PING") == "PONG"  # the connection goes on


def test_binary_safe_values(client):
    value = bytes(range(256)) + b"\r\n"
    assert client.call("SET", b"k\r\n\x00", value) == "OK"
    assert client.call("GET", b"k\r\n\x00") == value


def test_fixture_client_starts_on_an_empty_db0(client):
    assert client.call("DBSIZE") == 0
    client.call("SELECT", 1)
    assert client.call("DBSIZE") == 0


def test_resp3_via_hello(resp3_client):
    assert resp3_client.protover == 3
    assert resp3_client.call_raw("GET", "missing") == b"_\r\n"
    assert resp3_client.call_raw("CONFIG", "GET", "maxmemory") == b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n"
    assert resp3_client.call("CONFIG", "GET", "maxmemory") == {b"maxmemory": b"0"}
    hello = resp3_client.hello(3)
    assert hello[b"proto"] == 3


def test_hello_2_goes_back_to_resp2(resp3_client):
    reply = resp3_client.hello(2)
    assert isinstance(reply, list)
    assert resp3_client.protover == 2
    assert resp3_client.call_raw("GET", "missing") == b"$-1\r\n"


def test_pipelining(client):
    replies = client.pipeline(*[("INCR", "n") for _ in range(100)], ("GET", "n"))
    assert replies == [*range(1, 101), b"100"]


def test_raw_pipelined_bytes_in_one_write(client):
    client.send_raw(b"PING\r\n" + encode_command(("ECHO", "x")))  # inline then multibulk
    assert client.read_raw_reply() == b"+PONG\r\n"
    assert client.read_raw_reply() == b"$1\r\nx\r\n"


def test_two_clients(client, client_factory):
    other = client_factory()
    assert client.call("CLIENT", "ID") != other.call("CLIENT", "ID")
    client.call("SET", "k", "from first")
    assert other.call("GET", "k") == b"from first"


def test_resp3_push_while_awaiting_a_reply(resp3_client, client_factory):
    resp3_client.send_command("SUBSCRIBE", "ch")
    assert resp3_client.next_push() == Push([b"subscribe", b"ch", 1])
    publisher = client_factory()
    assert publisher.call("PUBLISH", "ch", "hello") == 1
    assert resp3_client.call("PING") == "PONG"  # the message arrived first, and was queued
    assert resp3_client.next_push() == Push([b"message", b"ch", b"hello"])


def test_protocol_error_closes_the_connection(client):
    client.send_raw(b"*1\r\n$not-a-number\r\n")
    received = client.read_all_until_closed(timeout=5)
    assert received.startswith(b"-ERR Protocol error")
    assert received.endswith(b"\r\n")


def test_quit_closes_the_connection(client):
    assert not client.is_closed(timeout=0.1)
    client.send_command("QUIT")
    assert client.is_closed(timeout=2)


# -- the launcher -------------------------------------------------------------


@pytest.mark.launches
def test_launched_server_gets_its_options(launcher):
    server = launcher.start(appendonly="yes", maxmemory_policy="allkeys-lru")
    with server.client() as client:
        assert client.call("PING") == "PONG"
        assert client.call("CONFIG", "GET", "dir") == [b"dir", server.dir.encode()]
        assert client.call("CONFIG", "GET", "save") == [b"save", b""]
        assert client.call("CONFIG", "GET", "appendonly") == [b"appendonly", b"yes"]
        assert client.call("CONFIG", "GET", "maxmemory-policy") == [b"maxmemory-policy", b"allkeys-lru"]
    assert os.path.exists(server.log_path)


@pytest.mark.launches
def test_stop_kill_restart(launcher):
    server = launcher.start()
    first_pid = server.process.pid
    server.kill()
    assert not server.is_running()
    server.restart()
    assert server.process.pid != first_pid
    with server.client() as client:
        assert client.call("CONFIG", "GET", "port") == [b"port", str(server.port).encode()]
        assert client.call("CONFIG", "GET", "dir") == [b"dir", server.dir.encode()]
    server.stop()
    assert server.process.returncode is not None


@pytest.mark.launches
def test_servers_share_a_dir_but_not_a_port(launcher, tmp_path):
    first = launcher.start(dir=str(tmp_path))
    second = launcher.start()
    assert first.port != second.port
    assert first.dir == str(tmp_path)


@pytest.mark.launches
def test_failed_launch_is_readable_and_leaves_nothing_running(launcher):
    with pytest.raises(ServerLaunchError) as failure:
        launcher.start(no_such_option="at-all")
    message = str(failure.value)
    assert "exited with status" in message
    assert "--no-such-option at-all" in message  # the command line
    assert "last lines of" in message  # and the server's own words
    assert all(not server.is_running() for server in launcher.servers)


@pytest.mark.launches
def test_stop_all_leaves_no_process(launcher):
    servers = [launcher.start() for _ in range(2)]
    launcher.stop_all()
    assert all(server.process.poll() is not None for server in servers)


@pytest.mark.launches
def test_launch_on_a_busy_port_touches_nothing(launcher):
    with socket.create_server(("", 0)) as busy:
        with pytest.raises(ServerLaunchError, match="already in use"):
            launcher.start(port=busy.getsockname()[1])


@pytest.mark.launches
def test_config_file_comes_first(launcher, tmp_path):
    config = tmp_path / "server.conf"
    config.write_text("maxmemory-policy volatile-lfu\n")
    server = launcher.start(config_file=str(config))
    with server.client() as client:
        assert client.call("CONFIG", "GET", "maxmemory-policy") == [b"maxmemory-policy", b"volatile-lfu"]
