"""pytest plugin: which server to judge, fixtures to talk to it, a summary per family.

Options (one of --target / --server is required):
  --target HOST:PORT      judge a server that is already running (its data is FLUSHALLed!)
  --server "CMD"          launch servers from CMD (see conformance.targets); one session-wide
                          server for ordinary tests, and fresh ones for tests marked
                          @pytest.mark.launches
  --server-options "..."  the options every launched server gets unless a test sets them
                          (default: --save '' --enable-debug-command yes); e.g. "--save ''"
                          for Redis 6.2, which has no enable-debug-command
  --reply-timeout SECONDS how long any client of the suite waits for a reply (default 10)
  --compat-report DIR     write the compatibility report (conformance.report) into DIR
Given both --target and --server, ordinary tests judge --target and launching tests use --server.

Tests marked `launches` (or asking for the `launcher` fixture, which marks them so) start
their own servers; without --server they are deselected at collection, and the summary says
so. After the run a table counts outcomes per spec family, the family being the module's
name: test_<family>.py.

Never hangs: a reply that does not come within --reply-timeout fails that test, naming the
command (conformance.client.ReplyTimeout), and closes that connection. After such a test the
server is sent PING: a launched session server that does not answer is killed and started
again (a restart the summary lists); a --target that does not answer cannot be restarted, so
every later test that needs it fails at once, saying so.

A test that fails after the target answered one of its DEBUG commands with "unknown command"
is reported as skipped, with that reason: DEBUG is an internal of Redis that another server
need not have, so its absence is no failure of the test's behaviour.

Markers:
  launches           the test starts its own servers (needs --server)
  internals(what)    the test depends on Redis internals rather than on what commands do:
                     DEBUG, OBJECT ENCODING and encoding thresholds, INFO fields and CONFIG
                     internals, RDB/AOF file formats. `-m "not internals"` runs the
                     observable semantics alone.
  since(version)     the Redis version the judged behaviour comes from, when it is newer
                     than the commands the test sends (for the compatibility report)

Loaded by conformance/conftest.py and models/conftest.py with
pytest_plugins = ["conformance.plugin"]; importing it also registers the
Hypothesis profiles (see register_hypothesis_profiles).
"""

from __future__ import annotations

import collections
import os
import signal
import time

import pytest

from conformance import client as client_module
from conformance import report as compat
from conformance.client import Client, ErrorReply
from conformance.report import family_of
from conformance.targets import (DEFAULT_OPTIONS, RunningServer, ServerLauncher, ServerLaunchError, Target,
                                 parse_options)

DEFAULT_REPLY_TIMEOUT = 10.0
LAUNCHES_REASON = "starts its own servers (@pytest.mark.launches), which needs --server CMD"


