"""Replication commands (spec/replication.md): REPLICAOF, SLAVEOF, SYNC, PSYNC, REPLCONF, ROLE,
WAIT. The state they act on is the server's `replication` (reference/replication/)."""
from __future__ import annotations

from reference import log
from reference.blocking import Block
from reference.commands import handler
from reference.commands.connection import describe
from reference.dispatch import CommandError
from reference.protocol import Status
from reference.replication import CONNECTED, forget_client, record_effects
from reference.server import CLIENT_STATE_HOOKS, EFFECT_RECORDERS, NO_REPLY
from reference.values import string2ll

# The stream is fed after the AOF has written a loop turn's effects; a client that leaves stops
# being a replica (or our master).
if record_effects not in EFFECT_RECORDERS:
    EFFECT_RECORDERS.append(record_effects)
if forget_client not in CLIENT_STATE_HOOKS:
    CLIENT_STATE_HOOKS.append(forget_client)

WAIT_ON_REPLICA = (
    "ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a "
    "replica is configured to be writable (which is not the default) writes to replicas are just "
    "local and are not propagated.")


def _integer(word: bytes) -> int | None:
    return string2ll(word)  # None if not a 64-bit integer as Redis writes one


@handler("replicaof", raw=("port",))
def replicaof(client, args):
    replication = client.server.replication
    host, port_word = args["host"], args["port"]
    if host.lower() == b"no" and port_word.lower() == b"one":
        if replication.master_host is not None:
            replication.unset_master()
            log.notice(f"MASTER MODE enabled (user request from '{describe(client)}')")
        return Status("OK")
    if client.kind == "replica":
        raise CommandError("ERR Command is not valid when client is a replica.")
    port = _integer(port_word)
    if port is None or not 0 <= port <= 65535:
        raise CommandError("ERR Invalid master port")
    host_text = host.decode("utf-8", "surrogateescape")
    if (replication.master_host is not None and replication.master_host.lower() == host_text.lower()
            and replication.master_port == port):
        log.notice("REPLICAOF would result into synchronization with the master we are already connected "
                   "with. No operation performed.")
        return Status("OK Already connected to specified master")
    replication.set_master(host_text, port)
    log.notice(f"REPLICAOF {host_text}:{port} enabled (user request from '{describe(client)}')")
    return Status("OK")


@handler("slaveof", raw=("port",))
def slaveof(client, args):
    return replicaof(client, args)


def _synchronize(client, replid: str | None, offset: int | None):
    replication = client.server.replication
    if client.kind == "replica":
        return NO_REPLY  # a replica already: ignored
    if replication.master_host is not None and replication.state != CONNECTED:
        raise CommandError("NOMASTERLINK Can't SYNC while not connected with my master")
    if client.out:
        raise CommandError("ERR SYNC and PSYNC are invalid with pending output")
    replication.synchronize(client, replid, offset)
    return NO_REPLY


@handler("sync")
def sync(client, args):
    return _synchronize(client, None, None)


@handler("psync", raw=("offset",))
def psync(client, args):
    offset = _integer(args["offset"])
    if offset is None:
        log.warning(f"Replica {client.server.replication.name_of(client)} asks for synchronization but with a "
                    f"wrong offset")
        raise CommandError("ERR value is not an integer or out of range")
    return _synchronize(client, args["replicationid"].decode("utf-8", "surrogateescape"), offset)


@handler("replconf")
def replconf(client, args):
    words = args.get("argument") or []
    if len(words) % 2:
        raise CommandError("ERR syntax error")
    replication = client.server.replication
    for option, value in zip(words[::2], words[1::2]):
        name = option.lower()
        if name == b"listening-port":
            port = _integer(value)
            if port is None:
                raise CommandError("ERR value is not an integer or out of range")
            replication.peer(client).listening_port = port
        elif name == b"ip-address":
            if len(value) >= 256:  # NET_HOST_STR_LEN
                raise CommandError(f"ERR REPLCONF ip-address provided by replica instance is too long: "
                                   f"{len(value)} bytes")
            replication.peer(client).ip_address = value.decode("utf-8", "surrogateescape")
        elif name == b"capa":
            if value.lower() in (b"eof", b"psync2"):
                replication.peer(client).capabilities.add(value.lower().decode())
        elif name == b"ack":
            offset = _integer(value)
            if client.kind == "replica" and offset is not None:
                replication.acknowledged(client, offset)
            return NO_REPLY
        elif name == b"getack":
            if client is replication.master_client:
                replication.send_ack()
            return NO_REPLY
        elif name == b"rdb-only":
            flag = _integer(value)
            if flag is None:
                raise CommandError("ERR value is not an integer or out of range")
            if not 0 <= flag <= 1:
                raise CommandError("ERR value is out of range, value must between 0 and 1")
        elif name == b"rdb-filter-only":
            for word in value.split():
                if word.lower() != b"functions":
                    raise CommandError(f"ERR Unsupported rdb-filter-only option: {word.decode('utf-8', 'replace')}")
        else:
            raise CommandError(f"ERR Unrecognized REPLCONF option: {option.decode('utf-8', 'replace')}")
    return Status("OK")


@handler("role")
def role(client, args):
    return client.server.replication.role()


@handler("wait", raw=("timeout",))
def wait(client, args):
    server = client.server
    replication = server.replication
    if replication.master_host is not None:
        raise CommandError(WAIT_ON_REPLICA)
    wanted = args["numreplicas"]
    timeout = _integer(args["timeout"])
    if timeout is None:
        raise CommandError("ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("ERR timeout is negative")
    server.record_effects()  # this client's changes so far are in the stream: the offset to wait for
    offset = replication.offset
    acked = replication.count_acks(offset)
    if acked >= wanted or client.in_exec or client.transaction is not None:
        return acked
    replication.wait_for(client, offset, wanted)
    return Block(keys=[], timeout_ms=timeout, timeout_reply=acked)
