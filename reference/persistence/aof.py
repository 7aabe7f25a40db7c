"""The append-only file as Redis 7.0 keeps it: a directory of files named by a manifest.

Layout (in `dir`): the directory `appenddirname` holds
  - the BASE file, `<appendfilename>.<seq>.base.rdb` (an RDB image, aof-use-rdb-preamble yes) or
    `.base.aof` (commands that rebuild the dataset), written by a rewrite;
  - INCR files, `<appendfilename>.<seq>.incr.aof`: the write commands since, as RESP arrays,
    with a SELECT whenever the database changes; only the last one is appended to;
  - the manifest `<appendfilename>.manifest`, one line per file, base first, then history
    (files a rewrite made obsolete, deleted soon after), then incrs in order:
        file appendonly.aof.1.base.rdb seq 1 type b
        file appendonly.aof.1.incr.aof seq 1 type i
    It is replaced atomically (a temporary file renamed over it).

Writing: the server hands each loop turn's effects (db index, argv) to `record_effects`
(in server.py's EFFECT_RECORDERS) before any reply is sent; they are written to the current incr
file at once, and fsync'ed at once (appendfsync always), about once a second from the cron
(everysec) or never (no: left to the OS).

Rewriting (BGREWRITEAOF, automatic on growth, or turning appendonly on at run time): the parent
first starts a new incr file (so writes go on landing somewhere the manifest will keep), then
forks; the child writes the dataset as it was at the fork to `temp-rewriteaof-bg-<pid>.aof` in
`dir`; when the cron sees it exit, the parent renames it to the next base name, makes the old
base and the incr files before the new one history, writes the manifest and deletes history.
When appendonly is turned on at run time there is no incr file yet: writes made during the
rewrite go to `temp-<appendfilename>.incr`, renamed into the manifest when the rewrite is done;
until then the manifest (if any) is left as it was. A rewrite that fails leaves the incr file it
opened in the manifest (or removes the temporary one, and is tried again); after three failures
in a row the cron holds its own rewrites back (rewrite_limited).

Loading (start-up with appendonly yes, instead of the RDB): the base, then each incr file, in
manifest order. An RDB base is read with the RDB loader; commands are replayed through the
dispatcher with a client of its own (no reply, no propagation). A file cut short ends the load
with Redis's messages: with aof-load-truncated yes, if it is the last file, what was read is
kept and the file is truncated after the last complete command; otherwise the server exits.
"""
from __future__ import annotations

import contextlib
import errno
import os
import signal
import struct
import time

from reference import log
from reference.config import repr_arg
from reference.persistence import rdb_load
from reference.persistence.crc64 import crc64
from reference.persistence.rdb import dump_rdb, encode_string
from reference.persistence.snapshots import become_child, child_outcome, key_save_delay, report_copy_on_write
from reference.protocol import ErrorReply, split_inline_args

MANIFEST_SUFFIX = ".manifest"
TEMP_PREFIX = "temp-"
BASE, HISTORY, INCR = "b", "h", "i"
ITEMS_PER_COMMAND = 64  # elements per RPUSH/SADD/ZADD/HSET when a base is written as commands
# After this many rewrites failed in a row, the cron holds its own rewrites back (a minute, then
# twice as long each time, at most an hour): each failed attempt leaves an incr file behind.
REWRITE_LIMIT_FAILURES = 3
REWRITE_LIMIT_MAX_MINUTES = 60

OFF, ON, WAIT_REWRITE = "off", "on", "wait_rewrite"


# --- the manifest --------------------------------------------------------------------------

class ManifestError(Exception):
    def __init__(self, reason: str, line_number: int = 0, line: str | None = None):
        super().__init__(reason)
        self.reason, self.line_number, self.line = reason, line_number, line


class AOFFile:
    __slots__ = ("name", "seq", "kind")

    def __init__(self, name: str, seq: int, kind: str):
        self.name, self.seq, self.kind = name, seq, kind

    def line(self) -> bytes:
        name = os.fsencode(self.name)
        if any(byte in b'\\"' or not 0x21 <= byte <= 0x7E for byte in name):  # sdsneedsrepr
            name = repr_arg(name)
        return b"file %s seq %d type %s\n" % (name, self.seq, self.kind.encode())