def register_hypothesis_profiles() -> None:
    """Profiles `ci` (the default) and `thorough`, chosen by $HYPOTHESIS_PROFILE.

    No deadline in either: no test fails for being slow. `ci` tries the same examples on every
    run, and lets their generation be slow too: a loaded machine gets the same verdict."""
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    settings.register_profile("ci", derandomize=True, max_examples=40, deadline=None, print_blob=True,
                              suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("thorough", max_examples=2000, deadline=None)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


# At import, so that Hypothesis' own --hypothesis-profile (applied later, when
# pytest configures its plugin) still wins over the environment variable.
register_hypothesis_profiles()


# -- options ----------------------------------------------------------------


def pytest_addoption(parser):
    group = parser.getgroup("redspec", "redspec: the server under test")
    group.addoption(
        "--target",
        metavar="HOST:PORT",
        help="judge the server already running at HOST:PORT (the suite FLUSHALLs it;"
        " start it with --enable-debug-command yes for the DEBUG tests)",
    )
    group.addoption(
        "--server",
        metavar="CMD",
        help='launch servers as: CMD --port N --dir D [options], e.g. "redis-server"'
        ' or ".venv/bin/python -m reference"',
    )
    group.addoption(
        "--peer-server",
        metavar="CMD",
        help="launch the other servers of a replication test (masters, replicas) as CMD"
        " (default: the --server command), e.g. redis-server to judge the reference with real"
        " Redis on the other end",
    )
    group.addoption(
        "--server-options",
        metavar="OPTIONS",
        default=DEFAULT_OPTIONS,
        help="options every launched server gets unless a test sets them"
        ' (default: "%(default)s"); e.g. "--save \'\'" for a server without enable-debug-command',
    )
    group.addoption(
        "--reply-timeout",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_REPLY_TIMEOUT,
        help="fail a test whose command gets no reply within SECONDS (default: %(default)s);"
        " keep it above 5, the longest a test blocks on purpose",
    )
    group.addoption(
        "--compat-report",
        metavar="DIR",
        help="write the compatibility report (compatibility.json and .html) into DIR",
    )


WATCH = pytest.StashKey["ServerWatch"]()
TIMED_OUT = pytest.StashKey[bool]()
SERVER_OPTIONS = pytest.StashKey[dict]()


def pytest_configure(config):
    config.addinivalue_line("markers", f"launches: the test {LAUNCHES_REASON}")
    config.addinivalue_line(
        "markers",
        "internals(what): the test depends on Redis internals (DEBUG, encodings, INFO/CONFIG"
        ' internals, file formats); -m "not internals" leaves the observable semantics alone',
    )
    config.addinivalue_line(
        "markers", "since(version): the Redis version the judged behaviour comes from (compatibility report)"
    )
    target = config.getoption("target")
    server = config.getoption("server")
    if target:
        try:
            Target.parse(target)
        except ValueError as error:
            raise pytest.UsageError(f"--target: {error}") from None
    try:
        config.stash[SERVER_OPTIONS] = parse_options(config.getoption("server_options"))
    except ValueError as error:
        raise pytest.UsageError(f"--server-options: {error}") from None
    timeout = config.getoption("reply_timeout")
    if not timeout > 0:
        raise pytest.UsageError(f"--reply-timeout must be a positive number of seconds, not {timeout}")
    client_module.DEFAULT_REPLY_TIMEOUT = timeout
    if not (target or server or config.getoption("help") or config.getoption("collectonly")):
        raise pytest.UsageError(
            "say which server to judge: --target HOST:PORT (one already running)"
            ' or --server "CMD" (launch servers, e.g. --server redis-server)'
        )
    config.stash[WATCH] = ServerWatch()
    config.pluginmanager.register(FamilySummary(), "redspec-family-summary")
    directory = config.getoption("compat_report")
    if directory:
        what = f"--target {target}" if target else f"--server {server}"
        config.pluginmanager.register(ReportRecorder(directory, what, config.stash[WATCH]), "redspec-report")


def pytest_report_header(config):
    target = config.getoption("target")
    server = config.getoption("server")
    lines = []
    if target:
        lines.append(f"redspec target: {target}")
    if server:
        lines.append(f"redspec server command: {server} (options: {config.getoption('server_options')})")
    lines.append(f"redspec reply timeout: {config.getoption('reply_timeout'):g}s")
    return lines


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker, so that -m "not launches" sees ours
def pytest_generate_tests(metafunc):
    """`sides`: which launcher starts the master. With a peer server of another kind, both
    ways; with the same kind the two are one."""
    if "sides" in metafunc.fixturenames:
        config = metafunc.config
        peer = config.getoption("peer_server")
        mixed = peer is not None and peer != config.getoption("server")
        metafunc.parametrize("sides", ["master-under-test", "replica-under-test"] if mixed else ["same"])


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "launcher" in getattr(item, "fixturenames", ()) and item.get_closest_marker("launches") is None:
            item.add_marker("launches")
    if config.getoption("server"):
        return
    launching = [item for item in items if item.get_closest_marker("launches")]
    if launching:
        items[:] = [item for item in items if not item.get_closest_marker("launches")]
        config.hook.pytest_deselected(items=launching)
        summary = config.pluginmanager.get_plugin("redspec-family-summary")
        summary.launching_deselected.extend(item.nodeid for item in launching)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Remember that a test (or its fixtures) timed out waiting for a reply; a test that failed
    because the target has no DEBUG command is skipped, saying so."""
    report = yield
    if call.excinfo is not None and _is_timeout(call.excinfo.value):
        item.stash[TIMED_OUT] = True
    missing = _debug_absence.refusal
    if report.failed and missing is not None and call.when != "teardown":
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0,
                           f"Skipped: this test needs DEBUG, and the target has none: {missing}")
    return report


class DebugAbsence:
    """Listens to every reply while a test runs: notes a DEBUG command that the target answered
    with "unknown command" (Redis always has DEBUG; it refuses it only when not enabled, with
    another error, which tests do judge)."""

    def __init__(self):
        self.refusal: str | None = None

    def __call__(self, answered: str, reply) -> None:
        if (isinstance(reply, ErrorReply) and answered.upper().startswith("'DEBUG")
                and reply.startswith("ERR unknown command")):
            self.refusal = f"{answered} -> {reply}"


_debug_absence = DebugAbsence()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    _debug_absence.refusal = None
    if _debug_absence not in client_module.reply_observers:
        client_module.reply_observers.append(_debug_absence)


def _is_timeout(error: BaseException | None) -> bool:
    """A timeout, or an error caused by one (redis-py wraps socket timeouts in its own
    TimeoutError, which is no builtin TimeoutError)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, TimeoutError) or type(error).__name__ == "TimeoutError":
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


