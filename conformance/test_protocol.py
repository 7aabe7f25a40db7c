"""Conformance of the wire protocol itself, byte for byte: inline and multibulk requests,
protocol errors (reply, then the connection is closed), pipelining, several clients at once,
RESP3 encodings, and the errors every command can get (unknown command, wrong arity)."""
from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.client import encode_command


def exchange(client, request: bytes, replies: int) -> list[bytes]:
    """Send raw request bytes in one write and read that many raw replies."""
    client.send_raw(request)
    return [client.read_raw_reply() for _ in range(replies)]


def protocol_error(message: str) -> bytes:
    return b"-ERR Protocol error: %s\r\n" % message.encode()


# --- inline commands --------------------------------------------------------------------------


@pytest.mark.parametrize("line, reply", [
    (b"PING\r\n", b"+PONG\r\n"),
    (b"PING\n", b"+PONG\r\n"),                          # a bare LF ends the line too
    (b"ping\r\n", b"+PONG\r\n"),
    (b"ECHO   spaced   \r\n", b"$6\r\nspaced\r\n"),     # runs of spaces separate words
    (b"ECHO \"a b\"\r\n", b"$3\r\na b\r\n"),
    (b"ECHO \"\"\r\n", b"$0\r\n\r\n"),
    (b"ECHO \"a\\x41\\x7a\"\r\n", b"$3\r\naAz\r\n"),    # hex escapes inside double quotes
    (b"ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\"\r\n", b"$7\r\n\n\r\t\b\a\\\"\r\n"),
    (b"ECHO 'a\\'b'\r\n", b"$3\r\na'b\r\n"),            # only \' is an escape in single quotes
    (b"ECHO 'a\\nb'\r\n", b"$4\r\na\\nb\r\n"),
    (b"ECHO \"tab\there\"\r\n", b"$8\r\ntab\there\r\n"),
])
def test_inline_command(client, line, reply):
    assert exchange(client, line, 1) == [reply]


def test_inline_empty_lines_are_skipped(client):
    assert exchange(client, b"\r\n\n\r\nPING\r\n", 1) == [b"+PONG\r\n"]
    assert client.call("PING") == "PONG"


def test_inline_quoted_key(client):
    assert exchange(client, b"SET \"my key\" 'my value'\r\n", 1) == [b"+OK\r\n"]
    assert client.call("GET", "my key") == b"my value"


@pytest.mark.parametrize("line", [
    b"ECHO \"abc\r\n", b"ECHO 'abc\r\n", b"ECHO \"a\"b\r\n", b"ECHO 'it''s'\r\n",
])
def test_inline_unbalanced_quotes(client, line):
    client.send_raw(line)
    assert client.read_all_until_closed() == protocol_error("unbalanced quotes in request")


def test_inline_too_big(client):
    client.send_raw(b"A" * (64 * 1024 + 10))
    assert client.read_all_until_closed() == protocol_error("too big inline request")


def test_inline_long_line_with_its_end_is_fine(client):
    value = b"x" * 70000
    assert exchange(client, b"ECHO " + value + b"\r\n", 1) == [b"$70000\r\n" + value + b"\r\n"]


# --- multibulk errors -------------------------------------------------------------------------


@pytest.mark.parametrize("request_bytes, message", [
    (b"*abc\r\n", "invalid multibulk length"),
    (b"*1x\r\n", "invalid multibulk length"),
    (b"*2147483648\r\n", "invalid multibulk length"),
    (b"*1\r\nPING\r\n", "expected '$', got 'P'"),
    (b"*1\r\n+PING\r\n", "expected '$', got '+'"),
    (b"*2\r\n$4\r\nECHO\r\n:1\r\n", "expected '$', got ':'"),
    (b"*3\r\n\r\n", "expected '$', got ' '"),
    (b"*1\r\n$abc\r\n", "invalid bulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$536870913\r\n", "invalid bulk length"),  # over proto-max-bulk-len
    (b"*" + b"1" * 70000, "too big mbulk count string"),
    (b"*1\r\n$" + b"1" * 70000, "too big bulk count string"),
])
def test_protocol_error_closes_the_connection(client, request_bytes, message):
    client.send_raw(request_bytes)
    assert client.read_all_until_closed() == protocol_error(message)