class Manifest:
    """Which files make up the AOF: a base (or none), history to delete, incrs in order."""

    def __init__(self):
        self.base: AOFFile | None = None
        self.history: list[AOFFile] = []
        self.incrs: list[AOFFile] = []
        self.base_seq = 0  # the sequence numbers last used
        self.incr_seq = 0

    def copy(self) -> Manifest:
        other = Manifest()
        other.base = None if self.base is None else AOFFile(self.base.name, self.base.seq, self.base.kind)
        other.history = [AOFFile(f.name, f.seq, f.kind) for f in self.history]
        other.incrs = [AOFFile(f.name, f.seq, f.kind) for f in self.incrs]
        other.base_seq, other.incr_seq = self.base_seq, self.incr_seq
        return other

    def text(self) -> bytes:
        files = ([self.base] if self.base else []) + self.history + self.incrs
        return b"".join(f.line() for f in files)

    @classmethod
    def parse(cls, data: bytes) -> Manifest:
        """Read a manifest as Redis does (lines of at most 1024 bytes, as fgets reads them into
        its buffer); ManifestError says what is wrong and where."""
        manifest = cls()
        if not data:
            raise ManifestError("Found an empty AOF manifest")
        max_seq = 0
        for number, chunk in enumerate(_manifest_lines(data), start=1):
            if chunk.startswith(b"#"):  # a comment, or any piece of a long one
                continue
            if not chunk.endswith(b"\n"):
                raise ManifestError("The AOF manifest file contains too long line", number)
            raw = chunk.strip(b" \t\r\n")
            line = os.fsdecode(raw)  # as shown in the log
            words = split_inline_args(raw) if raw else None
            if not words or len(words) < 6 or len(words) % 2:
                raise ManifestError("Invalid AOF manifest file format", number, line)
            name, seq, kind = None, 0, ""
            for key, value in zip(words[0::2], words[1::2]):
                key = key.lower()
                if key == b"file":
                    name = os.fsdecode(value)
                    if "/" in name:
                        raise ManifestError("File can't be a path, just a filename", number, line)
                elif key == b"seq":
                    seq = _atoll(value)
                elif key == b"type":
                    kind = os.fsdecode(value[:1])
            if not name or not seq or not kind:
                raise ManifestError("Invalid AOF manifest file format", number, line)
            entry = AOFFile(name, seq, kind)
            if kind == BASE:
                if manifest.base is not None:
                    raise ManifestError("Found duplicate base file information", number, line)
                manifest.base, manifest.base_seq = entry, seq
            elif kind == HISTORY:
                manifest.history.append(entry)
            elif kind == INCR:
                if seq <= max_seq:
                    raise ManifestError("Found a non-monotonic sequence number", number, line)
                manifest.incrs.append(entry)
                manifest.incr_seq = max_seq = seq
            else:
                raise ManifestError("Unknown AOF file type", number, line)
        return manifest

    def new_base(self, prefix: str, rdb: bool) -> str:
        """Name the next base file; the current one becomes history."""
        if self.base is not None:
            self.base.kind = HISTORY
            self.history.insert(0, self.base)
        self.base_seq += 1
        self.base = AOFFile(f"{prefix}.{self.base_seq}.base.{'rdb' if rdb else 'aof'}", self.base_seq, BASE)
        return self.base.name

    def new_incr(self, prefix: str) -> str:
        self.incr_seq += 1
        self.incrs.append(AOFFile(f"{prefix}.{self.incr_seq}.incr.aof", self.incr_seq, INCR))
        return self.incrs[-1].name

    def incrs_to_history(self, keep_last: bool) -> None:
        """After a rewrite: the incr files it covers are history (all but the one being written)."""
        covered = self.incrs[:-1] if keep_last else self.incrs
        self.incrs = self.incrs[len(covered):]
        for entry in reversed(covered):
            entry.kind = HISTORY
            self.history.insert(0, entry)


def _manifest_lines(data: bytes, size: int = 1024):
    """The pieces fgets reads: up to and with a newline, at most `size` bytes each."""
    pos = 0
    while pos < len(data):
        newline = data.find(b"\n", pos, pos + size)
        end = pos + size if newline < 0 else newline + 1
        yield data[pos:end]
        pos = end


def _atoll(text: bytes) -> int:
    digits = b""
    for i, c in enumerate(text):
        if chr(c).isdigit() or (i == 0 and c in b"+-"):
            digits += bytes([c])
        else:
            break
    try:
        return int(digits)
    except ValueError:
        return 0


class Truncated(Exception):
    """The file ended in the middle of a command."""


class BadFormat(Exception):
    """Something other than a RESP array of bulk strings where a command should start."""


def read_commands(data, pos: int = 0):
    """The commands of AOF text from offset `pos`, as Redis's loader reads them: yields
    (argv, end) for each complete command, `end` the offset just past it. Annotation lines
    (`#TS:...`) are passed over. A file that ends inside a command raises Truncated; anything
    that is not a RESP array of bulk strings raises BadFormat. Sans-I/O: the server's loader
    and the tools both read through it."""
    size = len(data)

    def line() -> bytes:
        nonlocal pos
        end = data.find(b"\n", pos)
        if end < 0:
            raise Truncated()
        text, pos = data[pos:end + 1], end + 1
        return text

    while pos < size:
        header = line()
        if header.startswith(b"#"):
            continue
        if not header.startswith(b"*"):
            raise BadFormat()
        argc = _atoll(header[1:])
        if argc < 1:
            raise BadFormat()
        argv = []
        for _ in range(argc):
            if pos >= size:
                raise Truncated()
            size_line = line()
            if not size_line.startswith(b"$"):
                raise BadFormat()
            length = _atoll(size_line[1:])
            if pos + length + 2 > size:
                raise Truncated()
            argv.append(bytes(data[pos:pos + length]))
            pos += length + 2
        yield argv, pos


# --- commands as the AOF holds them --------------------------------------------------------

def encode_command(argv) -> bytes:
    out = [b"*%d\r\n" % len(argv)]
    for arg in argv:
        arg = bytes(arg)
        out.append(b"$%d\r\n%s\r\n" % (len(arg), arg))
    return b"".join(out)


def select_command(db: int) -> bytes:
    return encode_command([b"SELECT", b"%d" % db])


def _score(score: float) -> bytes:
    return b"%.17g" % score  # as C's printf: inf and -inf too


def timestamp_annotation(unix_seconds: int) -> bytes:
    """The line aof-timestamp-enabled writes before commands of a new second; loaders skip it."""
    return b"#TS:%d\r\n" % unix_seconds


