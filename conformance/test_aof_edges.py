"""The AOF when things go wrong, as Redis 7.0 handles it: a manifest or AOF file it cannot read
stops the start with its log lines; commands that fail while loading are logged and the load goes
on; a transaction left open at the end of the AOF is reverted; a rewrite that cannot start, or
whose child dies, fails as Redis reports it (INFO aof_last_bgrewrite_status) and, while the AOF
is being turned on, is tried again.

Start-ups read files written here by hand. A rewrite's child is made slow with
rdb-key-save-delay and found among the server's child processes (Linux /proc) to be killed;
waits poll INFO against generous deadlines."""
from __future__ import annotations

import os
import signal
import time

import pytest

from conformance.client import ErrorReply
from conformance.targets import free_port, run_until_exit, server_words
from conformance.readings import info
from conformance.waiting import wait_for

pytestmark = [pytest.mark.launches, pytest.mark.internals("AOF files and log lines")]

DEADLINE = 30.0
MANIFEST = "appendonly.aof.manifest"
INCR = "appendonly.aof.1.incr.aof"


def resp(*commands: tuple) -> bytes:
    out = b""
    for argv in commands:
        out += b"*%d\r\n" % len(argv)
        for arg in argv:
            arg = arg if isinstance(arg, bytes) else str(arg).encode()
            out += b"$%d\r\n%s\r\n" % (len(arg), arg)
    return out


def write_aof(tmp_path, manifest: bytes, files: dict[str, bytes]) -> None:
    aof = tmp_path / "appendonlydir"
    aof.mkdir()
    (aof / MANIFEST).write_bytes(manifest)
    for name, data in files.items():
        (aof / name).write_bytes(data)


def start_failing(request, tmp_path, *words: str) -> list[str]:
    """Start the server with appendonly yes in tmp_path; it must exit with status 1. Its log
    (standard output)."""
    command = server_words(request.config.getoption("server")) + [
        "--port", str(free_port()), "--dir", str(tmp_path), "--save", "", "--appendonly", "yes", *words]
    result = run_until_exit(command)
    log = result.stdout.decode("latin-1")  # a log line may quote bytes of a file
    assert result.returncode == 1, log[-2000:]
    return log


def fields(c, section: str = "persistence") -> dict[str, str]:
    return info(c, section)


def children(pid: int) -> list[int]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            found += [int(word) for word in f.read().split()]
    return found


def the_child(server) -> int:
    """The one child process the server runs (a rewrite or a save)."""
    found = []
    wait_for(lambda: found.extend(children(server.process.pid)) or found, "no child process")
    assert len(found) == 1, found
    return found[0]


def rewrite_done(c) -> bool:
    got = fields(c)
    return got["aof_rewrite_in_progress"] == "0" and got["aof_rewrite_scheduled"] == "0"


# --- start-up: the manifest ------------------------------------------------------------------


def fatal_manifest(line_number: int | None, line: str | None, reason: str) -> list[str]:
    """The log lines of a refused manifest, after the "# " of each log line."""
    lines = ["# \n*** FATAL AOF MANIFEST FILE ERROR ***\n\n"]
    if line_number is not None:
        lines += [f"# Reading the manifest file, at line {line_number}\n\n", f"# >>> '{line}'\n\n"]
    return lines + [f"# {reason}\n\n"]


@pytest.mark.parametrize("manifest, line_number, line, reason", [
    (b"", None, None, "Found an empty AOF manifest"),
    (b"\n", 1, "", "Invalid AOF manifest file format"),
    (b"# a comment\nfile a seq 1\n", 2, "file a seq 1", "Invalid AOF manifest file format"),
    (b"file a seq 1 type i x\n", 1, "file a seq 1 type i x", "Invalid AOF manifest file format"),
    (b"file a seq abc type i\n", 1, "file a seq abc type i", "Invalid AOF manifest file format"),
    (b"file a seq 1 type\xff i\n", 1, "file a seq 1 type\xff i", "Invalid AOF manifest file format"),
    (b"file " + b"a" * 1100 + b" seq 1 type i\n", None, None, "The AOF manifest file contains too long line"),
    (b"file a seq 1 type i", None, None, "The AOF manifest file contains too long line"),
    (b"file dir/a seq 1 type i\n", 1, "file dir/a seq 1 type i", "File can't be a path, just a filename"),
    (b"file a seq 1 type b\nfile b seq 2 type b\n", 2, "file b seq 2 type b", "Found duplicate base file information"),
    (b"file a seq 2 type i\nfile b seq 2 type i\n", 2, "file b seq 2 type i", "Found a non-monotonic sequence number"),
    (b"file a seq 1 type x\n", 1, "file a seq 1 type x", "Unknown AOF file type"),
])
def test_a_refused_manifest_stops_the_start(request, tmp_path, manifest, line_number, line, reason):
    write_aof(tmp_path, manifest, {})
    log = start_failing(request, tmp_path)
    lines = fatal_manifest(line_number, line, reason)
    at = [log.find(text) for text in lines]
    assert -1 not in at and at == sorted(at), log[-2000:]


