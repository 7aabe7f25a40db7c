"""Conformance of the connection family (spec/connection.md): PING, ECHO, HELLO, QUIT, RESET,
SELECT, AUTH and CLIENT ID / SETNAME / GETNAME / INFO / LIST / KILL."""
from __future__ import annotations

import re

import time

import pytest

from conformance.client import ErrorReply, Verbatim

WRONGPASS = ErrorReply("WRONGPASS invalid username-password pair or user is disabled.")
NOAUTH = ErrorReply("NOAUTH Authentication required.")
HELLO_NOAUTH = ErrorReply(
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
    "the RESP protocol version at the same time")
BAD_NAME = ErrorReply("ERR Client names cannot contain spaces, newlines or special characters.")
SYNTAX = ErrorReply("ERR syntax error")
NOT_AN_INTEGER = ErrorReply("ERR value is not an integer or out of range")

# The fields of a CLIENT LIST line, in order, and what each value looks like.
NUMBER, SIGNED = r"\d+", r"-?\d+"
LINE_FIELDS = [
    ("id", NUMBER), ("addr", r"\S+:\d+"), ("laddr", r"\S+:\d+"), ("fd", SIGNED), ("name", r"[!-~]*"),
    ("age", NUMBER), ("idle", NUMBER), ("flags", r"[A-Za-z]+"), ("db", NUMBER), ("sub", NUMBER),
    ("psub", NUMBER), ("ssub", NUMBER), ("multi", SIGNED), ("qbuf", NUMBER), ("qbuf-free", NUMBER),
    ("argv-mem", NUMBER), ("multi-mem", NUMBER), ("rbs", NUMBER), ("rbp", NUMBER), ("obl", NUMBER),
    ("oll", NUMBER), ("omem", NUMBER), ("tot-mem", NUMBER), ("events", r"r?w?"), ("cmd", r"\S+"),
    ("user", r"\S+"), ("redir", SIGNED), ("resp", r"[23]"),
]


def parse_line(line: str) -> dict[str, str]:
    """A CLIENT LIST line -> {field: value}, checking every field is there, in order, well formed."""
    pairs = [item.split("=", 1) for item in line.split(" ")]
    assert [name for name, _ in pairs] == [name for name, _ in LINE_FIELDS], line
    for (name, value), (_, pattern) in zip(pairs, LINE_FIELDS):
        assert re.fullmatch(pattern, value), f"{name}={value!r} in {line!r}"
    return dict(pairs)


def parse_lines(text) -> list[dict[str, str]]:
    text = text.decode() if isinstance(text, bytes) else str(text)
    assert text == "" or text.endswith("\n"), text
    return [parse_line(line) for line in text.splitlines()]


def own_line(client) -> dict[str, str]:
    (line,) = parse_lines(client.call("CLIENT", "INFO"))
    return line


def address(sockaddr) -> str:
    return f"{sockaddr[0]}:{sockaddr[1]}"


def redis_7_0_version(client) -> bytes:
    """The version HELLO reports, checked to be a Redis 7.0 release (which one is no behaviour)."""
    reply = client.call("HELLO")
    fields = dict(zip(reply[::2], reply[1::2])) if isinstance(reply, list) else reply
    version = fields.get(b"version") if isinstance(fields, dict) else None
    assert isinstance(version, bytes) and re.fullmatch(rb"7\.0\.\d+", version), \
        f"HELLO reports version {version!r}, not a Redis 7.0 release: {reply!r}"
    return version


def hello_wire(protocol: int, client_id: int, version: bytes) -> bytes:
    """The exact bytes of a HELLO reply from a standalone master."""
    def bulk(text):
        return b"$%d\r\n%s\r\n" % (len(text), text)
    body = (bulk(b"server") + bulk(b"redis") + bulk(b"version") + bulk(version)
            + bulk(b"proto") + b":%d\r\n" % protocol + bulk(b"id") + b":%d\r\n" % client_id
            + bulk(b"mode") + bulk(b"standalone") + bulk(b"role") + bulk(b"master")
            + bulk(b"modules") + b"*0\r\n")
    return (b"%7\r\n" if protocol == 3 else b"*14\r\n") + body


