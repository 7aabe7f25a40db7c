"""`python -m reference.tools` on AOF files: check judged against redis-check-aof (the same report,
the same --fix and --truncate-to-timestamp), dump and convert against what real redis-server
held, on files a real redis-server wrote, whole, cut short and damaged."""
import io
import json
import os
import re
import shutil
import subprocess
import time

import pytest

from reference.tools import Progress
from reference.tools.__main__ import main
from reference.tools.aof import AOFSource, replay
from conformance.targets import free_port
from tests.real_redis import start_redis

MANIFEST = "appendonly.aof.manifest"


def _start_redis(directory, *options):
    return start_redis(directory, free_port(), *options)


def _write_everything(client) -> None:
    client.set("s", "hello")
    client.set("n", 10)
    client.incr("n")
    client.set("ttl", "v", ex=100_000)
    client.rpush("l", *[f"e{i}" for i in range(40)])
    client.lpop("l")
    client.hset("h", mapping={"f": "v", "g": 1})
    client.hdel("h", "g")
    client.sadd("set", 1, 2, 3, "x")
    client.zadd("z", {"a": 1.5, "b": float("-inf")})
    client.incrbyfloat("f", 1.25)
    pipe = client.pipeline(transaction=True)  # MULTI ... EXEC in the file
    pipe.set("in-multi", 1)
    pipe.rpush("l", "last")
    pipe.execute()


