"""Crash reports: what the server writes to its log before it dies of a bug or a fatal signal.

As redis-server 7.0 does it. DEBUG SEGFAULT, ASSERT, PANIC and OOM call `bug_report_and_die`;
a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) sent to the server is reported by a
thread that waits for them (`watch_fatal_signals`). The report, between its START and END
lines: what happened (`Redis 7.0.15 crashed by signal: N, si_code: C`, `=== ASSERTION FAILED
===`, the panic's `Guru Meditation`), and with `crash-log-enabled` the stack of every thread,
INFO, CLIENT LIST, the client that was running, the configuration Redis prints there, and with
`crash-memcheck-enabled` the memory test's section. Then the process dies by the signal (an
assertion or a panic by SIGABRT, or exits 1 with `use-exit-on-panic yes`). With
`crash-log-enabled no` a fatal signal kills at once, without a report, as in Redis, whose
handler is then not installed.

Where the reference has nothing to say (registers, the code around the instruction pointer, a
memory test), the section is left out or says so; the frames of the stack are Python's.
An exception that escapes a command's handler is not a crash (see Server.run_command).
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from typing import NoReturn

from reference import info
from reference.commands.connection import describe
from reference.config import REDIS_VERSION, repr_arg
from reference.keyspace import VALUE_TYPES
from reference import log

FATAL_SIGNALS = frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGFPE, signal.SIGILL, signal.SIGABRT})
SI_USER = 0     # si_code of a signal sent by kill()
SEGV_ACCERR = 2  # si_code of a write to a page that may not be written: what DEBUG SEGFAULT does

START = "\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n"
END = ("\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n"
       "       This server is the reference server of redspec, not Redis: please report the crash\n"
       "       to the project that gave it to you, with the report above.\n\n")

# The options whose values Redis's report prints ("CONFIG DEBUG OUTPUT"), as a config file
# says them; replica-read-only also under its old name, as Redis writes it there.
DEBUG_OPTIONS = ("io-threads-do-reads", "lazyfree-lazy-eviction", "lazyfree-lazy-expire",
                 "lazyfree-lazy-server-del", "lazyfree-lazy-user-del", "lazyfree-lazy-user-flush",
                 "repl-diskless-sync", "replica-read-only", "slave-read-only", "activedefrag",
                 "repl-diskless-load", "sanitize-dump-payload", "io-threads", "list-compress-depth",
                 "proto-max-bulk-len", "client-query-buffer-limit")
MEMORY_OPTIONS = frozenset({"proto-max-bulk-len", "client-query-buffer-limit"})

# Redis's numbers for a value's type and encoding (OBJ_* and OBJ_ENCODING_* of server.h).
TYPE_NUMBERS = {"string": 0, "list": 1, "set": 2, "zset": 3, "hash": 4, "stream": 6}
ENCODING_NUMBERS = {"raw": 0, "int": 1, "hashtable": 2, "linkedlist": 4, "ziplist": 5, "intset": 6,
                    "skiplist": 7, "embstr": 8, "quicklist": 9, "stream": 10, "listpack": 11}
EMBSTR_LIMIT = 44  # a string argument up to this long is an embstr object

_report_started = False


def bug_report_and_die(server, *, signal_number: int, client=None, assertion: str | None = None,
                       panic: str | None = None) -> NoReturn:
    """Report a failure found by the server itself, then die.

    assertion: the condition that does not hold (DEBUG ASSERT: "1 == 2"); the report says
    where it was checked, and with a client, the client's context and its first argument's.
    panic: why the server gives up (DEBUG PANIC, OOM). Neither: the server crashed by
    signal_number (DEBUG SEGFAULT). An assertion or a panic dies by signal_number (SIGABRT for
    Redis's abort()) or exits 1 with use-exit-on-panic; a crash always dies by its signal."""
    where = _caller()
    try:
        if assertion is None and panic is None:
            if server.config["crash-log-enabled"]:  # else Redis has no handler to write a report
                _report_signal(server, signal_number, SEGV_ACCERR if signal_number == signal.SIGSEGV else 0,
                               client, sys._getframe(1))
        else:
            _report_failure(server, client, assertion, panic, where)
    finally:
        _die(server, signal_number, panicked=assertion is not None or panic is not None)


def watch_fatal_signals(server) -> None:
    """From now on the fatal signals sent to this process are reported, then kill it.

    They are blocked in every thread, and one thread waits for them: it learns who sent one
    (a signal handler in Python does not), and reports it even while the main thread is busy.
    A fault of the process itself cannot be blocked: the kernel then kills at once. Call
    before any other thread starts (threads inherit the blocked set); a child that the server
    forks lets them through again, and dies of them without a report."""
    signal.pthread_sigmask(signal.SIG_BLOCK, FATAL_SIGNALS)
    os.register_at_fork(after_in_child=_let_fatal_signals_through)
    threading.Thread(target=_wait_for_fatal_signal, args=(server,), name="fatal-signals", daemon=True).start()


def _let_fatal_signals_through() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, FATAL_SIGNALS)


