"""A TCP proxy that breaks the link it carries on request: the fault injector of the replication
model (models/replication.py), where every replica reaches its master through one.

    proxy = FaultProxy(upstream_port)      # listens on 127.0.0.1:proxy.port at once
    proxy.stall()    # stop forwarding in both directions; the connections stay open
    proxy.restore()  # forward again (what was held back goes on, in order)
    proxy.cut()      # close every connection, both sides; later connections are closed at once
    proxy.restore()  # accept and forward new connections again
    proxy.close()    # everything closed, every thread joined

Threads, each blocking on one socket: an acceptor, and per connection two pumps (one per
direction) that read a chunk, wait while the proxy is stalled, and send it on. A call returns
once the proxy is in its new mode: after cut() no byte is forwarded on the old connections, and
after stall() no byte read later is. (A chunk a pump was already sending when stall() came is
sent whole: it was on the wire before the stall.)

The listening port is chosen by the OS (bind to port 0), so two proxies never race for one.
close() runs however the model ends; the listener and every socket are closed and every thread
joined, so a run leaves nothing behind.
"""
from __future__ import annotations

import socket
import threading

FLOWING, STALLED, CUT = "flowing", "stalled", "cut"
CHUNK = 1 << 16
POLL = 0.05  # seconds the acceptor waits for a connection before looking at its mode again
CONNECT_TIMEOUT = 10.0
JOIN_TIMEOUT = 10.0


class Connection:
    """One client accepted by the proxy and its upstream connection."""

    def __init__(self, downstream: socket.socket, upstream: socket.socket):
        self.downstream = downstream
        self.upstream = upstream
        self.closed = False
        self.pumps: list[threading.Thread] = []

    def close(self) -> None:
        """Both sides, at once: shutdown wakes a pump blocked in recv or send."""
        self.closed = True
        for sock in (self.downstream, self.upstream):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


class FaultProxy:
    """Forwards 127.0.0.1:self.port to 127.0.0.1:upstream_port; see the module docstring."""

    def __init__(self, upstream_port: int, host: str = "127.0.0.1"):
        self.host = host
        self.upstream_port = upstream_port
        self.mode = FLOWING
        self.accepted = 0  # connections accepted, in all
        self.forwarded = {"up": 0, "down": 0}  # bytes sent on: to the upstream, to the client
        self._changed = threading.Condition()
        self._connections: list[Connection] = []
        self._closing = False
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self._listener.listen(16)
        self._listener.settimeout(POLL)
        self.port = self._listener.getsockname()[1]
        self._acceptor = threading.Thread(target=self._accept_loop, name=f"proxy:{self.port} accept", daemon=True)
        self._acceptor.start()

    def __repr__(self) -> str:
        return f"FaultProxy({self.port} -> {self.upstream_port}, {self.mode})"

    def __enter__(self) -> "FaultProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- faults ------------------------------------------------------------------------------

    def stall(self) -> None:
        with self._changed:
            self._check_open()
            if self.mode == FLOWING:
                self.mode = STALLED

    def cut(self) -> None:
        with self._changed:
            self._check_open()
            self.mode = CUT
            connections, self._connections = self._connections, []
            for connection in connections:
                connection.close()
            self._changed.notify_all()
        self._join(connections)

    def restore(self) -> None:
        with self._changed:
            self._check_open()
            self.mode = FLOWING
            self._changed.notify_all()

    def open_connections(self) -> int:
        with self._changed:
            return sum(not connection.closed for connection in self._connections)

    def close(self) -> None:
        """Close the listener and every connection; join every thread. Idempotent."""
        with self._changed:
            if self._closing:
                return
            self._closing = True
            connections, self._connections = self._connections, []
            for connection in connections:
                connection.close()
            self._changed.notify_all()
        self._acceptor.join(JOIN_TIMEOUT)
        self._listener.close()
        self._join(connections)
        assert not self._acceptor.is_alive(), f"{self}: the acceptor thread did not end"

    def _check_open(self) -> None:
        if self._closing:
            raise RuntimeError(f"{self} is closed")

    @staticmethod
    def _join(connections: list[Connection]) -> None:
        for connection in connections:
            for pump in connection.pumps:
                if pump is not threading.current_thread():
                    pump.join(JOIN_TIMEOUT)
                    assert not pump.is_alive(), f"{pump.name} did not end"

    # -- threads -----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._closing:
            try:
                downstream, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            downstream.settimeout(None)
            with self._changed:
                self.accepted += 1
                refuse = self.mode == CUT or self._closing
            if refuse:
                downstream.close()
                continue
            try:
                upstream = socket.create_connection((self.host, self.upstream_port), timeout=CONNECT_TIMEOUT)
            except OSError:  # nobody listens upstream (a server being restarted): as a refused connection
                downstream.close()
                continue
            upstream.settimeout(None)
            connection = Connection(downstream, upstream)
            for name, source, sink, direction in (("up", downstream, upstream, "up"),
                                                  ("down", upstream, downstream, "down")):
                connection.pumps.append(threading.Thread(
                    target=self._pump, args=(connection, source, sink, direction),
                    name=f"proxy:{self.port} {name}", daemon=True))
            with self._changed:
                if self.mode == CUT or self._closing:  # cut meanwhile: this one is cut too
                    connection.close()
                    continue
                self._connections.append(connection)
                for pump in connection.pumps:
                    pump.start()

    def _pump(self, connection: Connection, source: socket.socket, sink: socket.socket, direction: str) -> None:
        """Copy source to sink until either side closes or the connection is cut; a side that
        closes closes the whole connection, as a cut would."""
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    break
                with self._changed:
                    self._changed.wait_for(lambda: self.mode != STALLED or connection.closed)
                    if connection.closed:
                        break
                sink.sendall(data)
                with self._changed:
                    self.forwarded[direction] += len(data)
        except OSError:
            pass
        finally:
            with self._changed:
                if not connection.closed:
                    connection.close()
                if connection in self._connections:
                    self._connections.remove(connection)
