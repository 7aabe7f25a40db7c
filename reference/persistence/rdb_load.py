"""Reading RDB files (versions 1 to 10) and DUMP payloads, as Redis 7.0 loads them.

Every type and encoding Redis 7.0 writes or still loads is understood (see the TYPE_ constants
of rdb.py): plain lists, sets, hashes and sorted sets (scores as text or as binary doubles);
ziplists, zipmaps and intsets of older versions; listpacks and the quicklists of listpacks of
7.0. Strings may be integer-encoded or LZF-compressed. Streams and module values are not: the
reference has neither (a file holding one is refused; the tools still read them).

This module reads values (`read_value`, shared with DUMP payloads and the tools); the walk over
a file's opcodes (AUX, SELECTDB, RESIZEDB, EXPIRETIME/_MS, IDLE, FREQ, FUNCTION2, MODULE_AUX,
keys) is rdb_scan.RDBScanner's, which `parse_rdb` drives with the server's rules.

A value gets the encoding flag Redis would give it on load (the config's thresholds: a hash read
as a listpack stays one unless it has too many fields, and so on; see `read_value`).

Loading is all or nothing: the file is parsed into new databases first and only a file read to
its end, with a good checksum, replaces the keyspace. A failure raises `RDBLoadError` whose
`log_lines` are what Redis logs before it exits with status 1.
"""
from __future__ import annotations

import math
import struct
import time

from sortedcontainers import SortedList

from reference.persistence import intset, listpack, lzf, ziplist
from reference.persistence import rdb as R
from reference.persistence.crc64 import crc64

DEFAULTS = {"hash-max-listpack-entries": 512, "hash-max-listpack-value": 64,
            "set-max-intset-entries": 512, "zset-max-listpack-entries": 128,
            "zset-max-listpack-value": 64, "rdbchecksum": True, "databases": 16}


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
    def __init__(self, reason: str, extra: list[tuple[str, str]] = ()):
        super().__init__(reason, [*extra, ("warning", f"Internal error in RDB reading offset 0, "
                                                      f"function at rdb.c:0 -> {reason}")])


def _setting(config, name):
    if config is None:
        return DEFAULTS[name]
    return config[name]


def settings_of(config) -> dict:
    """The settings loading reads (DEFAULTS' names) from a config, as a plain dict: read once
    per file rather than once per value."""
    return {name: _setting(config, name) for name in DEFAULTS}


class Reader:
    """A cursor over the bytes of a file or payload."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0

    def read(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        if len(chunk) != n:
            raise Truncated()
        self.pos += n
        return chunk

    def byte(self) -> int:
        try:
            value = self.data[self.pos]
        except IndexError:
            raise Truncated() from None
        self.pos += 1
        return value

    def length_or_encoding(self) -> tuple[int, bool]:
        """(length, False) or (string encoding number, True)."""
        first = self.byte()
        kind = first >> 6
        if kind == 0:
            return first & 0x3F, False
        if kind == 1:
            return ((first & 0x3F) << 8) | self.byte(), False
        if kind == 3:
            return first & 0x3F, True
        if first == 0x80:
            return struct.unpack(">I", self.read(4))[0], False
        if first == 0x81:
            return struct.unpack(">Q", self.read(8))[0], False
        raise Corrupt(f"Unknown length encoding {kind} in rdbLoadLen()")

    def length(self) -> int:
        """A length where only a length can be: an encoding byte (11xxxxxx) then reads as its
        six bits, as Redis's rdbLoadLen reads it."""
        return self.length_or_encoding()[0]

    def string(self) -> bytes:
        n, encoded = self.length_or_encoding()
        if not encoded:
            return self.read(n)
        if n == 0:
            return b"%d" % struct.unpack("<b", self.read(1))[0]
        if n == 1:
            return b"%d" % struct.unpack("<h", self.read(2))[0]
        if n == 2:
            return b"%d" % struct.unpack("<i", self.read(4))[0]
        if n == 3:
            packed_length, length = self.length(), self.length()
            packed = self.read(packed_length)
            if length == 0:
                raise Corrupt("Invalid LZF compressed string")
            try:
                return lzf.decompress(packed, length)
            except lzf.LZFError:
                raise Corrupt("Invalid LZF compressed string") from None
        raise Corrupt(f"Unknown RDB string encoding type {n}")

    def binary_double(self) -> float:
        return struct.unpack("<d", self.read(8))[0]

    def text_double(self) -> float:
        """A score of the old ZSET type: length byte (253 nan, 254 inf, 255 -inf) and text."""
        n = self.byte()
        special = {253: math.nan, 254: math.inf, 255: -math.inf}
        if n in special:
            return special[n]
        try:
            return float(self.read(n))
        except ValueError:
            raise Corrupt("Bad score in a ZSET value") from None


