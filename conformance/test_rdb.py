"""RDB files: what real Redis 7.0.15 writes, the target loads, and the other way round, with
every key, value, type, TTL and encoding equal; bad files stop the start-up as Redis does;
DEBUG RELOAD keeps the dataset. Each test starts its own servers: the target (--server) and a
real redis-server (so with --server redis-server both sides are real Redis)."""
from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from conformance import dataset
from conformance.targets import free_port, run_until_exit, server_words

pytestmark = [pytest.mark.launches, pytest.mark.internals("RDB files")]

FAR_FUTURE_MS = 4_000_000_000_000  # year 2096


def fill(c) -> None:
    """One key of every type and encoding Redis 7.0 writes, in two databases, some with TTLs."""
    c.call("SET", "str:embstr", "hello")
    c.call("SET", "str:int", "12345")
    c.call("SET", "str:bigint", "-9000000000")
    c.call("SET", "str:long", "abcdefghij" * 30)                # LZF-compressed
    c.call("SET", "str:binary", bytes(range(256)))
    c.call("SET", "str:ttl", "v", "PX", "3600000")
    c.call("RPUSH", "list:small", "a", "1", "-70000", "")
    c.call("RPUSH", "list:nodes", *[f"element-{i}" * 5 for i in range(2000)])  # many nodes
    c.call("HSET", "hash:listpack", "f", "v", "n", "12")
    c.call("HSET", "hash:table", *[x for i in range(300) for x in (f"f{i}", f"v{i}")])
    c.call("HSET", "hash:longvalue", "f", "x" * 100)
    c.call("SADD", "set:intset", "1", "-2", "70000", "5000000000")
    c.call("SADD", "set:table", "a", "b", "1")
    c.call("ZADD", "zset:listpack", "1", "a", "2.5", "b", "-3", "c", "1e20", "d")
    c.call("ZADD", "zset:skiplist", *[x for i in range(300) for x in (str(i / 7), f"m{i}")])
    c.call("PEXPIREAT", "zset:skiplist", str(FAR_FUTURE_MS))
    c.call("SELECT", "3")
    c.call("SET", "db3:key", "in db 3", "EX", "1000")
    c.call("HSET", "db3:hash", "a", "1")
    c.call("SELECT", "0")


def snapshot(c) -> dict:
    """Every key of dbs 0 and 3: (type, encoding, contents, has-ttl), and the TTLs."""
    result = {}
    for db in (0, 3):
        c.call("SELECT", str(db))
        for key in c.call("KEYS", "*"):
            kind = dataset.type_of(c, key)
            result[(db, key)] = (kind, c.call("OBJECT", "ENCODING", key), dataset.contents(c, key, kind),
                                 c.call("PTTL", key))
    c.call("SELECT", "0")
    return result


def same(before: dict, after: dict) -> None:
    assert before.keys() == after.keys()
    for name, (kind, encoding, contents, ttl) in before.items():
        kind2, encoding2, contents2, ttl2 = after[name]
        assert (kind2, encoding2, contents2) == (kind, encoding, contents), name
        if ttl < 0:
            assert ttl2 == ttl, name
        else:  # the same absolute time: a little less left after the restart
            assert 0 < ttl2 <= ttl and ttl - ttl2 < 30_000, (name, ttl, ttl2)


def save_and_stop(server) -> str:
    c = server.client()
    assert c.call("SAVE") == "OK" or c.call("SAVE") == b"OK"
    server.stop()
    return os.path.join(server.dir, "dump.rdb")


def copy_into_fresh_dir(path: str, tmp_path, name: str) -> str:
    directory = tmp_path / name
    directory.mkdir()
    shutil.copy(path, directory / "dump.rdb")
    return str(directory)


def test_target_loads_a_file_real_redis_wrote(launcher, real_redis, tmp_path):
    source = real_redis.start()
    fill(source.client())
    before = snapshot(source.client())
    digest = source.client().call("DEBUG", "DIGEST")  # every database, every value, TTLs
    directory = copy_into_fresh_dir(save_and_stop(source), tmp_path, "target")
    loaded = launcher.start(dir=directory)
    same(before, snapshot(loaded.client()))
    assert loaded.client().call("DEBUG", "DIGEST") == digest
    with open(loaded.log_path) as log:
        text = log.read()
    assert "Done loading RDB, keys loaded: 17, keys expired: 0." in text
    assert "DB loaded from disk:" in text


def test_real_redis_loads_a_file_the_target_wrote(launcher, real_redis, tmp_path):
    source = launcher.start()
    fill(source.client())
    before = snapshot(source.client())
    digest = source.client().call("DEBUG", "DIGEST")
    path = save_and_stop(source)
    check = subprocess.run(["redis-check-rdb", path], capture_output=True, text=True)
    assert "RDB looks OK" in check.stdout, check.stdout
    directory = copy_into_fresh_dir(path, tmp_path, "real")
    loaded = real_redis.start(dir=directory)
    same(before, snapshot(loaded.client()))
    assert loaded.client().call("DEBUG", "DIGEST") == digest


ONE_KEY_FILES = [
    ("RPUSH", "list", *[f"item{i}" * 7 for i in range(1500)]),
    ("HSET", "hash", "a", "1", "b", "x" * 40),
    ("SADD", "set", "3", "1", "2", "-40000"),
    ("ZADD", "zset", "1.5", "x", "2", "y", "-0.25", "z"),
    ("ZADD", "bigzset", *[x for i in range(200) for x in (str(i * 1.25), f"member{i}")]),
    ("SET", "long", "0123456789" * 10, "PXAT", str(FAR_FUTURE_MS)),
    ("SET", "n", "42"),
]


