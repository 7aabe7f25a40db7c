"""spec/persistence.md: SAVE, BGSAVE [SCHEDULE], LASTSAVE, save points, INFO persistence,
stop-writes-on-bgsave-error, the save at SHUTDOWN.

Every test launches its own server in a fresh dir (the `launcher` fixture), so files written
there are its own. A file is judged valid by redis-check-rdb, Redis's own RDB checker. Waiting
for a background save is bounded polling of INFO, never a fixed sleep.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from conformance.client import ErrorReply
from conformance import readings
from conformance.waiting import wait_for

pytestmark = pytest.mark.launches

MISCONF = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
           "persist to disk. Commands that may modify the data set are disabled, because this "
           "instance is configured to report errors during writes if RDB snapshotting fails "
           "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
           "the RDB error.")
ALREADY = "ERR Background save already in progress"
WAIT = 30.0  # seconds a background save gets to finish, even on a loaded machine


def persistence(client) -> dict[str, str]:
    return readings.info(client, "persistence")


def wait_bgsave_done(client) -> dict[str, str]:
    """INFO persistence once no background save runs."""
    def finished():
        info = persistence(client)
        return info if info["rdb_bgsave_in_progress"] == "0" else None
    return wait_for(finished, "the background save to end")


def check_rdb(path: str) -> str:
    """redis-check-rdb's report; fails the test if the file is not a valid RDB."""
    result = subprocess.run(["redis-check-rdb", path], check=False, capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RDB looks OK" in result.stdout
    return result.stdout


def fill(client, count: int = 10) -> None:
    client.call("MSET", *[part for i in range(count) for part in (f"key:{i}", f"value {i}")])


def slow_saves(client, keys: int = 20, seconds: float = 3.0) -> None:
    """Make a background save take about `seconds` (the hidden rdb-key-save-delay, per key)."""
    client.call("FLUSHALL")
    fill(client, keys)
    assert client.call("CONFIG", "SET", "rdb-key-save-delay", int(seconds * 1e6 / keys)) == "OK"


@pytest.mark.internals("RDB files and INFO persistence")
def test_save_writes_dbfilename_in_dir(launcher):
    server = launcher.start()
    client = server.client()
    fill(client)
    client.call("RPUSH", "list", "a", "b")
    before = int(time.time())
    assert client.call_raw("SAVE") == b"+OK\r\n"
    path = os.path.join(server.dir, "dump.rdb")
    report = check_rdb(path)
    assert "Checksum OK" in report
    assert "11 keys read" in report
    assert client.call("LASTSAVE") >= before
    info = persistence(client)
    assert info["rdb_changes_since_last_save"] == "0"
    assert info["rdb_saves"] == "1"
    assert info["rdb_last_save_time"] == str(client.call("LASTSAVE"))
    assert not [name for name in os.listdir(server.dir) if name.startswith("temp-")]


def test_save_and_bgsave_arguments(launcher):
    client = launcher.start().client()
    assert client.call("SAVE", "now") == "ERR wrong number of arguments for 'save' command"
    assert client.call("BGSAVE", "now") == "ERR syntax error"
    assert client.call("BGSAVE", "SCHEDULE", "SCHEDULE") == "ERR syntax error"
    assert client.call("LASTSAVE", "x") == "ERR wrong number of arguments for 'lastsave' command"
    assert client.call("MULTI") == "OK"
    assert client.call("SAVE") == "ERR Command not allowed inside a transaction"
    assert client.call("EXEC") == "EXECABORT Transaction discarded because of previous errors."
    assert client.call("PING") == "PONG"  # the connection survives


@pytest.mark.internals("RDB files and INFO persistence")
def test_bgsave_saves_in_the_background(launcher):
    server = launcher.start()
    client = server.client()
    fill(client, 5)
    before_save = persistence(client)
    assert before_save["rdb_changes_since_last_save"] == "5"
    assert before_save["rdb_last_bgsave_time_sec"] == "-1"
    assert before_save["rdb_current_bgsave_time_sec"] == "-1"
    before = int(time.time())
    assert client.call_raw("BGSAVE") == b"+Background saving started\r\n"
    info = wait_bgsave_done(client)
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_changes_since_last_save"] == "0"
    assert info["rdb_saves"] == "1"
    assert int(info["rdb_last_bgsave_time_sec"]) >= 0
    assert info["rdb_current_bgsave_time_sec"] == "-1"
    assert client.call("LASTSAVE") >= before
    assert "5 keys read" in check_rdb(os.path.join(server.dir, "dump.rdb"))
    stats = client.call("INFO", "stats").decode()
    assert "total_forks:1\r\n" in stats


@pytest.mark.internals("RDB files and INFO persistence")
def test_one_background_save_at_a_time(launcher):
    server = launcher.start()
    client = server.client()
    slow_saves(client, seconds=1.0)
    # One pipeline: the server runs it in one turn of its event loop, and only its cron, between
    # turns, sees a child end; so the commands after BGSAVE meet the save running, however slow
    # the machine is.
    replies = client.pipeline(("BGSAVE",), ("BGSAVE",), ("BGSAVE", "SCHEDULE"), ("SAVE",),
                              ("INFO", "persistence"),
                              ("SET", "written", "meanwhile"))  # the server serves while the child saves
    assert replies[:4] == ["Background saving started", ALREADY, ALREADY, ALREADY]
    fields = readings.info_fields(replies[4], "INFO persistence")
    assert fields["rdb_bgsave_in_progress"] == "1"
    assert int(fields["rdb_current_bgsave_time_sec"]) >= 0
    assert replies[5] == "OK"
    info = wait_bgsave_done(client)
    assert info["rdb_last_bgsave_status"] == "ok"
    # the change made while the child saved is still to be saved
    assert info["rdb_changes_since_last_save"] == "1"
    assert "20 keys read" in check_rdb(os.path.join(server.dir, "dump.rdb"))


@pytest.mark.internals("RDB files and INFO persistence")
def test_bgsave_in_a_transaction_is_scheduled(launcher):
    server = launcher.start()
    client = server.client()
    client.call("SET", "k", "v")
    assert client.call("MULTI") == "OK"
    assert client.call("BGSAVE") == "QUEUED"
    assert client.call("BGSAVE", "SCHEDULE") == "QUEUED"
    assert client.call("EXEC") == ["Background saving scheduled", "Background saving scheduled"]
    # the periodic check starts it
    wait_for(lambda: persistence(client)["rdb_saves"] == "1", "a save to be counted")
    info = wait_bgsave_done(client)
    assert info["rdb_last_bgsave_status"] == "ok"
    check_rdb(os.path.join(server.dir, "dump.rdb"))


@pytest.mark.internals("RDB files and INFO persistence")
@pytest.mark.parametrize("command, changes", [
    (("SET", "a", "1"), 1),
    (("SET", "a", "2", "NX"), 0),         # refused: nothing changed
    (("SET", "b", "2", "XX"), 0),
    (("MSET", "x", "1", "y", "2", "z", "3"), 3),
    (("DEL", "missing", "missing2"), 0),
    (("DEL", "x", "y"), 2),
    (("INCR", "a"), 1),
    (("EXPIRE", "a", "100"), 1),
    (("EXPIRE", "missing", "100"), 0),
    (("PERSIST", "a"), 0),                # no time to live to remove
    (("SADD", "s", "m"), 1),
    (("GET", "a"), 0),                     # reads change nothing
])
def test_changes_since_last_save(launcher, command, changes):
    client = launcher.start().client()
    client.call("SET", "a", "1")
    client.call("MSET", "x", "1", "y", "2")
    assert client.call("SAVE") == "OK"
    assert persistence(client)["rdb_changes_since_last_save"] == "0"
    client.call(*command)
    assert persistence(client)["rdb_changes_since_last_save"] == str(changes)


@pytest.mark.internals("RDB files and INFO persistence")
def test_info_persistence_fields(launcher):
    client = launcher.start().client()
    info = persistence(client)
    for field in ("rdb_changes_since_last_save", "rdb_bgsave_in_progress", "rdb_last_save_time",
                  "rdb_last_bgsave_time_sec", "rdb_current_bgsave_time_sec", "rdb_saves"):
        int(info[field])  # each is an integer
    assert info["rdb_bgsave_in_progress"] == "0"
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_saves"] == "0"
    assert info["rdb_last_save_time"] == str(client.call("LASTSAVE"))
    assert client.call_raw("LASTSAVE") == b":%d\r\n" % client.call("LASTSAVE")


@pytest.mark.internals("RDB files and INFO persistence")
def test_save_points_trigger_a_background_save(launcher):
    server = launcher.start(save=["1", "1"])  # two words, as every version reads them
    client = server.client()
    start = client.call("LASTSAVE")
    client.call("SET", "k", "v")
    # more than 1 second after the last save, with 1 change: the server saves by itself
    wait_for(lambda: client.call("LASTSAVE") > start, "LASTSAVE to move on")
    info = wait_bgsave_done(client)
    assert info["rdb_last_bgsave_status"] == "ok"
    assert info["rdb_changes_since_last_save"] == "0"
    assert "1 keys read" in check_rdb(os.path.join(server.dir, "dump.rdb"))


@pytest.mark.internals("RDB files and INFO persistence")
@pytest.mark.parametrize("checksum", [True, False])
def test_rdbchecksum(launcher, checksum):
    server = launcher.start(rdbchecksum=checksum)
    client = server.client()
    client.call("SET", "k", "v")
    assert client.call("SAVE") == "OK"
    path = os.path.join(server.dir, "dump.rdb")
    with open(path, "rb") as f:
        data = f.read()
    assert data.startswith(b"REDIS0010")
    report = check_rdb(path)
    if checksum:
        assert data[-8:] != bytes(8)
        assert "Checksum OK" in report
    else:
        assert data[-8:] == bytes(8)
        assert "checksum disabled" in report


@pytest.mark.internals("RDB files and INFO persistence")
def test_dbfilename_and_dir_from_config_set(launcher):
    server = launcher.start(enable_protected_configs="yes")
    client = server.client()
    elsewhere = os.path.join(server.dir, "elsewhere")
    os.mkdir(elsewhere)
    assert client.call("CONFIG", "SET", "dbfilename", "other.rdb") == "OK"
    assert client.call("CONFIG", "SET", "dir", elsewhere) == "OK"
    client.call("SET", "k", "v")
    assert client.call("SAVE") == "OK"
    check_rdb(os.path.join(elsewhere, "other.rdb"))
    assert not os.path.exists(os.path.join(server.dir, "dump.rdb"))
    os.unlink(os.path.join(elsewhere, "other.rdb"))
    assert client.call("BGSAVE") == "Background saving started"
    assert wait_bgsave_done(client)["rdb_last_bgsave_status"] == "ok"
    check_rdb(os.path.join(elsewhere, "other.rdb"))


@pytest.mark.internals("RDB files and INFO persistence")
def test_failed_bgsave_stops_writes(launcher):
    # Tests may run as root, for whom permissions do not stop writes: the dir is removed instead.
    server = launcher.start(save=["3600", "1"], enable_protected_configs="yes")
    client = server.client()
    gone = os.path.join(server.dir, "gone")
    os.mkdir(gone)
    assert client.call("CONFIG", "SET", "dir", gone) == "OK"
    shutil.rmtree(gone)
    client.call("SET", "k", "v")
    # a failed SAVE is a bare ERR and does not stop writes
    assert client.call_raw("SAVE") == b"-ERR\r\n"
    assert persistence(client)["rdb_last_bgsave_status"] == "ok"
    assert client.call("SET", "k", "v2") == "OK"
    assert client.call("BGSAVE") == "Background saving started"
    info = wait_bgsave_done(client)
    assert info["rdb_last_bgsave_status"] == "err"
    assert info["rdb_changes_since_last_save"] == "2"
    # writes and PING are refused, reads are not
    assert client.call_raw("SET", "k", "v3") == b"-" + MISCONF.encode() + b"\r\n"
    assert client.call("PING") == MISCONF
    assert client.call("GET", "k") == b"v2"
    assert client.call("MULTI") == "OK"
    assert client.call("DEL", "k") == MISCONF
    assert client.call("EXEC") == "EXECABORT Transaction discarded because of previous errors."
    assert client.call("MULTI") == "OK"
    assert client.call("GET", "k") == "QUEUED"
    assert client.call("EXEC") == [b"v2"]
    # the option off: writes again
    assert client.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "no") == "OK"
    assert client.call("SET", "k", "v4") == "OK"
    assert client.call("CONFIG", "SET", "stop-writes-on-bgsave-error", "yes") == "OK"
    assert client.call("SET", "k", "v5") == MISCONF
    # a good directory is not enough: a background save must succeed
    assert client.call("CONFIG", "SET", "dir", server.dir) == "OK"
    assert isinstance(client.call("INCR", "n"), ErrorReply)
    assert client.call("BGSAVE") == "Background saving started"
    assert wait_bgsave_done(client)["rdb_last_bgsave_status"] == "ok"
    assert client.call("SET", "k", "v6") == "OK"
    assert client.call("GET", "k") == b"v6"