def _start_of_next_second() -> None:
    """Sleep into the next second: the writes that follow get one annotation, all of them within
    that second even on a loaded machine (they take far less than its 0.95 s left)."""
    time.sleep(1.05 - time.time() % 1)


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A multi-part AOF written by redis-server (an RDB base made by BGREWRITEAOF, then an incr
    file with timestamp annotations a second apart, a transaction, two databases), and a dump.rdb
    of the same data saved at the end."""
    directory = tmp_path_factory.mktemp("real-aof")
    client = _start_redis(directory, "--appendonly", "yes", "--appendfsync", "always",
                          "--aof-timestamp-enabled", "yes")
    try:
        client.set("before-rewrite", "in the base")
        client.rpush("base-list", "a", "b")
        client.bgrewriteaof()
        for _ in range(100):
            if client.info("persistence")["aof_rewrite_in_progress"] == 0:
                break
            time.sleep(0.05)
        _start_of_next_second()  # the new incr file starts with an annotation
        _write_everything(client)
        _start_of_next_second()
        client.execute_command("SELECT", 2)
        client.set("in-db-2", "two")
        client.delete("nothing")
        client.execute_command("SELECT", 0)
        client.delete("s")
        client.save()
    finally:
        client.shutdown(nosave=True)
    aof = directory / "appendonlydir"
    return {"dir": aof, "manifest": aof / MANIFEST, "rdb": directory / "dump.rdb",
            "incr": aof / "appendonly.aof.2.incr.aof"}


def run(capsysbinary, *argv, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = main([str(arg) for arg in argv])
    out, err = capsysbinary.readouterr()
    return status, out.decode("utf-8"), err.decode("utf-8")


def redis_check_aof(*argv, stdin: str = ""):
    result = subprocess.run(["redis-check-aof", *map(str, argv)], capture_output=True,
                            input=stdin.encode(), check=False)
    # Raw bytes of a damaged file in the report: the tools print them escaped, as here.
    return result.returncode, result.stdout.decode("utf-8", "backslashreplace")


def same_report(ours, theirs) -> bool:
    """Equal, but for one byte redis-check-aof reads past the end of a line cut short after a
    number: what it shows there is whatever memory held (see AOFCheck._number)."""
    def normal(report):
        status, text = report[:2]
        return status, re.sub(r"got: 00[0-9a-f]{2}\n", "got: 00??\n", text)
    return normal(ours) == normal(theirs)


def records(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_the_fixture_has_what_the_tests_need(real):
    assert sorted(os.listdir(real["dir"])) == [
        "appendonly.aof.2.base.rdb", "appendonly.aof.2.incr.aof", MANIFEST]
    incr = real["incr"].read_bytes()
    assert incr.count(b"#TS:") == 2 and b"MULTI" in incr and b"SELECT\r\n$1\r\n2" in incr


# --- check -------------------------------------------------------------------------------------

def test_check_reports_as_redis_check_aof_on_a_real_aof(real, capsysbinary):
    for path in (real["manifest"], real["incr"]):
        status, out, err = run(capsysbinary, "check", path)
        assert (status, out, err) == (*redis_check_aof(path), ""), path
    assert "All AOF files and manifest are valid" in run(capsysbinary, "check", real["manifest"])[1]


def test_check_of_the_aof_directory_is_the_check_of_its_manifest(real, capsysbinary):
    assert run(capsysbinary, "check", real["dir"]) == run(capsysbinary, "check", real["manifest"])


def test_check_agrees_with_redis_check_aof_on_every_truncation(real, capsysbinary, tmp_path):
    data = real["incr"].read_bytes()
    cut = tmp_path / "cut.aof"
    # Every cut in the first commands (each kind of line cut at each place), then a sample.
    for length in sorted(set(range(120)) | set(range(120, len(data) + 1, 9)) | {len(data)}):
        cut.write_bytes(data[:length])
        assert same_report(run(capsysbinary, "check", cut), redis_check_aof(cut)), length


def test_check_agrees_with_redis_check_aof_on_damaged_bytes(real, capsysbinary, tmp_path):
    data = real["incr"].read_bytes()
    bad = tmp_path / "bad.aof"
    for position in range(0, len(data), max(1, len(data) // 50)):
        for byte in b"x\n*$-\xff":
            bad.write_bytes(data[:position] + bytes([byte]) + data[position + 1:])
            assert same_report(run(capsysbinary, "check", bad), redis_check_aof(bad)), (position, bytes([byte]))


def test_check_agrees_on_transactions_left_open_or_nested(capsysbinary, tmp_path):
    multi, exec_ = b"*1\r\n$5\r\nMULTI\r\n", b"*1\r\n$4\r\nEXEC\r\n"
    incr = b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n"
    path = tmp_path / "t.aof"
    for text in (multi + incr, multi + incr + multi + incr + exec_, incr + exec_, multi + exec_ + exec_,
                 incr + multi + incr + exec_ + incr[:7], b"#TS:12\r\n" + multi, b"\r\n", b"hello"):
        path.write_bytes(text)
        assert same_report(run(capsysbinary, "check", path), redis_check_aof(path)), text


def _copy(real, tmp_path):
    target = tmp_path / "appendonlydir"
    shutil.copytree(real["dir"], target)
    return target


def test_check_of_a_multi_part_aof_with_a_cut_last_file(real, capsysbinary, tmp_path):
    ours, theirs = _copy(real, tmp_path / "ours"), _copy(real, tmp_path / "theirs")
    for directory in (ours, theirs):
        incr = directory / "appendonly.aof.2.incr.aof"
        incr.write_bytes(incr.read_bytes()[:-5])
    status, out, _ = run(capsysbinary, "check", ours / MANIFEST)
    theirs_status, theirs_out = redis_check_aof(theirs / MANIFEST)
    assert status == theirs_status == 1
    assert out.replace(str(ours), str(theirs)) == theirs_out


def test_fix_truncates_as_redis_check_aof_does(real, capsysbinary, monkeypatch, tmp_path):
    ours, theirs = _copy(real, tmp_path / "ours"), _copy(real, tmp_path / "theirs")
    for directory in (ours, theirs):
        incr = directory / "appendonly.aof.2.incr.aof"
        incr.write_bytes(incr.read_bytes()[:-5])
    # Answered no: nothing changes.
    status, out, _ = run(capsysbinary, "check", "--fix", ours / MANIFEST, stdin="n\n", monkeypatch=monkeypatch)
    assert (status, out) == redis_check_aof("--fix", theirs / MANIFEST, stdin="n\n")
    assert out.endswith("Continue? [y/N]: Aborting...\n")
    # Answered yes: cut after the last complete command; then valid.
    status, out, _ = run(capsysbinary, "check", "--fix", ours / MANIFEST, stdin="y\n", monkeypatch=monkeypatch)
    assert (status, out) == redis_check_aof("--fix", theirs / MANIFEST, stdin="y\n")
    assert "Successfully truncated AOF appendonly.aof.2.incr.aof" in out
    name = "appendonly.aof.2.incr.aof"
    assert (ours / name).read_bytes() == (theirs / name).read_bytes()
    assert run(capsysbinary, "check", ours / MANIFEST)[0] == 0


def test_truncate_to_timestamp_as_redis_check_aof(real, capsysbinary, tmp_path):
    first, second = [int(stamp) for stamp in re.findall(rb"#TS:(\d+)", real["incr"].read_bytes())]
    # Before everything (refused), between the two annotations (cut), after both (nothing to do).
    for when in (first - 100, first, second):
        ours, theirs = _copy(real, tmp_path / f"ours{when}"), _copy(real, tmp_path / f"theirs{when}")
        status, out, _ = run(capsysbinary, "check", "--truncate-to-timestamp", when, ours / MANIFEST)
        assert (status, out.replace(str(ours), str(theirs))) == \
            redis_check_aof("--truncate-to-timestamp", when, theirs / MANIFEST), when
        name = "appendonly.aof.2.incr.aof"
        assert (ours / name).read_bytes() == (theirs / name).read_bytes(), when
        if when == first:
            assert b"#TS:%d" % second not in (ours / name).read_bytes()


def test_check_of_an_old_style_aof_with_an_rdb_preamble(real, capsysbinary, tmp_path):
    path = tmp_path / "appendonly.aof"
    path.write_bytes(real["rdb"].read_bytes() + b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
    status, out, _ = run(capsysbinary, "check", path)
    assert (status, out) == redis_check_aof(path)
    assert "RDB preamble is OK, proceeding with AOF tail..." in out
    path.write_bytes(path.read_bytes()[:-3])
    assert same_report(run(capsysbinary, "check", path), redis_check_aof(path))


def test_check_of_a_manifest_naming_a_missing_file(real, capsysbinary, tmp_path):
    directory = _copy(real, tmp_path)
    os.unlink(directory / "appendonly.aof.2.incr.aof")
    status, out, err = run(capsysbinary, "check", directory / MANIFEST)
    theirs = redis_check_aof(directory / MANIFEST)
    assert (status, out) == theirs and status == 1 and err == ""


# --- dump, convert, commands ---------------------------------------------------------------------

def _by_key(rows):
    """Records keyed by (db, key), without the field that says which file format they came from,
    and with a set's members sorted (a hashtable's order depends on how it was filled)."""
    def normal(row):
        row = {k: v for k, v in row.items() if k != "rdb_type"}
        if row["type"] == "set":
            row["value"] = sorted(row["value"], key=json.dumps)
        return row
    return {(row["db"], json.dumps(row["key"])): normal(row) for row in rows}


def test_dump_of_an_aof_is_the_dataset_redis_saved(real, capsysbinary):
    status, out, err = run(capsysbinary, "dump", real["dir"])
    assert (status, err) == (0, "")
    from_aof = _by_key(records(out))
    from_rdb = _by_key(records(run(capsysbinary, "dump", real["rdb"])[1]))
    assert from_aof == from_rdb
    assert (2, '"in-db-2"') in from_aof and (0, '"s"') not in from_aof
    assert from_aof[(0, '"l"')]["value"][-1] == "last" and len(from_aof[(0, '"l"')]["value"]) == 40
    assert all(row["rdb_type"] is None for row in records(out))


def test_dump_of_an_aof_filters_by_db_and_pattern(real, capsysbinary):
    rows = records(run(capsysbinary, "dump", real["manifest"], "--db", "0", "--match", "*l?st")[1])
    assert [row["key"] for row in rows] == ["base-list"]
    rows = records(run(capsysbinary, "dump", real["manifest"], "--db", "2")[1])
    assert [row["key"] for row in rows] == ["in-db-2"]


def test_convert_an_aof_into_an_rdb_file_redis_loads(real, capsysbinary, tmp_path):
    out_file = tmp_path / "converted.rdb"
    status, _, err = run(capsysbinary, "convert", real["manifest"], out_file)
    assert status == 0 and "keys written" in err
    result = subprocess.run(["redis-check-rdb", str(out_file)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    assert _by_key(records(run(capsysbinary, "dump", out_file)[1])) == \
        _by_key(records(run(capsysbinary, "dump", real["rdb"])[1]))


def test_a_cut_last_file_loads_its_complete_commands_with_a_warning(real, capsysbinary, tmp_path):
    directory = _copy(real, tmp_path)
    incr = directory / "appendonly.aof.2.incr.aof"
    data = incr.read_bytes()
    incr.write_bytes(data[:data.rindex(b"*2\r\n$3\r\nDEL")] + b"*2\r\n$3\r\nDE")  # DEL s cut short
    status, out, err = run(capsysbinary, "dump", directory)
    assert status == 0
    assert "incomplete command" in err and err.startswith("warning: ")
    assert (0, '"s"') in _by_key(records(out))
    assert incr.read_bytes().endswith(b"DE")  # the tools never change the files they read


def test_a_bad_aof_is_one_line_on_stderr(real, capsysbinary, tmp_path):
    directory = _copy(real, tmp_path)
    incr = directory / "appendonly.aof.2.incr.aof"
    incr.write_bytes(b"*1\r\n$7\r\nNOTACMD\r\n")
    status, out, err = run(capsysbinary, "dump", directory)
    assert status == 1 and out == ""
    assert err.count("\n") == 2 and "Unknown command 'NOTACMD'" in err and err.splitlines()[-1].startswith("error: ")
    os.unlink(incr)
    status, out, err = run(capsysbinary, "convert", directory, tmp_path / "x.rdb")
    assert status == 1 and "does not exist" in err and not (tmp_path / "x.rdb").exists()


def test_commands_lists_each_command_with_its_db(real, capsysbinary):
    status, out, err = run(capsysbinary, "commands", real["dir"])
    assert (status, err) == (0, "")
    rows = records(out)
    incr = real["incr"].read_bytes()
    assert [row["file"] for row in rows] == ["appendonly.aof.2.incr.aof"] * len(rows)
    assert rows[0]["argv"] == ["SELECT", "0"] and rows[0]["offset"] == 0
    assert [row["argv"][0].upper() for row in rows].count("MULTI") == 1
    in_db_2 = [row for row in rows if row["argv"][1:2] == ["in-db-2"]]
    assert len(in_db_2) == 1 and in_db_2[0]["db"] == 2
    assert rows[-1]["argv"] == ["DEL", "s"] and rows[-1]["db"] == 0
    # Offsets point into the file: every command's bytes start at or after its offset.
    for row in rows:
        assert incr.find(b"\r\n" + row["argv"][0].encode() + b"\r\n", row["offset"]) >= 0
    keyed = records(run(capsysbinary, "commands", real["dir"], "--match", "in-*")[1])
    assert [row["argv"][:2] for row in keyed] == [["SET", "in-multi"], ["SET", "in-db-2"]] or \
        [row["argv"][:2] for row in keyed] == [["set", "in-multi"], ["set", "in-db-2"]]


def test_commands_of_an_rdb_file_says_to_use_dump(real, capsysbinary):
    status, out, err = run(capsysbinary, "commands", real["rdb"])
    assert status == 1 and out == "" and "try dump" in err


def test_replay_reports_progress_to_the_end(real):
    stream = io.StringIO()
    source = AOFSource.open(str(real["dir"]))
    replay(source, progress=Progress(source.total_size(), stream, per_second=1e9))
    assert stream.getvalue().splitlines()[-1].startswith("100% ")


@pytest.mark.parametrize("text", [b"file a seq 1 type b\nfile a seq 1 type b\n",
                                  b"file a seq 1 type x\n", b"file a seq 1\n", b"file a/b seq 1 type b\n"])
def test_check_of_a_bad_manifest_says_what_redis_logs(capsysbinary, tmp_path, text):
    path = tmp_path / MANIFEST
    path.write_bytes(text)
    status, out, _ = run(capsysbinary, "check", path)
    theirs_status, theirs = redis_check_aof(path)
    # redis-check-aof prints these as log lines: a pid, the time and a mark before each.
    theirs = re.sub(r"(?m)^\d+:C \d+ \w+ \d+ [\d:.]+ # ", "", theirs)
    assert (status, out) == (theirs_status, theirs) and status == 1
