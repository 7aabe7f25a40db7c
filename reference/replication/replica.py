"""The replica's side of replication (spec/replication.md): following a master.

The link to the master (reference/replication/link.py) goes through the handshake and receives
the copy; here it is loaded with the RDB loader, and the master's history becomes ours. Then
the link's socket becomes a `MasterClient`, whose executed commands feed this server's own
backlog (and so its replicas), and make its offset.

`ReplicaSide` is one half of `Replication` (reference/replication/__init__.py), whose state
(ids, offsets, backlog, the stream) it shares.
"""
from __future__ import annotations

import contextlib
import os
import selectors
import time
from dataclasses import dataclass

from reference import log
from reference.dispatch import lookup
from reference.keyspace import ALIVE, DELETED, HIDDEN, Keyspace
from reference.persistence import aof, rdb_load
from reference.protocol import ErrorReply
from reference.replication.history import stream_db_of
from reference.replication.link import CONNECT, CONNECTED, CONNECTING, SYNC, MasterClient, MasterLink

READONLY = "READONLY You can't write against a read only replica."
UNBLOCKED = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
LOADING = "LOADING Redis is loading the dataset in memory"
# What Redis logs when a copy loaded from the socket ends short (rdbReportError, then
# readSyncBulkPayload: strerror of an errno the short read did not set, as Redis 7.0.15 shows).
TRUNCATED_LINE = "Internal error in RDB reading offset 0, function at rdb.c:0 -> Unexpected EOF reading RDB file"
SOCKET_SHORT_READ = ". Failure loading rdb format from socket, assuming connection error, resuming operation."
SOCKET_ERRNO_TEXT = "Operation now in progress"


@dataclass
class LoadingCopy:
    """A copy being loaded from the socket as it comes (repl-diskless-load on-empty-db or
    swapdb): what INFO persistence shows of it, and what to do at its end."""
    swap: bool  # swapdb: loaded beside the old data, which stays until the copy is complete
    asynchronous: bool  # the old data is served meanwhile (INFO async_loading)
    restart_aof: bool
    started: int  # unix seconds
    handshake: object  # its transfer_size and transfer_read: the progress


