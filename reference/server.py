"""The server: one thread, one `selectors` loop, commands executed one at a time in arrival order.

Each loop turn reads what readable clients sent, parses and executes every complete command
they hold (so a pipeline is answered in one write), writes the replies, and runs the cron when
it is due (active expiry, idle-client timeouts) `hz` times a second. Signals (SIGTERM, SIGINT)
only set a flag and wake the loop through a self-pipe; shutdown happens between commands.
"""
from __future__ import annotations

import contextlib
import os
import selectors
import signal
import socket
import ssl
import time
import traceback

from reference import log, replication, reply_buffers, tls
from reference.blocking import Block, BlockedClients
from reference.client_pause import ClientPause
from reference.commands.connection import describe
from reference.commands.transactions import wrap_in_multi
from reference.dispatch import build_table, lookup, run
from reference.info import ClientBufferPeaks, error_code, resident_bytes
from reference.keyspace import Keyspace
from reference.listeners import TLS_LISTENER, UNIX_LISTENER, Listening, refuse
from reference.open_files import adjust_open_files_limit
from reference.persistence import aof as append_only
from reference.persistence.rdb_load import load_at_startup
from reference.persistence.snapshots import MISCONF, Snapshots
from reference.protocol import QUEUED, ErrorReply, HiredisRequestParser, ProtocolError, encode
from reference.shutdown import ShuttingDown

NOAUTH = "NOAUTH Authentication required."
DEBUG_NOT_ALLOWED = (
    "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", "
    "you can run it from a local connection, otherwise you need to set this option in the "
    "configuration file, and then restart the server.")

# Functions (server, client) run when a client disconnects or is RESET, for the families that
# keep registries naming clients (pub/sub channels, for one).
CLIENT_STATE_HOOKS: list = []

# Functions (server, effects) given the changes of each loop turn, a list of (db index, argv)
# in the order they happened: the AOF's writer (replicas' feeds will join it).
EFFECT_RECORDERS: list = [append_only.record_effects]

# Commands that act on the transaction itself rather than being queued by MULTI.
TRANSACTION_CONTROL = frozenset({"exec", "discard", "multi", "watch", "quit", "reset"})
# Commands that may lazily expire any number of keys: their DELs are not wrapped in one
# MULTI ... EXEC (Redis's CMD_TOUCHES_ARBITRARY_KEYS).
TOUCHES_ARBITRARY_KEYS = frozenset({"scan", "randomkey"})
# What a RESP2 client may still send while subscribed to something.
SUBSCRIBED_CONTEXT = frozenset({"subscribe", "ssubscribe", "unsubscribe", "sunsubscribe",
                                "psubscribe", "punsubscribe", "ping", "quit", "reset"})

READ_CHUNK = 16 * 1024  # as Redis reads: the inline-size limit depends on it
STATUS_PERIOD = 5.0  # seconds between the cron's lines about the keyspace and the clients


