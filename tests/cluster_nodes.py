"""Real redis-server cluster nodes whose bus goes through a relay owned by the test, and what
the tests of reference/cluster/ share about them.

Each node announces a relay port as its bus port (cluster-announce-bus-port), so every link
between nodes is a connection through the relay, which decodes each message with bus.py and
tells an observer who sent it on which connection. A connection belongs to the node whose relay
port was connected to (its acceptor) and to the node that connected (its connector, known from
the first message it sends: Redis sends a PING or MEET as soon as a link is up).
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

import pytest

from conformance.targets import ServerLauncher, free_port
from reference.cluster.bus import BusReader, InvalidMessage, LinkError, Message, decode, encode

UPSTREAM_GONE_WAIT = 1.0  # seconds to read what a node sends to a relay port whose node is gone


@dataclass(eq=False)
class Connection:
    """One link between two nodes, through the relay."""
    relay_port: int  # the relay port it was made to: its acceptor's announced bus port
    connector: bytes | None = None  # the name of the node that opened it, once it spoke
    sockets: list[socket.socket] = field(default_factory=list)


class Relay:
    """Listens on one port per node and forwards each connection to that node's bus port. Every
    message is decoded and re-encoded on the way, and reported to `observe(connection,
    from_connector, message)`; the end of a connection to `closed(connection)`. Both are called
    with the relay's lock held, in the relay's threads."""

    def __init__(self, observe=None, closed=None):
        self.observe = observe or (lambda connection, from_connector, message: None)
        self.closed = closed or (lambda connection: None)
        self.errors: list[str] = []
        self.lock = threading.RLock()
        self._listeners: list[socket.socket] = []
        self._connections: list[Connection] = []
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def listen(self, bus_port: int) -> int:
        """A relay port that leads to bus_port."""
        listener = socket.create_server(("127.0.0.1", 0))
        self._listeners.append(listener)
        self._start(self._accept, listener, bus_port)
        return listener.getsockname()[1]

    def _start(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket, bus_port: int) -> None:
        relay_port = listener.getsockname()[1]
        while True:
            try:
                incoming, _ = listener.accept()
            except OSError:
                return
            connection = Connection(relay_port, sockets=[incoming])
            with self.lock:
                self._connections.append(connection)
            try:
                outgoing = socket.create_connection(("127.0.0.1", bus_port), timeout=5)
                outgoing.settimeout(None)
            except OSError:  # the node is gone: see what the connecting node says, then hang up
                self._start(self._read_then_close, connection, incoming)
                continue
            connection.sockets.append(outgoing)
            self._start(self._pump, connection, incoming, outgoing, True)
            self._start(self._pump, connection, outgoing, incoming, False)

    def _read_then_close(self, connection: Connection, incoming: socket.socket) -> None:
        reader = BusReader()
        try:
            incoming.settimeout(UPSTREAM_GONE_WAIT)
            while data := incoming.recv(65536):
                if frames := reader.feed(data):
                    for frame in frames:
                        self._report(connection, True, decode(frame))
                    break
        except (OSError, LinkError, InvalidMessage):
            pass
        self._close(connection)

    def _pump(self, connection: Connection, source: socket.socket, destination: socket.socket,
              from_connector: bool) -> None:
        reader = BusReader()
        try:
            while data := source.recv(65536):
                for frame in reader.feed(data):
                    message = decode(frame)
                    again = encode(message)
                    if again != frame:
                        self.errors.append(f"re-encoded differently: {message}")
                    self._report(connection, from_connector, message)
                    destination.sendall(again)
        except (LinkError, InvalidMessage) as error:
            self.errors.append(f"{type(error).__name__}: {error}")
        except OSError:
            pass
        self._close(connection)

    def _report(self, connection: Connection, from_connector: bool, message: Message) -> None:
        with self.lock:
            if self._stopping:
                return
            if from_connector and connection.connector is None:
                connection.connector = message.header.sender
            try:
                self.observe(connection, from_connector, message)
            except Exception as error:  # an observer's failure is the test's, not the relay's
                self.errors.append(f"observer: {type(error).__name__}: {error}")

    def _close(self, connection: Connection) -> None:
        with self.lock:
            if connection not in self._connections:
                return
            self._connections.remove(connection)
            for sock in connection.sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            if not self._stopping:
                try:
                    self.closed(connection)
                except Exception as error:
                    self.errors.append(f"observer: {type(error).__name__}: {error}")

    def close(self) -> None:
        with self.lock:
            self._stopping = True
            connections = list(self._connections)
        for listener in self._listeners:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept
            except OSError:
                pass
            listener.close()
        for connection in connections:
            self._close(connection)
        for thread in self._threads:
            thread.join(5)


@pytest.fixture
def launcher():
    """Real redis-server nodes, every one stopped after the test however it ends."""
    launcher = ServerLauncher("redis-server")
    try:
        yield launcher
    finally:
        launcher.stop_all()


def start_node(launcher, **options):
    """A real node in cluster mode, its nodes.conf in its own directory."""
    return launcher.start(cluster_enabled="yes", cluster_config_file="nodes.conf", **options)


def start_relayed_node(launcher, relay: Relay, **options):
    """A real cluster node whose bus is announced at a relay port (CLUSTER MEET it there); its
    `name` and `relayed_bus_port` are set."""
    port = free_port()
    relayed = relay.listen(port + 10000)
    server = start_node(launcher, port=port, cluster_announce_bus_port=relayed, **options)
    server.relayed_bus_port = relayed
    with server.client() as client:
        server.name = client.call("CLUSTER", "MYID")
    return server


def nodes_view(text: str) -> dict[str, tuple]:
    """CLUSTER NODES (or nodes.conf's node lines) as {name: (flags, master, config epoch, slots)},
    nodes in handshake left out: their names are random."""
    view = {}
    for words in map(str.split, text.splitlines()):
        if not words or words[0] == "vars" or "handshake" in words[2].split(","):
            continue
        view[words[0]] = (frozenset(words[2].split(",")), words[3], int(words[6]), tuple(words[8:]))
    return view
