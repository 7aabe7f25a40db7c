"""AOF rewrites that keep failing, as Redis 7.0 handles them (aof.c aofRewriteLimited).

Every rewrite that fails counts in INFO aof_rewrites_consecutive_failures (a success sets it
back to 0). Rewrites the server starts by itself are retried: the one turning the AOF on is
scheduled again at once, an automatic one starts again while the AOF is still too large. After
three failures in a row the cron holds them back, logging "Background AOF rewrite has
repeatedly failed and triggered the limit, will retry in 1 minutes" (then 2, 4 ... 60 minutes
after each further failure): each failed attempt of a running AOF has left an incr file in
the manifest, which would otherwise pile up. BGREWRITEAOF by hand is never held back.

A rewrite is made to fail with a directory where its new base file must go: its child writes
the dataset, and the parent cannot rename it into place (root, as these tests may run, is not
stopped by permissions). Waits poll INFO and the log against generous deadlines."""
from __future__ import annotations

import os

import pytest

from conformance.test_aof import MANIFEST, aof_dir, info_persistence, read, wait_rewrite_done
from conformance.waiting import wait_for

pytestmark = [pytest.mark.launches, pytest.mark.internals("AOF files, INFO persistence, log lines")]

DEADLINE = 30.0
HELD_BACK = "# Background AOF rewrite has repeatedly failed and triggered the limit, will retry in 1 minutes"


def log_text(server) -> str:
    with open(server.log_path, "rb") as log:
        return log.read().decode("utf-8", "replace")


def held_back(server, c) -> dict[str, str]:
    """INFO persistence once the cron has held rewrites back after three failures."""
    wait_for(lambda: HELD_BACK in log_text(server), "the rewrites held back")
    fields = info_persistence(c)
    assert fields["aof_rewrites_consecutive_failures"] == "3"
    assert fields["aof_rewrite_in_progress"] == "0"
    assert fields["aof_last_bgrewrite_status"] == "err"
    return fields


def test_turning_the_aof_on_is_retried_until_held_back(launcher):
    server = launcher.start(appendfsync="always")
    blocker = os.path.join(aof_dir(server), "appendonly.aof.1.base.rdb")
    os.makedirs(blocker)
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("CONFIG", "SET", "appendonly", "yes") == "OK"
    fields = held_back(server, c)
    assert (fields["aof_enabled"], fields["aof_rewrite_scheduled"], fields["aof_rewrites"]) == ("1", "1", "3")
    log = log_text(server)
    assert log.count(HELD_BACK) == 1
    assert log.count("Background append only file rewriting started by pid") == 3
    # each failure removed the temporary incr file it had opened; no manifest was written
    assert log.count("Removing the temp incr aof file temp-appendonly.aof.incr in the background") == 3
    assert os.listdir(aof_dir(server)) == ["appendonly.aof.1.base.rdb"]
    assert c.call("SET", "j", "w") == "OK"  # (in the dataset the next rewrite writes)
    # by hand, a rewrite is not held back; its success ends the count
    os.rmdir(blocker)
    assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
    wait_rewrite_done(c)
    fields = info_persistence(c)
    assert (fields["aof_last_bgrewrite_status"], fields["aof_rewrites_consecutive_failures"]) == ("ok", "0")
    assert read(os.path.join(aof_dir(server), MANIFEST)) == (b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                                                             b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.pipeline(("GET", "k"), ("GET", "j")) == [b"v", b"w"]


def test_automatic_rewrites_that_fail_leave_an_incr_file_each_until_held_back(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    blocker = os.path.join(aof_dir(server), "appendonly.aof.2.base.rdb")
    os.mkdir(blocker)
    c = server.client()
    rewrites = int(info_persistence(c)["aof_rewrites"])
    assert c.call("CONFIG", "SET", "auto-aof-rewrite-min-size", 1, "auto-aof-rewrite-percentage", 100) == "OK"
    assert c.pipeline(*[("SET", f"key:{i}", "x" * 100) for i in range(20)]) == ["OK"] * 20
    fields = held_back(server, c)
    assert int(fields["aof_rewrites"]) == rewrites + 3
    assert log_text(server).count("Starting automatic rewriting of AOF on") == 3
    # every attempt opened the next incr file; the writes since go to the last one
    assert c.call("SET", "after", "held back") == "OK"
    assert read(os.path.join(aof_dir(server), MANIFEST)) == (b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                                                             b"file appendonly.aof.1.incr.aof seq 1 type i\n"
                                                             b"file appendonly.aof.2.incr.aof seq 2 type i\n"
                                                             b"file appendonly.aof.3.incr.aof seq 3 type i\n"
                                                             b"file appendonly.aof.4.incr.aof seq 4 type i\n")
    assert read(os.path.join(aof_dir(server), "appendonly.aof.4.incr.aof")).endswith(
        b"*3\r\n$3\r\nSET\r\n$5\r\nafter\r\n$9\r\nheld back\r\n")
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.call("DBSIZE") == 21
    # no more automatic rewrites; one by hand succeeds and makes the incr files history
    assert c.call("CONFIG", "SET", "auto-aof-rewrite-percentage", 0) == "OK"
    os.rmdir(blocker)
    assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
    wait_rewrite_done(c)
    assert info_persistence(c)["aof_rewrites_consecutive_failures"] == "0"
    assert read(os.path.join(aof_dir(server), MANIFEST)) == (b"file appendonly.aof.2.base.rdb seq 2 type b\n"
                                                             b"file appendonly.aof.5.incr.aof seq 5 type i\n")
    server.restart()
    assert server.client().call("GET", "after") == b"held back"


def test_a_rewrite_scheduled_by_hand_is_not_held_back(launcher):
    """BGREWRITEAOF while a BGSAVE runs schedules a rewrite and sets the count back to 0, so
    the cron starts it however often rewrites failed before."""
    server = launcher.start(appendfsync="always")
    blocker = os.path.join(aof_dir(server), "appendonly.aof.1.base.rdb")
    os.makedirs(blocker)
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("CONFIG", "SET", "appendonly", "yes") == "OK"
    held_back(server, c)
    os.rmdir(blocker)
    replies = c.pipeline(("CONFIG", "SET", "rdb-key-save-delay", 100_000), ("BGSAVE",),
                         ("CONFIG", "SET", "rdb-key-save-delay", 0), ("BGREWRITEAOF",), ("INFO", "persistence"))
    assert replies[:4] == ["OK", "Background saving started", "OK",
                           "Background append only file rewriting scheduled"]
    assert b"aof_rewrites_consecutive_failures:0\r\n" in replies[4]
    wait_rewrite_done(c)
    fields = info_persistence(c)
    assert (fields["aof_last_bgrewrite_status"], fields["aof_rewrites_consecutive_failures"]) == ("ok", "0")
    assert log_text(server).count(HELD_BACK) == 1
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.call("GET", "k") == b"v"