# --- PING, ECHO -------------------------------------------------------------------------------


def test_ping(client, resp3_client):
    for c in (client, resp3_client):
        assert c.call_raw("PING") == b"+PONG\r\n"
        assert c.call_raw("PING", "hello world") == b"$11\r\nhello world\r\n"
        assert c.call_raw("PING", b"") == b"$0\r\n\r\n"
        assert c.call("PING", b"\x00\r\n\xff") == b"\x00\r\n\xff"


def test_ping_with_two_arguments_is_an_arity_error(client):
    assert client.call("PING", "a", "b") == ErrorReply("ERR wrong number of arguments for 'ping' command")
    assert client.call("PING") == "PONG"


def test_echo(client, resp3_client):
    for c in (client, resp3_client):
        assert c.call_raw("ECHO", "hi") == b"$2\r\nhi\r\n"
        assert c.call_raw("ECHO", "") == b"$0\r\n\r\n"
        assert c.call("ECHO", b"a\r\nb\x00\xfe") == b"a\r\nb\x00\xfe"
    for args in ([], ["a", "b"]):
        assert client.call("ECHO", *args) == ErrorReply("ERR wrong number of arguments for 'echo' command")
    assert client.call("ECHO", "still") == b"still"


# --- HELLO ------------------------------------------------------------------------------------


def test_hello_without_arguments_keeps_the_protocol(client):
    client_id = client.call("CLIENT", "ID")
    version = redis_7_0_version(client)
    assert client.call_raw("HELLO") == hello_wire(2, client_id, version)
    assert client.call_raw("HELLO", "3") == hello_wire(3, client_id, version)
    assert client.call_raw("HELLO") == hello_wire(3, client_id, version)
    assert client.call_raw("hello", "2") == hello_wire(2, client_id, version)
    assert client.call_raw("CLIENT", "GETNAME") == b"$-1\r\n"


def test_hello_3_switches_reply_encoding(client):
    assert client.call_raw("GET", "missing") == b"$-1\r\n"
    version = redis_7_0_version(client)
    reply = client.hello(3)
    assert reply == {b"server": b"redis", b"version": version, b"proto": 3,
                     b"id": client.call("CLIENT", "ID"), b"mode": b"standalone",
                     b"role": b"master", b"modules": []}
    assert client.call_raw("GET", "missing") == b"_\r\n"
    assert own_line(client)["resp"] == "3"


@pytest.mark.parametrize("version", ["1", "4", "0", "-1", "100"])
def test_hello_unsupported_version(client, version):
    assert client.call("HELLO", version) == ErrorReply("NOPROTO unsupported protocol version")
    assert client.call_raw("GET", "missing") == b"$-1\r\n"


@pytest.mark.parametrize("version", ["abc", "2.0", "", " 3", "99999999999999999999"])
def test_hello_version_not_an_integer(client, version):
    assert client.call("HELLO", version) == ErrorReply("ERR Protocol version is not an integer or out of range")


@pytest.mark.parametrize("options, word", [
    (["foo"], "foo"), (["AUTH"], "AUTH"), (["auth", "default"], "auth"), (["SETNAME"], "SETNAME"),
    (["SETNAME", "a", "extra"], "extra"), (["AUTH", "default", "x", "SETNAME"], "SETNAME"),
])
def test_hello_syntax_error_names_the_option(client, options, word):
    assert client.call("HELLO", "3", *options) == ErrorReply(f"ERR Syntax error in HELLO option '{word}'")
    assert client.call_raw("GET", "missing") == b"$-1\r\n"  # still RESP2


def test_hello_setname(client):
    client.call("HELLO", "3", "setname", "first")
    assert client.call("CLIENT", "GETNAME") == b"first"
    client.call("HELLO", "2", "SETNAME", "x", "SETNAME", "last")
    assert client.call("CLIENT", "GETNAME") == b"last"
    assert client.call("HELLO", "3", "SETNAME", "a b") == BAD_NAME
    assert client.call("CLIENT", "GETNAME") == b"last"
    assert client.call_raw("GET", "missing") == b"$-1\r\n"


