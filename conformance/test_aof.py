"""The append-only file as Redis 7.0 keeps it: a directory (appenddirname) with a manifest, a base
file and incr files. The target started with --appendonly yes keeps its data over a restart,
lays the files out as Redis does, rewrites them on BGREWRITEAOF, writes relative expiries as
absolute times, and its files are accepted by redis-check-aof and loaded by a real redis-server
(and the other way round). Cut-short and broken files stop or shorten the start-up as Redis does.
Each test starts its own servers (with --server redis-server both sides are real Redis)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from conformance import dataset
from conformance.targets import ServerLaunchError
from conformance.readings import info

pytestmark = pytest.mark.launches

MANIFEST = "appendonly.aof.manifest"


# Tests that read the incr file right after a reply run with appendfsync always: under
# everysec Redis may postpone its write while a background fsync is still running.


def aof_dir(server) -> str:
    return os.path.join(server.dir, "appendonlydir")


def read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def info_persistence(c) -> dict[str, str]:
    return info(c, "persistence")


def info_field(c, name: str) -> str:
    return info(c, "persistence")[name]


def wait_rewrite_done(c, timeout: float = 30.0) -> None:
    """Until no rewrite runs and none is scheduled, both read from one INFO: read from two, a
    scheduled rewrite that the cron starts between them would look like none at all."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fields = info_persistence(c)
        if fields["aof_rewrite_in_progress"] == "0" and fields["aof_rewrite_scheduled"] == "0":
            return
        time.sleep(0.05)
    raise AssertionError(f"the AOF rewrite did not finish in {timeout}s")


def fill(c) -> None:
    c.call("SET", "s", "hello")
    c.call("SET", "n", "12345")
    c.call("SET", "ttl", "v", "EX", "1000")
    c.call("RPUSH", "l", "a", "b", "c")
    c.call("HSET", "h", "f", "v", "g", "1")
    c.call("SADD", "set", "x", "1", "2")
    c.call("ZADD", "z", "1.5", "a", "-2", "b")
    c.call("INCRBYFLOAT", "f", "1.1")
    c.call("SELECT", "3")
    c.call("SET", "db3", "three")
    c.call("SELECT", "0")


def snapshot(c) -> dict:
    """Every key of dbs 0 and 3: type, contents, and whether it has a TTL."""
    result = {}
    for db in (0, 3):
        c.call("SELECT", str(db))
        for key in c.call("KEYS", "*"):
            kind = dataset.type_of(c, key)
            result[(db, key)] = (kind, dataset.contents(c, key, kind), c.call("PTTL", key) > 0)
    c.call("SELECT", "0")
    return result


def check_aof(server) -> subprocess.CompletedProcess:
    return subprocess.run(["redis-check-aof", os.path.join(aof_dir(server), MANIFEST)],
                          capture_output=True, text=True, timeout=30)