def test_what_a_manifest_may_hold_besides_files(request, launcher, tmp_path):
    """Comments, keys Redis does not know (kept for later versions), quoted names, history that
    is gone already."""
    write_aof(tmp_path, b"# written by hand\n" + b"#" * 2000 + b"\n"  # a long comment is fine
                        b"file old.aof seq 1 type h\n"
                        b'file "odd name.aof" seq 3 type i future yes\n', {
                            "odd name.aof": resp(("SET", "k", "v"))})
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    assert server.client().call("GET", "k") == b"v"
    assert (tmp_path / "appendonlydir" / MANIFEST).read_bytes() == b'file "odd name.aof" seq 3 type i\n'


# --- start-up: the files ---------------------------------------------------------------------


def one_incr(tmp_path, data: bytes) -> None:
    write_aof(tmp_path, f"file {INCR} seq 1 type i\n".encode(), {INCR: data})


BAD_FORMAT = (f"# Bad file format reading the append only file {INCR}: make a backup of your AOF "
              "file, then use ./redis-check-aof --fix <filename.manifest>")


@pytest.mark.parametrize("data, message", [
    (resp(("SET", "k", "v")) + b"hello\r\n", BAD_FORMAT),
    (b"*0\r\n", BAD_FORMAT),
    (b"*2\r\n$3\r\nGET\r\n:1\r\n", BAD_FORMAT),
    (resp(("SET", "k", "v"), ("NOSUCH", "x")), f"# Unknown command 'NOSUCH' reading the append only file {INCR}"),
])
def test_an_aof_that_cannot_be_read_stops_the_start(request, tmp_path, data, message):
    one_incr(tmp_path, data)
    assert message in start_failing(request, tmp_path)


def test_a_truncated_file_must_be_the_last(request, tmp_path):
    write_aof(tmp_path, b"file a.aof seq 1 type i\nfile b.aof seq 2 type i\n", {
        "a.aof": resp(("SET", "k", "v")) + b"*2\r\n$3\r\nGET\r\n",
        "b.aof": resp(("SET", "j", "w"))})
    assert "# Fatal error: the truncated file is not the last file" in start_failing(request, tmp_path)


@pytest.mark.parametrize("data, messages", [
    (b"REDIS0099", ["# Can't handle RDB format version 99",
                    "# Error reading the RDB base file base.rdb, AOF loading aborted",
                    "# Unrecoverable error reading the append only file base.rdb: Invalid argument"]),
    (b"REDIS0009\xfa\x05hel", ["# Short read or OOM loading DB. Unrecoverable error, aborting now."]),
])
def test_a_bad_rdb_base_stops_the_start(request, tmp_path, data, messages):
    write_aof(tmp_path, b"file base.rdb seq 1 type b\n", {"base.rdb": data})
    log = start_failing(request, tmp_path)
    assert all(message in log for message in messages), log[-2000:]


def test_an_aof_directory_that_is_a_file_stops_the_start(request, tmp_path):
    (tmp_path / "appendonlydir").write_text("")
    assert "# Can't open or create append-only dir appendonlydir: Not a directory" in \
        start_failing(request, tmp_path)


def test_an_old_style_aof_with_an_aof_directory_that_is_a_file(request, tmp_path):
    (tmp_path / "appendonlydir").write_text("")
    (tmp_path / "appendonly.aof").write_bytes(resp(("SET", "k", "v")))
    assert "# Can't open or create append-only dir appendonlydir: Not a directory" in \
        start_failing(request, tmp_path)


