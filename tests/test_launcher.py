"""Unit tests of the conformance suite's launcher (conformance/targets.py): its default options,
which a user may change (a server without a Redis 7.0 option), and how a refused option reads."""

import sys
import textwrap

import pytest

from conformance.targets import (DEFAULT_OPTIONS, ServerLauncher, ServerLaunchError, option_args, parse_options,
                                 refused_configuration)


def test_parse_options_is_the_inverse_of_option_args():
    options = parse_options("--save '' --enable-debug-command yes --bind 127.0.0.1 ::1")
    assert options == {"save": "", "enable_debug_command": "yes", "bind": ["127.0.0.1", "::1"]}
    assert option_args(options) == ["--save", "", "--enable-debug-command", "yes", "--bind", "127.0.0.1", "::1"]
    assert parse_options("") == {}


@pytest.mark.parametrize("text", ["yes", "--save", "--a 1 --b"])
def test_parse_options_refuses_words_without_a_name_or_names_without_a_value(text):
    with pytest.raises(ValueError):
        parse_options(text)


def test_the_launcher_defaults_can_be_replaced():
    assert ServerLauncher("x").default_options == parse_options(DEFAULT_OPTIONS)
    assert ServerLauncher("x").default_options == {"save": "", "enable_debug_command": "yes"}
    assert ServerLauncher("x", default_options={"save": ""}).default_options == {"save": ""}


REDIS_62_LOG = textwrap.dedent("""\
    --- redspec launch: redis-server --port 1 --dir /d --save '' --enable-debug-command yes

    *** FATAL CONFIG FILE ERROR (Redis 6.2.14) ***
    Reading the configuration file, at line 4
    >>> 'enable-debug-command "yes"'
    Bad directive or wrong number of arguments
    """)


def test_refused_configuration_quotes_the_servers_words():
    assert refused_configuration(REDIS_62_LOG) == \
        """'enable-debug-command "yes"' (Bad directive or wrong number of arguments)"""
    assert refused_configuration("some other failure\n") is None


# A stand-in server: refuses --enable-debug-command as Redis 6.2 does, else serves PONG once
# per connection until killed.
FAKE_SERVER = textwrap.dedent("""\
    import socket, sys
    args = sys.argv[1:]
    if "--enable-debug-command" in args:
        print("*** FATAL CONFIG FILE ERROR (Redis 6.2.14) ***")
        print(">>> 'enable-debug-command \\"yes\\"'")
        print("Bad directive or wrong number of arguments")
        sys.exit(1)
    port = int(args[args.index("--port") + 1])
    with socket.create_server(("127.0.0.1", port)) as listener:
        while True:
            peer, _ = listener.accept()
            peer.recv(1024)
            peer.sendall(b"+PONG\\r\\n")
            peer.close()
    """)


@pytest.fixture
def fake_server(tmp_path):
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    return f"{sys.executable} {script}"


def test_a_refused_default_option_fails_the_launch_saying_which(fake_server):
    launcher = ServerLauncher(fake_server)
    try:
        with pytest.raises(ServerLaunchError) as failure:
            launcher.start()
        headline = str(failure.value).splitlines()[0]
        assert headline.endswith("""exited with status 1 before answering PING: it refused"""
                                 """ 'enable-debug-command "yes"' (Bad directive or wrong number of arguments)""")
    finally:
        launcher.stop_all()


def test_other_default_options_let_it_start(fake_server):
    launcher = ServerLauncher(fake_server, default_options=parse_options("--save ''"))
    try:
        server = launcher.start()
        assert server.is_running()
        assert "--enable-debug-command" not in server.argv and server.argv[-2:] == ["--save", ""]
    finally:
        launcher.stop_all()
