"""Where the server listens, changed at run time as Redis 7.0 does it (config.c updatePort and
applyBind, server.c changeListenPort and changeBindAddr).

  - CONFIG SET port N closes the listeners and opens new ones at N, on the same addresses;
    clients already connected stay. Port 0 closes them (connected clients still stay).
  - CONFIG SET bind closes the listeners and opens new ones on the new addresses, at the port.
  - If the new listeners cannot all be opened (a port in use, an address this machine does
    not have), CONFIG SET fails with Redis's error, restores the old value and listens where it
    listened before. An optional address ("-" before it) that is not available is left out.
  - unixsocket and unixsocketperm cannot be set at run time.
  - A child process (a background save) does not hold the listeners: once the port moves, the
    old one refuses connections, and the server may move back to it while the child runs.

Each test launches its own server; a connection is tried with a fresh socket, so a listener
that was closed refuses at once.
"""
from __future__ import annotations

import os
import socket

import pytest

from conformance.client import Client, ErrorReply
from conformance.targets import free_port
from conformance.waiting import wait_for

pytestmark = pytest.mark.launches

UNASSIGNABLE = "10.255.255.254"  # an address no interface of this machine has
CANNOT_LISTEN = ErrorReply("ERR CONFIG SET failed (possibly related to argument 'port') - "
                           "Unable to listen on this port. Check server logs.")
CANNOT_BIND = ErrorReply("ERR CONFIG SET failed (possibly related to argument 'bind') - "
                         "Failed to bind to specified addresses.")


def answers(port: int, host: str = "127.0.0.1") -> bool:
    """A new connection to host:port is accepted and answers PING."""
    try:
        with Client(host, port) as c:
            return c.call("PING") == "PONG"
    except ConnectionRefusedError:
        return False


def in_use() -> socket.socket:
    """A socket listening on every IPv4 address at a port of the kernel's choosing."""
    blocker = socket.socket()
    blocker.bind(("0.0.0.0", 0))
    blocker.listen()
    return blocker


def log_text(server) -> str:
    with open(server.log_path, "rb") as log:
        return log.read().decode("utf-8", "replace")


def test_config_set_port_moves_the_listener(launcher):
    server = launcher.start()
    old, new = server.port, free_port()
    with server.client() as c:
        assert c.call("CONFIG", "SET", "port", new) == "OK"
        assert not answers(old)
        assert answers(new)
        assert c.call("PING") == "PONG"  # connected before: still served
        assert c.call("CONFIG", "GET", "port") == [b"port", str(new).encode()]
        assert c.call("CONFIG", "SET", "port", new) == "OK"  # no change: still listening
        assert answers(new)
        assert c.call("CONFIG", "SET", "port", old) == "OK"
        assert answers(old) and not answers(new)


def test_port_zero_closes_the_listener(launcher):
    server = launcher.start()
    with server.client() as c:
        assert c.call("CONFIG", "SET", "port", 0) == "OK"
        assert not answers(server.port)
        assert c.call("SET", "k", "v") == "OK"  # connected before: still served
        assert c.call("CONFIG", "SET", "port", server.port) == "OK"
        assert answers(server.port)


@pytest.mark.internals("log lines")
def test_a_port_in_use_is_refused_and_the_old_listener_stays(launcher):
    server = launcher.start()
    with in_use() as blocker, server.client() as c:
        busy = blocker.getsockname()[1]
        assert c.call("CONFIG", "SET", "port", busy) == CANNOT_LISTEN
        assert c.call("CONFIG", "GET", "port") == [b"port", str(server.port).encode()]
        assert answers(server.port)
    log = log_text(server)
    assert f"# Warning: Could not create server TCP listening socket *:{busy}: bind: Address already in use" in log
    assert "# Failed applying new configuration. Possibly related to new port setting. Restoring previous settings." \
        in log


def test_config_set_bind_moves_the_listener(launcher):
    """127.0.0.2 is a loopback address too on Linux, and a different one."""
    server = launcher.start()
    with server.client() as c:
        assert c.call("CONFIG", "SET", "bind", "127.0.0.2") == "OK"
        assert c.call("CONFIG", "GET", "bind") == [b"bind", b"127.0.0.2"]
        assert not answers(server.port, "127.0.0.1")
        assert answers(server.port, "127.0.0.2")
        assert c.call("PING") == "PONG"  # connected before: still served
        assert c.call("CONFIG", "SET", "bind", "127.0.0.1 127.0.0.2") == "OK"
        assert answers(server.port, "127.0.0.1") and answers(server.port, "127.0.0.2")


