"""`python -m reference.tools`: check, dump and convert, judged against redis-check-rdb on files
written by a real redis-server and by the reference, whole and corrupted."""
import io
import json
import os
import struct
import subprocess
import sys
import time

import pytest

from conformance.client import Client as RawClient
from reference.persistence.crc64 import crc64
from reference.persistence.rdb import encode_length, encode_string
from reference.tools import Progress, bytes_from_json
from reference.tools.__main__ import main
from conformance.targets import free_port
from tests.real_redis import start_redis

NON_UTF8 = b"\xff\xfe\x00bin"


def _start_redis(directory):
    return start_redis(directory, free_port())


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
    result = subprocess.run(["redis-check-rdb", str(path)], capture_output=True, check=False)
    # A damaged file may put raw bytes in the report; the tools print them escaped, as here.
    return result.returncode, result.stdout.decode("utf-8", "backslashreplace")


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
    status, out, err = run(capsys, "check", path, "--format", "rdb")  # even when cut to "REDI"
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


# --- streams and module values -----------------------------------------------------------------

def _raw(client, *args):
    """A reply as the server sent it (RESP2 lists), without redis-py's reshaping."""
    with RawClient("127.0.0.1", client.connection_pool.connection_kwargs["port"]) as raw:
        return raw.call(*args)


def _pairs(flat) -> dict:
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}


def _make_streams(client):
    """Streams of several shapes; returns what the server says of each (XRANGE, XINFO FULL)."""
    client.config_set("stream-node-max-entries", 4)      # many listpack nodes
    for i in range(1, 40):
        if i % 5 == 0:                                    # fields unlike the master entry's
            fields = {"a": i, "c": "other", "d": NON_UTF8}
        elif i % 7 == 0:
            fields = {"b": i}
        else:                                             # the master's fields: compressed
            fields = {"a": i, "b": "x" * (i % 3) + ("y" * 300 if i == 11 else "")}
        client.xadd("s", fields, id=f"{1000 + (i // 3) * 7}-{i % 3}")
    client.xdel("s", "1007-1", "1014-0", "1021-2", "1000-1")   # deleted flags, a deleted master
    client.xgroup_create("s", "g1", id="0")
    client.xreadgroup("g1", "alice", {"s": ">"}, count=3)
    client.xreadgroup("g1", "bob", {"s": ">"}, count=2)
    client.xreadgroup("g1", "alice", {"s": ">"}, count=1)
    client.xack("s", "g1", "1000-2", "1007-2")
    client.xgroup_create("s", "g2", id="$")                   # entries_read known
    client.xgroup_create("s", "g0", id="1010-0")              # entries_read unknown
    client.execute_command("XGROUP", "CREATECONSUMER", "s", "g0", "carol")
    for i in range(1, 30):
        client.xadd("trimmed", {"n": i, "m": "v" * i})
    client.xtrim("trimmed", maxlen=5, approximate=False)       # whole nodes gone, one partly
    client.execute_command("XGROUP", "CREATE", "trimmed", "tg", "$", "ENTRIESREAD", 29)
    client.xreadgroup("tg", "dave", {"trimmed": "0"})
    client.xadd("emptied", {"f": "v"}, id="5-1")
    client.xadd("emptied", {"f": "v"}, id="5-2")
    client.xdel("emptied", "5-1", "5-2")                       # no entries, one node left
    client.xgroup_create("made", "g", id="$", mkstream=True)  # empty from the start, with a group
    client.xadd("setid", {"k": "v"}, id="7-7")
    client.execute_command("XSETID", "setid", "9-9", "ENTRIESADDED", 42, "MAXDELETEDID", "8-0")
    client.xadd("expiring", {"k": "v"})
    client.pexpire("expiring", 10_000_000)
    seen = {}
    for key in (b"s", b"trimmed", b"emptied", b"made", b"setid", b"expiring"):
        seen[key] = (_raw(client, "XRANGE", key, "-", "+"),
                     _pairs(_raw(client, "XINFO", "STREAM", key, "FULL", "COUNT", 0)))
    return seen


@pytest.fixture(scope="module")
def streams_file(tmp_path_factory):
    """A dump.rdb written by redis-server holding streams (and a string), and what it said."""
    directory = tmp_path_factory.mktemp("streams")
    client = _start_redis(directory)
    try:
        seen = _make_streams(client)
        client.set("plain", "string")
        client.save()
    finally:
        client.shutdown(nosave=True)
    return {"path": directory / "dump.rdb", "data": (directory / "dump.rdb").read_bytes(), "seen": seen}