def _wait_for_fatal_signal(server) -> None:
    received = signal.sigwaitinfo(FATAL_SIGNALS)
    try:
        if server.config["crash-log-enabled"]:
            main = sys._current_frames().get(threading.main_thread().ident)
            _report_signal(server, received.si_signo, received.si_code, server.current_client, main,
                           sender=(received.si_pid, received.si_uid))
    finally:
        _die(server, received.si_signo, panicked=False)


# --- the report ----------------------------------------------------------------------------------

def _start() -> None:
    global _report_started
    if not _report_started:
        _report_started = True
        log.raw(START)


def _report_signal(server, signal_number: int, si_code: int, client, frame, sender=None) -> None:
    _start()
    log.warning(f"Redis {REDIS_VERSION} crashed by signal: {signal_number}, si_code: {si_code}")
    if sender is not None:
        pid, uid = sender
        if signal_number in (signal.SIGSEGV, signal.SIGBUS):
            # (kill() fills the fields that a fault's address would: the address is them)
            address = uid << 32 | pid
            log.warning(f"Accessing address: {hex(address) if address else '(nil)'}")
        if si_code == SI_USER:
            log.warning(f"Killed by PID: {pid}, UID: {uid}")
    _stack_trace(frame, eip=True)
    _crash_report(server, client)
    log.raw(END)


def _report_failure(server, client, assertion: str | None, panic: str | None, where: str) -> None:
    _start()
    if assertion is not None:
        if client is not None:
            _client_context(client)
        log.warning("=== ASSERTION FAILED ===")
        log.warning(f"==> {where} '{assertion}' is not true")
    else:
        log.warning("------------------------------------------------")
        log.warning("!!! Software Failure. Press left mouse button to continue")
        log.warning(f"Guru Meditation: {panic} #{where}")
    if server.config["crash-log-enabled"]:
        _stack_trace(sys._getframe(2), eip=False)
        _crash_report(server, client)
    log.raw(END)


def _client_context(client) -> None:
    """What Redis's assertion with a client prints of it, and of its first argument."""
    log.warning("=== ASSERTION FAILED CLIENT CONTEXT ===")
    log.warning(f"client->flags = {8 if client.transaction is not None else 0}")  # CLIENT_MULTI
    log.warning(f"client->conn = fd={client.fd}")
    log.warning(f"client->argc = {len(client.argv)}")
    for number, arg in enumerate(client.argv):
        log.warning(f'client->argv[{number}] = "{_text(arg)}" (refcount: 1)')
    if client.argv:
        log.warning("=== ASSERTION FAILED OBJECT CONTEXT ===")
        _object_lines("string", "embstr" if len(client.argv[0]) <= EMBSTR_LIMIT else "raw")


def _stack_trace(frame, *, eip: bool) -> None:
    """The crashing thread's frames, innermost first (after `EIP:` the one it was running),
    then every other thread's but this report's own."""
    text = "\n------ STACK TRACE ------\n"
    if frame is not None and eip:
        text += "EIP:\n" + _frames(frame, limit=1)
    text += "\nBacktrace:\n" + (_frames(frame) if frame is not None else "")
    crashing = threading.main_thread().ident if eip else threading.get_ident()
    names = {thread.ident: thread for thread in threading.enumerate()}
    for ident, other in sys._current_frames().items():
        if ident not in (crashing, threading.get_ident()):
            thread = names.get(ident)
            name = f"{thread.native_id} {thread.name}" if thread is not None else str(ident)
            text += f"\n{name}\n" + _frames(other)
    log.raw(text)


