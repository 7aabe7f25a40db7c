"""Tools for users' data files: inspect, verify and convert RDB files.

`python -m reference.tools` is the command line (see __main__.py); this module is what it runs:

- `RDBScanner` walks an RDB file item by item (AUX fields, SELECTDB, keys). It is the server's
  own scanner (`reference.persistence.rdb_scan`, the one opcode loop behind loading a file) in
  check mode: it keeps the counters redis-check-rdb reports and a running CRC-64, so that a file
  of any size is checked or dumped without building a keyspace; values are decoded by the
  server's own reader, so the tools judge a file exactly as loading it would, and also decode
  streams (`reference.tools.streams`) and walk module data, which the server refuses. A
  failure is an `RDBFileError` that says where (byte offset), while doing what, and on which key.
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
from reference.persistence import rdb_scan
from reference.persistence.crc64 import crc64
from reference.persistence.rdb_load import Corrupt, RDBLoadError, Reader
from reference.persistence.rdb_scan import (  # noqa: F401 (the tools' names for them)
    STREAM_TYPES,
    TYPE_MODULE,
    TYPE_MODULE_2,
    TYPE_STREAM_LISTPACKS,
    TYPE_STREAM_LISTPACKS_2,
    Aux,
    SelectDB,
    module_type_name,
)
from reference.tools.streams import UNKNOWN_ENTRIES_READ, StreamValue, id_text, read_stream

# The object types of RDB version 10: (name in `dump`'s rdb_type, what TYPE says).
RDB_TYPES = {
    R.TYPE_STRING: ("string", "string"), R.TYPE_LIST: ("list-linked", "list"),
    R.TYPE_SET: ("set-hashtable", "set"), R.TYPE_ZSET: ("zset-v1", "zset"),
    R.TYPE_HASH: ("hash-hashtable", "hash"), R.TYPE_ZSET_2: ("zset-v2", "zset"),
    TYPE_MODULE: ("module-value", "module"), TYPE_MODULE_2: ("module-value-v2", "module"),
    R.TYPE_HASH_ZIPMAP: ("hash-zipmap", "hash"), R.TYPE_LIST_ZIPLIST: ("list-ziplist", "list"),
    R.TYPE_SET_INTSET: ("set-intset", "set"), R.TYPE_ZSET_ZIPLIST: ("zset-ziplist", "zset"),
    R.TYPE_HASH_ZIPLIST: ("hash-ziplist", "hash"), R.TYPE_LIST_QUICKLIST: ("quicklist", "list"),
    TYPE_STREAM_LISTPACKS: ("stream", "stream"), R.TYPE_HASH_LISTPACK: ("hash-listpack", "hash"),
    R.TYPE_ZSET_LISTPACK: ("zset-listpack", "zset"), R.TYPE_LIST_QUICKLIST_2: ("quicklist-v2", "list"),
    TYPE_STREAM_LISTPACKS_2: ("stream-v2", "stream"),
}
# redis-check-rdb's own labels for a type in its error reports: its table has none for 7 and
# 8, and ends before 19.
CHECK_LABELS = {kind: name for kind, (name, _) in RDB_TYPES.items() if kind < 19}
CHECK_LABELS.update({TYPE_MODULE_2: "", 8: ""})


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
    return CHECK_LABELS.get(rdb_type, "unknown")


@contextmanager
def mapped(path: str):
    """The file's bytes, memory-mapped so that a large file is not read into memory at once."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:  # mmap refuses empty files
            yield b""
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


OBJECT_TYPES = frozenset([*range(8), *range(9, 20)])  # rdbIsObjectType of Redis 7.0

# The opcodes of a type-7 module value (and of MODULE_AUX data): each is a length, then its datum.
MODULE_OPCODE_EOF, MODULE_OPCODE_SINT, MODULE_OPCODE_UINT = 0, 1, 2
MODULE_OPCODE_FLOAT, MODULE_OPCODE_DOUBLE, MODULE_OPCODE_STRING = 3, 4, 5


@dataclass(slots=True)
class KeyEntry:
    """A key of the file, as the tools' scanner yields it."""
    db: int
    key: bytes
    rdb_type: int | None  # None for a key that was not read from an RDB file (an AOF's)
    value: object        # as the server holds it; None for an empty collection
    expire_at_ms: int | None
    offset: int | None   # where the entry (its expiry, if any) starts
    idle_s: int | None = None  # seconds unused, when the file records it (an LRU policy's IDLE)


def _key_entry(*fields) -> tuple[KeyEntry]:
    """The tools' key sink: each key is one KeyEntry item."""
    return (KeyEntry(*fields),)


