"""A Hypothesis state machine that judges MULTI/EXEC/DISCARD/WATCH/UNWATCH with two clients.

Client A runs transactions: it WATCHes keys, opens MULTI, queues commands (some of which fail
when run: INCR of a non-integer, RENAME of a missing key; some refused at once: an unknown
command, a wrong arity), then EXECs or DISCARDs. Client B, meanwhile, writes and reads the same
keys (and A may write before its MULTI). The model is a dict of the string keys of database 0
plus what A's connection is in: the keys it watches, whether one of them was modified, whether
it is in MULTI, what it queued, whether a refusal doomed it. It predicts every reply, EXEC's
above all: EXECABORT when doomed, a null array (`*-1`, RESP3 `_`) when a watched key was
modified, else the replies of the queued commands run in order against the data as it is at
EXEC time, runtime errors included.

"Modified" is predicted by `apply`, which says for each command which keys it changed: a write
that changes nothing (DEL of a missing key, SET NX of an existing one, a failing INCR, RENAME of
a key onto itself) does not count; a write of the same value does. After every step the
invariant reads every key through B and compares it with the model.
"""
from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule, \
    run_state_machine_as_test

from conformance.client import Client, ErrorReply
from conformance.targets import Target
from models.keyspace import integer_value

KEYS = (b"a", b"b", b"c")
VALUES = (b"1", b"10", b"-3", b"x", b"")
LLONG_MAX = 2**63 - 1

OK = "OK"
QUEUED = "QUEUED"
NOT_AN_INTEGER = ErrorReply("ERR value is not an integer or out of range")
OVERFLOW = ErrorReply("ERR increment or decrement would overflow")
NO_SUCH_KEY = ErrorReply("ERR no such key")
EXECABORT = ErrorReply("EXECABORT Transaction discarded because of previous errors.")
EXEC_WITHOUT_MULTI = ErrorReply("ERR EXEC without MULTI")
DISCARD_WITHOUT_MULTI = ErrorReply("ERR DISCARD without MULTI")
NESTED_MULTI = ErrorReply("ERR MULTI calls can not be nested")
WATCH_INSIDE_MULTI = ErrorReply("ERR WATCH inside MULTI is not allowed")

keys = st.sampled_from(KEYS)
values = st.sampled_from(VALUES)

# The commands either client may send, as argv tuples; `apply` knows what each does.
commands = st.one_of(
    st.tuples(st.just("SET"), keys, values),
    st.tuples(st.just("SET"), keys, values, st.just("NX")),
    st.tuples(st.just("GET"), keys),
    st.tuples(st.just("DEL"), keys),
    st.tuples(st.just("INCR"), keys),
    st.tuples(st.just("APPEND"), keys, values),
    st.tuples(st.just("RENAME"), keys, keys),
    st.tuples(st.just("EXISTS"), keys),
)
write_commands = commands.filter(lambda args: args[0] not in ("GET", "EXISTS"))
# Refused before being queued: the transaction is doomed.
refusals = st.sampled_from((
    (("NOSUCHCOMMAND",), "ERR unknown command 'NOSUCHCOMMAND', with args beginning with: "),
    (("GET",), "ERR wrong number of arguments for 'get' command"),
    (("SET", "a"), "ERR wrong number of arguments for 'set' command"),
))


