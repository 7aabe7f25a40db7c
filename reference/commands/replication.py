"""Replication commands (spec/replication.md): REPLICAOF, SLAVEOF, SYNC, PSYNC, REPLCONF, ROLE,
WAIT, FAILOVER. The state they act on is the server's `replication` (reference/replication/).

FAILOVER's words are read here, one by one, because Redis reads them itself: the first bad word
is the reply, and ABORT counts only alone."""
from __future__ import annotations

from reference import log
from reference.blocking import Block
from reference.commands import handler
from reference.commands.connection import describe
from reference.config import split_args
from reference.dispatch import CommandError
from reference.protocol import Status
from reference.replication import CONNECTED, forget_client, record_effects
from reference.replication.failover import NO_FAILOVER
from reference.replication.master import ONLINE
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
    if replication.failover_state != NO_FAILOVER:
        raise CommandError("ERR REPLICAOF not allowed while failing over.")
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
    if replication.failover_state != NO_FAILOVER:
        raise CommandError("NOMASTERLINK Can't SYNC while failing over")
    if replication.master_host is not None and replication.state != CONNECTED:
        raise CommandError("NOMASTERLINK Can't SYNC while not connected with my master")
    if client.out:
        raise CommandError("ERR SYNC and PSYNC are invalid with pending output")
    peer = replication.peers.get(client)
    if peer is not None and peer.excluded and "eof" not in peer.capabilities:
        raise CommandError("ERR Filtered replica requires EOF capability")  # (a filtered copy is diskless)
    replication.synchronize(client, replid, offset)
    return NO_REPLY


@handler("sync")
def sync(client, args):
    return _synchronize(client, None, None)


@handler("psync", raw=("offset",))
def psync(client, args):
    extra = args.get("argument") or []
    if client.kind != "replica" and extra and extra[0].lower() == b"failover":
        _failover_request(client, args["replicationid"])
    offset = _integer(args["offset"])
    if offset is None:
        log.warning(f"Replica {client.server.replication.name_of(client)} asks for synchronization but with a "
                    f"wrong offset")
        raise CommandError("ERR value is not an integer or out of range")
    return _synchronize(client, args["replicationid"].decode("utf-8", "surrogateescape"), offset)


def _failover_request(client, replid: bytes) -> None:
    """PSYNC <replid> <offset> FAILOVER, from our master handing its role over: with our own
    replication id, we become a master (as REPLICAOF NO ONE) before the PSYNC goes on."""
    replication = client.server.replication
    log.warning(f"Failover request received for replid {replid.decode('utf-8', 'replace')}.")
    if replication.master_host is None:
        raise CommandError("ERR PSYNC FAILOVER can't be sent to a master.")
    if replid.lower() != replication.replid.encode():
        raise CommandError("ERR PSYNC FAILOVER replid must match my replid.")
    replication.unset_master()
    log.notice(f"MASTER MODE enabled (failover request from '{describe(client)}')")


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
            replication.peer(client).rdb_only = flag == 1  # the copy, then the connection closes
        elif name == b"rdb-filter-only":
            filters = split_args(value)  # (words as a config line's: quotes and escapes)
            if filters is None:
                raise CommandError("ERR Missing rdb-filter-only values")
            peer = replication.peer(client)
            peer.excluded = frozenset({"data", "functions"})  # what is not named is left out
            for word in filters:
                if word.lower() != b"functions":
                    raise CommandError(f"ERR Unsupported rdb-filter-only option: {word.decode('utf-8', 'replace')}")
                peer.excluded -= {"functions"}
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


@handler("failover")
def failover(client, args):
    replication = client.server.replication
    words = args.get("argument") or []
    if len(words) == 1 and words[0].lower() == b"abort":
        if replication.failover_state == NO_FAILOVER:
            raise CommandError("ERR No failover in progress.")
        replication.abort_failover("Failover manually aborted")
        return Status("OK")
    target, timeout_ms, force = _read_failover_options(words)
    if replication.failover_state != NO_FAILOVER:
        raise CommandError("ERR FAILOVER already in progress.")
    if replication.master_host is not None:
        raise CommandError("ERR FAILOVER is not valid when server is a replica.")
    if not replication.replicas:
        raise CommandError("ERR FAILOVER requires connected replicas.")
    if force and (not timeout_ms or target is None):
        raise CommandError("ERR FAILOVER with force option requires both a timeout and target HOST and IP.")
    if target is not None:
        replica = replication.find_replica(*target)
        if replica is None:
            raise CommandError("ERR FAILOVER target HOST and PORT is not a replica.")
        if replication.peers[replica].state != ONLINE:
            raise CommandError("ERR FAILOVER target replica is not online.")
    replication.start_failover(target, timeout_ms, force)
    return Status("OK")


def _read_failover_options(words: list[bytes]) -> tuple[tuple[str, int] | None, int, bool]:
    """[TO host port] [FORCE] [TIMEOUT ms] in any order, each once, as Redis's loop reads
    them: a number is checked when its keyword is read."""
    target, timeout_ms, force = None, 0, False
    i = 0
    while i < len(words):
        word = words[i].lower()
        left = len(words) - i - 1
        if word == b"timeout" and left >= 1 and timeout_ms == 0:
            timeout_ms = _integer(words[i + 1])
            if timeout_ms is None:
                raise CommandError("ERR value is not an integer or out of range")
            if timeout_ms <= 0:
                raise CommandError("ERR FAILOVER timeout must be greater than 0")
            i += 2
        elif word == b"to" and left >= 2 and target is None:
            port = _integer(words[i + 2])
            if port is None:
                raise CommandError("ERR value is not an integer or out of range")
            target = (words[i + 1].decode("utf-8", "surrogateescape"), port)
            i += 3
        elif word == b"force" and not force:
            force = True
            i += 1
        else:
            raise CommandError("ERR syntax error")
    return target, timeout_ms, force
