"""A Hypothesis state machine that crashes a server and judges what it recovers.

The machine launches its own server (through conformance.targets' launcher,
so the same code judges real redis-server and the reference), in a fresh dir,
with no save points (`--save ""`) and small encoding thresholds, so that
containers of a few elements already take the big encodings (quicklist of
several nodes, hashtable, skiplist) and both forms go through the RDB file.

The model holds two states, each a list of databases (key -> Entry):

  * `live`: what the server holds now; every write rule predicts its reply
    from it and updates it;
  * `durable`: what the server must recover after a crash. With RDB only
    (RdbMachine) that is the last completed snapshot: SAVE, a background save
    that finished (the state at the moment of BGSAVE, not later writes), DEBUG
    RELOAD, SHUTDOWN SAVE. Nothing else changes it: a kill -9, SHUTDOWN [NOSAVE]
    or SIGTERM without save points, FLUSHALL without save points, a background
    save killed half way (its temporary file never replaces the dump).

A crash is SIGKILL to the server's whole process group: the server and any
saving child it forked die together, as on a power loss. (Killing the parent
alone would leave an orphan child that may still rename its file over the
dump later, which is a different question from "what does a restart load".)
After every restart the whole keyspace is read back (KEYS *, TYPE, the
type's whole-value read, PTTL) and must equal `durable` exactly; then live :=
durable. After every step the live state is read back the same way.

Expiries are long (1000 s or more), so none passes during a run; a deadline
is an interval of unix ms (models.keyspace.Deadline) and a PTTL read back
must fall within it, measured from the wall-clock times around the read.

The machine is split for further scenarios: PersistenceMachine holds the
server's lifecycle, the writes and the comparisons; `acknowledged_write` is
the hook a model where every acknowledged write is durable (AOF with
`appendfsync always`) overrides. RdbMachine adds the snapshot rules; AofMachine
(every propagated write durable, BGREWRITEAOF with writes meanwhile, a crash half way
through it, a torn last write) the AOF ones.
"""

from __future__ import annotations

import functools
import math
import os
import signal
import subprocess
import time
from typing import ClassVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from conformance import waiting
from conformance.client import ErrorReply
from conformance.readings import info
from conformance.targets import RunningServer, ServerLauncher, free_port, is_port_free
from models.keyspace import (
    Deadline,
    Entry,
    Hash,
    ZSet,
    integer_value,
    now_ms,
    type_name,
    zset_order,
)

ERR_WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
ERR_NOT_INTEGER = "ERR value is not an integer or out of range"
ERR_OVERFLOW = "ERR increment or decrement would overflow"
WAIT = 15.0  # seconds a background save or a shutdown gets to finish
CLOCK_SLACK_MS = 2  # PTTL rounding between the server's clock and ours

DATABASES = (0, 1)
KEYS = (b"a", b"b", b"c", b"d")
SMALL = 4  # the encoding thresholds the server is launched with
SERVER_OPTIONS = {
    "dbfilename": "dump.rdb",
    "list_max_listpack_size": SMALL,
    "hash_max_listpack_entries": SMALL,
    "zset_max_listpack_entries": SMALL,
    "set_max_intset_entries": SMALL,
}

# String values: integers (stored int-encoded), binary, long and compressible
# (LZF in the RDB), and a long one past hash/zset-max-listpack-value (64).
LONG = b"0123456789" * 7
STRINGS = (b"", b"v", b"12", b"-7", b"9223372036854775807", b"3.5", b"\x00\xff\r\n", b"x" * 100, LONG)
ELEMENTS = (b"1", b"2", b"-3", b"100", b"x", b"y", b"", LONG)
# Scores that %.17g prints back exactly, as both servers answer them.
SCORES = (0.0, 1.0, -1.0, 0.5, 1.1, 1e-300, 3.14159, math.inf, -math.inf)
EXPIRY_SECONDS = (1000, 100_000, 10_000_000)

databases = st.sampled_from(DATABASES)
keys = st.sampled_from(KEYS)
strings = st.sampled_from(STRINGS)
elements = st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=4)
field_values = st.lists(st.tuples(st.sampled_from(ELEMENTS), strings), min_size=1, max_size=3)
score_members = st.lists(st.tuples(st.sampled_from(SCORES), st.sampled_from(ELEMENTS)), min_size=1, max_size=4)