# -- fixtures ---------------------------------------------------------------


def _launcher(config, command: str) -> ServerLauncher:
    return ServerLauncher(command, default_options=config.stash[SERVER_OPTIONS])


@pytest.fixture(scope="session")
def session_server(request):
    """The session-wide server launched from --server, or None when judging --target."""
    if request.config.getoption("target"):
        yield None
        return
    launcher = _launcher(request.config, request.config.getoption("server"))
    try:
        try:
            server = launcher.start()
        except ServerLaunchError as error:
            # Every test would fail the same way: say it once and stop.
            pytest.exit(
                f"could not launch the server for this session: {error}\n"
                "(if it refused an option the suite passes by default, choose them with --server-options)",
                returncode=pytest.ExitCode.TESTS_FAILED,
            )
        yield server
    finally:
        launcher.stop_all()


@pytest.fixture(scope="session")
def target(request, session_server: RunningServer | None) -> Target:
    """Where the server for ordinary tests listens."""
    if session_server is None:
        where = Target.parse(request.config.getoption("target"))
    else:
        where = session_server.target
    recorder = request.config.pluginmanager.get_plugin("redspec-report")
    if recorder is not None and not recorder.run.server_version:
        recorder.run.server_version = server_version(where)
    return where


@pytest.fixture(scope="session")
def server_options(request) -> dict:
    """--server-options as a dict: the defaults of every server launched from --server (for a
    test that makes its own ServerLauncher(CMD, default_options=server_options))."""
    return request.config.stash[SERVER_OPTIONS]


@pytest.fixture(scope="session")
def reply_timeout(request) -> float:
    """--reply-timeout: how long a client of the suite waits for a reply, in seconds."""
    return request.config.getoption("reply_timeout")


class ServerWatch:
    """Whether the server for ordinary tests still answers, and what was done about it."""

    def __init__(self):
        self.silent_since: str | None = None  # the test after which a --target stopped answering
        self.events: list[str] = []


def answers_ping(target: Target) -> bool:
    """Does the server answer PING (any reply, NOAUTH too) within the reply timeout?"""
    try:
        with target.client() as client:
            client.call("PING")
        return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _server_keeps_answering(request):
    """After a test that timed out waiting for a reply, is the server still answering? A
    launched session server that is not is restarted; a --target cannot be, so the tests
    after it fail at once instead of each waiting out the reply timeout."""
    if "target" not in request.fixturenames:
        yield
        return
    watch = request.config.stash[WATCH]
    if watch.silent_since:
        pytest.fail(f"not run: the target stopped answering PING after {watch.silent_since}", pytrace=False)
    target = request.getfixturevalue("target")
    session_server = request.getfixturevalue("session_server")
    yield
    if not request.node.stash.get(TIMED_OUT, False) or answers_ping(target):
        return
    nodeid = request.node.nodeid
    if session_server is None:
        watch.silent_since = nodeid
        watch.events.append(f"the target stopped answering PING after {nodeid}; every later test failed at once")
        return
    session_server.kill()
    session_server.launch()
    watch.events.append(f"the session server stopped answering PING after {nodeid}; it was killed and restarted")