def test_errors_while_loading_are_logged_and_the_load_goes_on(launcher, tmp_path):
    one_incr(tmp_path, resp(("PING",), ("SET", "k", "abc"), ("INCR", "k"), ("LPUSH", "k", "x"), ("RESET",),
                            ("SET", "j", "1")))
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    c = server.client()
    assert c.pipeline(("GET", "k"), ("GET", "j")) == [b"abc", b"1"]
    log = server.log_tail(100)
    assert ("== CRITICAL == This server is sending an error to its AOF-loading-client: "
            "'value is not an integer or out of range' after processing the command 'incr'") in log
    assert ("== CRITICAL == This server is sending an error to its AOF-loading-client: "
            "'-WRONGTYPE Operation against a key holding the wrong kind of value' after processing "
            "the command 'lpush'") in log


def test_a_transaction_left_open_is_reverted(launcher, tmp_path):
    before_multi = resp(("SET", "a", "1"))
    one_incr(tmp_path, before_multi + resp(("MULTI",), ("SET", "b", "2")))
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    c = server.client()
    assert c.pipeline(("GET", "a"), ("EXISTS", "b")) == [b"1", 0]
    assert f"Revert incomplete MULTI/EXEC transaction in AOF file {INCR}" in server.log_tail(100)
    assert (tmp_path / "appendonlydir" / INCR).read_bytes() == before_multi


def test_a_command_cut_short_after_its_length_is_dropped(launcher, tmp_path):
    complete = resp(("PING",), ("SET", "k", "v"))
    one_incr(tmp_path, complete + b"*2\r\n$3\r\nGET\r\n")
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    assert server.client().call("GET", "k") == b"v"
    assert (tmp_path / "appendonlydir" / INCR).read_bytes() == complete


def test_an_aof_of_empty_files_loads_nothing(launcher, tmp_path):
    one_incr(tmp_path, b"")
    server = launcher.start(dir=str(tmp_path), appendonly="yes")
    c = server.client()
    assert c.call("DBSIZE") == 0
    assert c.call("SET", "k", "v") == "OK"


# --- rewrites that fail ----------------------------------------------------------------------

CANNOT_REWRITE = ErrorReply("ERR Can't execute an AOF background rewriting. Please check the "
                            "server logs for more information.")


def test_a_rewrite_that_cannot_open_its_files_is_refused(launcher):
    server = launcher.start(appendonly="yes")
    c = server.client()
    aof = os.path.join(server.dir, "appendonlydir")
    for blocker in ("appendonly.aof.2.incr.aof", f"temp-{MANIFEST}"):  # a directory in the way
        os.mkdir(os.path.join(aof, blocker))
        assert c.call("BGREWRITEAOF") == CANNOT_REWRITE
        assert fields(c)["aof_last_bgrewrite_status"] == "err"
        os.rmdir(os.path.join(aof, blocker))
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
    wait_for(lambda: rewrite_done(c), "the rewrite")
    assert fields(c)["aof_last_bgrewrite_status"] == "ok"
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.call("GET", "k") == b"v"


@pytest.mark.parametrize("signum, status, failures", [(signal.SIGKILL, "err", "1"),
                                                      (signal.SIGUSR1, "ok", "0")])  # SIGUSR1: stopped
def test_a_rewrite_whose_child_is_killed(launcher, signum, status, failures):
    server = launcher.start(appendonly="yes")
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    assert c.pipeline(("CONFIG", "SET", "rdb-key-save-delay", 60_000_000), ("BGREWRITEAOF",),
                      ("CONFIG", "SET", "rdb-key-save-delay", 0), ("BGREWRITEAOF",)) == [
        "OK", "Background append only file rewriting started", "OK",
        ErrorReply("ERR Background append only file rewriting already in progress")]
    os.kill(the_child(server), signum)
    wait_for(lambda: rewrite_done(c), "the rewrite's end")
    got = fields(c)
    assert (got["aof_last_bgrewrite_status"], got["aof_rewrites_consecutive_failures"]) == (status, failures)
    assert c.call("SET", "j", "w") == "OK"
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.pipeline(("GET", "k"), ("GET", "j")) == [b"v", b"w"]


