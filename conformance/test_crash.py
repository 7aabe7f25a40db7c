"""Crash reports as redis-server 7.0 writes them, and how the server then dies.

DEBUG SEGFAULT, ASSERT, PANIC and OOM, and the fatal signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL,
SIGABRT) sent to the server: the bug report between its START and END lines, saying what
happened (`Redis 7.0.15 crashed by signal: N`, `=== ASSERTION FAILED ===`, the panic's `Guru
Meditation`), with the sections harnesses and operators read (the stack, INFO, the clients, the
client that was running); then the process dies by that signal, or exits 1 with
`use-exit-on-panic yes`. `crash-log-enabled no` leaves the report out (a fatal signal then kills
at once); `crash-memcheck-enabled no` the memory test. What the sections hold besides their
titles is the server's own (C frames and registers in Redis).

Each test crashes a server of its own; the log is its logfile, read once the process is gone."""
from __future__ import annotations

import os
import re
import signal
import time

import pytest

pytestmark = [pytest.mark.launches, pytest.mark.internals("DEBUG and the crash report")]

DEADLINE = 120.0  # seconds for a crash to be over: Redis's memory test takes a while on a busy machine
START = "=== REDIS BUG REPORT START: Cut & paste starting from here ==="
END = "=== REDIS BUG REPORT END. Make sure to include from START to END. ==="
LINE = re.compile(r"\d+:M \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} # (.*)")
SECTIONS = ["------ STACK TRACE ------", "------ INFO OUTPUT ------", "------ CLIENT LIST OUTPUT ------",
            "------ CURRENT CLIENT INFO ------", "------ MODULES INFO OUTPUT ------",
            "------ CONFIG DEBUG OUTPUT ------"]
MEMORY_TEST = "------ FAST MEMORY TEST ------"


def crash(launcher, command: tuple | None = None, send: int | None = None, **options):
    """Start a server, crash it by a command or a signal; (how it ended, its log's lines).
    How it ended: -N for death by signal N, else the exit status."""
    server = launcher.start(logfile="crash.log", **options)
    client = server.client()
    assert client.call("SET", "somekey", "somevalue") == "OK"
    if command is not None:
        with pytest.raises(ConnectionError):  # no reply: the connection goes with the process
            client.call(*command)
    else:
        client.call("PING")
        os.kill(server.process.pid, send)
    status = server.process.wait(DEADLINE)
    with open(os.path.join(server.dir, "crash.log"), "rb") as f:
        lines = f.read().decode("utf-8", "replace").splitlines()
    return status, lines


def messages(lines: list[str]) -> list[str]:
    """The warnings among the report's lines (what is not a log line is left out)."""
    return [match[1] for match in map(LINE.fullmatch, lines) if match]


def report(lines: list[str]) -> list[str]:
    """The lines from START to END, both included; exactly one report."""
    assert lines.count(START) == 1 and lines.count(END) == 1, lines[-40:]
    return lines[lines.index(START):lines.index(END) + 1]


def assert_sections(lines: list[str], subcommand: str, memory_test: bool = True) -> None:
    """The sections of a whole report in Redis's order, with INFO's text, and the client that ran
    DEBUG `subcommand` as CLIENT LIST shows it, then its arguments."""
    positions = [lines.index(title) for title in SECTIONS]
    assert positions == sorted(positions)
    assert (MEMORY_TEST in lines) == memory_test
    assert "redis_version:7.0.15" in lines[positions[1]:positions[2]]
    current = lines[positions[3] + 1:positions[4]]
    assert re.fullmatch(r"id=\d+ addr=127\.0\.0\.1:\d+ laddr=\S+ fd=\d+ name= .* cmd=debug .*", current[0]), current
    assert current[1:3] == ["argv[0]: '\"debug\"'", f"argv[1]: '\"{subcommand}\"'"]


@pytest.mark.parametrize("options, memory_test", [({}, True), ({"crash_memcheck_enabled": "no"}, False)])
def test_debug_segfault(launcher, options, memory_test):
    status, lines = crash(launcher, ("debug", "segfault"), **options)
    assert status == -signal.SIGSEGV
    lines = report(lines)
    # DEBUG SEGFAULT writes to a page it may not write: SEGV_ACCERR.
    assert messages(lines)[0] == "Redis 7.0.15 crashed by signal: 11, si_code: 2"
    assert_sections(lines, "segfault", memory_test)


