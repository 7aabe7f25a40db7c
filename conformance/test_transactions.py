"""Conformance: transactions (spec/transactions.md): MULTI, EXEC, DISCARD, WATCH, UNWATCH.

Most tests use two connections: `client` runs the transaction, `other` changes (or reads) the
keys meanwhile. The string and keyspace commands used here belong to families of their own;
what is judged is how the transaction treats them.
"""

import time

import pytest

from conformance.client import ErrorReply

EXECABORT = ErrorReply("EXECABORT Transaction discarded because of previous errors.")
EXEC_WITHOUT_MULTI = ErrorReply("ERR EXEC without MULTI")
NOT_AN_INTEGER = ErrorReply("ERR value is not an integer or out of range")
NOT_IN_TRANSACTION = ErrorReply("ERR Command not allowed inside a transaction")


@pytest.fixture
def other(client_factory):
    """A second connection to the same server (the `client` fixture has flushed it)."""
    return client_factory()


def transaction(client, *commands):
    """MULTI, the commands (each must be QUEUED), EXEC: EXEC's decoded reply."""
    assert client.call("MULTI") == "OK"
    for command in commands:
        assert client.call(*command) == "QUEUED", command
    return client.call("EXEC")


def stats_line(client, section: str, name: str) -> dict[str, str]:
    """The fields of one INFO line, e.g. stats_line(c, "commandstats", "cmdstat_get")."""
    for line in client.call("INFO", section).decode().splitlines():
        if line.startswith(name + ":"):
            return dict(field.split("=", 1) for field in line.split(":", 1)[1].split(","))
    return {}


def calls(client, command: str) -> tuple[int, int, int]:
    """(calls, rejected_calls, failed_calls) of a command in INFO commandstats."""
    line = stats_line(client, "commandstats", f"cmdstat_{command}")
    return tuple(int(line.get(field, 0)) for field in ("calls", "rejected_calls", "failed_calls"))


def own_client_line(other) -> dict[str, str]:
    """The CLIENT LIST line of the connection named in-transaction, read through `other`
    (that connection may be inside MULTI, where CLIENT LIST would be queued)."""
    for line in other.call("CLIENT", "LIST").decode().splitlines():
        fields = dict(field.split("=", 1) for field in line.split(" ") if "=" in field)
        if fields["name"] == "in-transaction":
            return fields
    raise AssertionError("no CLIENT LIST line named in-transaction")


# -- MULTI / EXEC --------------------------------------------------------------------------


def test_multi_queues_and_exec_runs_in_order(client):
    assert client.call_raw("MULTI") == b"+OK\r\n"
    assert client.call_raw("SET", "k", "v") == b"+QUEUED\r\n"
    assert client.call_raw("GET", "k") == b"+QUEUED\r\n"
    assert client.call_raw("INCR", "n") == b"+QUEUED\r\n"
    assert client.call_raw("GET", "missing") == b"+QUEUED\r\n"
    assert client.call_raw("EXEC") == b"*4\r\n+OK\r\n$1\r\nv\r\n:1\r\n$-1\r\n"
    assert client.call("GET", "k") == b"v"


def test_queued_commands_wait_for_exec(client, other):
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "v") == "QUEUED"
    assert other.call("EXISTS", "k") == 0
    assert client.call("EXEC") == ["OK"]
    assert other.call("GET", "k") == b"v"


def test_empty_transaction(client):
    assert client.call("MULTI") == "OK"
    assert client.call_raw("EXEC") == b"*0\r\n"