def test_target_files_match_real_redis_byte_for_byte(launcher, real_redis):
    """The same key saved by both: identical files but for the ctime and used-mem AUX fields.
    One key per file, as the order of keys in a file is Redis's hash order (hashtable-encoded
    values are left out for the same reason)."""
    servers = [real_redis.start(), launcher.start()]
    clients = [server.client() for server in servers]
    for command in ONE_KEY_FILES:
        files = []
        for server, c in zip(servers, clients):
            c.call("FLUSHALL")
            c.call(*command)
            c.call("SAVE")
            with open(os.path.join(server.dir, "dump.rdb"), "rb") as f:
                files.append(strip_volatile_aux(f.read()))
        assert files[1] == files[0], command[:2]


@pytest.mark.parametrize("policy", ["allkeys-lru", "volatile-lfu"])
@pytest.mark.parametrize("command", [("SET", "a", "x"), ("SET", "b", "y", "PXAT", str(FAR_FUTURE_MS))])
def test_files_under_an_eviction_policy_match_real_redis(launcher, real_redis, policy, command):
    """An LRU policy records each key's idle seconds (IDLE), an LFU one its counter (FREQ), just
    before the key. One key per file (the order of keys is Redis's hash order); the idle
    seconds of a key just written may be 0 or 1 on either side, so that byte is not compared."""
    servers = [real_redis.start(maxmemory_policy=policy), launcher.start(maxmemory_policy=policy)]
    files = []
    for server in servers:
        with server.client() as c:
            assert c.pipeline(command, ("SAVE",)) == ["OK", "OK"]  # in one go: idle 0 or 1 second
        with open(os.path.join(server.dir, "dump.rdb"), "rb") as f:
            data = strip_volatile_aux(f.read())
        key_type = data.rindex(b"\x00\x01" + command[1].encode())  # string type, then the key
        if "lru" in policy:
            assert data[key_type - 2] == 0xF8 and data[key_type - 1] <= 1  # IDLE 0 or 1 second
            data = data[:key_type - 1] + data[key_type:]
        else:
            assert data[key_type - 2:key_type] == b"\xf9\x05"  # FREQ: a new key's counter
        files.append(data)
    assert files[1] == files[0]


def test_idle_time_survives_a_restart_under_an_lru_policy(launcher):
    server = launcher.start(maxmemory_policy="allkeys-lru")
    with server.client() as c:
        c.call("SET", "old", "x")  # not a small integer: Redis shares those, idle time included
        time.sleep(3.1)
        c.call("SET", "new", "y")
        c.call("SAVE")
    server.restart()
    with server.client() as c:
        old, new = c.pipeline(("OBJECT", "IDLETIME", "old"), ("OBJECT", "IDLETIME", "new"))  # one clock
        assert old >= 3 and old - new >= 2, (old, new)
        c.call("DEBUG", "RELOAD")
        assert c.call("OBJECT", "IDLETIME", "old") >= 3


def strip_volatile_aux(data: bytes) -> bytes:
    """The file without its ctime and used-mem values (and without the checksum they change)."""
    body = data[:-8]
    for name in (b"\x05ctime", b"\x08used-mem"):
        start = body.index(name) + len(name)
        kind = body[start]
        width = {0xC0: 2, 0xC1: 3, 0xC2: 5}.get(kind, 1 + (kind & 0x3F))
        body = body[:start] + body[start + width:]
    return body


def run_server(request, directory: str) -> subprocess.CompletedProcess:
    command = server_words(request.config.getoption("server"))
    return run_until_exit([*command, "--port", str(free_port()), "--dir", directory, "--save", ""], text=True)


@pytest.mark.parametrize("damage, message", [
    ("truncate", "Short read or OOM loading DB. Unrecoverable error, aborting now."),
    ("checksum", "Wrong RDB checksum expected: ("),
    ("signature", "Wrong signature trying to load DB from file"),
])
def test_a_bad_file_stops_the_start_up(request, real_redis, tmp_path, damage, message):
    source = real_redis.start()
    fill(source.client())
    with open(save_and_stop(source), "rb") as f:
        data = bytearray(f.read())
    if damage == "truncate":
        data = data[:len(data) // 2]
    elif damage == "checksum":
        data[-1] ^= 0xFF
    else:
        data[:5] = b"REDIX"
    (tmp_path / "dump.rdb").write_bytes(bytes(data))
    result = run_server(request, str(tmp_path))
    assert result.returncode == 1
    assert message in result.stdout


def test_expired_keys_in_the_file_are_not_loaded(launcher, real_redis, tmp_path):
    source = real_redis.start()
    c = source.client()
    c.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    c.call("SET", "gone", "v", "PX", "100")
    c.call("SET", "kept", "v")
    import time
    time.sleep(0.3)
    directory = copy_into_fresh_dir(save_and_stop(source), tmp_path, "target")
    loaded = launcher.start(dir=directory).client()
    assert loaded.call("KEYS", "*") == [b"kept"]


def test_debug_reload_keeps_everything(launcher):
    c = launcher.start().client()
    fill(c)
    before = snapshot(c)
    assert c.call("DEBUG", "RELOAD") in ("OK", b"OK")
    same(before, snapshot(c))
    error = c.call("DEBUG", "RELOAD", "BOGUS")
    assert str(error) == "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options."
