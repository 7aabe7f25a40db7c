"""Start-up as redis-server 7.0 does it, beyond the options' own values (test_startup.py,
test_config.py): the words of the command line becoming config lines, config files with
include, rename-command and the directives that are not options, reading the config from
stdin, the ways start-up ends early (-v, -h, a refused line, a log file that cannot be opened,
no address to listen on, a module that cannot be loaded) with redis-server's exact texts and
exit statuses, and daemonize and pidfile.

Every test starts servers of its own (most of them exit at once)."""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

import pytest

from conformance.client import Client, ErrorReply
from conformance.targets import free_port, run_until_exit, server_words
from conformance.waiting import wait_for

pytestmark = [pytest.mark.launches, pytest.mark.internals("redis-server's command line, config file and log")]

DEADLINE = 30.0  # seconds a launched server gets to be ready, or to be gone


def server_command(request) -> list[str]:
    return server_words(request.config.getoption("server"))


def run_server(request, *words: str, cwd=None) -> subprocess.CompletedProcess:
    """Start the server under test with these words and wait for it to give up."""
    return run_until_exit(server_command(request) + list(words), text=True, cwd=cwd)


def fatal(line_number: int | None, line: str | None, reason: str) -> str:
    """What redis-server writes to stderr for a refused config line (or, without a line, for
    what it refuses once every line is read)."""
    where = "" if line_number is None else \
        f"Reading the configuration file, at line {line_number}\n>>> '{line}'\n"
    return f"\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n{where}{reason}\n"


def logged(result: subprocess.CompletedProcess) -> list[str]:
    """The messages of the log lines written to stdout ("pid:X date level message")."""
    return [line.split(" ", 5)[5] for line in result.stdout.splitlines() if line.count(" ") >= 5]


def wait_for_ping(port: int, process: subprocess.Popen | None = None) -> Client:
    deadline = time.monotonic() + DEADLINE
    while True:
        assert process is None or process.poll() is None, "the server exited"
        with contextlib.suppress(OSError):
            client = Client("127.0.0.1", port, timeout=10.0)
            if client.call("PING") == "PONG":
                return client
            client.close()
        assert time.monotonic() < deadline, f"no server answered PING on port {port}"
        time.sleep(0.05)


@contextlib.contextmanager
def serving(request, words: list[str], tmp_path, stdin: bytes = b""):
    """A server started with exactly `words` (plus --port P first when "{port}" is absent), its
    stdin fed with `stdin`; yields a client. Shut down (or killed) afterwards."""
    port = free_port()
    words = [word.replace("{port}", str(port)) for word in words]
    log = open(tmp_path / "server.log", "ab")
    process = subprocess.Popen(server_command(request) + words, stdin=subprocess.PIPE, stdout=log,
                               stderr=subprocess.STDOUT, cwd=tmp_path, start_new_session=True)
    try:
        process.stdin.write(stdin)
        process.stdin.close()
        client = wait_for_ping(port, process)
        yield client
        client.close()
    finally:
        with contextlib.suppress(OSError), Client("127.0.0.1", port, timeout=5.0) as stopper:
            stopper.call("SHUTDOWN", "NOSAVE")
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# --- refused at start-up: a line of the combined config text ---------------------------------


