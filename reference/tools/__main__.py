"""`python -m reference.tools SUBCOMMAND ...`: inspect, verify and convert RDB and AOF files.

  check FILE [--fix] [--truncate-to-timestamp T]
                                  verify a file as redis-check-rdb or redis-check-aof does;
                                  exit 0 if sound, else 1 (--fix: cut a damaged AOF tail)
  dump FILE [--db N] [--match P]  the keys as JSON lines, one object per key
  convert FILE OUT [--no-compress] [--no-checksum]
                                  write the dataset as an RDB file, with the reference's writer
  commands FILE [--db N] [--match P]
                                  an AOF's commands as JSON lines

FILE is an RDB file, or an AOF: a multi-part AOF's manifest or directory (Redis 7.0), or a
single old-style file. The format is told from the path and the first bytes (see file_format);
--format rdb|aof says it outright. An AOF is loaded as the server loads it: its commands run
through the reference's dispatcher.

A bad file never ends in a traceback: `check` prints the Redis tool's error report, the others
one line on stderr, and the exit status is 1. Progress ("NN% (MB read)") goes to stderr when it
is a terminal, or with --progress. Each subcommand is a function below registered in SUBCOMMANDS.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from reference.tools import (
    Aux,
    DuplicateKey,
    KeyEntry,
    ModuleAux,
    Progress,
    RDBFileError,
    RDBScanner,
    SelectDB,
    convert_rdb,
    json_record,
    mapped,
    printable,
    type_label,
    write_rdb,
)
from reference.tools import aof as aof_tools


def _progress(args, total_bytes: int) -> Progress | None:
    if not (args.progress or sys.stderr.isatty()):
        return None
    return Progress(total_bytes)


def _write_json_line(out, record: dict) -> None:
    out.write(json.dumps(record, ensure_ascii=False).encode("utf-8") + b"\n")


def _print_counts(scanner: RDBScanner, out) -> None:
    print(f"[info] {scanner.keys_read} keys read", file=out)
    print(f"[info] {scanner.expires} expires", file=out)
    print(f"[info] {scanner.already_expired} already expired", file=out)


def file_format(path: str, given: str | None = None) -> str:
    """"rdb" or "aof". A directory, a name ending in .aof or .manifest, a manifest's text, or
    commands are an AOF; a file starting with the RDB signature is an RDB file."""
    if given:
        return given
    if os.path.isdir(path) or path.endswith((".aof", ".manifest")):
        return "aof"
    with open(path, "rb") as f:
        head = f.read(4096)
    if head.startswith(b"REDIS") or not head:
        return "rdb"
    return "aof"


def rdb_report(data, name: str, out, progress=None, standalone: bool = True) -> int | None:
    """redis-check-rdb's report on an RDB image: AUX fields and databases as met, then the
    verdict and counts. Returns the offset just past the image if it is sound, else None.
    Not standalone: the image is an AOF's preamble, and what follows it is the AOF's tail."""
    print(f"[offset 0] Checking RDB file {name}", file=out)
    scanner = RDBScanner(data, progress=progress)
    try:
        for item in scanner:
            if isinstance(item, Aux):
                print(f"[offset {item.offset}] AUX FIELD {printable(item.name)} = '{printable(item.value)}'",
                      file=out)
            elif isinstance(item, SelectDB):
                print(f"[offset {item.offset}] Selecting DB ID {item.db}", file=out)
            elif isinstance(item, ModuleAux):
                print(f"[offset {item.offset}] MODULE AUX for: {item.module_type}", file=out)
    except RDBFileError as error:
        print("--- RDB ERROR DETECTED ---", file=out)
        print(f"[offset {error.offset}] {error.reason}", file=out)
        print(f"[additional info] While doing: {error.doing}", file=out)
        if error.key is not None:
            print(f"[additional info] Reading key '{printable(error.key)}'", file=out)
        if error.rdb_type is not None:
            print(f"[additional info] Reading type {error.rdb_type} ({type_label(error.rdb_type)})", file=out)
        _print_counts(scanner, out)
        return None
    if scanner.checksum == "ok":
        print(f"[offset {scanner.end_offset}] Checksum OK", file=out)
    elif scanner.checksum == "disabled":
        print(f"[offset {scanner.end_offset}] RDB file was saved with checksum disabled: no check performed.",
              file=out)
    if scanner.trailing and standalone:
        print(f"[offset {scanner.end_offset}] {scanner.trailing} bytes after the end of the file are ignored",
              file=out)
    print(f"[offset {scanner.end_offset}] \\o/ RDB looks OK! \\o/", file=out)
    _print_counts(scanner, out)
    return scanner.end_offset


def check(args) -> int:
    if file_format(args.file, args.format) == "aof":
        checker = aof_tools.AOFCheck(
            sys.stdout, fix=args.fix, to_timestamp=args.truncate_to_timestamp or 0,
            rdb_report=lambda data, name, out: rdb_report(data, name, out, standalone=False))
        status = checker.run(args.file)
        sys.stdout.flush()
        return status
    if args.fix or args.truncate_to_timestamp:
        print("error: --fix and --truncate-to-timestamp are for AOF files", file=sys.stderr)
        return 1
    with mapped(args.file) as data:
        return 0 if rdb_report(data, args.file, sys.stdout, _progress(args, os.path.getsize(args.file))) is not None else 1


def _key_filter(args):
    """The --db and --match filters as one predicate on (db, key)."""
    from reference.patterns import glob_match

    pattern = os.fsencode(args.match) if args.match is not None else None

    def wanted(db: int, key: bytes) -> bool:
        if args.db is not None and db != args.db:
            return False
        return pattern is None or pattern == b"*" or glob_match(pattern, key)
    return wanted


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _replayed(args):
    """The keyspace an AOF rebuilds, with progress over all its files."""
    source = aof_tools.AOFSource.open(args.file)
    progress = _progress(args, source.total_size())
    return aof_tools.replay(source, warn=_warn, progress=progress)


def dump(args) -> int:
    """One JSON object per key on stdout: an RDB file's written as it is read; an AOF's once
    its commands have run, by database, in the order the keys were created."""
    wanted = _key_filter(args)
    out = sys.stdout.buffer
    if file_format(args.file, args.format) == "aof":
        keyspace = _replayed(args)
        entries = (KeyEntry(db.id, key, None, value, db.expires.get(key), None)
                   for db in keyspace.dbs for key, value in db.data.items())
        for entry in entries:
            if wanted(entry.db, entry.key):
                _write_json_line(out, json_record(entry))
        out.flush()
        return 0
    with mapped(args.file) as data:
        for item in RDBScanner(data, progress=_progress(args, os.path.getsize(args.file)), allow_empty=True):
            if isinstance(item, KeyEntry) and wanted(item.db, item.key):
                _write_json_line(out, json_record(item))
    out.flush()
    return 0


def convert(args) -> int:
    if file_format(args.file, args.format) == "aof":
        written = write_rdb(_replayed(args), args.out, compress=args.compress, checksum=args.checksum)
        print(f"{args.out}: {written} keys written", file=sys.stderr)
        return 0
    scanner, written = convert_rdb(args.file, args.out, compress=args.compress, checksum=args.checksum,
                                   progress=_progress(args, os.path.getsize(args.file)))
    print(f"{args.out}: {written} keys written "
          f"({scanner.already_expired} already expired left out)", file=sys.stderr)
    return 0


def commands(args) -> int:
    """An AOF's commands, one JSON object per line: {"file", "offset", "db", "argv"}; with
    --db/--match, only commands of that db / whose first key argument matches."""
    from types import SimpleNamespace

    from reference.commands.server import keys_of
    from reference.dispatch import CommandError, build_table
    from reference.tools import json_bytes

    if file_format(args.file, args.format) != "aof":
        print(f"error: {args.file}: not an AOF (an RDB file holds keys, not commands: try dump)",
              file=sys.stderr)
        return 1
    wanted = _key_filter(args)
    server = SimpleNamespace(commands=build_table())  # what COMMAND GETKEYS needs of a server
    source = aof_tools.AOFSource.open(args.file)
    progress = _progress(args, source.total_size())
    out = sys.stdout.buffer
    for part, offset, db, argv in aof_tools.commands(source, progress=progress):
        if args.match is not None or args.db is not None:
            try:
                keys = [argv[position] for position, _ in keys_of(server, argv)]
            except CommandError:  # SELECT, MULTI, EXEC, FLUSHALL ...: no keys
                keys = []
            if not any(wanted(db, key) for key in keys):
                continue
        _write_json_line(out, {"file": part.name, "offset": offset, "db": db,
                               "argv": [json_bytes(a) for a in argv]})
    out.flush()
    return 0


SUBCOMMANDS = {"check": check, "dump": dump, "convert": convert, "commands": commands}


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--progress", action="store_true",
                        help="report progress on stderr even when it is not a terminal")
    common.add_argument("--format", choices=("rdb", "aof"),
                        help="the file's format, when its name and first bytes should not decide")
    top = argparse.ArgumentParser(prog="python -m reference.tools",
                                  description="Inspect, verify and convert RDB and AOF files.")
    commands = top.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    one = commands.add_parser("check", parents=[common],
                              help="verify a file (as redis-check-rdb or redis-check-aof)")
    one.add_argument("file", metavar="FILE")
    one.add_argument("--fix", action="store_true",
                     help="AOF: offer to cut the last file after its last complete command")
    one.add_argument("--truncate-to-timestamp", type=int, metavar="T",
                     help="AOF: cut the last file before its first #TS annotation later than unix time T")

    one = commands.add_parser("dump", parents=[common], help="print the keys of a file as JSON lines")
    one.add_argument("file", metavar="FILE")
    one.add_argument("--db", type=int, metavar="N", help="only the keys of database N")
    one.add_argument("--match", metavar="PATTERN", help="only keys matching a glob-style pattern")

    one = commands.add_parser("convert", parents=[common],
                              help="write a file's dataset as an RDB file, with the reference's writer")
    one.add_argument("file", metavar="FILE")
    one.add_argument("out", metavar="OUT")
    one.add_argument("--compress", action=argparse.BooleanOptionalAction, default=True,
                     help="LZF-compress long strings, as rdbcompression (default: yes)")
    one.add_argument("--checksum", action=argparse.BooleanOptionalAction, default=True,
                     help="end the file with its CRC-64, as rdbchecksum (default: yes)")

    one = commands.add_parser("commands", parents=[common], help="print an AOF's commands as JSON lines")
    one.add_argument("file", metavar="FILE")
    one.add_argument("--db", type=int, metavar="N", help="only the commands run in database N")
    one.add_argument("--match", metavar="PATTERN", help="only commands with a key matching the pattern")
    return top


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return SUBCOMMANDS[args.command](args)
    except RDBFileError as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
    except DuplicateKey as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
    except aof_tools.AOFError as error:
        print(f"error: {error}", file=sys.stderr)
    except BrokenPipeError:  # `dump ... | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        print(f"error: {error.filename or args.file}: {error.strerror or error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
