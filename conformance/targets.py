"""The servers the suite judges: one already running, or ones it launches.

A launched server is started from a command template the same way whether it
is a real redis-server or the reference (they take the same command line):

    CMD --port {port} --dir {dir} [--name value ...]

CMD is split like a shell would split it, e.g. "redis-server",
".venv/bin/python -m reference" or "coverage run -p -m reference".

The options are the launcher's defaults (DEFAULT_OPTIONS: no snapshots, DEBUG enabled) with
those a test asks for on top; a test's option wins, and an option given None is left out. A
server that lacks a default option (Redis 6.2 has no enable-debug-command) is launched with
other defaults: ServerLauncher(CMD, default_options=parse_options("--save ''")).

No launched server outlives the run: stop() and kill() end it, an atexit hook
kills any still running when Python exits (also after Ctrl-C), and on Linux
each server is asked to receive SIGKILL should the process that launched it die.
"""

from __future__ import annotations

import atexit
import os
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from conformance.client import Client, ErrorReply

READY_TIMEOUT = 20.0  # seconds a launched server gets to answer PING
LOG_NAME = "server.log"  # the server's stdout and stderr, inside its dir
# The options every launched server gets unless the launcher is given others (or a test
# overrides one): no snapshots, which tests ask for when they want them, and DEBUG allowed.
DEFAULT_OPTIONS = "--save '' --enable-debug-command yes"

# Ports are picked below the kernel's ephemeral range (32768-60999 on Linux),
# so no outgoing connection is using them, with room for the cluster bus port
# (port + 10000) below that range too.
PORT_RANGE = (10000, 22000)
CLUSTER_BUS_OFFSET = 10000


@dataclass(frozen=True)
class Target:
    """Where a server listens."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> "Target":
        """Parse "HOST:PORT"."""
        host, sep, port = text.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(f"expected HOST:PORT, got {text!r}")
        return cls(host, int(port))

    def client(self, timeout: float | None = None) -> Client:
        """A new connection; timeout None means the suite's reply timeout."""
        return Client(self.host, self.port, timeout)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class ServerLaunchError(RuntimeError):
    """A launched server died or did not answer PING in time."""


def option_args(options: dict) -> list[str]:
    """{"enable_debug_command": "yes"} -> ["--enable-debug-command", "yes"].

    True/False become yes/no; a list or tuple value gives several words; None leaves the
    option out (e.g. save=None: no --save at all, so the config file's save lines stand).
    """
    args = []
    for name, value in options.items():
        if value is None:
            continue
        args.append("--" + name.replace("_", "-"))
        values = value if isinstance(value, (list, tuple)) else [value]
        for item in values:
            if isinstance(item, bool):
                item = "yes" if item else "no"
            args.append(str(item))
    return args


def parse_options(text: str) -> dict:
    """Command-line options as words -> {name: value}, the inverse of option_args.

    "--save '' --enable-debug-command yes" -> {"save": "", "enable_debug_command": "yes"};
    an option followed by several words gets them as a list ("--save 900 1" -> ["900", "1"]).
    """
    options: dict = {}
    name = None
    for word in shlex.split(text):
        if word.startswith("--") and len(word) > 2:
            name = word[2:].replace("-", "_")
            options[name] = []
        elif name is None:
            raise ValueError(f"expected --name before {word!r} in {text!r}")
        else:
            options[name].append(word)
    for name, values in options.items():
        if not values:
            raise ValueError(f"--{name.replace('_', '-')} has no value in {text!r}")
        options[name] = values[0] if len(values) == 1 else values
    return options


def server_words(command: str) -> list[str]:
    """The server command split as a shell would, its program's path made absolute: tests run
    some servers in a directory of their own, where ".venv/bin/redis-server" must still name
    the same file."""
    words = shlex.split(command)
    if not words:
        raise ValueError("the server command is empty")
    if os.sep in words[0]:
        words[0] = os.path.abspath(words[0])
    return words


def run_until_exit(words: list[str], *, timeout: float = 60.0, **options) -> subprocess.CompletedProcess:
    """Run a server that should exit by itself (a refused start, a file it cannot load): its
    output captured, no input. One still running after timeout seconds is killed, and the test
    fails saying so rather than with an exception from subprocess."""
    try:
        return subprocess.run(words, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL, **options)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"{shlex.join(words)} was still running after {timeout:.0f}s; "
                             "Redis 7.0 exits here") from None


def is_port_free(port: int) -> bool:
    """No socket listens on port (connections in TIME_WAIT do not count, as for a server)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port that is free now, and whose cluster bus port is free too. Drawn from the OS's
    randomness: Hypothesis re-seeds `random` for every example, so two runs at once would
    otherwise draw the same ports."""
    chooser = random.SystemRandom()
    for _ in range(1000):
        port = chooser.randrange(*PORT_RANGE)
        if is_port_free(port) and is_port_free(port + CLUSTER_BUS_OFFSET):
            return port
    raise ServerLaunchError(f"no free port found in {PORT_RANGE}")


