"""Tools for users' data files: inspect, verify and convert RDB files.

`python -m reference.tools` is the command line (see __main__.py); this module is what it runs:

- `RDBScanner` walks an RDB file item by item (AUX fields, SELECTDB, keys), keeping the
  counters redis-check-rdb reports and the running CRC-64, so that a file of any size is checked
  or dumped without building a keyspace. Values are decoded by the server's own reader
  (`reference.persistence.rdb_load.read_value`), so the tools judge a file exactly as loading
  it would; a failure is an `RDBFileError` that says where (byte offset), while doing what, and
  on which key.
- `json_record` turns one key into a JSON-friendly dict (see its docstring for the shapes).
- `convert_rdb` reads a file into a keyspace and writes it again with the server's writer.
- `Progress` reports how far through a large file we are, to stderr.

AOF files are not handled yet; an AOF subcommand would add its own scanner beside RDBScanner.
"""
from __future__ import annotations

import base64
import math
import mmap
import os
import re
import struct
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

# The value types register with the keyspace (TYPE, OBJECT ENCODING, the RDB writer's type
# lookup) where their commands are defined; the reader imports the others itself.
import reference.commands.sorted_sets
import reference.commands.strings  # noqa: F401
from reference.config import Config
from reference.persistence import rdb as R
from reference.persistence.crc64 import crc64
from reference.persistence.rdb_load import RDBLoadError, Reader, read_value

# The object types of RDB version 10 as redis-check-rdb names them; the value is what TYPE says.
RDB_TYPES = {
    R.TYPE_STRING: ("string", "string"), R.TYPE_LIST: ("list-linked", "list"),
    R.TYPE_SET: ("set-hashtable", "set"), R.TYPE_ZSET: ("zset-v1", "zset"),
    R.TYPE_HASH: ("hash-hashtable", "hash"), R.TYPE_ZSET_2: ("zset-v2", "zset"),
    6: ("module-value", "module"), 7: ("module-value", "module"),
    R.TYPE_HASH_ZIPMAP: ("hash-zipmap", "hash"), R.TYPE_LIST_ZIPLIST: ("list-ziplist", "list"),
    R.TYPE_SET_INTSET: ("set-intset", "set"), R.TYPE_ZSET_ZIPLIST: ("zset-ziplist", "zset"),
    R.TYPE_HASH_ZIPLIST: ("hash-ziplist", "hash"), R.TYPE_LIST_QUICKLIST: ("quicklist", "list"),
    15: ("stream", "stream"), R.TYPE_HASH_LISTPACK: ("hash-listpack", "hash"),
    R.TYPE_ZSET_LISTPACK: ("zset-listpack", "zset"), R.TYPE_LIST_QUICKLIST_2: ("quicklist-v2", "list"),
    19: ("stream", "stream"),
}
UNSUPPORTED_TYPES = {6, 7, 15, 19}  # modules and streams: the reference has neither


class RDBFileError(Exception):
    """The file cannot be read: `reason` at byte `offset`, while `doing` (redis-check-rdb's
    names: read-type, read-expire, read-len, read-aux, read-key, read-object-value, ...)."""

    def __init__(self, reason: str, offset: int, doing: str, key: bytes | None = None,
                 rdb_type: int | None = None):
        super().__init__(reason)
        self.reason, self.offset, self.doing = reason, offset, doing
        self.key, self.rdb_type = key, rdb_type

    def __str__(self) -> str:
        text = f"offset {self.offset}: {self.reason} (while doing {self.doing}"
        if self.key is not None:
            text += f", key {printable(self.key)!r}"
        if self.rdb_type is not None:
            text += f", type {self.rdb_type} ({type_label(self.rdb_type)})"
        return text + ")"


def printable(raw: bytes) -> str:
    return raw.decode("utf-8", "backslashreplace")


def type_label(rdb_type: int) -> str:
    return RDB_TYPES.get(rdb_type, ("unknown",))[0]


@dataclass
class Aux:
    name: bytes
    value: bytes
    offset: int  # just past the field, as redis-check-rdb reports it


@dataclass
class SelectDB:
    db: int
    offset: int


@dataclass
class KeyEntry:
    db: int
    key: bytes
    rdb_type: int
    value: object        # as the server holds it; None for an empty collection
    expire_at_ms: int | None
    offset: int          # where the entry (its expiry, if any) starts