@dataclass(slots=True)
class ModuleAux:
    """Module data outside any key."""
    module_type: str
    offset: int  # just past its module id and "when" fields, where redis-check-rdb reports it


@dataclass(slots=True)
class ModuleValue:
    """A type-7 module value, walked but not understood: who wrote it."""
    module_type: str     # the module type's 9-character name
    encoding_version: int


def walk_module_data(reader: Reader) -> None:
    """Read past module opcodes up to their EOF. An unknown opcode carries nothing and is passed
    over, as redis-check-rdb does."""
    while (opcode := reader.length()) != MODULE_OPCODE_EOF:
        if opcode in (MODULE_OPCODE_SINT, MODULE_OPCODE_UINT):
            reader.length()
        elif opcode == MODULE_OPCODE_STRING:
            reader.string()
        elif opcode == MODULE_OPCODE_FLOAT:
            reader.read(4)
        elif opcode == MODULE_OPCODE_DOUBLE:
            reader.read(8)


class RDBScanner(rdb_scan.RDBScanner):
    """The server's scanner (reference.persistence.rdb_scan) in check mode, as redis-check-rdb
    reads: the object type checked before its key, streams decoded, type-7 module values and
    MODULE_AUX data walked, the CRC-64 kept running item by item (a large memory-mapped file
    is never copied whole) and always verified. A failure is an RDBFileError saying where.

    An empty collection is an error unless allow_empty (then its KeyEntry has value None).
    Values get the encoding a server with `config` (default: the default configuration) would
    give them on loading. The counters (keys_read, expires, already_expired, version, checksum,
    end_offset, trailing) are the base class's."""

    def __init__(self, data, now_ms: int | None = None, progress=None, config=None,
                 allow_empty: bool = False):
        # Encoding thresholds (hash-max-listpack-entries, ...): a default-configured server's.
        super().__init__(data, _key_entry, config if config is not None else Config.from_argv([]),
                         now_ms, verify_checksum=True)
        self.progress = progress
        self.allow_empty = allow_empty
        self._crc, self._crc_done = 0, 0  # the running CRC covers data[:_crc_done]

    @property
    def position(self) -> int:
        """Bytes read so far: where a failure was met."""
        return self._reader.pos

    # --- the scanner's hooks ---

    def _body_crc(self, body_end: int) -> int:
        return crc64(self.data[self._crc_done:body_end], self._crc)

    def _check_type(self, kind: int) -> None:
        if kind not in OBJECT_TYPES:
            raise Corrupt(f"Invalid object type: {kind}")

    def _other_value(self, reader: Reader, kind: int, key: bytes, db: int):
        if kind in STREAM_TYPES:
            return read_stream(reader, kind)
        name, version = module_type_name(reader.length())
        if kind != TYPE_MODULE_2:
            raise Corrupt(f"The RDB file contains module data I can't load: no matching module type '{name}'")
        walk_module_data(reader)
        return ModuleValue(name, version)

    def _module_aux(self, reader: Reader) -> ModuleAux:
        name = module_type_name(reader.length())[0]
        when_opcode = reader.length()
        reader.length()  # when: before or after the keys
        if when_opcode != MODULE_OPCODE_UINT:
            raise Corrupt("bad when_opcode")
        item = ModuleAux(name, reader.pos)
        walk_module_data(reader)
        return item

    # --- iterating ---

    def __iter__(self):
        try:
            for item in super().__iter__():
                if type(item) is KeyEntry and item.value is None and not self.allow_empty:
                    # Loading skips an empty collection; redis-check-rdb (deep sanitization)
                    # rejects it.
                    self.doing, self.key, self.rdb_type = "read-object-value", item.key, item.rdb_type
                    raise RDBFileError("Empty key: a collection without elements", self.position,
                                       self.doing, self.key, self.rdb_type)
                self._running_crc()
                yield item
        except rdb_scan.ChecksumMismatch as error:
            raise self._error(f"RDB CRC error (expected {error.expected:x}, file has {error.stored:x})") from None
        except RDBLoadError as error:  # the reader's: truncation, bad encodings, ...
            raise self._error(str(error)) from None
        except (ValueError, IndexError, OverflowError, MemoryError, struct.error) as error:
            # A decoder tripped over data too damaged for its own checks; still the file's fault.
            raise self._error(f"Malformed data ({type(error).__name__}: {error})") from None
        if self.progress is not None:
            self.progress.update(self.position, final=True)

    def _running_crc(self) -> None:
        """The CRC carried on to the current position (and progress reported there)."""
        position = self.position
        self._crc, self._crc_done = crc64(self.data[self._crc_done:position], self._crc), position
        if self.progress is not None:
            self.progress.update(position)

    def _error(self, reason: str) -> RDBFileError:
        return RDBFileError(reason, self.position, self.doing, self.key, self.rdb_type)


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