def test_data_survives_a_restart(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        fill(c)
        before = snapshot(c)
    server.restart()
    with server.client() as c:
        assert snapshot(c) == before
        assert info_field(c, "aof_enabled") == "1"


@pytest.mark.internals("AOF files")
def test_layout_and_manifest(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        c.call("SET", "k", "v")
    assert sorted(os.listdir(aof_dir(server))) == [
        "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", MANIFEST]
    assert read(os.path.join(aof_dir(server), MANIFEST)) == (
        b"file appendonly.aof.1.base.rdb seq 1 type b\n"
        b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    assert read(os.path.join(aof_dir(server), "appendonly.aof.1.base.rdb")).startswith(b"REDIS0010")
    # Written before the reply: the incr file already holds the command, after a SELECT.
    assert read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof")) == (
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")


@pytest.mark.internals("AOF files")
def test_relative_expiries_are_written_as_absolute_times(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        c.call("SET", "a", "1", "EX", "100")
        c.call("SET", "b", "1")
        c.call("EXPIRE", "b", "100")
        c.call("PEXPIRE", "b", "200000", "GT")
        c.call("SETEX", "c", "100", "v")
        c.call("SET", "d", "1")
        c.call("EXPIRE", "d", "-1")       # in the past: deleted, written as DEL
        c.call("GETDEL", "a")
        c.call("SET", "e", "1")
        c.call("GETEX", "e")               # no option: nothing written
        c.call("GETEX", "e", "PX", "5000")
        c.call("INCRBYFLOAT", "f", "0.5")
    text = read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    commands = []
    for chunk in text.split(b"*")[1:]:
        parts = chunk.split(b"\r\n")
        commands.append([parts[i] for i in range(2, len(parts) - 1, 2)])
    names = [(command[0].upper(), command[1] if len(command) > 1 else None) for command in commands]
    assert names == [(b"SELECT", b"0"), (b"SET", b"a"), (b"SET", b"b"), (b"PEXPIREAT", b"b"),
                     (b"PEXPIREAT", b"b"), (b"SET", b"c"), (b"SET", b"d"), (b"DEL", b"d"),
                     (b"DEL", b"a"), (b"SET", b"e"), (b"PEXPIREAT", b"e"), (b"SET", b"f")]
    now_ms = time.time() * 1000
    set_a = commands[1]
    assert [set_a[0].upper(), set_a[1], set_a[2], set_a[3].upper()] == [b"SET", b"a", b"1", b"PXAT"]
    assert abs(int(set_a[4]) - (now_ms + 100_000)) < 10_000
    assert abs(int(commands[3][2]) - (now_ms + 100_000)) < 10_000
    assert commands[4][3:] == [b"GT"]
    setex = commands[5]
    assert [setex[0].upper(), setex[1], setex[2], setex[3].upper()] == [b"SET", b"c", b"v", b"PXAT"]
    assert commands[11] == [b"SET", b"f", b"0.5", b"KEEPTTL"]


@pytest.mark.internals("AOF files")
def test_expire_conditions_are_written_as_they_were_typed(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        c.call("SET", "p", "1", "nx", "pxat", "99999999999999", "get")  # rebuilt: SET p 1 PXAT ms
        c.call("SET", "k", "1")
        c.call("EXPIRE", "k", "100", "nx")
        c.call("EXPIRE", "k", "300", "gt", "Gt")
    text = read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    flags = [chunk.split(b"\r\n")[8::2] for chunk in text.split(b"*")[1:] if b"PEXPIREAT" in chunk]
    assert flags == [[b"nx"], [b"gt", b"Gt"]]
    assert b"*5\r\n$3\r\nSET\r\n$1\r\np\r\n$1\r\n1\r\n$4\r\nPXAT\r\n$14\r\n99999999999999\r\n" in text


@pytest.mark.internals("AOF files")
def test_set_get_and_getset_are_written_as_plain_sets(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        c.call("SET", "a", "0")
        c.call("set", "a", "1", "get", "XX", "Get")  # the GET words are left out
        c.call("SET", "a", "2", "GET")
        c.call("GETSET", "a", "3")                    # written as SET
    text = read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    assert text.endswith(b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n0\r\n"
                         b"*4\r\n$3\r\nset\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nXX\r\n"
                         b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n2\r\n"
                         b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n3\r\n")


@pytest.mark.internals("AOF files")
def test_bgrewriteaof_makes_a_new_base_and_incr(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        fill(c)
        before = snapshot(c)
        assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
        wait_rewrite_done(c)
        assert info_field(c, "aof_last_bgrewrite_status") == "ok"
        c.call("SET", "after", "rewrite")
        before[(0, b"after")] = ("string", b"rewrite", False)
    assert sorted(os.listdir(aof_dir(server))) == [
        "appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", MANIFEST]
    assert read(os.path.join(aof_dir(server), MANIFEST)) == (
        b"file appendonly.aof.2.base.rdb seq 2 type b\n"
        b"file appendonly.aof.2.incr.aof seq 2 type i\n")
    result = check_aof(server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All AOF files and manifest are valid" in result.stdout
    server.restart()
    with server.client() as c:
        assert snapshot(c) == before


@pytest.mark.internals("AOF files")
def test_base_as_commands_without_rdb_preamble(launcher):
    server = launcher.start(appendonly="yes", aof_use_rdb_preamble="no")
    with server.client() as c:
        fill(c)
        before = snapshot(c)
        c.call("BGREWRITEAOF")
        wait_rewrite_done(c)
    base = read(os.path.join(aof_dir(server), "appendonly.aof.2.base.aof"))
    assert base.startswith(b"*2\r\n$6\r\nSELECT\r\n")
    result = check_aof(server)
    assert result.returncode == 0, result.stdout + result.stderr
    server.restart()
    with server.client() as c:
        assert snapshot(c) == before


@pytest.mark.internals("AOF files")
def test_redis_check_aof_accepts_the_files(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        fill(c)
    result = check_aof(server)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "All AOF files and manifest are valid" in result.stdout


@pytest.mark.internals("AOF files")
def test_config_set_appendonly_at_runtime(launcher):
    server = launcher.start()
    with server.client() as c:
        fill(c)
        before = snapshot(c)
        assert not os.path.exists(aof_dir(server))
        assert c.call("CONFIG", "SET", "appendonly", "yes") == "OK"
        wait_rewrite_done(c)
        assert info_field(c, "aof_enabled") == "1"
        c.call("SET", "later", "x")
        before[(0, b"later")] = ("string", b"x", False)
    assert sorted(os.listdir(aof_dir(server))) == [
        "appendonly.aof.1.base.rdb", "appendonly.aof.1.incr.aof", MANIFEST]
    assert b"later" in read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    with server.client() as c:
        assert c.call("CONFIG", "SET", "appendonly", "no") == "OK"
        assert info_field(c, "aof_enabled") == "0"
        c.call("SET", "not-logged", "x")
    assert b"not-logged" not in read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    server.options["appendonly"] = "yes"
    server.restart()
    with server.client() as c:
        assert snapshot(c) == before


@pytest.mark.internals("AOF files")
def test_real_redis_loads_the_targets_files(launcher, real_redis, tmp_path):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        fill(c)
        c.call("BGREWRITEAOF")
        wait_rewrite_done(c)
        c.call("RPUSH", "l", "after-rewrite")
        before = snapshot(c)
        digest = c.call("DEBUG", "DIGEST")  # every database, every value, TTLs
    server.stop()
    shutil.copytree(aof_dir(server), tmp_path / "appendonlydir")
    real = real_redis.start(dir=str(tmp_path), appendonly="yes")
    with real.client() as c:
        assert snapshot(c) == before
        assert c.call("DEBUG", "DIGEST") == digest


@pytest.mark.internals("AOF files")
def test_target_loads_real_redis_files(launcher, real_redis, tmp_path):
    real = real_redis.start(appendonly="yes")
    with real.client() as c:
        fill(c)
        c.call("BGREWRITEAOF")
        wait_rewrite_done(c)
        c.call("SADD", "set", "after-rewrite")
        c.call("EXPIRE", "s", "500")
        before = snapshot(c)
        digest = c.call("DEBUG", "DIGEST")
    real.stop()
    shutil.copytree(aof_dir(real), tmp_path / "appendonlydir")
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    with server.client() as c:
        assert snapshot(c) == before
        assert c.call("DEBUG", "DIGEST") == digest


def _cut_short(launcher, tmp_path):
    """A stopped server's dir whose incr file ends in the middle of a command."""
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    with server.client() as c:
        c.call("SET", "kept", "1")
    server.stop()
    incr = os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof")
    complete = os.path.getsize(incr)
    with open(incr, "ab") as f:
        f.write(b"*3\r\n$3\r\nSET\r\n$4\r\nlost\r\n$1")
    return incr, complete


@pytest.mark.internals("AOF files")
def test_truncated_aof_loads_its_prefix_when_allowed(launcher, tmp_path):
    incr, complete = _cut_short(launcher, tmp_path)
    server = launcher.start(dir=str(tmp_path), appendonly="yes", aof_load_truncated="yes")
    with server.client() as c:
        assert c.call("GET", "kept") == b"1"
        assert c.call("EXISTS", "lost") == 0
    assert os.path.getsize(incr) == complete
    log = server.log_tail(60)
    assert "!!! Warning: short read while loading the AOF file appendonly.aof.1.incr.aof!!!" in log
    assert f"!!! Truncating the AOF appendonly.aof.1.incr.aof at offset {complete} !!!" in log
    assert "AOF appendonly.aof.1.incr.aof loaded anyway because aof-load-truncated is enabled" in log


@pytest.mark.internals("AOF files")
def test_truncated_aof_stops_the_start_when_not_allowed(launcher, tmp_path):
    _cut_short(launcher, tmp_path)
    with pytest.raises(ServerLaunchError) as failure:
        launcher.start(dir=str(tmp_path), appendonly="yes", aof_load_truncated="no")
    assert "exited with status 1" in str(failure.value)
    assert "Unexpected end of file reading the append only file appendonly.aof.1.incr.aof" in str(failure.value)


@pytest.mark.internals("AOF files")
def test_manifest_naming_a_missing_file_stops_the_start(launcher, tmp_path):
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    server.stop()
    os.unlink(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    with pytest.raises(ServerLaunchError) as failure:
        launcher.start(dir=str(tmp_path), appendonly="yes")
    assert "exited with status 1" in str(failure.value)
    assert ("Unable to obtain the AOF file appendonly.aof.1.incr.aof length. stat: "
            "No such file or directory") in str(failure.value)


@pytest.mark.internals("AOF files")
def test_bad_manifest_stops_the_start(launcher, tmp_path):
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    server.stop()
    with open(os.path.join(aof_dir(server), MANIFEST), "ab") as f:
        f.write(b"file appendonly.aof.1.incr.aof seq 1 type x\n")
    with pytest.raises(ServerLaunchError) as failure:
        launcher.start(dir=str(tmp_path), appendonly="yes")
    assert "Unknown AOF file type" in str(failure.value)


@pytest.mark.internals("AOF files")
def test_transactions_are_written_between_multi_and_exec(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        c.call("MULTI")
        c.call("SET", "a", "1")
        c.call("GET", "a")
        c.call("INCR", "a")
        c.call("EXEC")
        c.call("MULTI")
        c.call("SET", "single", "1")  # one change alone is not wrapped
        c.call("EXEC")
    text = read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    assert text == (b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$5\r\nMULTI\r\n"
                    b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n"
                    b"*1\r\n$4\r\nEXEC\r\n*3\r\n$3\r\nSET\r\n$6\r\nsingle\r\n$1\r\n1\r\n")


@pytest.mark.internals("AOF files")
def test_spop_is_written_as_the_members_it_removed(launcher):
    """A random pop is written as what it removed, so the file replays to the same set."""
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        c.call("SADD", "s", *range(10))
        one = c.call("SPOP", "s")
        some = c.call("SPOP", "s", 3)
        c.call("SADD", "t", "x", "y")
        c.call("SPOP", "t", 5)  # all of it: the key goes
        left = sorted(c.call("SMEMBERS", "s"))
    text = read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    srem = lambda member: b"*3\r\n$4\r\nSREM\r\n$1\r\ns\r\n$%d\r\n%b\r\n" % (len(member), member)
    assert srem(one) in text
    assert b"*1\r\n$5\r\nMULTI\r\n" + b"".join(srem(m) for m in some) + b"*1\r\n$4\r\nEXEC\r\n" in text
    assert b"*2\r\n$3\r\nDEL\r\n$1\r\nt\r\n" in text
    assert b"SPOP" not in text
    server.restart()
    with server.client() as c:
        assert sorted(c.call("SMEMBERS", "s")) == left
        assert c.call("EXISTS", "t") == 0


@pytest.mark.internals("AOF files")
def test_restore_with_a_relative_ttl_is_written_with_absttl(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        c.call("SET", "src", "value")
        payload = c.call("DUMP", "src")
        c.call("RESTORE", "dst", 100000, payload)
        c.call("RESTORE", "gone", 0, payload)
        c.call("RESTORE", "gone", 1, payload, "REPLACE", "ABSTTL")  # in the past: DEL
        deadline = c.call("PEXPIRETIME", "dst")
        c.call("RESTORE", "typed", 100000, payload, "freq", "3", "replace")  # options kept as typed
        typed_deadline = c.call("PEXPIRETIME", "typed")
    text = read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    written = b"*5\r\n$7\r\nRESTORE\r\n$3\r\ndst\r\n$%d\r\n%d\r\n$%d\r\n%b\r\n$6\r\nABSTTL\r\n" % (
        len(str(deadline)), deadline, len(payload), payload)
    assert written in text
    assert b"*2\r\n$3\r\nDEL\r\n$4\r\ngone\r\n" in text
    written = b"*8\r\n$7\r\nRESTORE\r\n$5\r\ntyped\r\n$%d\r\n%d\r\n$%d\r\n%b\r\n" % (
        len(str(typed_deadline)), typed_deadline, len(payload), payload)
    assert written + b"$4\r\nfreq\r\n$1\r\n3\r\n$7\r\nreplace\r\n$6\r\nABSTTL\r\n" in text
    server.restart()
    with server.client() as c:
        assert c.call("PEXPIRETIME", "dst") == deadline
        assert c.call("EXISTS", "gone") == 0


@pytest.mark.internals("AOF files")
def test_pops_of_several_keys_and_blocking_pops_are_written_as_plain_pops(launcher):
    server = launcher.start(appendonly="yes", appendfsync="always")
    with server.client() as c:
        c.call("RPUSH", "l", "a", "b", "c")
        c.call("ZADD", "z", 1, "x", 2, "y", 3, "w")
        c.call("BLPOP", "none", "l", 0)
        c.call("LMPOP", 2, "none", "l", "RIGHT", "COUNT", 5)
        c.call("RPUSH", "l", "d")
        c.call("BLMOVE", "l", "m", "LEFT", "RIGHT", 0)
        c.call("BRPOPLPUSH", "m", "n", 0)
        c.call("BZPOPMIN", "z", 0)
        c.call("ZMPOP", 1, "z", "MAX", "COUNT", 1)
        c.call("BZMPOP", 0, 1, "z", "MIN")
    text = read(os.path.join(aof_dir(server), "appendonly.aof.1.incr.aof"))
    for line in (b"*2\r\n$4\r\nLPOP\r\n$1\r\nl\r\n",
                 b"*3\r\n$4\r\nRPOP\r\n$1\r\nl\r\n$1\r\n2\r\n",
                 b"*5\r\n$5\r\nLMOVE\r\n$1\r\nl\r\n$1\r\nm\r\n$4\r\nLEFT\r\n$5\r\nRIGHT\r\n",
                 b"*3\r\n$9\r\nRPOPLPUSH\r\n$1\r\nm\r\n$1\r\nn\r\n",
                 b"*2\r\n$7\r\nZPOPMIN\r\n$1\r\nz\r\n",
                 b"*3\r\n$7\r\nZPOPMAX\r\n$1\r\nz\r\n$1\r\n1\r\n",
                 b"*3\r\n$7\r\nZPOPMIN\r\n$1\r\nz\r\n$1\r\n1\r\n"):
        assert line in text, line
    assert b"BLPOP" not in text and b"LMPOP" not in text and b"BZ" not in text and b"ZMPOP" not in text
