"""Append-only files for the tools: find them, check them as redis-check-aof does, replay them.

What a user may point the tools at (`AOFSource.open`):
  - a multi-part AOF: its manifest, or the directory holding it (Redis 7.0's appenddirname);
  - an old-style single file (before Redis 7.0): commands, or an RDB preamble followed by
    commands.

`AOFCheck` judges files as redis-check-aof 7.0 does and prints its report, line for line: the
same walk over the bytes (a line read at most 127 bytes at a time, counting newlines, MULTI and
EXEC balanced), the same verdicts and the same offsets, and the same --fix and
--truncate-to-timestamp. `replay` runs the files' commands through the reference's own
dispatcher into a keyspace (the dataset the server would load), never changing the files;
`commands` lists them.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass

from reference import log
from reference.persistence import aof as A
from reference.tools import RDBFileError, RDBScanner, mapped


class AOFError(Exception):
    """The AOF cannot be used: a bad manifest, a missing file, a file cut short where it
    must not be, bad format, an unknown command. `manifest_error`: the manifest's fault, if
    that is what it is."""

    def __init__(self, text: str, manifest_error: A.ManifestError | None = None):
        super().__init__(text)
        self.manifest_error = manifest_error


def looks_like_manifest(data) -> bool:
    """As redis-check-aof decides: some line (not a # comment) starts with `file`."""
    return any(line.startswith(b"file") for line in bytes(data).split(b"\n") if not line.startswith(b"#"))


@dataclass
class AOFPart:
    name: str          # as the manifest names it (the path given, for an old-style file)
    path: str
    kind: str          # "base", "incr" or "old-style"


@dataclass
class AOFSource:
    """The files of one AOF, in the order they are loaded."""
    parts: list[AOFPart]
    manifest: str | None  # the manifest's path; None for an old-style file

    @classmethod
    def open(cls, path: str) -> AOFSource:
        if os.path.isdir(path):
            manifests = sorted(name for name in os.listdir(path) if name.endswith(A.MANIFEST_SUFFIX)
                               and not name.startswith(A.TEMP_PREFIX))
            if len(manifests) != 1:
                found = ", ".join(manifests) if manifests else "none"
                raise AOFError(f"{path}: expected one AOF manifest in the directory, found {found}")
            path = os.path.join(path, manifests[0])
        with open(path, "rb") as f:
            data = f.read()
        if not looks_like_manifest(data):
            return cls([AOFPart(path, path, "old-style")], None)
        try:
            manifest = A.Manifest.parse(data)
        except A.ManifestError as error:
            where = f" (line {error.line_number}: {error.line!r})" if error.line is not None else ""
            raise AOFError(f"{path}: {error.reason}{where}", error) from None
        directory = os.path.dirname(path) or "."  # as C's dirname()
        parts = [AOFPart(manifest.base.name, os.path.join(directory, manifest.base.name), "base")] \
            if manifest.base else []
        parts += [AOFPart(f.name, os.path.join(directory, f.name), "incr") for f in manifest.incrs]
        return cls(parts, path)

    def total_size(self) -> int:
        return sum(os.path.getsize(part.path) for part in self.parts if os.path.exists(part.path))


# --- checking, as redis-check-aof ----------------------------------------------------------

OK, EMPTY, TRUNCATED, TIMESTAMP_TRUNCATED = "ok", "empty", "truncated", "timestamp-truncated"


class Exit(Exception):
    """redis-check-aof would exit here with this status."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def _hex_char(byte: int) -> str:
    # C prints a (signed) char with %02x: bytes from 0x80 come out sign-extended.
    return "%02x" % (byte if byte < 0x80 else byte + 0xFFFFFF00)


class AOFCheck:
    """One run of redis-check-aof: `run(path)` prints its report to `out` and returns the exit
    status. State that the C tool keeps in globals (the error text, the line count) lives on
    the object and, as there, carries over from one file of a multi-part AOF to the next."""

    def __init__(self, out=sys.stdout, fix: bool = False, to_timestamp: int = 0,
                 confirm=None, rdb_report=None):
        self.out = out
        self.fix = fix
        self.to_timestamp = to_timestamp
        self.confirm = confirm or (lambda: sys.stdin.readline())
        self.rdb_report = rdb_report  # (data, name, out) -> end offset of a sound RDB, else None
        self.error = ""
        self.error_pos = 0
        self.line = 1

    def say(self, text: str, end: str = "\n") -> None:
        self.out.write(text + end)

    def run(self, path: str) -> int:
        try:
            if os.path.isdir(path):
                path = AOFSource.open(path).manifest
            with open(path, "rb") as f:
                text = f.read()
            if looks_like_manifest(text):
                self.check_multi_part(path)
            else:
                self.check_old_style(path, preamble=_starts_as_rdb(path))
        except Exit as stop:
            return stop.status
        return 0

    def check_old_style(self, path: str, preamble: bool) -> None:
        self.say("Start checking Old-Style AOF")
        self._verdict("AOF", path, self.check_file(path, path, last_file=True, preamble=preamble))

    def check_multi_part(self, manifest_path: str) -> None:
        self.say("Start checking Multi Part AOF")
        try:
            source = AOFSource.open(manifest_path)
        except AOFError as failure:
            error = failure.manifest_error
            if error is None:
                raise
            # What Redis logs for a bad manifest (the tool prints it as log lines, with a pid
            # and a time before each: left out here).
            self.say("\n*** FATAL AOF MANIFEST FILE ERROR ***\n")
            if error.line is not None:
                self.say(f"Reading the manifest file, at line {error.line_number}\n")
                self.say(f">>> '{error.line}'\n")
            self.say(f"{error.reason}\n")
            raise Exit(1) from None
        parts = source.parts
        for number, part in enumerate(parts, start=1):
            last_file = number == len(parts)
            if part.kind == "base":
                preamble = _starts_as_rdb(part.path)
                self.say(f"Start to check BASE AOF ({'RDB' if preamble else 'RESP'} format).")
                self._verdict("BASE AOF", part.name, self.check_file(part.name, part.path, last_file, preamble))
            else:
                if number == 1 or parts[number - 2].kind == "base":
                    self.say("Start to check INCR files.")
                self._verdict("INCR AOF", part.name, self.check_file(part.name, part.path, last_file, False))
        self.say("All AOF files and manifest are valid")

    def _verdict(self, what: str, name: str, outcome: str) -> None:
        if outcome == OK:
            self.say(f"{what} {name} is valid")
        elif outcome == EMPTY:
            self.say(f"{what} {name} is empty")
        elif outcome == TIMESTAMP_TRUNCATED:
            self.say(f"Successfully truncated AOF {name} to timestamp {self.to_timestamp}")
        else:
            self.say(f"Successfully truncated AOF {name}")

    def fail(self, text: str, position: int) -> None:
        self.error_pos = position
        self.error = f"0x{position:16x}: {text}"

    def check_file(self, name: str, path: str, last_file: bool, preamble: bool) -> str:
        try:
            with open(path, "rb") as f:
                data = f.read()
        except OSError as error:
            self.say(f"Cannot open file {path}: {error.strerror}, aborting...")
            raise Exit(1) from None
        size = len(data)
        if size == 0:
            return EMPTY
        reader = _Cursor(data)
        if preamble:
            end = self.rdb_report(data, name, self.out)
            if end is None:
                self.say("RDB preamble of AOF file is not sane, aborting.")
                raise Exit(1)
            self.say("RDB preamble is OK, proceeding with AOF tail...")
            reader.pos = end
        multi = 0
        start = 0  # where the last complete command (or open transaction) ended
        while True:
            if not multi:
                start = reader.pos
            if reader.pos >= size:
                reader.eof = True
                break
            first = data[reader.pos]
            if first == ord("#"):
                if not self._annotation(reader, path, last_file):
                    return TIMESTAMP_TRUNCATED
            elif first == ord("*"):
                ok, multi = self._command(reader, path, multi)
                if not ok:
                    break
            else:
                self.say(f"AOF {name} format error")
                break
        at_end = reader.eof
        if at_end and multi and not self.error:
            self.fail("Reached EOF before reading EXEC for MULTI", self.error_pos)
        if self.error:
            self.say(self.error)
        diff = size - start
        if diff == 0 and self.to_timestamp:
            self.say(f"Truncate nothing in AOF {name} to timestamp {self.to_timestamp}")
            return OK
        self.say(f"AOF analyzed: filename={name}, size={size}, ok_up_to={start}, "
                 f"ok_up_to_line={self.line}, diff={diff}")
        if diff <= 0:
            return OK
        if not self.fix:
            self.say(f"AOF {name} is not valid. Use the --fix option to try fixing it.")
            raise Exit(1)
        if not last_file:
            self.say(f"Failed to truncate AOF {name} because it is not the last file")
            raise Exit(1)
        self.say(f"This will shrink the AOF {name} from {size} bytes, with {diff} bytes, to {start} bytes")
        self.say("Continue? [y/N]: ", end="")
        self.out.flush()
        answer = self.confirm() or ""
        if answer[:1].lower() != "y":
            self.say("Aborting...")
            raise Exit(1)
        os.truncate(path, start)
        return TRUNCATED

    def _annotation(self, reader: _Cursor, path: str, last_file: bool) -> bool:
        """Pass over a `#` line; False once the file was truncated before a later timestamp."""
        position = reader.pos
        text = reader.gets(1024)
        if not (self.to_timestamp and text.startswith(b"#TS:")):
            return True
        stamp, digits_end = _strtol(text, 4)
        if text[digits_end:digits_end + 1] != b"\r":
            self.say("Invalid timestamp annotation")
            raise Exit(1)
        if stamp <= self.to_timestamp:
            return True
        if position == 0:
            self.say(f"AOF {path} has nothing before timestamp {self.to_timestamp}, aborting...")
            raise Exit(1)
        if not last_file:
            self.say(f"Failed to truncate AOF {path} to timestamp {self.to_timestamp} to offset "
                     f"{position} because it is not the last file.")
            self.say("If you insist, please delete all files after this file according to the manifest "
                     "file and delete the corresponding records in manifest file manually. Then re-run "
                     "redis-check-aof.")
            raise Exit(1)
        os.truncate(path, position)
        return False

    def _command(self, reader: _Cursor, path: str, multi: int) -> tuple[bool, int]:
        argc = self._number(reader, "*")
        if argc is None:
            return False, multi
        for index in range(argc):
            argument = self._string(reader)
            if argument is None:
                return False, multi
            if index == 0:
                word = argument.lower()
                if word == b"multi":
                    multi += 1
                    if multi > 1:
                        self.fail(f"Unexpected MULTI in AOF {path}", self.error_pos)
                        return False, multi
                elif word == b"exec":
                    multi -= 1
                    if multi:
                        self.fail(f"Unexpected EXEC in AOF {path}", self.error_pos)
                        return False, multi
        return True, multi

    def _number(self, reader: _Cursor, prefix: str) -> int | None:
        """readLong: a `*N` or `$N` line; the number as strtol reads it."""
        self.error_pos = reader.pos
        text = reader.gets(128)
        if not text:
            return None
        if text[:1] != prefix.encode():
            got = bytes(text[:1]).decode("utf-8", "backslashreplace")  # a raw byte shows as \xNN
            self.fail(f"Expected prefix '{prefix}', got: '{got}'", self.error_pos)
            return None
        value, digits_end = _strtol(text, 1)
        if text[digits_end:digits_end + 2] != b"\r\n":
            # The C tool shows the two bytes after the number in its line buffer. When the line
            # ends right after the number (the file was cut there), the second is past the
            # line's end, whatever an earlier call left in that memory; here it is shown as 00.
            after = text[digits_end:digits_end + 2] + b"\0\0"
            self.fail("Expected \\r\\n, got: " + _hex_char(after[0]) + _hex_char(after[1]), self.error_pos)
            return None
        self.line += 1
        return value

    def _string(self, reader: _Cursor) -> bytes | None:
        length = self._number(reader, "$")
        if length is None:
            return None
        if length < 0 or length > (1 << 63) - 3:
            self.fail(f"Expected to read string of {length} bytes, which is not in the suitable range",
                      self.error_pos)
            return None
        self.error_pos = reader.pos
        chunk = reader.read(length + 2)
        if len(chunk) != length + 2:
            self.fail(f"Expected to read {length + 2} bytes, got {len(chunk)} bytes", self.error_pos)
            return None
        if chunk[-2:] != b"\r\n":
            self.fail("Expected \\r\\n, got: " + _hex_char(chunk[-2]) + _hex_char(chunk[-1]), self.error_pos)
            return None
        self.line += 1
        return chunk[:-2]


class _Cursor:
    """A FILE* over bytes, as far as redis-check-aof uses one: fgets, fread and feof."""

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.eof = False

    def gets(self, size: int) -> bytes:
        """fgets(buf, size): up to size-1 bytes, through the first newline; b"" at the end."""
        end = self.data.find(b"\n", self.pos, self.pos + size - 1)
        stop = end + 1 if end >= 0 else min(self.pos + size - 1, len(self.data))
        text = self.data[self.pos:stop]
        self.pos = stop
        if stop >= len(self.data) and end < 0:
            self.eof = True
        return text

    def read(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += len(chunk)
        if len(chunk) < n:
            self.eof = True
        return chunk


def _strtol(text: bytes, start: int) -> tuple[int, int]:
    """C's strtol in base 10 from `start`: (value, index just past the digits); (0, start)
    when there are none. Leading whitespace and a sign are accepted, as there."""
    i = start
    while i < len(text) and text[i] in b" \t\n\v\f\r":
        i += 1
    sign_at = i
    if i < len(text) and text[i] in b"+-":
        i += 1
    digits_at = i
    while i < len(text) and 48 <= text[i] <= 57:
        i += 1
    if i == digits_at:
        return 0, start
    value = int(text[sign_at:i])
    return max(min(value, (1 << 63) - 1), -(1 << 63)), i


def _starts_as_rdb(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(5)
        return os.path.getsize(path) >= 8 and head == b"REDIS"
    except OSError:
        return False


# --- replaying -------------------------------------------------------------------------------

def _tool_server():
    """A reference server that never listens: the dispatcher, a keyspace, the AOF loader."""
    from reference.config import Config
    from reference.server import Server

    # No save points: a FLUSHALL in the file must not write a dump.rdb here.
    return Server(Config.from_argv(["--save", ""]))


def replay(source: AOFSource, warn=lambda message: None, progress=None):
    """The keyspace the files rebuild, loaded by the server's own code (aof-load-truncated yes:
    an incomplete command at the end of the last file is left out, with a warning). Keys whose
    expiry has passed are kept, with their expiry, as loading an AOF keeps them. AOFError if
    the files cannot be loaded; the server's log lines that say why went to `warn`."""
    server = _tool_server()
    with log.diverted(lambda message, level: warn(message) if level == "warning" else None):
        done = _replay_parts(server, source, warn, progress)
    if progress is not None:
        progress.update(done, final=True)
    return server.keyspace


