"""The server's command line and config file, judged as redis-server's: a bad option is refused
at start-up with redis-server's exact message on stderr and its exit status; good ones take
effect (CONFIG GET shows them)."""
from __future__ import annotations

import subprocess

import pytest

from conformance.targets import run_until_exit, server_words

pytestmark = [pytest.mark.launches, pytest.mark.internals("redis-server's command line and config file")]


def run_server(request, *words: str, cwd=None) -> subprocess.CompletedProcess:
    """Start the server under test with these words and wait for it to give up."""
    command = server_words(request.config.getoption("server")) + list(words)
    return run_until_exit(command, text=True, cwd=cwd)


def fatal(line_number: int, line: str, reason: str) -> str:
    return (f"\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
            f"Reading the configuration file, at line {line_number}\n>>> '{line}'\n{reason}\n")


@pytest.mark.parametrize("words, line, reason", [
    (["--port", "abc"], 'port "abc"', "argument couldn't be parsed into an integer"),
    (["--foo", "bar"], 'foo "bar"', "Bad directive or wrong number of arguments"),
    (["--save", "1"], 'save "1"', "Invalid save parameters"),
    (["--maxmemory", "lots"], 'maxmemory "lots"', "argument must be a memory value"),
    (["--appendonly", "maybe"], 'appendonly "maybe"', "argument must be 'yes' or 'no'"),
    (["--port", "1", "2"], 'port "1" "2"', "wrong number of arguments"),
    (["--loglevel", "loud"], 'loglevel "loud"',
     "argument(s) must be one of the following: debug, verbose, notice, warning"),
    (["--databases", "0"], 'databases "0"', "argument must be between 1 and 2147483647 inclusive"),
])
def test_bad_command_line_option(request, words, line, reason):
    result = run_server(request, *words)
    assert result.returncode == 1
    assert result.stderr == fatal(2, line, reason)


def test_bad_line_in_a_config_file(request, tmp_path):
    config = tmp_path / "redis.conf"
    config.write_text("# a comment\nport 7000\n\nhz often\n")
    result = run_server(request, str(config))
    assert result.returncode == 1
    assert result.stderr == fatal(4, "hz often", "argument couldn't be parsed into an integer")


def test_options_from_file_and_command_line_take_effect(request, launcher, tmp_path):
    config = tmp_path / "redis.conf"
    config.write_text('maxmemory 10mb\nhz 25\nsave ""\n')
    server = launcher.start(config_file=str(config), databases=4)
    client = server.client()
    assert client.call("CONFIG", "GET", "maxmemory") == [b"maxmemory", b"10485760"]
    assert client.call("CONFIG", "GET", "hz") == [b"hz", b"25"]
    assert client.call("CONFIG", "GET", "databases") == [b"databases", b"4"]
    assert client.call("SELECT", 4) == "ERR DB index is out of range"


def test_missing_config_file(request, tmp_path):
    result = run_server(request, str(tmp_path / "nonexistent.conf"))
    assert result.returncode == 1
    assert result.stdout.endswith(
        f"# Fatal error, can't open config file '{tmp_path / 'nonexistent.conf'}': No such file or directory\n")


def test_config_file_syntax(request, launcher, tmp_path):
    """Quoting, escapes, comments, include, repeated and multi-word directives, and command
    line options that override the file: the resulting values as CONFIG GET shows them."""
    (tmp_path / "included.conf").write_text("maxmemory-policy allkeys-lru\nhz 20\n")
    config = tmp_path / "redis.conf"
    config.write_text(
        "# comment line\n"
        "   \n"
        "requirepass \"pass word\\twith tab\"\n"
        "masterauth 'single quoted'\n"
        f"include {tmp_path / 'included.conf'}\n"
        "save 900 1\n"
        "save 300 10 60 10000\n"
        "client-output-buffer-limit pubsub 32mb 8mb 60\n"
        "notify-keyspace-events KEA\n"
        "maxmemory 1gb\n"
        "hz 30\n")
    server = launcher.start(config_file=str(config), save=["100", "1"], maxmemory="2mb")
    client = server.client()
    assert client.call("AUTH", "pass word\twith tab") == "OK"
    got = dict(zip(*[iter(client.call("CONFIG", "GET", "*"))] * 2))
    assert got[b"requirepass"] == b"pass word\twith tab"
    assert got[b"masterauth"] == b"single quoted"
    assert got[b"maxmemory-policy"] == b"allkeys-lru"
    assert got[b"hz"] == b"30"  # the later line wins
    assert got[b"save"] == b"100 1"  # the command line comes after the file
    assert got[b"maxmemory"] == b"2097152"
    assert got[b"client-output-buffer-limit"] == \
        b"normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    assert got[b"notify-keyspace-events"] == b"AKE"


def test_repeated_save_lines_add_up_in_a_file(request, launcher, tmp_path):
    config = tmp_path / "redis.conf"
    config.write_text("save 900 1\nsave 300 10\n")
    server = launcher.start(config_file=str(config), save=None)
    assert server.client().call("CONFIG", "GET", "save") == [b"save", b"900 1 300 10"]
