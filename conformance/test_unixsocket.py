"""The unix socket listener as redis-server 7.0 has it: `unixsocket PATH` and `unixsocketperm
OCTAL` (command line or config file, never CONFIG SET), the socket's mode, what CLIENT LIST
shows of its clients (`addr` and `laddr` are the path with port 0, flag `U`), its log lines,
the file removed at exit, a path that cannot be listened on, and its clients counted as local
(protected mode, enable-debug-command local).

Clients connect with redis-py's `unix_socket_path`, as an application would. Every test starts
servers of its own and polls their logs with generous deadlines."""
from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import time

import pytest
import redis

from conformance.targets import free_port

pytestmark = [pytest.mark.launches, pytest.mark.internals("the unix socket listener")]

DEADLINE = 60.0  # seconds for a server to start, log a line, or exit (a busy machine)
LINE = re.compile(r"\d+:[CMSX] \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} [.*#-] (.*)")
FAILED = "ERR CONFIG SET failed (possibly related to argument '{}') - can't set immutable config"


def messages(path) -> list[str]:
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return [match[1] for match in map(LINE.fullmatch, text.splitlines()) if match]


def wait_for_line(path, wanted: str) -> list[str]:
    deadline = time.monotonic() + DEADLINE
    while wanted not in (found := messages(path)):
        assert time.monotonic() < deadline, f"{wanted!r} not logged after {DEADLINE}s: {found[-10:]}"
        time.sleep(0.05)
    return found


def server_command(request) -> list[str]:
    return shlex.split(request.config.getoption("server"))


class SocketServer:
    """A server started by hand (the launcher wants a TCP port to PING), its log in a file."""

    def __init__(self, request, tmp_path, *words: str):
        self.log = tmp_path / "redis.log"
        command = server_command(request) + [*words, "--dir", str(tmp_path), "--save", "",
                                             "--logfile", str(self.log)]
        self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL, start_new_session=True)
        request.addfinalizer(self.stop)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def wait(self) -> int:
        return self.process.wait(DEADLINE)


def unix_client(path) -> redis.Redis:
    return redis.Redis(unix_socket_path=str(path), socket_timeout=DEADLINE, decode_responses=True)


def client_line(client: redis.Redis) -> dict[str, str]:
    return dict(field.split("=", 1) for field in client.execute_command("CLIENT", "INFO").split())


def test_only_a_unix_socket_from_a_config_file(request, tmp_path):
    """`port 0` and a unix socket: the server listens there only, its mode from unixsocketperm;
    it says so in its log instead of `Ready to accept connections`; its clients are shown with
    the path, port 0 and flag U; the options cannot be set at run time; at SHUTDOWN the file is
    removed, logged between the first and the last line of the shutdown."""
    path = tmp_path / "redis.sock"
    config = tmp_path / "redis.conf"
    config.write_text(f"port 0\nunixsocket {path}\nunixsocketperm 640\n")
    server = SocketServer(request, tmp_path, str(config))
    found = wait_for_line(server.log, f"The server is now ready to accept connections at {path}")
    assert "Ready to accept connections" not in found
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o640

    client = unix_client(path)
    assert client.ping() is True
    line = client_line(client)
    assert (line["addr"], line["laddr"], line["flags"]) == (f"{path}:0", f"{path}:0", "U")
    assert re.fullmatch(rf"id=\d+ addr={re.escape(str(path))}:0 laddr={re.escape(str(path))}:0 fd=\d+ name= .* "
                        r"flags=U db=0 .* cmd=client\|list .*\n", client.execute_command("CLIENT", "LIST"))
    assert client.config_get("unixsocket*") == {"unixsocket": str(path), "unixsocketperm": "640"}
    assert client.config_get("port") == {"port": "0"}
    for name, value in (("unixsocket", str(tmp_path / "other.sock")), ("unixsocketperm", "777")):
        with pytest.raises(redis.ResponseError) as refused:
            client.config_set(name, value)
        assert str(refused.value) == FAILED.format(name).removeprefix("ERR ")
    client.set("k", "v")
    assert client.get("k") == "v"

    with pytest.raises(redis.ConnectionError):
        client.execute_command("SHUTDOWN", "NOSAVE")
    assert server.wait() == 0
    assert not os.path.exists(path)
    found = messages(server.log)
    assert found[-3:] == ["User requested shutdown...", "Removing the unix socket file.",
                          "Redis is now ready to exit, bye bye..."]


