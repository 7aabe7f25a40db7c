"""`python -m reference.tools`: check, dump and convert, judged against redis-check-rdb on files
written by a real redis-server and by the reference, whole and corrupted."""
import io
import json
import os
import subprocess
import sys
import time

import pytest
import redis

from reference.tools import Progress, bytes_from_json
from reference.tools.__main__ import main

PORT = 7612
NON_UTF8 = b"\xff\xfe\x00bin"


def _start_redis(directory):
    subprocess.run(["redis-server", "--port", str(PORT), "--dir", str(directory), "--save", "",
                    "--daemonize", "yes", "--enable-debug-command", "yes"], check=True, capture_output=True)
    client = redis.Redis(port=PORT)
    for _ in range(100):
        try:
            client.ping()
            return client
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A dump.rdb written by redis-server holding every type in each of its encodings, with
    expiries (one already past), in two databases; and what the server said of each key."""
    directory = tmp_path_factory.mktemp("real")
    client = _start_redis(directory)
    try:
        client.set("int", 12345)
        client.set("embstr", "hello")
        client.set("raw", "x" * 300)                       # LZF-compressed in the file
        client.set(NON_UTF8, NON_UTF8)
        client.set("unicode", "héllo ✓")
        client.rpush("list:small", "a", "b", 1, -5)
        client.rpush("list:nodes", *[f"element-{i}" for i in range(2000)])  # many quicklist nodes
        client.sadd("set:intset", 3, 1, 2, -7)
        client.sadd("set:hashtable", "a", "b", "c")
        client.hset("hash:listpack", mapping={"f": "v", "n": 1})
        client.hset("hash:hashtable", mapping={f"field{i}": i for i in range(600)})
        client.zadd("zset:listpack", {"a": 1, "b": 2.5, "c": float("inf"), "d": -0.125})
        client.zadd("zset:skiplist", {f"m{i}": i / 3 for i in range(200)})
        client.pexpire("list:small", 10_000_000)
        client.expire("hash:listpack", 5000)
        client.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", 0)
        client.set("gone", "soon", px=1)                   # written with an expiry already past
        client.select(5)
        client.set("in-db-5", "five")
        client.select(0)
        time.sleep(0.01)
        info = {}  # the live keys of db 0 ("gone" is not one of them)
        for key in client.keys("*"):
            info[key] = (client.type(key).decode(), client.object("encoding", key).decode(),
                         client.execute_command("PEXPIRETIME", key))
        client.save()
        data = (directory / "dump.rdb").read_bytes()
    finally:
        client.shutdown(nosave=True)
    return {"path": directory / "dump.rdb", "data": data, "info": info}


def run(capsys, *argv):
    status = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return status, out, err


def redis_check(path):
    result = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, text=True, check=False)
    return result.returncode, result.stdout


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


# --- check -------------------------------------------------------------------------------------

def test_check_reports_as_redis_check_rdb_on_a_real_file(real, capsys):
    status, out, err = run(capsys, "check", real["path"])
    theirs_status, theirs = redis_check(real["path"])
    assert (status, theirs_status, err) == (0, 0, "")
    assert out == theirs                                # offsets, AUX fields, DBs, counts: all
    assert "[info] 1 already expired" in out and "[info] 3 expires" in out


def _verdicts(capsys, path, data):
    path.write_bytes(data)
    status, out, err = run(capsys, "check", path)
    assert err == ""
    assert ("--- RDB ERROR DETECTED ---" in out) == (status == 1)
    return status, redis_check(path)[0]


def test_check_agrees_with_redis_check_rdb_on_truncated_files(real, capsys, tmp_path):
    data = real["data"]
    for length in sorted({0, 4, 9, 10, 50, 100, len(data) - 9, len(data) - 8, len(data) - 1}
                         | set(range(0, len(data), max(1, len(data) // 40)))):
        ours, theirs = _verdicts(capsys, tmp_path / "cut.rdb", data[:length])
        assert ours == theirs == 1, length


def test_check_agrees_with_redis_check_rdb_on_flipped_bytes(real, capsys, tmp_path):
    data = real["data"]
    for position in range(0, len(data), max(1, len(data) // 150)):
        for mask in (0x01, 0x80):
            bad = bytearray(data)
            bad[position] ^= mask
            ours, theirs = _verdicts(capsys, tmp_path / "flip.rdb", bytes(bad))
            assert ours == theirs, (position, mask)


@pytest.mark.parametrize("damage", [
    lambda d: d[:-8] + bytes([d[-8] ^ 1]) + d[-7:],            # checksum wrong
    lambda d: b"RUDIS" + d[5:],                                 # magic
    lambda d: d[:5] + b"0011" + d[9:],                          # version from the future
    lambda d: d[:5] + b"abcd" + d[9:],                          # version not a number
    lambda d: d[:-9] + b"\x00" + d[-8:],                        # EOF opcode gone: type 0 follows
])
def test_check_fails_on_damaged_headers_and_trailers(real, capsys, tmp_path, damage):
    ours, theirs = _verdicts(capsys, tmp_path / "bad.rdb", damage(real["data"]))
    assert ours == theirs == 1


def test_check_explains_a_bad_checksum(real, capsys, tmp_path):
    data = real["data"]
    path = tmp_path / "crc.rdb"
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    status, out, _ = run(capsys, "check", path)
    assert status == 1
    assert "RDB CRC error" in out and "While doing: check-sum" in out


def test_check_of_a_missing_file_is_one_line(capsys, tmp_path):
    status, _, err = run(capsys, "check", tmp_path / "none.rdb")
    assert status == 1
    assert err.count("\n") == 1 and "No such file" in err


# --- dump --------------------------------------------------------------------------------------

def _value(record):
    value = record["value"]
    if record["type"] == "string":
        return bytes_from_json(value)
    if record["type"] in ("list", "set"):
        return [bytes_from_json(item) for item in value]
    if record["type"] == "hash":
        return {bytes_from_json(f): bytes_from_json(v) for f, v in value}
    return [(bytes_from_json(m), float(s)) for m, s in value]


def test_dump_gives_every_key_as_the_server_held_it(real, capsys):
    status, out, err = run(capsys, "dump", real["path"])
    assert (status, err) == (0, "")
    by_key = {(r["db"], bytes_from_json(r["key"])): r for r in records(out)}
    assert set(by_key) == {(0, key) for key in real["info"]} | {(0, b"gone"), (5, b"in-db-5")}
    assert by_key[(0, b"gone")]["expire_at_ms"] < time.time() * 1000
    for key, (kind, encoding, expire_at) in real["info"].items():
        record = by_key[(0, key)]
        assert (record["type"], record["encoding"]) == (kind, encoding), key
        assert record["expire_at_ms"] == (None if expire_at == -1 else expire_at), key
    assert {r["encoding"] for r in by_key.values()} == {
        "int", "embstr", "raw", "quicklist", "intset", "hashtable", "listpack", "skiplist"}
    assert _value(by_key[(0, NON_UTF8)]) == NON_UTF8
    assert by_key[(0, NON_UTF8)]["key"] == {"base64": "//4AYmlu"}
    assert by_key[(0, b"unicode")]["value"] == "héllo ✓"
    assert _value(by_key[(0, b"raw")]) == b"x" * 300
    assert _value(by_key[(0, b"list:nodes")]) == [b"element-%d" % i for i in range(2000)]
    assert _value(by_key[(0, b"list:small")]) == [b"a", b"b", b"1", b"-5"]
    assert _value(by_key[(0, b"set:intset")]) == [b"-7", b"1", b"2", b"3"]   # intset: ascending
    assert sorted(_value(by_key[(0, b"set:hashtable")])) == [b"a", b"b", b"c"]
    assert _value(by_key[(0, b"hash:hashtable")]) == {b"field%d" % i: b"%d" % i for i in range(600)}
    assert by_key[(0, b"zset:listpack")]["value"] == [["d", -0.125], ["a", 1], ["b", 2.5], ["c", "inf"]]
    assert _value(by_key[(0, b"zset:skiplist")]) == [(b"m%d" % i, i / 3) for i in range(200)]


def test_dump_filters_by_db_and_pattern(real, capsys):
    _, out, _ = run(capsys, "dump", real["path"], "--db", "5")
    assert [r["key"] for r in records(out)] == ["in-db-5"]
    _, out, _ = run(capsys, "dump", real["path"], "--match", "set:*")
    assert sorted(r["key"] for r in records(out)) == ["set:hashtable", "set:intset"]
    _, out, _ = run(capsys, "dump", real["path"], "--db", "0", "--match", "*")
    assert len(records(out)) == len(real["info"]) + 1  # and "gone"


def test_dump_of_a_bad_file_is_one_line_on_stderr(real, capsys, tmp_path):
    path = tmp_path / "cut.rdb"
    path.write_bytes(real["data"][:len(real["data"]) // 2])
    status, out, err = run(capsys, "dump", path)
    assert status == 1
    assert err.count("\n") == 1 and err.startswith(f"error: {path}: offset ")
    assert "Unexpected EOF" in err
    assert all(json.loads(line) for line in out.splitlines())  # what came before the damage


def test_the_command_line_never_shows_a_traceback(real, tmp_path):
    path = tmp_path / "flip.rdb"
    bad = bytearray(real["data"])
    bad[len(bad) // 3] ^= 0x55
    path.write_bytes(bytes(bad))
    for argv in (["check", path], ["dump", path], ["convert", path, tmp_path / "out.rdb"]):
        result = subprocess.run([sys.executable, "-m", "reference.tools",
                                 *map(str, argv)], capture_output=True, text=True,
                                cwd=os.path.dirname(os.path.dirname(__file__)), check=False)
        assert result.returncode == 1, argv
        assert "Traceback" not in result.stderr, result.stderr


# --- convert -----------------------------------------------------------------------------------

@pytest.mark.parametrize("flags", [[], ["--no-compress"], ["--no-checksum"], ["--no-compress", "--no-checksum"]])
def test_convert_round_trips_through_the_reference_writer(real, capsys, tmp_path, flags):
    out_path = tmp_path / "out.rdb"
    status, _, err = run(capsys, "convert", real["path"], out_path, *flags)
    assert status == 0 and f"{len(real['info']) + 1} keys written" in err  # "gone" left out, db 5 in
    theirs_status, theirs = redis_check(out_path)
    assert theirs_status == 0, theirs
    assert ("checksum disabled" in theirs) == ("--no-checksum" in flags)
    _, before, _ = run(capsys, "dump", real["path"])
    _, after, _ = run(capsys, "dump", out_path)
    expected = [r for r in records(before) if r["key"] != "gone"]

    def canonical(rs):
        return sorted((r["db"], json.dumps(r["key"]), r["type"], r["encoding"], r["expire_at_ms"],
                       json.dumps(r["value"] if r["type"] != "set" else sorted(map(json.dumps, r["value"]))))
                      for r in rs)
    assert canonical(records(after)) == canonical(expected)
    compressed = b"x" * 300 not in out_path.read_bytes()
    assert compressed == ("--no-compress" not in flags)


def test_a_reference_file_checks_as_redis_check_rdb_says(real, capsys, tmp_path):
    out_path = tmp_path / "out.rdb"
    run(capsys, "convert", real["path"], out_path)
    status, out, _ = run(capsys, "check", out_path)
    assert status == 0
    assert out == redis_check(out_path)[1]


def test_convert_refuses_a_bad_file_and_writes_nothing(real, capsys, tmp_path):
    path, out_path = tmp_path / "cut.rdb", tmp_path / "out.rdb"
    path.write_bytes(real["data"][:-20])
    status, _, err = run(capsys, "convert", path, out_path)
    assert status == 1 and err.startswith("error:")
    assert not out_path.exists()


# --- progress ----------------------------------------------------------------------------------

class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_is_rate_limited_and_ends_at_100_percent():
    clock, stream = FakeClock(), io.StringIO()
    progress = Progress(100_000_000, stream, per_second=2, clock=clock)
    for step in range(1, 101):          # 100 updates over 2 seconds: one line each half second
        clock.now = step / 50
        progress.update(step * 500_000)
    progress.update(100_000_000, final=True)
    assert stream.getvalue().splitlines() == [
        "12% (12.5 MB read)", "25% (25.0 MB read)", "37% (37.5 MB read)", "50% (50.0 MB read)",
        "100% (100.0 MB read)"]


def test_a_small_file_prints_no_progress(real, capsys):
    status, _, err = run(capsys, "check", real["path"], "--progress")
    assert status == 0 and err == ""
