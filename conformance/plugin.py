"""pytest plugin: which server to judge, fixtures to talk to it, a summary per family.

Options (one of --target / --server is required):
  --target HOST:PORT  judge a server that is already running (its data is FLUSHALLed!)
  --server "CMD"      launch servers from CMD (see conformance.targets); one
                      session-wide server for ordinary tests, and fresh ones
                      for tests marked @pytest.mark.launches
Given both, ordinary tests judge --target and launching tests use --server.

Tests marked `launches` (or asking for the `launcher` fixture) start their own
servers; without --server they are deselected at collection, and the summary
says so. After the run a table counts outcomes per spec family, the family
being the module's name: test_<family>.py.

Loaded by conformance/conftest.py and models/conftest.py with
pytest_plugins = ["conformance.plugin"]; importing it also registers the
Hypothesis profiles (see register_hypothesis_profiles).
"""

from __future__ import annotations

import collections
import os

import pytest

from conformance.client import Client
from conformance.targets import RunningServer, ServerLauncher, ServerLaunchError, Target

LAUNCHES_REASON = "starts its own servers (@pytest.mark.launches), which needs --server CMD"


def register_hypothesis_profiles() -> None:
    """Profiles `ci` (the default) and `thorough`, chosen by $HYPOTHESIS_PROFILE."""
    try:
        from hypothesis import settings
    except ImportError:
        return
    settings.register_profile("ci", derandomize=True, max_examples=40, deadline=None, print_blob=True)
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
        help='launch servers as: CMD --port N --dir D ..., e.g. "redis-server"'
        ' or ".venv/bin/python -m reference"',
    )


def pytest_configure(config):
    config.addinivalue_line("markers", f"launches: the test {LAUNCHES_REASON}")
    target = config.getoption("target")
    server = config.getoption("server")
    if target:
        try:
            Target.parse(target)
        except ValueError as error:
            raise pytest.UsageError(f"--target: {error}") from None
    if not (target or server or config.getoption("help") or config.getoption("collectonly")):
        raise pytest.UsageError(
            "say which server to judge: --target HOST:PORT (one already running)"
            ' or --server "CMD" (launch servers, e.g. --server redis-server)'
        )
    config.pluginmanager.register(FamilySummary(), "redspec-family-summary")


def pytest_report_header(config):
    target = config.getoption("target")
    server = config.getoption("server")
    lines = []
    if target:
        lines.append(f"redspec target: {target}")
    if server:
        lines.append(f"redspec server command: {server}")
    return lines


def pytest_collection_modifyitems(config, items):
    if config.getoption("server"):
        return
    launching = [item for item in items if _launches(item)]
    if launching:
        items[:] = [item for item in items if not _launches(item)]
        config.hook.pytest_deselected(items=launching)
        summary = config.pluginmanager.get_plugin("redspec-family-summary")
        summary.launching_deselected.extend(item.nodeid for item in launching)


def _launches(item) -> bool:
    return item.get_closest_marker("launches") is not None or "launcher" in getattr(item, "fixturenames", ())


# -- fixtures ---------------------------------------------------------------


@pytest.fixture(scope="session")
def session_server(request):
    """The session-wide server launched from --server, or None when judging --target."""
    if request.config.getoption("target"):
        yield None
        return
    launcher = ServerLauncher(request.config.getoption("server"))
    try:
        try:
            server = launcher.start()
        except ServerLaunchError as error:
            # Every test would fail the same way: say it once and stop.
            pytest.exit(f"could not launch the server for this session: {error}", returncode=pytest.ExitCode.TESTS_FAILED)
        yield server
    finally:
        launcher.stop_all()


@pytest.fixture(scope="session")
def target(request, session_server: RunningServer | None) -> Target:
    """Where the server for ordinary tests listens."""
    if session_server is None:
        return Target.parse(request.config.getoption("target"))
    return session_server.target


@pytest.fixture
def client_factory(target: Target, session_server: RunningServer | None):
    """make() -> a new Client on the target (or on make(other_target)); all closed after the test.

    If the session server died during the test, the test errors with the
    server's log tail, and the server is restarted for the tests after it.
    """
    clients: list[Client] = []

    def make(on: Target | None = None, timeout: float = 10.0) -> Client:
        client = (on or target).client(timeout)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
    if session_server is not None and not session_server.is_running():
        status = session_server.process.returncode
        tail = session_server.log_tail()
        session_server.restart()
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
    """A ServerLauncher for --server; every server it started is stopped after the test."""
    command = request.config.getoption("server")
    if not command:  # such tests are deselected; this only guards against misuse
        pytest.fail(f"this test {LAUNCHES_REASON}", pytrace=False)
    launcher = ServerLauncher(command)
    yield launcher
    launcher.stop_all()


@pytest.fixture
def real_redis():
    """A ServerLauncher for real redis-server, whatever --server says: the other side of the
    interoperability tests (files written by one server, loaded by the other)."""
    launcher = ServerLauncher("redis-server")
    yield launcher
    launcher.stop_all()


# -- summary per family -----------------------------------------------------

OUTCOMES = ("passed", "failed", "error", "skipped")
_SEVERITY = {"passed": 0, "skipped": 1, "failed": 2, "error": 3}


def family_of(nodeid: str) -> str:
    """tests/conformance/test_strings.py::test_x[1] -> "strings"."""
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    module = module.removesuffix(".py")
    return module.removeprefix("test_")


class FamilySummary:
    """Counts each test's outcome under its family; prints a table at the end."""

    def __init__(self):
        self.outcomes: dict[str, str] = {}  # nodeid -> worst outcome of its phases
        self.launching_deselected: list[str] = []

    def pytest_runtest_logreport(self, report):
        if report.when == "call":
            outcome = report.outcome  # an xfail counts as skipped, an xpass as passed
        elif report.failed:
            outcome = "error"  # setup or teardown failed
        elif report.skipped:
            outcome = "skipped"
        else:
            return  # a setup or teardown that passed says nothing (an interrupted test is not counted)
        previous = self.outcomes.get(report.nodeid, "passed")
        self.outcomes[report.nodeid] = max(previous, outcome, key=_SEVERITY.__getitem__)

    def pytest_terminal_summary(self, terminalreporter):
        table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        for nodeid, outcome in self.outcomes.items():
            table[family_of(nodeid)][outcome] += 1
        for nodeid in self.launching_deselected:
            table[family_of(nodeid)]["deselected"] += 1
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