@pytest.mark.internals("RDB files and INFO persistence")
def test_shutdown_with_save_points_saves(launcher):
    server = launcher.start(save=["3600", "1"])
    client = server.client()
    fill(client, 3)
    with pytest.raises(ConnectionError):
        client.call("SHUTDOWN")
    server.process.wait(timeout=WAIT)
    assert "3 keys read" in check_rdb(os.path.join(server.dir, "dump.rdb"))


@pytest.mark.internals("RDB files and INFO persistence")
def test_shutdown_kills_a_running_background_save_then_saves(launcher):
    server = launcher.start(save=["3600", "1"])
    client = server.client()
    slow_saves(client, keys=10, seconds=60.0)
    assert client.call("BGSAVE") == "Background saving started"
    # the delay applies to every save; the running child keeps the one it forked with
    assert client.call("CONFIG", "SET", "rdb-key-save-delay", "0") == "OK"
    assert persistence(client)["rdb_bgsave_in_progress"] == "1"
    with pytest.raises(ConnectionError):
        client.call("SHUTDOWN")
    server.process.wait(timeout=WAIT)
    assert "10 keys read" in check_rdb(os.path.join(server.dir, "dump.rdb"))
    assert not [name for name in os.listdir(server.dir) if name.startswith("temp-")]
