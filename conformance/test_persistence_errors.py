"""Saving when the RDB file cannot be written (the server's working directory removed under
it), as Redis 7.0 answers: SAVE and DEBUG RELOAD reply a bare ERR (a DEBUG RELOAD that
cannot load the file leaves the keyspace empty), a BGSAVE child fails
(rdb_last_bgsave_status:err), SHUTDOWN that must save refuses to stop, and so does SIGTERM while
save points are set; a BGSAVE child killed by a signal is a failed save, unless the signal is
SIGUSR1 (how Redis stops its own children). Each test starts a
server of its own."""
from __future__ import annotations

import os
import signal
import time

import pytest

from conformance.client import ErrorReply

pytestmark = [pytest.mark.launches, pytest.mark.internals("DEBUG RELOAD, INFO persistence, log lines")]

DEADLINE = 30.0


def fields(c) -> dict[str, str]:
    text = c.call("INFO", "persistence").decode()
    return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)


def wait_for(condition, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < end, f"{what}: not after {DEADLINE}s"
        time.sleep(0.05)


@pytest.fixture
def homeless(launcher, tmp_path):
    """A server whose working directory (dir) no longer exists, holding one key."""
    gone = tmp_path / "gone"
    gone.mkdir()
    server = launcher.start(enable_protected_configs="yes")
    c = server.client()
    assert c.pipeline(("CONFIG", "SET", "dir", str(gone)), ("SET", "k", "v")) == ["OK", "OK"]
    gone.rmdir()
    return server, c


def test_save_fails_when_the_file_cannot_be_written(homeless):
    server, c = homeless
    assert c.call("SAVE") == ErrorReply("ERR")
    assert c.call("DEBUG", "RELOAD") == ErrorReply("ERR")
    assert c.call("DEBUG", "RELOAD", "NOSAVE") == ErrorReply("ERR Error trying to load the RDB dump")
    assert c.call("DBSIZE") == 0  # emptied before the load that failed
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("BGSAVE") == "Background saving started"
    wait_for(lambda: fields(c)["rdb_bgsave_in_progress"] == "0", "the BGSAVE's end")
    assert fields(c)["rdb_last_bgsave_status"] == "err"
    assert c.call("SHUTDOWN", "SAVE") == ErrorReply("ERR Errors trying to SHUTDOWN. Check logs.")
    assert c.call("PING") == "PONG"
    assert "Error trying to save the DB, can't exit." in server.log_tail(50)


def test_sigterm_does_not_stop_a_server_that_cannot_save(homeless):
    server, c = homeless
    assert c.call("CONFIG", "SET", "save", "3600 1") == "OK"
    server.process.send_signal(signal.SIGTERM)
    wait_for(lambda: "Error trying to save the DB, can't exit." in server.log_tail(50),
             "the refused shutdown")
    assert c.call("PING") == "PONG"
    assert c.call("GET", "k") == b"v"


@pytest.mark.parametrize("signum, status", [(signal.SIGKILL, "err"), (signal.SIGUSR1, "ok")])  # SIGUSR1: stopped
def test_a_bgsave_child_killed_by_a_signal(launcher, signum, status):
    server = launcher.start()
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    assert c.pipeline(("CONFIG", "SET", "rdb-key-save-delay", 60_000_000), ("BGSAVE",),
                      ("CONFIG", "SET", "rdb-key-save-delay", 0)) == ["OK", "Background saving started", "OK"]
    child = []
    wait_for(lambda: child.extend(_children(server.process.pid)) or child, "no child process")
    os.kill(child[0], signum)
    wait_for(lambda: fields(c)["rdb_bgsave_in_progress"] == "0", "the BGSAVE's end")
    assert fields(c)["rdb_last_bgsave_status"] == status
    assert f"Background saving terminated by signal {int(signum)}" in server.log_tail(50)


def _children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(word) for word in f.read().split()]
    return found


def test_debug_reload_noflush_merge_keeps_keys_not_in_the_file(launcher):
    c = launcher.start().client()
    assert c.pipeline(("SET", "a", "1"), ("SAVE",), ("SET", "a", "2"), ("SET", "b", "3")) == ["OK"] * 4
    assert c.call("DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE") == "OK"
    assert c.pipeline(("GET", "a"), ("GET", "b")) == [b"1", b"3"]
