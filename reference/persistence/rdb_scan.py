"""Walking an RDB file item by item: the opcode loop behind loading a file at start-up and on
DEBUG RELOAD (`rdb_load.parse_rdb`), which the file tools extend into redis-check-rdb's check
mode (reference/tools: `RDBScanner` there).

`RDBScanner(data, key_sink)` is iterated for the file's items in order: `Aux` fields, `SelectDB`,
and what its `key_sink` makes of each key (with its value and expiry). The opcodes that only
prefix or hint (EXPIRETIME/_MS, FREQ, IDLE, RESIZEDB) and the function libraries (FUNCTION2,
which the reference does not run) are read and passed over. A failure is an `RDBLoadError`
(rdb_load), raised at the spot; the scanner's `doing`, `key` and `rdb_type` then say where it
happened, as redis-check-rdb reports it.

The rules of what to keep are the caller's: parse_rdb drops expired and empty keys and refuses
duplicates. Values are decoded by rdb_load.ValueReader into what the server holds. The server has
neither streams nor modules: a stream ends the load (`StreamsNotSupported`, a named divergence of
spec/persistence.md) and module data is refused as Redis refuses it without the module. The
CRC-64 is computed once over the body at the end, or not at all when `verify_checksum` is off
(rdbchecksum no).

Check mode overrides the hooks marked below: `_check_type` (the object type checked before the
key is read), `_other_value` (streams decoded, module values walked), `_module_aux` and
`_body_crc` (the tools keep a running CRC, item by item, so that a large memory-mapped file is
never copied whole).
"""
from __future__ import annotations

import struct
import time
from dataclasses import dataclass

from reference.persistence import rdb as R
from reference.persistence.crc64 import crc64
from reference.persistence.rdb_load import Corrupt, RDBLoadError, Reader, Truncated, UnknownType, ValueReader, atoi

TYPE_MODULE = 6        # a module value only its module can read
TYPE_MODULE_2 = 7      # a module value written as typed opcodes, which anyone can walk
TYPE_STREAM_LISTPACKS = 15
TYPE_STREAM_LISTPACKS_2 = 19
STREAM_TYPES = (TYPE_STREAM_LISTPACKS, TYPE_STREAM_LISTPACKS_2)
OPCODE_FUNCTION_RC = 246  # the functions of 7.0's release candidates: read as an (unknown) object type
MODULE_NAME_CHARSET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


@dataclass(slots=True)
class Aux:
    name: bytes
    value: bytes
    offset: int  # just past the field, as redis-check-rdb reports it


@dataclass(slots=True)
class SelectDB:
    db: int
    offset: int


def module_type_name(module_id: int) -> tuple[str, int]:
    """A 64-bit module id as (name, encoding version): 9 characters of 6 bits each, the first in
    the highest bits, above a 10-bit version."""
    name = "".join(MODULE_NAME_CHARSET[(module_id >> (10 + 6 * k)) & 63] for k in range(8, -1, -1))
    return name, module_id & 1023


class StreamsNotSupported(RDBLoadError):
    """The server met a stream: the reference has no stream type (a named divergence)."""

    def __init__(self, key: bytes, db: int):
        text = key.decode("utf-8", "backslashreplace")
        line = (f"Can't load the RDB file: key '{text}' in DB {db} is a stream, and streams are "
                f"not supported by the reference. Exiting.")
        super().__init__(f"Key '{text}' is a stream", [("warning", line)])


class ChecksumMismatch(Corrupt):
    rechecked_alike = False

    def __init__(self, expected: int, stored: int):
        super().__init__("RDB CRC error", [
            ("warning", f"Wrong RDB checksum expected: ({expected:x}) but got ({stored:x}). Aborting now.")])
        self.expected, self.stored = expected, stored


_EXPIRE_MS, _EXPIRE_S, _CRC = struct.Struct("<q"), struct.Struct("<i"), struct.Struct("<Q")