def format_score(score: float) -> bytes:
    """A score as a ZADD argument."""
    if math.isinf(score):
        return b"+inf" if score > 0 else b"-inf"
    return repr(score).encode()


def persistence_info(client) -> dict[str, str]:
    return info(client, "persistence")


wait_for = functools.partial(waiting.wait_for, timeout=WAIT)


def copy_state(state: list[dict]) -> list[dict]:
    """Entries and values are immutable: copying the dicts copies the state."""
    return [dict(db) for db in state]


class PersistenceMachine(RuleBasedStateMachine):
    """A launched server, its live and durable states, the writes; see the module docstring."""

    launcher: ServerLauncher  # set by machine_on
    server_options: ClassVar[dict] = SERVER_OPTIONS

    def __init__(self):
        super().__init__()
        self.server: RunningServer = self.launcher.start(port=free_port(), **self.server_options)
        self.client = self.server.client()
        self.live: list[dict[bytes, Entry]] = [{} for _ in DATABASES]
        self.durable: list[dict[bytes, Entry]] = [{} for _ in DATABASES]
        self.selected = 0

    def teardown(self):
        self.client.close()
        self.server.stop()

    # -- talking to the server -------------------------------------------------------

    def call(self, db: int, *args):
        if db != self.selected:
            assert self.client.call("SELECT", db) == "OK"
            self.selected = db
        return self.client.call(*args)

    def expect(self, reply, expected, args):
        assert type(reply) is type(expected) and reply == expected, (
            f"{args!r} -> {reply!r}, the model expects {expected!r}\n--- server log ---\n{self.server.log_tail()}"
        )

    def acknowledged_write(self) -> None:
        """Called after every write the server acknowledged. With RDB only nothing becomes durable."""

    def has_keys(self) -> bool:
        return any(self.live)

    def start_slowly(self, seconds: float, command: str, started: str) -> None:
        """Start a background save (BGSAVE) or rewrite (BGREWRITEAOF) that takes about `seconds`.

        rdb-key-save-delay (a hidden test setting, in microseconds) is slept per key the child
        writes, by BGSAVE and, in Redis 7.0, by BGREWRITEAOF too (RDB preamble or commands);
        the forked child keeps the value it had at the fork, so it is set back at once.
        """
        total = sum(len(db) for db in self.live)
        assert total > 0, "an empty keyspace is written without any delay"
        delay_us = max(1, int(seconds * 1_000_000 / total))
        self.expect(self.call(0, "CONFIG", "SET", "rdb-key-save-delay", delay_us), "OK", ("CONFIG", "SET"))
        self.expect(self.call(0, command), started, (command,))
        self.expect(self.call(0, "CONFIG", "SET", "rdb-key-save-delay", 0), "OK", ("CONFIG", "SET"))

    # -- the server's lifecycle --------------------------------------------------------

    def crash(self) -> None:
        """SIGKILL to the server's process group (it and any child it forked), as a power loss."""
        self.client.close()
        try:
            os.killpg(self.server.process.pid, signal.SIGKILL)  # launched with setsid: group = pid
        except ProcessLookupError:
            pass
        self.server.kill()  # reaps it
        # The child dies a moment later than its parent (it is not ours to wait for); until it
        # has, it holds the listening socket it inherited and the restart could not bind.
        wait_for(lambda: is_port_free(self.server.port), "the killed processes to release the port")

    def shutdown(self, *args) -> None:
        """SHUTDOWN [args]: the server closes the connection and exits with status 0."""
        try:
            reply = self.client.call("SHUTDOWN", *args)
        except ConnectionError:
            reply = None
        assert reply is None, f"SHUTDOWN {args} -> {reply!r}\n{self.server.log_tail()}"
        self.client.close()
        self.wait_exit()

    def terminate(self) -> None:
        """SIGTERM: a shutdown that saves only if save points are configured."""
        self.client.close()
        self.server.process.terminate()
        self.wait_exit()

    def wait_exit(self) -> None:
        try:
            status = self.server.process.wait(WAIT)
        except subprocess.TimeoutExpired:
            self.server.kill()
            raise AssertionError(f"the server did not exit within {WAIT}s\n{self.server.log_tail()}")
        assert status == 0, f"the server exited with status {status}\n{self.server.log_tail()}"

    def start_again(self) -> None:
        """Launch the stopped server again (same port, dir, options); it must recover `durable`."""
        self.server.launch()
        self.client = self.server.client()
        self.selected = 0
        self.live = copy_state(self.durable)
        self.state_matches(self.durable, "after the restart")

    # -- reading the whole keyspace back ---------------------------------------------

    def state_matches(self, state: list[dict[bytes, Entry]], when: str) -> None:
        for index, db in enumerate(DATABASES):
            self.database_matches(db, state[index], when)

    def database_matches(self, db: int, model: dict[bytes, Entry], when: str) -> None:
        context = f"db {db} {when}"
        found = self.call(db, "KEYS", "*")
        assert sorted(found) == sorted(model), f"{context}: KEYS * -> {sorted(found)!r}, the model has {sorted(model)!r}"
        if not model:
            return
        names = sorted(model)
        types = self.client.pipeline(*[("TYPE", key) for key in names])
        reads = []
        for key, found_type in zip(names, types):
            expected_type = type_name(model[key].value)
            assert found_type == expected_type, f"{context}: TYPE {key!r} -> {found_type!r}, the model has {expected_type}"
            reads.append(READS[expected_type](key))
        before = now_ms()
        replies = self.client.pipeline(*reads, *[("PTTL", key) for key in names])
        after = now_ms()
        for key, reply in zip(names, replies):
            value = model[key].value
            got = decode_value(type_name(value), reply)
            assert got == value, f"{context}: {key!r} holds {got!r}, the model has {value!r}"
        for key, pttl in zip(names, replies[len(names) :]):
            deadline = model[key].deadline
            if deadline is None:
                assert pttl == -1, f"{context}: PTTL {key!r} -> {pttl!r}, the model has no expiry"
            else:
                low = deadline.earliest - after - CLOCK_SLACK_MS
                high = deadline.latest - before + CLOCK_SLACK_MS
                assert isinstance(pttl, int) and low <= pttl <= high, (
                    f"{context}: PTTL {key!r} -> {pttl!r}, the model expects {low}..{high}"
                )

    @invariant()
    def live_state_matches(self):
        self.state_matches(self.live, "(live)")

    # -- writes --------------------------------------------------------------------

    def write(self, db: int, args: tuple, expected, key: bytes | None = None, entry: Entry | None = None,
              always_propagated: bool = False):
        """Send a write, check its reply; with a key, it succeeded: key now holds entry (None: deleted).

        The server logs (propagates) a write that changed something, and some that did not
        (HSET always); those are the acknowledged writes. A caller that changes `live`
        itself calls acknowledged_write.
        """
        reply = self.call(db, *args)
        self.expect(reply, expected, args)
        if key is not None:
            changed = self.live[db].get(key) != entry
            if entry is None:
                self.live[db].pop(key, None)
            else:
                self.live[db][key] = entry
            if changed or always_propagated:
                self.acknowledged_write()

    def container(self, db: int, key: bytes, kind: type):
        """(current value or an empty one, deadline), or None if the key holds another type."""
        entry = self.live[db].get(key)
        if entry is None:
            return kind(), None
        if type(entry.value) is not kind:
            return None
        return entry.value, entry.deadline

    def set_string(self, db: int, key: bytes, value: bytes):
        self.write(db, ("SET", key, value), "OK", key, Entry(value), always_propagated=True)

    @rule(db=databases, key=keys, value=strings)
    def set(self, db, key, value):
        self.set_string(db, key, value)

    @rule(db=databases, names=st.lists(keys, min_size=1, max_size=3))
    def delete(self, db, names):
        present = set(names) & set(self.live[db])
        self.write(db, ("DEL", *names), len(present))
        for key in present:
            del self.live[db][key]
        if present:
            self.acknowledged_write()

    @rule(db=databases, key=keys)
    def incr(self, db, key):
        entry = self.live[db].get(key)
        if entry is None:
            self.write(db, ("INCR", key), 1, key, Entry(b"1"))
            return
        if type(entry.value) is not bytes:
            self.write(db, ("INCR", key), ErrorReply(ERR_WRONGTYPE))
            return
        number = integer_value(entry.value)
        if number is None:
            self.write(db, ("INCR", key), ErrorReply(ERR_NOT_INTEGER))
        elif number == 2**63 - 1:
            self.write(db, ("INCR", key), ErrorReply(ERR_OVERFLOW))
        else:
            self.write(db, ("INCR", key), number + 1, key, Entry(str(number + 1).encode(), entry.deadline))

    @rule(db=databases, key=keys, items=elements)
    def rpush(self, db, key, items):
        current = self.container(db, key, tuple)
        if current is None:
            self.write(db, ("RPUSH", key, *items), ErrorReply(ERR_WRONGTYPE))
            return
        value, deadline = current
        new = value + tuple(items)
        self.write(db, ("RPUSH", key, *items), len(new), key, Entry(new, deadline))

    @rule(db=databases, key=keys, members=elements)
    def sadd(self, db, key, members):
        current = self.container(db, key, frozenset)
        if current is None:
            self.write(db, ("SADD", key, *members), ErrorReply(ERR_WRONGTYPE))
            return
        value, deadline = current
        new = value | frozenset(members)
        self.write(db, ("SADD", key, *members), len(new) - len(value), key, Entry(new, deadline))

    @rule(db=databases, key=keys, pairs=field_values)
    def hset(self, db, key, pairs):
        args = ("HSET", key, *[part for pair in pairs for part in pair])
        current = self.container(db, key, Hash)
        if current is None:
            self.write(db, args, ErrorReply(ERR_WRONGTYPE))
            return
        value, deadline = current
        new = Hash(value)
        new.update(pairs)
        self.write(db, args, len(new) - len(value), key, Entry(new, deadline), always_propagated=True)

    @rule(db=databases, key=keys, pairs=score_members)
    def zadd(self, db, key, pairs):
        args = ("ZADD", key, *[part for score, member in pairs for part in (format_score(score), member)])
        current = self.container(db, key, ZSet)
        if current is None:
            self.write(db, args, ErrorReply(ERR_WRONGTYPE))
            return
        value, deadline = current
        new = ZSet(value)
        new.update((member, score) for score, member in pairs)
        self.write(db, args, len(new) - len(value), key, Entry(new, deadline))

    @rule(db=databases, key=keys, seconds=st.sampled_from(EXPIRY_SECONDS))
    def expire(self, db, key, seconds):
        entry = self.live[db].get(key)
        before = now_ms()
        reply = self.call(db, "EXPIRE", key, seconds)
        after = now_ms()
        self.expect(reply, int(entry is not None), ("EXPIRE", key, seconds))
        if entry is not None:
            self.live[db][key] = Entry(entry.value, Deadline.after(seconds * 1000, before, after))
            self.acknowledged_write()

    @rule(db=databases, key=keys)
    def persist(self, db, key):
        entry = self.live[db].get(key)
        has_expiry = entry is not None and entry.deadline is not None
        self.write(db, ("PERSIST", key), int(has_expiry), key if has_expiry else None,
                   Entry(entry.value) if has_expiry else None)

    # -- crashes and clean stops that save nothing ---------------------------------------

    @rule()
    def kill_and_restart(self):
        """kill -9 at any point: the restart loads what is durable."""
        self.crash()
        self.start_again()

    @rule(how=st.sampled_from(("SHUTDOWN", "SHUTDOWN NOSAVE", "SIGTERM")))
    def stop_without_saving_and_restart(self, how):
        """Without save points, SHUTDOWN and SIGTERM do not save; NOSAVE never does."""
        if how == "SIGTERM":
            self.terminate()
        else:
            self.shutdown(*how.split()[1:])
        self.start_again()