class ReplicaSide:
    """This server as a replica: REPLICAOF, the link, loading the copy, ACKs, refusals."""

    def set_master(self, host: str, port: int) -> None:
        """REPLICAOF host port: the link to a former master closes (its history is kept to ask
        for a partial resync); a master keeps its own history to ask with."""
        was_master = self.master_host is None
        self.master_host = None  # (closing the old link must not reconnect it)
        self._close_link()
        self._disconnect_blocked_clients()
        self.master_host, self.master_port = host, port
        self._set_config((host, port))
        self.server.keyspace.replica_expiry = self.expiry_verdict
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
        self.server.keyspace.replica_expiry = None  # keys past their time are deleted again
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
        self.loading_copy = None
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
        self.loading_copy = None
        if self.master_host is not None:
            self.state = CONNECT

    def retry_at_once(self) -> None:
        """The copy had begun to come when the link failed (logged already): as Redis's
        cancelReplicationHandshake(1), connect again at once rather than from the cron."""
        self.link_failed()
        if self.master_host is not None and self.link is None:
            log.notice(f"Reconnecting to MASTER {self.master_host}:{self.master_port} after failure")
            self.connect()

    def copy_cut(self) -> None:
        """The copy being loaded from the socket ended before its end (the link closed or went
        silent for repl-timeout): the loader's short read, which Redis takes for a broken
        connection and goes on."""
        log.warning("Short read or OOM loading DB. Unrecoverable error, aborting now.")
        log.warning(f"{TRUNCATED_LINE}{SOCKET_SHORT_READ}")
        self._socket_load_failed(SOCKET_ERRNO_TEXT)

    def _socket_load_failed(self, why: str) -> None:
        """The copy being loaded from the socket is abandoned: nothing of it is served."""
        log.warning(f"Failed trying to load the MASTER synchronization DB from socket: {why}")
        loading = self.loading_copy
        self.retry_at_once()
        if loading.swap:
            log.notice("MASTER <-> REPLICA sync: Discarding temporary DB in background")
        else:
            self._empty_data()  # what it had loaded so far

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

    # --- receiving and loading the copy (Redis's readSyncBulkPayload) ---------------------

    def loads_from_socket(self) -> bool:
        """repl-diskless-load: is the copy loaded as it comes (swapdb; on-empty-db when we hold
        no key), rather than written to disk and loaded once complete (disabled)?"""
        mode = self.server.config["repl-diskless-load"]
        return mode == "swapdb" or (mode == "on-empty-db" and self.server.keyspace.total_keys() == 0)

    def copy_starts(self) -> None:
        """The copy's header came. Loaded from the socket, it starts loading now: into the
        emptied dataset, or with swapdb beside the old one, which stays served (only to reads,
        "async loading", when the copy continues the history we have: the same replication id)
        until the copy is complete. Until then commands get LOADING (refuses_loading)."""
        handshake = self.link.handshake
        if not handshake.to_parser:
            return  # (the old data is served while the copy comes to disk)
        server = self.server
        swap = server.config["repl-diskless-load"] == "swapdb"
        restart_aof = self._stop_aof()
        server.snapshots.kill_child()  # (see _disk_copy_loaded)
        if not swap:
            self._attach_to_new_master()
            log.notice("MASTER <-> REPLICA sync: Flushing old data")
            self._empty_data()
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        self.loading_copy = LoadingCopy(swap, swap and handshake.master_replid == self.replid, restart_aof,
                                        int(time.time()), handshake)

    def _attach_to_new_master(self) -> None:
        """The copy replaces what we had: our history and our replicas' are of no use any more."""
        self._discard_cached()
        self.disconnect_replicas()  # a new history: they must resynchronise
        self.backlog = None  # (nor may they continue from ours)

    def _empty_data(self) -> None:
        keyspace = self.server.keyspace
        for db in keyspace.dbs:
            db.flush()
        keyspace.replica_own_expires.clear()

    def _stop_aof(self) -> bool:
        """The AOF holds what is replaced: it stops, to start anew (a rewrite) once the copy is
        loaded. Was it on?"""
        if self.server.aof.state == aof.OFF:
            return False
        self.server.aof.turn_off()
        return True

    def refuses_loading(self, command, queued) -> bool:
        """While a copy loads from the socket: LOADING for every command not flagged `loading`
        (EXEC: for any queued command that is not); with async loading, only for those flagged
        `no_async_loading`."""
        loading = self.loading_copy
        if loading is None:
            return False
        if loading.asynchronous:
            return any("no_async_loading" in each.flags for each in (command, *queued))
        return any("loading" not in each.flags for each in (command, *queued))

    def loading_fields(self) -> list[tuple[str, object]]:
        """INFO persistence's loading and async_loading: is a copy loading from the socket?"""
        loading = self.loading_copy
        asynchronous = loading is not None and loading.asynchronous
        return [("loading", int(loading is not None and not asynchronous)), ("async_loading", int(asynchronous))]

    def loading_progress(self) -> list[tuple[str, object]]:
        """The end of INFO persistence while a copy loads from the socket: how far it is."""
        loading = self.loading_copy
        if loading is None:
            return []
        total, done = loading.handshake.transfer_size, loading.handshake.transfer_read
        perc, left = (done / total * 100, total - done) if total > 0 else (0.0, 0)
        elapsed = int(time.time()) - loading.started
        return [("loading_start_time", loading.started), ("loading_total_bytes", max(total, 0)),
                ("loading_rdb_used_mem", 0), ("loading_loaded_bytes", done),
                ("loading_loaded_perc", f"{perc:.2f}"),
                ("loading_eta_seconds", 1 if elapsed == 0 else elapsed * left // (done + 1))]

    def full_resync_loaded(self, sock, replid: str, offset: int, data: bytes, rest: bytes) -> None:
        """The copy arrived: load it, take the master's history as ours, go on with the stream."""
        loaded = self._socket_copy_loaded(data) if self.loading_copy is not None else self._disk_copy_loaded(data)
        if loaded is None:
            return  # failed (logged; tried again)
        restart_aof, stream_db = loaded
        server = self.server
        self.replid = replid
        self.offset = offset
        self.clear_replication_id2()
        self.create_backlog()
        # The stream goes on in the database the copy names (from a replica, whose stream is
        # its master's, passed on: it may have no SELECT to come).
        self.cached = (replid, offset, stream_db)
        if restart_aof and not server.aof.turn_on():
            log.warning("Failed enabling the AOF after successful master synchronization!")
        if self._become_connected(sock, rest):
            log.notice("MASTER <-> REPLICA sync: Finished with success")
        self.send_ack()  # at once: a master that sent the `$EOF:` form waits for it to go on

    def _disk_copy_loaded(self, data: bytes) -> tuple[bool, int] | None:
        """repl-diskless-load disabled: the copy becomes `dbfilename` (through a temporary
        file), which is loaded. (Whether the AOF is to start again, the database the stream
        goes on in), or None if it failed."""
        server = self.server
        config = server.config
        temporary = f"temp-{int(time.time())}.{os.getpid()}.rdb"
        try:
            with open(temporary, "wb") as f:
                f.write(data)
        except OSError as error:  # (Redis writes it as it comes, and stops at the first error)
            log.warning(f"Write error or short write writing to the DB dump file needed for MASTER <-> REPLICA "
                        f"synchronization: {error.strerror}")
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            self.retry_at_once()
            return None
        restart_aof = self._stop_aof()
        snapshots = server.snapshots
        if snapshots.in_progress:  # its file would replace the copy's
            log.notice(f"Replica is about to load the RDB file received from the master, but there is a pending "
                       f"RDB child running. Killing process {snapshots.child_pid} and removing its temp file to "
                       f"avoid any race")
            snapshots.kill_child()
        self._attach_to_new_master()
        log.notice("MASTER <-> REPLICA sync: Flushing old data")
        self._empty_data()
        log.notice("MASTER <-> REPLICA sync: Loading DB in memory")
        try:
            os.rename(temporary, config["dbfilename"])
        except OSError as error:
            log.warning(f"Failed trying to rename the temp DB into {config['dbfilename']} in MASTER <-> REPLICA "
                        f"synchronization: {error.strerror}")
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            self.retry_at_once()
            return None
        removes_file = config["rdb-del-sync-files"] and not config["save"] and not config["appendonly"]
        try:
            loaded = rdb_load.load_rdb_data(server.keyspace, data, config, log.write)
        except rdb_load.RDBLoadError as error:
            if error.aborts:  # a damaged file: as at start-up (load_at_startup), the process ends
                for level, line in error.log_lines:
                    log.write(line, level)
                if isinstance(error, rdb_load.Corrupt) and error.rechecked_alike:
                    log.warning(rdb_load.TERMINATING)
                raise SystemExit(1)
            for level, line in error.log_lines:  # a bad signature or version
                log.write(line, level)
            log.warning("Failed trying to load the MASTER synchronization DB from disk: Invalid argument")
            self.retry_at_once()
            if removes_file:
                self._remove_sync_file()
            return None
        server.snapshots.forget_changes()
        if removes_file:
            self._remove_sync_file()
        return restart_aof, stream_db_of(loaded.aux)

    def _remove_sync_file(self) -> None:
        log.notice("Removing the RDB file obtained from the master. This replica has persistence disabled")
        with contextlib.suppress(OSError):
            os.unlink(self.server.config["dbfilename"])

    def _socket_copy_loaded(self, data: bytes) -> tuple[bool, int] | None:
        """on-empty-db, swapdb: the copy, complete, is loaded (the file on disk is left as it
        is). With swapdb it is loaded beside the old data, and replaces it only once loaded
        whole. As _disk_copy_loaded."""
        server = self.server
        loading = self.loading_copy
        target = Keyspace(len(server.keyspace)) if loading.swap else server.keyspace
        try:
            loaded = rdb_load.load_rdb_data(target, data, server.config, log.write)
        except rdb_load.RDBLoadError as error:
            self._socket_copy_refused(error)
            return None
        self.loading_copy = None
        if loading.swap:
            self._attach_to_new_master()
            log.notice("MASTER <-> REPLICA sync: Swapping active DB with loaded DB")
            keyspace = server.keyspace
            for active, new in zip(keyspace.dbs, target.dbs):
                active.swap(new)
            keyspace.last_load = target.last_load
            keyspace.replica_own_expires.clear()
            log.notice("MASTER <-> REPLICA sync: Discarding old DB in background")
        server.keyspace.dirty += 1  # (no save followed: the copy is a change to save)
        return loading.restart_aof, stream_db_of(loaded.aux)

    def _socket_copy_refused(self, error: rdb_load.RDBLoadError) -> None:
        """What Redis makes of a bad copy loaded from the socket (rdbReportError): a short read
        or what it reports as a read error (an unknown type) is taken for a broken link, and
        the copy is asked for again; so is a bad signature or version; damage ends the
        process."""
        if isinstance(error, rdb_load.Truncated):
            self.copy_cut()
        elif isinstance(error, rdb_load.UnknownType):
            log.warning(f"{error.reason_line}{SOCKET_SHORT_READ}")
            self.copy_cut()  # (the loader then meets the end of what it read)
        elif not error.aborts:
            for level, line in error.log_lines:
                log.write(line, level)
            self._socket_load_failed("Invalid argument")
        else:
            lines = error.log_lines
            if isinstance(error, rdb_load.Corrupt):
                lines = [*lines[:-1], ("warning", f"{error.reason_line}. Failure loading rdb format"),
                         ("warning", rdb_load.TERMINATING)]
            for level, line in lines:
                log.write(line, level)
            raise SystemExit(1)

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

    def replica_cron(self) -> None:
        """The replica's part of the cron: repl-timeout on a link being set up or on a silent
        master; connecting again; an ACK every second."""
        limit = self.server.config["repl-timeout"]
        now = time.time()
        link = self.link
        if link is not None and now - link.last_io > limit:
            if self.loading_copy is not None:
                self.copy_cut()  # (the loader's read timed out)
            else:
                if self.state == SYNC:
                    log.warning("Timeout receiving bulk data from MASTER... If the problem persists try to set "
                                "the 'repl-timeout' parameter in redis.conf to a larger value.")
                else:
                    log.warning("Timeout connecting to the MASTER...")
                self.retry_at_once()
        if self.master_client is not None and now - self.master_client.last_interaction > limit:
            log.warning("MASTER timeout: no data nor PING received...")
            self.server.close_client(self.master_client)
        if self.master_host is not None and self.state == CONNECT and self.link is None:
            log.notice(f"Connecting to MASTER {self.master_host}:{self.master_port}")
            self.connect()
        if self.master_client is not None:
            self.send_ack()

    def expiry_verdict(self) -> str:
        """What a key past its time is to the command running (Keyspace.replica_expiry), as
        Redis's expireIfNeeded on a replica: alive to our master's commands (it expires keys
        itself, sending DELs); deleted by a write of a client of a writable replica; hidden
        from anything else, and kept."""
        server = self.server
        client = server.current_client
        if client is None:
            return HIDDEN
        if client is self.master_client:
            return ALIVE
        if not server.config["replica-read-only"]:
            command, _ = lookup(server.commands, client.argv)
            if command is not None and "write" in command.flags:
                return DELETED
        return HIDDEN

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