def _replay_parts(server, source: AOFSource, warn, progress) -> int:
    """Each file into the server's keyspace, in order; how many bytes they held."""
    done = 0
    for number, part in enumerate(source.parts, start=1):
        last = number == len(source.parts)
        if not os.path.exists(part.path):
            raise AOFError(f"{part.path}: the file named by the manifest does not exist")
        with mapped(part.path) as data:
            step = (lambda end, base=done: progress.update(base + end)) if progress else None
            try:
                start = server.aof.load_rdb_image(part.name, data) if data[:5] == b"REDIS" else 0
                valid_up_to = server.aof.replay(part.name, data, start, on_command=step)
            except A.LoadFailed:
                raise AOFError(f"{part.path}: cannot be loaded (see above)") from None
            if valid_up_to is not None:
                if not last:
                    raise AOFError(f"{part.path}: ends inside a command, and it is not the last file")
                warn(f"{part.name}: the last {len(data) - valid_up_to} bytes (from offset {valid_up_to}) "
                     f"are an incomplete command or transaction; left out, as aof-load-truncated yes does")
            done += len(data)
    return done


def commands(source: AOFSource, progress=None):
    """Each command of the files, in order: (part, offset, db, argv). The db is the one a
    SELECT before it chose. Stops with AOFError at a format error; an incomplete command at
    the end is not listed."""
    db = 0
    done = 0
    for part in source.parts:
        with mapped(part.path) as data:
            start = 0
            if len(data) >= 5 and data[:5] == b"REDIS":
                scanner = RDBScanner(data, allow_empty=True)
                try:
                    for _ in scanner:
                        pass
                except RDBFileError as error:
                    raise AOFError(f"{part.path}: its RDB part cannot be read: {error}") from None
                start = scanner.end_offset
            offset = start
            try:
                for argv, end in A.read_commands(data, start):
                    if argv[0].lower() == b"select" and len(argv) == 2 and argv[1].isdigit():
                        db = int(argv[1])
                    yield part, offset, db, argv
                    offset = end
                    if progress is not None:
                        progress.update(done + end)
            except A.Truncated:
                pass
            except A.BadFormat:
                raise AOFError(f"{part.path}: bad format at offset {offset}") from None
            done += len(data)
