"""Tests derived from the spec's grammar: for every declared command, Hypothesis builds valid
invocations from its argument tree and invalid ones (wrong arity, an unknown option, two
alternatives of one oneof, a non-number where a number goes) and checks what the target says.

Valid invocations may still fail for reasons of meaning (a missing key, a DB index out of range),
but never with a syntax, arity or unknown-command error. Invalid ones get the exact error the
spec names (its `unknown-option:` and `bad-value:` fields, else Redis's generic texts), leave the
data as it was, and leave the connection open.
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spec
from spec import Arg, counts_next
from conformance.client import ErrorReply

# Commands that would end the session, change authentication or the server's configuration,
# stop the server, wait (blocking commands), or change what the connection may send next
# (MULTI, SUBSCRIBE), or answer with one frame per argument (UNSUBSCRIBE) if run with random
# arguments; their own family tests cover them.
NOT_RUN_AT_RANDOM = {"shutdown", "quit", "debug", "client|kill", "config|set", "auth", "hello",
                     "reset", "client|setname", "multi", "subscribe", "psubscribe", "ssubscribe",
                     "unsubscribe", "punsubscribe", "sunsubscribe",
                     # replication: they make the server (or the connection) a replica
                     "replicaof", "slaveof", "sync", "psync", "replconf",
                     # FAILOVER: ABORT counts only alone, where the docs allow it with the rest
                     "failover",
                     # a computation of seconds (test_hyperloglog.py waits for it as long as it takes)
                     "pfselftest"}

# Errors that say a command line does not fit its command (Redis also words some errors of
# meaning "ERR syntax error, ..." with more text: those are not structural).
STRUCTURAL_ERRORS = ("ERR wrong number of arguments", "ERR unknown command",
                     "ERR unknown subcommand", "ERR Unsupported option")
INTEGER_ERROR = "ERR value is not an integer or out of range"
FLOAT_ERROR = "ERR value is not a valid float"

COMMANDS = [c for c in spec.all_commands() if not c.container]
RUNNABLE = [c for c in COMMANDS if c.name not in NOT_RUN_AT_RANDOM and "blocking" not in c.flags]
SEED = {b"k1": b"one", b"k2": b"2", b"k3": b"three"}


def words(command: spec.CommandSpec) -> list[bytes]:
    return [w.encode() for w in command.display_name.split()]


def token_case(token: str):
    return st.sampled_from([token.upper(), token.lower(), token.capitalize()]).map(str.encode)


def leaf_value(arg: Arg):
    if arg.type == "key":
        return st.sampled_from(sorted(SEED) + [b"absent"])
    if arg.type == "integer":
        return st.integers(1, 100).map(lambda n: str(n).encode())
    if arg.type == "unix-time":
        return st.integers(4_000_000_000, 4_100_000_000).map(lambda n: str(n).encode())
    if arg.type == "double":
        return st.sampled_from([b"1.5", b"2", b"-0.25", b"1e2"])
    if arg.type == "pattern":
        return st.sampled_from([b"*", b"k?", b"k[12]"])
    return st.sampled_from([b"v", b"hello", b"42", b"a b"])


def arg_strategy(arg: Arg, required: bool = False):
    """Valid argv pieces (a list of bytes) for one argument."""
    if arg.type == "pure-token":
        one = token_case(arg.token).map(lambda t: [t])
    else:
        if arg.type == "oneof":
            body = st.one_of([arg_strategy(child, required=True) for child in arg.children])
        elif arg.type == "block":
            body = sequence_strategy(arg.children)
        else:
            body = leaf_value(arg).map(lambda v: [v])
        if arg.token is not None:
            one = st.tuples(token_case(arg.token), body).map(lambda tb: [tb[0], *tb[1]])
        else:
            one = body
    if arg.multiple:
        if arg.token is not None and not arg.multiple_token and arg.type != "pure-token":
            # the keyword once, then the repeated values
            body_only = (st.one_of([arg_strategy(c, True) for c in arg.children]) if arg.type == "oneof"
                         else sequence_strategy(arg.children) if arg.type == "block"
                         else leaf_value(arg).map(lambda v: [v]))
            one = st.tuples(token_case(arg.token), st.lists(body_only, min_size=1, max_size=3)).map(
                lambda tl: [tl[0], *[w for piece in tl[1] for w in piece]])
        else:
            one = st.lists(one, min_size=1, max_size=3).map(lambda pieces: [w for p in pieces for w in p])
    if arg.optional and not required:
        return st.one_of(st.just([]), one)
    return one


def sequence_strategy(args, exclusive=frozenset()) -> st.SearchStrategy:
    """Valid argv for a sequence; of the `exclusive` arguments at most one is generated."""
    if not args:
        return st.just([])
    def build(keep):
        parts = []
        for i, arg in enumerate(args):
            if arg.name in exclusive and arg.name != keep:
                parts.append(st.just([]))
            elif counts_next(args, i):
                parts.append(st.just([]))  # written together with the keys it counts, below
            elif i > 0 and counts_next(args, i - 1):
                parts.append(st.lists(leaf_value(arg), min_size=1, max_size=3).map(
                    lambda keys: [str(len(keys)).encode(), *keys]))
            else:
                parts.append(arg_strategy(arg))
        return st.tuples(*parts).map(lambda pieces: [w for piece in pieces for w in piece])
    if not exclusive:
        return build(None)
    return st.sampled_from(sorted(exclusive)).flatmap(build)


def fresh(client) -> None:
    client.call("SELECT", 0)
    client.call("FLUSHALL")
    client.call("MSET", *[x for kv in SEED.items() for x in kv])


def assert_untouched(client) -> None:
    assert client.call("PING") == "PONG", "the connection must survive a bad command"
    assert client.call("MGET", *SEED) == list(SEED.values())
    assert client.call("DBSIZE") == len(SEED)


# --- valid invocations ---------------------------------------------------------------------


# Commands whose docs type as a free string what must be one of a few words (BITOP's
# operation); their `parse:` line names the words, and valid invocations are built from it.
ENUMERATED_IN_PARSE_LINE = {"bitop"}


def valid_tree(command: spec.CommandSpec):
    """The arguments to build valid invocations from: the documented ones (what the docs promise
    works), unless the docs list none where the server takes some (DEBUG, COMMAND GETKEYS)."""
    if command.name in ENUMERATED_IN_PARSE_LINE:
        return command.parse_arguments
    return command.arguments if command.arguments or not command.parse_arguments else command.parse_arguments


@pytest.mark.parametrize("command", RUNNABLE, ids=lambda c: c.name)
def test_valid_invocations_are_accepted(client, command):
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
              max_examples=15)
    @given(sequence_strategy(valid_tree(command), command.exclusive))
    def check(argv):
        fresh(client)
        reply = client.call(*words(command), *argv)
        if isinstance(reply, ErrorReply):
            assert reply != "ERR syntax error" and not reply.startswith(STRUCTURAL_ERRORS), (argv, reply)
        if command.name == "select":
            client.call("SELECT", 0)

    check()


# --- wrong arity ---------------------------------------------------------------------------


def wrong_arity_argv(command: spec.CommandSpec) -> list[bytes] | None:
    name = words(command)
    if command.arity > 0:
        return name + [b"x"] * (command.arity - len(name) + 1)
    if -command.arity - 1 >= len(name):
        return name + [b"x"] * (-command.arity - 1 - len(name))
    return None


WRONG_ARITY = [c for c in spec.all_commands() if wrong_arity_argv(c) is not None]


@pytest.mark.parametrize("command", WRONG_ARITY, ids=lambda c: c.name)
def test_wrong_arity(client, command):
    fresh(client)
    reply = client.call(*wrong_arity_argv(command))
    expected = f"wrong number of arguments for '{command.name}' command"
    if command.name == "exec":  # a refused EXEC says it discarded the transaction
        assert reply == ErrorReply(f"EXECABORT Transaction discarded because of: {expected}")
    else:
        assert reply == ErrorReply(f"ERR {expected}")
    assert_untouched(client)


# --- an unknown option ---------------------------------------------------------------------


def ends_in_options(command: spec.CommandSpec) -> bool:
    args = command.parse_arguments
    return (command.arity < 0 and bool(args) and args[-1].optional
            and (args[-1].token is not None
                 or (args[-1].type == "oneof" and all(c.token for c in args[-1].children))))


UNKNOWN_OPTION = [c for c in RUNNABLE if ends_in_options(c)]


@pytest.mark.parametrize("command", UNKNOWN_OPTION, ids=lambda c: c.name)
def test_unknown_option(client, command):
    required = [a for a in command.parse_arguments if not a.optional]

    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=5)
    @given(sequence_strategy(required))
    def check(argv):
        fresh(client)
        reply = client.call(*words(command), *argv, b"BOGUSOPT")
        expected = (command.unknown_option or "ERR syntax error").replace("{option}", "BOGUSOPT")
        if command.parent:  # the subcommand as it was typed
            expected = expected.replace("{subcommand}", words(command)[1].decode())
        assert reply == ErrorReply(expected), argv
        assert_untouched(client)

    check()


# --- two alternatives of one oneof ---------------------------------------------------------


def conflicting(command: spec.CommandSpec):
    for arg in command.parse_arguments:
        if (arg.type == "oneof" and arg.optional and arg.name not in command.combinable
                and arg.name not in command.overrides
                and len(arg.children) >= 2 and all(c.token for c in arg.children)):
            return arg
    return None


CONFLICTS = [c for c in RUNNABLE if conflicting(c) is not None]


@pytest.mark.parametrize("command", CONFLICTS, ids=lambda c: c.name)
def test_two_alternatives_of_a_oneof(client, command):
    oneof = conflicting(command)
    required = [a for a in command.parse_arguments if not a.optional]

    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=5)
    @given(sequence_strategy(required), arg_strategy(oneof.children[0], True),
           arg_strategy(oneof.children[1], True))
    def check(argv, first, second):
        fresh(client)
        reply = client.call(*words(command), *argv, *first, *second)
        assert reply == ErrorReply("ERR syntax error"), (argv, first, second)
        assert_untouched(client)

    check()


# --- a non-number where a number goes ------------------------------------------------------


def numeric_leaves(args, path=()):
    for arg in args:
        if arg.type in ("integer", "double", "unix-time"):
            yield arg
        yield from numeric_leaves(arg.children)


NUMERIC = [(c, leaf) for c in RUNNABLE for leaf in numeric_leaves(c.parse_arguments)]


def replace_number(arg: Arg, target: Arg, bad: bytes):
    """A strategy for one argument in which `target`'s value is `bad` (when it is generated)."""
    if arg is target:
        piece = st.just([bad])
        if arg.token is not None:
            piece = st.just([arg.token.encode(), bad])
        return piece
    if arg.type in ("oneof",) and target in arg.children:
        return replace_number(target, target, bad)
    if arg.type == "block" and _contains(arg, target):
        inner = st.tuples(*[replace_number(c, target, bad) if _contains(c, target) else arg_strategy(c, True)
                            for c in arg.children]).map(lambda ps: [w for p in ps for w in p])
        if arg.token is not None:
            inner = inner.map(lambda ws: [arg.token.encode(), *ws])
        return inner
    if arg.type == "oneof" and _contains(arg, target):
        child = next(c for c in arg.children if _contains(c, target))
        return replace_number(child, target, bad)
    return arg_strategy(arg, True) if not arg.optional else st.just([])


