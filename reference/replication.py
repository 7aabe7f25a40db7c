"""Replication as Redis 7.0 does it (PSYNC2): this server as a master of replicas, and as a
replica of a master. spec/replication.md says what; this module is how.

Master side. A client that sends SYNC or PSYNC becomes a replica (Client.kind "replica"); its
state here is a `Peer`. The stream is what the AOF records: `record_effects` (one of the
server's EFFECT_RECORDERS) encodes each loop turn's effects, with a SELECT when the database
changes, and `feed` appends them to the backlog and to every replica past its copy. A full
resynchronisation copies the dataset in this process (diskless: `dump_rdb` at once, as the
`$EOF:` form) or with a background save (to disk: the file, as the `$<length>` form, once the
child is done); the stream made meanwhile waits in the peer (`held`) until the replica may get
it.

Replica side. The link to the master (reference/replica_link.py) goes through the handshake
and receives the copy; here it is loaded with the RDB loader, and the master's history becomes
ours. Then the link's socket becomes a `MasterClient`, whose executed commands feed this
server's own backlog (and so its replicas), and make its offset.
"""
from __future__ import annotations

import contextlib
import os
import selectors
import time

from reference import log
from reference.persistence import aof, rdb_load
from reference.persistence.rdb import OPCODE_AUX, dump_rdb
from reference.protocol import ErrorReply
from reference.replica_link import CONNECT, CONNECTED, CONNECTING, SYNC, MasterClient, MasterLink

READONLY = "READONLY You can't write against a read only replica."
NOREPLICAS = "NOREPLICAS Not enough good replicas to write."
UNBLOCKED = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
NO_ID = "0" * 40
GETACK = aof.encode_command([b"REPLCONF", b"GETACK", b"*"])
PING = aof.encode_command([b"PING"])
# The state of a replica (Peer.state) as INFO names it; a peer not yet copied has none there.
WAIT_BGSAVE_START, WAIT_BGSAVE_END, ONLINE = "wait_bgsave_start", "wait_bgsave_end", "online"
INFO_STATES = {WAIT_BGSAVE_START: "wait_bgsave", WAIT_BGSAVE_END: "wait_bgsave", ONLINE: "online"}


def new_replication_id() -> str:
    return os.urandom(20).hex()


class Backlog:
    """The last `repl-backlog-size` bytes of the stream: `first` is the offset of its first
    byte (offsets count from 1, as Redis's)."""

    def __init__(self, first: int):
        self.data = bytearray()
        self.first = first

    def append(self, chunk: bytes, size: int) -> None:
        self.data += chunk
        extra = len(self.data) - size
        if extra > 0:
            del self.data[:extra]
            self.first += extra

    def covers(self, offset: int) -> bool:
        """Can the stream be sent from `offset` (the first byte wanted) on?"""
        return self.first <= offset <= self.first + len(self.data)

    def since(self, offset: int) -> bytes:
        return bytes(self.data[offset - self.first:])


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
        self.ack_offset = 0
        self.ack_time = time.time()