def test_debug_assert(launcher):
    status, lines = crash(launcher, ("debug", "assert"))
    assert status == -signal.SIGABRT  # abort()
    lines = report(lines)
    found = messages(lines)
    assert found[:10] == ["=== ASSERTION FAILED CLIENT CONTEXT ===", "client->flags = 0", found[2],
                          "client->argc = 2", 'client->argv[0] = "debug" (refcount: 1)',
                          'client->argv[1] = "assert" (refcount: 1)', "=== ASSERTION FAILED OBJECT CONTEXT ===",
                          "Object type: 0", "Object encoding: 8", "Object refcount: 1"]
    assert re.fullmatch(r"client->conn = fd=\d+", found[2])
    assert found[10] == "=== ASSERTION FAILED ==="
    assert re.fullmatch(r"==> \S+:\d+ '1 == 2' is not true", found[11]), found[11]
    assert not any("crashed by signal" in message for message in found)
    assert_sections(lines, "assert")


def test_debug_panic(launcher):
    before = int(time.time())
    status, lines = crash(launcher, ("debug", "panic"))
    assert status == -signal.SIGABRT
    lines = report(lines)
    found = messages(lines)
    assert found[:2] == ["------------------------------------------------",
                         "!!! Software Failure. Press left mouse button to continue"]
    match = re.fullmatch(r"Guru Meditation: DEBUG PANIC called at Unix time (\d+) #\S+:\d+", found[2])
    assert match and before <= int(match[1]) <= time.time(), found[2]
    assert_sections(lines, "panic")


def test_debug_oom(launcher):
    status, lines = crash(launcher, ("debug", "oom"))
    assert status == -signal.SIGABRT
    # Before the report: the allocation that failed (half the address space, asked for on purpose).
    assert messages(lines[:lines.index(START)])[-1] == "Out Of Memory allocating 9223372036854775807 bytes!"
    found = messages(report(lines))
    assert re.fullmatch(r"Guru Meditation: Redis aborting for OUT OF MEMORY\. Allocating 9223372036854775807 "
                        r"bytes! #\S+:\d+", found[2]), found[2]


@pytest.mark.parametrize("signum", [signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT])
def test_a_fatal_signal(launcher, signum):
    """Sent by kill(): the report says by whom; the server dies by that signal."""
    status, lines = crash(launcher, send=signum)
    assert status == -signum
    lines = report(lines)
    found = messages(lines)
    assert found[0] == f"Redis 7.0.15 crashed by signal: {int(signum)}, si_code: 0"  # SI_USER
    if signum in (signal.SIGSEGV, signal.SIGBUS):
        # kill() fills the fields a fault's address would: the address is the sender's pid and uid
        assert found[1] == f"Accessing address: {hex(os.getuid() << 32 | os.getpid())}"
    assert f"Killed by PID: {os.getpid()}, UID: {os.getuid()}" in found
    titles = [title for title in SECTIONS if title in lines]
    assert titles == [title for title in SECTIONS if title != "------ CURRENT CLIENT INFO ------"]
    assert "redis_version:7.0.15" in lines  # INFO


def test_without_crash_log_a_segfault_kills_without_a_report(launcher):
    status, lines = crash(launcher, ("debug", "segfault"), crash_log_enabled="no")
    assert status == -signal.SIGSEGV
    assert START not in lines and END not in lines
    assert not any("crashed by signal" in line for line in lines)


def test_without_crash_log_an_assertion_says_what_failed_and_no_more(launcher):
    status, lines = crash(launcher, ("debug", "assert"), crash_log_enabled="no")
    assert status == -signal.SIGABRT
    lines = report(lines)
    assert "=== ASSERTION FAILED ===" in messages(lines)
    assert not [line for line in lines if line.startswith("------ ") and line.endswith(" ------")]


def test_crash_log_turned_off_at_run_time(launcher):
    server = launcher.start(logfile="crash.log")
    client = server.client()
    assert client.call("CONFIG", "SET", "crash-log-enabled", "no") == "OK"
    os.kill(server.process.pid, signal.SIGSEGV)
    assert server.process.wait(DEADLINE) == -signal.SIGSEGV
    with open(os.path.join(server.dir, "crash.log")) as f:
        assert START not in f.read()


@pytest.mark.parametrize("command, status", [(("debug", "assert"), 1), (("debug", "panic"), 1),
                                             (("debug", "segfault"), -signal.SIGSEGV)])
def test_use_exit_on_panic(launcher, command, status):
    """An assertion or a panic exits 1 instead of aborting; a crash by a signal still dies by it."""
    ended, lines = crash(launcher, command, use_exit_on_panic="yes")
    assert ended == status
    report(lines)