class Client:
    """One connection and its per-connection state (what CLIENT LIST shows)."""

    def __init__(self, server: Server, sock: socket.socket, client_id: int, addr: str, laddr: str,
                 unix_socket: bool = False):
        self.server = server
        self.sock = sock
        self.fd = sock.fileno()
        self.id = client_id
        self.addr = addr
        self.laddr = laddr
        self.unix_socket = unix_socket  # connected through `unixsocket` (CLIENT LIST flag U)
        self.parser = HiredisRequestParser(server.config["proto-max-bulk-len"])
        self.out: list[bytes] = []
        self.protocol = 2
        self.db_index = 0
        self.db = server.keyspace[0]
        self.name: bytes = b""
        self.set_authenticated(not server.config["requirepass"])
        self.created = time.time()
        self.last_interaction = self.created
        self.last_command = "NULL"
        self.close_after_reply = False
        self.closed = False
        self.writing = False  # registered for EVENT_WRITE
        # State that other families change and that CLIENT LIST reports (its flags, sub, psub,
        # ssub, multi fields) and RESET clears.
        self.kind = "normal"  # or "replica" (a replica's link), "master" (ours), "monitor"
        # dicts used as ordered sets: unsubscribing from all goes in subscription order
        self.channels: dict[bytes, None] = {}        # SUBSCRIBE
        self.patterns: dict[bytes, None] = {}        # PSUBSCRIBE
        self.shard_channels: dict[bytes, None] = {}  # SSUBSCRIBE
        self.transaction: list[list[bytes]] | None = None  # argv queued since MULTI, else None
        self.transaction_failed = False  # a command was refused while queueing: EXECABORT
        self.dirty_cas = False  # a WATCHed key changed: EXEC will fail
        # (db, key) this client WATCHes -> was the key already past its time when watched?
        self.watched: dict[tuple, bool] = {}
        self.in_exec = False    # running EXEC's commands: blocking commands must not wait
        self.blocked = None     # a reference.blocking.Waiting while in a blocking command
        self.postponed: list[bytes] | None = None  # the command a pause holds back (Server.execute)
        self.argv: list[bytes] = []  # the command line being run (dispatch.run sets it)
        self.propagate_as: list[list[bytes]] | None = None  # a handler's rewrite for the AOF
        # Record the command although it counted no change (Redis's forceCommandPropagation):
        # FLUSHALL of empty databases, a blocked pop served by another client's write.
        self.force_propagation = False
        self.reply_buffer = reply_buffers.ReplyBuffer()  # its size and peak (CLIENT LIST rbs, rbp)
        self.handshaking = False  # a TLS connection whose handshake is not done: nothing to read yet

    def is_local(self) -> bool:
        """As Redis's islocalClient (protected mode, enable-debug-command local): a unix socket
        client, or one whose peer address is exactly 127.0.0.1 or ::1."""
        return self.unix_socket or self.addr.rsplit(":", 1)[0] in ("127.0.0.1", "[::1]")

    def select(self, index: int) -> None:
        self.db_index = index
        self.db = self.server.keyspace[index]

    def set_authenticated(self, authenticated: bool) -> None:
        self.authenticated = authenticated
        self.parser.authenticated = authenticated  # the parser limits what strangers may send

    def subscription_count(self) -> int:
        return len(self.channels) + len(self.patterns) + len(self.shard_channels)

    def reply(self, value) -> None:
        if self.kind == "replica":  # its connection carries the stream, never a reply
            self.replica_replied()
            return
        self.reply_bytes(encode(value, self.protocol))

    def replica_replied(self) -> None:
        """A replica made us reply (a command on its link, bytes not of the protocol): as Redis
        7.0, the reply is not sent, the replica is logged and dropped."""
        if self.reply_buffer.closing:
            return
        log.warning(f"Replica generated a reply to command '{self.last_command}', disconnecting it: "
                    f"{describe(self)}")
        reply_buffers.close_asap(self)

    def reply_bytes(self, data: bytes, direct: bool = False) -> None:
        """Queue bytes already in wire form (DEBUG PROTOCOL's frames RESP has no value for).
        `direct`: bytes Redis writes around the output buffer (a replica's copy), which its
        limits do not count (reference/reply_buffers.py)."""
        if self.reply_buffer.closing:  # over its output buffer limits: nothing more is sent
            return
        self.out.append(data)
        self.server.pending_writes.add(self)
        reply_buffers.queued(self, len(data), direct)


