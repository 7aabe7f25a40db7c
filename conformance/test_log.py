"""The log as redis-server 7.0 writes it: the line format, the start-up banner and its order,
the logo (its `Port:` and `PID:` lines, which test harnesses read) with `always-show-logo` or
on a terminal, `loglevel`, `logfile` against standard output, the lines of loading, the last
line of each way a load fails before the server exits, and a port in use.

Harnesses wait for these lines and operators grep them, so they are judged word for word. Every
test starts servers of its own and reads their log, polling it with generous deadlines."""
from __future__ import annotations

import os
import pty
import re
import select
import signal
import socket
import subprocess
import time
from dataclasses import dataclass

import pytest

from conformance import rdb_bytes as B
from conformance import targets
from conformance.targets import free_port, server_words

pytestmark = [pytest.mark.launches, pytest.mark.internals("the server's log lines")]

DEADLINE = 60.0  # seconds for a server to start, write a line, or exit (a busy machine)

# pid:role day month year hh:mm:ss.mmm mark message
LINE = re.compile(r"(\d+):([CMSX]) \d\d (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
                  r"\d\d:\d\d:\d\d\.\d{3} ([.*#-]) (.*)")


@dataclass(frozen=True)
class Line:
    pid: int
    role: str  # M the server, C before it records its pid (and its children), S a replica
    mark: str  # . debug, - verbose, * notice, # warning
    message: str


def lines_of(text: str) -> list[Line]:
    """The log lines of a text, in order; anything else in it (the logo, a crash report) left out."""
    found = []
    for raw in text.splitlines():
        match = LINE.fullmatch(raw)
        if match:
            found.append(Line(int(match[1]), match[2], match[3], match[4]))
    return found


def messages(text: str) -> list[str]:
    return [line.message for line in lines_of(text)]


def read(path) -> str:
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return ""


def wait_for(path, text: str) -> str:
    """The file's content once it holds `text`."""
    deadline = time.monotonic() + DEADLINE
    while text not in (content := read(path)):
        assert time.monotonic() < deadline, f"{text!r} not in {path} after {DEADLINE}s:\n{content[-2000:]}"
        time.sleep(0.05)
    return content


def read_until(fd: int, text: bytes) -> bytes:
    """What the process writes to fd (a pipe or a terminal) up to `text`, or until it exits."""
    output = b""
    deadline = time.monotonic() + DEADLINE
    while text not in output:
        assert time.monotonic() < deadline, f"{text!r} not written after {DEADLINE}s: {output[-2000:]!r}"
        if select.select([fd], [], [], 0.5)[0]:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # a terminal whose other side closed: the process is gone
                chunk = b""
            if not chunk:
                break
            output += chunk
    return output


def server_command(request) -> list[str]:
    return server_words(request.config.getoption("server"))


def run_until_exit(request, tmp_path, *words: str) -> subprocess.CompletedProcess:
    """Run the server in tmp_path (no snapshots) until it exits by itself; its stdout is its log."""
    command = server_command(request) + ["--port", str(free_port()), "--dir", str(tmp_path), "--save", "", *words]
    return targets.run_until_exit(command, timeout=DEADLINE)


def in_order(found: list[str], wanted: list[str]) -> bool:
    """Every wanted message is in found, in this order (others may come between)."""
    position = 0
    for message in wanted:
        try:
            position = found.index(message, position) + 1
        except ValueError:
            return False
    return True


# --- the banner ----------------------------------------------------------------------------------


def test_start_up_lines_and_their_order(launcher):
    server = launcher.start()
    pid, port = server.process.pid, server.port
    found = lines_of(wait_for(server.log_path, "Ready to accept connections"))
    by_message = {line.message: line for line in found}
    version = next(line.message for line in found if line.message.startswith("Redis version="))
    assert re.fullmatch(rf"Redis version=7\.0\.15, bits=64, commit=[0-9a-f]{{8}}, modified=0, pid={pid}, "
                        r"just started", version)
    banner = ["oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo", version, "Configuration loaded",
              f"Running mode=standalone, port={port}.", "Server initialized", "Ready to accept connections"]
    assert in_order([line.message for line in found], banner), [line.message for line in found]
    # Before the server records its pid its lines say C; then M. Each line's level is Redis's.
    assert [(by_message[message].role, by_message[message].mark) for message in banner] == [
        ("C", "#"), ("C", "#"), ("C", "#"), ("M", "*"), ("M", "#"), ("M", "*")]
    assert {line.pid for line in found} == {pid}


