"""Many clients, slow clients, long pipelines (spec/server.md, "maxclients and the open files
limit"; spec/connection.md): `maxclients` and the open-files limit it needs, ten thousand idle
clients held at once, a pipeline of 100,000 commands answered in order, a client that sends a
byte at a time not holding the others back.
"""
from __future__ import annotations

import resource
import shlex
import shutil
import socket
import threading
import time

import pytest

from conformance.client import encode_command
from conformance.readings import info
from conformance.targets import ServerLauncher, run_until_exit
from conformance.waiting import wait_for

pytestmark = pytest.mark.launches
RESERVED_FDS = 32  # what Redis keeps for itself beyond maxclients
MAXCLIENTS_REACHED = b"-ERR max number of clients reached\r\n"


def limited(launcher, files: int) -> ServerLauncher:
    """A launcher of the same server with its open-files limit (soft and hard) set to `files`."""
    if shutil.which("prlimit") is None:
        pytest.fail("prlimit (util-linux) is needed to start a server with a low open-files limit")
    return ServerLauncher(f"prlimit --nofile={files}:{files} {shlex.join(launcher.command)}",
                          default_options=launcher.default_options)


def refused(port: int) -> bytes:
    """What a new connection gets before the server closes it (a client over maxclients)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        received = b""
        while chunk := sock.recv(1024):
            received += chunk
    return received


def test_a_low_open_files_limit_lowers_maxclients(launcher):
    """40 files: maxclients 10000 would need 10032. Where the system lets the server raise its
    limit (a privileged process) it is raised; else maxclients becomes 40 - 32 = 8 and the
    ninth client is refused."""
    low = limited(launcher, 40)
    try:
        server = low.start()
        control = server.client()
        maxclients = int(control.call("CONFIG", "GET", "maxclients")[1])
        log = server.log_tail(100)
        if maxclients == 10000:
            assert "Increased maximum number of open files to 10032 (it was originally set to 40)." in log
            return
        assert maxclients == 40 - RESERVED_FDS
        for line in ("You requested maxclients of 10000 requiring at least 10032 max file descriptors.",
                     "Server can't set maximum open files to 10032 because of OS error: Operation not permitted.",
                     "Current maximum open files is 40. maxclients has been reduced to 8 to compensate for low "
                     "ulimit. If you need higher maxclients increase 'ulimit -n'."):
            assert line in log
        others = [server.client() for _ in range(maxclients - 1)]  # with the control client: maxclients
        assert all(client.call("PING") == "PONG" for client in others)
        assert refused(server.port) == MAXCLIENTS_REACHED
    finally:
        low.stop_all()


def test_a_limit_raised_for_maxclients(launcher):
    """A soft limit below maxclients + 32 that the hard limit allows is raised, and logged."""
    low = ServerLauncher(f"prlimit --nofile=256:4096 {shlex.join(launcher.command)}",
                         default_options=launcher.default_options)
    try:
        server = low.start(maxclients=500)
        assert server.client().call("CONFIG", "GET", "maxclients")[1] == b"500"
        assert "Increased maximum number of open files to 532 (it was originally set to 256)." in server.log_tail(100)
    finally:
        low.stop_all()


def test_a_limit_too_low_to_start(launcher):
    words = ["prlimit", "--nofile=20:20", *launcher.command, "--port", "0", "--save", ""]
    done = run_until_exit(words)
    assert done.returncode == 1
    assert ("Your current 'ulimit -n' of 20 is not enough for the server to start. Please increase your open "
            "file limit to at least 10032. Exiting.") in done.stdout.decode(errors="replace")


def test_ten_thousand_idle_clients(launcher):
    """maxclients (10000) clients at once, idle: all held and served; one more is refused."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 10_200
    if hard != resource.RLIM_INFINITY and hard < wanted:
        pytest.skip(f"this machine's open-files hard limit ({hard}) is below the {wanted} the test needs")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    idle: list[socket.socket] = []
    try:
        server = launcher.start()  # (it inherits the raised limit)
        control = server.client()
        for _ in range(10_000 - 1):
            idle.append(socket.create_connection(("127.0.0.1", server.port), timeout=60))
        wait_for(lambda: info(control, "clients")["connected_clients"] == "10000", "10000 clients connected",
                 timeout=120)
        assert refused(server.port) == MAXCLIENTS_REACHED
        for sock in (idle[0], idle[-1]):
            sock.sendall(b"PING\r\n")
            assert sock.recv(100) == b"+PONG\r\n"
    finally:
        for sock in idle:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_a_pipeline_of_a_hundred_thousand_commands(launcher):
    server = launcher.start()
    count = 100_000
    requests = encode_command(["INCR", "counter"]) * count
    expected = b"".join(b":%d\r\n" % n for n in range(1, count + 1))
    with socket.create_connection(("127.0.0.1", server.port), timeout=120) as sock:
        sender = threading.Thread(target=sock.sendall, args=(requests,), daemon=True)
        sender.start()  # (sent while the replies are read: neither side's buffers fill up)
        received = bytearray()
        while len(received) < len(expected):
            chunk = sock.recv(1 << 20)
            assert chunk, f"closed after {len(received)} bytes of replies"
            received += chunk
        sender.join()
    assert bytes(received) == expected


def test_a_client_sending_a_byte_at_a_time_does_not_hold_the_others(launcher):
    server = launcher.start()
    request = encode_command(["SET", "slow", "a value sent one byte at a time"])
    other = server.client()
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as slow:
        for i, byte in enumerate(request):
            if i % 10 == 0:  # meanwhile the others are served, and see no half-made key
                assert other.call("PING") == "PONG"
                assert other.call("EXISTS", "slow") == 0
            slow.sendall(bytes([byte]))
            time.sleep(0.005)  # (the pace of the slow client, not a wait for anything)
        assert slow.recv(100) == b"+OK\r\n"
    assert other.call("GET", "slow") == b"a value sent one byte at a time"