class Replication:
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
        self.master_client = None
        # (replid, offset, db) of the history we have: the db the master's stream was in, since
        # a partial resync goes on without a SELECT
        self.cached: tuple[str, int, int] | None = None
        self.down_since = 0.0

    # --- as a master: the stream --------------------------------------------------------

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
            peer = self.peers[client]
            if peer.held is not None:
                peer.held.append(data)
            elif peer.state == ONLINE:
                client.reply_bytes(data)

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

    # --- as a master: replicas ------------------------------------------------------------

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
        return [c for c in self.replicas if self.peers[c].state == WAIT_BGSAVE_START]

    def _start_copy(self) -> None:
        """Copy the dataset for every replica waiting for one: to their sockets if all of them
        read the `$EOF:` form and diskless sync is on, else through a background save."""
        waiting = self._waiting()
        if not waiting:
            return
        to_sockets = self._diskless() and all("eof" in self.peers[c].capabilities for c in waiting)
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
            rdb = dump_rdb(self.server.keyspace, checksum=config["rdbchecksum"], config=config,
                           replication=self.save_info())
            payload = b"$EOF:%s\r\n%s%s" % (mark, rdb, mark)
        self.selected_db = -1  # the stream after a copy starts with a SELECT
        for client in waiting:
            peer = self.peers[client]
            if not peer.pre_psync:
                client.reply_bytes(f"+FULLRESYNC {self.replid} {self.offset}\r\n".encode())
            peer.held = []
            if to_sockets:
                client.reply_bytes(payload)
                log.notice(f"Streamed RDB transfer with replica {self.name_of(client)} succeeded (socket). "
                           f"Waiting for REPLCONF ACK from slave to enable streaming")
                # The stream waits for its first ACK: it then has read the whole copy (an
                # `$EOF:` copy has no length, so what followed it could be taken for more of it).
                self._put_online(client, hold=not peer.pre_psync)
            else:
                peer.state = WAIT_BGSAVE_END

    def _put_online(self, client, hold: bool) -> None:
        peer = self.peers[client]
        peer.state = ONLINE
        peer.ack_time = time.time()
        if not hold:
            for chunk in peer.held or ():
                client.reply_bytes(chunk)
            peer.held = None
        log.notice(f"Synchronization with replica {self.name_of(client)} succeeded")

    def _disk_copy_done(self) -> None:
        """The background save replicas waited for has ended: send them the file, then what
        the stream made since."""
        self.disk_sync_pid = None
        waiting = [c for c in self.replicas if self.peers[c].state == WAIT_BGSAVE_END]
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
        for client in waiting:
            client.reply_bytes(b"$%d\r\n%s" % (len(data), data))
            self._put_online(client, hold=False)

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
            for chunk in peer.held:
                client.reply_bytes(chunk)
            peer.held = None
        self.serve_waits()

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

    def disconnect_replicas(self) -> None:
        for client in list(self.replicas):
            self.server.close_client(client)

    # --- WAIT ------------------------------------------------------------------------------

    def count_acks(self, offset: int) -> int:
        return sum(1 for c in self.replicas
                   if self.peers[c].state == ONLINE and self.peers[c].ack_offset >= offset)

    def wait_for(self, client, offset: int, replicas: int) -> None:
        """A WAIT that blocks: ask the replicas for an ACK now."""
        self.waiting_acks[client] = (offset, replicas)
        self.feed(GETACK)

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

    # --- as a replica ----------------------------------------------------------------------

    def start(self) -> None:
        """At start-up, after loading: the history the RDB file named, if it was loaded (AUX
        repl-id, repl-offset, repl-stream-db), as Redis's loadDataFromDisk: a replica goes on
        with it (a partial resync, if its master still has it); a master keeps it as its second
        id, with a backlog, so that its replicas may continue. Then the `replicaof` directive."""
        config = self.server.config
        history = None if config["appendonly"] else _history_in_rdb(os.path.join(config["dir"], config["dbfilename"]))
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
            self.state = CONNECT  # the cron connects

    def set_master(self, host: str, port: int) -> None:
        """REPLICAOF host port: the link to a former master closes (its history is kept to ask
        for a partial resync); a master keeps its own history to ask with."""
        was_master = self.master_host is None
        self.master_host = None  # (closing the old link must not reconnect it)
        self._close_link()
        self._disconnect_blocked_clients()
        self.master_host, self.master_port = host, port
        self._set_config((host, port))
        if was_master:
            self._discard_cached()
            log.notice("Before turning into a replica, using my own master parameters to synthesize a "
                       "cached master: I may be able to synchronize with the new master with just a partial transfer.")
            self.cached = (self.replid, self.offset, 0)  # (our promoted replica starts with a SELECT)
        self.state = CONNECT
        log.notice(f"Connecting to MASTER {host}:{port}")
        self.connect()

    def _disconnect_blocked_clients(self) -> None:
        """Clients blocked on a master (BLPOP, WAIT) would wait on a replica for what cannot
        come: they are told so and disconnected."""
        server = self.server
        for client in list(server.blocked.waiting):
            server.blocked.release(client)
            client.reply(ErrorReply(UNBLOCKED))
            server.count_error(UNBLOCKED)
            client.close_after_reply = True
        self.serve_waits()  # (forgets the WAITs released)

    def unset_master(self) -> None:
        """REPLICAOF NO ONE: a master again, going on with the history it has."""
        if self.master_host is None:
            return
        self.master_host = None
        self._set_config(None)
        self._close_link()
        self._discard_cached()
        self.shift_replication_id()
        self.disconnect_replicas()  # they come back at once, and continue partially
        self.state = "none"
        self.selected_db = -1
        self.down_since = 0.0
        self.no_replicas_since = time.time()  # (the backlog may serve the old master's replicas)

    def _discard_cached(self) -> None:
        if self.cached is not None:
            log.notice("Discarding previously cached master state.")
            self.cached = None

    def _set_config(self, value) -> None:
        # The `replicaof` option follows REPLICAOF (CONFIG GET shows it; the log says S or M).
        self.server.config._values["replicaof"] = value

    def _close_link(self) -> None:
        """Close the link being set up, or the master client (forget() then caches its state)."""
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.master_client is not None:
            self.server.close_client(self.master_client)

    def connect(self) -> None:
        try:
            self.link = MasterLink(self, self.master_host, self.master_port)
        except OSError as error:
            log.warning(f"Unable to connect to MASTER: {error.strerror or error}")
            self.link = None
            return
        self.state = CONNECTING
        log.notice("MASTER <-> REPLICA sync started")

    def link_failed(self) -> None:
        """The link being set up failed (logged already): try again from the cron."""
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.master_host is not None:
            self.state = CONNECT

    def _master_lost(self) -> None:
        """Our master's connection closed: keep what we have of its history, to continue."""
        client, self.master_client = self.master_client, None
        log.warning("Connection with master lost.")
        log.notice("Caching the disconnected master state.")
        self.cached = (self.replid, self.offset, client.db_index)
        self.state = CONNECT
        self.down_since = time.time()
        if self.master_host is not None:
            log.notice(f"Reconnecting to MASTER {self.master_host}:{self.master_port}")
            self.connect()

    def psync_request(self) -> tuple[str, str]:
        if self.cached is None:
            log.notice("Partial resynchronization not possible (no cached master)")
            return "?", "-1"
        replid, offset, _ = self.cached
        log.notice(f"Trying a partial resynchronization (request {replid}:{offset + 1}).")
        return replid, str(offset + 1)

    def copy_starts(self) -> None:
        """The copy's header came: the history we had is of no use any more."""
        self._discard_cached()

    def full_resync_loaded(self, sock, replid: str, offset: int, data: bytes, rest: bytes) -> None:
        """The copy arrived: load it, take the master's history as ours, go on with the stream."""
        server = self.server
        config = server.config
        self.disconnect_replicas()  # a new history: they must resynchronise
        self.backlog = None
        temporary = f"temp-{int(time.time())}.{os.getpid()}.rdb"
        try:
            with open(temporary, "wb") as f:
                f.write(data)
            os.rename(temporary, config["dbfilename"])
        except OSError as error:
            log.warning(f"Failed trying to rename the temp DB into {config['dbfilename']} in MASTER <-> REPLICA "
                        f"synchronization: {error.strerror}")
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            self.link_failed()
            return
        # The AOF holds what was replaced: it stops, and starts anew (a rewrite) once loaded.
        restart_aof = server.aof.state != aof.OFF
        if restart_aof:
            server.aof.turn_off()
        log.notice("MASTER <-> REPLICA sync: Flushing old data")
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        try:
            loaded = rdb_load.load_rdb_data(server.keyspace, data, config, log.write)
        except rdb_load.RDBLoadError:
            log.warning("Failed trying to load the MASTER synchronization DB from disk, check server logs.")
            self.link_failed()
            return
        server.snapshots.forget_changes()
        if config["rdb-del-sync-files"] and not config["save"] and not config["appendonly"]:
            log.notice("Removing the RDB file obtained from the master. This replica has persistence disabled")
            with contextlib.suppress(OSError):
                os.unlink(config["dbfilename"])
        self.replid = replid
        self.offset = offset
        self.clear_replication_id2()
        self.create_backlog()
        # The stream goes on in the database the copy names (from a replica, whose stream is
        # its master's, passed on: it may have no SELECT to come).
        self.cached = (replid, offset, _stream_db(loaded.aux))
        if restart_aof and not server.aof.turn_on():
            log.warning("Failed enabling the AOF after successful master synchronization!")
        if self._become_connected(sock, rest):
            log.notice("MASTER <-> REPLICA sync: Finished with success")
        self.send_ack()  # at once: a master that sent the `$EOF:` form waits for it to go on

    def partial_resync_accepted(self, sock, new_replid: str | None, rest: bytes) -> None:
        if new_replid and new_replid != self.cached[0]:
            log.warning(f"Master replication ID changed to {new_replid}")
            self.replid2 = self.cached[0]
            self.second_offset = self.offset + 1
            self.replid = new_replid
            self.disconnect_replicas()
        if self.backlog is None:
            self.create_backlog()
        self._become_connected(sock, rest)

    def _become_connected(self, sock, rest: bytes) -> bool:
        from reference.server import _address
        server = self.server
        try:
            addr, laddr = _address(sock.getpeername()), _address(sock.getsockname())
        except OSError as error:  # gone already
            log.warning(f"I/O error trying to sync with MASTER: {error.strerror}")
            self.link_failed()
            return False
        self.link = None
        db = self.cached[2] if self.cached is not None else 0
        self.cached = None
        client = MasterClient(server, sock, server.next_client_id, addr, laddr, self)
        client.select(db)
        server.next_client_id += 1
        server.clients[client.id] = client
        server.selector.modify(sock, selectors.EVENT_READ, client)
        self.master_client = client
        self.state = CONNECTED
        self.down_since = 0.0
        if rest:
            client.parser.feed(rest)
            server.process_input(client)
        return True

    def send_ack(self) -> None:
        if self.master_client is not None:
            self.master_client.send(aof.encode_command([b"REPLCONF", b"ACK", b"%d" % self.offset]))

    def read_offset(self) -> int:
        """Bytes of stream received (slave_read_repl_offset), executed or not."""
        client = self.master_client
        return self.offset + (len(client.parser.unapplied) if client is not None else 0)

    # --- periodic work ---------------------------------------------------------------------

    def cron(self) -> None:
        """About once a second, as Redis's replicationCron."""
        now = time.monotonic()
        if self.disk_sync_pid is not None and self.server.snapshots.child_pid != self.disk_sync_pid:
            self._disk_copy_done()  # (checked at every tick: the save's end is not to wait for)
        if now < self.next_cron:
            return
        self.next_cron = now + 1.0
        self._check_timeouts()
        if self.master_host is not None and self.state == CONNECT and self.link is None:
            log.notice(f"Connecting to MASTER {self.master_host}:{self.master_port}")
            self.connect()
        if self.master_client is not None:
            self.send_ack()
        if self.replicas and self.cron_loops % self.server.config["repl-ping-replica-period"] == 0:
            self.feed(PING)
        for client in self.replicas:  # a replica waiting for its copy hears we are alive
            peer = self.peers[client]
            if peer.state == WAIT_BGSAVE_START or (peer.state == WAIT_BGSAVE_END):
                client.reply_bytes(b"\n")
        self._maybe_start_copy()
        self._expire_backlog()
        self.cron_loops += 1

    def _check_timeouts(self) -> None:
        """repl-timeout: a master silent for that long (even its PINGs), or a replica that has
        not acknowledged for that long, is given up; the link is tried again."""
        limit = self.server.config["repl-timeout"]
        now = time.time()
        link = self.link
        if link is not None and now - link.last_io > limit:
            if self.state == SYNC:
                log.warning("Timeout receiving bulk data from MASTER... If the problem persists try to set the "
                            "'repl-timeout' parameter in redis.conf to a larger value.")
            else:
                log.warning("Timeout connecting to the MASTER...")
            self.link_failed()
        if self.master_client is not None and now - self.master_client.last_interaction > limit:
            log.warning("MASTER timeout: no data nor PING received...")
            self.server.close_client(self.master_client)
        for client in list(self.replicas):
            peer = self.peers[client]
            if peer.state == ONLINE and not peer.pre_psync and now - peer.ack_time > limit:
                log.warning(f"Disconnecting timedout replica (streaming sync): {self.name_of(client)}")
                self.server.close_client(client)

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
        if not waiting or self.disk_sync_pid is not None or self._child_running():
            return
        config = self.server.config
        longest = time.monotonic() - min(self.peers[c].waiting_since for c in waiting)
        enough = config["repl-diskless-sync-max-replicas"]
        if (not self._diskless() or longest >= config["repl-diskless-sync-delay"]
                or (enough and len(waiting) >= enough)):
            self._start_copy()

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
            ("master_failover_state", "no-failover"),
            ("master_replid", self.replid), ("master_replid2", self.replid2),
            ("master_repl_offset", self.offset), ("second_repl_offset", self.second_offset),
            ("repl_backlog_active", int(backlog is not None)),
            ("repl_backlog_size", config["repl-backlog-size"]),
            ("repl_backlog_first_byte_offset", backlog.first if backlog else 0),
            ("repl_backlog_histlen", len(backlog.data) if backlog else 0),
        ]
        return fields

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

    def refuses_stale(self, client, command, queued) -> bool:
        """replica-serve-stale-data no: while the link is down, only commands flagged `stale`
        (INFO, REPLICAOF, ...) are served; EXEC only if every queued command is. `queued`:
        the Commands EXEC would run."""
        if self.master_host is None or self.state == CONNECTED or self.server.config["replica-serve-stale-data"]:
            return False
        return "stale" not in command.flags or any("stale" not in each.flags for each in queued)

    def refuses_write(self, client) -> bool:
        """replica-read-only: writes from anyone but our master are refused."""
        return (self.master_host is not None and self.server.config["replica-read-only"]
                and client is not self.master_client)


