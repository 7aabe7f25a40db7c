"""Reading RDB files (versions 1 to 10) and DUMP payloads, as Redis 7.0 loads them.

Every type and encoding Redis 7.0 writes or still loads is understood (see the TYPE_ constants
of rdb.py): plain lists, sets, hashes and sorted sets (scores as text or as binary doubles);
ziplists, zipmaps and intsets of older versions; listpacks and the quicklists of listpacks of
7.0. Strings may be integer-encoded or LZF-compressed. Streams and module values are not: the
reference has neither (a file holding one is refused; the tools still read them).

This module reads values (`ValueReader`, shared with DUMP payloads and the tools); the walk over
a file's opcodes (AUX, SELECTDB, RESIZEDB, EXPIRETIME/_MS, IDLE, FREQ, FUNCTION2, MODULE_AUX,
keys) is rdb_scan.RDBScanner's, which `parse_rdb` drives with the server's rules.

A value gets the encoding flag Redis would give it on load (the config's thresholds: a hash read
as a listpack stays one unless it has too many fields, and so on; see `ValueReader`). How deeply
a listpack or intset is checked follows sanitize-dump-payload (reference/persistence/sanitize.py):
without the deep check, one that passes the shallow check holds what can be read of it.

Loading is all or nothing: the file is parsed into new databases first and only a file read to
its end, with a good checksum, replaces the keyspace. A failure raises `RDBLoadError` whose
`log_lines` are what Redis logs before it exits with status 1.
"""
from __future__ import annotations

import math
import re
import struct
import time

from reference import log
from reference.persistence import intset, listpack, lzf, sanitize, ziplist
from reference.persistence.sanitize import UNDERSCORE, listpack_score, strtod_prefix
from reference.persistence import rdb as R
from reference.persistence.crc64 import crc64
from reference.values import is_int

# The settings loading reads from a config, and Redis's defaults for them (config None).
DEFAULTS = {"hash-max-listpack-entries": 512, "hash-max-listpack-value": 64,
            "set-max-intset-entries": 512, "zset-max-listpack-entries": 128,
            "zset-max-listpack-value": 64, "rdbchecksum": True, "databases": 16,
            "maxmemory-policy": "noeviction", "sanitize-dump-payload": "no", "replicaof": None}


class RDBLoadError(Exception):
    """The file or payload cannot be loaded. `log_lines`: (level, text) Redis logs for it.
    `aborts`: Redis exits right there (a damaged file); else (a bad signature or version) the
    loader returns an error and its caller logs what it was loading and exits."""

    def __init__(self, reason: str, log_lines: list[tuple[str, str]], aborts: bool = True):
        super().__init__(reason)
        self.log_lines = log_lines
        self.aborts = aborts


class Truncated(RDBLoadError):
    def __init__(self):
        super().__init__("Unexpected EOF reading RDB file", [
            ("warning", "Short read or OOM loading DB. Unrecoverable error, aborting now."),
            ("warning", "Internal error in RDB reading offset 0, function at rdb.c:0 -> "
                        "Unexpected EOF reading RDB file")])


class Corrupt(RDBLoadError):
    """Damage Redis reports as a corrupt RDB (rdbReportCorruptRDB): `reason_line` is its line.
    At start-up Redis then runs redis-check-rdb on the file, which meets the same damage through
    the same loading code and ends the process logging TERMINATING; except where the checker
    finds the fault with code of its own (`rechecked_alike` False: a checksum, an unknown
    type), and exits without that line."""

    rechecked_alike = True

    def __init__(self, reason: str, extra: list[tuple[str, str]] = (), rechecked_alike: bool | None = None):
        self.reason_line = f"Internal error in RDB reading offset 0, function at rdb.c:0 -> {reason}"
        super().__init__(reason, [*extra, ("warning", self.reason_line)])
        if rechecked_alike is not None:
            self.rechecked_alike = rechecked_alike


TERMINATING = "Terminating server after rdb file reading failure."


