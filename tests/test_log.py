"""The log module (its line format, levels, destinations) and what is not a crash: an exception
escaping a command's handler. The banner and the crash reports are judged against Redis by
conformance/test_log.py and test_crash.py."""
import os
import re
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from reference import log
from reference.config import Config

LINE = re.compile(r"(\d+):([CMS]) \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} ([.*#-]) (.*)\n")


@pytest.fixture
def configure(tmp_path, monkeypatch):
    """configure(*words): the log configured as by `redis-server --logfile tmp_path/redis.log
    *words`; the file's path. Undone after the test."""
    monkeypatch.setattr(log, "_config", None)
    monkeypatch.setattr(log, "_server_pid", None)
    path = tmp_path / "redis.log"

    def configure(*words: str):
        log.configure(Config.from_argv(["--logfile", str(path), *words]))
        return path
    return configure


def test_a_line_says_pid_role_time_level_and_message(configure):
    path = configure()
    log.warning("before")
    log.serving()
    log.notice("after")
    first, second = (LINE.fullmatch(line + "\n") for line in path.read_text().splitlines())
    assert (int(first[1]), first[2], first[3], first[4]) == (os.getpid(), "C", "#", "before")
    assert (second[2], second[3], second[4]) == ("M", "*", "after")


@pytest.mark.parametrize("level, shown", [("debug", ".-*#"), ("verbose", "-*#"), ("notice", "*#"), ("warning", "#")])
def test_loglevel_leaves_out_what_is_below_it(configure, level, shown):
    path = configure("--loglevel", level)
    for write in (log.debug, log.verbose, log.notice, log.warning):
        write("x")
    assert "".join(LINE.fullmatch(line + "\n")[3] for line in path.read_text().splitlines()) == shown


def test_a_message_is_cut_as_redis_cuts_it(configure):
    path = configure()
    log.notice("é" * 600 + "tail")
    message = path.read_bytes().split(b" * ", 1)[1]
    assert message == "é".encode() * 511 + b"\xc3\n"  # 1023 bytes (LOG_MAX_LEN, its NUL left out), cut anywhere


def test_raw_text_and_a_replica_role(configure):
    path = configure("--replicaof", "127.0.0.1", "6379")
    log.serving()
    log.raw("logo\n", "notice")
    log.warning("w")
    text = path.read_text()
    assert text.startswith("logo\n") and LINE.fullmatch(text[5:])[2] == "S"


def test_syslog_gets_the_message(configure, monkeypatch):
    opened, sent = [], []
    monkeypatch.setattr(log.syslog, "openlog", lambda *args: opened.append(args))
    monkeypatch.setattr(log.syslog, "syslog", lambda priority, message: sent.append((priority, message)))
    configure("--syslog-enabled", "yes", "--syslog-ident", "myredis", "--syslog-facility", "local3")
    assert opened == [("myredis", log.syslog.LOG_PID | log.syslog.LOG_NDELAY | log.syslog.LOG_NOWAIT,
                       log.syslog.LOG_LOCAL3)]
    log.verbose("hidden")
    log.warning("seen")
    assert sent == [(log.syslog.LOG_WARNING, "seen")]


def test_diverted_lines_go_to_the_sink(configure):
    path = configure()
    taken = []
    with log.diverted(lambda message, level: taken.append((level, message))):
        log.warning("a")
        log.debug("below the level: not taken")
    log.warning("b")
    assert taken == [("warning", "a")]
    assert path.read_text().endswith(" # b\n")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_exception_in_a_command_is_not_a_crash(tmp_path):
    """A handler that raises (a bug of the reference): that client gets an error, the log gets
    the traceback, and the server goes on serving everyone."""
    port = free_port()
    sabotage = textwrap.dedent(f"""
        import runpy, sys
        from reference import commands
        commands.load_handlers()
        def broken(client, args):
            raise ZeroDivisionError("a bug in a handler")
        _, raw, convert = commands._HANDLERS["echo"]
        commands._HANDLERS["echo"] = (broken, raw, convert)
        sys.argv = ["reference", "--port", "{port}", "--dir", {str(tmp_path)!r}, "--save", "",
                    "--logfile", "redis.log"]
        runpy.run_module("reference", run_name="__main__")
    """)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    process = subprocess.Popen([sys.executable, "-c", sabotage], cwd=root, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port))
                break
            except OSError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        with sock:
            sock.sendall(b"ECHO hi\r\nPING\r\n")
            received = b""
            while received.count(b"\r\n") < 2:
                received += sock.recv(1024)
        assert received == b"-ERR internal error in the reference server running 'echo'\r\n+PONG\r\n"
        assert process.poll() is None
        text = (tmp_path / "redis.log").read_text()
        assert "# Unexpected error in 'echo':\nTraceback (most recent call last):" in text
        assert "ZeroDivisionError: a bug in a handler" in text
        assert "BUG REPORT" not in text
    finally:
        process.terminate()
        process.wait(60)
