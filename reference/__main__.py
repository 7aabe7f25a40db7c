"""`python -m reference [config-file] [--name value ...]`: redis-server's command line."""
import os
import sys

from reference.config import Config, ConfigError


def main(argv: list[str]) -> int:
    try:
        config = Config.from_argv(argv)
    except ConfigError as error:
        sys.stderr.write(str(error))
        sys.stderr.flush()
        return error.exit_code
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
