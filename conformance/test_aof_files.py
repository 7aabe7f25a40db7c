"""AOF files from before Redis 7.0, timestamp annotations, and what loading an AOF means.

An old-style AOF is a single file, `appendonly.aof` in `dir`: commands, or an RDB preamble with
commands after it. Started with --appendonly yes, the target adopts it as Redis 7.0 does: the
file moves into the AOF directory as the base of a new manifest, loads, and writes go on in a
new incr file. With aof-timestamp-enabled yes, `#TS:<unix time>` lines go before the commands of
each new second, and before the commands of a base written without RDB preamble; loading passes
over them. While an AOF loads nothing expires: a command that set an expiry now past still
leaves the key to the commands after it, as when they first ran. Each test starts its own
servers."""
from __future__ import annotations

import os
import time

import pytest

from conformance.test_aof import MANIFEST, aof_dir, read, wait_rewrite_done

pytestmark = [pytest.mark.launches, pytest.mark.internals("AOF files")]

COMMANDS = (b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\nold\r\n"
            b"*4\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n$1\r\nb\r\n"
            b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n"
            b"*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\nx\r\n")


def write(path: str, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)


def contents(c) -> dict:
    c.call("SELECT", "0")
    result = {"k": c.call("GET", "k"), "l": c.call("LRANGE", "l", "0", "-1")}
    c.call("SELECT", "2")
    result["s"] = c.call("SMEMBERS", "s")
    c.call("SELECT", "0")
    return result