def test_no_arguments_means_no_config_file(request, tmp_path):
    """Started with no argument at all, the server says it uses the default configuration. It
    then wants port 6379, which the test holds (unless another process does already), so that
    the server gives up there and exits rather than serving on a port nobody chose."""
    holder = socket.socket()
    try:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("0.0.0.0", 6379))
        holder.listen()
    except OSError:
        holder.close()  # taken already: the server fails to listen all the same
    try:
        result = targets.run_until_exit(server_command(request), timeout=DEADLINE, cwd=tmp_path)
    finally:
        holder.close()
    found = messages(result.stdout.decode(errors="replace") + "\n")
    assert any(re.fullmatch(r"Warning: no config file specified, using the default config\. In order to specify "
                            r"a config file use \S*redis-server /path/to/redis\.conf", message)
               for message in found), found
    assert "Configuration loaded" not in found
    assert found[-1] == "Failed listening on port 6379 (TCP), aborting.", found
    assert result.returncode == 1


LOGO_TOP = "                _._                                                  "
LOGO_BOTTOM = "              `-.__.-'                                               "


def assert_logo(text: str, port: int, pid: int) -> None:
    """The logo's lines that say something, where they are (harnesses find the PID and the port
    by them); written as it is, not as log lines; in place of the mode line, before "Server
    initialized"."""
    lines = text.replace("\r\n", "\n").split("\n")  # (a terminal turns newlines into CR LF)
    top = lines.index(LOGO_TOP)
    assert re.fullmatch(r"      _\.-``    `\.  `_\.  ''-\._           Redis 7\.0\.15 \([0-9a-f]{8}/\d\) 64 bit",
                        lines[top + 2]), lines[top + 2]
    assert lines[top + 4:top + 7] == [" (    '      ,       .-`  | `,    )     Running in standalone mode",
                                      f" |`-._`-...-` __...-.``-._|'` _.-'|     Port: {port}",
                                      f" |    `-._   `._    /     _.-'    |     PID: {pid}"]
    assert lines[top + 16:top + 18] == [LOGO_BOTTOM, ""]
    assert f"Running mode=standalone, port={port}." not in text
    assert text.index("Configuration loaded") < text.index(LOGO_TOP) < text.index("Server initialized")


def test_always_show_logo(launcher):
    server = launcher.start(always_show_logo="yes")
    text = wait_for(server.log_path, "Ready to accept connections")
    assert_logo(text, server.port, server.process.pid)


def test_the_logo_on_a_terminal(request, tmp_path):
    """Without always-show-logo, the logo shows when the log is standard output and that is a
    terminal; the harness reads it from the terminal as a user would see it."""
    port = free_port()
    leader, follower = pty.openpty()
    command = server_command(request) + ["--port", str(port), "--dir", str(tmp_path), "--save", ""]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=follower, stderr=follower,
                               start_new_session=True)
    os.close(follower)
    try:
        output = read_until(leader, b"Ready to accept connections")
        assert_logo(output.decode(), port, process.pid)
    finally:
        process.terminate()
        read_until(leader, b"bye bye")  # drained, so that it is never stuck writing
        process.wait(DEADLINE)
        os.close(leader)


# --- levels and destinations ---------------------------------------------------------------------


def test_loglevel_warning_leaves_out_notices(launcher):
    server = launcher.start(loglevel="warning")
    server.client().call("PING")  # answered: started
    text = wait_for(server.log_path, "Server initialized")
    found = lines_of(text)
    assert found and {line.mark for line in found} == {"#"}
    assert "Ready to accept connections" not in text and "Running mode=" not in text