@contextmanager
def mapped(path: str):
    """The file's bytes, memory-mapped so that a large file is not read into memory at once."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:  # mmap refuses empty files
            yield b""
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


class RDBScanner:
    """Iterate over an RDB file's items (Aux, SelectDB, KeyEntry) in file order.

    An empty collection is an error unless allow_empty (then its KeyEntry has value None).
    Values get the encoding a server with `config` (default: the default configuration) would
    give them on loading. Afterwards (or after an RDBFileError) the counters hold what redis-check-rdb reports:
    keys_read (counted once the key name is read), expires, already_expired (expiry before
    now_ms); version; checksum: "ok", "disabled" (stored as zero) or None (versions < 5 have
    none); trailing: bytes after the checksum, which Redis ignores."""

    def __init__(self, data, now_ms: int | None = None, progress=None, config=None,
                 allow_empty: bool = False):
        self.data = data
        self.allow_empty = allow_empty
        self.now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.progress = progress
        # Encoding thresholds (hash-max-listpack-entries, ...): a default-configured server's.
        self.config = config if config is not None else Config.from_argv([])
        self.version = 0
        self.keys_read = self.expires = self.already_expired = 0
        self.checksum: str | None = None
        self.trailing = 0
        self.end_offset = 0

    def __iter__(self):
        reader = Reader(self.data)
        self._reader = reader
        self._doing, self._key, self._type = "start", None, None
        try:
            yield from self._items(reader)
        except RDBLoadError as error:  # the server's reader: truncation, bad encodings, ...
            raise self._error(str(error)) from None
        except (ValueError, IndexError, OverflowError, MemoryError, struct.error) as error:
            # A decoder tripped over data too damaged for its own checks; still the file's fault.
            raise self._error(f"Malformed data ({type(error).__name__}: {error})") from None

    def _error(self, reason: str) -> RDBFileError:
        return RDBFileError(reason, self._reader.pos, self._doing, self._key, self._type)

    def _items(self, reader: Reader):
        data = self.data
        if len(data) < 9:
            raise self._error("Unexpected EOF reading RDB file")
        reader.pos = 9
        if data[:5] != b"REDIS":
            raise self._error("Wrong signature trying to load DB from file")
        # The version is read as C's atoi reads it: the leading digits, 0 if there are none.
        digits = re.match(rb"[0-9]*", bytes(data[5:9])).group()
        self.version = int(digits) if digits else 0
        if not 1 <= self.version <= R.RDB_VERSION:
            raise self._error(f"Can't handle RDB format version {self.version}")
        crc, crc_done = 0, 0
        db, expire_at, entry_start = 0, None, None
        while True:
            # The checksum covers everything before it: fold in what the last item read.
            crc, crc_done = crc64(data[crc_done:reader.pos], crc), reader.pos
            if self.progress is not None:
                self.progress.update(reader.pos)
            self._doing = "read-type"
            if entry_start is None:
                entry_start = reader.pos
            kind = reader.byte()
            if kind in (R.OPCODE_EXPIRETIME, R.OPCODE_EXPIRETIME_MS):
                self._doing = "read-expire"
                if kind == R.OPCODE_EXPIRETIME:
                    expire_at = struct.unpack("<i", reader.read(4))[0] * 1000
                else:
                    expire_at = struct.unpack("<q", reader.read(8))[0]
                continue
            if kind == R.OPCODE_FREQ:
                reader.read(1)
                continue
            if kind == R.OPCODE_IDLE:
                reader.length()
                continue
            if kind == R.OPCODE_EOF:
                break
            if kind == R.OPCODE_SELECTDB:
                self._doing = "read-len"
                db = reader.length()
                yield SelectDB(db, reader.pos)
                entry_start = None
                continue
            if kind == R.OPCODE_RESIZEDB:
                self._doing = "read-len"
                reader.length()
                reader.length()
                entry_start = None
                continue
            if kind == R.OPCODE_AUX:
                self._doing = "read-aux"
                name = reader.string()
                yield Aux(name, reader.string(), reader.pos)
                entry_start = None
                continue
            if kind == R.OPCODE_FUNCTION2:
                self._doing = "read-functions"
                reader.string()  # a function library's code: nothing here needs it
                entry_start = None
                continue
            if kind == R.OPCODE_MODULE_AUX:
                self._doing = "read-module-aux"
                raise self._error("Module data is not supported by the reference")
            if kind not in RDB_TYPES:
                raise self._error(f"Invalid object type: {kind}")
            self._type = kind
            self._doing = "read-key"
            self._key = reader.string()
            self.keys_read += 1
            self._doing = "read-object-value"
            if kind in UNSUPPORTED_TYPES:
                raise self._error(f"{type_label(kind)} values are not supported by the reference")
            value = read_value(reader, kind, self.config)
            if value is None and not self.allow_empty:
                # Loading skips an empty collection; redis-check-rdb (deep sanitization) rejects it.
                raise self._error("Empty key: a collection without elements")
            if expire_at is not None:
                self.expires += 1
                if expire_at < self.now_ms:
                    self.already_expired += 1
            yield KeyEntry(db, self._key, kind, value, expire_at, entry_start)
            self._key = self._type = expire_at = entry_start = None
        self._doing = "check-sum"
        if self.version >= 5:
            body_crc = crc64(data[crc_done:reader.pos], crc)
            stored = struct.unpack("<Q", reader.read(8))[0]
            if stored == 0:
                self.checksum = "disabled"
            elif stored != body_crc:
                raise self._error(f"RDB CRC error (expected {body_crc:x}, file has {stored:x})")
            else:
                self.checksum = "ok"
        self.end_offset = reader.pos
        self.trailing = len(data) - reader.pos
        if self.progress is not None:
            self.progress.update(reader.pos, final=True)


# --- JSON ------------------------------------------------------------------------------------

def json_bytes(raw: bytes):
    """A string as JSON: itself when it is valid UTF-8, else {"base64": "..."}."""
    try:
        return bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(raw).decode("ascii")}


def bytes_from_json(item) -> bytes:
    """The inverse of json_bytes."""
    if isinstance(item, dict):
        return base64.b64decode(item["base64"])
    return item.encode("utf-8")


def json_score(score: float):
    """A score as JSON, which has no infinities: a number, or the string "inf" / "-inf"."""
    if math.isinf(score):
        return "inf" if score > 0 else "-inf"
    return score


def json_record(entry: KeyEntry) -> dict:
    """One key as a JSON-friendly dict:
    {"db", "key", "type", "encoding", "rdb_type", "expire_at_ms", "value"}.
    type: what TYPE says; encoding: what OBJECT ENCODING would say once loaded (null for an
    empty collection, which Redis skips on load); rdb_type: the file's own encoding; expire_at_ms:
    absolute unix ms or null. value: a string; a list's elements; a set's members (an intset's
    ascending); a hash's [field, value] pairs; a sorted set's [member, score] pairs by score.
    Every string is json_bytes: text, or {"base64": ...} when not UTF-8."""
    from reference.keyspace import VALUE_TYPES

    rdb_name, type_name = RDB_TYPES[entry.rdb_type]
    value = entry.value
    if value is None:
        shaped, encoding = [], None
    else:
        encoding = VALUE_TYPES[type(value)].encoding(value, None)
        if type_name == "string":
            shaped = json_bytes(value)
        elif type_name == "list":
            shaped = [json_bytes(item) for item in value]
        elif type_name == "set":
            shaped = [json_bytes(member) for member in value.ordered()]
        elif type_name == "hash":
            shaped = [[json_bytes(field), json_bytes(data)] for field, data in value.items()]
        else:
            shaped = [[json_bytes(member), json_score(score)] for score, member in value.order]
    return {"db": entry.db, "key": json_bytes(entry.key), "type": type_name, "encoding": encoding,
            "rdb_type": rdb_name, "expire_at_ms": entry.expire_at_ms, "value": shaped}


# --- converting ------------------------------------------------------------------------------

class DuplicateKey(Exception):
    pass


def read_keyspace(scanner: RDBScanner):
    """A Keyspace holding every non-empty key of the file, with as many databases as it uses
    (at least 16). Raises RDBFileError, or DuplicateKey when a key appears twice in a db."""
    from reference.keyspace import Keyspace

    databases: dict[int, tuple[dict, dict]] = {}
    for item in scanner:
        if not isinstance(item, KeyEntry) or item.value is None:
            continue
        data, expires = databases.setdefault(item.db, ({}, {}))
        if item.key in data:
            raise DuplicateKey(f"duplicated key {printable(item.key)!r} in DB {item.db}")
        data[item.key] = item.value
        if item.expire_at_ms is not None:
            expires[item.key] = item.expire_at_ms
    keyspace = Keyspace(max(16, max(databases, default=0) + 1))
    for index, (data, expires) in databases.items():
        keyspace[index].data, keyspace[index].expires = data, expires
    return keyspace


def convert_rdb(source: str, target: str, compress: bool = True, checksum: bool = True,
                progress=None) -> tuple[RDBScanner, int]:
    """Read the RDB at source and write it to target with the reference's writer (keys already
    expired are left out, as Redis leaves them out of a save). Returns the scanner (its
    counters) and the number of keys written."""
    from reference.persistence.rdb import save_rdb

    with mapped(source) as data:
        scanner = RDBScanner(data, progress=progress, allow_empty=True)
        keyspace = read_keyspace(scanner)
    directory, filename = os.path.split(os.path.abspath(target))
    config = {"rdbcompression": compress, "list-max-listpack-size": -2}
    save_rdb(keyspace, directory, filename, checksum=checksum, config=config)
    return scanner, keyspace.total_keys()


# --- progress --------------------------------------------------------------------------------

class Progress:
    """"NN% (X.X MB read)" lines to a stream, at most `per_second` a second. The first line comes
    after one interval, so a small file prints nothing; one that printed ends with its 100%."""

    def __init__(self, total: int, stream=sys.stderr, per_second: float = 2.0, clock=time.monotonic):
        self.total = total
        self.stream = stream
        self.interval = 1.0 / per_second
        self.clock = clock
        self.last_report = clock()
        self.lines = 0

    def update(self, position: int, final: bool = False) -> None:
        now = self.clock()
        if now - self.last_report < self.interval and not (final and self.lines):
            return
        self.last_report = now
        self.lines += 1
        percent = 100 * position // self.total if self.total else 100
        self.stream.write(f"{percent}% ({position / 1e6:.1f} MB read)\n")
        self.stream.flush()
