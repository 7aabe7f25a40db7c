"""models/fault_proxy.py: forwarding, stall, cut, restore, and nothing left running after close."""
from __future__ import annotations

import socket
import threading

import pytest

from conformance.waiting import wait_for
from models.fault_proxy import CUT, FLOWING, STALLED, FaultProxy

TIMEOUT = 10.0


class Upstream:
    """A server on a free port that keeps every connection it accepts, to read and write on."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            sock.settimeout(TIMEOUT)
            self.accepted.append(sock)

    def connection(self, index: int = 0) -> socket.socket:
        return wait_for(lambda: len(self.accepted) > index and self.accepted[index], "the upstream connection")

    def close(self):
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept() (close alone does not)
        except OSError:
            pass
        self.listener.close()
        self.thread.join(TIMEOUT)
        for sock in self.accepted:
            sock.close()


@pytest.fixture
def upstream():
    server = Upstream()
    yield server
    server.close()


@pytest.fixture
def proxy(upstream):
    with FaultProxy(upstream.port) as proxy:
        yield proxy


def connect(proxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)
    return sock


def receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"closed after {data!r}"
        data += chunk
    return data


def is_closed(sock: socket.socket) -> bool:
    """The peer closed: recv gives b"" (or a reset)."""
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True


def nothing_arrives(sock: socket.socket, wait: float = 0.3) -> bool:
    sock.settimeout(wait)
    try:
        sock.recv(1)
        return False
    except TimeoutError:
        return True
    finally:
        sock.settimeout(TIMEOUT)


def proxy_threads(proxy) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith(f"proxy:{proxy.port} ")]


def test_forwards_both_ways(proxy, upstream):
    client = connect(proxy)
    client.sendall(b"ping")
    server = upstream.connection()
    assert receive(server, 4) == b"ping"
    server.sendall(b"x" * 200_000)  # more than one chunk
    assert receive(client, 200_000) == b"x" * 200_000
    assert proxy.mode == FLOWING and proxy.open_connections() == 1
    wait_for(lambda: proxy.forwarded == {"up": 4, "down": 200_000}, "the bytes counted")
    client.close()


def test_stall_holds_the_bytes_back_and_restore_sends_them_in_order(proxy, upstream):
    client = connect(proxy)
    client.sendall(b"a")
    server = upstream.connection()
    assert receive(server, 1) == b"a"
    proxy.stall()
    assert proxy.mode == STALLED
    server.sendall(b"12")
    client.sendall(b"b")
    assert nothing_arrives(client) and nothing_arrives(server)
    assert proxy.open_connections() == 1  # the connections stay open
    server.sendall(b"34")
    proxy.restore()
    assert receive(client, 4) == b"1234"
    assert receive(server, 1) == b"b"
    client.close()


def test_cut_closes_both_sides_and_refuses_until_restored(proxy, upstream):
    client = connect(proxy)
    server = upstream.connection()
    proxy.cut()
    assert proxy.mode == CUT and proxy.open_connections() == 0
    assert is_closed(client) and is_closed(server)
    later = connect(proxy)  # the kernel accepts; the proxy closes it at once
    assert is_closed(later)
    assert len(upstream.accepted) == 1  # and never connected it upstream
    proxy.restore()
    again = connect(proxy)
    again.sendall(b"after")
    assert receive(upstream.connection(1), 5) == b"after"
    for sock in (client, later, again):
        sock.close()


def test_a_cut_while_stalled_drops_what_was_held(proxy, upstream):
    client = connect(proxy)
    server = upstream.connection()
    proxy.stall()
    server.sendall(b"held")
    proxy.cut()
    assert is_closed(client)
    proxy.restore()
    client.close()


def test_one_side_closing_closes_the_other(proxy, upstream):
    client = connect(proxy)
    server = upstream.connection()
    server.close()
    assert is_closed(client)
    wait_for(lambda: proxy.open_connections() == 0, "the connection forgotten")
    client.close()


def test_nobody_upstream_is_a_closed_connection(upstream):
    port = upstream.port
    upstream.close()
    with FaultProxy(port) as proxy:
        assert is_closed(connect(proxy))


def test_close_ends_every_thread_and_socket(upstream):
    proxy = FaultProxy(upstream.port)
    clients = [connect(proxy) for _ in range(3)]
    for index in range(3):
        upstream.connection(index)
    wait_for(lambda: len(proxy_threads(proxy)) == 1 + 2 * 3, "an acceptor and two pumps per connection")
    proxy.stall()  # pumps waiting on the stall end too
    clients[0].sendall(b"x")
    proxy.close()
    assert proxy_threads(proxy) == []
    assert all(is_closed(client) for client in clients)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", proxy.port), timeout=TIMEOUT)
    with pytest.raises(RuntimeError):
        proxy.cut()
    proxy.close()  # twice: nothing to do
    for client in clients:
        client.close()