def test_an_old_style_aof_is_adopted_into_the_aof_directory(launcher, tmp_path):
    write(str(tmp_path / "appendonly.aof"), COMMANDS)
    server = launcher.start(dir=str(tmp_path), appendonly="yes", appendfsync="always")
    with server.client() as c:
        assert contents(c) == {"k": b"old", "l": [b"a", b"b"], "s": [b"x"]}
        c.call("SET", "k", "new")
    assert not os.path.exists(tmp_path / "appendonly.aof")
    assert sorted(os.listdir(aof_dir(server))) == ["appendonly.aof", "appendonly.aof.1.incr.aof", MANIFEST]
    assert read(os.path.join(aof_dir(server), MANIFEST)) == (
        b"file appendonly.aof seq 1 type b\n"
        b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    assert read(os.path.join(aof_dir(server), "appendonly.aof")) == COMMANDS  # moved, unchanged
    assert b"new" in read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    server.restart()
    with server.client() as c:
        assert contents(c) == {"k": b"new", "l": [b"a", b"b"], "s": [b"x"]}
    # The next rewrite replaces the adopted base with a numbered one.
    with server.client() as c:
        c.call("BGREWRITEAOF")
        wait_rewrite_done(c)
    assert read(os.path.join(aof_dir(server), MANIFEST)) == (
        b"file appendonly.aof.2.base.rdb seq 2 type b\n"
        b"file appendonly.aof.2.incr.aof seq 2 type i\n")
    server.restart()
    with server.client() as c:
        assert contents(c) == {"k": b"new", "l": [b"a", b"b"], "s": [b"x"]}


def test_an_old_style_aof_with_an_rdb_preamble_loads_its_tail_too(launcher, tmp_path):
    # The preamble: an RDB file as the target itself writes it, holding k=old and l.
    source = launcher.start()
    with source.client() as c:
        c.call("SET", "k", "old")
        c.call("RPUSH", "l", "a", "b")
        c.call("SET", "gone", "x", "PX", "1")  # expires before the save: not in the file
        time.sleep(0.01)
        c.call("SAVE")
    preamble = read(os.path.join(source.dir, "dump.rdb"))
    source.stop()
    tail = b"*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\nx\r\n"
    write(str(tmp_path / "appendonly.aof"), preamble + tail)
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    with server.client() as c:
        assert contents(c) == {"k": b"old", "l": [b"a", b"b"], "s": [b"x"]}
        assert c.call("DBSIZE") == 2


def test_a_newer_aof_directory_wins_over_an_old_style_file(launcher, tmp_path):
    server = launcher.start(dir=str(tmp_path), appendonly="yes", appendfsync="always")
    with server.client() as c:
        c.call("SET", "k", "current")
    server.stop()
    write(str(tmp_path / "appendonly.aof"), COMMANDS)
    server.launch()
    with server.client() as c:
        assert c.call("GET", "k") == b"current"
        assert c.call("EXISTS", "l") == 0
    assert os.path.exists(tmp_path / "appendonly.aof")  # left where it was


def test_an_interrupted_upgrade_is_retried(launcher, tmp_path):
    # A crash after the manifest was written but before the file moved: the manifest names the
    # old file as base, and the file is still in dir.
    os.mkdir(tmp_path / "appendonlydir")
    write(str(tmp_path / "appendonlydir" / MANIFEST), b"file appendonly.aof seq 1 type b\n")
    write(str(tmp_path / "appendonly.aof"), COMMANDS)
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    with server.client() as c:
        assert contents(c) == {"k": b"old", "l": [b"a", b"b"], "s": [b"x"]}
    assert not os.path.exists(tmp_path / "appendonly.aof")


def annotations(data: bytes) -> list[int]:
    return [int(line[4:]) for line in data.split(b"\r\n") if line.startswith(b"#TS:")]


def test_timestamp_annotations_mark_each_new_second(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always", aof_timestamp_enabled="yes")
    incr = os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof")
    with server.client() as c:
        # Two writes in one second: sent together, at the start of a second (so that even a slow
        # machine does not see the second turn between them).
        time.sleep(1.01 - time.time() % 1)
        before = int(time.time())
        assert c.pipeline(("SET", "a", "1"), ("SET", "b", "2")) == ["OK", "OK"]
        first = read(incr)
        time.sleep(1.1)
        c.call("SET", "c", "3")
        after = int(time.time())
        second = read(incr)
    assert first.startswith(b"#TS:")
    stamps = annotations(first)
    assert len(stamps) == 1 and before <= stamps[0] <= after
    # Written when a command comes in a later second than the last annotation.
    stamps = annotations(second)
    assert len(stamps) == 2 and stamps[0] < stamps[1] <= after
    assert second.index(b"#TS:%d\r\n" % stamps[1]) < second.index(b"$1\r\nc\r\n")
    server.restart()
    with server.client() as c:
        assert c.call("MGET", "a", "b", "c") == [b"1", b"2", b"3"]


def test_a_base_without_preamble_starts_with_a_timestamp(launcher):
    server = launcher.start(appendonly="yes", aof_timestamp_enabled="yes", aof_use_rdb_preamble="no")
    with server.client() as c:
        c.call("RPUSH", "l", "x")
        before = int(time.time())
        c.call("BGREWRITEAOF")
        wait_rewrite_done(c)
    base = read(os.path.join(aof_dir(server), "appendonly.aof.2.base.aof"))
    assert base.startswith(b"#TS:")
    assert before <= annotations(base)[0] <= int(time.time())
    assert base[base.index(b"\r\n") + 2:].startswith(b"*2\r\n$6\r\nSELECT\r\n")
    server.restart()
    with server.client() as c:
        assert c.call("LRANGE", "l", "0", "-1") == [b"x"]


def test_timestamps_are_off_by_default_and_can_be_turned_on(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    incr = os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof")
    with server.client() as c:
        assert c.call("CONFIG", "GET", "aof-timestamp-enabled") == [b"aof-timestamp-enabled", b"no"]
        c.call("SET", "a", "1")
        assert b"#TS:" not in read(incr)
        assert c.call("CONFIG", "SET", "aof-timestamp-enabled", "yes") == "OK"
        c.call("SET", "b", "1")
    assert len(annotations(read(incr))) == 1


def test_nothing_expires_while_an_aof_loads(launcher, tmp_path):
    # Times long past (1 s after the epoch): when these commands first ran they were in the
    # future. Replayed, each key keeps the history the file tells, then expires once loaded.
    os.mkdir(tmp_path / "appendonlydir")
    write(str(tmp_path / "appendonlydir" / MANIFEST), b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    write(str(tmp_path / "appendonlydir" / "appendonly.aof.1.incr.aof"),
          b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n"
          b"*5\r\n$3\r\nSET\r\n$1\r\nn\r\n$1\r\n5\r\n$4\r\nPXAT\r\n$4\r\n1000\r\n"
          b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
          b"*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\na\r\n"
          b"*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nl\r\n$4\r\n1000\r\n"
          b"*3\r\n$5\r\nRPUSH\r\n$1\r\nl\r\n$1\r\nb\r\n"
          b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nkept\r\n")
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    with server.client() as c:
        # Had INCR or the second RPUSH met an expired key, it would have made a new one
        # without expiry, and n would be 1, l would be [b].
        assert c.call("GET", "n") is None
        assert c.call("LRANGE", "l", "0", "-1") == []
        assert c.call("GET", "k") == b"kept"
