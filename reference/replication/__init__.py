"""Replication as Redis 7.0 does it (PSYNC2): this server as a master of replicas, and as a
replica of a master. spec/replication.md says what; this package is how.

- history.py: replication ids, the backlog, the history an RDB file names;
- master.py: replicas of this server (`MasterSide`): their copies, ACKs, WAIT;
- replica.py: following a master (`ReplicaSide`): REPLICAOF, loading the copy, refusals;
- link.py: the replica's connection to its master, its handshake without I/O;
- failover.py: FAILOVER, and what a SHUTDOWN asks of the replicas (`FailoverSide`).

`Replication` joins the two sides over the state they share: the history (ids, offset,
backlog) and the stream. The stream is what the AOF records: `record_effects` (one of the
server's EFFECT_RECORDERS) encodes each loop turn's effects, with a SELECT when the database
changes, and `feed` appends them to the backlog and to every replica past its copy. A replica
produces no stream of its own: it passes its master's on.
"""
from __future__ import annotations

import os
import time

from reference import log
from reference.persistence import aof
from reference.replication.failover import NO_FAILOVER, FailoverSide
from reference.replication.history import NO_ID, Backlog, history_in_rdb, new_replication_id
from reference.replication.link import CONNECT, CONNECTED, SYNC, MasterLink
from reference.replication.master import INFO_STATES, NOREPLICAS, ONLINE, MasterSide, Peer
from reference.replication.replica import LOADING, MASTERDOWN, READONLY, ReplicaSide

__all__ = ["CONNECTED", "LOADING", "MASTERDOWN", "NOREPLICAS", "READONLY", "Backlog", "Replication",
           "forget_client", "record_effects"]