def apply(data: dict[bytes, bytes], args: tuple) -> tuple[object, set[bytes]]:
    """Run one command on the model's data: (its reply, the keys it modified)."""
    name, key = args[0], args[1]
    if name == "GET":
        return data.get(key), set()
    if name == "EXISTS":
        return int(key in data), set()
    if name == "SET":
        if len(args) == 4 and key in data:  # NX, and the key exists: nothing happens
            return None, set()
        data[key] = args[2]
        return OK, {key}
    if name == "DEL":
        return (1, {key}) if data.pop(key, None) is not None else (0, set())
    if name == "INCR":
        number = integer_value(data.get(key, b"0"))
        if number is None:
            return NOT_AN_INTEGER, set()
        if number == LLONG_MAX:
            return OVERFLOW, set()
        data[key] = b"%d" % (number + 1)
        return number + 1, {key}
    if name == "APPEND":
        data[key] = data.get(key, b"") + args[2]
        return len(data[key]), {key}
    if name == "RENAME":
        if key not in data:
            return NO_SUCH_KEY, set()
        if args[2] == key:
            return OK, set()  # renamed onto itself: nothing changes
        value = data.pop(key)
        data[args[2]] = value
        return OK, {key, args[2]}
    raise AssertionError(f"the model does not know {args!r}")