# --- values ------------------------------------------------------------------------------

def _pairs(items: list[bytes], what: str) -> list[tuple[bytes, bytes]]:
    if len(items) % 2:
        raise Corrupt(f"{what} integrity check failed.")
    return list(zip(items[0::2], items[1::2]))


def _hash(pairs, hashtable: bool, duplicate_error: str):
    from reference.commands.hashes import HashValue
    value = HashValue(pairs)
    if len(value) != len(pairs):
        raise Corrupt(duplicate_error)
    value.hashtable = hashtable
    return value


def _zset(pairs, skiplist: bool, duplicate_error: str):
    from reference.zset import ZSet
    value = ZSet()
    for member, score in pairs:
        if math.isnan(score):
            raise Corrupt("Zset with NAN score detected")
        dict.__setitem__(value, member, score)
    if len(value) != len(pairs):
        raise Corrupt(duplicate_error)
    value.order = SortedList((score, member) for member, score in value.items())
    value.skiplist = skiplist
    return value


def _listpack_score(text: bytes) -> float:
    try:
        return float(text)
    except ValueError:
        raise Corrupt("Zset listpack integrity check failed.") from None


def _decode(codec, blob: bytes, error: str) -> list[bytes]:
    try:
        return codec(blob)
    except ValueError:
        raise Corrupt(error) from None