@pytest.mark.parametrize("words, line_number, line, reason", [
    (["--replicaof", "127.0.0.1"], 2, 'replicaof "127.0.0.1"', "wrong number of arguments"),
    (["--replicaof", "127.0.0.1", "99999"], 2, 'replicaof "127.0.0.1" "99999"', "Invalid master port"),
    (["--replicaof", "127.0.0.1 x1"], 2, 'replicaof "127.0.0.1 x1"', "Invalid master port"),
    (["--unixsocketperm", "800"], 2, 'unixsocketperm "800"', "argument couldn't be parsed as an octal number"),
    (["--unixsocketperm", "1000"], 2, 'unixsocketperm "1000"', "argument must be between 0 and 777 inclusive"),
    # Each word is quoted as sdscatrepr does: escapes for quotes, backslashes and control bytes.
    (["--port", 'a\t"b\\\x01\n'], 2, 'port "a\\t\\"b\\\\\\x01\\n"', "argument couldn't be parsed into an integer"),
    # A name still waiting for its value takes the next word even if it starts with "--".
    (["--hz", "--save"], 2, 'hz "--save"', "argument couldn't be parsed into an integer"),
    # A --save with no value is `save ""`, a line of its own.
    (["--save", "--hz", "x"], 3, 'hz "x"', "argument couldn't be parsed into an integer"),
    (["--rename-command", "nosuch", "x"], 2, 'rename-command "nosuch" "x"', "No such command in rename-command"),
    (["--rename-command", "get", "set"], 2, 'rename-command "get" "set"', "Target command name already exists"),
    (["--rename-command", "get", "fetch", "--rename-command", "GET", "x"], 3, 'rename-command "GET" "x"',
     "No such command in rename-command"),
    (["--mymodule.option"], 2, "mymodule.option", "Module config specified without value"),
    (["--appendfilename", ""], 2, 'appendfilename ""', "appendfilename can't be empty"),
    (["--appenddirname", "a/b"], 2, 'appenddirname "a/b"', "appenddirname can't be a path, just a dirname"),
    (["--logfile", "/nonexistent/dir/redis.log"], None, None, "Can't open the log file: No such file or directory"),
    (["--cluster-enabled", "yes", "--replicaof", "127.0.0.1", "7000"], None, None,
     "replicaof directive not allowed in cluster mode"),
])
def test_refused_command_line(request, tmp_path, words, line_number, line, reason):
    result = run_server(request, *words, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, fatal(line_number, line, reason))


@pytest.mark.parametrize("text, line_number, line, reason", [
    ('port "7000\n', 1, 'port "7000', "Unbalanced quotes in configuration line"),
    ("hz 10\nsentinel myid abc\n", 2, "sentinel myid abc", "sentinel directive while not in sentinel mode"),
    ("mymodule.option\n", 1, "mymodule.option", "Module config specified without value"),
    ("user\n", 1, "user", "Bad directive or wrong number of arguments"),
    ("list-max-ziplist-entries 1 2\n", 1, "list-max-ziplist-entries 1 2",
     "Bad directive or wrong number of arguments"),
    ("notify-keyspace-events K E\n", 1, "notify-keyspace-events K E", "wrong number of arguments"),
    ("dir /tmp /tmp\n", 1, "dir /tmp /tmp", "wrong number of arguments"),
    ("rename-command flushall\n", 1, "rename-command flushall", "Bad directive or wrong number of arguments"),
])
def test_refused_config_file_line(request, tmp_path, text, line_number, line, reason):
    (tmp_path / "redis.conf").write_text(text)
    result = run_server(request, "redis.conf", cwd=tmp_path)
    assert (result.returncode, result.stderr) == (1, fatal(line_number, line, reason))


def test_an_include_that_cannot_be_opened(request, tmp_path):
    (tmp_path / "redis.conf").write_text("hz 10\ninclude missing.conf\n")
    result = run_server(request, "redis.conf", cwd=tmp_path)
    assert result.returncode == 1
    assert logged(result) == ["# Fatal error, can't open config file 'missing.conf': No such file or directory"]


@pytest.mark.parametrize("cwd, name", [("sub", "../missing.conf"), ("/", "..{tmp}/missing.conf")])
def test_a_relative_config_file_is_named_by_its_absolute_path(request, tmp_path, cwd, name):
    (tmp_path / "sub").mkdir()
    result = run_server(request, name.format(tmp=tmp_path), cwd=tmp_path / cwd)
    assert result.returncode == 1
    assert logged(result) == [
        f"# Fatal error, can't open config file '{tmp_path}/missing.conf': No such file or directory"]


# --- other early ends ------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["-v", "--version"])
def test_version(request, word):
    result = run_server(request, word)
    assert result.returncode == 0
    assert result.stdout.startswith("Redis server v=7.0.15 sha=")
    assert result.stdout.count("\n") == 1 and " bits=64 " in result.stdout