@pytest.fixture
def client_factory(request, target: Target, session_server: RunningServer | None):
    """make() -> a new Client on the target (or on make(other_target)); all closed after the test.

    If the session server died during the test, the test errors with the
    server's log tail, and the server is restarted for the tests after it.
    """
    clients: list[Client] = []

    def make(on: Target | None = None, timeout: float | None = None) -> Client:
        client = (on or target).client(timeout)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    if session_server is not None and not session_server.is_running():
        status = session_server.process.returncode
        how = f"died of {signal.Signals(-status).name}" if status < 0 else f"exited with status {status}"
        tail = session_server.log_tail()
        session_server.restart()
        request.config.stash[WATCH].events.append(
            f"the session server {how} during {request.node.nodeid}; it was started again")
        pytest.fail(
            f"the server exited (status {status}) during this test; restarted for the next tests\n"
            f"--- last lines of {session_server.log_path} ---\n{tail}",
            pytrace=False,
        )


def _fresh_client(client_factory) -> Client:
    client = client_factory()
    reply = client.call("FLUSHALL")
    assert reply == "OK", f"FLUSHALL on the target answered {reply!r}"
    return client


@pytest.fixture
def client(client_factory) -> Client:
    """A new RESP2 client on db 0 of the target, after FLUSHALL."""
    return _fresh_client(client_factory)


@pytest.fixture
def resp3_client(client_factory) -> Client:
    """A new client on db 0 of the target that said HELLO 3, after FLUSHALL."""
    client = _fresh_client(client_factory)
    reply = client.hello(3)
    assert isinstance(reply, dict), f"HELLO 3 answered {reply!r}"
    return client


@pytest.fixture
def launcher(request):
    """A ServerLauncher for --server (with --server-options); every server it started is
    stopped after the test."""
    command = request.config.getoption("server")
    if not command:  # such tests are deselected; this only guards against misuse
        pytest.fail(f"this test {LAUNCHES_REASON}", pytrace=False)
    launcher = _launcher(request.config, command)
    yield launcher
    launcher.stop_all()


@pytest.fixture
def peer_launcher(request, launcher):
    """A ServerLauncher for --peer-server (default: the --server command), with the same
    options: the other end of a replication test; every server it started is stopped after
    the test."""
    command = request.config.getoption("peer_server") or request.config.getoption("server")
    peer = _launcher(request.config, command)
    yield peer
    peer.stop_all()


@pytest.fixture
def pair(sides, launcher, peer_launcher):
    """(launcher of masters, launcher of replicas)."""
    if sides == "replica-under-test":
        return peer_launcher, launcher
    return launcher, peer_launcher


@pytest.fixture
def real_redis():
    """A ServerLauncher for real redis-server, whatever --server says: the other side of the
    interoperability tests (files written by one server, loaded by the other)."""
    launcher = ServerLauncher("redis-server")
    yield launcher
    launcher.stop_all()


def server_version(target: Target) -> str:
    """What the server says it is: "redis 7.0.15" from INFO server, else HELLO's server and
    version, else ""."""
    try:
        with target.client() as client:
            info = client.call("INFO", "server")
            if isinstance(info, bytes):
                fields = dict(line.split(":", 1) for line in info.decode(errors="replace").splitlines() if ":" in line)
                if "redis_version" in fields:
                    return f"redis_version {fields['redis_version'].strip()}"
            hello = client.call("HELLO")
            if isinstance(hello, list):
                fields = dict(zip(hello[::2], hello[1::2]))
                return " ".join(str(fields.get(name, b"?"), errors="replace") if isinstance(fields.get(name), bytes)
                                else str(fields.get(name, "?")) for name in (b"server", b"version"))
    except OSError:
        pass
    return ""


# -- summary per family -----------------------------------------------------

OUTCOMES = compat.OUTCOMES
_SEVERITY = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def _outcome(report) -> str | None:
    """A phase's report as an outcome; None for a setup or teardown that passed (it says nothing)."""
    if report.when == "call":
        return report.outcome  # an xfail counts as skipped, an xpass as passed
    if report.failed:
        return "error"  # setup or teardown failed
    if report.skipped:
        return "skipped"
    return None