@pytest.mark.internals("log lines")
def test_an_address_that_cannot_be_bound_is_refused_and_the_old_binding_stays(launcher):
    server = launcher.start(bind="127.0.0.1")
    with server.client() as c:
        assert c.call("CONFIG", "SET", "bind", f"127.0.0.2 {UNASSIGNABLE}") == CANNOT_BIND
        assert c.call("CONFIG", "GET", "bind") == [b"bind", b"127.0.0.1"]
        assert answers(server.port, "127.0.0.1")
        assert not answers(server.port, "127.0.0.2")  # opened, then closed with the rest
    log = log_text(server)
    assert (f"# Warning: Could not create server TCP listening socket {UNASSIGNABLE}:{server.port}: bind: "
            "Cannot assign requested address") in log
    assert "# Failed to bind\n" in log


def test_a_port_and_addresses_set_together_are_restored_together(launcher):
    server = launcher.start(bind="127.0.0.1")
    new = free_port()
    with server.client() as c:
        assert c.call("CONFIG", "SET", "bind", UNASSIGNABLE, "port", new) == CANNOT_BIND
        assert c.call("CONFIG", "GET", "port") == [b"port", str(server.port).encode()]
        assert answers(server.port) and not answers(new)
        # the port first: its apply step fails, with the port's error
        assert c.call("CONFIG", "SET", "port", new, "bind", UNASSIGNABLE) == CANNOT_LISTEN
        assert c.call("CONFIG", "GET", "bind") == [b"bind", b"127.0.0.1"]
        assert answers(server.port) and not answers(new)


def test_an_optional_address_that_cannot_be_bound_is_left_out(launcher):
    server = launcher.start(bind="127.0.0.1")
    with server.client() as c:
        assert c.call("CONFIG", "SET", "bind", f"127.0.0.2 -{UNASSIGNABLE}") == "OK"
        assert c.call("CONFIG", "GET", "bind") == [b"bind", f"127.0.0.2 -{UNASSIGNABLE}".encode()]
        assert answers(server.port, "127.0.0.2") and not answers(server.port, "127.0.0.1")
        # with nothing left to listen on, it is still no error: only connected clients remain
        assert c.call("CONFIG", "SET", "bind", f"-{UNASSIGNABLE}") == "OK"
        assert not answers(server.port, "127.0.0.2")
        assert c.call("CONFIG", "SET", "bind", "") == "OK"
        assert c.call("CONFIG", "GET", "bind") == [b"bind", b""]
        assert c.call("CONFIG", "SET", "bind", "127.0.0.1") == "OK"
        assert answers(server.port)


@pytest.mark.parametrize("name, value", [("unixsocket", "/tmp/redspec.sock"), ("unixsocketperm", "700")])
def test_unix_socket_options_cannot_be_set_at_run_time(launcher, name, value):
    with launcher.start().client() as c:
        assert c.call("CONFIG", "SET", name, value) == ErrorReply(
            f"ERR CONFIG SET failed (possibly related to argument '{name}') - can't set immutable config")


@pytest.mark.internals("rdb-key-save-delay, the temporary file of BGSAVE, INFO persistence")
def test_a_child_process_does_not_hold_the_listener(launcher):
    """The child closes its copy of the listeners first thing; once it has begun writing its
    temporary file, the parent alone holds them."""
    server = launcher.start()
    old, new = server.port, free_port()
    with server.client() as c:
        assert c.call("SET", "k", "v") == "OK"
        assert c.pipeline(("CONFIG", "SET", "rdb-key-save-delay", 60_000_000), ("BGSAVE",),
                          ("CONFIG", "SET", "rdb-key-save-delay", 0)) == ["OK", "Background saving started", "OK"]
        wait_for(lambda: any(name.startswith("temp-") for name in os.listdir(server.dir)), "the child's file")
        assert c.call("CONFIG", "SET", "port", new) == "OK"
        assert not answers(old)  # (a child holding it would have the connection queued)
        assert c.call("CONFIG", "SET", "port", old) == "OK"  # (or find it in use)
        assert answers(old)
        assert b"rdb_bgsave_in_progress:1" in c.call("INFO", "persistence")