class RDBScanner:
    """Iterate over an RDB file's items in file order (see the module docstring).

    `config` gives the encoding thresholds values get (rdb_load.DEFAULTS when None). Counters,
    complete after iteration (or as far as it got): version; keys_read (counted once a key name
    is read), expires, already_expired (expiry before now_ms), as redis-check-rdb counts them;
    checksum: "ok", "disabled" (stored as zero), or None (version < 5, or not verified:
    verify_checksum off, as rdbchecksum no has it); end_offset (just past the checksum) and
    trailing (bytes after it, which Redis ignores). `deep`: values get the deep check of
    sanitize-dump-payload (redis-check-rdb's; the server's only with `yes`)."""

    def __init__(self, data, key_sink, config=None, now_ms: int | None = None, verify_checksum: bool = True,
                 deep: bool = True):
        self.data = data
        # What becomes of each key: key_sink(db, key, rdb_type, value, expire_at_ms, offset,
        # idle_s) is called (offset: where the key's entry, its expiry first, starts; idle_s:
        # the IDLE seconds before it, if any), and the items it returns are yielded. The
        # server's loading stores the key at once and yields none; the tools make it an item.
        self.key_sink = key_sink
        self.values = ValueReader(config, deep)  # deep: sanitize-dump-payload's deep check
        self.now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.verify_checksum = verify_checksum
        self.version = 0
        self.keys_read = self.expires = self.already_expired = 0
        self.checksum: str | None = None
        self.end_offset = self.trailing = 0
        self.doing, self.key, self.rdb_type = "start", None, None
        self._reader = Reader(data)

    def __iter__(self):
        reader = self._reader
        self.doing = "start"
        if len(self.data) < 9:
            raise Truncated()
        reader.pos = 9
        if self.data[:5] != b"REDIS":
            raise RDBLoadError("Wrong signature trying to load DB from file", [
                ("warning", "Wrong signature trying to load DB from file")], aborts=False)
        self.version = atoi(bytes(self.data[5:9]))
        if not 1 <= self.version <= R.RDB_VERSION:
            raise RDBLoadError(f"Can't handle RDB format version {self.version}", [
                ("warning", f"Can't handle RDB format version {self.version}")], aborts=False)
        yield from self._items(reader)

    def _items(self, reader: Reader):
        # This is the server's loading path, kept lean: what the loop is doing, the key and
        # type at hand, and the keys read so far are local variables, published to the
        # attributes (doing, key, rdb_type, keys_read) when the loop ends or fails.
        now_ms, data = self.now_ms, self.data
        read_value, key_sink = self.values.readers.get, self.key_sink
        db, expire_at, entry_start, idle = 0, None, None, None
        doing, key, rdb_type, keys_read = "read-type", None, None, 0
        try:
            while True:
                doing = "read-type"
                pos = reader.pos
                if entry_start is None:
                    entry_start = pos
                try:
                    kind = data[pos]  # reader.byte(), written out: it runs once per key
                except IndexError:
                    raise Truncated() from None
                reader.pos = pos + 1
                if kind >= R.OPCODE_FUNCTION2 and kind != OPCODE_FUNCTION_RC:
                    if kind == R.OPCODE_EXPIRETIME_MS:
                        doing = "read-expire"
                        expire_at = _EXPIRE_MS.unpack(reader.read(8))[0]
                    elif kind == R.OPCODE_EOF:
                        break
                    elif kind == R.OPCODE_SELECTDB:
                        doing, entry_start = "read-len", None
                        db = reader.length()
                        yield SelectDB(db, reader.pos)
                    elif kind == R.OPCODE_RESIZEDB:
                        doing, entry_start = "read-len", None
                        reader.length()
                        reader.length()
                    elif kind == R.OPCODE_AUX:
                        doing, entry_start = "read-aux", None
                        name = reader.string()
                        yield Aux(name, reader.string(), reader.pos)
                    elif kind == R.OPCODE_EXPIRETIME:
                        doing = "read-expire"
                        expire_at = _EXPIRE_S.unpack(reader.read(4))[0] * 1000
                    elif kind == R.OPCODE_FREQ:
                        reader.read(1)
                    elif kind == R.OPCODE_IDLE:
                        idle = reader.length()
                    elif kind == R.OPCODE_FUNCTION2:
                        doing, entry_start = "read-functions", None
                        reader.string()  # a function library's code: the reference has no functions to load
                    else:  # MODULE_AUX, the one opcode left
                        doing, entry_start = "read-module-aux", None
                        yield self._module_aux(reader)
                    continue
                read = read_value(kind)
                if read is None:
                    self._check_type(kind)
                doing, rdb_type = "read-key", kind
                key = reader.string()
                keys_read += 1
                doing = "read-object-value"
                value = read(reader) if read is not None else self._other_value(reader, kind, key, db)
                if expire_at is not None:
                    self.expires += 1
                    if expire_at < now_ms:
                        self.already_expired += 1
                items = key_sink(db, key, kind, value, expire_at, entry_start, idle)
                if items:  # (the server's loading has stored the key, and yields nothing)
                    yield from items
                key = rdb_type = expire_at = entry_start = idle = None
            doing = "check-sum"
            if self.version >= 5:
                body_end = reader.pos
                stored = _CRC.unpack(reader.read(8))[0]
                if self.verify_checksum:
                    if stored == 0:
                        self.checksum = "disabled"
                    else:
                        body_crc = self._body_crc(body_end)
                        if stored != body_crc:
                            raise ChecksumMismatch(body_crc, stored)
                        self.checksum = "ok"
            self.end_offset = reader.pos
            self.trailing = len(self.data) - reader.pos
        finally:
            self.doing, self.key, self.rdb_type, self.keys_read = doing, key, rdb_type, keys_read

    # --- the hooks check mode overrides -------------------------------------------------------

    def _check_type(self, kind: int) -> None:
        """Called with an object type no value reader knows, before its key is read."""

    def _body_crc(self, body_end: int) -> int:
        """The CRC-64 of the file up to its checksum (through a view: a slice would copy it)."""
        return crc64(memoryview(self.data)[:body_end])

    def _other_value(self, reader: Reader, kind: int, key: bytes, db: int):
        """A value of a type ValueReader does not know: refused."""
        if kind in STREAM_TYPES:
            raise StreamsNotSupported(key, db)
        if kind == TYPE_MODULE or kind == TYPE_MODULE_2:
            name = module_type_name(reader.length())[0]
            raise Corrupt(f"The RDB file contains module data I can't load: no matching module type '{name}'",
                          rechecked_alike=False)  # (the checker walks module values itself)
        raise UnknownType(kind)

    def _module_aux(self, reader: Reader):
        """Module data outside any key (MODULE_AUX): refused, as by a server without the module."""
        name = module_type_name(reader.length())[0]
        reader.length()  # the opcode of "when" (before or after the keys),
        reader.length()  # and "when": read, as Redis reads them before refusing
        raise RDBLoadError("Module AUX data", [
            ("warning", f"The RDB file contains AUX module data I can't load: no matching module '{name}'")])