class Replication(FailoverSide, MasterSide, ReplicaSide):
    """The replication state of one server (what INFO replication and ROLE report)."""

    def __init__(self, server):
        self.server = server
        self.replid = new_replication_id()
        self.replid2 = NO_ID
        self.offset = 0  # master_repl_offset
        self.second_offset = -1
        self.backlog: Backlog | None = None
        self.selected_db = -1  # the database the stream's last SELECT chose
        self.peers: dict[object, Peer] = {}  # by client, those that sent REPLCONF or SYNC
        self.replicas: list = []  # clients that sent SYNC or PSYNC, in that order
        self.stats = {"sync_full": 0, "sync_partial_ok": 0, "sync_partial_err": 0}
        self.disk_sync_pid: int | None = None  # the background save replicas wait for
        self.waiting_acks: dict = {}  # WAIT's clients -> (offset, replicas wanted)
        self.cron_loops = 0
        self.next_cron = 0.0
        self.no_replicas_since = time.time()  # repl-backlog-ttl counts from here
        # as a replica
        self.master_host: str | None = None
        self.master_port = 0
        self.state = "none"  # CONNECT ... CONNECTED while master_host is set
        self.link: MasterLink | None = None
        self.loading_copy = None  # a copy being loaded from the socket (replica.LoadingCopy)
        self.master_client = None
        # (replid, offset, db) of the history we have: the db the master's stream was in, since
        # a partial resync goes on without a SELECT
        self.cached: tuple[str, int, int] | None = None
        self.down_since = 0.0
        self.init_failover()

    # --- the history and its stream ------------------------------------------------------

    def record_effects(self, effects) -> None:
        """A loop turn's effects (db, argv) into the stream, as the AOF writes them. A replica
        produces no stream of its own: it passes its master's on (MasterClient)."""
        if self.master_host is not None or (self.backlog is None and not self.replicas):
            return
        out = []
        for db, argv in effects:
            if db != self.selected_db:
                out.append(aof.select_command(db))
                self.selected_db = db
            out.append(aof.encode_command(argv))
        self.feed(b"".join(out))

    def feed(self, data: bytes) -> None:
        """Bytes of stream: to the backlog (which counts them in the offset) and to every
        replica whose copy has started."""
        if self.backlog is None and not self.replicas:
            return
        self.offset += len(data)
        if self.backlog is not None:
            self.backlog.append(data, self.server.config["repl-backlog-size"])
        for client in self.replicas:
            self.feed_replica(client, data)

    def save_info(self) -> tuple[int, str, int] | None:
        """What an RDB file says of the replication history it belongs to (AUX repl-stream-db,
        repl-id, repl-offset), as Redis's rdbPopulateSaveInfo: a master with a backlog, or a
        replica with its master's (or its cached master's) database; else nothing."""
        if self.master_host is None:
            if self.backlog is None:
                return None
            return (max(self.selected_db, 0), self.replid, self.offset)
        if self.master_client is not None:
            return (self.master_client.db_index, self.replid, self.offset)
        if self.cached is not None:
            return (self.cached[2], self.replid, self.offset)
        return None

    def create_backlog(self) -> None:
        self.backlog = Backlog(self.offset + 1)

    def shift_replication_id(self) -> None:
        """A replica becomes a master: its history goes on under a new id; the old one stays
        valid up to here for the replicas that followed it."""
        self.replid2 = self.replid
        self.second_offset = self.offset + 1
        self.replid = new_replication_id()
        log.warning(f"Setting secondary replication ID to {self.replid2}, valid up to offset: "
                    f"{self.second_offset}. New replication ID is {self.replid}")

    def clear_replication_id2(self) -> None:
        self.replid2 = NO_ID
        self.second_offset = -1

    def start(self) -> None:
        """At start-up, after loading: the history the RDB file named, if it was loaded (AUX
        repl-id, repl-offset, repl-stream-db), as Redis's loadDataFromDisk: a replica goes on
        with it (a partial resync, if its master still has it); a master keeps it as its second
        id, with a backlog, so that its replicas may continue. Then the `replicaof` directive."""
        config = self.server.config
        history = None if config["appendonly"] else history_in_rdb(os.path.join(config["dir"], config["dbfilename"]))
        where = config["replicaof"]
        if history is not None:
            stream_db, replid, offset = history
            if where is not None:
                self.replid, self.offset = replid, offset
                log.notice("Before turning into a replica, using my own master parameters to synthesize a "
                           "cached master: I may be able to synchronize with the new master with just a partial transfer.")
                self.cached = (replid, offset, stream_db)
            else:
                self.replid2, self.second_offset, self.offset = replid, offset + 1, offset
                self.create_backlog()
        if where is not None:
            self.master_host, self.master_port = where
            self.server.keyspace.replica_expiry = self.expiry_verdict
            self.state = CONNECT  # the cron connects

    def forget(self, client) -> None:
        """A client left (or was RESET): if it was a replica, it is one no more; if it was
        our master, the link is down."""
        self.waiting_acks.pop(client, None)
        if client in self.replicas:
            log.warning(f"Connection with replica {self.name_of(client)} lost.")
            self.replicas.remove(client)
            if not self.replicas:
                self.no_replicas_since = time.time()
        self.peers.pop(client, None)
        if client is self.master_client:
            self._master_lost()
        self.serve_waits()

    # --- periodic work ---------------------------------------------------------------------

    def cron(self) -> None:
        """About once a second, as Redis's replicationCron: each side's periodic work."""
        now = time.monotonic()
        if self.disk_sync_pid is not None and self.server.snapshots.child_pid != self.disk_sync_pid:
            self._disk_copy_done()  # (checked at every tick: the save's end is not to wait for)
        if now < self.next_cron:
            return
        # (faster while a failover goes on, so that its handshake does not wait, as Redis)
        self.next_cron = now + (1.0 if self.failover_state == NO_FAILOVER else 0.1)
        self.update_failover()
        self.replica_cron()
        self.master_cron()
        self.cron_loops += 1

    # --- what INFO and ROLE show ----------------------------------------------------------

    def role(self) -> list:
        if self.master_host is None:
            online = []
            for client in self.replicas:
                peer = self.peers[client]
                if peer.state == ONLINE:
                    host = peer.ip_address or client.addr.rsplit(":", 1)[0].strip("[]")
                    online.append([host.encode(), b"%d" % peer.listening_port, b"%d" % peer.ack_offset])
            return [b"master", self.offset, online]
        applied = self.offset if self.master_client is not None else -1
        return [b"slave", self.master_host.encode(), self.master_port, self.state.encode(), applied]

    def info_fields(self) -> list[tuple[str, object]]:
        config = self.server.config
        fields: list[tuple[str, object]] = [("role", "master" if self.master_host is None else "slave")]
        if self.master_host is not None:
            connected = self.state == CONNECTED
            applied = self.offset if (self.master_client is not None or self.cached is not None) else 1
            last_io = int(time.time() - self.master_client.last_interaction) if self.master_client else -1
            fields += [
                ("master_host", self.master_host), ("master_port", self.master_port),
                ("master_link_status", "up" if connected else "down"),
                ("master_last_io_seconds_ago", last_io),
                ("master_sync_in_progress", int(self.state == SYNC)),
                ("slave_read_repl_offset", self.read_offset() if self.master_client else applied),
                ("slave_repl_offset", applied),
            ]
            if self.state == SYNC and self.link is not None:
                size, read = self.link.handshake.transfer_size, self.link.handshake.transfer_read
                fields += [
                    ("master_sync_total_bytes", size), ("master_sync_read_bytes", read),
                    ("master_sync_left_bytes", size - read),
                    ("master_sync_perc", f"{read / size * 100 if size > 0 else 0:.2f}"),
                    ("master_sync_last_io_seconds_ago", int(time.time() - self.link.last_io)),
                ]
            if not connected:
                fields.append(("master_link_down_since_seconds",
                               int(time.time() - self.down_since) if self.down_since else -1))
            fields += [("slave_priority", config["replica-priority"]),
                       ("slave_read_only", int(config["replica-read-only"])),
                       ("replica_announced", int(config["replica-announced"]))]
        fields.append(("connected_slaves", len(self.replicas)))
        if config["min-replicas-to-write"] and config["min-replicas-max-lag"]:
            fields.append(("min_slaves_good_slaves", self.good_replicas()))
        now = time.time()
        shown = 0
        for client in self.replicas:
            peer = self.peers[client]
            host = peer.ip_address or client.addr.rsplit(":", 1)[0].strip("[]")
            lag = int(now - peer.ack_time) if peer.state == ONLINE else 0
            fields.append((f"slave{shown}", f"ip={host},port={peer.listening_port},state={INFO_STATES[peer.state]},"
                                            f"offset={peer.ack_offset},lag={lag}"))
            shown += 1
        backlog = self.backlog
        fields += [
            ("master_failover_state", self.failover_state),
            ("master_replid", self.replid), ("master_replid2", self.replid2),
            ("master_repl_offset", self.offset), ("second_repl_offset", self.second_offset),
            ("repl_backlog_active", int(backlog is not None)),
            ("repl_backlog_size", config["repl-backlog-size"]),
            ("repl_backlog_first_byte_offset", backlog.first if backlog else 0),
            ("repl_backlog_histlen", len(backlog.data) if backlog else 0),
        ]
        return fields


def record_effects(server, effects) -> None:
    """The server's EFFECT_RECORDERS entry."""
    server.replication.record_effects(effects)


def forget_client(server, client) -> None:
    """The server's CLIENT_STATE_HOOKS entry."""
    server.replication.forget(client)
