"""Walking an RDB file item by item: the one opcode loop behind both loading a file at start-up
(`rdb_load.parse_rdb`) and the file tools (`reference.tools`: check, dump, convert).

`RDBScanner(data)` is iterated for the file's items in order: `Aux` fields, `SelectDB`,
`ModuleAux` (check mode only) and `KeyEntry` (a key with its value and expiry). The opcodes that
only prefix or hint (EXPIRETIME/_MS, FREQ, IDLE, RESIZEDB) and the function libraries (FUNCTION2,
which the reference does not run) are read and passed over. A failure is an `RDBLoadError`
(rdb_load), raised at the spot; the scanner's `doing`, `key`, `rdb_type` and `position` then say
where it happened, as redis-check-rdb reports it.

The rules of what to keep are the caller's: parse_rdb drops expired and empty keys and refuses
duplicates, the tools report everything. Two modes, as Redis has two (its `rdbCheckMode`):

- the server's (default): values are decoded by `rdb_load.read_value` into what the server
  holds; a stream or module value ends the load, since the reference has neither; the CRC-64 is
  computed once over the body at the end (cheapest in pure Python), or not at all when
  `verify_checksum` is off (rdbchecksum no).
- `check_mode=True` (the tools, as redis-check-rdb): the object type is checked before the key
  is read; streams are decoded (`streams.read_stream`) and module values of type 7, which are
  self-describing, walked (`ModuleValue`); the CRC is kept running item by item so that a large
  memory-mapped file is never copied whole.
"""
from __future__ import annotations

import re
import struct
import time
from dataclasses import dataclass

from reference.persistence import rdb as R
from reference.persistence import streams
from reference.persistence.crc64 import crc64
from reference.persistence.rdb_load import (
    Corrupt,
    RDBLoadError,
    Reader,
    Truncated,
    read_value,
    settings_of,
)

TYPE_MODULE = 6        # a module value only its module can read
TYPE_MODULE_2 = 7      # a module value written as typed opcodes, which anyone can walk
OBJECT_TYPES = frozenset([*range(8), *range(9, 20)])  # rdbIsObjectType of Redis 7.0

# The opcodes of a type-7 module value (and of MODULE_AUX data): each is a length, then its datum.
MODULE_OPCODE_EOF, MODULE_OPCODE_SINT, MODULE_OPCODE_UINT = 0, 1, 2
MODULE_OPCODE_FLOAT, MODULE_OPCODE_DOUBLE, MODULE_OPCODE_STRING = 3, 4, 5
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


@dataclass(slots=True)
class ModuleAux:
    """Module data outside any key (check mode only; the server refuses it)."""
    module_type: str
    offset: int  # just past its module id and "when" fields, where redis-check-rdb reports it


@dataclass(slots=True)
class KeyEntry:
    db: int
    key: bytes
    rdb_type: int
    value: object        # as the server holds it; None for an empty collection
    expire_at_ms: int | None
    offset: int          # where the entry (its expiry, if any) starts
    idle_s: int | None = None  # seconds unused, when the file records it (an LRU policy's IDLE)


@dataclass(slots=True)
class ModuleValue:
    """A type-7 module value, walked but not understood: who wrote it."""
    module_type: str     # the module type's 9-character name
    encoding_version: int


def module_type_name(module_id: int) -> tuple[str, int]:
    """A 64-bit module id as (name, encoding version): 9 characters of 6 bits each, the first in
    the highest bits, above a 10-bit version."""
    name = "".join(MODULE_NAME_CHARSET[(module_id >> (10 + 6 * k)) & 63] for k in range(8, -1, -1))
    return name, module_id & 1023


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


class StreamsNotSupported(RDBLoadError):
    """The server met a stream: the reference has no stream type (a named divergence)."""

    def __init__(self, key: bytes, db: int):
        text = key.decode("utf-8", "backslashreplace")
        line = (f"Can't load the RDB file: key '{text}' in DB {db} is a stream, and streams are "
                f"not supported by the reference. Exiting.")
        super().__init__(f"Key '{text}' is a stream", [("warning", line)])


class ChecksumMismatch(Corrupt):
    def __init__(self, expected: int, stored: int):
        super().__init__("RDB CRC error", [
            ("warning", f"Wrong RDB checksum expected: ({expected:x}) but got ({stored:x}). Aborting now.")])
        self.expected, self.stored = expected, stored


def _atoi(text: bytes) -> int:
    """C's atoi: leading blanks, a sign, the digits that follow; 0 if there are none."""
    match = re.match(rb"\s*([+-]?[0-9]+)", text)
    return int(match.group(1)) if match else 0