def test_turning_the_aof_on_tries_again_after_its_rewrite_dies(launcher):
    server = launcher.start()
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    assert c.pipeline(("CONFIG", "SET", "rdb-key-save-delay", 60_000_000), ("CONFIG", "SET", "appendonly", "yes"),
                      ("CONFIG", "SET", "rdb-key-save-delay", 0), ("SET", "j", "w")) == ["OK"] * 4
    os.kill(the_child(server), signal.SIGKILL)
    wait_for(lambda: rewrite_done(c) and fields(c)["aof_last_bgrewrite_status"] == "ok",
             "the second rewrite")
    assert fields(c)["aof_enabled"] == "1"
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.pipeline(("GET", "k"), ("GET", "j")) == [b"v", b"w"]


def test_turning_the_aof_on_stops_a_rewrite_already_running(launcher):
    server = launcher.start()
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    first = c.pipeline(("CONFIG", "SET", "rdb-key-save-delay", 60_000_000), ("BGREWRITEAOF",),
                       ("CONFIG", "SET", "rdb-key-save-delay", 0))
    assert first == ["OK", "Background append only file rewriting started", "OK"]
    slow = the_child(server)
    assert c.call("CONFIG", "SET", "appendonly", "yes") == "OK"
    wait_for(lambda: rewrite_done(c), "the rewrite")
    wait_for(lambda: slow not in children(server.process.pid), "the first child's end")
    assert fields(c)["aof_enabled"] == "1"
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.call("GET", "k") == b"v"


def test_shutdown_stops_a_running_rewrite(launcher):
    server = launcher.start(appendonly="yes")
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    assert c.pipeline(("CONFIG", "SET", "rdb-key-save-delay", 60_000_000), ("BGREWRITEAOF",),
                      ("CONFIG", "SET", "rdb-key-save-delay", 0))[1] == \
        "Background append only file rewriting started"
    child = the_child(server)
    with pytest.raises(ConnectionError):
        c.call("SHUTDOWN", "NOSAVE")
    server.process.wait(DEADLINE)
    assert not [name for name in os.listdir(server.dir) if name.startswith("temp-")]
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)


def test_a_base_written_as_commands_keeps_keys_past_their_time(launcher):
    """Redis 7.0 writes them with their expiry (loading drops them)."""
    server = launcher.start(appendonly="yes", aof_use_rdb_preamble="no")
    c = server.client()
    assert c.pipeline(("DEBUG", "SET-ACTIVE-EXPIRE", 0), ("SET", "gone", "v", "PX", 1)) == ["OK", "OK"]
    time.sleep(0.05)  # past its millisecond
    assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
    wait_for(lambda: rewrite_done(c), "the rewrite")
    with open(os.path.join(server.dir, "appendonlydir", "appendonly.aof.2.base.aof"), "rb") as f:
        base = f.read()
    assert resp(("SET", "gone", "v")) in base and b"PEXPIREAT\r\n$4\r\ngone\r\n" in base
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.call("EXISTS", "gone") == 0


def test_infinite_scores_in_a_base_written_as_commands(launcher):
    server = launcher.start(appendonly="yes", aof_use_rdb_preamble="no")
    c = server.client()
    assert c.call("ZADD", "z", "inf", "top", "-inf", "bottom", "1.5", "middle") == 3
    assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
    wait_for(lambda: rewrite_done(c), "the rewrite")
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.call("ZRANGE", "z", "0", "-1", "WITHSCORES") == [b"bottom", b"-inf", b"middle", b"1.5", b"top", b"inf"]


def test_file_names_that_need_quoting_in_the_manifest(launcher):
    server = launcher.start(appendonly="yes", appendfilename="my aof", auto_aof_rewrite_min_size=1,
                            auto_aof_rewrite_percentage=10_000)  # (grown, but not enough to rewrite)
    assert server.client().call("SET", "k", "v") == "OK"
    with open(os.path.join(server.dir, "appendonlydir", "my aof.manifest"), "rb") as f:
        assert f.read() == b'file "my aof.1.base.rdb" seq 1 type b\nfile "my aof.1.incr.aof" seq 1 type i\n'
    server.restart()
    assert server.client().call("GET", "k") == b"v"