def read_value(reader: Reader, kind: int, config=None):
    """The value of RDB type `kind`, with the encoding flag Redis would give it; None for an
    empty collection (Redis skips those when loading a file)."""
    if kind == R.TYPE_STRING:  # the commonest: first, before the collections' settings
        return reader.string()
    from reference.commands.lists import ListValue
    from reference.commands.sets import SetValue

    hash_entries = _setting(config, "hash-max-listpack-entries")
    hash_value = _setting(config, "hash-max-listpack-value")
    zset_entries = _setting(config, "zset-max-listpack-entries")
    zset_value = _setting(config, "zset-max-listpack-value")
    max_intset = _setting(config, "set-max-intset-entries")

    if kind == R.TYPE_LIST:
        n = reader.length()
        return ListValue(reader.string() for _ in range(n)) or None
    if kind == R.TYPE_SET:
        n = reader.length()
        members = [reader.string() for _ in range(n)]
        value = SetValue(members, intset=False)
        if len(value) != n:
            raise Corrupt("Duplicate set members detected")
        from reference.values import is_int
        value.intset = n <= min(max_intset, 1 << 30) and all(is_int(m) for m in members)
        return value or None
    if kind in (R.TYPE_ZSET, R.TYPE_ZSET_2):
        n = reader.length()
        pairs = []
        for _ in range(n):
            member = reader.string()
            pairs.append((member, reader.binary_double() if kind == R.TYPE_ZSET_2 else reader.text_double()))
        longest = max((len(m) for m, _ in pairs), default=0)
        value = _zset(pairs, n > zset_entries or longest > zset_value, "Duplicate zset fields detected")
        return value or None
    if kind == R.TYPE_HASH:
        n = reader.length()
        pairs = [(reader.string(), reader.string()) for _ in range(n)]
        longest = max((max(len(f), len(v)) for f, v in pairs), default=0)
        value = _hash(pairs, n > hash_entries or longest > hash_value, "Duplicate hash fields detected")
        return value or None
    if kind in (R.TYPE_LIST_QUICKLIST, R.TYPE_LIST_QUICKLIST_2):
        nodes = reader.length()
        value = ListValue()
        for _ in range(nodes):
            container = R.QUICKLIST_NODE_PACKED
            if kind == R.TYPE_LIST_QUICKLIST_2:
                container = reader.length()
                if container not in (R.QUICKLIST_NODE_PLAIN, R.QUICKLIST_NODE_PACKED):
                    raise Corrupt("Quicklist integrity check failed.")
            blob = reader.string()
            if container == R.QUICKLIST_NODE_PLAIN:
                value.append(blob)
            elif kind == R.TYPE_LIST_QUICKLIST:
                value.extend(_decode(ziplist.decode_ziplist, blob, "Ziplist integrity check failed."))
            else:
                value.extend(_decode(listpack.decode, blob, "Listpack integrity check failed."))
        return value or None
    blob = None
    if kind in (R.TYPE_HASH_ZIPMAP, R.TYPE_LIST_ZIPLIST, R.TYPE_SET_INTSET, R.TYPE_ZSET_ZIPLIST,
                R.TYPE_HASH_ZIPLIST, R.TYPE_ZSET_LISTPACK, R.TYPE_HASH_LISTPACK):
        blob = reader.string()
    if kind == R.TYPE_HASH_ZIPMAP:
        pairs = _pairs(_decode(ziplist.decode_zipmap, blob, "Zipmap integrity check failed."), "Zipmap")
        longest = max((max(len(f), len(v)) for f, v in pairs), default=0)
        value = _hash(pairs, len(pairs) > hash_entries or longest > hash_value,
                      "Hash zipmap with dup elements, or big length (0)")
        return value or None
    if kind == R.TYPE_LIST_ZIPLIST:
        return ListValue(_decode(ziplist.decode_ziplist, blob, "List ziplist integrity check failed.")) or None
    if kind == R.TYPE_SET_INTSET:
        members = _decode(intset.decode, blob, "Intset integrity check failed.")
        if not members:
            raise Corrupt("Intset integrity check failed.")
        return SetValue(members, intset=len(members) <= max_intset)
    if kind in (R.TYPE_ZSET_ZIPLIST, R.TYPE_ZSET_LISTPACK):
        name = "Zset ziplist" if kind == R.TYPE_ZSET_ZIPLIST else "Zset listpack"
        codec = ziplist.decode_ziplist if kind == R.TYPE_ZSET_ZIPLIST else listpack.decode
        items = _decode(codec, blob, f"{name} integrity check failed.")
        pairs = [(m, _listpack_score(s)) for m, s in _pairs(items, name)]
        return _zset(pairs, len(pairs) > zset_entries, f"{name} integrity check failed.") or None
    if kind in (R.TYPE_HASH_ZIPLIST, R.TYPE_HASH_LISTPACK):
        name = "Hash ziplist" if kind == R.TYPE_HASH_ZIPLIST else "Hash listpack"
        codec = ziplist.decode_ziplist if kind == R.TYPE_HASH_ZIPLIST else listpack.decode
        pairs = _pairs(_decode(codec, blob, f"{name} integrity check failed."), name)
        return _hash(pairs, len(pairs) > hash_entries, f"{name} integrity check failed.") or None
    raise Corrupt(f"Unknown RDB encoding type {kind}")


# --- DUMP payloads -------------------------------------------------------------------------

def payload_ok(payload: bytes, check_crc: bool = True) -> bool:
    """verifyDumpPayload: a trailer of RDB version (at most ours) and CRC-64."""
    if len(payload) < 10:
        return False
    version = struct.unpack_from("<H", payload, len(payload) - 10)[0]
    if version > R.RDB_VERSION:
        return False
    if not check_crc:
        return True
    return struct.unpack_from("<Q", payload, len(payload) - 8)[0] == crc64(payload[:-8])