def dataset_as_commands(keyspace, timestamp: int | None = None) -> bytes:
    """The dataset as commands that rebuild it (a base without RDB preamble), as Redis's
    rewriteAppendOnlyFileRio: per database a SELECT, per key its contents in batches, then its
    expiry as PEXPIREAT. With a timestamp (aof-timestamp-enabled), it starts with its annotation."""
    from reference.keyspace import type_name
    out = [] if timestamp is None else [timestamp_annotation(timestamp)]
    for db in keyspace.dbs:
        keys = list(db.data)  # keys past their time too, with their PEXPIREAT, as Redis 7.0 writes them
        if not keys:
            continue
        out.append(select_command(db.id))
        for key in keys:
            value = db.data[key]
            kind = type_name(value)
            if kind == "string":
                out.append(encode_command([b"SET", key, value]))
            elif kind == "list":
                items = list(value)
                for i in range(0, len(items), ITEMS_PER_COMMAND):
                    out.append(encode_command([b"RPUSH", key, *items[i:i + ITEMS_PER_COMMAND]]))
            elif kind == "set":
                items = list(value)
                for i in range(0, len(items), ITEMS_PER_COMMAND):
                    out.append(encode_command([b"SADD", key, *items[i:i + ITEMS_PER_COMMAND]]))
            elif kind == "zset":
                items = [x for score, member in value.order for x in (_score(score), member)]
                step = 2 * ITEMS_PER_COMMAND
                for i in range(0, len(items), step):
                    out.append(encode_command([b"ZADD", key, *items[i:i + step]]))
            else:  # a hash: the only other type the reference keeps
                items = [x for pair in value.items() for x in pair]
                step = 2 * ITEMS_PER_COMMAND
                for i in range(0, len(items), step):
                    out.append(encode_command([b"HMSET", key, *items[i:i + step]]))
            when = db.expires.get(key)
            if when is not None:
                out.append(encode_command([b"PEXPIREAT", key, b"%d" % when]))
    return b"".join(out)


def dataset_as_rdb_preamble(keyspace, config) -> bytes:
    """The dataset as an RDB image marked as an AOF base (the aux field aof-base 1)."""
    data = dump_rdb(keyspace, checksum=config["rdbchecksum"], config=config)
    field = encode_string(b"aof-base")
    start = data.index(field) + len(field)
    body = data[:start] + encode_string(b"1") + data[start + len(encode_string(b"0")):-8]
    return body + struct.pack("<Q", crc64(body) if config["rdbchecksum"] else 0)


# --- the server's AOF state ------------------------------------------------------------------

class LoadFailed(Exception):
    pass


class _LoadingClient:
    """The client the AOF's commands run as: no connection, replies dropped."""

    def __init__(self, server):
        self.server = server
        self.id = 0
        self.fd = -1
        self.addr = self.laddr = ""
        self.name = b""
        self.protocol = 2
        self.db_index = 0
        self.db = server.keyspace[0]
        self.authenticated = True
        self.created = self.last_interaction = time.time()
        self.last_command = "NULL"
        self.close_after_reply = self.closed = self.writing = False
        self.kind = "normal"
        self.channels, self.patterns, self.shard_channels = {}, {}, {}
        self.transaction = None
        self.transaction_failed = self.dirty_cas = False
        self.watched = {}
        self.in_exec = True  # a blocking command answers at once rather than waiting
        self.blocked = None
        self.argv = []
        self.propagate_as = None
        self.force_propagation = False
        self.out = []

    def select(self, index: int) -> None:
        self.db_index = index
        self.db = self.server.keyspace[index]

    def set_authenticated(self, authenticated: bool) -> None:
        self.authenticated = authenticated

    def subscription_count(self) -> int:
        return 0

    def reply(self, value) -> None:
        pass

    def reply_bytes(self, data: bytes) -> None:
        pass


