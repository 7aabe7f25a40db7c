"""The server's listening sockets (spec/server.md, "Listeners: TCP, TLS and the unix socket"):
opened at start-up on every `bind` address at `port` and `tls-port` and at `unixsocket`, moved
by CONFIG SET port / tls-port / bind, closed at exit. `Listening` is a part of `Server`
(reference/server.py), which accepts the connections they bring.
"""
from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket

from reference import log, tls
from reference.config import ConfigApplyError

UNIX_LISTENER = "unix"  # the selector's data for the unix socket listener (None for TCP ones)
TLS_LISTENER = "tls"  # ... for a listener at tls-port
UNIX_PATH_SIZE = 108  # bytes in sockaddr_un's sun_path on Linux, its NUL included


class ListenError(Exception):
    """An address of `bind` could not be listened on (the reason is logged already)."""


# What Redis's listenToPort passes over: the machine cannot make sockets of that kind.
UNSUPPORTED_FAMILY = frozenset({errno.ENOPROTOOPT, errno.EPROTONOSUPPORT, errno.ESOCKTNOSUPPORT,
                                errno.EPFNOSUPPORT, errno.EAFNOSUPPORT})


def listening_socket(address: str, port: int, backlog: int) -> socket.socket:
    """A non-blocking socket listening at address:port, made as anet.c's anetTcpServer makes it:
    an address with a colon is IPv6 (only), "*" and "::*" are any address of their family;
    the first address the name resolves to is the one bound. A failure raises OSError, its
    strerror as Redis words the reason."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    host = None if address in ("*", "::*") else address
    try:
        found = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0, socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise OSError(0, error.strerror) from None
    last_error = 0
    for family, kind, protocol, _, sockaddr in found:
        try:
            sock = socket.socket(family, kind, protocol)
        except OSError as error:
            last_error = error.errno
            continue
        try:
            step = "setsockopt"
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            step = "bind"
            sock.bind(sockaddr)
            step = "listen"
            sock.listen(backlog)
        except OSError as error:
            sock.close()
            raise OSError(error.errno, f"{step}: {os.strerror(error.errno)}") from None
        sock.setblocking(False)
        return sock
    raise OSError(last_error, f"unable to bind socket, errno: {last_error}")


def refuse(sock: socket.socket, error: bytes) -> None:
    """Say why to a connection not taken (as Redis, without waiting to be heard) and close it."""
    with contextlib.suppress(OSError):
        sock.send(error)
    sock.close()


def unix_listening_socket(path: str, permissions: int, backlog: int) -> socket.socket:
    """A non-blocking socket listening at a unix socket path, made as anet.c's anetUnixServer
    makes it: a file already at the path is removed first; the path's mode is set to
    `permissions` unless that is 0. A failure raises OSError, its strerror as Redis words it."""
    length = len(os.fsencode(path))
    if length >= UNIX_PATH_SIZE:
        raise OSError(errno.ENAMETOOLONG, f"unix socket path too long ({length}), must be under {UNIX_PATH_SIZE}")
    with contextlib.suppress(OSError):
        os.unlink(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        step = "bind"
        sock.bind(path)
        if permissions:
            with contextlib.suppress(OSError):
                os.chmod(path, permissions)
        step = "listen"
        sock.listen(backlog)
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"{step}: {os.strerror(error.errno)}") from None
    sock.setblocking(False)
    return sock


class Listening:
    """The listeners of a `Server`: its `listeners`, `tls_listeners` and `unix_listener`."""

    def listen(self) -> None:
        """At start-up: listen on every address of `bind` at `port` (none with port 0), the
        same at `tls-port`, then on the `unixsocket` path if there is one; an address or a path
        that cannot be listened on ends the start, as Redis does."""
        for port, kind in ((self.config["port"], "TCP"), (self.config["tls-port"], "TLS")):
            try:
                self._accept_on(self._open_listeners(port), tls=kind == "TLS")
            except ListenError:
                log.warning(f"Failed listening on port {port} ({kind}), aborting.")
                raise SystemExit(1) from None
        if self.config["unixsocket"]:
            try:
                self.unix_listener = unix_listening_socket(
                    self.config["unixsocket"], self.config["unixsocketperm"], self.config["tcp-backlog"])
            except OSError as error:
                log.warning(f"Failed opening Unix socket: {error.strerror}")
                raise SystemExit(1) from None
            self.selector.register(self.unix_listener, selectors.EVENT_READ, UNIX_LISTENER)
        if not self.listening_sockets():
            log.warning("Configured to not listen anywhere, exiting.")
            raise SystemExit(1)

    def listening_sockets(self) -> list[socket.socket]:
        """Every socket the server accepts connections on (a forked child closes them all)."""
        return self.listeners + self.tls_listeners + ([self.unix_listener] if self.unix_listener is not None else [])

    def _open_listeners(self, port: int) -> list[socket.socket]:
        """Listening sockets on the `bind` addresses at `port`, as Redis's listenToPort: an
        optional address ("-" before it) this machine does not have, or an address family it
        does not support, is logged and left out; any other failure is logged, closes those
        opened so far and raises ListenError."""
        opened: list[socket.socket] = []
        for address in self.config["bind"] if port else []:  # port 0: no TCP listener
            optional = address.startswith("-")
            address = address.removeprefix("-")
            try:
                opened.append(listening_socket(address, port, self.config["tcp-backlog"]))
            except OSError as error:
                log.warning(f"Warning: Could not create server TCP listening socket {address}:{port}: {error.strerror}")
                if (error.errno == errno.EADDRNOTAVAIL and optional) or error.errno in UNSUPPORTED_FAMILY:
                    continue
                for sock in opened:
                    sock.close()
                raise ListenError() from None
        return opened

    def _accept_on(self, listeners: list[socket.socket], tls: bool = False) -> None:
        for sock in listeners:
            self.selector.register(sock, selectors.EVENT_READ, TLS_LISTENER if tls else None)
        if tls:
            self.tls_listeners = listeners
        else:
            self.listeners = listeners

    def _close_listeners(self, tls: bool = False) -> None:
        for sock in self.tls_listeners if tls else self.listeners:
            self.selector.unregister(sock)
            sock.close()
        if tls:
            self.tls_listeners = []
        else:
            self.listeners = []

    def _on_port_change(self, config, name) -> None:
        """CONFIG SET port, as Redis's changeListenPort: the old listeners close (connected
        clients stay), new ones open at the new port. If they cannot, CONFIG SET fails and
        restores the old port, which calls this again to listen there once more."""
        self._close_listeners()
        try:
            self._accept_on(self._open_listeners(config["port"]))
        except ListenError:
            raise ConfigApplyError("Unable to listen on this port. Check server logs.") from None

    def _on_tls_port_change(self, config, name) -> None:
        """CONFIG SET tls-port, as Redis's applyTLSPort: TLS is configured first if it was not,
        then the TLS listeners move as the TCP ones do for `port`."""
        if self.tls_context is None:
            try:
                self.tls_context = tls.make_context(config)
            except tls.ConfigureError:
                raise ConfigApplyError(tls.UNABLE) from None
        self._close_listeners(tls=True)
        try:
            self._accept_on(self._open_listeners(config["tls-port"]), tls=True)
        except ListenError:
            raise ConfigApplyError("Unable to listen on this port. Check server logs.") from None

    def _on_tls_change(self, config, name) -> None:
        """CONFIG SET of another tls-* option, as Redis's applyTlsCfg: when TLS is in use, a new
        context for the connections from now on; one that cannot be made fails the CONFIG SET."""
        if tls.needed(config):
            try:
                self.tls_context = tls.make_context(config)
            except tls.ConfigureError:
                raise ConfigApplyError(tls.UNABLE) from None

    def _on_bind_change(self, config, name) -> None:
        """CONFIG SET bind, as Redis's changeBindAddr: the same, for new addresses (both the
        TCP and the TLS listeners)."""
        self._close_listeners()
        self._close_listeners(tls=True)
        try:
            self._accept_on(self._open_listeners(config["port"]))
            self._accept_on(self._open_listeners(config["tls-port"]), tls=True)
        except ListenError:
            self._close_listeners()
            log.warning("Failed to bind")
            raise ConfigApplyError("Failed to bind to specified addresses.") from None

    def close_listeners(self, unlink_unix_socket: bool) -> None:
        """As Redis's closeListeningSockets: the server (at exit) also removes the socket file."""
        for sock in self.listening_sockets():
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(sock)
            sock.close()
        self.listeners, self.tls_listeners, self.unix_listener = [], [], None
        if unlink_unix_socket and self.config["unixsocket"]:
            log.notice("Removing the unix socket file.")
            try:
                os.unlink(self.config["unixsocket"])
            except OSError as error:
                log.warning(f"Error removing the unix socket file: {error.strerror}")