def test_hello_applies_options_before_a_failing_one(client):
    assert client.call("HELLO", "3", "SETNAME", "kept", "bogus") == ErrorReply(
        "ERR Syntax error in HELLO option 'bogus'")
    assert client.call("CLIENT", "GETNAME") == b"kept"
    assert client.call_raw("GET", "missing") == b"$-1\r\n"


def test_hello_auth_without_requirepass(client):
    # The default user has no password: any password is right, another user is wrong.
    reply = client.call("HELLO", "3", "AUTH", "default", "anything")
    assert reply[b"proto"] == 3
    assert client.call("HELLO", "2", "AUTH", "nobody", "x") == WRONGPASS
    assert client.call_raw("CLIENT", "GETNAME") == b"_\r\n"  # still RESP3


# --- QUIT, RESET ------------------------------------------------------------------------------


def test_quit_answers_then_closes(client):
    client.send_raw(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n")
    assert client.read_all_until_closed() == b"+OK\r\n"


def test_quit_ignores_arguments(client_factory):
    client = client_factory()
    assert client.call_raw("QUIT", "a", "b") == b"+OK\r\n"
    assert client.is_closed()


def test_reset(client, client_factory):
    other = client_factory()
    client.call("SELECT", 3)
    client.call("SET", "in3", "v")
    client.call("CLIENT", "SETNAME", "named")
    client.hello(3)
    assert client.call_raw("RESET") == b"+RESET\r\n"
    line = own_line(client)
    assert (line["db"], line["name"], line["resp"], line["flags"]) == ("0", "", "2", "N")
    assert line["id"] == str(client.call("CLIENT", "ID"))
    assert client.call_raw("CLIENT", "GETNAME") == b"$-1\r\n"
    assert client.call("EXISTS", "in3") == 0
    assert other.call("SELECT", 3) == "OK" and other.call("GET", "in3") == b"v"
    assert client.call("RESET", "x") == ErrorReply("ERR wrong number of arguments for 'reset' command")


# --- SELECT -----------------------------------------------------------------------------------


def test_select(client):
    assert client.call_raw("SELECT", 1) == b"+OK\r\n"
    client.call("SET", "k", "one")
    assert own_line(client)["db"] == "1"
    assert client.call("SELECT", 0) == "OK"
    assert client.call("GET", "k") is None
    assert client.call("SELECT", 15) == "OK"
    assert client.call("SELECT", 1) == "OK"
    assert client.call("GET", "k") == b"one"


@pytest.mark.parametrize("index, error", [
    ("-1", "ERR DB index is out of range"),
    ("100000", "ERR DB index is out of range"),
    ("2147483647", "ERR DB index is out of range"),
    ("abc", NOT_AN_INTEGER), ("1.5", NOT_AN_INTEGER), ("+1", NOT_AN_INTEGER), ("01", NOT_AN_INTEGER),
    ("", NOT_AN_INTEGER), ("99999999999999999999", NOT_AN_INTEGER),
    ("2147483648", "ERR value is out of range, value must between -2147483648 and 2147483647"),
    ("-2147483649", "ERR value is out of range, value must between -2147483648 and 2147483647"),
])
def test_select_errors_keep_the_database(client, index, error):
    client.call("SELECT", 2)
    assert client.call("SELECT", index) == ErrorReply(error)
    assert own_line(client)["db"] == "2"


# --- AUTH (no requirepass) --------------------------------------------------------------------


def test_auth_without_requirepass(client):
    assert client.call("AUTH", "x") == ErrorReply(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?")
    assert client.call_raw("AUTH", "default", "whatever") == b"+OK\r\n"
    assert client.call("AUTH", "nobody", "whatever") == WRONGPASS
    assert client.call("AUTH", "a", "b", "c") == SYNTAX
    assert client.call("AUTH") == ErrorReply("ERR wrong number of arguments for 'auth' command")
    assert client.call("PING") == "PONG"


# --- CLIENT ID / SETNAME / GETNAME ------------------------------------------------------------


def test_client_id(client, client_factory):
    first = client.call("CLIENT", "ID")
    second = client_factory().call("CLIENT", "ID")
    assert isinstance(first, int) and first > 0
    assert second > first
    assert client.call_raw("CLIENT", "ID") == b":%d\r\n" % first
    assert own_line(client)["id"] == str(first)


def test_client_setname_getname(client, resp3_client):
    assert client.call_raw("CLIENT", "GETNAME") == b"$-1\r\n"
    assert resp3_client.call_raw("CLIENT", "GETNAME") == b"_\r\n"
    assert client.call_raw("CLIENT", "SETNAME", "my-name!~") == b"+OK\r\n"
    assert client.call_raw("CLIENT", "GETNAME") == b"$9\r\nmy-name!~\r\n"
    assert own_line(client)["name"] == "my-name!~"
    assert client.call("CLIENT", "SETNAME", "") == "OK"
    assert client.call("CLIENT", "GETNAME") is None
    assert own_line(client)["name"] == ""


@pytest.mark.parametrize("name", [b"a b", b"a\nb", b"tab\t", b"\x7f", b"\x00", "caf\u00e9".encode(), b" "])
def test_client_setname_rejects_special_characters(client, name):
    client.call("CLIENT", "SETNAME", "before")
    assert client.call("CLIENT", "SETNAME", name) == BAD_NAME
    assert client.call("CLIENT", "GETNAME") == b"before"


def test_client_subcommand_arity(client):
    for args, name in [(["GETNAME", "x"], "client|getname"), (["ID", "x"], "client|id"),
                       (["INFO", "x"], "client|info"), (["SETNAME"], "client|setname"),
                       (["KILL"], "client|kill"), ([], "client")]:
        assert client.call("CLIENT", *args) == ErrorReply(f"ERR wrong number of arguments for '{name}' command")
    assert client.call("CLIENT", "NOSUCH") == ErrorReply("ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP.")


# --- CLIENT INFO / LIST -----------------------------------------------------------------------


def test_client_info_line(client):
    reply = client.call("CLIENT", "INFO")
    assert isinstance(reply, bytes) and reply.endswith(b"\n") and reply.count(b"\n") == 1
    line = own_line(client)
    assert line["addr"] == address(client.sock.getsockname())
    assert line["laddr"] == address(client.sock.getpeername())
    assert int(line["fd"]) >= 0
    expected = {"name": "", "flags": "N", "db": "0", "sub": "0", "psub": "0", "ssub": "0",
                "multi": "-1", "events": "r", "cmd": "client|info", "user": "default",
                "redir": "-1", "resp": "2"}
    assert {name: line[name] for name in expected} == expected
    assert int(line["age"]) <= 2 and int(line["idle"]) <= 2


def test_client_info_is_verbatim_in_resp3(resp3_client):
    reply = resp3_client.call("CLIENT", "INFO")
    assert isinstance(reply, Verbatim) and reply.format == "txt"
    (line,) = parse_lines(reply)
    assert line["resp"] == "3"
    raw = resp3_client.call_raw("CLIENT", "INFO")
    assert re.fullmatch(rb"=(\d+)\r\ntxt:(.*\n)\r\n", raw, re.S)


def test_client_list_describes_every_connection(client, client_factory):
    other = client_factory()
    other.call("CLIENT", "SETNAME", "other")
    other.call("SELECT", 5)
    other.hello(3)
    other.call("ECHO", "x")
    lines = parse_lines(client.call("CLIENT", "LIST"))
    ids = [int(line["id"]) for line in lines]
    assert ids == sorted(ids)
    by_id = {int(line["id"]): line for line in lines}
    mine, theirs = by_id[client.call("CLIENT", "ID")], by_id[other.call("CLIENT", "ID")]
    assert mine["cmd"] == "client|list"
    assert (theirs["name"], theirs["db"], theirs["resp"], theirs["cmd"]) == ("other", "5", "3", "echo")
    assert theirs["addr"] == address(other.sock.getsockname())
    assert theirs["fd"] != mine["fd"]


def test_client_list_last_command(client, client_factory):
    other = client_factory()
    other_id = other.call("CLIENT", "ID")

    def last_command():
        (line,) = parse_lines(client.call("CLIENT", "LIST", "ID", other_id))
        return line["cmd"]

    assert last_command() == "client|id"
    other.call("GET")  # an arity error still records the command
    assert last_command() == "get"
    other.call("SET", "k", "v", "NX", "XX")
    assert last_command() == "set"
    other.call("NOSUCHCOMMAND")
    assert last_command() == "NULL"
    other.call("CLIENT", "GETNAME")
    assert last_command() == "client|getname"
    other.call("CLIENT", "NOSUCH")
    assert last_command() == "NULL"


def test_client_list_new_connection_has_no_command(client, client_factory):
    fresh = client_factory()
    (line,) = parse_lines(client.call("CLIENT", "LIST", "ID", fresh_id(client, fresh)))
    assert line["cmd"] == "NULL"


def fresh_id(observer, fresh) -> int:
    """The id of a connection that has not run a command, found by its address (asked a few
    times: the server may not have accepted the connection yet)."""
    addr = address(fresh.sock.getsockname())
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in parse_lines(observer.call("CLIENT", "LIST")):
            if line["addr"] == addr:
                return int(line["id"])
        time.sleep(0.02)
    raise AssertionError(f"no connection from {addr}")


def test_client_list_by_type(client, client_factory):
    other = client_factory()
    ids = {client.call("CLIENT", "ID"), other.call("CLIENT", "ID")}
    for name in ("normal", "NORMAL", "Normal"):
        listed = {int(line["id"]) for line in parse_lines(client.call("CLIENT", "LIST", "TYPE", name))}
        assert ids <= listed
    for name in ("master", "replica", "slave", "pubsub", "PUBSUB"):
        assert client.call_raw("CLIENT", "LIST", "TYPE", name) == b"$0\r\n\r\n"


def test_client_list_by_id(client, client_factory):
    other = client_factory()
    mine, theirs = client.call("CLIENT", "ID"), other.call("CLIENT", "ID")
    lines = parse_lines(client.call("CLIENT", "LIST", "ID", theirs, 999999999, mine, theirs))
    assert [int(line["id"]) for line in lines] == [theirs, mine, theirs]
    assert client.call_raw("CLIENT", "LIST", "ID", 999999999) == b"$0\r\n\r\n"


@pytest.mark.parametrize("args, error", [
    (["TYPE", "foo"], "ERR Unknown client type 'foo'"),
    (["TYPE"], "ERR syntax error"),
    (["ID"], "ERR syntax error"),
    (["bogus"], "ERR syntax error"),
    (["TYPE", "normal", "ID", "1"], "ERR syntax error"),
    (["TYPE", "normal", "extra"], "ERR syntax error"),
    (["ID", "abc"], "ERR Invalid client ID"),
    (["ID", "1", "abc"], "ERR Invalid client ID"),
    (["ID", "1", "TYPE", "normal"], "ERR Invalid client ID"),
])
def test_client_list_errors(client, args, error):
    assert client.call("CLIENT", "LIST", *args) == ErrorReply(error)
    assert client.call("PING") == "PONG"


# --- CLIENT KILL ------------------------------------------------------------------------------


def test_client_kill_old_form(client, client_factory):
    other = client_factory()
    assert other.call("PING") == "PONG"  # the server has surely accepted it
    other_addr = address(other.sock.getsockname())
    assert client.call_raw("CLIENT", "KILL", other_addr) == b"+OK\r\n"
    assert other.is_closed()
    assert client.call("CLIENT", "KILL", other_addr) == ErrorReply("ERR No such client")
    assert client.call("CLIENT", "KILL", "ID") == ErrorReply("ERR No such client")
    assert client.call("PING") == "PONG"


def test_client_kill_old_form_kills_the_caller_after_the_reply(client):
    mine = address(client.sock.getsockname())
    client.send_raw(b"CLIENT KILL %s\r\nPING\r\n" % mine.encode())
    assert client.read_all_until_closed() == b"+OK\r\n"


def test_client_kill_by_id(client, client_factory):
    other, bystander = client_factory(), client_factory()
    other_id = other.call("CLIENT", "ID")
    assert client.call_raw("CLIENT", "KILL", "ID", other_id) == b":1\r\n"
    assert other.is_closed()
    assert client.call("CLIENT", "KILL", "ID", other_id) == 0
    assert bystander.call("PING") == "PONG"


def test_client_kill_skipme(client):
    my_id = client.call("CLIENT", "ID")
    assert client.call("CLIENT", "KILL", "ID", my_id) == 0
    assert client.call("CLIENT", "KILL", "ID", my_id, "SKIPME", "yes") == 0
    assert client.call("PING") == "PONG"
    client.send_raw(b"CLIENT KILL ID %d skipme NO\r\nPING\r\n" % my_id)
    assert client.read_all_until_closed() == b":1\r\n"


def test_client_kill_by_addr_and_laddr(client, client_factory):
    first, second = client_factory(), client_factory()
    assert first.call("PING") == second.call("PING") == "PONG"  # both surely accepted
    first_addr = address(first.sock.getsockname())
    assert client.call("CLIENT", "KILL", "ADDR", first_addr) == 1
    assert first.is_closed()
    assert client.call("CLIENT", "KILL", "ADDR", "1.2.3.4:5") == 0
    assert client.call("CLIENT", "KILL", "LADDR", "1.2.3.4:5") == 0
    second_id = second.call("CLIENT", "ID")
    laddr = address(client.sock.getpeername())
    # Filters combine: all must match.
    assert client.call("CLIENT", "KILL", "LADDR", laddr, "ID", second_id, "ADDR", first_addr) == 0
    assert client.call("CLIENT", "KILL", "laddr", laddr, "id", second_id) == 1
    assert second.is_closed()
    assert client.call("PING") == "PONG"


def test_client_kill_by_type_and_user(client, client_factory):
    others = [client_factory() for _ in range(2)]
    for other in others:
        other.call("PING")
    assert client.call("CLIENT", "KILL", "TYPE", "pubsub") == 0
    assert client.call("CLIENT", "KILL", "TYPE", "master") == 0
    assert client.call("CLIENT", "KILL", "TYPE", "replica") == 0
    assert client.call("CLIENT", "KILL", "TYPE", "slave") == 0
    normal = parse_lines(client.call("CLIENT", "LIST", "TYPE", "normal"))
    assert client.call("CLIENT", "KILL", "TYPE", "normal", "USER", "default") == len(normal) - 1
    assert all(other.is_closed() for other in others)
    assert client.call("PING") == "PONG"


@pytest.mark.parametrize("args, error", [
    (["ID", "abc"], "ERR client-id should be greater than 0"),
    (["ID", "0"], "ERR client-id should be greater than 0"),
    (["ID", "-3"], "ERR client-id should be greater than 0"),
    (["ID", "9223372036854775808"], "ERR client-id should be greater than 0"),
    (["TYPE", "foo"], "ERR Unknown client type 'foo'"),
    (["USER", "nobody"], "ERR No such user 'nobody'"),
    (["SKIPME", "maybe"], "ERR syntax error"),
    (["BOGUS", "x"], "ERR syntax error"),
    (["ID", "1", "SKIPME"], "ERR syntax error"),
    # the pairs are read in order: the first bad one is reported
    (["TYPE", "foo", "SKIPME"], "ERR Unknown client type 'foo'"),
    (["ID", "abc", "TYPE", "foo"], "ERR client-id should be greater than 0"),
    (["SKIPME", "no", "TYPE", "foo", "x"], "ERR Unknown client type 'foo'"),
])
def test_client_kill_errors_kill_nobody(client, client_factory, args, error):
    other = client_factory()
    other_id = other.call("CLIENT", "ID")
    assert client.call("CLIENT", "KILL", *args) == ErrorReply(error)
    assert other.call("CLIENT", "ID") == other_id
    assert client.call("PING") == "PONG"


# --- with requirepass -------------------------------------------------------------------------

PASSWORD = "s3cret"


@pytest.fixture(scope="module")
def protected_server(request, server_options):
    """A server of its own, started with requirepass."""
    from conformance.targets import ServerLauncher
    launcher = ServerLauncher(request.config.getoption("server"), default_options=server_options)
    try:
        yield launcher.start(requirepass=PASSWORD)
    finally:
        launcher.stop_all()


@pytest.fixture
def stranger(protected_server, client_factory):
    """A new, unauthenticated connection to the protected server."""
    return client_factory(protected_server.target)


@pytest.mark.launches
def test_unauthenticated_connection(stranger):
    assert stranger.call("PING") == NOAUTH
    assert stranger.call("CLIENT", "ID") == NOAUTH
    assert stranger.call("SELECT", 1) == NOAUTH
    assert stranger.call("NOSUCH") == ErrorReply("ERR unknown command 'NOSUCH', with args beginning with: ")
    assert stranger.call("GET") == ErrorReply("ERR wrong number of arguments for 'get' command")
    assert stranger.call("HELLO") == HELLO_NOAUTH
    assert stranger.call("HELLO", "3") == HELLO_NOAUTH
    assert stranger.call("HELLO", "4") == ErrorReply("NOPROTO unsupported protocol version")
    assert stranger.call_raw("RESET") == b"+RESET\r\n"
    assert stranger.call("PING") == NOAUTH


@pytest.mark.launches
def test_auth(stranger):
    assert stranger.call("AUTH", "wrong") == WRONGPASS
    assert stranger.call("AUTH", "nobody", PASSWORD) == WRONGPASS
    assert stranger.call("PING") == NOAUTH
    assert stranger.call_raw("AUTH", PASSWORD) == b"+OK\r\n"
    assert stranger.call("PING") == "PONG"
    assert stranger.call("AUTH", "default", "wrong") == WRONGPASS
    assert stranger.call("PING") == "PONG"  # a failed AUTH does not log out
    assert stranger.call("AUTH", "default", PASSWORD) == "OK"


@pytest.mark.launches
def test_hello_auth(stranger):
    assert stranger.call("HELLO", "3", "AUTH", "default", "wrong") == WRONGPASS
    assert stranger.call("PING") == NOAUTH
    reply = stranger.hello(3, "AUTH", "default", PASSWORD)
    assert reply[b"proto"] == 3
    assert stranger.call_raw("GET", "missing") == b"_\r\n"


@pytest.mark.launches
def test_hello_setname_applies_even_when_not_authenticated(stranger):
    assert stranger.call("HELLO", "3", "SETNAME", "early") == HELLO_NOAUTH
    assert stranger.call("HELLO", "3", "SETNAME", "later", "AUTH", "default", "bad") == WRONGPASS
    assert stranger.call("AUTH", PASSWORD) == "OK"
    assert stranger.call("CLIENT", "GETNAME") == b"later"
    assert stranger.call_raw("GET", "missing") == b"$-1\r\n"  # HELLO 3 failed: still RESP2


@pytest.mark.launches
def test_reset_logs_out(stranger):
    assert stranger.call("AUTH", PASSWORD) == "OK"
    assert stranger.call("RESET") == "RESET"
    assert stranger.call("PING") == NOAUTH


@pytest.mark.launches
@pytest.mark.parametrize("request_bytes, error", [
    (b"*11\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
    (b"*2\r\n$16385\r\n", b"-ERR Protocol error: unauthenticated bulk length\r\n"),
])
def test_unauthenticated_request_limits(stranger, request_bytes, error):
    stranger.send_raw(request_bytes)
    assert stranger.read_all_until_closed() == error


@pytest.mark.launches
def test_request_limits_lifted_after_auth(stranger):
    assert stranger.call("AUTH", PASSWORD) == "OK"
    assert stranger.call("ECHO", "x" * 20000) == b"x" * 20000
    assert stranger.call("DEL", *[f"k{i}" for i in range(20)]) == 0