def _frames(frame, limit: int | None = None) -> str:
    summary = list(reversed(traceback.extract_stack(frame)))[:limit]
    return "".join(f"{_where(entry.filename, entry.lineno)}({entry.name})\n" for entry in summary)


def _crash_report(server, client) -> None:
    """INFO and CLIENT LIST, the current client, modules, configuration, the memory test."""
    client = client if client is not None else server.current_client
    log.raw("\n------ INFO OUTPUT ------\n")
    log.raw(_safely(lambda: info.info_text(server, [b"all"])))
    log.raw("\n------ CLIENT LIST OUTPUT ------\n")
    log.raw(_safely(lambda: "".join(describe(other) + "\n" for other in list(server.clients.values()))))
    if client is not None:
        log.raw("\n------ CURRENT CLIENT INFO ------\n")
        log.raw(_safely(lambda: describe(client) + "\n"))
        for number, arg in enumerate(client.argv):
            log.raw(f"argv[{number}]: '{_text(repr_arg(arg[:128]))}'\n")
        if len(client.argv) > 1:
            value = client.db.data.get(client.argv[1])
            if value is not None:
                log.warning(f"key '{_text(client.argv[1])}' found in DB containing the following object:")
                kind = VALUE_TYPES[type(value)]
                _object_lines(kind.name, kind.encoding(value, server.config))
    log.raw("\n------ MODULES INFO OUTPUT ------\n")
    log.raw("\n------ CONFIG DEBUG OUTPUT ------\n")
    log.raw(_safely(lambda: _debug_options(server.config)))
    if server.config["crash-memcheck-enabled"]:
        log.raw("\n------ FAST MEMORY TEST ------\n")
        log.raw("The reference server runs in Python: it has no memory test to run.\n")


def _object_lines(type_name: str, encoding: str) -> None:
    log.warning(f"Object type: {TYPE_NUMBERS.get(type_name, type_name)}")
    log.warning(f"Object encoding: {ENCODING_NUMBERS.get(encoding, encoding)}")
    log.warning("Object refcount: 1")


def _debug_options(config) -> str:
    lines = []
    for name in DEBUG_OPTIONS:
        value = config.get([name]).get(name)
        if value is not None:
            if name in MEMORY_OPTIONS:
                value = _memory(int(value))
            lines.append(f"{name} {value}\n")
    return "".join(lines)


def _memory(n: int) -> str:
    """A number of bytes as CONFIG REWRITE writes it: in the largest unit that divides it."""
    for unit, size in (("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10)):
        if n and n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


def _safely(make) -> str:
    """A section of the report; one that fails says why, and the report goes on."""
    try:
        return make()
    except Exception as error:  # the server is broken already: say so rather than stop here
        return f"(this section failed: {error!r})\n"


# --- dying ---------------------------------------------------------------------------------------

def _die(server, signal_number: int, *, panicked: bool) -> NoReturn:
    config = server.config
    if config["daemonize"] and config["pidfile"]:
        try:
            os.unlink(config["pidfile"])
        except OSError:
            pass
    sys.stdout.flush()
    if panicked and config["use-exit-on-panic"]:
        os._exit(1)
    die_by(signal_number)


def die_by(signal_number: int) -> NoReturn:
    """End the process by this signal's default action, as an uncaught one would."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal_number, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal_number})
    signal.pthread_kill(threading.get_ident(), signal_number)
    os._exit(128 + signal_number)  # (not reached: the signal's default action ends the process)


# --- helpers -------------------------------------------------------------------------------------

def _caller() -> str:
    """file:line of the code that called bug_report_and_die, as Redis names a C source's."""
    frame = sys._getframe(2)
    return f"{os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"


def _where(filename: str, line: int) -> str:
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = os.path.relpath(filename, package_root) if filename.startswith(package_root) else filename
    return f"{path}:{line}"


def _text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")