def test_commands_before_a_protocol_error_are_answered(client):
    client.send_raw(b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nok\r\nSET k v\r\n*1\r\n:1\r\nPING\r\n")
    assert client.read_all_until_closed() == (
        b"+PONG\r\n$2\r\nok\r\n+OK\r\n" + protocol_error("expected '$', got ':'"))


def test_protocol_error_spares_other_connections(client, client_factory):
    other = client_factory()
    other.send_raw(b"*x\r\n")
    assert other.read_all_until_closed() == protocol_error("invalid multibulk length")
    assert client.call("PING") == "PONG"


@pytest.mark.parametrize("count", [b"*0", b"*-1", b"*-5"])
def test_empty_multibulk_is_ignored(client, count):
    assert exchange(client, count + b"\r\nPING\r\n", 1) == [b"+PONG\r\n"]
    assert client.call("ECHO", "next") == b"next"


def test_bulk_terminator_is_skipped_unread(client):
    # The two bytes after a bulk are taken as its CRLF whatever they are.
    assert exchange(client, b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n", 2) == [b"+PONG\r\n"] * 2


def test_binary_bulk_arguments(client):
    value = bytes(range(256)) + b"\r\n*1\r\n"
    assert client.call("SET", b"bin\x00key", value) == "OK"
    assert client.call("GET", b"bin\x00key") == value


# --- pipelining, fragmentation, several clients -----------------------------------------------


def test_pipeline_of_many_commands_in_one_write(client):
    commands = []
    for i in range(500):
        commands += [("SET", f"k{i}", i), ("INCR", f"k{i}"), ("GET", f"k{i}")]
    client.send_raw(b"".join(encode_command(command) for command in commands))
    for i in range(500):
        assert client.read_raw_reply() == b"+OK\r\n"
        assert client.read_raw_reply() == b":%d\r\n" % (i + 1)
        assert client.read_raw_reply() == b"$%d\r\n%d\r\n" % (len(str(i + 1)), i + 1)


def test_pipeline_mixes_inline_and_multibulk(client):
    request = b"SET a 1\r\n" + encode_command(["INCR", "a"]) + b"INCRBY a 10\r\n" + encode_command(["GET", "a"])
    assert exchange(client, request, 4) == [b"+OK\r\n", b":2\r\n", b":12\r\n", b"$2\r\n12\r\n"]


@pytest.mark.since("7.0.0")
def test_errors_in_a_pipeline_do_not_stop_it(client):
    request = b"".join(encode_command(c) for c in [("SET", "s", "x"), ("INCR", "s"), ("NOSUCH",), ("GET", "s")])
    assert exchange(client, request, 4) == [
        b"+OK\r\n", b"-ERR value is not an integer or out of range\r\n",
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n", b"$1\r\nx\r\n"]


def test_command_split_into_many_writes(client):
    request = encode_command(["SET", "split", "v" * 100]) + b"GET split\r\n"
    for i in range(0, len(request), 7):
        client.send_raw(request[i:i + 7])
        time.sleep(0.001)
    assert [client.read_raw_reply() for _ in range(2)] == [b"+OK\r\n", b"$100\r\n" + b"v" * 100 + b"\r\n"]


def test_clients_are_served_independently(client_factory):
    first, second = client_factory(), client_factory()
    first.send_raw(b"*3\r\n$3\r\nSET\r\n$6\r\nshared")  # half a command
    assert second.call("SET", "shared", "from-second") == "OK"
    assert second.call("GET", "shared") == b"from-second"
    first.send_raw(b"\r\n$10\r\nfrom-first\r\n")  # the rest of it
    assert first.read_raw_reply() == b"+OK\r\n"
    assert second.call("GET", "shared") == b"from-first"


def test_interleaved_clients_see_each_others_writes(client, client_factory):
    clients = [client_factory() for _ in range(5)]
    for round in range(3):
        for i, c in enumerate(clients):
            c.send_command("INCR", "counter")
        replies = sorted(c.read_reply() for c in clients)
        assert replies == list(range(round * 5 + 1, round * 5 + 6))
    assert clients[0].call("GET", "counter") == b"15"


# --- RESP3 ------------------------------------------------------------------------------------


def test_resp3_encodings(resp3_client):
    c = resp3_client
    assert c.call_raw("GET", "missing") == b"_\r\n"
    assert c.call_raw("SET", "k", "v") == b"+OK\r\n"
    assert c.call_raw("GET", "k") == b"$1\r\nv\r\n"
    assert c.call_raw("INCR", "n") == b":1\r\n"
    assert c.call_raw("MGET", "k", "missing") == b"*2\r\n$1\r\nv\r\n_\r\n"
    assert c.call_raw("CLIENT", "GETNAME") == b"_\r\n"
    assert c.call_raw("HELLO")[:4] == b"%7\r\n"


def test_resp2_encodings(client):
    assert client.call_raw("GET", "missing") == b"$-1\r\n"
    assert client.call_raw("MGET", "k", "missing") == b"*2\r\n$-1\r\n$-1\r\n"
    assert client.call_raw("HELLO")[:5] == b"*14\r\n"


def test_protocol_is_per_connection(client, resp3_client):
    assert client.call_raw("GET", "missing") == b"$-1\r\n"
    assert resp3_client.call_raw("GET", "missing") == b"_\r\n"


# --- errors any command can get ---------------------------------------------------------------


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("argv, message", [
    ([b"NOSUCH"], "ERR unknown command 'NOSUCH', with args beginning with: "),
    ([b"nosuch", b"a", b"b c"], "ERR unknown command 'nosuch', with args beginning with: 'a' 'b c' "),
    ([b"x" * 200], "ERR unknown command '%s', with args beginning with: " % ("x" * 128)),
    ([b"FOO", b"a" * 50, b"b" * 50, b"c" * 50, b"d"],
     "ERR unknown command 'FOO', with args beginning with: '%s' '%s' '%s' " % ("a" * 50, "b" * 50, "c" * 22)),
    ([b"FOO", b"a" * 200], "ERR unknown command 'FOO', with args beginning with: '%s' " % ("a" * 128)),
    ([b"FOO", b"line\nbreak", b"x\r\ny"], "ERR unknown command 'FOO', with args beginning with: 'line break' 'x  y' "),
    ([b"GET"], "ERR wrong number of arguments for 'get' command"),
    ([b"get", b"a", b"b"], "ERR wrong number of arguments for 'get' command"),
    ([b"CLIENT"], "ERR wrong number of arguments for 'client' command"),
    ([b"client", b"getname", b"x"], "ERR wrong number of arguments for 'client|getname' command"),
    ([b"CLIENT", b"nosuch"], "ERR unknown subcommand 'nosuch'. Try CLIENT HELP."),
])
def test_command_errors(client, argv, message):
    assert client.call_raw(*argv) == b"-" + message.encode() + b"\r\n"
    assert client.call("PING") == "PONG"


@pytest.mark.since("7.0.0")
def test_unknown_command_inline(client):
    assert exchange(client, b"FOO bar baz\r\n", 1) == [
        b"-ERR unknown command 'FOO', with args beginning with: 'bar' 'baz' \r\n"]


def test_protocol_error_quoting_a_byte_that_is_not_utf8(client):
    client.send_raw(b"*1\r\n\xff1\r\n")
    assert client.read_all_until_closed(timeout=5) == b"-ERR Protocol error: expected '$', got '\xff'\r\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from([b"*", b"$", b"\r\n", b"-1", b"3", b"PING", b"\xff", b" ", b'"', b"\\x",
                              b"*2\r\n", b"$4\r\nPING\r\n", b"\x00"]), max_size=30).map(b"".join)))
def test_garbage_never_takes_the_server_down(client_factory, garbage):
    victim = client_factory(timeout=2)
    victim.send_raw(garbage)
    try:
        victim.read_all_until_closed(timeout=0.05)
    except Exception:  # whatever this connection got, only the server's survival matters here
        pass
    victim.close()
    assert client_factory().call("PING") == "PONG"