def _history_in_rdb(path: str) -> tuple[int, str, int] | None:
    """(repl-stream-db, repl-id, repl-offset) from the AUX fields at the head of an RDB file, if
    it has all three (and it was loaded: a file that does not load stopped the start)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64 * 1024)  # AUX fields come first, and are short
    except OSError:
        return None
    reader = rdb_load.Reader(head)
    aux = {}
    try:
        if reader.read(5) != b"REDIS":
            return None
        reader.read(4)
        while reader.byte() == OPCODE_AUX:
            name = reader.string()
            aux[name] = reader.string()
    except rdb_load.RDBLoadError:
        pass
    try:
        replid, offset = aux[b"repl-id"].decode(), int(aux[b"repl-offset"])
        stream_db = int(aux[b"repl-stream-db"])
    except (KeyError, ValueError, UnicodeDecodeError):
        return None
    if len(replid) != 40 or offset < 0 or stream_db < 0:
        return None
    return stream_db, replid, offset


def _stream_db(aux: dict) -> int:
    try:
        return max(int(aux.get(b"repl-stream-db", b"0")), 0)
    except ValueError:
        return 0


def record_effects(server, effects) -> None:
    """The server's EFFECT_RECORDERS entry."""
    server.replication.record_effects(effects)


def forget_client(server, client) -> None:
    """The server's CLIENT_STATE_HOOKS entry."""
    server.replication.forget(client)