def test_exec_without_multi(client):
    assert client.call_raw("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert client.call("PING") == "PONG"


def test_multi_cannot_nest_and_the_transaction_goes_on(client):
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "1") == "QUEUED"
    assert client.call_raw("MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    assert client.call("INCR", "k") == "QUEUED"
    assert client.call("EXEC") == ["OK", 2]


def test_runtime_errors_are_elements_and_the_rest_runs(client):
    client.call("SET", "s", "abc")
    reply = transaction(client, ("INCR", "s"), ("SET", "t", "1"), ("SET", "u", "1", "BAD"),
                        ("INCRBY", "t", "x"), ("APPEND", "s", "d"))
    assert reply == [NOT_AN_INTEGER, "OK", ErrorReply("ERR syntax error"), NOT_AN_INTEGER, 4]
    assert client.call("MGET", "s", "t", "u") == [b"abcd", b"1", None]


def test_runtime_error_bytes(client):
    client.call("SET", "s", "abc")
    assert client.call("MULTI") == "OK"
    assert client.call("INCR", "s") == "QUEUED"
    assert client.call("SET", "t", "1") == "QUEUED"
    assert client.call_raw("EXEC") == b"*2\r\n-ERR value is not an integer or out of range\r\n+OK\r\n"


@pytest.mark.since("7.0.0")
@pytest.mark.parametrize("refused, error", [
    (("NOSUCHCOMMAND", "x"), "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: 'x' "),
    (("GET",), "ERR wrong number of arguments for 'get' command"),
    (("CONFIG", "NOSUCH"), "ERR unknown subcommand 'NOSUCH'. Try CONFIG HELP."),
])
def test_a_refused_command_dooms_the_transaction(client, other, refused, error):
    client.call("SET", "k", "before")
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "1") == "QUEUED"
    assert client.call(*refused) == ErrorReply(error)
    assert client.call("SET", "k", "2") == "QUEUED"  # still answered QUEUED
    assert client.call_raw("EXEC") == b"-EXECABORT Transaction discarded because of previous errors.\r\n"
    assert other.call("GET", "k") == b"before"
    assert client.call("EXEC") == EXEC_WITHOUT_MULTI  # the transaction is over


def test_exec_with_arguments_aborts_the_transaction(client):
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "v") == "QUEUED"
    assert client.call_raw("EXEC", "now") == (
        b"-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n")
    assert client.call("EXISTS", "k") == 0
    assert client.call("EXEC") == EXEC_WITHOUT_MULTI


def test_exec_with_arguments_outside_multi(client):
    assert client.call("EXEC", "now") == ErrorReply(
        "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command")


def test_select_inside_applies_to_the_commands_after_it(client):
    reply = transaction(client, ("SET", "k", "zero"), ("SELECT", 1), ("SET", "k", "one"), ("GET", "k"))
    assert reply == ["OK", "OK", "OK", b"one"]
    assert client.call("GET", "k") == b"one"  # the connection stays in database 1
    assert client.call("SELECT", 0) == "OK" and client.call("GET", "k") == b"zero"


def test_blocking_command_inside_does_not_wait(client):
    # A BLPOP that waited (timeout 0: for ever) would leave EXEC unanswered: the client's reply
    # timeout would fail the test.
    assert client.call("MULTI") == "OK"
    assert client.call("BLPOP", "nothing", 0) == "QUEUED"
    assert client.call("SET", "k", "v") == "QUEUED"
    assert client.call_raw("EXEC") == b"*2\r\n*-1\r\n+OK\r\n"


def test_resp3_replies_inside_exec(resp3_client):
    client = resp3_client
    assert client.call("MULTI") == "OK"
    assert client.call("GET", "missing") == "QUEUED"
    assert client.call("CONFIG", "GET", "maxmemory") == "QUEUED"
    assert client.call("INCRBYFLOAT", "f", "1.5") == "QUEUED"
    assert client.call_raw("EXEC") == b"*3\r\n_\r\n%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n$3\r\n1.5\r\n"


def test_commandstats_count_exec_and_each_command(client):
    client.call("SET", "s", "abc")
    assert client.call("CONFIG", "RESETSTAT") == "OK"
    assert transaction(client, ("INCR", "s"), ("SET", "t", "1")) == [NOT_AN_INTEGER, "OK"]
    # CONFIG RESETSTAT, MULTI, INCR, SET, EXEC: queueing does not count, running does
    assert "total_commands_processed:5\r\n" in client.call("INFO", "stats").decode()
    assert calls(client, "exec") == (1, 0, 0)  # the INCR's error is not EXEC's
    assert calls(client, "multi") == (1, 0, 0)
    assert calls(client, "incr") == (1, 0, 1)
    assert calls(client, "set") == (1, 0, 0)
    assert stats_line(client, "errorstats", "errorstat_ERR") == {"count": "1"}


def test_commandstats_of_an_aborted_transaction(client):
    assert client.call("CONFIG", "RESETSTAT") == "OK"
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "v") == "QUEUED"
    assert client.call("GET") == ErrorReply("ERR wrong number of arguments for 'get' command")
    assert client.call("EXEC") == EXECABORT
    assert calls(client, "exec") == (1, 0, 1)
    assert calls(client, "get") == (0, 1, 0)
    assert calls(client, "set") == (0, 0, 0)  # queued, never run
    assert stats_line(client, "errorstats", "errorstat_EXECABORT") == {"count": "1"}
    assert stats_line(client, "errorstats", "errorstat_ERR") == {"count": "1"}


