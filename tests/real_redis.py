"""A real redis-server for unit tests that judge the tools on files Redis itself wrote."""
import subprocess
import time

import redis


def start_redis(directory, port: int, *options: str) -> redis.Redis:
    """Start redis-server daemonized on `port` with its files in `directory` (no save points,
    DEBUG enabled, then `options`); a client once it answers. Stop it with SHUTDOWN."""
    subprocess.run(["redis-server", "--port", str(port), "--dir", str(directory), "--save", "",
                    "--daemonize", "yes", "--enable-debug-command", "yes", *options],
                   check=True, capture_output=True)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return client
        except redis.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")
