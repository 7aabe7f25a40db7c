"""Tools for users' data files: inspect, verify and convert RDB files.

`python -m reference.tools` is the command line (see __main__.py); this module is what it runs:

- `RDBScanner` walks an RDB file item by item (AUX fields, SELECTDB, keys). It is the server's
  own scanner (`reference.persistence.rdb_scan`, the one opcode loop behind loading a file) in
  check mode: it keeps the counters redis-check-rdb reports and a running CRC-64, so that a file
  of any size is checked or dumped without building a keyspace; values are decoded by the
  server's own reader, so the tools judge a file exactly as loading it would, and also decode
  streams (`reference.persistence.streams`) and walk type-7 module values, which the server
  refuses. A failure is an `RDBFileError` that says where (byte offset), while doing what, and
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
import struct
import sys
import time
from contextlib import contextmanager

# The value types register with the keyspace (TYPE, OBJECT ENCODING, the RDB writer's type
# lookup) where their commands are defined; the reader imports the others itself.
import reference.commands.sorted_sets
import reference.commands.strings  # noqa: F401
from reference.config import Config
from reference.persistence import rdb as R
from reference.persistence import rdb_scan
from reference.persistence.rdb_load import RDBLoadError
from reference.persistence.rdb_scan import (  # noqa: F401 (the tools' names for them)
    TYPE_MODULE,
    TYPE_MODULE_2,
    Aux,
    KeyEntry,
    ModuleAux,
    ModuleValue,
    SelectDB,
)
from reference.persistence.streams import (
    TYPE_STREAM_LISTPACKS,
    TYPE_STREAM_LISTPACKS_2,
    UNKNOWN_ENTRIES_READ,
    StreamValue,
    id_text,
)

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


class RDBScanner(rdb_scan.RDBScanner):
    """The server's scanner (reference.persistence.rdb_scan) in check mode, as redis-check-rdb
    reads: streams decoded, type-7 module values walked, the CRC-64 kept running and always
    verified. A failure is an RDBFileError saying where.

    An empty collection is an error unless allow_empty (then its KeyEntry has value None).
    Values get the encoding a server with `config` (default: the default configuration) would
    give them on loading. The counters (keys_read, expires, already_expired, version, checksum,
    end_offset, trailing) are the base class's."""

    def __init__(self, data, now_ms: int | None = None, progress=None, config=None,
                 allow_empty: bool = False):
        # Encoding thresholds (hash-max-listpack-entries, ...): a default-configured server's.
        super().__init__(data, config if config is not None else Config.from_argv([]), now_ms,
                         progress, check_mode=True, verify_checksum=True)
        self.allow_empty = allow_empty

    def __iter__(self):
        try:
            for item in super().__iter__():
                if type(item) is KeyEntry and item.value is None and not self.allow_empty:
                    # Loading skips an empty collection; redis-check-rdb (deep sanitization)
                    # rejects it.
                    self.doing, self.key, self.rdb_type = "read-object-value", item.key, item.rdb_type
                    raise RDBFileError("Empty key: a collection without elements", self.position,
                                       self.doing, self.key, self.rdb_type)
                yield item
        except rdb_scan.ChecksumMismatch as error:
            raise self._error(f"RDB CRC error (expected {error.expected:x}, file has {error.stored:x})") from None
        except RDBLoadError as error:  # the reader's: truncation, bad encodings, ...
            raise self._error(str(error)) from None
        except (ValueError, IndexError, OverflowError, MemoryError, struct.error) as error:
            # A decoder tripped over data too damaged for its own checks; still the file's fault.
            raise self._error(f"Malformed data ({type(error).__name__}: {error})") from None

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
    config = {"rdbcompression": compress, "list-max-listpack-size": -2}
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
