"""Conformance: the lists family (spec/lists.md), one section per command, then the blocking
commands with several clients.

Blocking scenarios use short timeouts and never assert timings beyond "answered" versus "still
waiting": a client is still waiting when, after another client's PING has been answered and a
short pause, its socket has nothing to read.
"""


import pytest

from conformance.blocking import wait_until_blocked
from conformance.client import ErrorReply
from conformance.readings import config_value

WRONGTYPE = ErrorReply("WRONGTYPE Operation against a key holding the wrong kind of value")
SYNTAX_ERROR = ErrorReply("ERR syntax error")
INTEGER_ERROR = ErrorReply("ERR value is not an integer or out of range")
POSITIVE_ERROR = ErrorReply("ERR value is out of range, must be positive")
RANK_ZERO = ErrorReply("ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                       "second ... or use negative to start from the end of the list")
NUMKEYS_ERROR = ErrorReply("ERR numkeys should be greater than 0")
COUNT_ERROR = ErrorReply("ERR count should be greater than 0")
TIMEOUT_NOT_FLOAT = ErrorReply("ERR timeout is not a float or out of range")
TIMEOUT_NEGATIVE = ErrorReply("ERR timeout is negative")


def rpush(client, key, *elements):
    client.call("DEL", key)
    if elements:
        client.call("RPUSH", key, *elements)


def elements(client, key):
    return client.call("LRANGE", key, 0, -1)


def b(*words):
    return [w.encode() if isinstance(w, str) else w for w in words]


# -- helpers for blocking ----------------------------------------------------------------


def still_waiting(blocked, other, pause=0.1):
    """True if `blocked` has received nothing: checked after `other` got a reply and a pause."""
    assert other.call("PING") == "PONG"
    return blocked.received_nothing(pause)


@pytest.fixture
def clients(client_factory):
    """make(n) -> n fresh RESP2 clients (the first after FLUSHALL)."""
    def make(n):
        made = [client_factory() for _ in range(n)]
        assert made[0].call("FLUSHALL") == "OK"
        return made
    return make


# -- WRONGTYPE, for every command ----------------------------------------------------------

WRONGTYPE_CALLS = [
    ("LPUSH", "s", "x"), ("RPUSH", "s", "x"), ("LPUSHX", "s", "x"), ("RPUSHX", "s", "x"),
    ("LPOP", "s"), ("RPOP", "s"), ("LPOP", "s", 2), ("RPOP", "s", 0), ("LLEN", "s"),
    ("LRANGE", "s", 0, -1), ("LINDEX", "s", 0), ("LINDEX", "s", "notanint"), ("LSET", "s", 0, "x"),
    ("LSET", "s", "notanint", "x"), ("LINSERT", "s", "BEFORE", "a", "x"), ("LREM", "s", 0, "a"),
    ("LTRIM", "s", 0, 1), ("LPOS", "s", "a"), ("LPOS", "s", "a", "COUNT", 0),
    ("LMOVE", "s", "d", "LEFT", "RIGHT"), ("RPOPLPUSH", "s", "d"), ("LMPOP", 1, "s", "LEFT"),
    ("LMPOP", 2, "missing", "s", "RIGHT", "COUNT", 3), ("BLPOP", "s", 0), ("BRPOP", "missing", "s", 0),
    ("BLMOVE", "s", "d", "RIGHT", "LEFT", 0), ("BRPOPLPUSH", "s", "d", 0),
    ("BLMPOP", 0, 1, "s", "LEFT"),
]


@pytest.mark.parametrize("command", WRONGTYPE_CALLS, ids=lambda c: " ".join(map(str, c)))
def test_wrongtype_against_a_string(client, command):
    client.call("SET", "s", "text")
    assert client.call(*command) == WRONGTYPE
    assert client.call("GET", "s") == b"text"
    assert client.call("EXISTS", "d") == 0


@pytest.mark.parametrize("command", [("LMOVE", "l", "s", "LEFT", "RIGHT"), ("RPOPLPUSH", "l", "s"),
                                     ("BLMOVE", "l", "s", "LEFT", "LEFT", 0),
                                     ("BRPOPLPUSH", "l", "s", 0)], ids=lambda c: c[0])
def test_move_to_a_destination_of_another_type_changes_nothing(client, command):
    client.call("SET", "s", "text")
    client.call("RPUSH", "l", "a", "b")
    assert client.call(*command) == WRONGTYPE
    assert elements(client, "l") == b("a", "b")
    assert client.call("GET", "s") == b"text"


# -- LPUSH, RPUSH, LPUSHX, RPUSHX -----------------------------------------------------------


def test_lpush_and_rpush_order(client):
    assert client.call_raw("LPUSH", "l", "a", "b", "c") == b":3\r\n"
    assert client.call_raw("RPUSH", "l", "x", "y") == b":5\r\n"
    assert elements(client, "l") == b("c", "b", "a", "x", "y")
    assert client.call("TYPE", "l") == "list"


def test_push_binary_and_empty_elements(client):
    assert client.call("RPUSH", "l", b"", b"\x00\r\n\xff", b"007") == 3
    assert client.call_raw("LRANGE", "l", 0, -1) == b"*3\r\n$0\r\n\r\n$4\r\n\x00\r\n\xff\r\n$3\r\n007\r\n"


@pytest.mark.parametrize("command,expected", [("LPUSHX", ["z", "a"]), ("RPUSHX", ["a", "z"])])
def test_pushx_only_on_an_existing_list(client, command, expected):
    assert client.call_raw(command, "l", "z") == b":0\r\n"
    assert client.call("EXISTS", "l") == 0
    client.call("RPUSH", "l", "a")
    assert client.call(command, "l", "z") == 2
    assert elements(client, "l") == b(*expected)
    assert client.call(command, "l", "p", "q") == 4


# -- LPOP, RPOP ------------------------------------------------------------------------------


def test_pop_one(client):
    rpush(client, "l", "a", "b", "c")
    assert client.call_raw("LPOP", "l") == b"$1\r\na\r\n"
    assert client.call("RPOP", "l") == b"c"
    assert client.call("LPOP", "l") == b"b"
    assert client.call("EXISTS", "l") == 0, "an emptied list is deleted"
    assert client.call_raw("LPOP", "l") == b"$-1\r\n"
    assert client.call_raw("RPOP", "l") == b"$-1\r\n"


def test_pop_with_count(client):
    rpush(client, "l", "a", "b", "c", "d", "e")
    assert client.call("LPOP", "l", 2) == b("a", "b")
    assert client.call("RPOP", "l", 2) == b("e", "d")
    assert client.call_raw("LPOP", "l", 1) == b"*1\r\n$1\r\nc\r\n"
    assert client.call("EXISTS", "l") == 0
    rpush(client, "l", "a", "b")
    assert client.call("RPOP", "l", 10) == b("b", "a")
    assert client.call("EXISTS", "l") == 0


def test_pop_count_zero_and_missing_key(client):
    rpush(client, "l", "a")
    assert client.call_raw("LPOP", "l", 0) == b"*0\r\n"
    assert client.call_raw("RPOP", "l", 0) == b"*0\r\n"
    assert elements(client, "l") == b("a")
    # the key is looked up before count 0 is noticed: a missing key is the null array
    assert client.call_raw("LPOP", "missing", 0) == b"*-1\r\n"
    assert client.call_raw("RPOP", "missing", 3) == b"*-1\r\n"


def test_pop_null_forms_in_resp3(resp3_client):
    assert resp3_client.call_raw("LPOP", "missing") == b"_\r\n"
    assert resp3_client.call_raw("RPOP", "missing", 2) == b"_\r\n"
    resp3_client.call("RPUSH", "l", "a")
    assert resp3_client.call_raw("LPOP", "l", 0) == b"*0\r\n"


@pytest.mark.parametrize("count", ["-1", "abc", "1.5", "9223372036854775808", ""])
def test_pop_bad_count(client, count):
    rpush(client, "l", "a")
    client.call("SET", "s", "text")
    assert client.call("LPOP", "l", count) == POSITIVE_ERROR
    assert client.call("RPOP", "s", count) == POSITIVE_ERROR, "the count is read before the key"
    assert elements(client, "l") == b("a")


def test_pop_extra_argument_is_an_arity_error(client):
    rpush(client, "l", "a")
    assert client.call("LPOP", "l", 1, 2) == ErrorReply("ERR wrong number of arguments for 'lpop' command")
    assert client.call("RPOP", "l", "x", "y") == ErrorReply("ERR wrong number of arguments for 'rpop' command")
    assert elements(client, "l") == b("a")


# -- LLEN ----------------------------------------------------------------------------------


def test_llen(client):
    assert client.call_raw("LLEN", "l") == b":0\r\n"
    rpush(client, "l", *"abcd")
    assert client.call("LLEN", "l") == 4


# -- LRANGE, LINDEX --------------------------------------------------------------------------

RANGES = [(0, -1), (0, 0), (1, 2), (-2, -1), (-100, 100), (3, 1), (5, 10), (-1, -2),
          (2, -1), (0, -6), (-6, 0), (4, 4), (-9223372036854775808, 9223372036854775807)]


def python_range(items, start, stop):
    n = len(items)
    start = start + n if start < 0 else start
    stop = stop + n if stop < 0 else stop
    start = max(start, 0)
    if start > stop or start >= n:
        return []
    return items[start:min(stop, n - 1) + 1]


@pytest.mark.parametrize("start,stop", RANGES)
def test_lrange(client, start, stop):
    items = b(*"abcde")
    rpush(client, "l", *items)
    assert client.call("LRANGE", "l", start, stop) == python_range(items, start, stop)


def test_lrange_missing_and_errors(client):
    assert client.call_raw("LRANGE", "missing", 0, -1) == b"*0\r\n"
    client.call("SET", "s", "text")
    assert client.call("LRANGE", "s", "x", 1) == INTEGER_ERROR, "indexes are read before the key"
    assert client.call("LRANGE", "missing", 0, "1.0") == INTEGER_ERROR


def test_lindex(client):
    rpush(client, "l", *"abc")
    assert client.call_raw("LINDEX", "l", 0) == b"$1\r\na\r\n"
    assert client.call("LINDEX", "l", -1) == b"c"
    assert client.call("LINDEX", "l", -3) == b"a"
    assert client.call_raw("LINDEX", "l", 3) == b"$-1\r\n"
    assert client.call("LINDEX", "l", -4) is None
    assert client.call("LINDEX", "l", "x") == INTEGER_ERROR
    # the key is looked up first: a missing key answers nil whatever the index
    assert client.call("LINDEX", "missing", "x") is None


def test_lindex_nil_in_resp3(resp3_client):
    resp3_client.call("RPUSH", "l", "a")
    assert resp3_client.call_raw("LINDEX", "l", 5) == b"_\r\n"
    assert resp3_client.call_raw("LINDEX", "missing", 0) == b"_\r\n"


# -- LSET ----------------------------------------------------------------------------------


def test_lset(client):
    rpush(client, "l", *"abc")
    assert client.call_raw("LSET", "l", 1, "B") == b"+OK\r\n"
    assert client.call("LSET", "l", -1, "C") == "OK"
    assert client.call("LSET", "l", -3, "A") == "OK"
    assert elements(client, "l") == b("A", "B", "C")


def test_lset_errors(client):
    rpush(client, "l", *"abc")
    assert client.call("LSET", "missing", 0, "x") == ErrorReply("ERR no such key")
    assert client.call("LSET", "missing", "x", "x") == ErrorReply("ERR no such key")
    assert client.call("LSET", "l", "x", "v") == INTEGER_ERROR
    assert client.call("LSET", "l", 3, "v") == ErrorReply("ERR index out of range")
    assert client.call("LSET", "l", -4, "v") == ErrorReply("ERR index out of range")
    assert elements(client, "l") == b(*"abc")
    assert client.call("EXISTS", "missing") == 0


# -- LINSERT ---------------------------------------------------------------------------------


def test_linsert(client):
    rpush(client, "l", "a", "b", "a")
    assert client.call_raw("LINSERT", "l", "BEFORE", "a", "x") == b":4\r\n"
    assert client.call("LINSERT", "l", "after", "a", "y") == 5
    assert client.call("LINSERT", "l", "After", "b", "z") == 6
    assert elements(client, "l") == b("x", "a", "y", "b", "z", "a")


def test_linsert_missing_pivot_key_and_bad_where(client):
    rpush(client, "l", "a")
    assert client.call_raw("LINSERT", "l", "BEFORE", "nope", "x") == b":-1\r\n"
    assert client.call_raw("LINSERT", "missing", "AFTER", "a", "x") == b":0\r\n"
    assert client.call("EXISTS", "missing") == 0
    client.call("SET", "s", "text")
    assert client.call("LINSERT", "s", "MIDDLE", "a", "x") == SYNTAX_ERROR, "where is read before the key"
    assert client.call("LINSERT", "l", "MIDDLE", "a", "x") == SYNTAX_ERROR
    assert elements(client, "l") == b("a")


# -- LREM ----------------------------------------------------------------------------------


@pytest.mark.parametrize("count,removed,left", [
    (0, 3, ["b", "c"]), (2, 2, ["b", "c", "a"]), (-2, 2, ["a", "b", "c"]), (-10, 3, ["b", "c"]),
    (1, 1, ["b", "a", "c", "a"]),
])
def test_lrem(client, count, removed, left):
    rpush(client, "l", "a", "b", "a", "c", "a")
    assert client.call("LREM", "l", count, "a") == removed
    assert elements(client, "l") == b(*left)


def test_lrem_deletes_an_emptied_list_and_errors(client):
    rpush(client, "l", "a", "a")
    assert client.call_raw("LREM", "l", 0, "zz") == b":0\r\n"
    assert client.call_raw("LREM", "l", 0, "a") == b":2\r\n"
    assert client.call("EXISTS", "l") == 0
    assert client.call("LREM", "missing", 1, "a") == 0
    client.call("SET", "s", "text")
    assert client.call("LREM", "s", "x", "a") == INTEGER_ERROR, "count is read before the key"


# -- LTRIM ---------------------------------------------------------------------------------


@pytest.mark.parametrize("start,stop", RANGES)
def test_ltrim(client, start, stop):
    items = b(*"abcde")
    rpush(client, "l", *items)
    assert client.call_raw("LTRIM", "l", start, stop) == b"+OK\r\n"
    kept = python_range(items, start, stop)
    assert elements(client, "l") == kept
    assert client.call("EXISTS", "l") == (1 if kept else 0)


def test_ltrim_missing_and_errors(client):
    assert client.call("LTRIM", "missing", 0, 1) == "OK"
    assert client.call("EXISTS", "missing") == 0
    client.call("SET", "s", "text")
    assert client.call("LTRIM", "s", 0, "x") == INTEGER_ERROR


# -- LPOS ----------------------------------------------------------------------------------

POS_LIST = ["a", "b", "c", "1", "2", "3", "c", "c"]


@pytest.mark.parametrize("options,expected", [
    ((), 2), (("RANK", 1), 2), (("RANK", 2), 6), (("RANK", -1), 7), (("RANK", -3), 2),
    (("RANK", 4), None), (("COUNT", 0), [2, 6, 7]), (("COUNT", 2), [2, 6]),
    (("RANK", 2, "COUNT", 0), [6, 7]), (("RANK", -1, "COUNT", 2), [7, 6]),
    (("COUNT", 0, "MAXLEN", 7), [2, 6]), (("MAXLEN", 2), None), (("MAXLEN", 3), 2),
    (("RANK", -1, "MAXLEN", 1, "COUNT", 0), [7]), (("rank", 2, "count", 1, "maxlen", 0), [6]),
    (("RANK", 5, "RANK", 1), 2), (("COUNT", 1, "COUNT", 0), [2, 6, 7]),
    (("RANK", 9223372036854775807), None), (("RANK", -9223372036854775807, "COUNT", 0), []),
    (("RANK", -9223372036854775808), 7), (("RANK", -9223372036854775808, "COUNT", 1), [7, 6, 2]),
])
def test_lpos(client, options, expected):
    rpush(client, "l", *POS_LIST)
    assert client.call("LPOS", "l", "c", *options) == expected


def test_lpos_reply_forms(client, resp3_client):
    rpush(client, "l", *POS_LIST)
    assert client.call_raw("LPOS", "l", "c") == b":2\r\n"
    assert client.call_raw("LPOS", "l", "zz") == b"$-1\r\n"
    assert client.call_raw("LPOS", "l", "zz", "COUNT", 0) == b"*0\r\n"
    assert client.call_raw("LPOS", "l", "c", "COUNT", 2) == b"*2\r\n:2\r\n:6\r\n"
    assert client.call_raw("LPOS", "missing", "c") == b"$-1\r\n"
    assert client.call_raw("LPOS", "missing", "c", "COUNT", 1) == b"*0\r\n"
    assert resp3_client.call_raw("LPOS", "missing", "c") == b"_\r\n"
    resp3_client.call("RPUSH", "l3", "a")
    assert resp3_client.call_raw("LPOS", "l3", "zz") == b"_\r\n"


@pytest.mark.parametrize("options,error", [
    (("RANK", 0), RANK_ZERO), (("RANK", "x"), INTEGER_ERROR),
    (("COUNT", -1), ErrorReply("ERR COUNT can't be negative")),
    (("COUNT", "x"), ErrorReply("ERR COUNT can't be negative")),
    (("MAXLEN", -1), ErrorReply("ERR MAXLEN can't be negative")),
    (("MAXLEN", "x"), ErrorReply("ERR MAXLEN can't be negative")),
    (("RANK", 0, "COUNT", "x"), RANK_ZERO), (("COUNT", -1, "RANK", 0), ErrorReply("ERR COUNT can't be negative")),
    (("RANK", 0, "BOGUS"), RANK_ZERO), (("BOGUS", "RANK", 0), SYNTAX_ERROR),
    (("RANK",), SYNTAX_ERROR), (("RANK", 1, "COUNT"), SYNTAX_ERROR),
])
def test_lpos_errors(client, options, error):
    rpush(client, "l", *POS_LIST)
    client.call("SET", "s", "text")
    assert client.call("LPOS", "l", "c", *options) == error
    assert client.call("LPOS", "s", "c", *options) == error, "options are read before the key"
    assert elements(client, "l") == b(*POS_LIST)


# -- LMOVE, RPOPLPUSH ------------------------------------------------------------------------


@pytest.mark.parametrize("wherefrom,whereto,moved,source,destination", [
    ("LEFT", "LEFT", "a", ["b", "c"], ["a", "x", "y"]),
    ("LEFT", "RIGHT", "a", ["b", "c"], ["x", "y", "a"]),
    ("RIGHT", "LEFT", "c", ["a", "b"], ["c", "x", "y"]),
    ("right", "right", "c", ["a", "b"], ["x", "y", "c"]),
])
def test_lmove(client, wherefrom, whereto, moved, source, destination):
    rpush(client, "src", "a", "b", "c")
    rpush(client, "dst", "x", "y")
    assert client.call("LMOVE", "src", "dst", wherefrom, whereto) == moved.encode()
    assert elements(client, "src") == b(*source)
    assert elements(client, "dst") == b(*destination)


def test_lmove_creates_destination_and_deletes_source(client):
    rpush(client, "src", "only")
    assert client.call_raw("LMOVE", "src", "dst", "LEFT", "RIGHT") == b"$4\r\nonly\r\n"
    assert client.call("EXISTS", "src") == 0
    assert elements(client, "dst") == b("only")


def test_lmove_within_one_list(client):
    rpush(client, "l", "a", "b", "c")
    assert client.call("LMOVE", "l", "l", "LEFT", "RIGHT") == b"a"
    assert elements(client, "l") == b("b", "c", "a")
    assert client.call("RPOPLPUSH", "l", "l") == b"a"
    assert elements(client, "l") == b("a", "b", "c")
    rpush(client, "one", "x")
    assert client.call("LMOVE", "one", "one", "RIGHT", "LEFT") == b"x"
    assert elements(client, "one") == b("x")


def test_lmove_missing_source_and_bad_directions(client):
    client.call("SET", "s", "text")
    assert client.call_raw("LMOVE", "missing", "s", "LEFT", "LEFT") == b"$-1\r\n", \
        "the destination is not looked at when the source is missing"
    assert client.call_raw("RPOPLPUSH", "missing", "dst") == b"$-1\r\n"
    assert client.call("EXISTS", "dst") == 0
    rpush(client, "l", "a")
    assert client.call("LMOVE", "l", "d", "UP", "LEFT") == SYNTAX_ERROR
    assert client.call("LMOVE", "l", "d", "LEFT", "DOWN") == SYNTAX_ERROR
    assert client.call("LMOVE", "s", "d", "LEFT", "DOWN") == SYNTAX_ERROR, "directions before the key"
    assert elements(client, "l") == b("a")


def test_rpoplpush(client):
    rpush(client, "src", "a", "b")
    rpush(client, "dst", "x")
    assert client.call("RPOPLPUSH", "src", "dst") == b"b"
    assert client.call("RPOPLPUSH", "src", "dst") == b"a"
    assert client.call("EXISTS", "src") == 0
    assert elements(client, "dst") == b("a", "b", "x")


def test_lmove_nil_in_resp3(resp3_client):
    assert resp3_client.call_raw("LMOVE", "missing", "d", "LEFT", "RIGHT") == b"_\r\n"
    assert resp3_client.call_raw("RPOPLPUSH", "missing", "d") == b"_\r\n"


# -- LMPOP ---------------------------------------------------------------------------------


def test_lmpop(client):
    rpush(client, "k2", "a", "b", "c")
    rpush(client, "k3", "z")
    assert client.call_raw("LMPOP", 3, "k1", "k2", "k3", "LEFT") == b"*2\r\n$2\r\nk2\r\n*1\r\n$1\r\na\r\n"
    assert client.call("LMPOP", 2, "k2", "k3", "RIGHT", "COUNT", 5) == [b"k2", b("c", "b")]
    assert client.call("EXISTS", "k2") == 0
    assert client.call("LMPOP", 1, "k3", "left", "count", 1) == [b"k3", [b"z"]]
    assert client.call_raw("LMPOP", 2, "k3", "k4", "LEFT") == b"*-1\r\n"


def test_lmpop_null_in_resp3(resp3_client):
    assert resp3_client.call_raw("LMPOP", 1, "missing", "LEFT") == b"_\r\n"


def test_lmpop_a_key_named_like_a_keyword(client):
    rpush(client, "LEFT", "v")
    rpush(client, "COUNT", "w")
    assert client.call("LMPOP", 2, "COUNT", "LEFT", "RIGHT", "COUNT", 1) == [b"COUNT", [b"w"]]
    assert client.call("LMPOP", 1, "LEFT", "LEFT") == [b"LEFT", [b"v"]]


@pytest.mark.parametrize("args,error", [
    ((0, "k", "LEFT"), NUMKEYS_ERROR), ((-1, "k", "LEFT"), NUMKEYS_ERROR),
    (("x", "k", "LEFT"), NUMKEYS_ERROR), (("9223372036854775808", "k", "LEFT"), NUMKEYS_ERROR),
    ((2, "k", "LEFT"), SYNTAX_ERROR), ((3, "k", "LEFT"), SYNTAX_ERROR),
    ((1, "k", "MIDDLE"), SYNTAX_ERROR), ((1, "k", "LEFT", "COUNT"), SYNTAX_ERROR),
    ((1, "k", "LEFT", "COUNT", 0), COUNT_ERROR), ((1, "k", "LEFT", "COUNT", -2), COUNT_ERROR),
    ((1, "k", "LEFT", "COUNT", "x"), COUNT_ERROR), ((1, "k", "LEFT", "COUNT", 1, "COUNT", 2), SYNTAX_ERROR),
    ((1, "k", "LEFT", "junk"), SYNTAX_ERROR), ((1, "s", "LEFT", "COUNT", 0), COUNT_ERROR),
])
def test_lmpop_errors(client, args, error):
    rpush(client, "k", "a", "b")
    client.call("SET", "s", "text")
    assert client.call("LMPOP", *args) == error
    assert client.call("BLMPOP", 0, *args) == error
    assert elements(client, "k") == b("a", "b")


# -- OBJECT ENCODING ------------------------------------------------------------------------


@pytest.fixture
def restore_list_config(client):
    saved = {name: config_value(client, name)
             for name in ("list-max-listpack-size", "list-compress-depth")}
    yield
    for name, value in saved.items():
        client.call("CONFIG", "SET", name, value)


@pytest.mark.internals("encodings and their thresholds")
@pytest.mark.parametrize("size,depth", [(-2, 0), (1, 0), (128, 0), (-5, 1), (-1, 2)])
def test_every_list_is_a_quicklist(client, restore_list_config, size, depth):
    assert client.call("CONFIG", "SET", "list-max-listpack-size", size, "list-compress-depth", depth) == "OK"
    client.call("RPUSH", "small", "a")
    assert client.call_raw("OBJECT", "ENCODING", "small") == b"$9\r\nquicklist\r\n"
    client.call("RPUSH", "big", *[f"element-{i:04}" for i in range(600)])
    client.call("RPUSH", "big", "x" * 10000)
    assert client.call("OBJECT", "ENCODING", "big") == b"quicklist"
    client.call("LTRIM", "big", 0, 0)
    assert client.call("OBJECT", "ENCODING", "big") == b"quicklist", "no conversion back in 7.0"
    assert client.call("LRANGE", "big", 0, -1) == [b"element-0000"]


def test_copy_of_a_list_is_independent(client):
    rpush(client, "l", "a", "b")
    assert client.call("COPY", "l", "c") == 1
    client.call("RPUSH", "l", "z")
    assert elements(client, "c") == b("a", "b")


# -- blocking: immediate answers and argument errors ------------------------------------------


def test_blocking_pops_answer_at_once_when_data_is_there(client):
    rpush(client, "k2", "a", "b", "c")
    assert client.call_raw("BLPOP", "k1", "k2", 0) == b"*2\r\n$2\r\nk2\r\n$1\r\na\r\n"
    assert client.call("BRPOP", "k1", "k2", "0.5") == b("k2", "c")
    assert client.call("BLMPOP", 1, 1, "k2", "LEFT", "COUNT", 9) == [b"k2", [b"b"]]
    assert client.call("EXISTS", "k2") == 0
    rpush(client, "s", "x", "y")
    assert client.call("BLMOVE", "s", "d", "LEFT", "LEFT", 1) == b"x"
    assert client.call("BRPOPLPUSH", "s", "d", 1) == b"y"
    assert elements(client, "d") == b("y", "x")


@pytest.mark.parametrize("timeout", ["0", "1e3", "0x10", "0.0001", "-0.0001", "-0", "+1", "1.5e-300",
                                     "9223372036854775"])
def test_accepted_timeouts(client, timeout):
    rpush(client, "l", "a")
    assert client.call("BLPOP", "l", timeout) == b("l", "a")


@pytest.mark.parametrize("timeout,error", [
    ("abc", TIMEOUT_NOT_FLOAT), ("", TIMEOUT_NOT_FLOAT), (" 1", TIMEOUT_NOT_FLOAT),
    ("nan", TIMEOUT_NOT_FLOAT), ("1x", TIMEOUT_NOT_FLOAT), ("-1", TIMEOUT_NEGATIVE),
    ("-0.01", TIMEOUT_NEGATIVE), ("inf", TIMEOUT_NEGATIVE), ("-inf", TIMEOUT_NEGATIVE),
    ("1e20", TIMEOUT_NEGATIVE), ("1e400", TIMEOUT_NEGATIVE),
])
def test_bad_timeouts(client, timeout, error):
    rpush(client, "l", "a")
    client.call("SET", "s", "text")
    assert client.call("BLPOP", "l", timeout) == error
    assert client.call("BRPOP", "s", timeout) == error, "the timeout is read before the keys"
    assert client.call("BLMOVE", "l", "d", "LEFT", "RIGHT", timeout) == error
    assert client.call("BRPOPLPUSH", "l", "d", timeout) == error
    assert client.call("BLMPOP", timeout, 1, "l", "LEFT") == error
    assert elements(client, "l") == b("a")


def test_argument_errors_before_the_timeout(client):
    assert client.call("BLMOVE", "l", "d", "UP", "LEFT", "abc") == SYNTAX_ERROR
    assert client.call("BLMPOP", "abc", 1, "l", "MIDDLE") == SYNTAX_ERROR
    assert client.call("BLMPOP", "abc", 0, "l", "LEFT") == NUMKEYS_ERROR
    assert client.call("BLMPOP", "abc", 1, "l", "LEFT", "COUNT", 0) == COUNT_ERROR


# -- blocking: timeouts ------------------------------------------------------------------------


@pytest.mark.parametrize("command,raw", [
    (("BLPOP", "k1", "k2", "0.1"), b"*-1\r\n"), (("BRPOP", "k", "0.05"), b"*-1\r\n"),
    (("BLMPOP", "0.1", 2, "k1", "k2", "RIGHT", "COUNT", 2), b"*-1\r\n"),
    # a timed-out BLMOVE gets a null array too (nil only where it may not wait: MULTI)
    (("BLMOVE", "k", "d", "LEFT", "RIGHT", "0.1"), b"*-1\r\n"), (("BRPOPLPUSH", "k", "d", "0.1"), b"*-1\r\n"),
])
def test_timeout_replies(client, resp3_client, command, raw):
    assert client.call_raw(*command) == raw
    assert resp3_client.call_raw(*command) == b"_\r\n"
    assert client.call("DBSIZE") == 0


def test_a_timed_out_client_is_not_served_later(clients):
    first, second, pusher = clients(3)
    first.send_command("BLPOP", "k", "0.1")
    assert first.read_reply() is None
    second.send_command("BLPOP", "k", 0)
    wait_until_blocked(pusher, 1)
    pusher.call("RPUSH", "k", "v")
    assert second.read_reply() == b("k", "v")
    assert still_waiting(first, pusher)


# -- blocking: being served ---------------------------------------------------------------------


@pytest.mark.parametrize("command,push,reply,left", [
    (("BLPOP", "a", "k", 0), ("RPUSH", "k", "x", "y"), b("k", "x"), ["y"]),
    (("BRPOP", "k", "a", 0), ("RPUSH", "k", "x", "y"), b("k", "y"), ["x"]),
    (("BLMPOP", 0, 2, "a", "k", "LEFT", "COUNT", 2), ("RPUSH", "k", "x", "y", "z"), [b"k", b("x", "y")], ["z"]),
    (("BLMPOP", 0, 1, "k", "RIGHT"), ("RPUSH", "k", "x", "y"), [b"k", [b"y"]], ["x"]),
    (("BLMOVE", "k", "d", "RIGHT", "LEFT", 0), ("LPUSH", "k", "x", "y"), b"x", ["y"]),
    (("BRPOPLPUSH", "k", "d", 0), ("RPUSH", "k", "x"), b"x", []),
    (("BLPOP", "k", "k", 0), ("LPUSH", "k", "x"), b("k", "x"), []),
])
def test_a_push_from_another_client_serves_the_waiter(clients, command, push, reply, left):
    waiter, pusher = clients(2)
    waiter.send_command(*command)
    wait_until_blocked(pusher, 1)
    assert still_waiting(waiter, pusher)
    pusher.call(*push)
    assert waiter.read_reply() == reply
    assert elements(pusher, "k") == b(*left)
    if command[0] in ("BLMOVE", "BRPOPLPUSH"):
        assert elements(pusher, "d") == [reply]
    assert waiter.call("PING") == "PONG", "a served client goes on"


def test_served_reply_in_resp3(clients):
    waiter, pusher = clients(2)
    assert isinstance(waiter.hello(3), dict)
    waiter.send_command("BLPOP", "k", 0)
    wait_until_blocked(pusher, 1)
    pusher.call("RPUSH", "k", "v")
    assert waiter.read_raw_reply() == b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n"


def test_first_blocked_first_served(clients):
    one, two, three, pusher = clients(4)
    for i, waiter in enumerate((one, two, three)):
        waiter.send_command("BLPOP", "k", 0)
        wait_until_blocked(pusher, i + 1)
    assert pusher.call("RPUSH", "k", "a", "b") == 2
    assert one.read_reply() == b("k", "a")
    assert two.read_reply() == b("k", "b")
    assert still_waiting(three, pusher)
    assert pusher.call("EXISTS", "k") == 0
    pusher.call("LPUSH", "k", "c")
    assert three.read_reply() == b("k", "c")


def test_fairness_across_keys(clients):
    both, second_only, pusher = clients(3)
    both.send_command("BRPOP", "k1", "k2", 0)
    wait_until_blocked(pusher, 1)
    second_only.send_command("BRPOP", "k2", 0)
    wait_until_blocked(pusher, 2)
    pusher.call("RPUSH", "k2", "x")
    assert both.read_reply() == b("k2", "x")
    assert still_waiting(second_only, pusher)
    pusher.call("RPUSH", "k1", "y")
    assert still_waiting(second_only, pusher)
    assert elements(pusher, "k1") == b("y")
    pusher.call("RPUSH", "k2", "z")
    assert second_only.read_reply() == b("k2", "z")


def test_a_push_inside_a_transaction_serves_after_exec(clients):
    waiter, pusher = clients(2)
    waiter.send_command("BLPOP", "k", 0)
    wait_until_blocked(pusher, 1)
    assert pusher.call("MULTI") == "OK"
    assert pusher.call("RPUSH", "k", "a", "b") == "QUEUED"
    assert pusher.call("LPUSH", "k", "z") == "QUEUED"
    assert pusher.call("EXEC") == [2, 3]
    assert waiter.read_reply() == b("k", "z"), "served with the list as EXEC left it"
    assert elements(pusher, "k") == b("a", "b")


def test_a_list_filled_and_emptied_in_one_transaction_serves_nobody(clients):
    waiter, pusher = clients(2)
    waiter.send_command("BLPOP", "k", 0)
    wait_until_blocked(pusher, 1)
    assert pusher.pipeline(("MULTI",), ("RPUSH", "k", "x"), ("LPOP", "k"), ("EXEC",)) == \
        ["OK", "QUEUED", "QUEUED", [1, b"x"]]
    assert still_waiting(waiter, pusher)
    pusher.call("RPUSH", "k", "y")
    assert waiter.read_reply() == b("k", "y")


def test_keys_ready_together_serve_in_the_order_they_became_ready(clients):
    waiter, pusher = clients(2)
    waiter.send_command("BLPOP", "ka", "kb", 0)
    wait_until_blocked(pusher, 1)
    assert pusher.pipeline(("MULTI",), ("RPUSH", "kb", "x"), ("RPUSH", "ka", "y"), ("EXEC",))[-1] == [1, 1]
    assert waiter.read_reply() == b("kb", "x")
    assert elements(pusher, "ka") == b("y")


def test_a_key_given_another_type_keeps_the_client_waiting(clients):
    waiter, pusher = clients(2)
    waiter.send_command("BLPOP", "k", 0)
    wait_until_blocked(pusher, 1)
    assert pusher.pipeline(("MULTI",), ("RPUSH", "k", "x"), ("SET", "k", "text"), ("EXEC",))[-1] == [1, "OK"]
    assert still_waiting(waiter, pusher)
    pusher.call("SET", "k", "other")
    assert still_waiting(waiter, pusher)
    pusher.call("DEL", "k")
    pusher.call("RPUSH", "k", "v")
    assert waiter.read_reply() == b("k", "v")


def test_blmove_waiter_whose_source_gets_another_type_keeps_waiting(clients):
    waiter, pusher = clients(2)
    waiter.send_command("BLMOVE", "src", "dst", "LEFT", "RIGHT", 0)
    wait_until_blocked(pusher, 1)
    pusher.pipeline(("MULTI",), ("RPUSH", "src", "x"), ("SET", "src", "text"), ("EXEC",))
    assert still_waiting(waiter, pusher)
    pusher.call("DEL", "src")
    pusher.call("RPUSH", "src", "v")
    assert waiter.read_reply() == b"v"
    assert elements(pusher, "dst") == b("v")


def test_blmove_into_a_destination_of_another_type(clients):
    waiter, pusher = clients(2)
    pusher.call("SET", "dst", "text")
    waiter.send_command("BLMOVE", "src", "dst", "LEFT", "RIGHT", 0)
    wait_until_blocked(pusher, 1)
    pusher.call("RPUSH", "src", "v")
    assert waiter.read_reply() == WRONGTYPE
    assert elements(pusher, "src") == b("v")
    assert pusher.call("GET", "dst") == b"text"
    assert waiter.call("PING") == "PONG"


def test_blmove_chain_serves_the_destination_waiter(clients):
    mover, popper, pusher = clients(3)
    mover.send_command("BLMOVE", "a", "b", "LEFT", "RIGHT", 0)
    wait_until_blocked(pusher, 1)
    popper.send_command("BRPOPLPUSH", "b", "c", 0)
    wait_until_blocked(pusher, 2)
    pusher.call("RPUSH", "a", "v")
    assert mover.read_reply() == b"v"
    assert popper.read_reply() == b"v"
    assert pusher.call("EXISTS", "a", "b") == 0
    assert elements(pusher, "c") == b("v")


def test_a_killed_waiter_is_forgotten(clients):
    doomed, waiter, pusher = clients(3)
    doomed_id = doomed.call("CLIENT", "ID")
    doomed.send_command("BLPOP", "k", 0)
    wait_until_blocked(pusher, 1)
    waiter.send_command("BLPOP", "k", 0)
    wait_until_blocked(pusher, 2)
    assert pusher.call("CLIENT", "KILL", "ID", doomed_id) == 1
    assert doomed.is_closed()
    pusher.call("RPUSH", "k", "v")
    assert waiter.read_reply() == b("k", "v")
    assert pusher.call("EXISTS", "k") == 0


def test_blocking_commands_do_not_wait_inside_multi(client, resp3_client):
    replies = client.pipeline(("MULTI",), ("BLPOP", "k", 0), ("BRPOP", "k", 10), ("BLMPOP", 0, 1, "k", "LEFT"),
                              ("BLMOVE", "k", "d", "LEFT", "LEFT", 0), ("BRPOPLPUSH", "k", "d", 0))
    assert replies == ["OK"] + ["QUEUED"] * 5
    assert client.call_raw("EXEC") == b"*5\r\n*-1\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n"
    resp3_client.call("MULTI")
    resp3_client.call("BLPOP", "k", 0)
    resp3_client.call("BLMOVE", "k", "d", "LEFT", "LEFT", 0)
    assert resp3_client.call_raw("EXEC") == b"*2\r\n_\r\n_\r\n"


def test_blocking_commands_inside_multi_serve_existing_data(client):
    client.call("RPUSH", "k", "a", "b")
    client.call("MULTI")
    client.call("BLPOP", "k", 0)
    client.call("BLMOVE", "k", "d", "LEFT", "LEFT", 0)
    client.call("BLPOP", "k", 0)
    assert client.call("EXEC") == [b("k", "a"), b"b", None]


def test_commands_sent_while_blocked_run_after_the_answer(clients):
    waiter, pusher = clients(2)
    waiter.send_raw(b"*3\r\n$5\r\nBLPOP\r\n$1\r\nk\r\n$1\r\n0\r\n*2\r\n$4\r\nLLEN\r\n$1\r\nk\r\n")
    wait_until_blocked(pusher, 1)
    assert still_waiting(waiter, pusher)
    pusher.call("RPUSH", "k", "a", "b")
    assert waiter.read_reply() == b("k", "a")
    assert waiter.read_reply() == 1
