"""The master's side of replication (spec/replication.md): replicas, their copies, WAIT.

A client that sends SYNC or PSYNC becomes a replica (Client.kind "replica"); what the master
knows of it is a `Peer`. A full resynchronisation copies the dataset in this process
(diskless: `dump_rdb` at once, as the `$EOF:` form) or with a background save (to disk: the
file, as the `$<length>` form, once the child is done); the stream made meanwhile waits in the
peer (`held`) until the replica may get it. A partial one sends the backlog from the offset
asked for. The copy is written around the replica's output buffer (Client.reply_bytes
`direct`); once all of it is written (reference/reply_buffers.py tells, `written`), the
replica goes online, or, if it asked for the copy only (REPLCONF rdb-only), is closed.

`MasterSide` is one half of `Replication` (reference/replication/__init__.py), whose state
(ids, offsets, backlog, the stream) it shares.
"""
from __future__ import annotations

import os
import time
from types import SimpleNamespace

from reference import log, reply_buffers
from reference.persistence import aof
from reference.persistence.rdb import dump_rdb
from reference.replication.history import new_replication_id

NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
GETACK = aof.encode_command([b"REPLCONF", b"GETACK", b"*"])
PING = aof.encode_command([b"PING"])
# The state of a replica (Peer.state) as INFO names it; a peer not yet copied has none there.
# A diskless copy is being written in wait_bgsave_end (Redis's child streams it), one from disk
# in send_bulk; a replica that asked for the copy only ends in rdb_transmitted.
WAIT_BGSAVE_START, WAIT_BGSAVE_END, ONLINE = "wait_bgsave_start", "wait_bgsave_end", "online"
SEND_BULK, RDB_TRANSMITTED = "send_bulk", "rdb_transmitted"
INFO_STATES = {WAIT_BGSAVE_START: "wait_bgsave", WAIT_BGSAVE_END: "wait_bgsave", SEND_BULK: "send_bulk",
               ONLINE: "online", RDB_TRANSMITTED: ""}
# What a copy without keys is made of (REPLCONF rdb-filter-only: every database left out).
NO_KEYS = SimpleNamespace(dbs=())


class Peer:
    """What the master knows of one replica connection (from REPLCONF, SYNC/PSYNC, ACKs)."""

    def __init__(self):
        self.listening_port = 0
        self.ip_address: str | None = None
        self.capabilities: set[str] = set()
        self.state: str | None = None  # None until SYNC/PSYNC
        self.pre_psync = False  # it sent SYNC: no +FULLRESYNC line, no ACKs expected
        self.waiting_since = 0.0  # when it started waiting for its copy
        self.held: list[bytes] | None = None  # stream kept back until it may be sent
        self.held_bytes = 0  # their length (it counts toward the output buffer limits)
        self.rdb_only = False  # REPLCONF rdb-only 1: the copy, then the connection closes
        # REPLCONF rdb-filter-only: what its copy leaves out ("data", "functions"); a copy is
        # made for the replicas that want the same
        self.excluded: frozenset[str] = frozenset()
        self.to_socket = False  # its copy is diskless: written as it is made
        self.copy_written = False  # ... and all of it is written
        self.last_partial_write = 0  # unix seconds of the last write that left some of it, 0: none
        self.ack_offset = 0
        self.ack_time = time.time()


