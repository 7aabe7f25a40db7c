"""The AOF's run-time life cycle: rewrites that wait for another child, rewrites stopped, started
by growth, history kept or collected.

How Redis 7.0 orders its background work (aof.c, rdb.c, server.c serverCron): one child at a time.
  - CONFIG SET appendonly yes while a BGSAVE runs replies OK at once and schedules the rewrite
    that creates the AOF (INFO aof_rewrite_scheduled:1); the cron starts it once the save ends.
  - BGREWRITEAOF while a BGSAVE runs is scheduled the same way; BGSAVE while a rewrite runs is
    an error, unless it says SCHEDULE.
  - CONFIG SET appendonly no kills a running rewrite child (logged "Killing running AOF rewrite
    child: <pid>") and removes its temporary files; the manifest stays as it was.
  - With auto-aof-rewrite-percentage P > 0 the cron rewrites when the AOF (base + incr) is larger
    than auto-aof-rewrite-min-size and has grown by P% since the last rewrite; P = 0 never.
  - aof-disable-auto-gc yes keeps the files a rewrite replaced, named `type h` (history) in the
    manifest; setting it back to no deletes them at once.
Children are made slow with rdb-key-save-delay (microseconds per key written, by a BGSAVE and by a
rewrite alike); the child keeps the value it had at the fork, so it is set back to 0 right after.
What must meet the child still running is sent in the same pipeline as the command that forks it:
the server runs a pipeline in one turn of its event loop, and only its cron, between turns, sees
a child end, so however slow the machine, those commands find the child running. Waits poll
INFO against generous deadlines; nothing here is timed for speed.
"""
from __future__ import annotations

import os
import re
import signal
import time

import pytest

from conformance.client import ErrorReply
from conformance.test_aof import MANIFEST, aof_dir, info_field, read, wait_rewrite_done
from conformance.readings import info_fields
from conformance.waiting import wait_for

pytestmark = [pytest.mark.launches, pytest.mark.internals("AOF files, INFO persistence, rdb-key-save-delay")]

DEADLINE = 30.0  # seconds: far longer than any child here takes, even on a loaded machine
KEYS = 20
ERR_BGSAVE_DURING_REWRITE = ("Another child process is active (AOF?): can't BGSAVE right now. "
                             "Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.")


def fill(c, count: int = KEYS) -> dict[bytes, bytes]:
    data = {b"key:%d" % i: b"value-%d" % i for i in range(count)}
    assert c.pipeline(*[("SET", key, value) for key, value in data.items()]) == ["OK"] * count
    return data


def start_slowly(c, seconds: float, command: tuple, started, *meanwhile: tuple) -> list:
    """Run command (BGSAVE or BGREWRITEAOF) with a child that takes about `seconds`, then the
    commands `meanwhile` in the same pipeline (they meet the child running); their replies."""
    delay_us = int(seconds * 1_000_000 / c.call("DBSIZE"))
    replies = c.pipeline(("CONFIG", "SET", "rdb-key-save-delay", delay_us), command,
                         ("CONFIG", "SET", "rdb-key-save-delay", 0), *meanwhile)
    assert replies[:3] == ["OK", started, "OK"]
    return replies[3:]


def fields(reply: bytes) -> dict[str, str]:
    """An INFO reply's fields."""
    return info_fields(reply)


def manifest(server) -> bytes:
    return read(os.path.join(aof_dir(server), MANIFEST))


def temp_rewrite_files(server) -> list[str]:
    return [name for name in os.listdir(server.dir) if name.startswith("temp-rewriteaof-")]


def assert_holds(server, data: dict[bytes, bytes]) -> None:
    with server.client() as c:
        assert c.pipeline(*[("GET", key) for key in data]) == list(data.values())
        assert c.call("DBSIZE") == len(data)


def log_text(server) -> str:
    with open(server.log_path, "rb") as log:
        return log.read().decode("utf-8", "replace")


# -- turning the AOF on and off while a child runs ------------------------------------------------


