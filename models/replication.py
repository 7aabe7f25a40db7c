"""A Hypothesis state machine that judges replication: a master, two replicas and a sub-replica,
every link through a fault-injecting proxy (models/fault_proxy.py).

The machine launches four servers through the suite's launchers (so it judges any
implementation, and mixed sets: `m` and `s` come from --server, `r1` and `r2` from
--peer-server) and links them m <- r1 <- s, m <- r2. Each replica reaches its master through a
FaultProxy of its own (REPLICAOF 127.0.0.1 <proxy port>), which the rules stall, cut and restore.
Then it writes on the master (strings, counters, lists, hashes, sets, sorted sets, far expiries,
two databases, MULTI/EXEC, floods past a small backlog), reads on the replicas, kills replicas
(-9) and starts them again empty or from a SAVE (r2 runs with appendonly), promotes replicas
(REPLICAOF NO ONE, the others pointed at the new master), restarts the master empty (the
hazard) or from its SAVE, hands over with FAILOVER, and asks WAIT.

What the model knows, and predicts:

  * Histories (`Lineage`): the states the master went through, each at the replication offset
    the master reported after the write that made it. A replica at offset o holds the state of
    the last write at or below o (a write half received is not applied). A promotion forks the
    history at the promoted replica's offset (the parent is Redis's replid2, the fork offset its
    second_repl_offset - 1); so does a master restarted from its SAVE; an empty restart starts a
    new one. Offsets are read, never predicted: the stream also carries SELECTs, MULTI/EXEC and
    REPLCONF GETACK, whose bytes are the implementation's business.
  * Resynchronizations: when a replica will PSYNC (its link restored, itself restarted, its
    master promoted, restarted or changed), the model knows what it will ask for (the history and
    offset it holds, or nothing: a replica restarted without data or from an AOF, which keeps no
    replication id) and predicts the answer: +CONTINUE exactly when the master's history is the
    replica's (or the replica's is the parent and the replica is not past the fork) and the
    master's backlog holds the offset. The window is read from the master's INFO (checked to end
    at the master's offset), the one thing the model does not work out itself: Redis 7.0 trims
    its backlog by whole blocks of 16 KB or more, and not past a block a replica still reads,
    so it may hold more than repl-backlog-size. Runs draw a small backlog (16 KB, which a flood
    of 80 KB overflows) or a big one (8 MB), so both answers come. A full resync of a replica
    with sub-replicas, or a partial one that changes its replication id, makes its own replicas
    resync with it in turn, and a replica whose master has no link (NOMASTERLINK) waits for it.
    The master's INFO counters sync_full, sync_partial_ok and sync_partial_err must be exactly
    the predicted ones.

Invariants, after every step: each node's data (DEBUG DIGEST, and on a mismatch a readable diff
of keys) is the state of its history at its offset, and a node whose path to the master flows
catches up with the master; offsets never go backwards within one history; the counters are
the predicted ones. A write that WAIT reported as reaching N replicas (those whose links flow:
a stalled replica cannot acknowledge) is held by any of them promoted later. Restarting the
master empty wipes every replica that syncs from it (predicted as full resyncs to an empty
history); a replica cut off meanwhile keeps the data, and promoting it restores the set.

Where the model chooses to keep its knowledge exact: a rule that disconnects replicas (a restored
cut, a restart, a promotion, FAILOVER) first restores stalled links and lets everyone catch up
(a stalled proxy would hold a close back, and the model could not tell what a replica asked
for), except that a stalled replica can be promoted as it is. FAILOVER's hand-over connects the
old master to the new one directly (by the address the replica announced); the model then points
it through a proxy like every other link (a partial resync of the same history). Replication
timeouts and the master's PINGs are set to an hour, so that only the rules break links and move
offsets.

Never sleeps as synchronization: every state is polled for (conformance.waiting) with a
generous deadline.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import math
import os
import shutil
import signal

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from conformance.readings import info, info_fields
from conformance.targets import RunningServer, ServerLauncher, is_port_free
from models.fault_proxy import CUT, FLOWING, STALLED, FaultProxy
from models.keyspace import Entry, Hash, ZSet
from models.persistence import READS, decode_value, format_score
from models.replication_nodes import AOF_NODE, REPLY_TIMEOUT, Cached, Lineage, Node, Point, wait_for

WAIT_MS = 30_000
NODES = ("m", "r1", "r2", "s")
FIRST_MASTER = {"m": None, "r1": "m", "r2": "m", "s": "r1"}
UNDER_TEST = ("m", "s")  # launched from --server; the others from --peer-server
SMALL_BACKLOG = 16 * 1024  # Redis's least repl-backlog-size
BIG_BACKLOG = 8 * 1024 * 1024
FLOOD_VALUE = 10_000  # bytes per value of a flood
FLOOD_KEYS = 8  # 80 KB: past a small backlog and the block Redis 7.0 may keep beyond it
EMPTY_DIGEST = "0" * 40
READONLY = "READONLY You can't write against a read only replica."
NODE_OPTIONS = {
    "repl-diskless-sync-delay": 0,  # copy at once (Redis 7.0 waits 5 s for more replicas)
    # No PING in the stream and no timeouts: the stream holds only what the rules cause, and a
    # link breaks only when a rule breaks it (a closed connection is seen at once).
    "repl-ping-replica-period": 3600,
    "repl-timeout": 3600,
}

DATABASES = (0, 3)
NAMES = (b"a", b"b", b"c")
STRINGS = (b"", b"v", b"12", b"\x00\xff\r\n", b"x" * 100)
ELEMENTS = (b"1", b"2", b"-3", b"x", b"y", b"")
SCORES = (0.0, 1.0, -1.0, 0.5, 1.1, math.inf, -math.inf)
EXPIRY_SECONDS = (1000, 100_000, 10_000_000)
KINDS = ("str", "counter", "list", "hash", "set", "zset")

databases = st.sampled_from(DATABASES)
names = st.sampled_from(NAMES)
strings = st.sampled_from(STRINGS)
elements = st.lists(st.sampled_from(ELEMENTS), min_size=1, max_size=3)
replica_choice = st.integers(0, len(NODES) - 2)  # which of the nodes that are not the master

# Threads that launch servers side by side, alive as long as the process: a launched server
# asks Linux to kill it when the *thread* that started it ends (PR_SET_PDEATHSIG), so a pool
# shut down after each launch would kill its servers.
STARTERS = concurrent.futures.ThreadPoolExecutor(len(NODES), thread_name_prefix="replication-start")

State = tuple  # one dict per database: key -> Entry


def key_of(kind: str, name: bytes) -> bytes:
    """One key space per type: no write meets a key of another type."""
    return kind.encode() + b":" + name


def empty_state() -> State:
    return tuple({} for _ in DATABASES)


# -- the machine -------------------------------------------------------------------------------


class ReplicationMachine(RuleBasedStateMachine):
    launcher: ServerLauncher  # set by machine_on: --server
    peer_launcher: ServerLauncher  # --peer-server (the same command by default)

    def __init__(self):
        super().__init__()
        self.nodes: dict[str, Node] = {}
        self.pending: dict[str, Cached | None] = {}  # nodes that will PSYNC once they can
        self.waits: list[tuple[Lineage, int, frozenset]] = []  # (history, offset, acknowledged by)
        self.backlog_size = SMALL_BACKLOG
        self.held: dict[str, Cached | None] = {}  # what each replica held when the rule began

    # -- set-up and teardown ------------------------------------------------------------------

    @initialize(small_backlog=st.booleans())
    def launch(self, small_backlog):
        self.backlog_size = SMALL_BACKLOG if small_backlog else BIG_BACKLOG

        def start(name: str) -> RunningServer:
            launcher = self.launcher if name in UNDER_TEST else self.peer_launcher
            options = {**NODE_OPTIONS, "repl-backlog-size": self.backlog_size}
            if name == AOF_NODE:
                options["appendonly"] = "yes"
            return launcher.start(**options)

        # The four at once: most of a server's start is its own (an interpreter importing).
        servers = dict(zip(NODES, STARTERS.map(start, NODES)))
        for name in NODES:
            self.nodes[name] = Node(name, servers[name], Lineage([Point(0, empty_state(), EMPTY_DIGEST)]))
        for name in ("r1", "r2", "s"):
            self.point(self.nodes[name], FIRST_MASTER[name])
        self.settle()

    def teardown(self):
        """However the run ended: every proxy closed, every server stopped (and the first
        proxy that failed to close reported, after all that)."""
        failures = []
        for node in self.nodes.values():
            node.forget_client()
            if node.proxy is not None:
                try:
                    node.proxy.close()
                except AssertionError as failure:
                    failures.append(failure)
        for node in self.nodes.values():
            try:
                os.killpg(node.server.process.pid, signal.SIGKILL)
            except (ProcessLookupError, AttributeError):
                pass
            node.server.kill()
        if failures:
            raise failures[0]

    # -- topology -----------------------------------------------------------------------------

    @property
    def root(self) -> Node:
        (root,) = [node for node in self.nodes.values() if node.master is None]
        return root

    def replicas(self) -> list[Node]:
        return [node for node in self.nodes.values() if node.master is not None]

    def children(self, node: Node) -> list[Node]:
        return [child for child in self.nodes.values() if child.master == node.name]

    def depth(self, node: Node) -> int:
        return 0 if node.master is None else 1 + self.depth(self.nodes[node.master])

    def flows_to_root(self, node: Node) -> bool:
        while node.master is not None:
            if node.link() != FLOWING or node.name in self.pending:
                return False
            node = self.nodes[node.master]
        return True

    def cached(self, node: Node) -> Cached | None:
        """What node would PSYNC for, as it was when the rule began (see quiet) or now."""
        if node.name in self.pending:
            return self.pending[node.name]
        if node.name in self.held:
            return self.held[node.name]
        return (node.lineage, node.offset()) if node.has_history else None

    def point(self, node: Node, master_name: str) -> None:
        """REPLICAOF the master's address through a new proxy; node will PSYNC (see settle)."""
        cached = self.cached(node)
        if node.proxy is not None:
            node.proxy.close()
        master = self.nodes[master_name]
        node.proxy = FaultProxy(master.server.port)
        node.master = master_name
        reply = node.call("REPLICAOF", "127.0.0.1", node.proxy.port)
        assert reply == "OK", f"{node}: REPLICAOF -> {reply!r}"
        self.pending[node.name] = cached

    def quiet(self, but: Node | None = None) -> None:
        """Before a rule that disconnects replicas: restore stalled links (a stalled proxy would
        hold the close back), let everyone catch up, and note what each replica holds: a replica
        disconnected in a cascade (its master resynced in full) may have resynced already by
        the time the model gets to it, so what it asked for is read before."""
        for node in self.replicas():
            if node is not but and node.link() == STALLED:
                node.proxy.restore()
        self.catch_up()
        self.held = {}  # (cached() would give the old notes)
        self.held = {node.name: self.cached(node) for node in self.replicas() if node is not but}

    # -- resynchronization: the prediction ----------------------------------------------------

    def accepts(self, master: Node, cached: Cached | None) -> bool:
        """Would master answer +CONTINUE to a PSYNC for `cached`? (Reads its backlog window.)"""
        if cached is None:
            return False
        lineage, offset = cached
        same_history = lineage is master.lineage or (lineage is master.lineage.parent and offset <= master.lineage.fork)
        fields = master.replication()
        end = int(fields["master_repl_offset"])
        if fields["repl_backlog_active"] != "1":
            return False
        first, histlen = int(fields["repl_backlog_first_byte_offset"]), int(fields["repl_backlog_histlen"])
        assert first + histlen == end + 1, f"{master}: the backlog does not end at the offset: {dict(fields)}"
        return same_history and first <= offset + 1 <= end + 1

    def settle(self) -> None:
        """Let every pending replica whose master can serve it resync, shallowest first,
        predicting each outcome; wait until it holds the link and its master's offset."""
        while True:
            ready = [self.nodes[name] for name in self.pending if self.can_sync(self.nodes[name])]
            if not ready:
                break
            node = min(ready, key=self.depth)
            self.resync(node, self.pending.pop(node.name))
        self.catch_up()
        self.check_counters()

    def can_sync(self, node: Node) -> bool:
        """Its link flows, and its master is a master or a replica with its link up."""
        if node.link() != FLOWING:
            return False
        master = self.nodes[node.master]
        return master.master is None or (master.name not in self.pending and master.link() != CUT)

    def resync(self, node: Node, cached: Cached | None) -> None:
        master = self.nodes[node.master]
        partial = self.accepts(master, cached)
        if partial:
            master.served["sync_partial_ok"] += 1
        else:
            master.served["sync_full"] += 1
            if cached is not None:
                master.served["sync_partial_err"] += 1
        wait_for(lambda: self.linked(node, master), f"{node} linked to {master} and caught up")
        new_id = cached is None or cached[0] is not master.lineage
        node.lineage = master.lineage
        node.has_history = True
        self.held.pop(node.name, None)
        if not partial or new_id:  # it drops its own replicas: they resync with it
            self.drop_replicas_of(node)

    def linked(self, node: Node, master: Node) -> bool:
        fields = node.replication()
        if fields["master_link_status"] != "up" or fields["master_sync_in_progress"] != "0":
            return False
        return int(fields["master_repl_offset"]) == master.offset()

    def catch_up(self) -> None:
        """Every replica whose link flows holds its master's offset (shallowest first, so that
        a node whose path to the master flows holds the master's offset)."""
        for node in sorted(self.replicas(), key=self.depth):
            if node.link() == FLOWING and node.name not in self.pending:
                master = self.nodes[node.master]
                wait_for(lambda: node.offset() == master.offset(), f"{node} caught up with its master {master}")

    def check_counters(self, *nodes: Node) -> None:
        for node in nodes or self.nodes.values():
            expected = {name: node.served[name] for name in ("sync_full", "sync_partial_ok", "sync_partial_err")}
            def reached():
                stats = node.stats()
                assert all(stats[name] <= expected[name] for name in stats), (
                    f"{node}: {stats}, the model expects {expected}\n{self.describe()}")
                return stats == expected
            wait_for(reached, f"{node}: the resyncs counted as the model predicts, {expected}")

    def describe(self) -> str:
        lines = []
        for node in self.nodes.values():
            where = "master" if node.master is None else f"replica of {node.master} ({node.link()})"
            lines.append(f"  {node}: {where}, {node.lineage}, pending={node.name in self.pending}")
        return "\n".join(lines)

    # -- the invariants -----------------------------------------------------------------------

    @invariant()
    def every_node_holds_its_history(self):
        if not self.nodes:
            return
        self.catch_up()
        root = self.root
        for node in self.nodes.values():
            fields, digest = node.stable_read()
            offset = int(fields["master_repl_offset"])
            replid = fields["master_replid"]
            if node.last_seen is not None and node.last_seen[0] == replid:
                assert offset >= node.last_seen[1], (
                    f"{node}: offset {offset} after {node.last_seen[1]} in history {replid}")
            node.last_seen = (replid, offset)
            point = node.lineage.at(offset)
            if digest != point.digest:
                raise AssertionError(f"{node} at offset {offset} of {node.lineage}: {self.diff(node, point.state)}"
                                     f"\n{self.describe()}")
            if node is not root and self.flows_to_root(node):
                assert replid == root.replication()["master_replid"], f"{node} and {root}: not one history"
        self.check_counters()

    def diff(self, node: Node, expected: State) -> str:
        """The keys where node differs from the model's state, readably."""
        client = node.server.client(REPLY_TIMEOUT)
        lines = []
        try:
            for index, db in enumerate(DATABASES):
                assert client.call("SELECT", db) == "OK"
                found = {}
                for key in client.call("KEYS", "*"):
                    kind = client.call("TYPE", key)
                    found[key] = decode_value(kind, client.call(*READS[kind](key)))
                model = {key: entry.value for key, entry in expected[index].items()}
                for key in sorted(set(found) | set(model)):
                    if found.get(key) != model.get(key):
                        lines.append(f"db {db} {key!r}: holds {found.get(key)!r}, the model has {model.get(key)!r}")
        finally:
            client.close()
        return "digest differs; " + ("\n".join(lines) if lines else "same keys and values (expiry times differ)")

    # -- writes on the master -----------------------------------------------------------------

    def on_root(self, db: int, *args):
        root = self.root
        if db != root.selected:
            assert root.call("SELECT", db) == "OK"
            root.selected = db
        return root.call(*args)

    def record(self, state: State) -> int:
        """The master made a write: its history gets the new state at the master's new offset."""
        root = self.root
        reply = root.client.pipeline(("INFO", "replication"), ("DEBUG", "DIGEST"))
        offset = int(info_fields(reply[0])["master_repl_offset"])
        assert offset > root.lineage.last.offset, f"{root}: a write did not move the offset {offset}"
        root.lineage.points.append(Point(offset, state, reply[1]))
        return offset

    def state(self) -> State:
        return self.root.lineage.last.state

    def changed(self, db: int, key: bytes, entry: Entry | None) -> State:
        state = tuple(dict(database) for database in self.state())
        index = DATABASES.index(db)
        if entry is None:
            state[index].pop(key, None)
        else:
            state[index][key] = entry
        return state

    def write(self, db: int, args: tuple, expected, key: bytes, entry: Entry | None) -> int:
        reply = self.on_root(db, *args)
        assert reply == expected and type(reply) is type(expected), f"{args!r} -> {reply!r}, expected {expected!r}"
        return self.record(self.changed(db, key, entry))

    def entry(self, db: int, key: bytes) -> Entry | None:
        return self.state()[DATABASES.index(db)].get(key)

    @rule(db=databases, name=names, value=strings)
    def set(self, db, name, value):
        key = key_of("str", name)
        self.write(db, ("SET", key, value), "OK", key, Entry(value))

    @rule(db=databases, name=names)
    def incr(self, db, name):
        key = key_of("counter", name)
        entry = self.entry(db, key)
        number = int(entry.value) + 1 if entry else 1
        self.write(db, ("INCR", key), number, key, Entry(str(number).encode(), entry and entry.deadline))

    @rule(db=databases, name=names, items=elements)
    def rpush(self, db, name, items):
        key = key_of("list", name)
        entry = self.entry(db, key)
        value = (entry.value if entry else ()) + tuple(items)
        self.write(db, ("RPUSH", key, *items), len(value), key, Entry(value, entry and entry.deadline))

    @rule(db=databases, name=names, pairs=st.lists(st.tuples(st.sampled_from(ELEMENTS), strings), min_size=1, max_size=3))
    def hset(self, db, name, pairs):
        key = key_of("hash", name)
        entry = self.entry(db, key)
        old = entry.value if entry else Hash()
        value = Hash(old)
        value.update(pairs)
        args = ("HSET", key, *[word for pair in pairs for word in pair])
        self.write(db, args, len(value) - len(old), key, Entry(value, entry and entry.deadline))

    @rule(db=databases, name=names, members=elements)
    def sadd(self, db, name, members):
        key = key_of("set", name)
        entry = self.entry(db, key)
        old = entry.value if entry else frozenset()
        value = old | frozenset(members)
        if value == old:  # nothing added: nothing propagated either
            assert self.on_root(db, "SADD", key, *members) == 0
            return
        self.write(db, ("SADD", key, *members), len(value) - len(old), key, Entry(value, entry and entry.deadline))

    @rule(db=databases, name=names,
          pairs=st.lists(st.tuples(st.sampled_from(SCORES), st.sampled_from(ELEMENTS)), min_size=1, max_size=3))
    def zadd(self, db, name, pairs):
        key = key_of("zset", name)
        entry = self.entry(db, key)
        old = entry.value if entry else ZSet()
        value = ZSet(old)
        value.update((member, score) for score, member in pairs)
        args = ("ZADD", key, *[word for score, member in pairs for word in (format_score(score), member)])
        if value == old:
            assert self.on_root(db, *args) == 0
            return
        self.write(db, args, len(value) - len(old), key, Entry(value, entry and entry.deadline))

    @rule(db=databases, kind=st.sampled_from(KINDS), name=names, seconds=st.sampled_from(EXPIRY_SECONDS))
    def expire(self, db, kind, name, seconds):
        """Far expiries: none passes during a run; the replicas get the absolute time (digests)."""
        key = key_of(kind, name)
        entry = self.entry(db, key)
        if entry is None:
            assert self.on_root(db, "EXPIRE", key, seconds) == 0
            return
        self.write(db, ("EXPIRE", key, seconds), 1, key, Entry(entry.value, deadline=seconds))

    @rule(db=databases, kind=st.sampled_from(KINDS), name=names)
    def delete(self, db, kind, name):
        key = key_of(kind, name)
        if self.entry(db, key) is None:
            assert self.on_root(db, "DEL", key) == 0
            return
        self.write(db, ("DEL", key), 1, key, None)

    @rule(db=databases, writes=st.lists(st.tuples(names, strings), min_size=1, max_size=3))
    def multi_exec(self, db, writes):
        self.on_root(db, "PING")  # SELECTs db first if need be
        commands = [("SET", key_of("str", name), value) for name, value in writes]
        replies = self.root.client.pipeline(("MULTI",), *commands, ("EXEC",))
        assert replies == ["OK", *["QUEUED"] * len(commands), ["OK"] * len(commands)], replies
        state = self.state()
        for name, value in writes:
            state = self._with(state, db, key_of("str", name), Entry(value))
        self.record(state)

    @staticmethod
    def _with(state: State, db: int, key: bytes, entry: Entry) -> State:
        state = tuple(dict(database) for database in state)
        state[DATABASES.index(db)][key] = entry
        return state

    @rule(db=databases, tag=st.integers(0, 9))
    def flood(self, db, tag):
        """FLOOD_KEYS values of FLOOD_VALUE bytes: past a small backlog."""
        for index in range(FLOOD_KEYS):
            key = b"big:%d" % index
            value = (b"%d:%d:" % (tag, index)) * (FLOOD_VALUE // 6)
            self.write(db, ("SET", key, value), "OK", key, Entry(value))

    # -- reads on replicas --------------------------------------------------------------------

    @rule(choice=replica_choice, db=databases, kind=st.sampled_from(KINDS), name=names)
    def read_on_replica(self, choice, db, kind, name):
        """A replica serves reads of the state at its offset, and refuses writes."""
        node = self.replicas()[choice]
        key = key_of(kind, name)
        client = node.server.client(REPLY_TIMEOUT)
        try:
            assert client.call("SELECT", db) == "OK"
            def read():
                before = client.call("INFO", "replication")
                kind_reply = client.call("TYPE", key)
                value = None if kind_reply == "none" else decode_value(kind_reply, client.call(*READS[kind_reply](key)))
                after = client.call("INFO", "replication")
                offset = int(info_fields(after)["master_repl_offset"])
                return (offset, value) if int(info_fields(before)["master_repl_offset"]) == offset else None
            offset, value = wait_for(read, f"{node}: a read at one offset")
            entry = node.lineage.at(offset).state[DATABASES.index(db)].get(key)
            assert value == (entry.value if entry else None), (
                f"{node} at {offset}: {key!r} in db {db} is {value!r}, the model has {entry}")
            assert client.call("SET", key_of("str", name), "x") == READONLY
        finally:
            client.close()

    # -- links --------------------------------------------------------------------------------

    @rule(choice=replica_choice)
    def cut(self, choice):
        """Close the replica's link; it keeps what it has and asks for the rest when restored."""
        node = self.replicas()[choice]
        if node.link() == CUT:
            return
        was_pending = node.name in self.pending
        node.proxy.cut()
        wait_for(lambda: node.replication()["master_link_status"] == "down", f"{node}: the cut link seen down")
        if not was_pending:
            self.pending[node.name] = (node.lineage, node.offset())

    @rule(choice=replica_choice)
    def stall(self, choice):
        node = self.replicas()[choice]
        if node.link() == FLOWING:
            node.proxy.stall()

    @rule(choice=replica_choice)
    def restore(self, choice):
        node = self.replicas()[choice]
        link = node.link()
        if link == STALLED:
            node.proxy.restore()
            self.catch_up()
        elif link == CUT:
            self.quiet()
            node.proxy.restore()
            self.settle()

    @rule()
    def restore_all(self):
        """Quiet: every link flows, everyone caught up (the invariant compares them all)."""
        self.quiet()
        for node in self.replicas():
            if node.link() == CUT:
                node.proxy.restore()
        self.settle()
        assert not self.pending, f"still waiting to resync: {self.pending}\n{self.describe()}"

    # -- restarts -----------------------------------------------------------------------------

    def crash(self, node: Node) -> None:
        """SIGKILL to the node's process group (a saving child dies with it)."""
        node.forget_client()
        try:
            os.killpg(node.server.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        node.server.kill()
        wait_for(lambda: is_port_free(node.server.port), f"{node}: the port released")

    def save(self, node: Node) -> None:
        """SAVE, once no child of the node is saving (a master forks one for each full copy,
        which may outlive the copy a moment; SAVE refuses to run beside it)."""
        wait_for(lambda: info(node.client, "persistence")["rdb_bgsave_in_progress"] == "0",
                 f"{node}: no background save running")
        reply = node.call("SAVE")
        assert reply == "OK", f"{node}: SAVE -> {reply!r}"

    def wipe_files(self, node: Node) -> None:
        for name in ("dump.rdb", "appendonlydir"):
            path = os.path.join(node.server.dir, name)
            if os.path.isdir(path):
                shutil.rmtree(path)
            elif os.path.exists(path):
                os.remove(path)

    def start_again(self, node: Node) -> None:
        if node.master is None:
            node.server.options.pop("replicaof", None)
        else:
            node.server.options["replicaof"] = ["127.0.0.1", node.proxy.port]
        node.server.launch()
        node.last_seen = None
        node.served.clear()  # a new process counts from zero
        self.waits = [(lineage, offset, acked - {node.name}) for lineage, offset, acked in self.waits]

    def drop_replicas_of(self, node: Node) -> None:
        """node's own replicas lose their link (it died or changed): they resync with it later."""
        for child in self.children(node):
            if child.name not in self.pending:
                self.pending[child.name] = self.cached(child)

    @rule(choice=replica_choice, from_save=st.booleans())
    def kill_replica(self, choice, from_save):
        """kill -9 and start again: empty (files lost), or from a SAVE made just before (RDB: it
        asks to continue from the save); the AOF node loads its AOF, which keeps no replication
        id: it asks for a full copy either way."""
        node = self.replicas()[choice]
        self.quiet()
        self.drop_replicas_of(node)
        cached = None
        held = node.lineage.at(node.offset())  # what an AOF gives back
        if from_save and not node.aof:
            self.save(node)
            cached = self.cached(node)
        self.crash(node)
        if not from_save:
            self.wipe_files(node)
        self.start_again(node)
        node.has_history = cached is not None
        if cached is None:  # no replication id: a history of its own, at its own offset
            kept = held if from_save else Point(0, empty_state(), EMPTY_DIGEST)
            node.lineage = Lineage([dataclasses.replace(kept, offset=node.offset())])
        self.pending[node.name] = cached
        self.settle()

    @rule(how=st.sampled_from(("empty", "from its save")), lost=st.lists(st.tuples(names, strings), max_size=2))
    def restart_master(self, how, lost):
        """The hazard: a master that comes back empty wipes every replica that syncs from it.
        From its SAVE (or its AOF) it comes back with its data, and its replicas continue."""
        root = self.root
        self.quiet()
        saved = None
        if how == "from its save" and not root.aof:
            self.save(root)
            saved = root.offset()
            for name, value in lost:  # written after the save: lost with the master
                self.write(0, ("SET", key_of("str", name), value), "OK", key_of("str", name), Entry(value))
            self.quiet()
        self.drop_replicas_of(root)
        self.crash(root)
        if how == "empty":
            self.wipe_files(root)
        self.start_again(root)
        if how == "empty":
            root.lineage = Lineage([Point(root.offset(), empty_state(), EMPTY_DIGEST)])
        elif root.aof:  # the whole data, no replication id: a new history
            root.lineage = Lineage([Point(root.offset(), root.lineage.last.state, root.lineage.last.digest)])
        else:  # the save, continued: replid2 is the old history up to the save
            assert root.offset() == saved, f"{root}: restarted at offset {root.offset()}, saved at {saved}"
            root.lineage = root.lineage.forked(saved)
        self.settle()

    # -- promotion, FAILOVER, WAIT ------------------------------------------------------------

    @rule(choice=replica_choice)
    def promote(self, choice):
        """REPLICAOF NO ONE on a replica (a stalled one: with what it has), and the old master
        and its replicas pointed at it; the promoted one keeps every write WAIT said it has."""
        node = self.replicas()[choice]
        self.quiet(but=node)
        if node.link() == STALLED:
            node.proxy.cut()
        old_root = self.root
        assert node.call("REPLICAOF", "NO", "ONE") == "OK"
        offset = node.offset()
        for lineage, waited, acked in self.waits:
            if node.name in acked and lineage is node.lineage:
                assert offset >= waited, f"{node} acknowledged offset {waited} to WAIT, promoted at {offset}"
        self.pending.pop(node.name, None)
        node.proxy.close()
        node.proxy = None
        node.master = None
        self.drop_replicas_of(node)
        node.lineage = node.lineage.forked(offset)
        self.repoint_to(node, old_root)
        self.settle()

    def repoint_to(self, new_root: Node, old_root: Node) -> None:
        """The old master's replicas first, the old master last: pointed first, it would take
        the new id at once and drop its replicas, which might then resync with it before being
        pointed away (a race the model could not predict)."""
        for other in [*self.children(old_root), old_root]:
            if other is not new_root:
                self.point(other, new_root.name)

    @rule(choice=replica_choice)
    def failover(self, choice):
        """FAILOVER TO a replica of the master: writes paused until it has everything, then it is
        the master and the old one its replica (linked directly, by the replica's own address;
        then pointed through a proxy like every link)."""
        node = self.replicas()[choice]
        root = self.root
        if node.master != root.name or node.link() == CUT or node.name in self.pending:
            return
        self.quiet()
        reply = root.call("FAILOVER", "TO", "127.0.0.1", node.server.port, "TIMEOUT", WAIT_MS)
        assert reply == "OK", f"FAILOVER -> {reply!r}"
        def handed_over():
            fields = root.replication()
            return fields["master_failover_state"] == "no-failover" and fields["role"] == "slave" and \
                fields["master_link_status"] == "up"
        wait_for(handed_over, f"{root} handed over to {node}")
        offset = node.offset()
        node.served["sync_partial_ok"] += 1  # the old master continues from the same offset
        node.proxy.close()
        node.proxy = None
        node.master = None
        self.drop_replicas_of(node)  # promoted, it drops its own replicas, as REPLICAOF NO ONE
        node.lineage = node.lineage.forked(offset)
        root.master = node.name
        root.lineage = node.lineage
        # The old master took the new id: its other replicas resync with it (partially).
        self.drop_replicas_of(root)
        # Through a proxy, as every link: the same master, the same history.
        root.proxy = FaultProxy(node.server.port)
        assert root.call("REPLICAOF", "127.0.0.1", root.proxy.port) == "OK"
        self.pending[root.name] = (root.lineage, root.offset())
        self.settle()

    @rule(db=databases, name=names, value=strings)
    def write_then_wait(self, db, name, value):
        """WAIT for the replicas whose links flow: exactly they acknowledge a write just made."""
        key = key_of("str", name)
        offset = self.write(db, ("SET", key, value), "OK", key, Entry(value))
        root = self.root
        flowing = frozenset(child.name for child in self.children(root)
                            if child.link() == FLOWING and child.name not in self.pending)
        reply = root.call("WAIT", len(flowing), WAIT_MS)
        assert reply == len(flowing), f"WAIT {len(flowing)} -> {reply!r} ({sorted(flowing)} flow)\n{self.describe()}"
        self.waits.append((root.lineage, offset, flowing))


def machine_on(launcher: ServerLauncher, peer_launcher: ServerLauncher) -> type:
    """The machine bound to its launchers (Hypothesis constructs machines without arguments)."""
    return type("ReplicationMachine", (ReplicationMachine,),
                {"launcher": launcher, "peer_launcher": peer_launcher})


def run_against(launcher: ServerLauncher, peer_launcher: ServerLauncher) -> None:
    """Fewer examples than the profile's, longer ones (each launches four servers): `ci` (40)
    gives 6 runs of up to 25 steps, `thorough` (2000) 300 runs of up to 50."""
    current = settings.default
    examples = max(1, current.max_examples * 3 // 20)
    chosen = settings(current, max_examples=examples, stateful_step_count=25 if examples <= 6 else 50)
    run_state_machine_as_test(machine_on(launcher, peer_launcher), settings=chosen)


def steps(machine, *calls):
    """Run rules in order, checking the invariant after each, as Hypothesis does."""
    for name, arguments in calls:
        getattr(machine, name)(**arguments)
        machine.every_node_holds_its_history()