class UnknownType(Corrupt):
    """An object type no loader knows (RESTORE refuses it before reading, logging nothing)."""

    rechecked_alike = False

    def __init__(self, kind: int):
        super().__init__(f"Unknown RDB encoding type {kind}")


class EmptyValue(RDBLoadError):
    """A payload whose value has no element: RESTORE refuses it, without a log line."""

    def __init__(self):
        super().__init__("Empty value", [])


class WouldCrash(Corrupt):
    """A value the shallow check let through whose damage Redis 7.0 then trips over while it
    loads it (converting it to a hash table, counting its entries), asserting and ending the
    process; or one that leaves the reference nothing to hold. The reference refuses it (a
    named divergence, spec/persistence.md)."""

    def __init__(self, what: str):
        super().__init__(f"{what} (a value Redis 7.0 accepts without sanitize-dump-payload, "
                         f"to assert on it later; the reference refuses it)")


# DEBUG SET-SKIP-CHECKSUM-VALIDATION: while on, RDB files and DUMP payloads are loaded without
# checking their CRC-64 (one switch for the process, as Redis's server field).
skip_checksum_validation = False


def settings_of(config) -> dict:
    """The settings loading reads (DEFAULTS' names) from a config (None: Redis's defaults), as
    a plain dict: read once per file rather than once per value."""
    source = DEFAULTS if config is None else config
    return {name: source[name] for name in DEFAULTS}


def atoi(text: bytes) -> int:
    """C's atoi (and strtol's base 10): leading blanks, a sign, the digits that follow; 0 if
    there are none."""
    match = re.match(rb"\s*([+-]?[0-9]+)", text)
    return int(match.group(1)) if match else 0


class Reader:
    """A cursor over the bytes of a file or payload."""

    __slots__ = ("data", "pos", "size")

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.size = len(data)

    def read(self, n: int) -> bytes:
        start = self.pos
        end = start + n
        if end > self.size:
            raise Truncated()
        self.pos = end
        return self.data[start:end]

    def byte(self) -> int:
        try:
            value = self.data[self.pos]
        except IndexError:
            raise Truncated() from None
        self.pos += 1
        return value

    def _long_length_or_encoding(self, first: int) -> tuple[int, bool]:
        """After a first byte of 64 or more: (length, False) of 14, 32 or 64 bits, or (string
        encoding number, True) for 11xxxxxx."""
        kind = first >> 6
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return _U32_BE.unpack(self.read(4))[0], False
        if first == 0x81:
            return _U64_BE.unpack(self.read(8))[0], False
        raise Corrupt(f"Unknown length encoding {kind} in rdbLoadLen()")

    def length(self) -> int:
        """A length where only a length can be: an encoding byte (11xxxxxx) then reads as its
        six bits, as Redis's rdbLoadLen reads it."""
        try:
            first = self.data[self.pos]
        except IndexError:
            raise Truncated() from None
        self.pos += 1
        if first < 0x40:  # the common case, a length below 64
            return first
        return self._long_length_or_encoding(first)[0]

    def string(self) -> bytes:
        pos = self.pos
        try:
            first = self.data[pos]
        except IndexError:
            raise Truncated() from None
        if first < 0x40:  # the common case, a string below 64 bytes, read at once
            start = pos + 1
            end = start + first
            if end > self.size:
                raise Truncated()
            self.pos = end
            return self.data[start:end]
        self.pos += 1
        n, encoded = self._long_length_or_encoding(first)
        if not encoded:
            return self.read(n)
        if n == 0:
            return _INT8_TEXTS[self.byte()]
        if n == 1:
            return b"%d" % _INT16.unpack(self.read(2))[0]
        if n == 2:
            return b"%d" % _INT32.unpack(self.read(4))[0]
        if n == 3:
            packed_length, length = self.length(), self.length()
            packed = self.read(packed_length)
            if length == 0:  # Redis asks liblzf for no bytes, gets none, and is content
                return b""
            try:
                return lzf.decompress(packed, length)
            except lzf.LZFError:
                raise Corrupt("Invalid LZF compressed string") from None
        raise Corrupt(f"Unknown RDB string encoding type {n}")

    def binary_double(self) -> float:
        return _DOUBLE.unpack(self.read(8))[0]

    def text_double(self) -> float:
        """A score of the old ZSET type: length byte (253 nan, 254 inf, 255 -inf) and text."""
        n = self.byte()
        special = {253: math.nan, 254: math.inf, 255: -math.inf}
        if n in special:
            return special[n]
        score = strtod_prefix(self.read(n))  # as sscanf's %lg reads it: a prefix will do
        if score is None:
            raise Truncated()  # a failed read, reported as a short one
        return score


