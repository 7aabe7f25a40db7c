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

from reference import log
from reference.persistence import aof, rdb_load
from reference.protocol import ErrorReply
from reference.replication.history import stream_db_of
from reference.replication.link import CONNECT, CONNECTED, CONNECTING, SYNC, MasterClient, MasterLink

READONLY = "READONLY You can't write against a read only replica."
UNBLOCKED = "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
MASTERDOWN = "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."


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
        self.cached = (replid, offset, stream_db_of(loaded.aux))
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

    def replica_cron(self) -> None:
        """The replica's part of the cron: repl-timeout on a link being set up or on a silent
        master; connecting again; an ACK every second."""
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
        if self.master_host is not None and self.state == CONNECT and self.link is None:
            log.notice(f"Connecting to MASTER {self.master_host}:{self.master_port}")
            self.connect()
        if self.master_client is not None:
            self.send_ack()

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