class FamilySummary:
    """Counts each test's outcome under its family; prints a table at the end."""

    def __init__(self):
        self.outcomes: dict[str, str] = {}  # nodeid -> worst outcome of its phases
        self.launching_deselected: list[str] = []

    def pytest_runtest_logreport(self, report):
        outcome = _outcome(report)
        if outcome is None:
            return  # (an interrupted test is not counted)
        previous = self.outcomes.get(report.nodeid, "passed")
        self.outcomes[report.nodeid] = max(previous, outcome, key=_SEVERITY.__getitem__)

    def pytest_terminal_summary(self, terminalreporter):
        table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for nodeid, outcome in self.outcomes.items():
            table[family_of(nodeid)][outcome] += 1
        for nodeid in self.launching_deselected:
            table[family_of(nodeid)]["deselected"] += 1
        events = terminalreporter.config.stash[WATCH].events
        if events:
            terminalreporter.write_sep("=", "server stopped answering")
            for event in events:
                terminalreporter.write_line(event)
        if not table:
            return
        columns = (*OUTCOMES, "deselected")
        width = max(len("family"), *map(len, table))
        write = terminalreporter.write_line
        terminalreporter.write_sep("=", "conformance by family")
        write(f"{'family':<{width}} " + " ".join(f"{c:>10}" for c in columns))
        for family in sorted(table):
            counts = table[family]
            write(f"{family:<{width}} " + " ".join(f"{counts[c]:>10}" for c in columns))
        total = sum(table.values(), collections.Counter())
        write(f"{'total':<{width}} " + " ".join(f"{total[c]:>10}" for c in columns))
        if self.launching_deselected:
            write(f"deselected {len(self.launching_deselected)} tests: each {LAUNCHES_REASON}")


# -- the compatibility report -----------------------------------------------


class ReportRecorder:
    """Gathers a conformance.report.TestResult per test and writes the report at the end."""

    def __init__(self, directory: str, what: str, watch: ServerWatch):
        self.directory = directory
        self.catalog = compat.command_catalog()
        self.results: dict[str, compat.TestResult] = {}
        self.run = compat.RunInfo(target=what, events=watch.events)
        self.started = time.monotonic()
        self.paths = None
        self.last_reply = None  # (command, reply) last read in the running test

    def _result(self, nodeid: str) -> compat.TestResult:
        if nodeid not in self.results:
            self.results[nodeid] = compat.TestResult(nodeid, "passed")
        return self.results[nodeid]

    def _note_reply(self, command: str, reply) -> None:
        self.last_reply = (command, reply)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item):
        """Note the last reply the fixtures read (see pytest_runtest_call)."""
        self.last_reply = None
        client_module.reply_observers.append(self._note_reply)
        try:
            return (yield)
        finally:
            client_module.reply_observers.remove(self._note_reply)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item):
        """Note the name of every command any client sends while the test runs, and the last
        reply read (to explain a failure that is no assertion: a KeyError on a reply of
        another shape says little alone)."""
        names = set()
        client_module.command_observer = lambda args: names.add(compat.command_name(args, self.catalog))
        client_module.reply_observers.append(self._note_reply)
        try:
            return (yield)
        finally:
            client_module.command_observer = None
            client_module.reply_observers.remove(self._note_reply)
            result = self._result(item.nodeid)
            result.commands = tuple(sorted(names - {""}))
            marker = item.get_closest_marker("since")
            result.since = str(marker.args[0]) if marker and marker.args else None

    def pytest_runtest_logreport(self, report):
        result = self._result(report.nodeid)
        result.duration += report.duration
        outcome = _outcome(report)
        if outcome is None:
            return
        if _SEVERITY[outcome] > _SEVERITY[result.outcome]:
            result.outcome = outcome
        if report.failed and result.failure is None:
            crash = getattr(report.longrepr, "reprcrash", None)
            text = crash.message if crash is not None else report.longreprtext
            phase = "" if report.when == "call" else f"(in {report.when}) "
            result.failure = phase + compat.first_failure(text)
            if report.when != "teardown" and self.last_reply and not compat.is_assertion(text):
                result.failure += "\n" + compat.describe_reply(*self.last_reply)

    def pytest_deselected(self, items):
        self.run.deselected += len(items)

    def pytest_sessionfinish(self, session):
        self.run.duration = time.monotonic() - self.started
        report = compat.build_report(list(self.results.values()), self.catalog, self.run)
        self.paths = compat.write_report(report, self.directory)
        self.summary = report["summary"]

    def pytest_terminal_summary(self, terminalreporter):
        if self.paths:
            terminalreporter.write_sep("=", "compatibility report")
            terminalreporter.write_line(self.summary)
            for path in self.paths:
                terminalreporter.write_line(f"written: {path}")