def test_file_names_with_quotes_tabs_and_other_bytes_in_the_manifest(launcher, tmp_path):
    """A name with a double quote, a tab and bytes outside ASCII is written escaped, as Redis's
    sdscatrepr writes it (\\" \\t \\xNN), in every line a rewrite writes too; it reads back."""
    name = b'q"uo\te\xc3\xa9.aof'
    config = tmp_path / "redis.conf"
    config.write_bytes(b'appendfilename "q\\"uo\\te\\xc3\\xa9.aof"\n')
    server = launcher.start(config_file=str(config), appendonly="yes", aof_disable_auto_gc="yes")
    c = server.client()
    assert c.call("CONFIG", "GET", "appendfilename") == [b"appendfilename", name]
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
    wait_for(lambda: rewrite_done(c), "the rewrite")
    quoted = b'"q\\"uo\\te\\xc3\\xa9.aof'
    with open(os.path.join(os.fsencode(server.dir), b"appendonlydir", name + b".manifest"), "rb") as f:
        assert f.read() == (b"file " + quoted + b'.2.base.rdb" seq 2 type b\n'
                            b"file " + quoted + b'.1.incr.aof" seq 1 type h\n'
                            b"file " + quoted + b'.1.base.rdb" seq 1 type h\n'
                            b"file " + quoted + b'.2.incr.aof" seq 2 type i\n')
    server.restart()
    assert server.client().call("GET", "k") == b"v"


# --- files in the way: a directory where a file must go ---------------------------------------


@pytest.mark.parametrize("blocker, old_style, message", [
    ("appendonly.aof.1.incr.aof", False, "# Can't open the append-only file appendonly.aof.1.incr.aof: Is a directory"),
    ("appendonly.aof.1.base.rdb", False, "# Error moving temp append only file on the final destination: Is a directory"),
    (MANIFEST, False, f"# Error trying to rename the temporary AOF manifest file temp-{MANIFEST} into {MANIFEST}: "
                      "Is a directory"),
    (MANIFEST, True, f"# Error trying to rename the temporary AOF manifest file temp-{MANIFEST} into {MANIFEST}: "
                     "Is a directory"),
    ("appendonly.aof", True, "# Error trying to move the old AOF file appendonly.aof into dir appendonlydir: "
                             "Is a directory"),
])
def test_a_directory_in_the_way_stops_the_start(request, tmp_path, blocker, old_style, message):
    (tmp_path / "appendonlydir" / blocker).mkdir(parents=True)
    if old_style:
        (tmp_path / "appendonly.aof").write_bytes(resp(("SET", "k", "v")))
    assert message in start_failing(request, tmp_path)
    assert not [name for name in os.listdir(tmp_path) if name.startswith("temp-rewriteaof")]


def test_a_rewrite_whose_base_cannot_be_put_in_place_fails(launcher):
    server = launcher.start(appendonly="yes")
    c = server.client()
    os.mkdir(os.path.join(server.dir, "appendonlydir", "appendonly.aof.2.base.rdb"))
    assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
    wait_for(lambda: rewrite_done(c), "the rewrite")
    got = fields(c)
    assert (got["aof_last_bgrewrite_status"], got["aof_rewrites_consecutive_failures"]) == ("err", "1")
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("DEBUG", "LOADAOF") == "OK"
    assert c.call("GET", "k") == b"v"


@pytest.mark.parametrize("blocker", ["appendonly.aof.1.incr.aof", MANIFEST])
def test_turning_the_aof_on_fails_while_its_files_cannot_be_put_in_place(launcher, blocker):
    server = launcher.start()
    c = server.client()
    os.makedirs(os.path.join(server.dir, "appendonlydir", blocker))
    assert c.call("CONFIG", "SET", "appendonly", "yes") == "OK"
    wait_for(lambda: fields(c)["aof_last_bgrewrite_status"] == "err", "the failed rewrite")
    assert c.call("CONFIG", "SET", "appendonly", "no") == "OK"  # (else it tries again and again)
    assert fields(c)["aof_enabled"] == "0"
    assert c.call("SET", "k", "v") == "OK"
