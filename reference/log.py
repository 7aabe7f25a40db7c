"""The server's log, as redis-server 7.0 writes it. Every part of the server logs through here:
`log.notice(message)`, `log.warning(...)`, `log.verbose(...)`, `log.debug(...)`, or
`log.write(message, level)`.

A line is `pid:role day month year time.ms mark message`: the role is M for the server
(S when it is a replica), C for any other process (the child of a save or a rewrite, and the
server itself before its start-up reaches the point where Redis records its pid); the mark
says the level: `.` debug, `-` verbose, `*` notice, `#` warning. Lines below `loglevel` are
left out. They go to `logfile` (opened, appended to and closed for each line, so that a file
moved away is created anew), or to standard output when it is empty; with `syslog-enabled`
the message goes to syslog too, under `syslog-ident` and `syslog-facility`.

Before the configuration is read (`configure`), lines go to standard output at the notice level.
"""
from __future__ import annotations

import contextlib
import os
import sys
import syslog
import threading
import time

from reference.config import REDIS_VERSION

LEVELS = ("debug", "verbose", "notice", "warning")
MARKS = {"debug": ".", "verbose": "-", "notice": "*", "warning": "#"}
SYSLOG_PRIORITIES = {"debug": syslog.LOG_DEBUG, "verbose": syslog.LOG_INFO,
                     "notice": syslog.LOG_NOTICE, "warning": syslog.LOG_WARNING}
MESSAGE_LIMIT = 1023  # bytes: Redis formats a message into 1024 bytes (LOG_MAX_LEN), its NUL included

_config = None      # the server's Config, once read
_server_pid = None  # the process whose lines are the server's (M or S); others' are C
_sink = None        # diverted(): a function (message, level) taking the lines instead
_lock = threading.RLock()  # lines whole, also when the crash report's thread writes


def configure(config) -> None:
    """From now on the log follows this configuration (CONFIG SET loglevel included)."""
    global _config
    _config = config
    if config["syslog-enabled"]:
        facility = getattr(syslog, "LOG_" + config["syslog-facility"].upper())
        syslog.openlog(config["syslog-ident"], syslog.LOG_PID | syslog.LOG_NDELAY | syslog.LOG_NOWAIT, facility)


def serving() -> None:
    """This process is the server from now on: its lines say M (or S), its children's C."""
    global _server_pid
    _server_pid = os.getpid()


def enabled(level: str) -> bool:
    wanted = _config["loglevel"] if _config is not None else "notice"
    return LEVELS.index(level) >= LEVELS.index(wanted)


def write(message: str, level: str = "notice") -> None:
    """One line of the log, if `loglevel` lets it through. Bytes of keys and file names that
    are not UTF-8 travel in the message as surrogate escapes and are written as they were."""
    if not enabled(level):
        return
    if _sink is not None:
        _sink(message, level)
        return
    text = message.encode("utf-8", "surrogateescape")[:MESSAGE_LIMIT]
    now = time.time()
    stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
    _write(b"%d:%s %s %s %s\n" % (os.getpid(), _role().encode(), stamp.encode(), MARKS[level].encode(), text))
    _to_syslog(level, text)


def debug(message: str) -> None:
    write(message, "debug")


def verbose(message: str) -> None:
    write(message, "verbose")


def notice(message: str) -> None:
    write(message, "notice")


def warning(message: str) -> None:
    write(message, "warning")


def raw(text: str, level: str = "warning") -> None:
    """Text written as it is, without the line's prefix (the logo, the crash report)."""
    if not enabled(level):
        return
    if _sink is not None:
        _sink(text, level)
        return
    data = text.encode("utf-8", "surrogateescape")
    _write(data)
    _to_syslog(level, data)


def from_signal_handler(message: str, level: str = "warning") -> None:
    """A line written where Redis writes from a signal handler (SIGTERM, SIGINT): it says
    `pid:signal-handler (unix time) message`, without a level, and never goes to syslog
    (nor anywhere when the server runs as a daemon without a log file)."""
    if not enabled(level) or (_logs_to_stdout() and _config is not None and _config["daemonize"]):
        return
    _write(f"{os.getpid()}:signal-handler ({int(time.time())}) {message}\n".encode("utf-8", "surrogateescape"))


@contextlib.contextmanager
def diverted(sink):
    """Within: every line goes to sink(message, level) instead (the tools replay files with
    the server's code and report its warnings their own way)."""
    global _sink
    before, _sink = _sink, sink
    try:
        yield
    finally:
        _sink = before


def _role() -> str:
    if os.getpid() != _server_pid:
        return "C"
    return "S" if _config is not None and _config["replicaof"] else "M"


def _logs_to_stdout() -> bool:
    return _config is None or not _config["logfile"]


def _write(data: bytes) -> None:
    """As Redis: a log that cannot be written to loses the line, and the server goes on."""
    with _lock, contextlib.suppress(OSError, ValueError):
        if _logs_to_stdout():
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        else:
            with open(_config["logfile"], "ab") as f:
                f.write(data)


def _to_syslog(level: str, text: bytes) -> None:
    if _config is not None and _config["syslog-enabled"]:
        syslog.syslog(SYSLOG_PRIORITIES[level], text.decode("utf-8", "surrogateescape"))


# --- start-up ------------------------------------------------------------------------------------

LOGO = r"""                _._                                                  
           _.-``__ ''-._                                             
      _.-``    `.  `_.  ''-._           Redis {version} (00000000/0) 64 bit
  .-`` .-```.  ```\/    _.,_ ''-._                                  
 (    '      ,       .-`  | `,    )     Running in {mode} mode
 |`-._`-...-` __...-.``-._|'` _.-'|     Port: {port}
 |    `-._   `._    /     _.-'    |     PID: {pid}
  `-._    `-._  `-./  _.-'    _.-'                                   
 |`-._`-._    `-.__.-'    _.-'_.-'|                                  
 |    `-._`-._        _.-'_.-'    |           https://redis.io       
  `-._    `-._`-.__.-'_.-'    _.-'                                   
 |`-._`-._    `-.__.-'    _.-'_.-'|                                  
 |    `-._`-._        _.-'_.-'    |                                  
  `-._    `-._`-.__.-'_.-'    _.-'                                   
      `-._    `-.__.-'    _.-'                                       
          `-._        _.-'                                           
              `-.__.-'                                               

"""


def starting(argv: list[str]) -> None:
    """The first lines of every start, once the configuration is read (role C: the server's pid
    is not recorded yet)."""
    warning("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo")
    warning(f"Redis version={REDIS_VERSION}, bits=64, commit=00000000, modified=0, pid={os.getpid()}, "
            "just started")
    if argv:
        warning("Configuration loaded")
    else:  # (Redis names itself by its argv[0]; the reference by the name it is known by)
        warning("Warning: no config file specified, using the default config. In order to specify a "
                "config file use redis-server /path/to/redis.conf")


def running_mode(port: int) -> None:
    """The logo, when `always-show-logo` is set or the log is a terminal's standard output (and
    not syslog's); else a line that says the mode and the port."""
    mode = "cluster" if _config["cluster-enabled"] else "standalone"
    show_logo = _config["always-show-logo"] or (
        not _config["syslog-enabled"] and _logs_to_stdout() and sys.stdout.isatty())
    if show_logo:
        raw(LOGO.format(version=REDIS_VERSION, mode=mode, port=port, pid=os.getpid()), "notice")
    else:
        notice(f"Running mode={mode}, port={port}.")