class MasterSide:
    """Replicas of this server: their synchronisation, acknowledgements and WAITs."""

    socket_copy: list | None = None  # the replicas a diskless copy is being written to

    def peer(self, client) -> Peer:
        peer = self.peers.get(client)
        if peer is None:
            peer = self.peers[client] = Peer()
        return peer

    def name_of(self, client) -> str:
        """How the log names a replica: its announced address (or its connection's) and the
        port it said it listens on."""
        peer = self.peer(client)
        host = peer.ip_address or client.addr.rsplit(":", 1)[0].strip("[]")
        if not peer.listening_port:
            return f"{host}:<unknown-replica-port>"
        return f"[{host}]:{peer.listening_port}" if ":" in host else f"{host}:{peer.listening_port}"

    def synchronize(self, client, replid: str | None, offset: int | None) -> None:
        """SYNC (replid None) or PSYNC: a partial resynchronisation if possible, else a full
        one, started now or once its copy can be made."""
        peer = self.peer(client)
        name = self.name_of(client)
        log.notice(f"Replica {name} asks for synchronization")
        if replid is not None:
            if self._try_partial(client, peer, replid, offset):
                self.stats["sync_partial_ok"] += 1
                return
            if replid != "?":
                self.stats["sync_partial_err"] += 1
        else:
            peer.pre_psync = True
        self.stats["sync_full"] += 1
        peer.state = WAIT_BGSAVE_START
        peer.waiting_since = time.monotonic()
        client.kind = "replica"
        self.replicas.append(client)
        if len(self.replicas) == 1 and self.backlog is None:
            self.replid = new_replication_id()
            self.clear_replication_id2()
            self.create_backlog()
            log.notice(f"Replication backlog created, my new replication IDs are '{self.replid}' and '{self.replid2}'")
        if self.disk_sync_pid is not None:
            log.notice("Can't attach the replica to the current BGSAVE. Waiting for next BGSAVE for SYNC")
        elif self.socket_copy is not None:
            log.notice("Current BGSAVE has socket target. Waiting for next BGSAVE for SYNC")
        elif self._diskless() and self.server.config["repl-diskless-sync-delay"]:
            log.notice("Delay next BGSAVE for diskless SYNC")
        elif self._child_running():
            log.notice("No BGSAVE in progress, but another BG operation is active. BGSAVE for replication delayed")
        else:
            self._start_copy()

    def _try_partial(self, client, peer: Peer, replid: str, offset: int) -> bool:
        name = self.name_of(client)
        if replid.lower() != self.replid and (replid.lower() != self.replid2 or offset > self.second_offset):
            if replid == "?":
                log.notice(f"Full resync requested by replica {name}")
            elif replid.lower() not in (self.replid, self.replid2):
                log.notice(f"Partial resynchronization not accepted: Replication ID mismatch (Replica asked "
                           f"for '{replid}', my replication IDs are '{self.replid}' and '{self.replid2}')")
            else:
                log.notice(f"Partial resynchronization not accepted: Requested offset for second ID was "
                           f"{offset}, but I can reply up to {self.second_offset}")
            return False
        if self.backlog is None or not self.backlog.covers(offset):
            log.notice(f"Unable to partial resync with replica {name} for lack of backlog (Replica request was: {offset}).")
            if offset > self.offset:
                log.warning(f"Warning: replica {name} tried to PSYNC with an offset that is greater than the "
                            f"master replication offset.")
            return False
        client.kind = "replica"
        peer.state = ONLINE
        peer.ack_time = time.time()
        self.replicas.append(client)
        continuing = f"+CONTINUE {self.replid}\r\n" if "psync2" in peer.capabilities else "+CONTINUE\r\n"
        missed = self.backlog.since(offset)
        client.reply_bytes(continuing.encode() + missed)
        log.notice(f"Partial resynchronization request from {name} accepted. Sending {len(missed)} bytes of "
                   f"backlog starting from offset {offset}.")
        return True

    def _diskless(self) -> bool:
        return self.server.config["repl-diskless-sync"]

    def _child_running(self) -> bool:
        return self.server.snapshots.in_progress or self.server.aof.in_progress

    def _waiting(self) -> list:
        """Replicas waiting for a copy to start that the next copy serves: those that want the
        same as the first of them (rdb-filter-only)."""
        waiting = [c for c in self.replicas if self.peers[c].state == WAIT_BGSAVE_START]
        if not waiting:
            return []
        excluded = self.peers[waiting[0]].excluded
        return [c for c in waiting if self.peers[c].excluded == excluded]

    def _start_copy(self) -> None:
        """Copy the dataset for the replicas waiting for one: to their sockets if all of them
        read the `$EOF:` form and diskless sync is on (or the copy leaves something out: it is
        not the dump file), else through a background save."""
        waiting = self._waiting()
        if not waiting:
            return
        excluded = self.peers[waiting[0]].excluded
        to_sockets = ((self._diskless() or bool(excluded))
                      and all("eof" in self.peers[c].capabilities for c in waiting))
        log.notice(f"Starting BGSAVE for SYNC with target: {'replicas sockets' if to_sockets else 'disk'}")
        if not to_sockets:
            if not self.server.snapshots.start_background_save():
                log.warning("BGSAVE for replication failed")
                for client in waiting:
                    self._drop(client, "-ERR BGSAVE failed, replication can't continue\r\n")
                return
            self.disk_sync_pid = self.server.snapshots.child_pid
        config = self.server.config
        payload = b""
        if to_sockets:
            mark = os.urandom(20).hex().encode()
            keys = NO_KEYS if "data" in excluded else self.server.keyspace  # (no functions to leave out)
            rdb = dump_rdb(keys, checksum=config["rdbchecksum"], config=config, replication=self.save_info())
            payload = b"$EOF:%s\r\n%s%s" % (mark, rdb, mark)
            self.socket_copy = list(waiting)
        self.selected_db = -1  # the stream after a copy starts with a SELECT
        for client in waiting:
            peer = self.peers[client]
            if not peer.pre_psync:
                client.reply_bytes(f"+FULLRESYNC {self.replid} {self.offset}\r\n".encode(), direct=True)
            peer.held = []
            peer.state = WAIT_BGSAVE_END
            if to_sockets:
                peer.to_socket = True
                client.reply_bytes(payload, direct=True)

    def written(self, client, n: int) -> None:
        """n bytes were written to a replica (reference/reply_buffers.py): once its copy is all
        written, a diskless copy may be over, a copy from disk is (the replica goes online).
        A write that leaves some of a diskless copy unwritten is the time repl-timeout counts
        from."""
        peer = self.peers.get(client)
        if peer is None:
            return
        unwritten = client.reply_buffer.direct
        if peer.state == WAIT_BGSAVE_END and peer.to_socket and not peer.copy_written:
            if unwritten:
                if n or not peer.last_partial_write:
                    peer.last_partial_write = int(time.time())
                return
            peer.last_partial_write = 0
            peer.copy_written = True
            self._socket_copy_progress()
        elif peer.state == SEND_BULK and not unwritten:
            self._put_online(client, hold=False)

    def _socket_copy_progress(self) -> None:
        """The diskless copy is over once every replica still there has all of it (Redis's
        child then exits): each goes online, its stream waiting for its first ACK (it then has
        read the whole copy: an `$EOF:` copy has no length, so what followed it could be taken
        for more of it). If none is left, the copy is abandoned."""
        left = [c for c in self.socket_copy if not c.closed]
        if not left:
            self.socket_copy = None
            log.warning("Diskless rdb transfer, last replica dropped, killing fork child.")
            log.warning("Background transfer terminated by signal 10")  # (Redis's child, by SIGUSR1)
            return
        if not all(self.peers[c].copy_written for c in left):
            return
        self.socket_copy = None
        log.warning(f"Diskless rdb transfer, done reading from pipe, {len(left)} replicas still up.")
        log.notice("Background RDB transfer terminated with success")
        for client in left:
            log.notice(f"Streamed RDB transfer with replica {self.name_of(client)} succeeded (socket). "
                       f"Waiting for REPLCONF ACK from slave to enable streaming")
            self._put_online(client, hold=not self.peers[client].pre_psync)

    def _put_online(self, client, hold: bool) -> None:
        """The copy is all written: a replica is online (its stream follows, or waits for its
        first ACK: `hold`); one that wanted the copy only is closed."""
        peer = self.peers[client]
        if peer.rdb_only:
            peer.state = RDB_TRANSMITTED
            log.notice(f"RDB transfer completed, rdb only replica ({self.name_of(client)}) should be "
                       f"disconnected asap")
            reply_buffers.close_asap(client)
            return
        peer.state = ONLINE
        peer.ack_time = time.time()
        if not hold:
            self._release_held(client)
        log.notice(f"Synchronization with replica {self.name_of(client)} succeeded")

    def _release_held(self, client) -> None:
        peer = self.peers[client]
        held, peer.held, peer.held_bytes = peer.held or (), None, 0  # (counted once: as queued now)
        for chunk in held:
            client.reply_bytes(chunk)

    def feed_replica(self, client, data: bytes) -> None:
        """Stream bytes for one replica: held back until its copy is written (and, diskless,
        loaded), then queued; either way they count toward its output buffer limits, from the
        moment its copy starts. A replica that wants the copy only gets none."""
        peer = self.peers[client]
        if peer.rdb_only:
            return
        if peer.held is not None:
            peer.held.append(data)
            peer.held_bytes += len(data)
            reply_buffers.close_if_over_limits(client, at_once=False)
        elif peer.state == ONLINE:
            client.reply_bytes(data)  # (its limits are looked at there)

    def held_bytes(self, client) -> int:
        peer = self.peers.get(client)
        return peer.held_bytes if peer is not None else 0

    def _disk_copy_done(self) -> None:
        """The background save replicas waited for has ended: send them the file, then what
        the stream made since."""
        self.disk_sync_pid = None
        waiting = [c for c in self.replicas if self.peers[c].state == WAIT_BGSAVE_END and not self.peers[c].to_socket]
        if not self.server.snapshots.last_bgsave_ok:
            log.warning("SYNC failed. BGSAVE child returned an error")
            for client in waiting:
                self._drop(client)
            return
        try:
            with open(self.server.config["dbfilename"], "rb") as f:
                data = f.read()
        except OSError as error:
            log.warning(f"SYNC failed. Can't open/stat DB after BGSAVE: {error.strerror}")
            for client in waiting:
                self._drop(client)
            return
        for client in waiting:  # online once all of it is written (`written`)
            self.peers[client].state = SEND_BULK
            client.reply_bytes(b"$%d\r\n%s" % (len(data), data), direct=True)

    def _drop(self, client, error: str | None = None) -> None:
        if error is not None:
            client.reply_bytes(error.encode())
            client.close_after_reply = True
        else:
            self.server.close_client(client)

    def acknowledged(self, client, offset: int) -> None:
        """REPLCONF ACK from a replica."""
        peer = self.peers.get(client)
        if peer is None or client.kind != "replica":
            return
        peer.ack_offset = max(peer.ack_offset, offset)
        peer.ack_time = time.time()
        if peer.state == ONLINE and peer.held is not None:
            self._release_held(client)
        self.serve_waits()

    def disconnect_replicas(self) -> None:
        for client in list(self.replicas):
            self.server.close_client(client)

    def count_acks(self, offset: int) -> int:
        return sum(1 for c in self.replicas
                   if self.peers[c].state == ONLINE and self.peers[c].ack_offset >= offset)

    def wait_for(self, client, offset: int, replicas: int) -> None:
        """A WAIT that blocks: ask the replicas for an ACK (after this loop turn, see
        FailoverSide.before_sleep: not while clients are paused)."""
        self.waiting_acks[client] = (offset, replicas)
        self.getack_due = True

    def serve_waits(self) -> None:
        """Answer the WAITs now satisfied; the others would time out with the count as it is."""
        for client, (offset, wanted) in list(self.waiting_acks.items()):
            if client.blocked is None:  # timed out (or killed) meanwhile
                del self.waiting_acks[client]
                continue
            count = self.count_acks(offset)
            client.blocked.timeout_reply = count
            if count >= wanted:
                del self.waiting_acks[client]
                self.server.blocked.release(client)
                client.reply(count)
                self.server.resume(client)

    def master_cron(self) -> None:
        """The master's part of the cron: replicas silent past repl-timeout are dropped (and
        those that read nothing of a diskless copy for that long), the stream is kept alive
        with PINGs, copies start, the backlog may expire."""
        limit = self.server.config["repl-timeout"]
        now = time.time()
        for client in list(self.replicas):
            peer = self.peers[client]
            if peer.state == ONLINE and not peer.pre_psync and now - peer.ack_time > limit:
                log.warning(f"Disconnecting timedout replica (streaming sync): {self.name_of(client)}")
                self.server.close_client(client)
            elif (peer.state == WAIT_BGSAVE_END and peer.last_partial_write
                  and int(now) - peer.last_partial_write > limit):
                log.warning(f"Disconnecting timedout replica (full sync): {self.name_of(client)}")
                self.server.close_client(client)
        if (self.replicas and self.cron_loops % self.server.config["repl-ping-replica-period"] == 0
                and not (self.failover_end_ms and self.server.clients_paused())):  # (failover.py)
            self.feed(PING)
        for client in self.replicas:  # a replica waiting for its copy hears we are alive
            peer = self.peers[client]
            if peer.state == WAIT_BGSAVE_START or (peer.state == WAIT_BGSAVE_END and not peer.to_socket):
                client.reply_bytes(b"\n", direct=True)
        if self.socket_copy is not None:
            self._socket_copy_progress()  # (its replicas may have gone)
        self._maybe_start_copy()
        self._expire_backlog()

    def _expire_backlog(self) -> None:
        """repl-backlog-ttl: a master without replicas for that long frees its backlog and
        starts a new history (0: never)."""
        ttl = self.server.config["repl-backlog-ttl"]
        if (ttl and self.backlog is not None and not self.replicas and self.master_host is None
                and time.time() - self.no_replicas_since > ttl):
            self.replid = new_replication_id()
            self.clear_replication_id2()
            self.backlog = None
            log.notice(f"Replication backlog freed after {ttl} seconds without connected replicas.")

    def _maybe_start_copy(self) -> None:
        waiting = self._waiting()
        if not waiting or self.disk_sync_pid is not None or self.socket_copy is not None or self._child_running():
            return
        config = self.server.config
        longest = time.monotonic() - min(self.peers[c].waiting_since for c in waiting)
        enough = config["repl-diskless-sync-max-replicas"]
        if (not self._diskless() or longest >= config["repl-diskless-sync-delay"]
                or (enough and len(waiting) >= enough)):
            self._start_copy()

    def good_replicas(self) -> int:
        """Online replicas that acknowledged within min-replicas-max-lag seconds."""
        limit = self.server.config["min-replicas-max-lag"]
        now = int(time.time())
        return sum(1 for client in self.replicas if self.peers[client].state == ONLINE
                   and now - int(self.peers[client].ack_time) <= limit)

    def lacks_good_replicas(self) -> bool:
        """min-replicas-to-write: a master refuses writes without that many good replicas."""
        config = self.server.config
        wanted = config["min-replicas-to-write"]
        return (self.master_host is None and wanted > 0 and config["min-replicas-max-lag"] > 0
                and self.good_replicas() < wanted)