class TransactionMachine(RuleBasedStateMachine):
    """Drives client A (transactions) and client B (the others); see the module docstring."""

    target: Target  # set by machine_on before running

    def __init__(self):
        super().__init__()
        self.a = Client(self.target.host, self.target.port)
        self.b = Client(self.target.host, self.target.port)
        self.expect(self.b.call("FLUSHALL"), OK, ("FLUSHALL",))
        self.data: dict[bytes, bytes] = {}
        self.protocol = 2
        self.watched: set[bytes] = set()  # keys A watches
        self.dirty = False                # one of them was modified since
        self.queue: list[tuple] | None = None  # A's queued commands, None outside MULTI
        self.doomed = False               # a command was refused while queueing

    def teardown(self):
        self.a.close()
        self.b.close()

    @staticmethod
    def expect(reply, expected, args):
        assert type(reply) is type(expected) and reply == expected, (
            f"{args!r} -> {reply!r}, the model expects {expected!r}")

    def write(self, args):
        """Apply args to the model; a modified watched key makes A's EXEC fail."""
        reply, modified = apply(self.data, args)
        if modified & self.watched:
            self.dirty = True
        return reply

    def end_transaction(self):
        self.queue = None
        self.doomed = False
        self.watched = set()
        self.dirty = False

    # -- client A ---------------------------------------------------------------

    @initialize(protocol=st.sampled_from((2, 3)))
    def choose_protocol(self, protocol):
        reply = self.a.hello(protocol)
        assert isinstance(reply, (list, dict)), f"HELLO {protocol} -> {reply!r}"
        self.protocol = protocol

    @rule(watch=st.lists(keys, min_size=1, max_size=3))
    def a_watch(self, watch):
        args = ("WATCH", *watch)
        if self.queue is not None:
            self.expect(self.a.call(*args), WATCH_INSIDE_MULTI, args)  # not a refusal: not doomed
            return
        self.expect(self.a.call(*args), OK, args)
        self.watched.update(watch)

    @rule()
    def a_unwatch(self):
        if self.queue is not None:
            self.expect(self.a.call("UNWATCH"), QUEUED, ("UNWATCH",))
            self.queue.append(("UNWATCH",))
            return
        self.expect(self.a.call("UNWATCH"), OK, ("UNWATCH",))
        self.watched = set()
        self.dirty = False

    @precondition(lambda self: self.queue is None)
    @rule(args=commands)
    def a_runs_before_multi(self, args):
        """A's own command outside a transaction: its writes count against its watches."""
        self.expect(self.a.call(*args), self.write(args), args)

    @rule()
    def a_multi(self):
        if self.queue is not None:
            self.expect(self.a.call("MULTI"), NESTED_MULTI, ("MULTI",))  # the transaction goes on
            return
        self.expect(self.a.call("MULTI"), OK, ("MULTI",))
        self.queue = []

    @precondition(lambda self: self.queue is None)
    @rule()
    def a_multi_then_queues(self):
        """MULTI and a first command: transactions that get somewhere are the interesting ones."""
        self.a_multi()
        self.a_queues(("INCR", b"a"))

    @precondition(lambda self: self.queue is not None)
    @rule(args=commands)
    def a_queues(self, args):
        self.expect(self.a.call(*args), QUEUED, args)
        self.queue.append(args)

    @precondition(lambda self: self.queue is not None)
    @rule(key=keys)
    def a_queues_a_runtime_failure(self, key):
        """Queue a command sure to fail when run (INCR of a non-integer), after a SET that
        makes sure of it: the failure is one element of EXEC's reply, the SET takes effect."""
        for args in (("SET", key, b"x"), ("INCR", key)):
            self.expect(self.a.call(*args), QUEUED, args)
            self.queue.append(args)

    @precondition(lambda self: self.queue is not None)
    @rule(refusal=refusals)
    def a_queues_a_refused_command(self, refusal):
        args, error = refusal
        self.expect(self.a.call(*args), ErrorReply(error), args)
        self.doomed = True

    @precondition(lambda self: self.queue is None)
    @rule(key=keys, interference=st.none() | commands)
    def a_check_and_set(self, key, interference):
        """The pattern WATCH exists for: WATCH key, GET it, (B may act), MULTI, APPEND
        a mark, EXEC. It runs only if nothing modified the key (or another watched
        key) in between."""
        self.a_watch([key])
        self.expect(self.a.call("GET", key), self.data.get(key), ("GET", key))
        if interference is not None:
            self.expect(self.b.call(*interference), self.write(interference), interference)
        self.a_multi()
        self.a_queues(("APPEND", key, b"+"))
        self.a_exec()

    @precondition(lambda self: self.queue is None)
    @rule(command=st.sampled_from(("EXEC", "DISCARD")))
    def a_ends_without_multi(self, command):
        """A plain error; the watches stay."""
        error = EXEC_WITHOUT_MULTI if command == "EXEC" else DISCARD_WITHOUT_MULTI
        self.expect(self.a.call(command), error, (command,))

    @precondition(lambda self: self.queue is not None)
    @rule()
    def a_exec(self):
        queue, doomed, dirty = self.queue, self.doomed, self.dirty
        self.end_transaction()
        if doomed:
            self.expect(self.a.call("EXEC"), EXECABORT, ("EXEC",))
        elif dirty:
            null = b"_\r\n" if self.protocol == 3 else b"*-1\r\n"
            self.expect(self.a.call_raw("EXEC"), null, ("EXEC",))
        else:
            expected = [OK if args == ("UNWATCH",) else apply(self.data, args)[0] for args in queue]
            self.expect(self.a.call("EXEC"), expected, ("EXEC", queue))

    @precondition(lambda self: self.queue is not None)
    @rule()
    def a_discard(self):
        self.expect(self.a.call("DISCARD"), OK, ("DISCARD",))
        self.end_transaction()

    # -- client B ---------------------------------------------------------------

    @rule(args=write_commands)
    def b_writes(self, args):
        self.expect(self.b.call(*args), self.write(args), args)

    @rule(key=keys)
    def b_reads(self, key):
        self.expect(self.b.call("GET", key), self.data.get(key), ("GET", key))

    @rule()
    def b_flushes(self):
        """FLUSHALL modifies the watched keys that existed, only those."""
        if self.watched & set(self.data):
            self.dirty = True
        self.data.clear()
        self.expect(self.b.call("FLUSHALL"), OK, ("FLUSHALL",))

    # -- invariant --------------------------------------------------------------

    @invariant()
    def data_matches_the_model(self):
        reply = self.b.call("MGET", *KEYS)
        self.expect(reply, [self.data.get(key) for key in KEYS], ("MGET", *KEYS))


def machine_on(target: Target) -> type[TransactionMachine]:
    """TransactionMachine bound to a target (Hypothesis constructs machines without arguments)."""
    return type("TransactionMachine", (TransactionMachine,), {"target": target})


def run_against(target: Target) -> None:
    """Run the machine against target with the current Hypothesis settings."""
    run_state_machine_as_test(machine_on(target))