class RDBScanner:
    """Iterate over an RDB file's items in file order (see the module docstring).

    `config` gives the encoding thresholds values get (rdb_load.DEFAULTS when None). Counters,
    complete after iteration (or as far as it got): version; keys_read (counted once a key name
    is read), expires, already_expired (expiry before now_ms), as redis-check-rdb counts them;
    checksum: "ok", "disabled" (stored as zero), or None (version < 5, or not verified);
    end_offset (just past the checksum) and trailing (bytes after it, which Redis ignores)."""

    def __init__(self, data, config=None, now_ms: int | None = None, progress=None,
                 check_mode: bool = False, verify_checksum: bool = True):
        self.data = data
        self.config = settings_of(config)  # read_value's thresholds, looked up once
        self.now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        self.progress = progress
        self.check_mode = check_mode
        self.verify_checksum = verify_checksum
        self.version = 0
        self.keys_read = self.expires = self.already_expired = 0
        self.checksum: str | None = None
        self.end_offset = self.trailing = 0
        self.doing, self.key, self.rdb_type = "start", None, None
        self._reader = Reader(data)

    @property
    def position(self) -> int:
        """Bytes read so far: where a failure was met."""
        return self._reader.pos

    def __iter__(self):
        # The loop keeps its state in local variables (this is the server's loading path, so
        # it is kept lean) and publishes it to the attributes when it stops, or fails.
        reader = self._reader
        self.doing = "start"
        if len(self.data) < 9:
            raise Truncated()
        reader.pos = 9
        if self.data[:5] != b"REDIS":
            raise RDBLoadError("Wrong signature trying to load DB from file", [
                ("warning", "Wrong signature trying to load DB from file")], aborts=False)
        self.version = _atoi(bytes(self.data[5:9]))
        if not 1 <= self.version <= R.RDB_VERSION:
            raise RDBLoadError(f"Can't handle RDB format version {self.version}", [
                ("warning", f"Can't handle RDB format version {self.version}")], aborts=False)
        self._state = ["read-type", None, None]  # doing, key, rdb_type: for the error report
        try:
            yield from self._items(reader)
        finally:
            self.doing, self.key, self.rdb_type = self._state

    def _items(self, reader: Reader):
        data, config, check_mode, progress = self.data, self.config, self.check_mode, self.progress
        now_ms, state = self.now_ms, self._state
        crc, crc_done = 0, 0   # the running CRC (check mode) covers data[:crc_done]
        db, expire_at, entry_start, idle = 0, None, None, None
        while True:
            if check_mode:
                crc, crc_done = crc64(data[crc_done:reader.pos], crc), reader.pos
            if progress is not None:
                progress.update(reader.pos)
            state[0] = "read-type"
            if entry_start is None:
                entry_start = reader.pos
            kind = reader.byte()
            if kind == R.OPCODE_EXPIRETIME_MS:
                state[0] = "read-expire"
                expire_at = struct.unpack("<q", reader.read(8))[0]
                continue
            if kind == R.OPCODE_EXPIRETIME:
                state[0] = "read-expire"
                expire_at = struct.unpack("<i", reader.read(4))[0] * 1000
                continue
            if kind == R.OPCODE_FREQ:
                reader.read(1)
                continue
            if kind == R.OPCODE_IDLE:
                idle = reader.length()
                continue
            if kind == R.OPCODE_EOF:
                break
            if kind == R.OPCODE_SELECTDB:
                state[0] = "read-len"
                db = reader.length()
                yield SelectDB(db, reader.pos)
                entry_start = None
                continue
            if kind == R.OPCODE_RESIZEDB:
                state[0] = "read-len"
                reader.length()
                reader.length()
                entry_start = None
                continue
            if kind == R.OPCODE_AUX:
                state[0] = "read-aux"
                name = reader.string()
                yield Aux(name, reader.string(), reader.pos)
                entry_start = None
                continue
            if kind == R.OPCODE_FUNCTION2:
                state[0] = "read-functions"
                reader.string()  # a function library's code: the reference has no functions to load
                entry_start = None
                continue
            if kind == R.OPCODE_MODULE_AUX:
                state[0] = "read-module-aux"
                yield self._module_aux(reader)
                entry_start = None
                continue
            if check_mode and kind not in OBJECT_TYPES:
                raise Corrupt(f"Invalid object type: {kind}")
            state[0], state[2] = "read-key", kind
            key = state[1] = reader.string()
            self.keys_read += 1
            state[0] = "read-object-value"
            if kind in streams.STREAM_TYPES:
                if not check_mode:
                    raise StreamsNotSupported(key, db)
                value = streams.read_stream(reader, kind)
            elif kind == TYPE_MODULE or kind == TYPE_MODULE_2:
                value = self._module_value(reader, kind)
            else:
                value = read_value(reader, kind, config)
            if expire_at is not None:
                self.expires += 1
                if expire_at < now_ms:
                    self.already_expired += 1
            yield KeyEntry(db, key, kind, value, expire_at, entry_start, idle)
            state[1] = state[2] = expire_at = entry_start = idle = None
        state[0] = "check-sum"
        if self.version >= 5:
            body_end = reader.pos
            stored = struct.unpack("<Q", reader.read(8))[0]
            if stored == 0:
                self.checksum = "disabled"
            elif self.verify_checksum:
                body_crc = crc64(data[crc_done:body_end], crc) if check_mode else crc64(data[:body_end])
                if stored != body_crc:
                    raise ChecksumMismatch(body_crc, stored)
                self.checksum = "ok"
        self.end_offset = reader.pos
        self.trailing = len(data) - reader.pos
        if progress is not None:
            progress.update(reader.pos, final=True)

    def _module_aux(self, reader: Reader) -> ModuleAux:
        module_id = reader.length()
        when_opcode = reader.length()
        reader.length()  # when: before or after the keys
        name = module_type_name(module_id)[0]
        if not self.check_mode:
            raise RDBLoadError("Module AUX data", [
                ("warning", f"The RDB file contains AUX module data I can't load: no matching module '{name}'")])
        if when_opcode != MODULE_OPCODE_UINT:
            raise Corrupt("bad when_opcode")
        item = ModuleAux(name, reader.pos)
        walk_module_data(reader)
        return item

    def _module_value(self, reader: Reader, kind: int) -> ModuleValue:
        name, version = module_type_name(reader.length())
        if not (self.check_mode and kind == TYPE_MODULE_2):
            raise Corrupt(f"The RDB file contains module data I can't load: no matching module type '{name}'")
        walk_module_data(reader)
        return ModuleValue(name, version)