def test_loglevel_verbose_logs_connections_and_can_be_set_at_run_time(launcher):
    server = launcher.start(logfile="redis.log")
    log = os.path.join(server.dir, "redis.log")
    with server.client() as first:
        first.call("PING")
    wait_for(log, "Ready to accept connections")
    with server.client() as setter:
        assert setter.call("CONFIG", "SET", "loglevel", "verbose") == "OK"
    with socket.create_connection(("127.0.0.1", server.port)) as plain:
        local_port = plain.getsockname()[1]
        plain.sendall(b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n")
        assert plain.recv(100) == b"+OK\r\n"
    text = wait_for(log, f"Accepted 127.0.0.1:{local_port}")
    closed = wait_for(log, f"addr=127.0.0.1:{local_port} ")
    line = next(line for line in lines_of(closed) if f"addr=127.0.0.1:{local_port} " in line.message)
    assert line.mark == "-"
    assert re.fullmatch(rf"Client closed connection id=\d+ addr=127\.0\.0\.1:{local_port} laddr=127\.0\.0\.1:"
                        rf"{server.port} fd=\d+ name= .* db=3 .* cmd=select .*", line.message), line.message
    accepted = [line for line in lines_of(text) if line.message.startswith("Accepted ")]
    assert all(line.mark == "-" for line in accepted)
    assert len(accepted) == 1  # the connections before CONFIG SET were not logged


def test_loglevel_debug_logs_the_clients_and_memory(launcher):
    server = launcher.start(logfile="redis.log", loglevel="debug")
    text = wait_for(os.path.join(server.dir, "redis.log"), " clients connected (")
    line = next(line for line in lines_of(text) if " clients connected (" in line.message)
    assert line.mark == "."
    assert re.fullmatch(r"\d+ clients connected \(0 replicas\), \d+ bytes in use", line.message)


def test_a_logfile_takes_every_line(launcher):
    """With logfile, nothing goes to standard output; the file (relative to dir) gets the lines
    from the first on, and lines are appended to what it held."""
    server = launcher.start(logfile="redis.log")
    log = os.path.join(server.dir, "redis.log")
    text = wait_for(log, "Ready to accept connections")
    assert messages(text)[0] == "oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo"
    assert messages(read(server.log_path)) == []  # its standard output
    server.restart()
    deadline = time.monotonic() + DEADLINE
    while messages(read(log)).count("Ready to accept connections") < 2:
        assert time.monotonic() < deadline, read(log)[-2000:]
        time.sleep(0.05)
    assert messages(read(log)).count("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo") == 2


def test_sigterm_is_logged_from_the_signal_handler(launcher):
    server = launcher.start(logfile="redis.log")
    log = os.path.join(server.dir, "redis.log")
    wait_for(log, "Ready to accept connections")
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(DEADLINE)
    text = read(log)
    # A line written from a signal handler has its own shape: no role, no date, no level.
    assert re.search(rf"^{server.process.pid}:signal-handler \(\d+\) Received SIGTERM scheduling shutdown\.\.\.$",
                     text, re.MULTILINE), text[-2000:]
    assert messages(text)[-2:] == ["User requested shutdown...", "Redis is now ready to exit, bye bye..."]


def test_a_tcp_backlog_the_kernel_caps(launcher):
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            somaxconn = int(f.read())
    except OSError:
        pytest.skip("no /proc/sys/net/core/somaxconn on this machine: nothing caps the backlog")
    server = launcher.start(tcp_backlog=str(somaxconn + 1))
    text = wait_for(server.log_path, "Ready to accept connections")
    warning = (f"WARNING: The TCP backlog setting of {somaxconn + 1} cannot be enforced because "
               f"/proc/sys/net/core/somaxconn is set to the lower value of {somaxconn}.")
    assert in_order(messages(text), [f"Running mode=standalone, port={server.port}.", warning, "Server initialized"])


# --- loading -------------------------------------------------------------------------------------


def test_the_lines_of_loading_a_dump_file(launcher):
    server = launcher.start()
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("SAVE") == "OK"
    server.restart()  # (it answers PING: it has loaded)
    found = messages(read(server.log_path).rsplit("--- redspec launch", 1)[1])
    loaded = [message for message in found if message.startswith("DB loaded from disk: ")]
    assert len(loaded) == 1 and re.fullmatch(r"DB loaded from disk: \d+\.\d{3} seconds", loaded[0])
    assert in_order(found, ["Server initialized", "Loading RDB produced by version 7.0.15",
                            "Done loading RDB, keys loaded: 1, keys expired: 0.", loaded[0],
                            "Ready to accept connections"]), found


def test_the_lines_of_loading_an_append_only_file(launcher):
    server = launcher.start(appendonly="yes")
    c = server.client()
    assert c.call("SET", "k", "v") == "OK"
    server.restart()
    assert server.client().call("GET", "k") == b"v"
    found = messages(read(server.log_path).rsplit("--- redspec launch", 1)[1])
    loaded = [message for message in found if message.startswith("DB loaded from append only file: ")]
    assert len(loaded) == 1 and re.fullmatch(r"DB loaded from append only file: \d+\.\d{3} seconds", loaded[0])
    assert in_order(found, ["Server initialized", "Reading RDB base file on AOF loading...",
                            "Done loading RDB, keys loaded: 0, keys expired: 0.", loaded[0],
                            "Ready to accept connections"]), found


def resp(*commands: tuple) -> bytes:
    out = b""
    for argv in commands:
        out += b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(arg), arg) for arg in argv)
    return out


