"""`python -m reference [config-file] [--name value ...]`: redis-server's command line.

The start-up in Redis's order: the configuration, then daemonize, the first log lines, the
listeners, the logo, the modules, the data, `Ready to accept connections`."""
import contextlib
import os
import signal
import sys
import traceback

from reference import log
from reference.config import Config, StartupExit


def main(argv: list[str]) -> int:
    try:
        config = Config.from_argv(argv)
    except StartupExit as stop:
        if stop.logged:  # as Redis logs it (no log file yet): to stdout, "pid:C date # message"
            log.warning(stop.text)
        else:
            stream = sys.stdout if stop.stream == "stdout" else sys.stderr
            stream.write(stop.text)
            stream.flush()
        return stop.status
    from reference import crash  # after the config: a bad option should fail fast
    from reference.server import Server
    os.chdir(config["dir"])  # as redis-server: relative paths (dbfilename, logfile) are in dir
    if config["daemonize"]:
        daemonize()
    log.configure(config)
    log.starting(argv)
    server = Server(config)
    crash.watch_fatal_signals(server)
    server.start_up()
    if config.modules or config.module_configs:
        return refuse_modules(config)
    if config["pidfile"]:
        with open(config["pidfile"], "w") as f:
            f.write(f"{os.getpid()}\n")
    try:
        return server.serve_forever()
    except Exception as error:  # a bug outside any command: the server cannot go on; a panic
        log.warning(f"Unexpected error in the server:\n{traceback.format_exc()}")
        crash.bug_report_and_die(server, signal_number=signal.SIGABRT,
                                 panic=f"{type(error).__name__} in the reference server: {error}")
    finally:
        if config["pidfile"]:
            with contextlib.suppress(OSError):
                os.unlink(config["pidfile"])


def daemonize() -> None:
    """As redis-server: the parent exits at once; the child leads a session of its own, its
    standard input and output (its log without a logfile) going to /dev/null."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    sys.exit(0) if os.fork() else os.setsid()  # the parent exits; the child goes on alone


def refuse_modules(config) -> int:
    """The reference has no module system: a `loadmodule` ends the start-up as a module Redis
    fails to load does, and so does a module's option with no module to take it."""
    if config.modules:
        path = config.modules[0][0]
        reason = (f"{path}: cannot open shared object file: No such file or directory"  # dlerror()
                  if not os.path.exists(path) else "the reference server has no module system")
        log.warning(f"Module {path} failed to load: {reason}")
        log.warning(f"Can't load module from {path}: server aborting")
    else:
        log.warning("Module Configuration detected without loadmodule directive or no ApplyConfig "
                    "call: aborting")
    return 1


sys.exit(main(sys.argv[1:]))  # (this module only ever runs as `python -m reference`)
