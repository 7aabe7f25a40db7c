"""appendfsync everysec and no: when an acknowledged write reaches the incr file, and what a
restart after SIGKILL of the server recovers.

How Redis 7.0 decides (aof.c flushAppendOnlyFile, called from beforeSleep before the replies
of the loop turn go out, and from serverCron while a write is postponed):
  - always:   write() and fsync before the reply.
  - no:       write() before the reply; the OS flushes when it likes. A server killed with
              SIGKILL (not a machine crash) loses nothing it acknowledged: the OS has it.
  - everysec: write() before the reply, unless a background fsync is still running; then the
              write is postponed, for two seconds at most (then written anyway, counted in
              INFO aof_delayed_fsync). fsync about once a second in a background thread.
              So an acknowledged write is in the file within about two seconds (of the server's
              cron: longer on a loaded machine), and a SIGKILL after that loses nothing.
These tests assert only what those rules promise: the file is read after a later reply (no,
always) or waited for with a generous deadline (everysec), never timed for speed.
appendfsync is a run-time setting: CONFIG SET changes it, and writes keep landing.
"""
from __future__ import annotations

import os
import time

import pytest

from conformance.client import ErrorReply
from conformance import readings

MANIFEST = "appendonly.aof.manifest"
EVENTUALLY = 30.0  # seconds: far past everysec's two-second bound on a postponed write
ERR_BAD_APPENDFSYNC = ("ERR CONFIG SET failed (possibly related to argument 'appendfsync') - "
                       "argument(s) must be one of the following: everysec, always, no")


def resp(*args: bytes) -> bytes:
    """A command as the AOF holds it: a RESP array of bulk strings."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in args)


def incr_file(server) -> str:
    """The newest incr file the manifest names: the one being appended to."""
    folder = os.path.join(server.dir, "appendonlydir")
    with open(os.path.join(folder, MANIFEST)) as manifest:
        entries = [dict(zip(words[::2], words[1::2])) for words in map(str.split, manifest) if words]
    incrs = [entry for entry in entries if entry.get("type") == "i"]
    return os.path.join(folder, max(incrs, key=lambda entry: int(entry["seq"]))["file"])


def aof_text(server) -> bytes:
    with open(incr_file(server), "rb") as f:
        return f.read()


def missing_from_file(server, writes) -> list:
    text = aof_text(server)
    return [(key, value) for key, value in writes if resp(b"SET", key, value) not in text]


def wait_in_file(server, writes) -> None:
    """Every write eventually lands in the incr file (deadline: EVENTUALLY)."""
    deadline = time.monotonic() + EVENTUALLY
    while missing := missing_from_file(server, writes):
        assert time.monotonic() < deadline, f"not in {incr_file(server)} after {EVENTUALLY}s: {missing}"
        time.sleep(0.05)


def set_keys(c, prefix: bytes, count: int) -> list[tuple[bytes, bytes]]:
    writes = [(b"%s:%d" % (prefix, i), b"value-%d" % i) for i in range(count)]
    for key, value in writes:
        assert c.call("SET", key, value) == "OK"
    return writes


def crash_and_restart(server) -> None:
    """SIGKILL the server (the process, not the machine: the OS keeps what was written)."""
    server.kill()
    server.launch()


def assert_recovered(server, writes) -> None:
    with server.client() as c:
        found = c.pipeline(*[("GET", key) for key, _ in writes])
    assert found == [value for _, value in writes]


def info_persistence(c) -> dict[str, str]:
    return readings.info(c, "persistence")


# -- appendfsync no -------------------------------------------------------------------------------


@pytest.mark.internals("AOF files")
def test_no_writes_reach_the_file_by_the_next_reply(launcher):
    server = launcher.start(appendonly="yes", appendfsync="no")
    with server.client() as c:
        assert c.call("CONFIG", "GET", "appendfsync") == [b"appendfsync", b"no"]
        for i in range(5):
            write = (b"k%d" % i, b"v%d" % i)
            assert c.call("SET", *write) == "OK"
            assert c.call("PING") == "PONG"
            assert missing_from_file(server, [write]) == []


def test_no_a_killed_server_recovers_every_acknowledged_write(launcher):
    server = launcher.start(appendonly="yes", appendfsync="no")
    with server.client() as c:
        writes = set_keys(c, b"no", 50)
    crash_and_restart(server)
    assert_recovered(server, writes)


# -- appendfsync everysec -------------------------------------------------------------------------


@pytest.mark.internals("AOF files")
def test_everysec_writes_reach_the_file_within_seconds(launcher):
    server = launcher.start(appendonly="yes", appendfsync="everysec")
    with server.client() as c:
        assert c.call("CONFIG", "GET", "appendfsync") == [b"appendfsync", b"everysec"]
        writes = set_keys(c, b"everysec", 50)
        wait_in_file(server, writes)
        info = info_persistence(c)
    assert info["aof_last_write_status"] == "ok", info
    assert info["aof_delayed_fsync"].isdigit(), info


@pytest.mark.internals("AOF files")
def test_everysec_a_killed_server_recovers_writes_acknowledged_seconds_before(launcher):
    server = launcher.start(appendonly="yes", appendfsync="everysec")
    with server.client() as c:
        writes = set_keys(c, b"everysec", 50)
    wait_in_file(server, writes)  # the file, not the clock: postponed writes wait for the cron
    crash_and_restart(server)
    assert_recovered(server, writes)


def test_everysec_is_the_default(launcher):
    server = launcher.start(appendonly="yes")
    with server.client() as c:
        assert c.call("CONFIG", "GET", "appendfsync") == [b"appendfsync", b"everysec"]


# -- changing it at run time ----------------------------------------------------------------------


@pytest.mark.internals("AOF files")
def test_config_set_appendfsync_at_run_time(launcher):
    server = launcher.start(appendonly="yes", appendfsync="everysec")
    written = []
    with server.client() as c:
        for mode in ("no", "everysec", "always", "No", "EVERYSEC", "always"):
            assert c.call("CONFIG", "SET", "appendfsync", mode) == "OK"
            assert c.call("CONFIG", "GET", "appendfsync") == [b"appendfsync", mode.lower().encode()]
            writes = set_keys(c, mode.encode(), 3)
            written += writes
            if mode.lower() == "everysec":
                wait_in_file(server, writes)
            else:
                assert c.call("PING") == "PONG"
                assert missing_from_file(server, writes) == []
        info = info_persistence(c)
    assert info["aof_last_write_status"] == "ok", info
    crash_and_restart(server)  # the last mode is always: nothing acknowledged may be lost
    assert_recovered(server, written)


def test_config_set_appendfsync_rejects_other_values(client):
    before = client.call("CONFIG", "GET", "appendfsync")
    for value in ("sometimes", "", "every sec", "1"):
        assert client.call("CONFIG", "SET", "appendfsync", value) == ErrorReply(ERR_BAD_APPENDFSYNC)
    assert client.call("CONFIG", "GET", "appendfsync") == before