INCR = "appendonly.aof.1.incr.aof"
ONE_KEY = B.rdb_file(bytes([B.SELECTDB]) + B.length(0) + B.key(B.STRING, b"k", B.string(b"v")))
CUT_SHORT = (f"Unexpected end of file reading the append only file {INCR}. You can: 1) Make a backup of your "
             "AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set "
             "the 'aof-load-truncated' configuration option to yes and restart the server.")
# Redis names the C source line that found the damage: any name:line is accepted.
INTERNAL = r"Internal error in RDB reading offset 0, function at \S+:\d+ -> "


@pytest.mark.parametrize("case, files, words, last", [
    ("rdb-signature", {"dump.rdb": b"XEDIS" + ONE_KEY[5:]}, [],
     "Fatal error loading the DB: Invalid argument. Exiting."),
    ("rdb-version", {"dump.rdb": b"REDIS0011" + ONE_KEY[9:]}, [],
     "Fatal error loading the DB: Invalid argument. Exiting."),
    ("rdb-checksum", {"dump.rdb": ONE_KEY[:-1] + bytes([ONE_KEY[-1] ^ 1])}, [],
     re.compile(INTERNAL + "RDB CRC error")),
    ("rdb-cut-short", {"dump.rdb": ONE_KEY[:-3]}, [], re.compile(INTERNAL + "Unexpected EOF reading RDB file")),
    ("aof-bad-format", {INCR: resp((b"SET", b"k", b"v")) + b"hello\r\n"}, [],
     f"Bad file format reading the append only file {INCR}: make a backup of your AOF file, then use "
     "./redis-check-aof --fix <filename.manifest>"),
    ("aof-cut-short", {INCR: resp((b"SET", b"k", b"v")) + b"*2\r\n$3\r\nGET\r\n"}, ["--aof-load-truncated", "no"],
     CUT_SHORT),
    ("aof-open-multi", {INCR: resp((b"SET", b"k", b"v"), (b"MULTI",), (b"SET", b"a", b"b"))},
     ["--aof-load-truncated", "no"], CUT_SHORT),
    ("aof-unknown-command", {INCR: resp((b"SET", b"k", b"v"), (b"NOSUCH", b"x"))}, [],
     f"Unknown command 'NOSUCH' reading the append only file {INCR}"),
    ("aof-file-missing", {}, [],
     f"Unable to obtain the AOF file {INCR} length. stat: No such file or directory"),
    ("aof-manifest-unreadable", {"manifest": b"file a seq abc type i\n"}, [], "Invalid AOF manifest file format"),
])
def test_the_last_line_of_a_failed_load(request, tmp_path, case, files, words, last):
    """Each way a load fails is logged, its reason the last line, and the server exits 1."""
    if case.startswith("aof"):
        (tmp_path / "appendonlydir").mkdir()
        manifest = files.pop("manifest", f"file {INCR} seq 1 type i\n".encode())
        (tmp_path / "appendonlydir" / "appendonly.aof.manifest").write_bytes(manifest)
        words = ["--appendonly", "yes", *words]
    for name, data in files.items():
        (tmp_path / ("appendonlydir" if case.startswith("aof") else "") / name).write_bytes(data)
    result = run_until_exit(request, tmp_path, *words)
    found = messages(result.stdout.decode("utf-8", "replace"))
    assert result.returncode == 1, found[-5:]
    if isinstance(last, re.Pattern):
        assert last.fullmatch(found[-1]), found[-5:]
    else:
        assert found[-1] == last, found[-5:]
    assert "Server initialized" in found and "Ready to accept connections" not in found


