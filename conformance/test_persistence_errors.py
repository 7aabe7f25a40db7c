"""Saving when the RDB file cannot be written (the server's working directory removed under
it), as Redis 7.0 answers: SAVE and DEBUG RELOAD reply a bare ERR (a DEBUG RELOAD that
cannot load the file leaves the keyspace empty), a BGSAVE child fails
(rdb_last_bgsave_status:err), SHUTDOWN that must save refuses to stop, and so does SIGTERM while
save points are set; a BGSAVE child killed by a signal is a failed save, unless the signal is
SIGUSR1 (how Redis stops its own children), and SIGTERM or SIGINT do not stop it at all. The
child writes `temp-<its pid>.rdb` in dir and renames it over dbfilename when complete; the file
of a child that fails, is killed, or is stopped by SHUTDOWN is removed. Each test starts a
server of its own; a child is found among the server's (Linux /proc)."""
from __future__ import annotations

import os
import signal

import pytest

from conformance.client import ErrorReply
from conformance.readings import info
from conformance.waiting import wait_for

pytestmark = [pytest.mark.launches, pytest.mark.internals("DEBUG RELOAD, INFO persistence, log lines")]

DEADLINE = 30.0


def fields(c) -> dict[str, str]:
    return info(c, "persistence")


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


def start_slow_bgsave(server, c) -> int:
    """A BGSAVE whose child takes a minute; its pid, once it writes its temporary file."""
    assert c.pipeline(("CONFIG", "SET", "rdb-key-save-delay", 60_000_000), ("BGSAVE",),
                      ("CONFIG", "SET", "rdb-key-save-delay", 0)) == ["OK", "Background saving started", "OK"]
    child = []
    wait_for(lambda: child.extend(_children(server.process.pid)) or child, "no child process")
    wait_for(lambda: os.path.exists(os.path.join(server.dir, f"temp-{child[0]}.rdb")), "the child's temporary file")
    return child[0]


def temporary_files(server) -> list[str]:
    return [name for name in os.listdir(server.dir) if name.startswith("temp-")]


def logged_by(server, pid: int, message: str) -> bool:
    """A line of the log written by process `pid` says `message`."""
    with open(server.log_path, "rb") as log:
        lines = log.read().decode("utf-8", "replace").splitlines()
    return any(line.startswith(f"{pid}:") and line.endswith(message) for line in lines)


@pytest.mark.parametrize("signum, status", [(signal.SIGKILL, "err"), (signal.SIGUSR1, "ok")])  # SIGUSR1: stopped
def test_a_bgsave_child_killed_by_a_signal(launcher, signum, status):
    """The child writes temp-<its pid>.rdb in dir; killed, the parent removes that file."""
    server = launcher.start()
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    child = start_slow_bgsave(server, c)
    os.kill(child, signum)
    wait_for(lambda: fields(c)["rdb_bgsave_in_progress"] == "0", "the BGSAVE's end")
    assert fields(c)["rdb_last_bgsave_status"] == status
    assert f"Background saving terminated by signal {int(signum)}" in server.log_tail(50)
    assert temporary_files(server) == []
    assert not os.path.exists(os.path.join(server.dir, "dump.rdb"))
    if signum == signal.SIGUSR1:
        assert logged_by(server, child, "Received SIGUSR1 in child, exiting now.")


@pytest.mark.parametrize("signum, name", [(signal.SIGTERM, "SIGTERM"), (signal.SIGINT, "SIGINT")])
def test_a_bgsave_child_is_not_stopped_by_sigterm_or_sigint(launcher, signum, name):
    """The child keeps its parent's handler, which only logs: a signal to the whole process
    group (Ctrl-C) lets the save finish. (The signal cuts its sleep for the key at hand short,
    as it interrupts Redis's usleep: with one key of a minute, the save ends at once.)"""
    server = launcher.start()
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    child = start_slow_bgsave(server, c)
    os.kill(child, signum)
    wait_for(lambda: fields(c)["rdb_bgsave_in_progress"] == "0", "the BGSAVE's end")
    assert fields(c)["rdb_last_bgsave_status"] == "ok"
    assert logged_by(server, child, f"Received {name} scheduling shutdown...")
    assert "Background saving terminated with success" in server.log_tail(50)
    assert temporary_files(server) == []
    assert c.call("DEBUG", "RELOAD", "NOSAVE") == "OK"
    assert c.call("GET", "k") == b"v"


def test_a_save_that_cannot_be_put_in_place_removes_its_temporary_file(launcher):
    """dbfilename is a directory: the file is written, and cannot be renamed over it."""
    server = launcher.start()
    c = server.client()
    os.mkdir(os.path.join(server.dir, "dump.rdb"))
    root = os.path.realpath(server.dir)
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("SAVE") == ErrorReply("ERR")
    assert logged_by(server, server.process.pid, f"Error moving temp DB file temp-{server.process.pid}.rdb on the "
                                                 f"final destination dump.rdb (in server root dir {root}): Is a directory")
    assert c.call("BGSAVE") == "Background saving started"
    child = []
    wait_for(lambda: child.extend(_children(server.process.pid)) or child or
             fields(c)["rdb_bgsave_in_progress"] == "0", "the child")
    wait_for(lambda: fields(c)["rdb_bgsave_in_progress"] == "0", "the BGSAVE's end")
    assert fields(c)["rdb_last_bgsave_status"] == "err"
    assert "# Background saving error" in server.log_tail(50)
    assert "on the final destination dump.rdb (in server root dir" in server.log_tail(50).split("Background saving started")[-1]
    assert temporary_files(server) == []


def test_shutdown_nosave_stops_a_running_bgsave_and_removes_its_file(launcher):
    server = launcher.start()
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    child = start_slow_bgsave(server, c)
    with pytest.raises(ConnectionError):
        c.call("SHUTDOWN", "NOSAVE")
    server.process.wait(DEADLINE)
    assert "There is a child saving an .rdb. Killing it!" in server.log_tail(50)
    assert temporary_files(server) == []
    assert not os.path.exists(os.path.join(server.dir, "dump.rdb"))
    wait_for(lambda: not _alive(child), "the child's end")


def _alive(pid: int) -> bool:
    """The process runs (a zombie, dead but not reaped yet, does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


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