def json_stream(stream: StreamValue) -> dict:
    """A stream as XRANGE and XINFO STREAM FULL describe it (IDs as "ms-seq", times in unix ms,
    groups and consumers by name, pending entries by ID)."""
    return {
        "length": stream.length,
        "entries": [{"id": id_text(entry_id), "fields": [[json_bytes(f), json_bytes(v)] for f, v in pairs]}
                    for entry_id, pairs in stream.entries],
        "last_id": id_text(stream.last_id),
        "first_id": id_text(stream.first_id),
        "max_deleted_entry_id": id_text(stream.max_deleted_entry_id),
        "entries_added": stream.entries_added,
        "groups": [{
            "name": json_bytes(group.name),
            "last_delivered_id": id_text(group.last_delivered_id),
            "entries_read": None if group.entries_read == UNKNOWN_ENTRIES_READ else group.entries_read,
            "pending": [{"id": id_text(entry.id), "consumer": json_bytes(entry.consumer),
                         "delivery_time_ms": entry.delivery_time_ms,
                         "delivery_count": entry.delivery_count}
                        for entry in group.pending.values()],
            "consumers": [{"name": json_bytes(consumer.name), "seen_time_ms": consumer.seen_time_ms,
                           "pending": [id_text(pending_id) for pending_id in consumer.pending]}
                          for consumer in group.consumers],
        } for group in stream.groups],
    }


def json_record(entry: KeyEntry) -> dict:
    """One key as a JSON-friendly dict:
    {"db", "key", "type", "encoding", "rdb_type", "expire_at_ms", "value"}.
    type: what TYPE says; encoding: what OBJECT ENCODING would say once loaded (null for an
    empty collection, which Redis skips on load); rdb_type: the file's own encoding (null for a
    key that was not read from an RDB file: KeyEntry.rdb_type None); expire_at_ms:
    absolute unix ms or null. value: a string; a list's elements; a set's members (an intset's
    ascending); a hash's [field, value] pairs; a sorted set's [member, score] pairs by score;
    a stream's json_stream dict; null for a module value, whose record also has "module_type"
    (the type's 9-character name) and "module_version" (its encoding version).
    Every string is json_bytes: text, or {"base64": ...} when not UTF-8."""
    from reference.keyspace import VALUE_TYPES

    value = entry.value
    if entry.rdb_type is None:  # a key not read from an RDB file (an AOF's, rebuilt)
        rdb_name, type_name = None, VALUE_TYPES[type(value)].name
    else:
        rdb_name, type_name = RDB_TYPES[entry.rdb_type]
    extra = {}
    if isinstance(value, StreamValue):
        shaped, encoding = json_stream(value), "stream"
    elif isinstance(value, ModuleValue):
        shaped, encoding = None, "raw"
        extra = {"module_type": value.module_type, "module_version": value.encoding_version}
    elif value is None:
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
            "rdb_type": rdb_name, "expire_at_ms": entry.expire_at_ms, "value": shaped, **extra}


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
        if isinstance(item.value, (StreamValue, ModuleValue)):
            raise RDBFileError(f"{RDB_TYPES[item.rdb_type][1]} values cannot be converted: the reference "
                               f"has no such type", item.offset, "convert", item.key, item.rdb_type)
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
    with mapped(source) as data:
        scanner = RDBScanner(data, progress=progress, allow_empty=True)
        keyspace = read_keyspace(scanner)
    return scanner, write_rdb(keyspace, target, compress, checksum)


def write_rdb(keyspace, target: str, compress: bool = True, checksum: bool = True) -> int:
    """Write keyspace to the RDB file `target` with the reference's writer (lists in nodes of
    Redis's default size); returns the number of keys written."""
    from reference.persistence.rdb import save_rdb

    directory, filename = os.path.split(os.path.abspath(target))
    config = {"rdbcompression": compress, "list-max-listpack-size": -2, "maxmemory-policy": "noeviction"}
    for db in keyspace.dbs:  # the tools leave out the keys already past their time
        for key in [key for key, when in db.expires.items() if when <= db.clock.ms]:
            del db.data[key], db.expires[key]
            db.access.pop(key, None)
    save_rdb(keyspace, directory, filename, checksum=checksum, config=config)
    return keyspace.total_keys()


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
