"""`python -m reference [config-file] [--name value ...]`: redis-server's command line."""
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
        if os.fork():
            return 0
        os.setsid()
    if config["pidfile"]:
        with open(config["pidfile"], "w") as f:
            f.write(f"{os.getpid()}\n")
    server = Server(config)
    try:
        return server.serve_forever()
    finally:
        if config["pidfile"]:
            try:
                os.unlink(config["pidfile"])
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