def test_commandstats_of_exec_refused_for_its_arity(client):
    assert client.call("CONFIG", "RESETSTAT") == "OK"
    client.call("EXEC", "x")
    assert calls(client, "exec") == (0, 1, 0)
    assert stats_line(client, "errorstats", "errorstat_EXECABORT") == {"count": "1"}


def test_client_list_shows_the_transaction(client, other):
    assert client.call("CLIENT", "SETNAME", "in-transaction") == "OK"
    assert own_client_line(other)["multi"] == "-1"
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "v") == "QUEUED"
    assert client.call("SET", "k", "w") == "QUEUED"
    line = own_client_line(other)
    assert (line["flags"], line["multi"], line["cmd"]) == ("x", "2", "set")


def test_commands_after_a_refusal_are_not_kept(client, other):
    assert client.call("CLIENT", "SETNAME", "in-transaction") == "OK"
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "v") == "QUEUED"
    assert client.call("NOSUCHCOMMAND").startswith("ERR unknown command")
    assert client.call("SET", "k", "w") == "QUEUED"
    assert client.call("SET", "k", "x") == "QUEUED"
    assert own_client_line(other)["multi"] == "1"
    assert client.call("EXEC") == EXECABORT


def test_commands_after_a_watched_change_are_not_kept(client, other):
    assert client.call("CLIENT", "SETNAME", "in-transaction") == "OK"
    assert client.call("WATCH", "k") == "OK"
    assert other.call("SET", "k", "v") == "OK"
    assert own_client_line(other)["flags"] == "d"
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "w") == "QUEUED"
    line = own_client_line(other)
    assert (line["flags"], line["multi"]) == ("xd", "0")
    assert client.call("EXEC") is None
    assert own_client_line(other)["flags"] == "N"


# -- commands refused inside MULTI -----------------------------------------------------------


@pytest.mark.parametrize("command", [("SHUTDOWN",), ("SHUTDOWN", "NOSAVE"), ("SHUTDOWN", "bad", "words")])
def test_no_multi_commands_are_refused_inside(client, command):
    assert client.call("MULTI") == "OK"
    assert client.call_raw(*command) == b"-ERR Command not allowed inside a transaction\r\n"
    assert client.call("EXEC") == EXECABORT
    assert client.call("PING") == "PONG"  # the server is still up


def test_watch_inside_multi_is_an_error_that_keeps_the_transaction(client):
    assert client.call("MULTI") == "OK"
    assert client.call_raw("WATCH", "k") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    assert client.call("SET", "k", "v") == "QUEUED"
    assert client.call("EXEC") == ["OK"]


def test_unwatch_inside_multi_is_queued(client):
    assert transaction(client, ("UNWATCH",)) == ["OK"]


# -- DISCARD -------------------------------------------------------------------------------


def test_discard_drops_the_queue(client):
    client.call("SET", "k", "before")
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "after") == "QUEUED"
    assert client.call_raw("DISCARD") == b"+OK\r\n"
    assert client.call("GET", "k") == b"before"  # run at once: not in MULTI any more
    assert client.call("EXEC") == EXEC_WITHOUT_MULTI


def test_discard_without_multi(client):
    assert client.call_raw("DISCARD") == b"-ERR DISCARD without MULTI\r\n"


def test_discard_ends_a_doomed_transaction(client):
    assert client.call("MULTI") == "OK"
    assert client.call("NOSUCHCOMMAND").startswith("ERR unknown command")
    assert client.call("DISCARD") == "OK"
    assert transaction(client, ("SET", "k", "v")) == ["OK"]


def test_discard_unwatches(client, other):
    assert client.call("WATCH", "k") == "OK"
    assert client.call("MULTI") == "OK"
    assert client.call("DISCARD") == "OK"
    other.call("SET", "k", "changed")
    assert transaction(client, ("GET", "k")) == [b"changed"]


def test_discard_without_multi_keeps_the_watches(client, other):
    assert client.call("WATCH", "k") == "OK"
    assert client.call("DISCARD") == ErrorReply("ERR DISCARD without MULTI")
    other.call("SET", "k", "changed")
    assert transaction(client, ("GET", "k")) is None