@pytest.mark.parametrize("word", ["-h", "--help"])
def test_help(request, word):
    result = run_server(request, word)
    assert result.returncode == 1
    assert result.stderr.startswith("Usage: ./redis-server [/path/to/redis.conf] [options] [-]\n"
                                    "       ./redis-server - (read config from stdin)\n")
    assert "       ./redis-server --port 7777 --replicaof 127.0.0.1 8888\n" in result.stderr
    assert result.stderr.endswith("Sentinel mode:\n       ./redis-server /etc/sentinel.conf --sentinel\n")


def test_test_memory_needs_an_amount(request):
    result = run_server(request, "--test-memory")
    assert (result.returncode, result.stderr) == (
        1, "Please specify the amount of memory to test in megabytes.\n"
           "Example: ./redis-server --test-memory 4096\n\n")


@pytest.mark.parametrize("words", [["--port", "0"], ["--bind", ""]])
def test_nowhere_to_listen(request, tmp_path, words):
    result = run_server(request, "--port", str(free_port()), "--dir", str(tmp_path), *words)
    assert result.returncode == 1
    assert "# Configured to not listen anywhere, exiting." in logged(result)


UNASSIGNABLE = "10.255.255.254"  # an address no interface of this machine has


def test_an_address_that_cannot_be_bound(request, tmp_path):
    port = free_port()
    result = run_server(request, "--port", str(port), "--dir", str(tmp_path), "--bind", f"127.0.0.1 {UNASSIGNABLE}")
    assert result.returncode == 1
    messages = logged(result)
    assert f"# Warning: Could not create server TCP listening socket {UNASSIGNABLE}:{port}: bind: " \
           "Cannot assign requested address" in messages
    assert f"# Failed listening on port {port} (TCP), aborting." in messages


def test_an_optional_address_that_cannot_be_bound_is_left_out(launcher):
    server = launcher.start(bind=["127.0.0.1", f"-{UNASSIGNABLE}"])
    client = server.client()
    assert client.call("CONFIG", "GET", "bind") == [b"bind", f"127.0.0.1 -{UNASSIGNABLE}".encode()]


def test_a_module_that_cannot_be_loaded(request, tmp_path):
    path = str(tmp_path / "nonexistent.so")
    result = run_server(request, "--port", str(free_port()), "--dir", str(tmp_path), "--loadmodule", path)
    assert result.returncode == 1
    messages = logged(result)
    assert f"# Module {path} failed to load: {path}: cannot open shared object file: No such file or " \
           "directory" in messages
    assert messages[-1] == f"# Can't load module from {path}: server aborting"


def test_a_file_that_is_not_a_module(request, tmp_path):
    (tmp_path / "text.so").write_text("not a module\n")
    path = str(tmp_path / "text.so")
    result = run_server(request, "--port", str(free_port()), "--dir", str(tmp_path), "--loadmodule", path, "arg")
    assert result.returncode == 1
    assert logged(result)[-1] == f"# Can't load module from {path}: server aborting"


def test_a_module_option_without_its_module(request, tmp_path):
    result = run_server(request, "--port", str(free_port()), "--dir", str(tmp_path), "--mymodule.option", "1")
    assert result.returncode == 1
    assert logged(result)[-1] == \
        "# Module Configuration detected without loadmodule directive or no ApplyConfig call: aborting"


# --- started: what the configuration made of the words --------------------------------------


def test_config_from_stdin_and_a_last_valueless_save(request, tmp_path):
    words = ["-", "--port", "{port}", "--dir", str(tmp_path), "--save", "10", "1", "--save"]
    with serving(request, words, tmp_path, stdin=b"maxmemory 3mb\nhz 22\nsave 100 1\n") as client:
        got = client.call("CONFIG", "GET", "maxmemory", "hz", "save")
        assert dict(zip(got[0::2], got[1::2])) == {b"maxmemory": b"3145728", b"hz": b"22", b"save": b""}