def test_appendonly_yes_during_a_bgsave_waits_for_it(launcher):
    server = launcher.start(appendfsync="always")
    with server.client() as c:
        data = fill(c)
        turned_on, info, written = start_slowly(
            c, 1.0, ("BGSAVE",), "Background saving started",
            ("CONFIG", "SET", "appendonly", "yes"), ("INFO", "persistence"),
            ("SET", "meanwhile", "written"))  # in the dataset the rewrite forks
        assert turned_on == "OK" and written == "OK"
        info = fields(info)
        assert info["aof_enabled"] == "1"
        assert info["aof_rewrite_scheduled"] == "1"
        assert info["aof_rewrite_in_progress"] == "0"
        assert info["rdb_bgsave_in_progress"] == "1"
        data[b"meanwhile"] = b"written"
        wait_for(lambda: info_field(c, "rdb_bgsave_in_progress") == "0", "the BGSAVE to end")
        wait_rewrite_done(c)
        assert info_field(c, "aof_last_bgrewrite_status") == "ok"
        assert int(info_field(c, "aof_rewrites")) >= 1
        assert c.call("SET", "after", "rewrite") == "OK"
        data[b"after"] = b"rewrite"
    assert sorted(os.listdir(aof_dir(server))) == [
        "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", MANIFEST]
    assert manifest(server) == (b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                                b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    server.options["appendonly"] = "yes"
    server.restart()
    assert_holds(server, data)


def test_appendonly_no_kills_a_running_rewrite(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        data = fill(c)
        start_slowly(c, 30.0, ("BGREWRITEAOF",), "Background append only file rewriting started")
        assert info_field(c, "aof_rewrite_in_progress") == "1"
        wait_for(lambda: temp_rewrite_files(server), "the child to create its temporary file")
        files_before = sorted(os.listdir(aof_dir(server)))
        manifest_before = manifest(server)
        assert c.call("CONFIG", "SET", "appendonly", "no") == "OK"
        wait_for(lambda: info_field(c, "aof_rewrite_in_progress") == "0", "the rewrite to stop")
        assert info_field(c, "aof_enabled") == "0"
        assert info_field(c, "aof_rewrite_scheduled") == "0"
        assert info_field(c, "aof_last_bgrewrite_status") == "ok"  # stopped on purpose: no failure
    wait_for(lambda: not temp_rewrite_files(server), "the temporary rewrite files to go")
    assert sorted(os.listdir(aof_dir(server))) == files_before
    assert manifest(server) == manifest_before
    started = re.findall(r"Background append only file rewriting started by pid (\d+)", log_text(server))
    killed = re.findall(r"Killing running AOF rewrite child: (\d+)", log_text(server))
    assert killed == started[-1:], log_text(server)
    # What the AOF held when it was turned off is still whole.
    server.options["appendonly"] = "yes"
    server.restart()
    assert_holds(server, data)


# -- scheduling: one child at a time --------------------------------------------------------------


def test_bgrewriteaof_during_a_bgsave_is_scheduled(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        data = fill(c)
        rewrites = int(info_field(c, "aof_rewrites"))
        rewrite, info = start_slowly(c, 1.0, ("BGSAVE",), "Background saving started",
                                     ("BGREWRITEAOF",), ("INFO", "persistence"))
        assert rewrite == "Background append only file rewriting scheduled"
        info = fields(info)
        assert info["aof_rewrite_scheduled"] == "1"
        assert info["aof_rewrite_in_progress"] == "0"
        wait_for(lambda: info_field(c, "rdb_bgsave_in_progress") == "0", "the BGSAVE to end")
        wait_rewrite_done(c)
        assert int(info_field(c, "aof_rewrites")) == rewrites + 1
        assert info_field(c, "aof_last_bgrewrite_status") == "ok"
        assert info_field(c, "rdb_last_bgsave_status") == "ok"
    assert manifest(server) == (b"file appendonly.aof.2.base.rdb seq 2 type b\n"
                                b"file appendonly.aof.2.incr.aof seq 2 type i\n")
    server.restart()
    assert_holds(server, data)


def test_bgsave_during_a_rewrite_is_refused_unless_scheduled(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        data = fill(c)
        refused, after_refusal, scheduled, after_scheduling = start_slowly(
            c, 1.0, ("BGREWRITEAOF",), "Background append only file rewriting started",
            ("BGSAVE",), ("INFO", "persistence"), ("BGSAVE", "SCHEDULE"), ("INFO", "persistence"))
        assert refused == ErrorReply("ERR " + ERR_BGSAVE_DURING_REWRITE)
        assert fields(after_refusal)["rdb_bgsave_in_progress"] == "0"
        assert scheduled == "Background saving scheduled"
        assert fields(after_scheduling)["rdb_bgsave_in_progress"] == "0"
        assert fields(after_scheduling)["aof_rewrite_in_progress"] == "1"
        wait_rewrite_done(c)
        # The scheduled save runs after the rewrite.
        wait_for(lambda: os.path.exists(os.path.join(server.dir, "dump.rdb")), "the scheduled BGSAVE")
        wait_for(lambda: info_field(c, "rdb_bgsave_in_progress") == "0", "the BGSAVE to end")
        assert info_field(c, "rdb_last_bgsave_status") == "ok"
    assert log_text(server).count("Background saving started by pid") == 1  # the refused one never ran
    server.stop()
    server.options["appendonly"] = "no"  # now the dump is what loads
    server.launch()
    assert_holds(server, data)


# -- automatic rewrites ---------------------------------------------------------------------------


def grow(c, kilobytes: int) -> None:
    """About `kilobytes` KB more in the AOF: values of 1000 bytes."""
    value = b"x" * 1000
    assert c.pipeline(*[("SET", b"big:%d" % i, value) for i in range(kilobytes)]) == ["OK"] * kilobytes


def test_the_aof_is_rewritten_when_it_has_grown(launcher):
    server = launcher.start(appendonly="yes", appendfsync="no",
                            auto_aof_rewrite_min_size="32kb", auto_aof_rewrite_percentage=100)
    with server.client() as c:
        assert c.call("CONFIG", "GET", "auto-aof-rewrite-min-size") == [b"auto-aof-rewrite-min-size", b"32768"]
        rewrites = int(info_field(c, "aof_rewrites"))
        grow(c, 64)
        wait_for(lambda: int(info_field(c, "aof_rewrites")) > rewrites, "an automatic rewrite")
        wait_rewrite_done(c)
        assert info_field(c, "aof_last_bgrewrite_status") == "ok"
    assert manifest(server) == (b"file appendonly.aof.2.base.rdb seq 2 type b\n"
                                b"file appendonly.aof.2.incr.aof seq 2 type i\n")
    assert "Starting automatic rewriting of AOF on" in log_text(server)


def test_no_automatic_rewrite_with_percentage_zero(launcher):
    server = launcher.start(appendonly="yes", appendfsync="no",
                            auto_aof_rewrite_min_size="32kb", auto_aof_rewrite_percentage=0)
    with server.client() as c:
        rewrites = int(info_field(c, "aof_rewrites"))
        grow(c, 64)
        time.sleep(1.5)  # many cron runs (10 a second): any would have started a rewrite
        assert int(info_field(c, "aof_rewrites")) == rewrites
        assert info_field(c, "aof_rewrite_in_progress") == "0"
    assert manifest(server) == (b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                                b"file appendonly.aof.1.incr.aof seq 1 type i\n")


# -- history files --------------------------------------------------------------------------------


def test_aof_disable_auto_gc_keeps_history_until_set_back(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always", aof_disable_auto_gc="yes")
    with server.client() as c:
        data = fill(c)
        assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
        wait_rewrite_done(c)
        assert c.call("SET", "after", "first") == "OK"
        data[b"after"] = b"first"
    # History lines come newest first, and a rewrite's incr files before the base it replaced.
    assert manifest(server) == (b"file appendonly.aof.2.base.rdb seq 2 type b\n"
                                b"file appendonly.aof.1.incr.aof seq 1 type h\n"
                                b"file appendonly.aof.1.base.rdb seq 1 type h\n"
                                b"file appendonly.aof.2.incr.aof seq 2 type i\n")
    assert sorted(os.listdir(aof_dir(server))) == [
        "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof",
        "appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", MANIFEST]
    with server.client() as c:  # a second rewrite adds to the history
        assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
        wait_rewrite_done(c)
    assert manifest(server) == (b"file appendonly.aof.3.base.rdb seq 3 type b\n"
                                b"file appendonly.aof.2.incr.aof seq 2 type h\n"
                                b"file appendonly.aof.2.base.rdb seq 2 type h\n"
                                b"file appendonly.aof.1.incr.aof seq 1 type h\n"
                                b"file appendonly.aof.1.base.rdb seq 1 type h\n"
                                b"file appendonly.aof.3.incr.aof seq 3 type i\n")
    with server.client() as c:  # setting it back collects the history at once
        assert c.call("CONFIG", "SET", "aof-disable-auto-gc", "no") == "OK"
    expected = ["appendonly.aof.3.base.rdb", "appendonly.aof.3.incr.aof", MANIFEST]
    wait_for(lambda: sorted(os.listdir(aof_dir(server))) == expected, "the history files to go")
    assert manifest(server) == (b"file appendonly.aof.3.base.rdb seq 3 type b\n"
                                b"file appendonly.aof.3.incr.aof seq 3 type i\n")
    assert "Removing the history file appendonly.aof.1.incr.aof in the background" in log_text(server)
    server.restart()
    assert_holds(server, data)


# -- the AOF turned on at run time: no file until its first rewrite, a temporary incr file meanwhile --


def resp(*argv: bytes) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in argv)


def the_child(server) -> int:
    """The one child process the server runs (Linux /proc)."""
    found: list[int] = []

    def look() -> bool:
        for task in os.listdir(f"/proc/{server.process.pid}/task"):
            with open(f"/proc/{server.process.pid}/task/{task}/children") as f:
                found.extend(int(word) for word in f.read().split())
        return bool(found)

    wait_for(look, "a child process")
    assert len(found) == 1, found
    return found[0]


def test_appendonly_yes_during_a_bgsave_opens_no_file_until_the_rewrite_runs(launcher):
    server = launcher.start(appendfsync="always")
    with server.client() as c:
        data = fill(c)
        turned_on, written, info = start_slowly(
            c, 60.0, ("BGSAVE",), "Background saving started",
            ("CONFIG", "SET", "appendonly", "yes"), ("SET", "meanwhile", "written"), ("INFO", "persistence"))
        assert (turned_on, written) == ("OK", "OK")
        data[b"meanwhile"] = b"written"
        assert fields(info)["aof_rewrite_scheduled"] == "1"
        assert not os.path.exists(aof_dir(server))  # no directory, no incr file, temporary or not
        os.kill(the_child(server), signal.SIGKILL)  # the save ends (failed): the rewrite may run
        wait_rewrite_done(c)
        assert info_field(c, "aof_last_bgrewrite_status") == "ok"
        assert info_field(c, "rdb_last_bgsave_status") == "err"
    assert sorted(os.listdir(aof_dir(server))) == [
        "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", MANIFEST]
    server.options["appendonly"] = "yes"
    server.restart()
    assert_holds(server, data)


def test_writes_while_the_aof_is_turned_on_gather_in_a_temporary_incr_file(launcher):
    """temp-<appendfilename>.incr takes the writes made while the first rewrite runs; the
    manifest is not touched until it succeeds, when the file is renamed to the first incr file.
    Turning the AOF off meanwhile stops the rewrite and leaves that file behind; turning it on
    again starts it afresh."""
    server = launcher.start(appendfsync="always")
    temporary = os.path.join(aof_dir(server), "temp-appendonly.aof.incr")
    with server.client() as c:
        data = fill(c)
        assert start_slowly(c, 60.0, ("CONFIG", "SET", "appendonly", "yes"), "OK",
                            ("SET", "during", "first")) == ["OK"]
        assert info_field(c, "aof_rewrite_in_progress") == "1"
        assert os.listdir(aof_dir(server)) == ["temp-appendonly.aof.incr"]  # no manifest yet
        assert read(temporary) == resp(b"SELECT", b"0") + resp(b"SET", b"during", b"first")
        assert c.call("CONFIG", "SET", "appendonly", "no") == "OK"
        assert os.listdir(aof_dir(server)) == ["temp-appendonly.aof.incr"]
        assert c.pipeline(("CONFIG", "SET", "appendonly", "yes"), ("SET", "during", "second")) == ["OK", "OK"]
        wait_rewrite_done(c)
        assert info_field(c, "aof_last_bgrewrite_status") == "ok"
        data[b"during"] = b"second"
    assert sorted(os.listdir(aof_dir(server))) == [
        "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", MANIFEST]
    assert manifest(server) == (b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                                b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    # the file was opened afresh by the second rewrite, and renamed once it succeeded
    assert read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof")) == \
        resp(b"SELECT", b"0") + resp(b"SET", b"during", b"second")
    assert ("Successfully renamed the temporary AOF incr file temp-appendonly.aof.incr into "
            "appendonly.aof.1.incr.aof") in log_text(server)
    server.options["appendonly"] = "yes"
    server.restart()
    assert_holds(server, data)


def test_turning_the_aof_on_again_keeps_the_old_manifest_until_the_rewrite_succeeds(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    old = (b"file appendonly.aof.1.base.rdb seq 1 type b\n"
           b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    with server.client() as c:
        data = fill(c)
        assert c.call("CONFIG", "SET", "appendonly", "no") == "OK"
        assert c.call("SET", "while", "off") == "OK"
        data[b"while"] = b"off"
        assert start_slowly(c, 60.0, ("CONFIG", "SET", "appendonly", "yes"), "OK", ("SET", "k", "v")) == ["OK"]
        data[b"k"] = b"v"
        assert manifest(server) == old
        assert sorted(os.listdir(aof_dir(server))) == [
            "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", MANIFEST, "temp-appendonly.aof.incr"]
        assert c.call("CONFIG", "SET", "appendonly", "no") == "OK"  # stops the slow rewrite
        assert manifest(server) == old
        assert c.call("CONFIG", "SET", "appendonly", "yes") == "OK"
        wait_rewrite_done(c)
    # the old files became history and were removed
    assert manifest(server) == (b"file appendonly.aof.2.base.rdb seq 2 type b\n"
                                b"file appendonly.aof.2.incr.aof seq 2 type i\n")
    assert sorted(os.listdir(aof_dir(server))) == [
        "appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", MANIFEST]
    server.restart()
    assert_holds(server, data)


# -- SHUTDOWN while the AOF is being turned on ----------------------------------------------------


def test_no_shutdown_while_the_first_rewrite_runs_unless_forced(launcher):
    server = launcher.start()
    with server.client() as c:
        fill(c)
        assert start_slowly(c, 60.0, ("CONFIG", "SET", "appendonly", "yes"), "OK") == []
        refused = ErrorReply("ERR Errors trying to SHUTDOWN. Check logs.")
        assert c.call("SHUTDOWN", "NOSAVE") == refused
        assert c.call("SHUTDOWN") == refused
        server.process.send_signal(signal.SIGTERM)
        wait_for(lambda: log_text(server).count("Writing initial AOF, can't exit.") == 3, "the refused SIGTERM")
        assert c.call("PING") == "PONG"
        assert info_field(c, "aof_rewrite_in_progress") == "1"
        with pytest.raises(ConnectionError):
            c.call("SHUTDOWN", "NOSAVE", "FORCE")
    server.process.wait(DEADLINE)
    log = log_text(server)
    assert "Errors trying to shut down the server. Check the logs for more information." in log
    assert "Writing initial AOF. Exit anyway." in log
    assert not temp_rewrite_files(server)