def test_a_port_in_use(request, tmp_path):
    """The line harnesses look for to try another port, after the reason, and exit status 1."""
    with socket.socket() as blocker:
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("0.0.0.0", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        command = server_command(request) + ["--port", str(port), "--dir", str(tmp_path), "--save", ""]
        result = subprocess.run(command, capture_output=True, timeout=DEADLINE, stdin=subprocess.DEVNULL)
    found = messages(result.stdout.decode())
    assert result.returncode == 1
    assert found[-2:] == [f"Warning: Could not create server TCP listening socket *:{port}: bind: Address already in use",
                          f"Failed listening on port {port} (TCP), aborting."]
    assert "Server initialized" not in found  # it ends before the logo


# --- children and shutdown -----------------------------------------------------------------------


def wait_for_exit(server) -> None:
    assert server.process.wait(DEADLINE) == 0


def test_shutdown_while_a_background_save_runs(launcher, tmp_path):
    """The lines of a SHUTDOWN SAVE, in Redis's order: the child is stopped without waiting for
    it (so nothing says how it ended), the final save, the pid file and the socket file
    removed. The child logs its SIGUSR1 from its signal handler."""
    socket_path = tmp_path / "redis.sock"
    server = launcher.start(logfile="redis.log", pidfile=str(tmp_path / "redis.pid"), unixsocket=str(socket_path))
    log = os.path.join(server.dir, "redis.log")
    c = server.client()
    assert c.call("DEBUG", "POPULATE", "20") == "OK"
    assert c.call("CONFIG", "SET", "rdb-key-save-delay", "1000000") == "OK"  # a second a key
    assert c.call("BGSAVE") == "Background saving started"
    started = next(message for message in messages(wait_for(log, "Background saving started by pid "))
                   if message.startswith("Background saving started by pid "))
    child = int(started.rsplit(" ", 1)[1])
    # A child stopped before it set its signal handlers dies without a word (in Redis too): its
    # temporary file is made after them.
    temporary = os.path.join(server.dir, f"temp-{child}.rdb")
    deadline = time.monotonic() + DEADLINE
    while not os.path.exists(temporary):
        assert time.monotonic() < deadline, f"no {temporary} after {DEADLINE}s"
        time.sleep(0.02)
    assert c.call("CONFIG", "SET", "rdb-key-save-delay", "0") == "OK"  # (the final save is quick)
    with pytest.raises(ConnectionError):
        c.call("SHUTDOWN", "SAVE")
    wait_for_exit(server)
    text = wait_for(log, "Received SIGUSR1 in child")
    assert re.search(rf"^{child}:signal-handler \(\d+\) Received SIGUSR1 in child, exiting now\.$", text, re.MULTILINE)
    found = [line.message for line in lines_of(text) if line.pid == server.process.pid]
    shutdown = found[found.index("User requested shutdown..."):]
    assert shutdown == ["User requested shutdown...", "There is a child saving an .rdb. Killing it!",
                        "Saving the final RDB snapshot before exiting.", "DB saved on disk", "Removing the pid file.",
                        "Removing the unix socket file.", "Redis is now ready to exit, bye bye..."], shutdown
    assert not any(message.startswith("Background saving terminated") for message in found)
    assert not os.path.exists(tmp_path / "redis.pid") and not os.path.exists(socket_path)


COW = r"Fork CoW for {}: current (\d+) MB, peak (\d+) MB, average (\d+) MB"


def cow_lines(found: list[Line], child: int, what: str) -> list[Line]:
    lines = [line for line in found if line.pid == child and re.fullmatch(COW.format(what), line.message)]
    for line in lines:
        current, peak, average = map(int, re.fullmatch(COW.format(what), line.message).groups())
        assert current <= peak and average <= peak, line
    return lines


def test_a_child_reports_its_copy_on_write(launcher):
    """A child saving keys logs the memory it stopped sharing with the server: at verbose when
    it starts writing keys, at notice once its file is complete (a BGSAVE, an AOF rewrite)."""
    server = launcher.start(logfile="redis.log", loglevel="verbose")
    log = os.path.join(server.dir, "redis.log")
    c = server.client()
    assert c.call("DEBUG", "POPULATE", "100") == "OK"
    assert c.call("BGSAVE") == "Background saving started"
    found = lines_of(wait_for(log, "Background saving terminated with success"))
    child = int(next(line.message for line in found if line.message.startswith("Background saving started by pid "))
                .rsplit(" ", 1)[1])
    by_child = [line for line in found if line.pid == child]
    assert [(line.role, line.mark) for line in cow_lines(found, child, "RDB")] == [("C", "-"), ("C", "*")]
    messages_of_child = [line.message for line in by_child]
    assert re.fullmatch(COW.format("RDB"), messages_of_child[-1])
    assert messages_of_child[-2] == "DB saved on disk"
    assert re.fullmatch(COW.format("RDB"), messages_of_child[0])

    assert c.call("BGREWRITEAOF") == "Background append only file rewriting started"
    found = lines_of(wait_for(log, "Background AOF rewrite finished successfully"))
    child = int(next(line.message for line in found
                     if line.message.startswith("Background append only file rewriting started by pid "))
                .rsplit(" ", 1)[1])
    messages_of_child = [line.message for line in found if line.pid == child]
    assert re.fullmatch(COW.format("AOF rewrite"), messages_of_child[0])
    assert messages_of_child[-2] == f"Successfully created the temporary AOF base file temp-rewriteaof-bg-{child}.aof"
    assert re.fullmatch(COW.format("AOF rewrite"), messages_of_child[-1])
    assert [line.mark for line in cow_lines(found, child, "AOF rewrite")] == ["-", "*"]


def log_until_ready(request, tmp_path, *words: str) -> str:
    """What a server started in tmp_path logs to standard output until it is ready; then it stops."""
    command = server_command(request) + ["--port", str(free_port()), "--dir", str(tmp_path), "--save", "", *words]
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        return read_until(process.stdout.fileno(), b"Ready to accept connections").decode("utf-8", "replace")
    finally:
        process.terminate()
        process.communicate(timeout=DEADLINE)


def test_the_aof_manifest_is_read_at_every_start(request, tmp_path):
    """Also with appendonly no: at debug, a missing directory or manifest is said, after the
    machine's checks and before loading; a manifest that cannot be parsed ends the start."""
    found = lines_of(log_until_ready(request, tmp_path, "--loglevel", "debug"))
    line = next(line for line in found if "doesn't exist" in line.message)
    assert (line.mark, line.message) == (".", "The AOF directory appendonlydir doesn't exist")
    assert in_order([line.message for line in found], ["Server initialized", line.message,
                                                       "Ready to accept connections"])
    (tmp_path / "appendonlydir").mkdir()
    found = messages(log_until_ready(request, tmp_path, "--loglevel", "debug"))
    assert "The AOF manifest file appendonly.aof.manifest doesn't exist" in found
    assert "The AOF directory appendonlydir doesn't exist" not in found

    (tmp_path / "appendonlydir" / "appendonly.aof.manifest").write_bytes(b"file a seq abc type i\n")
    result = run_until_exit(request, tmp_path)
    assert result.returncode == 1
    assert messages(result.stdout.decode())[-1] == "Invalid AOF manifest file format"