_U32_BE, _U64_BE = struct.Struct(">I"), struct.Struct(">Q")
_INT16, _INT32, _DOUBLE = struct.Struct("<h"), struct.Struct("<i"), struct.Struct("<d")
_INT8_TEXTS = [b"%d" % (n - 256 if n >= 128 else n) for n in range(256)]  # by the byte's value


# --- values ------------------------------------------------------------------------------

def _decode(codec, blob: bytes, error: str) -> list[bytes]:
    try:
        return codec(blob)
    except ValueError:
        raise Corrupt(error) from None


def _node(reader: Reader) -> bytes:
    """A quicklist node's string. Redis takes an empty one for a failed read (no corruption
    reported: the load fails as a short read does)."""
    blob = reader.string()
    if not blob:
        raise Truncated()
    return blob


class ValueReader:
    """Reads a value of any RDB type into what the server holds, with the encoding flag Redis
    would give it on load under `config` (DEFAULTS when None): a hash read as a listpack stays
    one unless it has too many fields, and so on. `read` gives None for an empty collection
    (Redis skips those when loading a file). Made once per file (or DUMP payload): the
    settings and the value classes are looked up here, not per value.

    `deep`: sanitize-dump-payload's deep check applies (sanitize.deep_validation). Without it
    a listpack or intset gets the shallow check alone, and one that passes it but not the deep
    check holds what can be read of it (`_salvaged_pairs`)."""

    def __init__(self, config=None, deep: bool = True):
        # The value classes live with their commands, which import far more than loading needs
        # (the tools read files without them until a value is met), hence imported here.
        from reference.commands.hashes import HashValue
        from reference.commands.lists import ListValue
        from reference.commands.sets import SetValue
        from reference.zset import ZSet
        self.HashValue, self.ListValue, self.SetValue, self.ZSet = HashValue, ListValue, SetValue, ZSet
        settings = settings_of(config)
        self.hash_entries = settings["hash-max-listpack-entries"]
        self.hash_value = settings["hash-max-listpack-value"]
        self.zset_entries = settings["zset-max-listpack-entries"]
        self.zset_value = settings["zset-max-listpack-value"]
        self.max_intset = min(settings["set-max-intset-entries"], 1 << 30)
        self.deep = deep
        self.readers = {
            R.TYPE_STRING: Reader.string, R.TYPE_LIST: self._list, R.TYPE_SET: self._set,
            R.TYPE_ZSET: self._zset_text_scores, R.TYPE_ZSET_2: self._zset, R.TYPE_HASH: self._hash,
            R.TYPE_LIST_QUICKLIST: self._quicklist, R.TYPE_LIST_QUICKLIST_2: self._quicklist_2,
            R.TYPE_HASH_ZIPMAP: self._hash_zipmap, R.TYPE_LIST_ZIPLIST: self._list_ziplist,
            R.TYPE_SET_INTSET: self._set_intset, R.TYPE_ZSET_ZIPLIST: self._zset_ziplist,
            R.TYPE_ZSET_LISTPACK: self._zset_listpack, R.TYPE_HASH_ZIPLIST: self._hash_ziplist,
            R.TYPE_HASH_LISTPACK: self._hash_listpack,
        }

    def read(self, reader: Reader, kind: int):
        """The value of RDB type `kind` at the reader (`readers` holds the reader of each type)."""
        read = self.readers.get(kind)
        if read is None:
            raise UnknownType(kind)
        return read(reader)

    # --- the plain types: a count, then the elements as strings ---

    def _list(self, reader: Reader):
        n = reader.length()
        return self.ListValue([reader.string() for _ in range(n)]) or None

    def _set(self, reader: Reader):
        n = reader.length()
        members = [reader.string() for _ in range(n)]
        value = self.SetValue(members, intset=False)
        if len(value) != n:
            raise Corrupt("Duplicate set members detected")
        value.intset = n <= self.max_intset and all(map(is_int, members))
        return value or None

    def _zset(self, reader: Reader, text_scores: bool = False):
        n = reader.length()
        score = reader.text_double if text_scores else reader.binary_double
        members, scores = [], []
        for _ in range(n):
            members.append(reader.string())
            scores.append(score())
        longest = max(map(len, members), default=0)
        skiplist = n > self.zset_entries or longest > self.zset_value
        if not skiplist:  # converted to a listpack, which holds a score of -0 as 0
            scores = [score + 0.0 for score in scores]
        return self._new_zset(members, scores, skiplist, "Duplicate zset fields detected") or None

    def _zset_text_scores(self, reader: Reader):
        return self._zset(reader, text_scores=True)

    def _hash(self, reader: Reader):
        n = reader.length()
        items = [reader.string() for _ in range(2 * n)]
        if n > self.hash_entries:  # a hash table from the start
            return self._new_hash(items, True, "Duplicate hash fields detected") or None
        # A listpack, converted to a hash table at the first pair with a field or value
        # longer than hash-max-listpack-value.
        long_at = next((i // 2 for i, item in enumerate(items) if len(item) > self.hash_value), n)
        pairs = iter(items)
        value = self.HashValue(zip(pairs, pairs))
        value.hashtable = long_at < n
        if 2 * len(value) == len(items):
            return value or None
        seen: set[bytes] = set()
        duplicate_at = next(i for i, field in enumerate(items[0::2]) if field in seen or seen.add(field))
        if self.deep and duplicate_at <= long_at:  # the deep check's search for duplicates
            raise Corrupt("Hash with dup elements")
        if duplicate_at >= long_at:  # found by the hash table
            raise Corrupt("Duplicate hash fields detected")
        if long_at < n:
            raise WouldCrash("Hash listpack with a field twice converted to a hash table")
        return _first_of_each(self.HashValue(), items)  # a listpack holding a field twice

    # --- lists as quicklists: nodes of ziplists (type 14) or listpacks and plain nodes (18) ---

    def _quicklist(self, reader: Reader):
        value = self.ListValue()
        for _ in range(reader.length()):
            value.extend(_decode(ziplist.decode_ziplist, _node(reader), "Ziplist integrity check failed."))
        return value or None

    def _quicklist_2(self, reader: Reader):
        value = self.ListValue()
        unread_nodes = False  # a node claims entries, none of which can be read
        for _ in range(reader.length()):
            container = reader.length()
            if container == R.QUICKLIST_NODE_PACKED:
                node = _node(reader)
                if self.deep:
                    sanitize.count_sanitization()
                try:
                    value.extend(listpack.decode(node))
                except ValueError:
                    if self.deep or not listpack.header_ok(node):
                        raise Corrupt("Listpack integrity check failed.") from None
                    items = _salvaged_node(node)
                    value.extend(items)
                    unread_nodes |= not items and listpack.count_of(node) > 0
            elif container == R.QUICKLIST_NODE_PLAIN:
                value.append(_node(reader))
            else:
                raise Corrupt("Quicklist integrity check failed.")
        if not value and unread_nodes:
            raise WouldCrash("A list none of whose entries can be read")
        return value or None

    # --- the compact encodings of a whole value in one string ---

    def _hash_zipmap(self, reader: Reader):
        items = _decode(ziplist.decode_zipmap, reader.string(), "Zipmap integrity check failed.")
        longest = max(map(len, items), default=0)
        hashtable = len(items) // 2 > self.hash_entries or longest > self.hash_value
        return self._new_hash(items, hashtable, "Hash zipmap with dup elements, or big length (0)") or None

    def _list_ziplist(self, reader: Reader):
        items = _decode(ziplist.decode_ziplist, reader.string(), "List ziplist integrity check failed.")
        return self.ListValue(items) or None

    def _set_intset(self, reader: Reader):
        blob = reader.string()
        if self.deep:
            sanitize.count_sanitization()
        try:
            members = intset.decode(blob)
        except ValueError:
            if self.deep or not intset.header_ok(blob):
                raise Corrupt("Intset integrity check failed.") from None
            members = intset.members(blob)  # out of order, or a member twice
        fits_intset = len(members) <= self.max_intset
        value = self.SetValue(members, fits_intset)  # (positional: the cheaper call)
        if len(value) != len(members) and not fits_intset:
            raise WouldCrash("Intset holding a member twice converted to a hash table")
        return value

    def _zset_pairs(self, decode, blob: bytes, error: str):
        """A set of the members and scores alternating in `blob`, a ziplist or listpack that
        `decode` reads (error: what a fault is). A score is read as Redis reads it from a
        listpack, a text that is no number being 0."""
        shallow = not self.deep and decode is listpack.decode
        if self.deep and decode is listpack.decode:
            sanitize.count_sanitization()
        try:
            items = decode(blob)
        except ValueError:
            if not shallow or not listpack.header_ok(blob):
                raise Corrupt(error) from None
            return self._salvaged_zset(blob)
        if len(items) % 2:
            if shallow:
                return self._salvaged_zset(blob)
            raise Corrupt(error)
        scores = _scores(blob, items[1::2])
        try:
            return self._new_zset(items[0::2], scores, len(scores) > self.zset_entries, error) or None
        except Corrupt:
            if not shallow:
                raise
            return self._salvaged_zset(blob)  # a member twice

    def _zset_ziplist(self, reader: Reader):
        return self._zset_pairs(ziplist.decode_ziplist, reader.string(), "Zset ziplist integrity check failed.")

    def _zset_listpack(self, reader: Reader):
        return self._zset_pairs(listpack.decode, reader.string(), "Zset listpack integrity check failed.")

    def _hash_pairs(self, decode, blob: bytes, error: str):
        """A hash of the fields and values alternating in `blob`, a ziplist or listpack that
        `decode` reads (error: what a fault is; an odd count is one, as a field twice is)."""
        if self.deep and decode is listpack.decode:
            sanitize.count_sanitization()
        try:
            items = decode(blob)
        except ValueError:
            if self.deep or decode is not listpack.decode or not listpack.header_ok(blob):
                raise Corrupt(error) from None
            return self._salvaged_hash(blob)
        try:
            return self._new_hash(items, len(items) // 2 > self.hash_entries, error) or None
        except Corrupt:
            if self.deep or decode is not listpack.decode:
                raise
            return self._salvaged_hash(blob)  # an odd count, or a field twice

    def _hash_ziplist(self, reader: Reader):
        return self._hash_pairs(ziplist.decode_ziplist, reader.string(), "Hash ziplist integrity check failed.")

    def _hash_listpack(self, reader: Reader):
        return self._hash_pairs(listpack.decode, reader.string(), "Hash listpack integrity check failed.")

    # --- what a listpack that passed only the shallow check holds ---

    def _salvaged_pairs(self, blob: bytes, limit: int, what: str) -> tuple[list[bytes], bool]:
        """The items of a hash or sorted set listpack that the deep check would refuse, as far
        as they can be read, and whether Redis converts it to a hash table (its header claims
        more than `limit` pairs), which it then does only with a listpack it can walk whole,
        of whole pairs, no field twice. A header that claims no pair is an empty value."""
        items, stop = listpack.salvage(blob)
        count = listpack.count_of(blob)
        if count == listpack.UNKNOWN_COUNT:  # Redis counts the entries, asserting on damage
            if stop == "damage":
                raise WouldCrash(f"{what} listpack of unknown length with a damaged entry")
            count = len(items)
        if count < 2:
            raise EmptyValue()
        converts = count // 2 > limit
        if converts and (stop != "end" or len(items) % 2 or len(set(items[0::2])) * 2 != len(items)):
            raise WouldCrash(f"Damaged {what.lower()} listpack converted to a hash table")
        if len(items) < 2:
            raise WouldCrash(f"{what} listpack none of whose pairs can be read")
        return items[:len(items) & ~1], converts

    def _salvaged_hash(self, blob: bytes):
        items, converts = self._salvaged_pairs(blob, self.hash_entries, "Hash")
        value = _first_of_each(self.HashValue(), items)
        value.hashtable = converts
        return value

    def _salvaged_zset(self, blob: bytes):
        items, converts = self._salvaged_pairs(blob, self.zset_entries, "Zset")
        first = _first_of_each({}, items)
        scores = list(map(listpack_score, first.values()))
        if any(map(math.isnan, scores)):
            raise Corrupt("Zset listpack with a NaN score")
        value = self.ZSet.of_members(list(first), scores)
        value.skiplist = converts
        return value

    # --- building the values ---

    def _new_hash(self, items: list[bytes], hashtable: bool, duplicate_error: str):
        """A hash of fields and values alternating in `items` (an odd count refused too)."""
        pairs = iter(items)
        value = self.HashValue(zip(pairs, pairs))
        if 2 * len(value) != len(items):
            raise Corrupt(duplicate_error)
        value.hashtable = hashtable
        return value

    def _new_zset(self, members: list[bytes], scores: list[float], skiplist: bool, duplicate_error: str):
        value = self.ZSet.of_members(members, scores)
        if len(value) != len(members) or any(map(math.isnan, scores)):
            raise _first_zset_fault(members, scores, duplicate_error)
        value.skiplist = skiplist
        return value


def _scores(blob: bytes, texts: list[bytes]) -> list[float]:
    """The scores of the texts of a sorted set's listpack (or ziplist) `blob`, as
    listpack_score reads each. A blob shorter than 128 bytes with no underscore in it has no
    text that float() would read otherwise than strtod: read at once (a load's hot path)."""
    if len(blob) < 128 and UNDERSCORE not in blob:
        try:
            return list(map(float, texts))
        except ValueError:
            pass
    return list(map(listpack_score, texts))


def _first_of_each(into: dict, items: list[bytes]) -> dict:
    """`into` given the pairs alternating in items, a key met again keeping its first value
    (the one Redis finds first in a listpack holding a field twice)."""
    pairs = iter(items)
    for field, value in zip(pairs, pairs):
        into.setdefault(field, value)
    return into


def _salvaged_node(node: bytes) -> list[bytes]:
    """The items of a quicklist node that passed only the shallow check, as far as they can
    be read; none if its header claims none (Redis skips such a node)."""
    items, stop = listpack.salvage(node)
    count = listpack.count_of(node)
    if count == listpack.UNKNOWN_COUNT and stop == "damage":
        raise WouldCrash("Quicklist node of unknown length with a damaged entry")
    return items if count else []


def _first_zset_fault(members: list[bytes], scores: list[float], duplicate_error: str) -> Corrupt:
    """The error for the first member that is a duplicate or has a NaN score, as Redis meets
    them (Redis checks a member's score, then whether the member is new)."""
    first_seen: dict[bytes, int] = {}
    duplicate_at = next((i for i, member in enumerate(members) if first_seen.setdefault(member, i) != i),
                        len(members))
    nan_at = next((i for i, score in enumerate(scores) if score != score), len(scores))
    return Corrupt(duplicate_error if duplicate_at < nan_at else "Zset with NAN score detected")


# --- DUMP payloads -------------------------------------------------------------------------

def payload_ok(payload: bytes) -> bool:
    """verifyDumpPayload: a trailer of RDB version (at most ours) and CRC-64."""
    if len(payload) < 10:
        return False
    version = struct.unpack_from("<H", payload, len(payload) - 10)[0]
    if version > R.RDB_VERSION:
        return False
    if skip_checksum_validation:
        return True
    return struct.unpack_from("<Q", payload, len(payload) - 8)[0] == crc64(payload[:-8])


def load_payload(payload: bytes, config=None, deep: bool = True):
    """The value in a DUMP payload (whose trailer payload_ok has checked); RDBLoadError if
    the body is malformed or empty (`deep`: sanitize-dump-payload's deep check applies, see
    ValueReader). As in Redis, the value is read from the payload whole,
    trailer included, and what it leaves unread is not looked at: a string that claims two
    bytes more than its body has takes them from the trailer."""
    reader = Reader(payload)
    kind = reader.byte()
    value = ValueReader(config, deep).read(reader, kind)
    if value is None:
        raise EmptyValue()
    return value


# --- files -----------------------------------------------------------------------------

class Loaded:
    """What a successful load found: per database (data, expires), and what Redis logs."""

    def __init__(self, databases: int):
        self.data = [{} for _ in range(databases)]
        self.expires = [{} for _ in range(databases)]
        self.access = [{} for _ in range(databases)]  # key -> ms last used, when the file says
        self.aux: dict[bytes, bytes] = {}
        self.keys_loaded = 0
        self.keys_expired = 0
        self.empty_skipped = 0
        self.end_offset = 0  # just past the checksum: an old-style AOF's commands follow
        self.checksum_disabled = False  # saved with rdbchecksum no (its checksum is zero)


def parse_rdb(data: bytes, config=None, now_ms: int | None = None,
              aof_preamble: bool = False) -> Loaded:
    """The contents of an RDB file, read by rdb_scan.RDBScanner under the server's rules: no
    database beyond `databases`, keys already expired at now_ms left out (by a master; not by
    a replica, nor from an AOF's base or preamble, whose keys expire once loaded),
    empty collections skipped, a key twice in a database refused, and the checksum verified
    only when rdbchecksum is on; values checked deeply only under sanitize-dump-payload yes
    (a file is never a client's RESTORE). Under an LRU maxmemory-policy a key's recorded idle time is
    kept (its last use set that far back), as Redis restores it."""
    from reference.persistence.rdb_scan import RDBScanner, SelectDB

    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    settings = settings_of(config)
    databases = settings["databases"]
    loaded = Loaded(databases)
    all_data, all_expires, all_access = loaded.data, loaded.expires, loaded.access
    keeps_idle = "lru" in settings["maxmemory-policy"]
    # Only a master leaves out keys past their time: a replica keeps them until its master's
    # DEL comes (Redis's iAmMaster()), whether it loads its master's copy or its own file.
    drops_expired = not aof_preamble and not settings["replicaof"]

    def store(db: int, key: bytes, rdb_type: int, value, when: int | None, offset: int,
              idle_s: int | None) -> tuple:
        """The scanner's key sink: the key kept, or counted as left out (no item yielded)."""
        if value is None:
            loaded.empty_skipped += 1
            return ()
        if when is not None and when < now_ms and drops_expired:
            loaded.keys_expired += 1
            return ()
        data_of_db = all_data[db]
        if key in data_of_db:
            raise RDBLoadError("Duplicated key", [
                ("warning", f"RDB has duplicated key '{key.decode('latin-1')}' in DB {db}"),
                ("warning", "Guru Meditation: Duplicated key found in RDB file")])
        data_of_db[key] = value
        if when is not None:
            all_expires[db][key] = when
        if keeps_idle and idle_s is not None:
            all_access[db][key] = now_ms - idle_s * 1000
        return ()

    scanner = RDBScanner(data, store, config, now_ms,
                         verify_checksum=settings["rdbchecksum"] and not skip_checksum_validation,
                         deep=settings["sanitize-dump-payload"] == "yes")  # (sanitize.deep_validation)
    with R.cyclic_gc_paused():
        for item in scanner:  # SELECTDB and AUX: the keys went to store
            if type(item) is SelectDB:
                if item.db >= databases:
                    raise RDBLoadError("Too many databases", [
                        ("warning", f"FATAL: Data file was created with a Redis server configured to "
                                    f"handle more than {databases} databases. Exiting\n")])
            else:
                loaded.aux[item.name] = item.value
    loaded.keys_loaded = sum(map(len, all_data))  # every key stored, and only those
    loaded.end_offset = scanner.end_offset
    loaded.checksum_disabled = scanner.checksum == "disabled"
    return loaded


def install(keyspace, loaded: Loaded) -> None:
    """Replace the keyspace's contents with what was loaded."""
    keyspace.last_load = (loaded.keys_loaded, loaded.keys_expired)
    for db, data, expires, access in zip(keyspace.dbs, loaded.data, loaded.expires, loaded.access):
        db.flush()
        db.data = data
        db.expires = expires
        db.access = access


def load_rdb(keyspace, path: str, config=None, log=None) -> Loaded:
    """Load the RDB file at path into keyspace (all or nothing), logging as Redis does through
    log(message, level). Raises FileNotFoundError if there is none, RDBLoadError if it is bad
    (the keyspace is then untouched)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except IsADirectoryError:
        raise Truncated() from None  # Redis opens it, and its first read comes back short
    return load_rdb_data(keyspace, data, config, log)


def load_rdb_data(keyspace, data, config=None, log=None, aof_preamble: bool = False) -> Loaded:
    """load_rdb of a file's bytes; aof_preamble: the image is an AOF's base or preamble."""
    log = log or (lambda message, level="notice": None)
    loaded = parse_rdb(data, config, aof_preamble=aof_preamble)
    version = loaded.aux.get(b"redis-ver")
    if version is not None:
        log(f"Loading RDB produced by version {version.decode('latin-1')}")
    if b"ctime" in loaded.aux:
        log(f"RDB age {max(0, int(time.time()) - atoi(loaded.aux[b'ctime']))} seconds")
    if b"used-mem" in loaded.aux:
        log(f"RDB memory usage when created {atoi(loaded.aux[b'used-mem']) / 1024 / 1024:.2f} Mb")
    if loaded.checksum_disabled:
        log("RDB file was saved with checksum disabled: no check performed.", "warning")
    install(keyspace, loaded)
    if loaded.empty_skipped:
        log(f"Done loading RDB, keys loaded: {loaded.keys_loaded}, keys expired: {loaded.keys_expired}, "
            f"empty keys skipped: {loaded.empty_skipped}.", "warning")
    else:
        log(f"Done loading RDB, keys loaded: {loaded.keys_loaded}, keys expired: {loaded.keys_expired}.")
    return loaded


def load_at_startup(server) -> None:
    """Before serving: load `dbfilename` in `dir` if there is one, as Redis's
    loadDataFromDisk; a bad file is logged and the process exits with status 1."""
    import os
    config = server.config
    path = os.path.join(config["dir"], config["dbfilename"])
    started = time.monotonic()
    try:
        with R.cyclic_gc_paused(freeze=True):
            load_rdb(server.keyspace, path, config, log.write)
    except FileNotFoundError:
        return
    except RDBLoadError as error:
        for level, line in error.log_lines:
            log.write(line, level)
        if isinstance(error, Corrupt) and error.rechecked_alike:
            log.warning(TERMINATING)
        if not error.aborts:
            log.warning("Fatal error loading the DB: Invalid argument. Exiting.")
        raise SystemExit(1)
    except OSError as error:
        log.warning(f"Fatal error loading the DB: {error.strerror}. Exiting.")
        raise SystemExit(1)
    log.notice(f"DB loaded from disk: {time.monotonic() - started:.3f} seconds")
