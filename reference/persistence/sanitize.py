"""sanitize-dump-payload: how deeply Redis 7.0 checks a value it loads (spec/persistence.md).

Every value Redis loads, from a file or a RESTORE payload, gets a shallow check at least: a
listpack's header (its total size that of the blob, a terminator last), an intset's width and
size. Ziplists and zipmaps, which 7.0 converts entry by entry, are always walked whole. The
deep check (`deep_validation`) walks every listpack and intset too: each entry within bounds,
the header's count right, no field or member twice, an even number of entries where they pair
up, an intset strictly ascending.

The rule (rdb.c rdbLoadObject): `yes` checks deeply everywhere, files included; `no` never;
`clients` only the RESTORE of an ordinary client: not while a file or an AOF loads, not from
the master of a replica.
"""
from __future__ import annotations

import re

# INFO stats `dump_payload_sanitizations`: the listpacks and intsets the deep check has walked
# (each quicklist node one), since start-up or CONFIG RESETSTAT; one count for the process, as
# Redis's server field.
sanitizations = 0


def count_sanitization() -> None:
    global sanitizations
    sanitizations += 1


def deep_validation(config, client=None) -> bool:
    """Does a load check values deeply? `client`: the client whose RESTORE it is (None when a
    file, an AOF's base or a replica's copy of its master's data is loaded). Under `clients`
    the RESTOREs of a replica's master (its server's `replication.master_client`) and of the
    AOF being loaded (while the keyspace is `loading`) are not sanitized."""
    mode = "no" if config is None else config["sanitize-dump-payload"]
    if mode == "yes":
        return True
    if mode == "no" or client is None:
        return False
    server = client.server
    replication = getattr(server, "replication", None)  # (absent from bare test servers)
    from_master = replication is not None and client is replication.master_client
    return not (from_master or server.keyspace.loading)


# What C's strtod reads at the start of a text: white space, a sign, then a decimal or
# hexadecimal number, an infinity or a NaN (with its optional parenthesised tag).
_STRTOD_PREFIX = re.compile(
    rb"[ \t\n\v\f\r]*([+-]?)(?:(inf(?:inity)?|nan(?:\([0-9a-z_]*\))?)"
    rb"|0x([0-9a-f]+\.?[0-9a-f]*|\.[0-9a-f]+)(p[+-]?[0-9]+)?"
    rb"|((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:e[+-]?[0-9]+)?))", re.I)


def strtod_prefix(text: bytes) -> float | None:
    """The number C's strtod (or sscanf's %lg) reads at the start of text, up to a NUL; None
    if it reads none."""
    match = _STRTOD_PREFIX.match(text.split(b"\0", 1)[0])
    if match is None:
        return None
    sign, special, hex_digits, hex_exponent, decimal = match.groups()
    if special is not None:
        value = float("nan") if special[:1].lower() == b"n" else float("inf")
    elif hex_digits is not None:
        value = float.fromhex("0x" + hex_digits.decode() + (hex_exponent or b"p0").decode())
    else:
        value = float(decimal)
    return -value if sign == b"-" else value


UNDERSCORE = ord("_")


def listpack_score(text: bytes) -> float:
    """A sorted set's score as Redis reads it from a listpack entry (zzlStrtod): strtod over
    at most the first 127 bytes; what it cannot read is 0."""
    # float reads what strtod reads, but for its underscores. (The byte is looked for as an int:
    # `in` with a one-byte bytes needle costs ten times as much, on a load's hot path.)
    if len(text) < 128 and UNDERSCORE not in text:
        try:
            return float(text)
        except ValueError:
            pass
    value = strtod_prefix(text[:127])
    return 0.0 if value is None else value