def test_tcp_and_a_unix_socket_on_the_command_line(launcher, tmp_path):
    """Both listeners: each says it is ready, TCP first; a TCP client has no U flag; SIGTERM
    removes the file too. Connections through the socket are logged at verbose as Redis
    words them."""
    path = tmp_path / "both.sock"
    server = launcher.start(unixsocket=str(path), logfile="redis.log", loglevel="verbose")
    log = os.path.join(server.dir, "redis.log")
    found = wait_for_line(log, f"The server is now ready to accept connections at {path}")
    position = found.index("Ready to accept connections")
    assert found[position + 1] == f"The server is now ready to accept connections at {path}"
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode)

    tcp = redis.Redis(host="127.0.0.1", port=server.port, socket_timeout=DEADLINE, decode_responses=True)
    assert client_line(tcp)["flags"] == "N"
    with unix_client(path) as client:
        client.select(2)
        line = client_line(client)
    closed = wait_for_line(log, f"Accepted connection to {path}")
    deadline = time.monotonic() + DEADLINE
    while not any(message.startswith(f"Client closed connection id={line['id']} ") for message in closed):
        assert time.monotonic() < deadline, closed[-5:]
        time.sleep(0.05)
        closed = messages(log)
    message = next(message for message in closed if message.startswith(f"Client closed connection id={line['id']} "))
    assert re.fullmatch(rf"Client closed connection id={line['id']} addr={re.escape(str(path))}:0 "
                        rf"laddr={re.escape(str(path))}:0 fd=\d+ name= .* flags=U db=2 .*", message), message

    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(DEADLINE) == 0
    assert not os.path.exists(path)
    assert messages(log)[-3:] == ["User requested shutdown...", "Removing the unix socket file.",
                                  "Redis is now ready to exit, bye bye..."]


def test_a_file_already_at_the_path_is_replaced(request, tmp_path):
    """As Redis: whatever is at the path (a socket left by a killed server, or a file) is
    removed before listening; unixsocketperm 0 leaves the mode to the umask."""
    path = tmp_path / "stale.sock"
    path.write_text("not a socket")
    server = SocketServer(request, tmp_path, "--port", "0", "--unixsocket", str(path))
    wait_for_line(server.log, f"The server is now ready to accept connections at {path}")
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert unix_client(path).ping() is True


@pytest.mark.parametrize("case", ["no-such-directory", "too-long"])
def test_a_path_that_cannot_be_listened_on(request, tmp_path, case):
    """The reason is logged as anet.c words it and the server exits 1."""
    if case == "no-such-directory":
        path = str(tmp_path / "missing" / "redis.sock")
        reason = "bind: No such file or directory"
    else:
        path = str(tmp_path / ("x" * (120 - len(str(tmp_path)))))
        reason = f"unix socket path too long ({len(path)}), must be under 108"
    server = SocketServer(request, tmp_path, "--port", str(free_port()), "--unixsocket", path)
    assert server.wait() == 1
    assert messages(server.log)[-1] == f"Failed opening Unix socket: {reason}"
    assert not os.path.exists(path)


def test_only_a_port_0_without_a_socket_listens_nowhere(request, tmp_path):
    server = SocketServer(request, tmp_path, "--port", "0")
    assert server.wait() == 1
    assert messages(server.log)[-1] == "Configured to not listen anywhere, exiting."


def external_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, or None: the source address of a
    route to somewhere else (connecting a UDP socket sends nothing, it only picks the route)."""
    for somewhere in ("10.255.255.254", "192.0.2.1", "198.51.100.1"):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((somewhere, 9))
            except OSError:
                continue
            address = probe.getsockname()[0]
        if not address.startswith("127."):
            return address
    return None


def test_unix_socket_clients_are_local(launcher, tmp_path):
    """Protected mode (no password) refuses a client from another interface, with Redis's
    DENIED error, and not one through the socket; `local` settings let the socket's clients
    run DEBUG and set protected options."""
    address = external_address()
    if address is None:
        pytest.skip("this machine has no address but loopback to connect from")
    path = tmp_path / "local.sock"
    server = launcher.start(unixsocket=str(path), bind=f"127.0.0.1 {address}", enable_debug_command="local",
                            enable_protected_configs="local")
    with socket.create_connection((address, server.port), timeout=DEADLINE) as stranger:
        refused = b""
        while chunk := stranger.recv(4096):
            refused += chunk
    assert refused.startswith(b"-DENIED Redis is running in protected mode because protected mode is enabled and "
                              b"no password is set for the default user.")
    assert refused.endswith(b"in order for the server to start accepting connections from the outside.\r\n")
    client = unix_client(path)
    assert client.ping() is True
    assert client.execute_command("DEBUG", "SLEEP", "0") == "OK"
    assert client.config_set("dbfilename", "from-the-socket.rdb") is True
    assert int(client.info("stats")["rejected_connections"]) == 1