class RdbMachine(PersistenceMachine):
    """RDB snapshots only: durable is the last completed snapshot."""

    def snapshot_taken(self, state: list[dict] | None = None) -> None:
        self.durable = copy_state(self.live if state is None else state)

    def dump_bytes(self) -> bytes | None:
        try:
            with open(os.path.join(self.server.dir, "dump.rdb"), "rb") as dump:
                return dump.read()
        except FileNotFoundError:
            return None

    def temp_files(self) -> set[str]:
        """The temporary files of saves in the dir (a crash may leave one behind)."""
        return {name for name in os.listdir(self.server.dir) if name.startswith("temp-")}

    def wait_bgsave_done(self) -> dict[str, str]:
        """INFO persistence once no background save runs; the last one must have gone well."""

        def finished():
            info = persistence_info(self.client)
            return info if info["rdb_bgsave_in_progress"] == "0" else None

        info = wait_for(finished, "the background save to end")
        assert info["rdb_last_bgsave_status"] == "ok", f"{info}\n{self.server.log_tail()}"
        return info

    def start_slow_bgsave(self, seconds: float) -> None:
        self.start_slowly(seconds, "BGSAVE", "Background saving started")

    @rule()
    def save(self):
        self.expect(self.call(0, "SAVE"), "OK", ("SAVE",))
        self.snapshot_taken()

    @rule()
    def bgsave(self):
        self.expect(self.call(0, "BGSAVE"), "Background saving started", ("BGSAVE",))
        self.snapshot_taken()  # the state at the fork; it counts once the save has finished
        info = self.wait_bgsave_done()
        assert info["rdb_changes_since_last_save"] == "0", info

    @precondition(PersistenceMachine.has_keys)
    @rule(writes=st.lists(st.tuples(databases, keys, strings), min_size=1, max_size=3))
    def bgsave_with_writes_meanwhile(self, writes):
        """The snapshot is the state at BGSAVE: writes made while the child saves are not in it."""
        at_fork = copy_state(self.live)
        self.start_slow_bgsave(0.3)
        for db, key, value in writes:
            self.set_string(db, key, value)
        self.wait_bgsave_done()
        self.snapshot_taken(at_fork)

    @rule()
    def debug_reload(self):
        """DEBUG RELOAD saves, empties the keyspace and loads the file: the state is unchanged."""
        self.expect(self.call(0, "DEBUG", "RELOAD"), "OK", ("DEBUG", "RELOAD"))
        self.snapshot_taken()

    @rule()
    def shutdown_save_and_restart(self):
        self.shutdown("SAVE")
        self.snapshot_taken()
        self.start_again()

    @precondition(PersistenceMachine.has_keys)
    @rule(how=st.sampled_from(("SIGKILL", "SHUTDOWN NOSAVE", "SHUTDOWN SAVE")),
          writes=st.lists(st.tuples(databases, keys, strings), max_size=2))
    def stop_during_bgsave_and_restart(self, how, writes):
        """A background save cut short leaves the dump as it was: its temporary file never replaces it.

        SHUTDOWN SAVE stops the child and saves the live state itself.
        """
        dump, temp_files = self.dump_bytes(), self.temp_files()
        self.start_slow_bgsave(30.0)
        for db, key, value in writes:
            self.set_string(db, key, value)
        info = persistence_info(self.client)
        assert info["rdb_bgsave_in_progress"] == "1", info
        if how == "SIGKILL":
            self.crash()
        else:
            self.shutdown(*how.split()[1:])
        if how == "SHUTDOWN SAVE":
            self.snapshot_taken()
        else:
            assert self.dump_bytes() == dump, "the interrupted background save changed dump.rdb"
        if how != "SIGKILL":  # a clean stop removes the temporary file of the child it stopped
            assert self.temp_files() == temp_files, f"left behind: {self.temp_files() - temp_files}"
        self.start_again()

    @precondition(PersistenceMachine.has_keys)
    @rule()
    def flushall_during_bgsave(self):
        """FLUSHALL stops a running background save (no failure) and, without save points, saves nothing."""
        dump, temp_files = self.dump_bytes(), self.temp_files()
        self.start_slow_bgsave(30.0)
        self.write(0, ("FLUSHALL",), "OK")
        self.live = [{} for _ in DATABASES]
        self.wait_bgsave_done()
        assert self.dump_bytes() == dump, "the stopped background save changed dump.rdb"
        assert self.temp_files() == temp_files, f"left behind: {self.temp_files() - temp_files}"