def load_payload(payload: bytes, config=None):
    """The value in a DUMP payload (whose trailer payload_ok has checked); RDBLoadError if
    the body is malformed, empty, or has bytes left over."""
    reader = Reader(payload[:-10])
    kind = reader.byte()
    value = read_value(reader, kind, config)
    if value is None or reader.pos != len(reader.data):
        raise Corrupt("Bad data format")
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


def parse_rdb(data: bytes, config=None, now_ms: int | None = None,
              aof_preamble: bool = False) -> Loaded:
    """The contents of an RDB file, read by rdb_scan.RDBScanner under the server's rules: no
    database beyond `databases`, keys already expired at now_ms left out (as a master loading
    its own file does; not from an AOF's base or preamble, whose keys expire once loaded),
    empty collections skipped, a key twice in a database refused, and the checksum verified
    only when rdbchecksum is on. Under an LRU maxmemory-policy a key's recorded idle time is
    kept (its last use set that far back), as Redis restores it."""
    from reference.persistence.rdb_scan import Aux, KeyEntry, RDBScanner, SelectDB

    if now_ms is None:
        now_ms = int(time.time() * 1000)
    databases = _setting(config, "databases")
    loaded = Loaded(databases)
    keeps_idle = "lru" in R.maxmemory_policy(config)
    scanner = RDBScanner(data, config, now_ms, verify_checksum=_setting(config, "rdbchecksum"))
    for item in scanner:
        if type(item) is KeyEntry:
            if item.value is None:
                loaded.empty_skipped += 1
                continue
            when = item.expire_at_ms
            if when is not None and when < now_ms and not aof_preamble:
                loaded.keys_expired += 1
                continue
            data_of_db = loaded.data[item.db]
            if item.key in data_of_db:
                raise RDBLoadError("Duplicated key", [
                    ("warning", f"RDB has duplicated key '{item.key.decode('latin-1')}' in DB {item.db}"),
                    ("warning", "Guru Meditation: Duplicated key found in RDB file")])
            data_of_db[item.key] = item.value
            if when is not None:
                loaded.expires[item.db][item.key] = when
            if keeps_idle and item.idle_s is not None:
                loaded.access[item.db][item.key] = now_ms - item.idle_s * 1000
            loaded.keys_loaded += 1
        elif type(item) is SelectDB:
            if item.db >= databases:
                raise RDBLoadError("Too many databases", [
                    ("warning", f"FATAL: Data file was created with a Redis server configured to "
                                f"handle more than {databases} databases. Exiting\n")])
        elif type(item) is Aux:
            loaded.aux[item.name] = item.value
    loaded.end_offset = scanner.end_offset
    return loaded


def install(keyspace, loaded: Loaded) -> None:
    """Replace the keyspace's contents with what was loaded."""
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
        try:
            log(f"RDB age {max(0, int(time.time()) - int(loaded.aux[b'ctime']))} seconds")
        except ValueError:
            pass
    if b"used-mem" in loaded.aux:
        try:
            log(f"RDB memory usage when created {int(loaded.aux[b'used-mem']) / 1024 / 1024:.2f} Mb")
        except ValueError:
            pass
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
        load_rdb(server.keyspace, path, config, server.log)
    except FileNotFoundError:
        return
    except RDBLoadError as error:
        for level, line in error.log_lines:
            server.log(line, level)
        if not error.aborts:
            server.log("Fatal error loading the DB: Invalid argument. Exiting.", "warning")
        raise SystemExit(1)
    except OSError as error:
        server.log(f"Fatal error loading the DB: {error.strerror}. Exiting.", "warning")
        raise SystemExit(1)
    server.log(f"DB loaded from disk: {time.monotonic() - started:.3f} seconds")