def _expected_stream(xrange, info) -> dict:
    """What dump should print for a stream, from the server's XRANGE and XINFO STREAM FULL."""
    def text(raw):
        return raw.decode() if isinstance(raw, bytes) else raw
    groups = []
    for group in map(_pairs, info["groups"]):
        groups.append({
            "name": text(group["name"]), "last_delivered_id": text(group["last-delivered-id"]),
            "entries_read": group["entries-read"],
            "pending": [{"id": text(i), "consumer": text(c), "delivery_time_ms": t, "delivery_count": n}
                        for i, c, t, n in group["pending"]],
            "consumers": [{"name": text(c["name"]), "seen_time_ms": c["seen-time"],
                           "pending": [text(p[0]) for p in c["pending"]]}
                          for c in map(_pairs, group["consumers"])]})
    return {
        "length": info["length"],
        "entries": [{"id": text(i), "fields": [[f, v] for f, v in zip(flat[0::2], flat[1::2])]}
                    for i, flat in xrange],
        "last_id": text(info["last-generated-id"]), "first_id": text(info["recorded-first-entry-id"]),
        "max_deleted_entry_id": text(info["max-deleted-entry-id"]),
        "entries_added": info["entries-added"], "groups": groups}


def _decoded_stream(value) -> dict:
    """dump's stream with its strings back to bytes, to compare with the server's replies."""
    value = json.loads(json.dumps(value))
    for entry in value["entries"]:
        entry["fields"] = [[bytes_from_json(f), bytes_from_json(v)] for f, v in entry["fields"]]
    return value


def test_check_of_streams_matches_redis_check_rdb(streams_file, capsys):
    status, out, err = run(capsys, "check", streams_file["path"])
    theirs_status, theirs = redis_check(streams_file["path"])
    assert (status, theirs_status, err) == (0, 0, "")
    assert out == theirs
    assert "[info] 7 keys read" in out and "[info] 1 expires" in out


def test_dump_of_streams_matches_what_the_server_said(streams_file, capsys):
    status, out, err = run(capsys, "dump", streams_file["path"])
    assert (status, err) == (0, "")
    by_key = {bytes_from_json(r["key"]): r for r in records(out)}
    assert by_key[b"plain"]["value"] == "string"
    for key, (xrange, info) in streams_file["seen"].items():
        record = by_key[key]
        assert (record["type"], record["encoding"], record["rdb_type"]) == ("stream", "stream", "stream-v2")
        assert _decoded_stream(record["value"]) == _expected_stream(xrange, info), key
    groups = [g for r in by_key.values() if r["type"] == "stream" for g in r["value"]["groups"]]
    assert {type(g["entries_read"]) for g in groups} == {type(None), int}   # known and unknown
    assert [g["name"] for g in by_key[b"s"]["value"]["groups"]] == ["g0", "g1", "g2"]
    assert by_key[b"expiring"]["expire_at_ms"] > time.time() * 1000
    assert by_key[b"made"]["value"]["entries"] == [] and by_key[b"made"]["value"]["groups"][0]["name"] == "g"