# -- WATCH ---------------------------------------------------------------------------------


def test_another_clients_write_fails_exec(client, other):
    client.call("SET", "k", "1")
    assert client.call_raw("WATCH", "k") == b"+OK\r\n"
    assert other.call("SET", "k", "2") == "OK"
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "3") == "QUEUED"
    assert client.call_raw("EXEC") == b"*-1\r\n"
    assert client.call("GET", "k") == b"2"


def test_failed_exec_is_null_in_resp3(resp3_client, other):
    client = resp3_client
    assert client.call("WATCH", "k") == "OK"
    other.call("SET", "k", "2")
    assert client.call("MULTI") == "OK"
    assert client.call("GET", "k") == "QUEUED"
    assert client.call_raw("EXEC") == b"_\r\n"


def test_own_write_before_multi_fails_exec(client):
    assert client.call("WATCH", "k") == "OK"
    assert client.call("SET", "k", "mine") == "OK"
    assert transaction(client, ("GET", "k")) is None


def test_own_writes_inside_the_transaction_do_not_fail_it(client):
    assert client.call("WATCH", "k") == "OK"
    assert transaction(client, ("SET", "k", "1"), ("INCR", "k"), ("GET", "k")) == ["OK", 2, b"2"]


def test_unchanged_watched_key_lets_exec_run(client, other):
    client.call("SET", "k", "1")
    assert client.call("WATCH", "k", "absent") == "OK"
    other.call("SET", "unrelated", "x")
    assert transaction(client, ("INCR", "k")) == [2]


def test_one_changed_key_of_several_fails_exec(client, other):
    assert client.call("WATCH", "a", "b") == "OK"
    assert client.call("WATCH", "c") == "OK"  # watches accumulate
    other.call("SET", "c", "x")
    assert transaction(client, ("PING",)) is None


def test_watching_a_key_twice(client, other):
    assert client.call("WATCH", "k", "k") == "OK"
    assert client.call("WATCH", "k") == "OK"
    assert client.call("UNWATCH") == "OK"
    other.call("SET", "k", "x")
    assert transaction(client, ("PING",)) == ["PONG"]


# Each case: commands that set the scene, then the command `other` runs on the watched key k,
# in database 0 unless said otherwise.
MODIFYING = {
    "set": ([("SET", "k", "1")], ("SET", "k", "2")),
    "set same value": ([("SET", "k", "1")], ("SET", "k", "1")),
    "create": ([], ("SET", "k", "1")),
    "del": ([("SET", "k", "1")], ("DEL", "k")),
    "getdel": ([("SET", "k", "1")], ("GETDEL", "k")),
    "incr": ([("SET", "k", "1")], ("INCR", "k")),
    "append": ([("SET", "k", "1")], ("APPEND", "k", "x")),
    "setrange": ([("SET", "k", "abc")], ("SETRANGE", "k", 0, "a")),
    "expire": ([("SET", "k", "1")], ("EXPIRE", "k", 100)),
    "persist": ([("SET", "k", "1", "EX", 100)], ("PERSIST", "k")),
    "expire in the past": ([("SET", "k", "1")], ("PEXPIREAT", "k", 1)),
    "rename from": ([("SET", "k", "1")], ("RENAME", "k", "k2")),
    "rename onto": ([("SET", "k2", "1")], ("RENAME", "k2", "k")),
    "copy onto": ([("SET", "k2", "1")], ("COPY", "k2", "k")),
    "move away": ([("SET", "k", "1")], ("MOVE", "k", 1)),
    "flushdb": ([("SET", "k", "1")], ("FLUSHDB",)),
    "flushall": ([("SET", "k", "1")], ("FLUSHALL",)),
    "swapdb, in this db": ([("SET", "k", "1")], ("SWAPDB", 0, 1)),
    "swapdb, in the other db": ([("SELECT", 1), ("SET", "k", "1"), ("SELECT", 0)], ("SWAPDB", 0, 1)),
}


@pytest.mark.parametrize("case", MODIFYING)
def test_modifications_fail_exec(client, other, case):
    scene, command = MODIFYING[case]
    for step in scene:
        assert not isinstance(other.call(*step), ErrorReply), step
    assert client.call("WATCH", "k") == "OK"
    assert not isinstance(other.call(*command), ErrorReply), command
    assert transaction(client, ("SET", "done", "1")) is None
    assert client.call("EXISTS", "done") == 0