class AppendOnlyFile:
    """One server's AOF: state, manifest, the file being appended to, the rewrite child."""

    def __init__(self, server):
        self.server = server
        self.state = OFF
        self.manifest = Manifest()
        self.fd: int | None = None
        self.selected_db = -1
        self.timestamp = 0         # the second of the last #TS annotation written
        self.unsynced = False      # written since the last fsync
        self.last_fsync = time.monotonic()
        self.flush_sleep_us = 0    # DEBUG AOF-FLUSH-SLEEP: slept before each write
        self.incr_size = 0         # bytes in the incr file being appended to
        self.current_size = 0      # base + incr files (INFO aof_current_size)
        self.base_size = 0         # the size right after the last rewrite (INFO aof_base_size)
        self.child_pid: int | None = None
        self.rewrite_started = -1  # unix time the running rewrite forked
        self.last_rewrite_seconds = -1
        self.last_rewrite_ok = True
        self.last_write_ok = True
        self.rewrites = 0
        self.consecutive_failures = 0
        self.scheduled = False
        self.limit_minutes = 0     # the last hold-back, in minutes (0: none yet)
        self.limited_until = 0     # unix time the hold-back ends (0: not holding back)
        server.config.on_change("appendonly", self._on_appendonly_change)
        # Setting aof-disable-auto-gc back to no deletes the history kept meanwhile at once.
        server.config.on_change("aof-disable-auto-gc", lambda config, name: self.delete_history())

    # --- paths -----------------------------------------------------------------------------

    @property
    def dirname(self) -> str:
        return self.server.config["appenddirname"]

    @property
    def prefix(self) -> str:
        return self.server.config["appendfilename"]

    def path(self, name: str) -> str:
        return os.path.join(self.dirname, name)

    @property
    def temp_incr_name(self) -> str:
        return f"{TEMP_PREFIX}{self.prefix}.incr"

    @property
    def in_progress(self) -> bool:
        return self.child_pid is not None

    def current_rewrite_seconds(self) -> int:
        return int(time.time()) - self.rewrite_started if self.in_progress else -1

    def _log(self, message: str, level: str = "notice") -> None:
        log.write(message, level)

    # --- manifest on disk ------------------------------------------------------------------

    def persist_manifest(self, manifest: Manifest) -> bool:
        """Write the manifest to a temporary file, then rename it over the manifest; False
        (and logged as Redis logs it) if that fails."""
        name = self.prefix + MANIFEST_SUFFIX
        temporary = TEMP_PREFIX + name
        try:
            fd = os.open(self.path(temporary), os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
        except OSError as error:
            self._log(f"Can't open the AOF manifest file {temporary}: {error.strerror}", "warning")
            return False
        try:
            with open(fd, "wb") as f:
                f.write(manifest.text())
                f.flush()
                os.fsync(fd)
        except OSError as error:
            self._log(f"Error trying to write the temporary AOF manifest file {temporary}: "
                      f"{error.strerror}", "warning")
            return False
        try:
            os.rename(self.path(temporary), self.path(name))
        except OSError as error:
            self._log(f"Error trying to rename the temporary AOF manifest file {temporary} into {name}: "
                      f"{error.strerror}", "warning")
            return False
        return True

    def _read_manifest(self) -> Manifest:
        """The manifest on disk (an empty one if there is no directory or no manifest); a bad
        one ends the process as Redis does."""
        path = self.path(self.prefix + MANIFEST_SUFFIX)
        if not os.path.isdir(self.dirname):  # (anything else there counts as none)
            self._log(f"The AOF directory {self.dirname} doesn't exist", "debug")
            return Manifest()
        if not os.path.isfile(path):
            self._log(f"The AOF manifest file {self.prefix + MANIFEST_SUFFIX} doesn't exist", "debug")
            return Manifest()
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as error:
            self._log(f"Fatal error: can't open the AOF manifest file {path} for reading: "
                      f"{error.strerror}", "warning")
            raise SystemExit(1)
        try:
            return Manifest.parse(data)
        except ManifestError as error:
            self._log("\n*** FATAL AOF MANIFEST FILE ERROR ***\n", "warning")
            if error.line is not None:
                self._log(f"Reading the manifest file, at line {error.line_number}\n", "warning")
                self._log(f">>> '{error.line}'\n", "warning")
            self._log(f"{error.reason}\n", "warning")
            raise SystemExit(1)

    def delete_history(self) -> None:
        if self.server.config["aof-disable-auto-gc"] or not self.manifest.history:
            return
        for entry in self.manifest.history:
            self._log(f"Removing the history file {entry.name} in the background")
            _unlink(self.path(entry.name))
        self.manifest.history = []
        self.persist_manifest(self.manifest)

    # --- start-up --------------------------------------------------------------------------

    def read_manifest_at_start(self) -> None:
        """Every start-up reads the manifest, as Redis does whether appendonly is on or not (a
        bad one ends the start; its history files are deleted once the data is loaded)."""
        self.manifest = self._read_manifest()

    def start(self) -> None:
        """Start-up with appendonly yes, after read_manifest_at_start: load the AOF (not the
        RDB), then open the incr file to append to, creating the directory, a base and an incr
        file as needed."""
        self.state = ON
        self._adopt_old_style_file()
        started = time.monotonic()
        try:
            loaded = self.load_files()
        except LoadFailed:
            raise SystemExit(1)
        if loaded:
            self._log(f"DB loaded from append only file: {time.monotonic() - started:.3f} seconds")
        self.server.keyspace.effects.clear()  # what loading did is in the files already
        self.open_on_start()

    def _adopt_old_style_file(self) -> None:
        """Upgrade from a Redis before 7.0: a single `appendfilename` in dir becomes the base of
        a new manifest and moves into the directory. As Redis, only when nothing newer is there:
        no directory, or no files in its manifest, or a manifest naming just that file as base
        without having it yet (an upgrade interrupted half way, retried)."""
        if not os.path.isfile(self.prefix):
            return
        manifest = self.manifest
        interrupted = (manifest.base is not None and not manifest.incrs
                       and manifest.base.name == self.prefix and not os.path.exists(self.path(self.prefix)))
        if os.path.isdir(self.dirname) and (manifest.base or manifest.incrs) and not interrupted:
            return
        try:
            _create_dir(self.dirname)
        except OSError as error:
            self._log(f"Can't open or create append-only dir {self.dirname}: {error.strerror}", "warning")
            raise SystemExit(1)
        manifest.base = AOFFile(self.prefix, 1, BASE)
        manifest.base_seq = 1
        if not self.persist_manifest(manifest):
            raise SystemExit(1)
        try:
            os.rename(self.prefix, self.path(self.prefix))
        except OSError as error:
            self._log(f"Error trying to move the old AOF file {self.prefix} into dir {self.dirname}: "
                      f"{error.strerror}", "warning")
            raise SystemExit(1)
        self._log(f"Successfully migrated an old-style AOF file ({self.prefix}) into the AOF "
                  f"directory ({self.dirname}).")

    def reload(self) -> None:
        """DEBUG LOADAOF: write out what is pending, empty every database, and load the AOF
        again from the files the manifest on disk names. As in Redis, a failure to load (no
        AOF at all included) ends the process with status 1."""
        keyspace = self.server.keyspace
        self.fsync()
        for db in keyspace.dbs:
            db.flush()
        self.manifest = self._read_manifest()
        self.delete_history()
        try:
            if not self.load_files():
                raise LoadFailed()
        except LoadFailed:
            raise SystemExit(1) from None
        keyspace.effects.clear()  # what loading did is in the files already
        self.server.snapshots.forget_changes()
        self._log("Append Only File loaded by DEBUG LOADAOF", "warning")

    def open_on_start(self) -> None:
        try:
            _create_dir(self.dirname)
        except OSError as error:
            self._log(f"Can't open or create append-only dir {self.dirname}: {error.strerror}", "warning")
            raise SystemExit(1)
        manifest = self.manifest
        had_incr = bool(manifest.incrs)
        if manifest.base is None and not manifest.incrs:
            name = manifest.new_base(self.prefix, self.server.config["aof-use-rdb-preamble"])
            if not self.write_base(self.path(name), f"temp-rewriteaof-{os.getpid()}.aof"):
                raise SystemExit(1)
            self._log(f"Creating AOF base file {name} on server start")
        name = manifest.incrs[-1].name if manifest.incrs else manifest.new_incr(self.prefix)
        try:
            self.fd = os.open(self.path(name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as error:
            self._log(f"Can't open the append-only file {name}: {error.strerror}", "warning")
            raise SystemExit(1)
        if not self.persist_manifest(manifest):
            raise SystemExit(1)
        self.incr_size = os.fstat(self.fd).st_size
        self.current_size = self._files_size()
        self.base_size = self.current_size
        verb = "Opening" if had_incr else "Creating"
        self._log(f"{verb} AOF incr file {name} on server start")

    def _files_size(self) -> int:
        total = 0
        for entry in ([self.manifest.base] if self.manifest.base else []) + self.manifest.incrs:
            with contextlib.suppress(OSError):  # (each was there when the AOF was opened)
                total += os.stat(self.path(entry.name)).st_size
        return total

    # --- loading ---------------------------------------------------------------------------

    def load_files(self) -> bool:
        """Load base and incr files; False if there is no AOF at all. LoadFailed (logged) ends
        the start-up."""
        manifest = self.manifest
        files = ([manifest.base] if manifest.base else []) + manifest.incrs
        if not files:
            return False
        total = 0
        for entry in files:
            try:
                total += os.stat(self.path(entry.name)).st_size
            except OSError as error:
                self._log(f"Unable to obtain the AOF file {entry.name} length. stat: {error.strerror}",
                          "warning")
                raise LoadFailed() from None
        if total == 0:
            return True  # AOF_EMPTY: nothing to load, still "loaded from append only file"
        self.server.keyspace.last_load = (0, 0)  # what a base's RDB image loads counts
        for number, entry in enumerate(files, start=1):
            last = number == len(files)
            started = time.monotonic()
            outcome = self.load_file(entry.name)
            if outcome == "truncated" and not last:
                self._log("Fatal error: the truncated file is not the last file", "warning")
                raise LoadFailed()
            if outcome in ("ok", "truncated"):
                what = "base" if entry.kind == BASE else "incr"
                self._log(f"DB loaded from {what} file {entry.name}: {time.monotonic() - started:.3f} seconds")
        return True

    def load_file(self, name: str) -> str:
        """Load one file: "ok", "empty" or "truncated" (its tail was cut off, as
        aof-load-truncated allows); LoadFailed otherwise."""
        path = self.path(name)
        try:  # (load_files found it there already)
            with open(path, "rb") as f:
                data = f.read()
        except OSError as error:
            self._log(f"Fatal error: can't open the append log file {name} for reading: "
                      f"{error.strerror}", "warning")
            raise LoadFailed() from None
        if not data:
            return "empty"
        start = 0
        if data.startswith(b"REDIS"):
            start = self.load_rdb_image(name, data)
        valid_up_to = self.replay(name, data, start)
        if valid_up_to is None:
            return "ok"
        if self.server.config["aof-load-truncated"]:
            self._log(f"!!! Warning: short read while loading the AOF file {name}!!!", "warning")
            self._log(f"!!! Truncating the AOF {name} at offset {valid_up_to} !!!", "warning")
            try:
                os.truncate(path, valid_up_to)
            except OSError as error:
                self._log(f"Error truncating the AOF file {name}: {error.strerror}", "warning")
            else:
                self._log(f"AOF {name} loaded anyway because aof-load-truncated is enabled", "warning")
                return "truncated"
        self._log(f"Unexpected end of file reading the append only file {name}. You can: "
                  "1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. "
                  "2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and "
                  "restart the server.", "warning")
        raise LoadFailed()

    def load_rdb_image(self, name: str, data: bytes) -> int:
        """A file that starts as an RDB image: a base written with the RDB preamble, or an
        old-style AOF's preamble, which commands follow. Loads the image (its keys whose time
        has passed too: they expire once loaded) and returns the offset where commands may
        start; LoadFailed (logged) if it is bad."""
        old_style = name == self.prefix
        self._log("Reading RDB preamble from AOF file..." if old_style
                  else "Reading RDB base file on AOF loading...")
        try:
            loaded = rdb_load.load_rdb_data(self.server.keyspace, data, self.server.config,
                                            log.write, aof_preamble=True)
        except rdb_load.RDBLoadError as error:
            for level, line in error.log_lines:
                self._log(line, level)
            if not error.aborts:  # else Redis has exited already
                what = "the RDB preamble of the AOF file" if old_style else "the RDB base file"
                self._log(f"Error reading {what} {name}, AOF loading aborted", "warning")
                self._log(f"Unrecoverable error reading the append only file {name}: Invalid argument",
                          "warning")
            raise LoadFailed() from None
        if old_style:
            self._log("Reading the remaining AOF tail...")
        return loaded.end_offset

    def replay(self, name: str, data: bytes, start: int = 0, on_command=None) -> int | None:
        """Run the file's commands from offset `start`; None if it ended cleanly, else the
        offset up to which its commands were complete (the file was cut short, or a MULTI was
        never closed). Bad format or an unknown command: LoadFailed (logged). on_command(end),
        if given, hears the offset after each command (the tools' progress)."""
        from reference.dispatch import lookup, run
        server = self.server
        client = _LoadingClient(server)
        valid_up_to = start
        valid_before_multi = start
        queued: list | None = None  # commands after MULTI, run at EXEC

        def execute(command, argv) -> None:
            server.keyspace.clock.tick()
            reply = run(command, client, argv)
            client.propagate_as = None
            client.force_propagation = False
            if isinstance(reply, ErrorReply):
                # Redis logs the error as its code built it: a shared error object keeps its
                # "-CODE", a plain ERR message comes without it; here ERR is the plain kind.
                text = reply[4:] if reply.startswith("ERR ") else "-" + reply
                log.warning(f"== CRITICAL == This server is sending an error to its AOF-loading-client: "
                            f"'{text[:4096]}' after processing the command '{command.name}'")
                server.count_error(reply)  # INFO counts it, as any error reply, and as unexpected
                server.stats["unexpected_error_replies"] += 1

        server.keyspace.loading = True  # nothing expires while the commands run
        try:
            for argv, end in read_commands(data, start):
                command, error = lookup(server.commands, argv)
                if command is None:
                    log.warning(f"Unknown command '{argv[0].decode('latin-1')}' reading the append "
                                f"only file {name}")
                    raise LoadFailed()
                if command.name == "multi":
                    valid_before_multi = valid_up_to
                    queued = []
                elif command.name == "exec" and queued is not None:
                    for queued_command, queued_argv in queued:
                        execute(queued_command, queued_argv)
                    queued = None
                elif error is None:
                    if queued is not None:
                        queued.append((command, argv))
                    else:
                        execute(command, argv)
                valid_up_to = end
                if on_command is not None:
                    on_command(end)
        except Truncated:
            return valid_up_to
        except BadFormat:
            log.warning(f"Bad file format reading the append only file {name}: make a backup of your "
                        f"AOF file, then use ./redis-check-aof --fix <filename.manifest>")
            raise LoadFailed() from None
        finally:
            server.keyspace.loading = False
        if queued is not None:
            log.warning(f"Revert incomplete MULTI/EXEC transaction in AOF file {name}")
            return valid_before_multi
        return None

    # --- writing ---------------------------------------------------------------------------

    def feed(self, effects) -> None:
        """Append one loop turn's effects (before the replies go out)."""
        if self.state == OFF or self.fd is None:
            return
        out = []
        if self.server.config["aof-timestamp-enabled"]:
            now = int(time.time())
            if now > self.timestamp:
                self.timestamp = now
                out.append(timestamp_annotation(now))
        for db, argv in effects:
            if db != self.selected_db:
                out.append(select_command(db))
                self.selected_db = db
            out.append(encode_command(argv))
        if self.flush_sleep_us:
            time.sleep(self.flush_sleep_us / 1_000_000)
        self.write(b"".join(out))

    def write(self, data: bytes) -> None:
        try:
            view = memoryview(data)
            while view:
                written = os.write(self.fd, view)
                view = view[written:]
        except OSError as error:
            if self.last_write_ok:
                self._log(f"Error writing to the AOF file: {error.strerror}", "warning")
            self.last_write_ok = False
            return
        if not self.last_write_ok:
            self._log("AOF write error looks solved, Redis can write again.", "warning")
        self.last_write_ok = True
        self.incr_size += len(data)
        self.current_size += len(data)
        self.unsynced = True
        if self.server.config["appendfsync"] == "always":
            self.fsync()

    def fsync(self) -> None:
        if self.fd is None:
            return
        try:
            os.fsync(self.fd)
        except OSError as error:
            self._log(f"Fail to fsync the AOF file: {error.strerror}", "warning")
            return
        self.unsynced = False
        self.last_fsync = time.monotonic()

    def close(self) -> None:
        if self.fd is not None:
            self.fsync()
            os.close(self.fd)
            self.fd = None

    # --- rewriting -------------------------------------------------------------------------

    def write_base(self, final_path: str, temporary: str) -> bool:
        """Write the dataset to `temporary` (in dir), fsync it, rename it to final_path."""
        config = self.server.config
        try:
            if config["aof-use-rdb-preamble"]:
                data = dataset_as_rdb_preamble(self.server.keyspace, config)
            else:
                stamp = int(time.time()) if config["aof-timestamp-enabled"] else None
                data = dataset_as_commands(self.server.keyspace, stamp)
            with open(temporary, "wb") as f:
                key_save_delay(self.server)  # while the file exists, as Redis sleeps per key written
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except OSError as error:
            self._log(f"Write error writing append only file on disk: {error.strerror}", "warning")
            return False
        try:
            os.replace(temporary, final_path)
        except OSError as error:
            self._log(f"Error moving temp append only file on the final destination: {error.strerror}",
                      "warning")
            _unlink(temporary)
            return False
        return True

    def open_new_incr(self) -> bool:
        """Before a rewrite forks: later writes go to a new file (a temporary one while
        appendonly is being turned on)."""
        if self.state == OFF:
            return True
        if self.state == WAIT_REWRITE:
            name, manifest = self.temp_incr_name, None
        else:
            manifest = self.manifest.copy()
            name = manifest.new_incr(self.prefix)
        try:
            fd = os.open(self.path(name), os.O_WRONLY | os.O_TRUNC | os.O_CREAT, 0o644)
        except OSError as error:
            self._log(f"Can't open the append-only file {name}: {error.strerror}", "warning")
            return False
        if manifest is not None and not self.persist_manifest(manifest):
            os.close(fd)
            return False
        self._log(f"Creating AOF incr file {name} on background rewrite")
        self.close()
        self.fd = fd
        self.incr_size = 0
        if manifest is not None:
            self.manifest = manifest
        return True

    def rewrite_background(self) -> bool:
        """Start a rewrite in a forked child; False (and logged) if it cannot start. The callers
        start none while another child (a rewrite, a save) runs."""
        try:
            _create_dir(self.dirname)
        except OSError as error:
            self._log(f"Can't open or create append-only dir {self.dirname}: {error.strerror}", "warning")
            self.last_rewrite_ok = False
            return False
        self.selected_db = -1  # the next write starts with a SELECT
        if not self.open_new_incr():
            self.last_rewrite_ok = False
            return False
        self.rewrites += 1
        started = time.perf_counter()
        try:
            pid = os.fork() or self._child()  # the child (fork gave it 0) never returns from _child
        except OSError as error:
            self.last_rewrite_ok = False
            self._log(f"Can't rewrite append only file in background: fork: {error.strerror}", "warning")
            return False
        self.server.snapshots.count_fork(started)
        self._log(f"Background append only file rewriting started by pid {pid}")
        self.child_pid = pid
        self.scheduled = False
        self.rewrite_started = int(time.time())
        return True

    def _child(self) -> None:
        status = 1
        become_child(self.server)
        try:
            finished = rewritten_name(os.getpid())
            if any(db.data for db in self.server.keyspace.dbs):
                report_copy_on_write("AOF rewrite", final=False)  # at its first key, as Redis
            if self.write_base(finished, f"temp-rewriteaof-{os.getpid()}.aof"):
                self._log(f"Successfully created the temporary AOF base file {finished}")
                report_copy_on_write("AOF rewrite", final=True)
                status = 0
        finally:
            os._exit(status)

    def _rewrite_done(self, pid: int, exit_code: int, by_signal: int) -> None:
        temporary = rewritten_name(pid)
        if not by_signal and exit_code == 0:
            self._log("Background AOF rewrite terminated with success")
            self._install_rewrite(temporary)
        elif not by_signal:
            self._log("Background AOF rewrite terminated with error", "warning")
            self._rewrite_failed()
        else:
            self._log(f"Background AOF rewrite terminated by signal {by_signal}", "warning")
            if by_signal != signal.SIGUSR1:  # SIGUSR1: stopped on purpose, no failure
                self._rewrite_failed()
        remove_temp_files(pid)
        if self.state == WAIT_REWRITE:  # it failed: try again, writes since are in no file
            self._drop_temp_incr()
            self.scheduled = True
        self.last_rewrite_seconds = int(time.time()) - self.rewrite_started
        self.rewrite_started = -1
        self.child_pid = None

    def _install_rewrite(self, temporary: str) -> None:
        manifest = self.manifest.copy()
        base_name = manifest.new_base(self.prefix, self.server.config["aof-use-rdb-preamble"])
        try:
            os.replace(temporary, self.path(base_name))
        except OSError as error:
            self._log(f"Error trying to rename the temporary AOF base file {temporary} into "
                      f"{self.path(base_name)}: {error.strerror}", "warning")
            return self._rewrite_failed()
        self._log(f"Successfully renamed the temporary AOF base file {temporary} into {base_name}")
        new_files = [self.path(base_name)]  # removed again if the rewrite cannot be installed
        if self.state == WAIT_REWRITE:
            incr_name = manifest.new_incr(self.prefix)
            try:
                os.replace(self.path(self.temp_incr_name), self.path(incr_name))
            except OSError as error:
                self._log(f"Error trying to rename the temporary AOF incr file {self.path(self.temp_incr_name)} "
                          f"into {self.path(incr_name)}: {error.strerror}", "warning")
                return self._rewrite_failed(*new_files)
            new_files.append(self.path(incr_name))
            self._log(f"Successfully renamed the temporary AOF incr file {self.temp_incr_name} "
                      f"into {incr_name}")
        manifest.incrs_to_history(keep_last=self.fd is not None)
        if not self.persist_manifest(manifest):
            return self._rewrite_failed(*new_files)
        self.manifest = manifest
        if self.state != OFF:
            self.current_size = os.stat(self.path(base_name)).st_size + self.incr_size
            self.base_size = self.current_size
        self.delete_history()
        self.last_rewrite_ok = True
        self.consecutive_failures = 0
        self._log("Background AOF rewrite finished successfully")
        if self.state == WAIT_REWRITE:
            self.state = ON

    def _rewrite_failed(self, *new_files: str) -> None:
        for path in new_files:
            _unlink(path)
        self.last_rewrite_ok = False
        self.consecutive_failures += 1

    def _drop_temp_incr(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        self._log(f"Removing the temp incr aof file {self.temp_incr_name} in the background")
        _unlink(self.path(self.temp_incr_name))

    def kill_child(self) -> None:
        if not self.in_progress:
            return
        pid = self.child_pid
        self._log(f"Killing running AOF rewrite child: {pid}")
        os.kill(pid, signal.SIGUSR1)  # (not reaped yet: the pid is still its own)
        os.waitpid(pid, 0)
        remove_temp_files(pid)
        self.child_pid = None
        self.rewrite_started = -1

    # --- BGREWRITEAOF, CONFIG SET appendonly -----------------------------------------------

    def turn_on(self) -> bool:
        self.state = WAIT_REWRITE
        if self.server.snapshots.in_progress:
            self.scheduled = True
            self._log("AOF was enabled but there is already another background operation. An AOF "
                      "background was scheduled to start when possible.", "warning")
        else:
            if self.in_progress:
                self._log("AOF was enabled but there is already an AOF rewriting in background. "
                          "Stopping background AOF and starting a rewrite now.", "warning")
                self.kill_child()
            if not self.rewrite_background():
                self.state = OFF
                self._log("Redis needs to enable the AOF but can't trigger a background AOF rewrite "
                          "operation. Check the above logs for more info about the error.", "warning")
                return False
        self.last_fsync = time.monotonic()
        if not self.last_write_ok:
            self._log("AOF reopen, just ignore the last error.", "warning")
            self.last_write_ok = True
        return True

    def turn_off(self) -> None:
        self.close()
        self.selected_db = -1
        self.state = OFF
        self.scheduled = False
        self.incr_size = 0
        self.kill_child()

    def _on_appendonly_change(self, config, name) -> None:
        from reference.config import ConfigApplyError
        if config["appendonly"] and self.state == OFF:
            if not self.turn_on():
                raise ConfigApplyError("Unable to turn on AOF. Check server logs.")
        elif not config["appendonly"] and self.state != OFF:
            self.turn_off()

    # --- periodic work and shutdown --------------------------------------------------------

    def cron(self) -> None:
        if self.in_progress:
            pid, status = os.waitpid(self.child_pid, os.WNOHANG)
            if pid:
                self._rewrite_done(pid, *child_outcome(status))
        busy = self.in_progress or self.server.snapshots.in_progress
        if not busy and self.scheduled:
            if not self.rewrite_limited():
                self.rewrite_background()
        elif not busy and self.state == ON:
            self._maybe_rewrite_on_growth()
        if (self.unsynced and self.server.config["appendfsync"] == "everysec"
                and time.monotonic() - self.last_fsync >= 1):
            self.fsync()

    def _maybe_rewrite_on_growth(self) -> None:
        config = self.server.config
        percentage = config["auto-aof-rewrite-percentage"]
        if not percentage or self.current_size <= config["auto-aof-rewrite-min-size"]:
            return
        base = self.base_size or 1
        growth = self.current_size * 100 // base - 100
        if growth >= percentage and not self.rewrite_limited():
            self._log(f"Starting automatic rewriting of AOF on {growth}% growth")
            self.rewrite_background()

    def rewrite_limited(self) -> bool:
        """Whether the cron holds its rewrites back (Redis's aofRewriteLimited): after
        REWRITE_LIMIT_FAILURES failures in a row it waits a minute, logging so once; when the
        wait is over it lets one attempt through, and if that fails too the next wait is twice
        as long. BGREWRITEAOF by hand is never held back."""
        if self.consecutive_failures < REWRITE_LIMIT_FAILURES:
            self.limit_minutes = self.limited_until = 0
            return False
        now = int(time.time())
        if self.limited_until:
            if now < self.limited_until:
                return True
            self.limited_until = 0
            return False
        self.limit_minutes = min(max(1, 2 * self.limit_minutes), REWRITE_LIMIT_MAX_MINUTES)
        self.limited_until = now + 60 * self.limit_minutes
        self._log("Background AOF rewrite has repeatedly failed and triggered the limit, will retry in "
                  f"{self.limit_minutes} minutes", "warning")
        return True

    def refuses_shutdown(self, force: bool) -> bool:
        """While the AOF is being turned on, the rewrite running is the only way the dataset
        reaches it: Redis does not exit then (SHUTDOWN, a signal), unless forced."""
        if self.state != WAIT_REWRITE or not self.in_progress:
            return False
        if force:
            self._log("Writing initial AOF. Exit anyway.", "warning")
            return False
        self._log("Writing initial AOF, can't exit.", "warning")
        return True

    def shutdown(self) -> None:
        """Before exiting: stop a rewrite, write and fsync what is pending."""
        if self.in_progress:
            self._log("There is a child rewriting the AOF. Killing it!", "warning")
            self.kill_child()
        if self.state != OFF and self.fd is not None:
            self._log("Calling fsync() on the AOF file.")
            self.close()


def rewritten_name(pid: int) -> str:
    """The file (in dir) a rewrite child leaves for its parent to rename into the next base; it
    writes it as temp-rewriteaof-<pid>.aof and renames it when complete."""
    return f"temp-rewriteaof-bg-{pid}.aof"


def remove_temp_files(pid: int) -> None:
    """What a rewrite child that ended or was killed may have left in dir."""
    _unlink(rewritten_name(pid))
    _unlink(f"temp-rewriteaof-{pid}.aof")


def _create_dir(path: str) -> None:
    """util.c dirCreateIfMissing: an existing directory is fine, anything else there is not."""
    try:
        os.mkdir(path, 0o755)
    except FileExistsError:
        if not os.path.isdir(path):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR)) from None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def record_effects(server, effects) -> None:
    server.aof.feed(effects)
