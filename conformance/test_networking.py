"""A client that does not read its replies, and the limit on clients: a reply larger than the
socket buffers waits for the client to read it while the connection goes on (later commands run
and their replies follow, QUIT closes it only once all is sent, CLIENT LIST flags it `c`
meanwhile); past maxclients a new connection is told so and closed."""
from __future__ import annotations

import re
import time

import pytest

from conformance.client import encode_command

BIG = 24 * 1024 * 1024  # far more than the kernel buffers a connection between two processes


def listed(observer, name: str) -> dict[str, str]:
    """The CLIENT LIST fields of the connection called `name` ({} if there is none)."""
    for line in observer.call("CLIENT", "LIST").decode().splitlines():
        fields = dict(re.findall(r"(\S+)=(\S*)", line))
        if fields.get("name") == name:
            return fields
    return {}


def wait_for_command(observer, name: str, command: str) -> dict[str, str]:
    deadline = time.monotonic() + 30
    while (fields := listed(observer, name)).get("cmd") != command:
        assert time.monotonic() < deadline, f"{name} never ran {command}: {fields}"
        time.sleep(0.02)
    return fields


def test_a_reply_that_waits_for_the_client_to_read_it(client, client_factory):
    value = b"0123456789abcdef" * (BIG // 16)
    assert client.call("SET", "big", value) == "OK"
    slow = client_factory()
    assert slow.call("CLIENT", "SETNAME", "slow") == "OK"
    slow.send_raw(encode_command(["GET", "big"]))
    wait_for_command(client, "slow", "get")
    slow.send_raw(encode_command(["PING"]))  # its reply queues behind the unsent part
    wait_for_command(client, "slow", "ping")
    slow.send_raw(encode_command(["QUIT"]))
    assert "c" in wait_for_command(client, "slow", "quit")["flags"]
    assert slow.read_reply() == value
    assert slow.read_reply() == "PONG"
    assert slow.read_reply() == "OK"
    assert slow.is_closed(timeout=10)
    assert listed(client, "slow") == {}


@pytest.mark.launches
def test_no_more_clients_than_maxclients(launcher):
    server = launcher.start()
    first = server.client()
    assert first.call("CONFIG", "SET", "maxclients", 1) == "OK"
    refused = server.client()
    assert refused.read_all_until_closed() == b"-ERR max number of clients reached\r\n"
    assert first.call("PING") == "PONG"