# Commands that leave the watched key k (in database 0) as it was.
NOT_MODIFYING = {
    "get": ([("SET", "k", "1")], ("GET", "k")),
    "exists": ([("SET", "k", "1")], ("EXISTS", "k")),
    "del of a missing key": ([], ("DEL", "k")),
    "expire of a missing key": ([], ("EXPIRE", "k", 100)),
    "persist without a ttl": ([("SET", "k", "1")], ("PERSIST", "k")),
    "set nx of an existing key": ([("SET", "k", "1")], ("SET", "k", "2", "NX")),
    "set xx of a missing key": ([], ("SET", "k", "2", "XX")),
    "incr of a non-integer": ([("SET", "k", "a")], ("INCR", "k")),
    "flushdb of another db": ([("SET", "k", "1")], ("FLUSHDB",), 1),
    "flushall of a missing key": ([("SET", "other", "1")], ("FLUSHALL",)),
    "same name in another db": ([("SET", "k", "1")], ("SET", "k", "2"), 1),
    "swapdb of two dbs without it": ([("SET", "j", "1")], ("SWAPDB", 0, 1)),
    "rename of other keys": ([("SET", "a", "1")], ("RENAME", "a", "b")),
    "rename onto itself": ([("SET", "k", "1")], ("RENAME", "k", "k")),
}


@pytest.mark.parametrize("case", NOT_MODIFYING)
def test_reads_and_no_op_writes_let_exec_run(client, other, case):
    scene, command, *db = NOT_MODIFYING[case]
    for step in scene:
        assert not isinstance(other.call(*step), ErrorReply), step
    assert client.call("WATCH", "k") == "OK"
    if db:
        assert other.call("SELECT", db[0]) == "OK"
    other.call(*command)
    assert transaction(client, ("SET", "done", "1")) == ["OK"]


def test_move_into_the_watched_database_fails_exec(client, other):
    assert client.call("SELECT", 1) == "OK"
    assert client.call("WATCH", "k") == "OK"
    other.call("SET", "k", "1")
    assert other.call("MOVE", "k", 1) == 1
    assert transaction(client, ("PING",)) is None


def test_watch_stays_with_the_database_it_was_given_in(client, other):
    assert client.call("WATCH", "k") == "OK"
    assert client.call("SELECT", 1) == "OK"
    other.call("SET", "k", "in db 0")
    assert transaction(client, ("PING",)) is None


def test_exec_ends_the_watches(client, other):
    assert client.call("WATCH", "k") == "OK"
    assert transaction(client, ("PING",)) == ["PONG"]
    other.call("SET", "k", "1")
    assert transaction(client, ("PING",)) == ["PONG"]


def test_a_failed_exec_ends_the_watches(client, other):
    assert client.call("WATCH", "k") == "OK"
    other.call("SET", "k", "1")
    assert transaction(client, ("PING",)) is None
    other.call("SET", "k", "2")
    assert transaction(client, ("PING",)) == ["PONG"]


def test_an_aborted_exec_ends_the_watches(client, other):
    assert client.call("WATCH", "k") == "OK"
    other.call("SET", "k", "1")
    assert client.call("MULTI") == "OK"
    assert client.call("NOSUCHCOMMAND").startswith("ERR unknown command")
    assert client.call("EXEC") == EXECABORT  # refused first, though the watch failed too
    assert transaction(client, ("PING",)) == ["PONG"]


def test_unwatch_forgets_a_change(client, other):
    assert client.call("WATCH", "k") == "OK"
    other.call("SET", "k", "1")
    assert client.call_raw("UNWATCH") == b"+OK\r\n"
    assert transaction(client, ("GET", "k")) == [b"1"]


def test_unwatch_without_watches(client):
    assert client.call_raw("UNWATCH") == b"+OK\r\n"


def test_reset_ends_transaction_and_watches(client, other):
    client.call("SET", "k", "before")
    assert client.call("WATCH", "k") == "OK"
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "after") == "QUEUED"
    assert client.call("RESET") == "RESET"
    assert client.call("EXEC") == EXEC_WITHOUT_MULTI
    other.call("SET", "k", "1")
    assert transaction(client, ("GET", "k")) == [b"1"]


def test_quit_inside_multi_drops_the_transaction(client, other):
    assert client.call("MULTI") == "OK"
    assert client.call("SET", "k", "v") == "QUEUED"
    assert client.call("QUIT") == "OK"
    assert client.is_closed()
    assert other.call("EXISTS", "k") == 0


