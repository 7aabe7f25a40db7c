"""The replication-consistency model's view of its servers (models/replication.py): the
histories a master writes (each write's offset, state and digest) and the launched nodes, each
with the history it follows, its link's fault proxy and the resynchronisations it should have
served."""
from __future__ import annotations

import collections
import dataclasses
import functools
import itertools

from conformance import waiting
from conformance.client import Client
from conformance.readings import info
from conformance.targets import RunningServer
from models.fault_proxy import FLOWING, FaultProxy

DEADLINE = 60.0  # seconds any one state may take to come, on a busy machine
REPLY_TIMEOUT = 60.0  # the model's clients wait this long (WAIT blocks up to its own timeout)
AOF_NODE = "r2"  # runs with appendonly yes: restarted, it keeps its data but no replication id

wait_for = functools.partial(waiting.wait_for, timeout=DEADLINE)

State = tuple  # one dict per database: key -> Entry


# -- histories ---------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Point:
    offset: int  # the master's offset once the write was made
    state: State
    digest: str


class Lineage:
    """One replication history: its states by offset; `parent` and `fork` when it continues
    another one up to offset `fork` (a promotion, a master restarted from its save)."""

    numbers = itertools.count()

    def __init__(self, points: list[Point], parent: "Lineage | None" = None, fork: int | None = None):
        self.number = next(self.numbers)
        self.points = points
        self.parent = parent
        self.fork = fork

    def __repr__(self) -> str:
        return f"history {self.number}" + (f" (from history {self.parent.number} at {self.fork})" if self.parent else "")

    @property
    def last(self) -> Point:
        return self.points[-1]

    def at(self, offset: int) -> Point:
        """The state of a node of this history at `offset`: the last write at or below it."""
        held = [point for point in self.points if point.offset <= offset]
        assert held, f"offset {offset} is before the start of {self} ({self.points[0].offset})"
        return held[-1]

    def forked(self, offset: int) -> "Lineage":
        return Lineage(list(self.points_upto(offset)), parent=self, fork=offset)

    def points_upto(self, offset: int) -> list[Point]:
        return [point for point in self.points if point.offset <= offset]


# -- the nodes ---------------------------------------------------------------------------------


Cached = tuple  # (Lineage, offset): what a replica asks PSYNC for; None: nothing (PSYNC ? -1)


class Node:
    """One launched server as the model sees it."""

    def __init__(self, name: str, server: RunningServer, lineage: Lineage):
        self.name = name
        self.server = server
        self.master: str | None = None
        self.proxy: FaultProxy | None = None  # the link to its master
        self.lineage = lineage
        self.has_history = True  # it would PSYNC with an id (its own, as a master, to begin with)
        self.aof = name == AOF_NODE
        self.served = collections.Counter()  # expected sync_full, sync_partial_ok, sync_partial_err
        self.last_seen: tuple[str, int] | None = None  # (replid, offset) at the last step
        self._client: Client | None = None
        self.selected = 0  # the database its client has selected

    def __repr__(self) -> str:
        return f"{self.name} (port {self.server.port})"

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self.server.client(REPLY_TIMEOUT)
        return self._client

    def forget_client(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        self.selected = 0

    def call(self, *args):
        return self.client.call(*args)

    def replication(self) -> dict[str, str]:
        return info(self.client, "replication")

    def offset(self) -> int:
        return int(self.replication()["master_repl_offset"])

    def stats(self) -> dict[str, int]:
        fields = info(self.client, "stats")
        return {name: int(fields[name]) for name in ("sync_full", "sync_partial_ok", "sync_partial_err")}

    def link(self) -> str:
        return self.proxy.mode if self.proxy is not None else FLOWING

    def stable_read(self) -> tuple[dict, str]:
        """(INFO replication, DEBUG DIGEST) at one offset: read again until the offset stays."""
        def read():
            before = self.replication()
            digest = self.call("DEBUG", "DIGEST")
            after = self.replication()
            return (after, digest) if before["master_repl_offset"] == after["master_repl_offset"] else None
        return wait_for(read, f"{self}: an offset that stays while the digest is read")