def test_config_file_directives_besides_options(request, launcher, tmp_path):
    """include with a glob (in name order; one matching nothing is no error), rename-command,
    user, a deprecated directive, a bare `sentinel`, empty values, a line starting with a NUL
    (it ends there: nothing)."""
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b.conf").write_text("maxclients 20\ntimeout 5\n")
    (tmp_path / "conf.d" / "a.conf").write_text("maxclients 10\nhz 33\n")
    config = tmp_path / "redis.conf"
    config.write_bytes(
        f"include {tmp_path}/conf.d/*.conf\n"
        f"include {tmp_path}/conf.d/none*.conf\n"
        "rename-command flushdb \"\"\n"
        "rename-command set put\n"
        "rename-command GET set\n"  # "set" is free again
        "user default on nopass ~* &* +@all\n"
        "list-max-ziplist-entries 512\n"
        "lua-replicate-commands yes\n"
        "sentinel\n"
        "replicaof no one\n"
        "latency-tracking-info-percentiles \"\"\n"
        "\0 a line that ends where it starts\n".encode())
    server = launcher.start(config_file=str(config))
    client = server.client()
    got = client.call("CONFIG", "GET", "maxclients", "timeout", "hz", "replicaof", "latency-tracking-info-percentiles")
    assert dict(zip(got[0::2], got[1::2])) == {b"maxclients": b"20", b"timeout": b"5", b"hz": b"33",
                                               b"replicaof": b"", b"latency-tracking-info-percentiles": b""}
    assert client.call("PUT", "k", "v") == "OK"
    assert client.call("set", "k") == b"v"
    assert client.call("PUT", "k") == ErrorReply("ERR wrong number of arguments for 'set' command")
    assert client.call("GET", "k") == ErrorReply("ERR unknown command 'GET', with args beginning with: 'k' ")
    assert client.call("FLUSHDB") == ErrorReply("ERR unknown command 'FLUSHDB', with args beginning with: ")
    assert client.call("COMMAND", "INFO", "flushdb", "get") == [None, None]
    assert client.call("COMMAND", "INFO", "put")[0][0] == b"set"
    assert client.call("DBSIZE") == 1


def test_cluster_mode_refuses_other_databases(launcher):
    server = launcher.start(cluster_enabled="yes")
    client = server.client()
    assert client.call("SELECT", "1") == ErrorReply("ERR SELECT is not allowed in cluster mode")
    assert client.call("SELECT", "0") == "OK"
    assert client.call("SWAPDB", "0", "1") == ErrorReply("ERR SWAPDB is not allowed in cluster mode")


def test_pidfile(launcher, tmp_path):
    pidfile = tmp_path / "server.pid"
    server = launcher.start(pidfile=str(pidfile))
    assert pidfile.read_text() == f"{server.process.pid}\n"
    server.stop()
    assert not pidfile.exists()


def test_daemonize(request, tmp_path):
    """The command returns at once (its output closed); the server goes on in the background,
    its pid in the pidfile, which it removes when it shuts down."""
    port, pidfile = free_port(), tmp_path / "daemon.pid"
    result = run_server(request, "--port", str(port), "--dir", str(tmp_path), "--save", "",
                        "--daemonize", "yes", "--pidfile", str(pidfile))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    pid = None
    try:
        client = wait_for_ping(port)
        wait_for(lambda: pidfile.exists() and pidfile.read_text().endswith("\n"), "no pidfile")
        pid = int(pidfile.read_text())
        assert pid != os.getpid()
        assert client.call("SET", "k", "v") == "OK"
        with pytest.raises(ConnectionError):
            client.call("SHUTDOWN", "NOSAVE")
        wait_for(lambda: not pidfile.exists(), "the pidfile outlived the server")
        pid = None
    finally:
        if pid is not None:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_logfile_and_loglevel(launcher):
    """A relative logfile is in dir; lines below loglevel are left out (DB saved on disk is a
    notice, Server initialized a warning)."""
    server = launcher.start(logfile="redis.log", loglevel="warning")
    c = server.client()
    log = os.path.join(server.dir, "redis.log")
    assert c.call("SAVE") == "OK"
    with open(log) as f:
        text = f.read()
    assert "# Server initialized" in text and "DB saved on disk" not in text
    assert c.call("CONFIG", "SET", "loglevel", "notice") == "OK"
    assert c.call("SAVE") == "OK"
    with open(log) as f:
        assert "* DB saved on disk" in f.read()
