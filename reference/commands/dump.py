"""Handlers of DUMP and RESTORE (spec/generic.md): values serialized in the RDB format.

A payload is what a key's value would be in an RDB file (type byte and body, in the encoding
Redis would hold the value in), then the RDB version as two little-endian bytes and the CRC-64
of all that (reference/persistence/rdb.py `dump_payload`). RESTORE checks the trailer, then
reads the body with the RDB loader; the restored value gets the encoding a load gives it.

RESTORE's order of checks is Redis's: options (as read), then an existing key without REPLACE,
then the TTL (read here, after the key: `raw`), then the payload's trailer, then its body,
checked as deeply as sanitize-dump-payload says (reference/persistence/sanitize.py).
"""
from __future__ import annotations

from reference.commands import handler
from reference.dispatch import CommandError
from reference.persistence.rdb import dump_payload
from reference import log
from reference.persistence.rdb_load import Corrupt, RDBLoadError, UnknownType, load_payload, payload_ok
from reference.persistence.sanitize import deep_validation
from reference.protocol import OK
from reference.values import parse_int


@handler("dump")
def dump(client, args):
    value = client.db.lookup_read(args["key"])
    if value is None:
        return None
    return dump_payload(value, client.server.config)


@handler("restore", raw=("ttl",))
def restore(client, args):
    db = client.db
    key = args["key"]
    idle = args.get("seconds")
    if idle is not None and idle < 0:
        raise CommandError("ERR Invalid IDLETIME value, must be >= 0")
    frequency = args.get("frequency")
    if frequency is not None and not 0 <= frequency <= 255:
        raise CommandError("ERR Invalid FREQ value, must be >= 0 and <= 255")
    replace = bool(args.get("replace"))
    if not replace and db.get(key) is not None:
        raise CommandError("BUSYKEY Target key name already exists.")
    ttl = parse_int(args["ttl"])
    if ttl < 0:
        raise CommandError("ERR Invalid TTL value, must be >= 0")
    payload = bytes(args["serialized-value"])
    if not payload_ok(payload):
        raise CommandError("ERR DUMP payload version or checksum are wrong")
    try:
        value = load_payload(payload, client.server.config, deep_validation(client.server.config, client))
    except RDBLoadError as error:
        if isinstance(error, Corrupt) and not isinstance(error, UnknownType):
            if client.server.keyspace.loading:
                # The AOF's RESTORE: Redis reports the damage as a file's, checks the file
                # being loaded as an RDB (which it is not) and exits.
                log.warning(error.reason_line)
                raise SystemExit(1) from None
            log.verbose(error.reason_line)  # the damage Redis reports, at verbose level for a RESTORE
        raise CommandError("ERR Bad data format") from None
    now = db.clock.ms
    relative = ttl and not args.get("absttl")
    if relative:
        ttl += now
    # REPLACE removes the old key without looking it up: one past its time is not written as
    # a DEL of its own (Redis's dbDelete).
    gone = ttl and db.already_expired(ttl)
    replaced = replace and db.discard(key, changes=1 if gone else 0)
    if gone:  # nothing is created; a replaced key is gone, written as DEL
        if replaced:
            client.propagate_as = [[b"DEL", key]]
        return OK
    db.set(key, value, expire_at=ttl or None)  # one change, replacing the old value if any
    if relative:  # the AOF gets the absolute time: the TTL replaced, ABSTTL added at the end
        client.propagate_as = [[*client.argv[:2], b"%d" % ttl, *client.argv[3:], b"ABSTTL"]]
    if idle is not None:
        db.access[key] = now - idle * 1000
    # FREQ sets an LFU counter, which only the LFU eviction policies keep; the reference has none.
    return OK