def test_streams_survive_truncation_and_flipped_bytes_as_redis_check_rdb_says(streams_file, capsys, tmp_path):
    data = streams_file["data"]
    for length in range(0, len(data), max(1, len(data) // 60)):
        ours, theirs = _verdicts(capsys, tmp_path / "cut.rdb", data[:length])
        assert ours == theirs == 1, length
    # Flips in the values, with the checksum made right again: the verdict is the structure's.
    verdicts = set()
    for position in range(90, len(data) - 9, max(1, len(data) // 400)):
        for mask in (0x01, 0x80):
            bad = bytearray(data)
            bad[position] ^= mask
            bad[-8:] = crc64(bytes(bad[:-8])).to_bytes(8, "little")
            ours, theirs = _verdicts(capsys, tmp_path / "flip.rdb", bytes(bad))
            assert ours == theirs, (position, mask)
            verdicts.add(ours)
    assert verdicts == {0, 1}   # some flips are harmless (a value's byte), some are caught


def test_convert_refuses_streams_in_one_line(streams_file, capsys, tmp_path):
    status, _, err = run(capsys, "convert", streams_file["path"], tmp_path / "out.rdb")
    assert status == 1 and err.count("\n") == 1 and "stream values cannot be converted" in err


def _module_id(name: str, version: int) -> int:
    charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    number = 0
    for char in name:
        number = number << 6 | charset.index(char)
    return number << 10 | version


def _rdb_file(body: bytes) -> bytes:
    data = b"REDIS0010" + body + b"\xff"
    return data + crc64(data).to_bytes(8, "little")


def _module_value_bytes(name: str, version: int) -> bytes:
    """A type-7 value: module id, then each opcode once (sint, uint, float, double, string),
    an opcode no module writes (passed over), and EOF."""
    return (encode_length(_module_id(name, version)) + b"\x01" + encode_length(7) + b"\x02"
            + encode_length(1 << 40) + b"\x03" + struct.pack("<f", 1.5) + b"\x04" + struct.pack("<d", 2.5)
            + b"\x05" + encode_string(b"module data") + b"\x09" + b"\x00")


def test_module_values_of_type_7_are_walked_as_redis_check_rdb_does(capsys, tmp_path):
    path = tmp_path / "module.rdb"
    path.write_bytes(_rdb_file(b"\xfe\x00" + b"\x07" + encode_string(b"mod") + _module_value_bytes("mytype-_9", 5)
                               + b"\x00" + encode_string(b"after") + encode_string(b"v")))
    status, out, _ = run(capsys, "check", path)
    assert (status, out) == (0, redis_check(path)[1])
    _, out, _ = run(capsys, "dump", path)
    module, after = records(out)
    assert (module["key"], module["type"], module["value"]) == ("mod", "module", None)
    assert (module["module_type"], module["module_version"]) == ("mytype-_9", 5)
    assert after["value"] == "v"
    # Type 6 needs its module to be read: both refuse it.
    path.write_bytes(_rdb_file(b"\xfe\x00\x06" + encode_string(b"mod") + _module_value_bytes("mytype-_9", 5)))
    status, out, _ = run(capsys, "check", path)
    theirs_status, theirs = redis_check(path)
    assert status == theirs_status == 1
    assert "no matching module type 'mytype-_9'" in out and "no matching module type 'mytype-_9'" in theirs


def test_module_aux_data_is_walked_as_redis_check_rdb_does(capsys, tmp_path):
    path = tmp_path / "aux.rdb"
    aux = b"\xf7" + encode_length(_module_id("auxmodule", 1)) + b"\x02\x02" + b"\x05" + encode_string(b"x") + b"\x00"
    path.write_bytes(_rdb_file(aux + b"\xfe\x00\x00" + encode_string(b"k") + encode_string(b"v")))
    assert run(capsys, "check", path)[0] == redis_check(path)[0] == 0
    path.write_bytes(_rdb_file(aux.replace(b"\x02\x02", b"\x01\x02", 1)))  # "when" not a uint
    assert run(capsys, "check", path)[0] == redis_check(path)[0] == 1


def _stream_v1_value() -> bytes:
    """A stream as Redis before 7.0 wrote it (type 15): two nodes (the later one first in the
    file), same-fields, own-fields and deleted entries, three groups, one pending entry."""
    from reference.persistence import listpack

    def node(master: tuple[int, int], items: list) -> bytes:
        return encode_string(struct.pack(">QQ", *master)) + encode_string(listpack.encode([i if isinstance(i, bytes) else b"%d" % i for i in items]))
    first = node((100, 0), [3, 1, 2, b"a", b"b", 0,
                            2, 0, 0, b"1", b"2", 5,
                            0, 0, 1, 1, b"c", b"3", 6,
                            3, 5, 0, b"x", b"y", 5,
                            2, 7, 0, b"p", b"q", 5])
    second = node((200, 5), [1, 0, 1, b"z", 0, 2, 0, 0, b"zz", 4])
    def group(name: bytes, last: tuple[int, int], pending: bytes = b"\x00", consumers: bytes = b"\x00") -> bytes:
        return encode_string(name) + encode_length(last[0]) + encode_length(last[1]) + pending + consumers
    pending = encode_length(1) + struct.pack(">QQ", 100, 1) + struct.pack("<q", 1000) + encode_length(2)
    consumers = (encode_length(1) + encode_string(b"cons") + struct.pack("<q", 2000)
                 + encode_length(1) + struct.pack(">QQ", 100, 1))
    return (encode_length(2) + second + first + encode_length(4) + encode_length(300) + encode_length(0)
            + encode_length(3) + group(b"before", (50, 0)) + group(b"grp", (105, 0), pending, consumers)
            + group(b"last", (300, 0)))


def test_a_stream_of_before_7_0_reads_as_redis_7_0_loads_it(capsys, tmp_path):
    path = tmp_path / "dump.rdb"
    path.write_bytes(_rdb_file(b"\xfe\x00\x0f" + encode_string(b"old") + _stream_v1_value()))
    status, out, _ = run(capsys, "check", path)
    assert (status, out) == (0, redis_check(path)[1])
    _, out, _ = run(capsys, "dump", path)
    (record,) = records(out)
    assert record["rdb_type"] == "stream"
    client = _start_redis(tmp_path)             # loads the file: what does 7.0 make of it?
    try:
        xrange = _raw(client, "XRANGE", "old", "-", "+")
        info = _pairs(_raw(client, "XINFO", "STREAM", "old", "FULL", "COUNT", 0))
    finally:
        client.shutdown(nosave=True)
    assert _decoded_stream(record["value"]) == _expected_stream(xrange, info)
    assert [g["entries_read"] for g in record["value"]["groups"]] == [0, None, 4]


def test_the_server_refuses_a_file_with_a_stream_in_one_clear_line(streams_file, tmp_path):
    (tmp_path / "dump.rdb").write_bytes(streams_file["data"])
    result = subprocess.run([sys.executable, "-m", "reference", "--port", str(free_port()), "--dir", str(tmp_path),
                             "--save", ""], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
                            cwd=os.path.dirname(os.path.dirname(__file__)), check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    refusals = [line for line in result.stdout.splitlines() if "streams are not supported by the reference" in line]
    assert len(refusals) == 1 and "key '" in refusals[0], result.stdout