# Reading a whole value of each type, and decoding the RESP2 reply into the model's value.
READS = {
    "string": lambda key: ("GET", key),
    "list": lambda key: ("LRANGE", key, 0, -1),
    "hash": lambda key: ("HGETALL", key),
    "set": lambda key: ("SMEMBERS", key),
    "zset": lambda key: ("ZRANGE", key, 0, -1, "WITHSCORES"),
}


def decode_value(kind: str, reply):
    if kind == "string":
        return reply
    if kind == "list":
        return tuple(reply)
    if kind == "hash":
        return Hash(zip(reply[::2], reply[1::2]))
    if kind == "set":
        assert len(set(reply)) == len(reply), f"SMEMBERS repeated a member: {reply!r}"
        return frozenset(reply)
    pairs = [(member, float(score)) for member, score in zip(reply[::2], reply[1::2])]
    zset = ZSet(pairs)
    assert pairs == zset_order(zset), f"ZRANGE out of order: {reply!r}"
    return zset


def machine_on(launcher: ServerLauncher, machine: type[PersistenceMachine] = RdbMachine) -> type:
    """The machine bound to a launcher (Hypothesis constructs machines without arguments)."""
    return type(machine.__name__, (machine,), {"launcher": launcher})


def run_against(launcher: ServerLauncher, machine: type[PersistenceMachine] = RdbMachine) -> None:
    """Run a machine with a fifth of the profile's examples: each one launches and restarts servers.

    The `ci` profile (40 examples) gives 8 runs of 15 steps; `thorough` (2000) 400 runs of 30.
    """
    current = settings.default
    examples = max(1, current.max_examples // 5)
    chosen = settings(current, max_examples=examples, stateful_step_count=15 if examples <= 8 else 30)
    run_state_machine_as_test(machine_on(launcher, machine), settings=chosen)


REWRITE_STARTED = "Background append only file rewriting started"
AOF_FOLDER = "appendonlydir"
MANIFEST = "appendonly.aof.manifest"


def aof_command(*args: bytes) -> bytes:
    """A command as an AOF holds it: a RESP array of bulk strings."""
    return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%b\r\n" % (len(arg), arg) for arg in args)


class AofMachine(PersistenceMachine):
    """AOF with `appendfsync always`: every acknowledged write is durable.

    BGREWRITEAOF changes nothing a restart loads. It first opens a new incr file, named in the
    manifest at once, and writes go there while the forked child writes the new base to a
    temporary file; when the child is done the base takes its name and the files it covers
    leave the manifest. So a crash half way through a rewrite (server and child killed) loses
    no acknowledged write: the manifest still names the old base, the old incr files and the
    new one, and the child's temporary file, left behind, is not loaded. A crash that leaves
    half a command at the end of the AOF (the last file's tail cut by one byte) loads, with
    `aof-load-truncated yes`, the state before the last write.
    """

    server_options: ClassVar[dict] = {**SERVER_OPTIONS, "appendonly": "yes", "appendfsync": "always", "aof_load_truncated": "yes"}

    def __init__(self):
        super().__init__()
        self.before_last_write: list[dict] | None = None  # None: the last AOF file holds no write

    def acknowledged_write(self) -> None:
        self.before_last_write = self.durable
        self.durable = copy_state(self.live)

    def start_again(self) -> None:
        self.before_last_write = None  # a restart may open a new file or trim the one it loaded
        super().start_again()

    # -- the files ---------------------------------------------------------------------

    def manifest(self) -> list[dict[str, str]]:
        """The manifest's lines as {"file": name, "seq": n, "type": b|h|i}, checked for consistency:
        at most one base, incr files in rising sequence, each base and incr file present, and
        no temporary file among them (history files may already be deleted)."""
        folder = os.path.join(self.server.dir, AOF_FOLDER)
        with open(os.path.join(folder, MANIFEST)) as manifest:
            entries = [dict(zip(words[::2], words[1::2])) for words in map(str.split, manifest) if words]
        assert all(set(entry) == {"file", "seq", "type"} for entry in entries), entries
        assert [entry["type"] for entry in entries].count("b") <= 1, entries
        incr_seqs = [int(entry["seq"]) for entry in entries if entry["type"] == "i"]
        assert incr_seqs and incr_seqs == sorted(set(incr_seqs)), entries
        for entry in entries:
            assert not entry["file"].startswith("temp-"), f"the manifest names a temporary file: {entries}"
            if entry["type"] in ("b", "i"):
                assert os.path.exists(os.path.join(folder, entry["file"])), f"{entry['file']} is missing: {entries}"
        return entries

    def incr_files(self) -> list[str]:
        """The paths of the incremental files the manifest names, oldest first (manifest order)."""
        folder = os.path.join(self.server.dir, AOF_FOLDER)
        return [os.path.join(folder, entry["file"]) for entry in self.manifest() if entry["type"] == "i"]

    def last_aof_file(self) -> str:
        """The newest incremental file the manifest names (the one appended to)."""
        return self.incr_files()[-1]

    def assert_in_last_aof_file(self, writes) -> None:
        with open(self.last_aof_file(), "rb") as f:
            text = f.read()
        for _, key, value in writes:
            assert aof_command(b"SET", key, value) in text, f"SET {key!r} {value!r} is not in {self.last_aof_file()}"

    # -- rewrites --------------------------------------------------------------------------

    def wait_rewrite_done(self) -> None:
        def finished():
            info = persistence_info(self.client)
            return info if info["aof_rewrite_in_progress"] == "0" and info["aof_rewrite_scheduled"] == "0" else None

        info = wait_for(finished, "the AOF rewrite to end")
        assert info["aof_last_bgrewrite_status"] == "ok", f"{info}\n{self.server.log_tail()}"

    @rule()
    def bgrewriteaof(self):
        self.expect(self.call(0, "BGREWRITEAOF"), REWRITE_STARTED, ("BGREWRITEAOF",))
        self.wait_rewrite_done()
        self.before_last_write = None

    @precondition(PersistenceMachine.has_keys)
    @rule(writes=st.lists(st.tuples(databases, keys, strings), min_size=1, max_size=3))
    def bgrewriteaof_with_writes_meanwhile(self, writes):
        """Writes made while the child rewrites land in the incr file opened at BGREWRITEAOF,
        which, the rewrite done, is the only incr file the manifest names."""
        self.start_slowly(0.3, "BGREWRITEAOF", REWRITE_STARTED)
        self.before_last_write = None  # the incr file appended to is new: no write in it yet
        for db, key, value in writes:
            self.set_string(db, key, value)
        self.wait_rewrite_done()
        assert len(self.incr_files()) == 1, f"the rewrite left more than one incr file: {self.manifest()}"
        self.assert_in_last_aof_file(writes)

    @precondition(PersistenceMachine.has_keys)
    @rule(writes=st.lists(st.tuples(databases, keys, strings), max_size=3))
    def crash_during_bgrewriteaof_and_restart(self, writes):
        """SIGKILL to the server and its rewriting child half way: every acknowledged write,
        before and during the rewrite, is recovered; the manifest is as before the rewrite
        plus the new incr file, which holds the writes made meanwhile."""
        self.start_slowly(30.0, "BGREWRITEAOF", REWRITE_STARTED)
        for db, key, value in writes:
            self.set_string(db, key, value)
        time.sleep(0.2)  # a few cron turns: a rewrite that ended already would be seen as ended
        info = persistence_info(self.client)
        assert info["aof_rewrite_in_progress"] == "1", (
            f"the rewrite made slow (rdb-key-save-delay) is no longer running: {info}\n{self.server.log_tail()}")
        self.crash()
        assert len(self.incr_files()) >= 2, f"no new incr file for the writes during the rewrite: {self.manifest()}"
        self.assert_in_last_aof_file(writes)
        self.start_again()

    @precondition(lambda self: self.before_last_write is not None)
    @rule()
    def crash_with_a_torn_last_write(self):
        self.crash()
        path = self.last_aof_file()
        size = os.path.getsize(path)
        assert size > 0, f"{path} is empty, yet it should hold the last write"
        os.truncate(path, size - 1)
        self.durable = self.before_last_write
        self.start_again()


def steps(machine, *calls):
    """Run rules in order, checking the invariant after each, as Hypothesis does (the fixed
    scenarios of models/test_persistence*.py)."""
    machine.live_state_matches()
    for name, arguments in calls:
        getattr(machine, name)(**arguments)
        machine.live_state_matches()