class Server(Listening, ShuttingDown):
    def __init__(self, config):
        self.config = config
        self.keyspace = Keyspace(config["databases"])
        self.commands = build_table()
        for old, new in config.renamed_commands:  # rename-command (the names were checked)
            command = self.commands.pop(old.lower().encode("utf-8", "surrogateescape"))
            if new:
                self.commands[new.lower().encode("utf-8", "surrogateescape")] = command
        self.clients: dict[int, Client] = {}
        self.pending_writes: set[Client] = set()  # clients with replies to send this loop turn
        self.blocked = BlockedClients(self)
        self.pause = ClientPause()  # CLIENT PAUSE, and FAILOVER and SHUTDOWN waiting for replicas
        self.postponed: list[Client] = []  # clients whose command a pause holds, in arrival order
        self.released: list[Client] = []  # ... whose pause loosened: their command runs again
        self.next_client_id = 1
        self.start_time = time.time()
        self.stats = {
            "total_connections_received": 0, "total_commands_processed": 0,
            "rejected_connections": 0, "total_net_input_bytes": 0,
            "total_net_output_bytes": 0, "total_error_replies": 0,
            "unexpected_error_replies": 0, "total_reads_processed": 0, "total_writes_processed": 0,
        }
        self.error_stats: dict[str, int] = {}  # error code -> replies sent (INFO errorstats)
        self._samples_at = time.monotonic()
        self._samples: dict[str, list[float]] = {}
        self._last_counters: dict[str, int] = {}
        self.selector = selectors.DefaultSelector()
        self.listeners: list[socket.socket] = []  # TCP, on the `bind` addresses at `port`
        self.unix_listener: socket.socket | None = None  # at the `unixsocket` path
        self.tls_listeners: list[socket.socket] = []  # on the `bind` addresses at `tls-port`
        self.tls_context = None  # an ssl.SSLContext once TLS is configured (reference/tls.py)
        self.tls_unread: set[Client] = set()  # TLS clients with bytes decrypted and not yet read
        self.stopping = False
        self.signalled = False  # a signal asked for a shutdown (Redis's shutdown_asap)
        self.last_signal = signal.SIGTERM  # the one that asked
        self.exit_code = 0
        # A shutdown waiting for replicas (Redis's shutdown_mstime; 0: none): when it gives up
        # waiting, with the flags it was asked with; the SHUTDOWN clients blocked until then.
        self.shutdown_deadline_ms = 0
        self.shutdown_flags: dict = {}
        self.shutdown_waiters: list[Client] = []
        self.active_expire_enabled = True
        self.cron_paused = False  # DEBUG PAUSE-CRON
        self.reply_buffers = reply_buffers.ReplyBufferSettings()  # DEBUG REPLYBUFFER
        self.snapshots = Snapshots(self)  # SAVE, BGSAVE, save points, LASTSAVE
        self.aof = append_only.AppendOnlyFile(self)  # the append-only file, BGREWRITEAOF
        self.replication = replication.Replication(self)  # master and replica sides (reference/replication/)
        self._wakeup_r, self._wakeup_w = socket.socketpair()
        config.warn = log.warning
        self.current_client: Client | None = None  # the one whose command runs (crash reports)
        self._status_due = 0.0  # when the cron next logs its status lines
        config.on_change("dir", self._on_dir_change)
        config.on_change("proto-max-bulk-len", self._on_max_bulk_len_change)
        config.on_change("port", self._on_port_change)
        config.on_change("bind", self._on_bind_change)
        config.on_change("tls-port", self._on_tls_port_change)
        for name in tls.OPTIONS[1:]:
            config.on_change(name, self._on_tls_change)
        self.latency_tracking = config["latency-tracking"]  # INFO latencystats
        config.on_change("latency-tracking", self._on_latency_tracking_change)
        self.buffer_peaks = ClientBufferPeaks()  # INFO client_recent_max_*_buffer

    def _on_dir_change(self, config, name) -> None:
        os.chdir(config["dir"])  # as Redis: relative file names are in dir

    def _on_latency_tracking_change(self, config, name) -> None:
        self.latency_tracking = config["latency-tracking"]

    def _on_max_bulk_len_change(self, config, name) -> None:
        for client in self.clients.values():
            client.parser.max_bulk_len = config["proto-max-bulk-len"]

    # --- start-up ----------------------------------------------------------------------

    def start_up(self) -> None:
        """What Redis's initServer and main do before loading, with their log lines: this
        process becomes the server (its lines say M from now on), it listens (an address it
        cannot listen on ends the start here), shows the logo or its mode, and warns about the
        machine's settings that Redis checks."""
        log.serving()
        if tls.needed(self.config):
            try:
                self.tls_context = tls.make_context(self.config)
            except tls.ConfigureError:
                log.warning("Failed to configure TLS. Check logs for more info.")
                raise SystemExit(1) from None
        adjust_open_files_limit(self.config)
        log.notice("monotonic clock: POSIX clock_gettime")  # what time.monotonic reads
        self.listen()
        log.running_mode(self.config["port"])
        _check_tcp_backlog(self.config["tcp-backlog"])
        log.warning("Server initialized")
        _check_overcommit()










    def serve_forever(self) -> int:
        """After start_up: load the data, then serve until shutdown. The exit status."""
        self.aof.read_manifest_at_start()  # (a bad manifest exits)
        if self.config["appendonly"]:
            self.aof.start()  # the AOF instead of the RDB, as Redis (a bad one exits)
        else:
            load_at_startup(self)  # dir/dbfilename, if there is one (a bad file exits)
        self.replication.start()  # the `replicaof` directive: the cron connects
        self.aof.delete_history()
        self.snapshots.forget_changes()  # loading is not a change to save
        self._wakeup_w.setblocking(False)
        signal.set_wakeup_fd(self._wakeup_w.fileno(), warn_on_full_buffer=False)
        self._wakeup_r.setblocking(False)
        self.selector.register(self._wakeup_r, selectors.EVENT_READ, "wakeup")
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)
        if self.listeners or self.tls_listeners:
            log.notice("Ready to accept connections")
        if self.unix_listener is not None:
            log.notice(f"The server is now ready to accept connections at {self.config['unixsocket']}")
        next_cron = time.monotonic()
        period = 1.0 / self.config["hz"]
        while True:
            if self.signalled and not self.shutdown_deadline_ms and not self.stopping:
                # (a shutdown already waiting for replicas goes on; a failed one clears the flag)
                self.begin_shutdown(from_signal=True)
            if self.stopping:
                break
            timeout = max(0.0, next_cron - time.monotonic()) if not self.tls_unread else 0.0
            deadline = self.blocked.next_deadline_ms()
            if deadline is not None:
                timeout = max(0.0, min(timeout, deadline / 1000 - time.time()))
            for key, mask in self.selector.select(timeout):
                owner = key.data
                if owner is None or owner is UNIX_LISTENER or owner is TLS_LISTENER:
                    self._accept(key.fileobj, kind=owner)
                elif callable(owner):  # a socket a family owns: a replica's link to its master
                    owner(mask)
                elif owner == "wakeup":
                    with contextlib.suppress(BlockingIOError):  # (a signal's byte, or none)
                        self._wakeup_r.recv(4096)
                elif owner.handshaking:
                    self._handshake(owner)
                else:
                    if mask & selectors.EVENT_READ and not owner.closed:
                        self._read(owner)
                    if mask & selectors.EVENT_WRITE and not owner.closed:
                        self._flush(owner)
            while self.tls_unread:  # (no readiness event tells of bytes the TLS layer holds)
                self._read(self.tls_unread.pop())
            if self.blocked.waiting:
                self.blocked.expire(self.keyspace.clock.tick())
            if self.released:
                self.run_released()
            self.record_effects()  # before any reply goes out, as Redis writes its AOF
            self.replication.before_sleep()  # WAIT's GETACK; a replica's ACK may end a failover's wait
            self.flush_pending_writes()
            if time.monotonic() >= next_cron:
                self.cron()
                period = 1.0 / self.config["hz"]
                next_cron = time.monotonic() + period
        return self.finish_shutdown()













    # --- connections -------------------------------------------------------------------

    def _accept(self, listener: socket.socket, kind: str | None) -> None:
        """Take the connections waiting on a listener: TCP (kind None), TLS_LISTENER (its
        handshake follows in the loop) or UNIX_LISTENER."""
        unix = kind is UNIX_LISTENER
        for _ in range(1000):  # drain the backlog, as Redis accepts up to 1000 per event
            try:
                sock, peer = listener.accept()
            except OSError:  # none left to accept (BlockingIOError), or one that went away
                return
            sock.setblocking(False)
            if unix:  # as Redis shows them: the path, port 0
                log.verbose(f"Accepted connection to {self.config['unixsocket']}")
                addr = laddr = f"{self.config['unixsocket']}:0"
            else:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                log.verbose(f"Accepted {peer[0]}:{peer[1]}")
                addr, laddr = _address(peer), _address(sock.getsockname())
            if len(self.clients) >= self.config["maxclients"]:
                self.stats["rejected_connections"] += 1  # and not counted as received
                refuse(sock, b"-ERR max number of clients reached\r\n")
                continue
            if kind is TLS_LISTENER:
                sock = tls.wrap(self.tls_context, sock)
            client = Client(self, sock, self.next_client_id, addr, laddr, unix_socket=unix)
            self.next_client_id += 1
            self.clients[client.id] = client  # (CLIENT LIST shows it during a TLS handshake)
            self.selector.register(sock, selectors.EVENT_READ, client)
            if kind is TLS_LISTENER:
                client.handshaking = True
            else:
                self._connected(client)

    def _connected(self, client: Client) -> None:
        """As Redis's clientAcceptHandler, once the connection is up (after its TLS handshake):
        protected mode may refuse it; else it counts as received."""
        if self._protected_mode_refuses(client):
            self.stats["rejected_connections"] += 1
            with contextlib.suppress(OSError, *tls.WOULD_BLOCK):
                client.sock.send(PROTECTED_MODE_DENIED)
            self.close_client(client)
            return
        self.stats["total_connections_received"] += 1

    def _handshake(self, client: Client) -> None:
        """Go on with a TLS client's handshake; a failed one is logged and the connection closed."""
        try:
            client.sock.do_handshake()
        except ssl.SSLWantReadError:
            self._want_write(client, False)
            return
        except ssl.SSLWantWriteError:
            self._want_write(client, True)
            return
        except OSError as error:
            log.warning(f"Error accepting a client connection: {tls.error_text(error)}")
            self.close_client(client)
            return
        client.handshaking = False
        self._want_write(client, bool(client.out))
        self._connected(client)

    def _want_write(self, client: Client, writing: bool) -> None:
        if writing != client.writing:
            self.selector.modify(client.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if writing else 0), client)
            client.writing = writing

    def _protected_mode_refuses(self, client: Client) -> bool:
        """Protected mode (on by default): without a password, only local clients (loopback,
        unix socket) may connect."""
        return self.config["protected-mode"] and not self.config["requirepass"] and not client.is_local()

    def close_client(self, client: Client) -> None:
        if client.closed:
            return
        client.closed = True
        self.clients.pop(client.id, None)
        self.pending_writes.discard(client)
        self.tls_unread.discard(client)
        if client.postponed is not None:  # held by a pause, or about to run again
            for queue in (self.postponed, self.released):
                if client in queue:
                    queue.remove(client)
        self.blocked.release(client)
        self.forget_client_state(client)
        with contextlib.suppress(KeyError, ValueError):
            self.selector.unregister(client.sock)
        client.sock.close()

    def _read(self, client: Client) -> None:
        self.stats["total_reads_processed"] += 1  # every read attempt, as Redis counts them
        try:
            data = client.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError, *tls.WOULD_BLOCK):
            return
        except OSError as error:
            log.verbose(f"Reading from client: {tls.error_text(error)}")
            self.close_client(client)
            return
        if data and tls.is_tls(client.sock) and client.sock.pending():
            self.tls_unread.add(client)
        if not data:
            if log.enabled("verbose"):
                log.verbose(f"Client closed connection {describe(client)}")
            self.close_client(client)
            return
        self.stats["total_net_input_bytes"] += len(data)
        client.last_interaction = time.time()
        client.parser.feed(data)
        self.process_input(client)

    def process_input(self, client: Client) -> None:
        """Execute the client's complete commands, until it blocks, closes or needs data."""
        parser = client.parser
        while (not client.close_after_reply and not client.closed and client.blocked is None
               and client.postponed is None and not client.reply_buffer.closing):
            try:
                argv = parser.next_command()
            except ProtocolError as error:
                client.reply(ErrorReply(f"ERR {error}"))  # raw bytes in it survive (wire_text)
                self.count_error("ERR")
                client.close_after_reply = True
                return
            if argv is None:
                return
            self.execute(client, argv)

    def resume(self, client: Client) -> None:
        """A blocked client was answered: go on with what it sent meanwhile."""
        self.process_input(client)

    def record_effects(self) -> None:
        """Hand the changes made since last time to whoever records them (EFFECT_RECORDERS:
        the AOF), then forget them."""
        effects = self.keyspace.effects
        if effects:
            for record in EFFECT_RECORDERS:
                record(self, effects)
            effects.clear()

    def flush_pending_writes(self) -> None:
        while self.pending_writes:
            self._flush(self.pending_writes.pop())

    def _flush(self, client: Client) -> None:
        if client.closed or client.handshaking:
            return
        if client.reply_buffer.closing:  # over its output buffer limits: closed unwritten
            self.close_client(client)
            return
        if client.out:
            self.stats["total_writes_processed"] += 1
            data = client.out[0] if len(client.out) == 1 else b"".join(client.out)
            client.reply_buffer.filled(len(data))
            try:
                sent = client.sock.send(data)
            except (BlockingIOError, InterruptedError, *tls.WOULD_BLOCK):
                sent = 0
            except OSError:
                self.close_client(client)
                return
            self.stats["total_net_output_bytes"] += sent
            client.out = [data[sent:]] if sent < len(data) else []
            reply_buffers.written(client, sent)
        if client.out:
            if not client.writing:
                self.selector.modify(client.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, client)
                client.writing = True
            return
        if client.writing:
            self.selector.modify(client.sock, selectors.EVENT_READ, client)
            client.writing = False
        if client.close_after_reply:
            self.close_client(client)

    # --- executing commands ------------------------------------------------------------

    def execute(self, client: Client, argv: list[bytes]) -> None:
        """Run one command (or queue it inside MULTI) and queue its reply on the client."""
        self.keyspace.clock.tick()
        command, error = lookup(self.commands, argv)
        # What CLIENT LIST shows as cmd=: the command looked up, even if it is then refused.
        client.last_command = command.name if command is not None else "NULL"
        if error is None:
            error = self.refusal(client, command)
        if error is not None:
            if command is not None:
                command.rejected_calls += 1
            if command is not None and command.name == "exec":
                # a refused EXEC ends the transaction, saying why
                error = "EXECABORT Transaction discarded because of: " + error.removeprefix("ERR ")
                client.transaction = None
                client.transaction_failed = False
                self.unwatch_all(client)
            elif client.transaction is not None:
                client.transaction_failed = True  # EXEC will answer EXECABORT
            self.count_error(error)
            client.reply(ErrorReply(error))
            return
        if self.pause.active and client.kind != "replica" and self.pause.holds(self.may_replicate(client, command)):
            # Held, not refused: it runs (checked afresh) once the pause loosens. Replicas'
            # links are never paused.
            client.postponed = argv
            self.postponed.append(client)
            return
        if client.transaction is not None and command.name not in TRANSACTION_CONTROL:
            if not (client.transaction_failed or client.dirty_cas):  # else EXEC will not run it
                client.transaction.append(argv)
            client.reply(QUEUED)
            return
        reply = self.run_command(client, command, argv)
        if isinstance(reply, Block):  # (inside EXEC a blocking command answers at once)
            self.blocked.park(client, command, argv, reply)
            reply = NO_REPLY
        if reply is not NO_REPLY:
            client.reply(reply)
        if self.keyspace.ready_keys:
            self.blocked.serve_ready_keys()

    def run_command(self, client: Client, command, argv: list[bytes]):
        """Run a command that passed every check; count it; return its reply. A write command
        that changed the dataset is recorded for the AOF."""
        keyspace = self.keyspace
        dirty_before = keyspace.dirty
        first_effect = len(keyspace.effects)
        started = time.perf_counter()
        caller, self.current_client = self.current_client, client
        try:
            reply = run(command, client, argv)
        except Exception:  # a bug of the reference, not a crash: the log says what, the server goes on
            log.warning(f"Unexpected error in '{command.name}':\n{traceback.format_exc()}")
            reply = ErrorReply(f"ERR internal error in the reference server running '{command.name}'")
        finally:
            self.current_client = caller  # (EXEC runs commands inside its own)
        usec = int((time.perf_counter() - started) * 1_000_000)
        command.usec += usec
        if (keyspace.dirty != dirty_before or client.force_propagation) and "write" in command.flags:
            self.propagate(client, argv)  # (EXEC's commands are propagated one by one)
        if not client.in_exec and command.name not in TOUCHES_ARBITRARY_KEYS:
            wrap_in_multi(keyspace.effects, first_effect)
        client.propagate_as = None
        client.force_propagation = False
        if client.blocked is None:  # as Redis: a blocking call counts once, when it blocks
            command.calls += 1
            self.stats["total_commands_processed"] += 1
        if isinstance(reply, Block) and not client.in_exec:
            return reply  # its latency is recorded when it is served (not if it times out)
        if self.latency_tracking:  # INFO latencystats: whole µs -> how many calls took that
            command.latency[usec] = command.latency.get(usec, 0) + 1
        if isinstance(reply, ErrorReply):
            command.failed_calls += 1
            self.count_error(reply)
        return reply

    def propagate(self, client: Client, argv: list[bytes]) -> None:
        """A write changed the dataset: record it (or what its handler said to record instead,
        `client.propagate_as`: a list of argvs, e.g. SET ... EX as SET ... PXAT) as an effect
        for the AOF (and later replicas) in the client's database. run_command then wraps the
        command's effects in MULTI ... EXEC if there are several."""
        effects = self.keyspace.effects
        written = client.propagate_as if client.propagate_as is not None else [argv]
        for command in written:
            effects.append((client.db_index, command))

    def unwatch_all(self, client: Client) -> None:
        """Forget every key the client WATCHes (UNWATCH, EXEC, DISCARD, RESET, disconnect)."""
        for db, key in client.watched:
            watchers = db.watched_keys.get(key)
            if watchers is not None:
                watchers.remove(client)
                if not watchers:
                    del db.watched_keys[key]
        client.watched = {}
        client.dirty_cas = False

    def forget_client_state(self, client: Client) -> None:
        """The client leaves (disconnect) or starts afresh (RESET): registries that name it
        let it go. Families with registries of their own add a function to CLIENT_STATE_HOOKS."""
        self.unwatch_all(client)
        for hook in CLIENT_STATE_HOOKS:
            hook(self, client)

    def refusal(self, client: Client, command) -> str | None:
        """Why this client may not run this command now, or None."""
        if "protected" in command.flags and not self.protected_command_allowed(command, client):
            return DEBUG_NOT_ALLOWED
        if not client.authenticated and "no_auth" not in command.flags:
            return NOAUTH
        if client.transaction is not None and "no_multi" in command.flags:
            return "ERR Command not allowed inside a transaction"
        if self.snapshots.writes_refused() and (command.name == "ping" or self.writes(client, command)):
            return MISCONF
        if self.replication.lacks_good_replicas() and self.writes(client, command):
            return replication.NOREPLICAS  # min-replicas-to-write, min-replicas-max-lag
        if self.replication.refuses_write(client) and self.writes(client, command):
            return replication.READONLY  # replica-read-only (its master's commands are not refused)
        if (client.protocol == 2 and command.name not in SUBSCRIBED_CONTEXT
                and (client.channels or client.patterns or client.shard_channels)):
            return (f"ERR Can't execute '{command.name}': only (P|S)SUBSCRIBE / "
                    f"(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        if self.replication.refuses_stale(client, command, self._queued(client, command)):
            return replication.MASTERDOWN  # replica-serve-stale-data no, the link down
        if (self.replication.loading_copy is not None
                and self.replication.refuses_loading(command, self._queued(client, command))):
            return replication.LOADING  # a replica loading its master's copy from the socket
        if client.kind == "replica" and (self.may_replicate(client, command) or self.reads(client, command)):
            # A replica's link is never paused: it may not touch the keyspace either.
            return "ERR Replica can't interact with the keyspace"
        return None

    def _queued(self, client: Client, command) -> list:
        """The commands EXEC would run (none for any other command)."""
        if command.name != "exec" or not client.transaction:
            return []
        return [queued for queued, _ in (lookup(self.commands, argv) for argv in client.transaction)
                if queued is not None]

    def may_replicate(self, client: Client, command) -> bool:
        """What a WRITE pause holds back: commands that may write or be propagated (flagged
        write or may_replicate), EXEC of a transaction holding one."""
        flagged = ("write", "may_replicate")
        if any(flag in command.flags for flag in flagged):
            return True
        if command.name == "exec" and client.transaction:
            return any(queued is not None and any(flag in queued.flags for flag in flagged)
                       for queued, _ in (lookup(self.commands, argv) for argv in client.transaction))
        return False

    # --- pausing clients -----------------------------------------------------------------

    def pause_clients(self, purpose: str, end_ms: int, type_: int) -> None:
        self._pause_changed(self.pause.pause(purpose, end_ms, type_, self.keyspace.clock.tick()))

    def unpause_clients(self, purpose: str) -> None:
        self._pause_changed(self.pause.unpause(purpose, self.keyspace.clock.tick()))

    def clients_paused(self) -> bool:
        """Is a pause in force (one whose end has passed is forgotten first)?"""
        self._pause_changed(self.pause.check(self.keyspace.clock.tick()))
        return self.pause.active

    def _pause_changed(self, loosened: bool) -> None:
        self.keyspace.paused = self.pause.active
        if loosened:  # every held command is tried again (some may be held again)
            for client in self.postponed:
                self.released.append(client)
            self.postponed.clear()

    def run_released(self) -> None:
        """Run the commands a pause held, in the order they came, each client then going on
        with what it sent meanwhile."""
        while self.released:
            client = self.released.pop(0)
            argv, client.postponed = client.postponed, None
            self.execute(client, argv)
            self.process_input(client)

    def reads(self, client: Client, command) -> bool:
        """The command is flagged readonly, or it is EXEC and a queued command is."""
        if "readonly" in command.flags:
            return True
        return command.name == "exec" and any("readonly" in queued.flags for queued in self._queued(client, command))

    def writes(self, client: Client, command) -> bool:
        """The command may write: it is flagged so, or it is EXEC and a queued command is."""
        if "write" in command.flags:
            return True
        if command.name == "exec" and client.transaction:
            return any(queued is not None and "write" in queued.flags
                       for queued, _ in (lookup(self.commands, argv) for argv in client.transaction))
        return False

    def count_error(self, message: str) -> None:
        """Every error reply counts in INFO stats and errorstats, by its first word."""
        self.stats["total_error_replies"] += 1
        code = error_code(message)
        self.error_stats[code] = self.error_stats.get(code, 0) + 1

    def protected_command_allowed(self, command, client: Client) -> bool:
        setting = self.config["enable-debug-command"]
        if setting == "yes":
            return True
        if setting == "local":
            return client.is_local()
        return False

    # --- periodic work -----------------------------------------------------------------

    def track_instantaneous_metrics(self) -> None:
        """Rates over the last 16 samples taken at most every 100 ms, as INFO's
        instantaneous_ops_per_sec and instantaneous_{input,output}_kbps show them."""
        now = time.monotonic()
        last = self._samples_at
        if now - last < 0.1:
            return
        self._samples_at = now
        for name, counter, scale in (("instantaneous_ops_per_sec", "total_commands_processed", 1),
                                     ("instantaneous_input_kbps", "total_net_input_bytes", 1024),
                                     ("instantaneous_output_kbps", "total_net_output_bytes", 1024)):
            value = self.stats[counter]
            previous = min(self._last_counters.get(counter, 0), value)  # RESETSTAT zeroes counters
            self._last_counters[counter] = value
            window = self._samples.setdefault(name, [])
            window.append((value - previous) / (now - last) / scale)
            del window[:-16]
            rate = sum(window) / len(window)
            self.stats[name] = int(rate) if scale == 1 else rate

    def cron(self) -> None:
        self.keyspace.clock.tick()
        if self.cron_paused:  # DEBUG PAUSE-CRON: none of the periodic work, as Redis's serverCron
            return
        self._shutdown_cron()
        self.snapshots.cron()  # reap a finished BGSAVE; save points; a scheduled BGSAVE
        self.aof.cron()  # reap a rewrite; scheduled and automatic rewrites; everysec fsync
        self.clients_paused()  # (a pause past its end is lifted here, as Redis's cron does)
        self.replication.cron()  # links, ACKs, PINGs, copies to start (once a second mostly)
        self.track_instantaneous_metrics()
        if self.active_expire_enabled and self.replication.master_host is None and not self.pause.active:
            # (a replica waits for its master's DELs; a pause keeps the dataset as it is)
            self.keyspace.active_expire_cycle(0.25 / self.config["hz"])  # a quarter of a tick
        elif self.active_expire_enabled and self.replication.master_host is not None:
            self.keyspace.expire_replica_own_keys()  # those a writable replica's clients gave a time
        self.buffer_peaks.sample(self.clients.values())
        reply_buffers.resize(self, self.keyspace.clock.ms)
        reply_buffers.close_over_limits(self)  # client-output-buffer-limit
        timeout = self.config["timeout"]
        if timeout:
            idle_since = time.time() - timeout
            for client in list(self.clients.values()):
                if (client.last_interaction < idle_since and client.kind not in ("replica", "master")
                        and client.postponed is None):  # (as Redis spares blocked clients)
                    log.verbose("Closing idle client")
                    self.close_client(client)
        if time.monotonic() >= self._status_due:
            self._status_due = time.monotonic() + STATUS_PERIOD
            self.log_status()

    def log_status(self) -> None:
        """What Redis's cron logs every 5 seconds: each database's keys (verbose), and the
        clients and memory (debug). A database's slots are those of the hash table Redis
        would have for that many keys (a power of two, at least 4)."""
        if log.enabled("verbose"):
            for db in self.keyspace:
                if db.data or db.expires:
                    slots = max(4, 1 << (len(db.data) - 1).bit_length())
                    log.verbose(f"DB {db.id}: {len(db.data)} keys ({len(db.expires)} volatile) in {slots} slots HT.")
        if log.enabled("debug"):
            replicas = sum(client.kind == "replica" for client in self.clients.values())
            log.debug(f"{len(self.clients) - replicas} clients connected ({replicas} replicas), "
                      f"{resident_bytes()} bytes in use")


def _check_tcp_backlog(backlog: int) -> None:
    """As Redis: say so when the kernel caps the listen backlog below tcp-backlog."""
    try:
        with open("/proc/sys/net/core/somaxconn") as f:
            somaxconn = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return
    if 0 < somaxconn < backlog:
        log.warning(f"WARNING: The TCP backlog setting of {backlog} cannot be enforced because "
                    f"/proc/sys/net/core/somaxconn is set to the lower value of {somaxconn}.")


def _check_overcommit() -> None:
    """As Redis: a fork (BGSAVE, BGREWRITEAOF) may fail without memory overcommit; say so.
    (Redis adds a sentence about jemalloc, which the reference does not use.)"""
    try:
        with open("/proc/sys/vm/overcommit_memory") as f:
            mode = f.read().strip()
    except OSError:
        return
    if mode != "1":
        log.warning("WARNING Memory overcommit must be enabled! Without it, a background save or "
                    "replication may fail under low memory condition. To fix this issue add "
                    "'vm.overcommit_memory = 1' to /etc/sysctl.conf and then reboot or run the command "
                    "'sysctl vm.overcommit_memory=1' for this to take effect.")



# What a client that protected mode refuses reads before the server closes the connection.
PROTECTED_MODE_DENIED = (
    b"-DENIED Redis is running in protected mode because protected mode is enabled and no password "
    b"is set for the default user. In this mode connections are only accepted from the loopback "
    b"interface. If you want to connect from external computers to Redis you may adopt one of the "
    b"following solutions: 1) Just disable protected mode sending the command 'CONFIG SET "
    b"protected-mode no' from the loopback interface by connecting to Redis from the same host the "
    b"server is running, however MAKE SURE Redis is not publicly accessible from internet if you do "
    b"so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the "
    b"protected mode by editing the Redis configuration file, and setting the protected mode option "
    b"to 'no', and then restarting the server. 3) If you started the server manually just for "
    b"testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication "
    b"password for the default user. NOTE: You only need to do one of the above things in order for "
    b"the server to start accepting connections from the outside.\r\n")
















class _NoReply:
    """A handler's answer when the reply has been written already or is never sent."""


NO_REPLY = _NoReply()


def _address(sockaddr) -> str:
    """host:port as CLIENT LIST shows it, IPv6 hosts in brackets."""
    host, port = sockaddr[0], sockaddr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
