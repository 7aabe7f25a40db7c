"""`python -m reference [config-file] [--name value ...]`: redis-server's command line."""
import contextlib
import os
import sys
import time

from reference.config import Config, StartupExit


def main(argv: list[str]) -> int:
    try:
        config = Config.from_argv(argv)
    except StartupExit as stop:
        if stop.logged:  # as Redis logs it, to stdout: "pid:C date # message"
            now = time.time()
            stamp = time.strftime("%d %b %Y %H:%M:%S", time.localtime(now)) + f".{int(now * 1000) % 1000:03d}"
            text = f"{os.getpid()}:C {stamp} # {stop.text}\n"
        else:
            text = stop.text
        stream = sys.stdout if stop.logged or stop.stream == "stdout" else sys.stderr
        stream.write(text)
        stream.flush()
        return stop.status
    from reference.server import Server  # after the config: a bad option should fail fast
    os.chdir(config["dir"])  # as redis-server: relative paths (dbfilename, logfile) are in dir
    if config["daemonize"]:
        daemonize()
    server = Server(config)
    if config.modules or config.module_configs:
        return refuse_modules(server)
    if config["pidfile"]:
        with open(config["pidfile"], "w") as f:
            f.write(f"{os.getpid()}\n")
    try:
        return server.serve_forever()
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


def refuse_modules(server) -> int:
    """The reference has no module system: a `loadmodule` ends the start-up as a module Redis
    fails to load does, and so does a module's option with no module to take it."""
    config = server.config
    if config.modules:
        path = config.modules[0][0]
        reason = (f"{path}: cannot open shared object file: No such file or directory"  # dlerror()
                  if not os.path.exists(path) else "the reference server has no module system")
        server.log(f"Module {path} failed to load: {reason}", "warning")
        server.log(f"Can't load module from {path}: server aborting", "warning")
    else:
        server.log("Module Configuration detected without loadmodule directive or no ApplyConfig "
                   "call: aborting", "warning")
    return 1


sys.exit(main(sys.argv[1:]))  # (this module only ever runs as `python -m reference`)