def with_bad_number(args, target: Arg, bad: bytes) -> list:
    """Strategies for each argument of a sequence, `target` given `bad` (a counted key list
    keeps its count right, unless the count is the target)."""
    parts = []
    for i, arg in enumerate(args):
        if i > 0 and counts_next(args, i - 1):
            continue  # written with its count
        if counts_next(args, i):
            if arg is target:
                parts.append(st.just([bad, b"k1"]))
            else:
                parts.append(st.lists(leaf_value(args[i + 1]), min_size=1, max_size=2).map(
                    lambda keys: [str(len(keys)).encode(), *keys]))
        else:
            parts.append(replace_number(arg, target, bad))
    return parts


def _contains(arg: Arg, target: Arg) -> bool:
    return arg is target or any(_contains(c, target) for c in arg.children)


@pytest.mark.parametrize("command,leaf", NUMERIC, ids=lambda x: x.name if hasattr(x, "name") else "")
def test_not_a_number(client, command, leaf):
    @settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=3)
    @given(st.tuples(*with_bad_number(command.parse_arguments, leaf, b"notanumber")))
    def check(pieces):
        argv = [w for p in pieces for w in p]
        fresh(client)
        reply = client.call(*words(command), *argv)
        default = FLOAT_ERROR if leaf.type == "double" else INTEGER_ERROR
        assert reply == ErrorReply(command.bad_values.get(leaf.name, default)), argv
        assert_untouched(client)

    check()