class ServerLauncher:
    """Starts servers from one command template; remembers them to stop them all."""

    def __init__(self, command: str, default_options: dict | None = None):
        self.command = server_words(command)
        self.default_options = parse_options(DEFAULT_OPTIONS) if default_options is None else default_options
        self.servers: list[RunningServer] = []
        self._temp_dirs: list[str] = []

    def start(
        self, *, port: int | None = None, dir: str | None = None, config_file: str | None = None, **options
    ) -> "RunningServer":
        """Start one server and wait until it answers PING.

        options become --name value words, on top of the launcher's default options
        (DEFAULT_OPTIONS unless it was given others). Without port,
        a free one is picked; without dir, a fresh temporary one is made.
        A config_file comes first on the command line, as redis-server wants.
        """
        if dir is None:
            dir = tempfile.mkdtemp(prefix="redspec-server-")
            self._temp_dirs.append(dir)
        options = {**self.default_options, **options}
        attempts = 1 if port is not None else 3
        for attempt in range(attempts):
            command = [*self.command, config_file] if config_file else self.command
            server = RunningServer(command, port or free_port(), os.path.abspath(dir), options)
            self.servers.append(server)
            try:
                server.launch()
                return server
            except ServerLaunchError as error:
                # Another process may have taken our picked port meanwhile.
                if attempt + 1 == attempts or "in use" not in str(error).lower():
                    raise
        raise AssertionError("unreachable")

    def stop_all(self) -> None:
        """Stop every server this launcher started and remove the temporary dirs it made."""
        for server in reversed(self.servers):
            server.stop()
        self.servers.clear()
        for dir in self._temp_dirs:
            shutil.rmtree(dir, ignore_errors=True)
        self._temp_dirs.clear()


class RunningServer:
    """One launched server process: its address, its dir, its options."""

    def __init__(self, command: list[str], port: int, dir: str, options: dict):
        self.command = command
        self.port = port
        self.dir = dir
        self.options = dict(options)
        self.target = Target("127.0.0.1", port)
        self.log_path = os.path.join(dir, LOG_NAME)
        self.process: subprocess.Popen | None = None

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"RunningServer({self.target}, {state}, dir={self.dir})"

    @property
    def argv(self) -> list[str]:
        return [*self.command, "--port", str(self.port), "--dir", self.dir, *option_args(self.options)]

    def client(self, timeout: float | None = None) -> Client:
        return self.target.client(timeout)

    def is_running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def launch(self) -> None:
        """Start the process and wait until it answers PING (raises ServerLaunchError)."""
        assert not self.is_running(), "the server is already running"
        # Else the PING below (and a later SHUTDOWN) could reach another server.
        if not is_port_free(self.port):
            raise ServerLaunchError(f"port {self.port} is already in use by another process")
        with open(self.log_path, "ab") as log:
            log.write(f"--- redspec launch: {shlex.join(self.argv)}\n".encode())
            log.flush()
            try:
                self.process = subprocess.Popen(
                    self.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl-C reaches the test run, which then stops us
                    preexec_fn=_die_with_parent,
                )
            except OSError as error:
                raise ServerLaunchError(f"cannot run {shlex.join(self.argv)}: {error}") from None
        _live_servers.add(self)
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            status = self.process.poll()
            if status is not None:
                refused = refused_configuration(self.log_tail())
                why = f": it refused {refused}" if refused else ""
                raise ServerLaunchError(self._describe(f"exited with status {status} before answering PING{why}"))
            if self._answers_ping():
                return
            if time.monotonic() > deadline:
                self.kill()
                raise ServerLaunchError(self._describe(f"did not answer PING within {READY_TIMEOUT}s"))
            time.sleep(0.05)

    def _answers_ping(self) -> bool:
        try:
            with Client(self.target.host, self.port, timeout=1.0) as client:
                reply = client.call("PING")
        except OSError:
            return False
        # Any answer but LOADING means it serves requests (NOAUTH counts: it is up).
        return not (isinstance(reply, ErrorReply) and reply.code == "LOADING")

    def _describe(self, what: str) -> str:
        return (
            f"server on port {self.port} {what}\n"
            f"command: {shlex.join(self.argv)}\n"
            f"--- last lines of {self.log_path} ---\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as log:
                text = log.read().decode("utf-8", "replace")
        except OSError as error:
            return f"(no log: {error})"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """SHUTDOWN NOSAVE over the wire; if refused or ignored SIGTERM; at last SIGKILL."""
        if self.is_running():
            if not (self._shutdown_over_the_wire() and _wait(self.process, 10.0)):
                self.process.terminate()
                if not _wait(self.process, 5.0):
                    self.kill()
        _live_servers.discard(self)

    def _shutdown_over_the_wire(self) -> bool:
        """True if the server closed the connection after SHUTDOWN NOSAVE."""
        try:
            with Client(self.target.host, self.port, timeout=5.0) as client:
                client.call("SHUTDOWN", "NOSAVE")  # a reply at all means it refused
            return False
        except ConnectionError:
            return True
        except OSError:  # refused connection, timeout
            return False

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
        _live_servers.discard(self)

    def restart(self) -> None:
        """Stop (if running) and start again: same port, same dir, same options."""
        self.stop()
        self.launch()


def refused_configuration(log: str) -> str | None:
    """What a server's log says it refused at start-up, as Redis words it, e.g.
    ''''enable-debug-command "yes"' (Bad directive or wrong number of arguments)'''; else None."""
    lines = log.splitlines()
    for number, line in enumerate(lines):
        if line.startswith(">>> "):
            reason = next((later.strip() for later in lines[number + 1 :] if later.strip()), "")
            return f"{line[4:]} ({reason})" if reason else line[4:]
    return None


def _wait(process: subprocess.Popen, timeout: float) -> bool:
    try:
        process.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGKILL it when the launcher dies."""
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


_live_servers: set[RunningServer] = set()


@atexit.register
def _kill_live_servers() -> None:
    for server in list(_live_servers):
        server.kill()