# -- WATCH and expiry ----------------------------------------------------------------------


@pytest.fixture
def no_active_expiry(client):
    """Keys past their time stay until something looks them up."""
    assert client.call("DEBUG", "SET-ACTIVE-EXPIRE", 0) == "OK"
    yield
    client.call("DEBUG", "SET-ACTIVE-EXPIRE", 1)


# A key that must expire while watched is set and watched in one pipeline, which the server runs
# in one go, far within the key's time; then the test sleeps past that time.
def set_and_watch_expiring_key(client) -> None:
    assert client.pipeline(("SET", "k", "1", "PX", 100), ("WATCH", "k")) == ["OK", "OK"]
    time.sleep(0.2)


def test_watched_key_expiring_fails_exec(client):
    set_and_watch_expiring_key(client)
    assert transaction(client, ("PING",)) is None


@pytest.mark.internals("DEBUG SET-ACTIVE-EXPIRE")
def test_watched_key_expired_but_not_deleted_fails_exec(client, no_active_expiry):
    set_and_watch_expiring_key(client)
    assert client.call("MULTI") == "OK"
    assert client.call("PING") == "QUEUED"
    assert client.call("EXEC") is None
    assert client.call("EXISTS", "k") == 0


@pytest.mark.internals("DEBUG SET-ACTIVE-EXPIRE")
def test_watched_key_deleted_by_a_read_after_its_time_fails_exec(client, other, no_active_expiry):
    set_and_watch_expiring_key(client)
    assert other.call("GET", "k") is None
    assert transaction(client, ("PING",)) is None


@pytest.mark.internals("DEBUG SET-ACTIVE-EXPIRE")
def test_key_already_expired_when_watched_is_absent(client, other, no_active_expiry):
    client.call("SET", "k", "1", "PX", 1)
    time.sleep(0.05)
    assert client.call("WATCH", "k") == "OK"
    assert other.call("GET", "k") is None  # its deletion is no change
    assert transaction(client, ("PING",)) == ["PONG"]


@pytest.mark.internals("DEBUG SET-ACTIVE-EXPIRE")
def test_key_already_expired_when_watched_then_written(client, other, no_active_expiry):
    client.call("SET", "k", "1", "PX", 1)
    time.sleep(0.05)
    assert client.call("WATCH", "k") == "OK"
    assert other.call("SET", "k", "2") == "OK"
    assert transaction(client, ("PING",)) is None


@pytest.mark.internals("DEBUG SET-ACTIVE-EXPIRE")
def test_key_already_expired_when_watched_then_exec(client, no_active_expiry):
    client.call("SET", "k", "1", "PX", 1)
    time.sleep(0.05)
    assert client.call("WATCH", "k") == "OK"
    assert transaction(client, ("PING",)) == ["PONG"]


def test_key_with_a_future_ttl_lets_exec_run(client):
    client.call("SET", "k", "1", "EX", 100)
    assert client.call("WATCH", "k") == "OK"
    assert transaction(client, ("GET", "k")) == [b"1"]


# -- authentication ------------------------------------------------------------------------

PASSWORD = "transactions-secret"
NOAUTH = ErrorReply("NOAUTH Authentication required.")


@pytest.fixture
def stranger(launcher):
    """A connection, not yet authenticated, to a server started with requirepass."""
    server = launcher.start(requirepass=PASSWORD)
    connection = server.client()
    yield connection
    connection.close()


@pytest.mark.launches
def test_transactions_need_authentication(stranger):
    assert stranger.call("MULTI") == NOAUTH
    assert stranger.call("WATCH", "k") == NOAUTH
    assert stranger.call("DISCARD") == NOAUTH
    assert stranger.call_raw("EXEC") == b"-EXECABORT Transaction discarded because of: NOAUTH Authentication required.\r\n"
    assert stranger.call("AUTH", PASSWORD) == "OK"
    assert transaction(stranger, ("SET", "k", "v")) == ["OK"]


@pytest.mark.launches
def test_auth_inside_multi_is_queued(stranger):
    assert stranger.call("AUTH", PASSWORD) == "OK"
    reply = transaction(stranger, ("AUTH", "wrong"), ("PING",))
    assert reply == [ErrorReply("WRONGPASS invalid username-password pair or user is disabled."), "PONG"]
    assert stranger.call("PING") == "PONG"  # still authenticated
