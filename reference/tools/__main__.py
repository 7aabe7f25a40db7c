"""`python -m reference.tools SUBCOMMAND ...`: inspect, verify and convert RDB files.

  check FILE                      verify a file as redis-check-rdb does; exit 0 if sound, else 1
  dump FILE [--db N] [--match P]  the keys as JSON lines, one object per key
  convert FILE OUT [--no-compress] [--no-checksum]
                                  rewrite a file through the reference's RDB writer

A bad file never ends in a traceback: `check` prints redis-check-rdb's error report, the others
one line on stderr, and the exit status is 1. Progress ("NN% (MB read)") goes to stderr when it
is a terminal, or with --progress. Each subcommand is a function below registered in SUBCOMMANDS;
AOF subcommands, when AOF exists, go beside them.
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
    Progress,
    RDBFileError,
    RDBScanner,
    SelectDB,
    convert_rdb,
    json_record,
    mapped,
    printable,
    type_label,
)


def _progress(args, path: str) -> Progress | None:
    if not (args.progress or sys.stderr.isatty()):
        return None
    return Progress(os.path.getsize(path))


def _print_counts(scanner: RDBScanner) -> None:
    print(f"[info] {scanner.keys_read} keys read")
    print(f"[info] {scanner.expires} expires")
    print(f"[info] {scanner.already_expired} already expired")


def check(args) -> int:
    """redis-check-rdb's report: AUX fields and databases as met, then the verdict and counts."""
    print(f"[offset 0] Checking RDB file {args.file}")
    with mapped(args.file) as data:
        scanner = RDBScanner(data, progress=_progress(args, args.file))
        try:
            for item in scanner:
                if isinstance(item, Aux):
                    print(f"[offset {item.offset}] AUX FIELD {printable(item.name)} = '{printable(item.value)}'")
                elif isinstance(item, SelectDB):
                    print(f"[offset {item.offset}] Selecting DB ID {item.db}")
        except RDBFileError as error:
            print("--- RDB ERROR DETECTED ---")
            print(f"[offset {error.offset}] {error.reason}")
            print(f"[additional info] While doing: {error.doing}")
            if error.key is not None:
                print(f"[additional info] Reading key '{printable(error.key)}'")
            if error.rdb_type is not None:
                print(f"[additional info] Reading type {error.rdb_type} ({type_label(error.rdb_type)})")
            _print_counts(scanner)
            return 1
    if scanner.checksum == "ok":
        print(f"[offset {scanner.end_offset}] Checksum OK")
    elif scanner.checksum == "disabled":
        print(f"[offset {scanner.end_offset}] RDB file was saved with checksum disabled: no check performed.")
    if scanner.trailing:
        print(f"[offset {scanner.end_offset}] {scanner.trailing} bytes after the end of the file are ignored")
    print(f"[offset {scanner.end_offset}] \\o/ RDB looks OK! \\o/")
    _print_counts(scanner)
    return 0


def dump(args) -> int:
    """One JSON object per key on stdout, written as the file is read."""
    from reference.patterns import glob_match

    pattern = os.fsencode(args.match) if args.match is not None else None
    out = sys.stdout.buffer
    with mapped(args.file) as data:
        for item in RDBScanner(data, progress=_progress(args, args.file), allow_empty=True):
            if not isinstance(item, KeyEntry):
                continue
            if args.db is not None and item.db != args.db:
                continue
            if pattern is not None and pattern != b"*" and not glob_match(pattern, item.key):
                continue
            out.write(json.dumps(json_record(item), ensure_ascii=False).encode("utf-8") + b"\n")
    out.flush()
    return 0


def convert(args) -> int:
    scanner, written = convert_rdb(args.file, args.out, compress=args.compress, checksum=args.checksum,
                          progress=_progress(args, args.file))
    print(f"{args.out}: {written} keys written "
          f"({scanner.already_expired} already expired left out)", file=sys.stderr)
    return 0


SUBCOMMANDS = {"check": check, "dump": dump, "convert": convert}


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--progress", action="store_true",
                        help="report progress on stderr even when it is not a terminal")
    top = argparse.ArgumentParser(prog="python -m reference.tools",
                                  description="Inspect, verify and convert RDB files.")
    commands = top.add_subparsers(dest="command", required=True, metavar="SUBCOMMAND")

    one = commands.add_parser("check", parents=[common], help="verify an RDB file (as redis-check-rdb)")
    one.add_argument("file", metavar="FILE")

    one = commands.add_parser("dump", parents=[common], help="print the keys of an RDB file as JSON lines")
    one.add_argument("file", metavar="FILE")
    one.add_argument("--db", type=int, metavar="N", help="only the keys of database N")
    one.add_argument("--match", metavar="PATTERN", help="only keys matching a glob-style pattern")

    one = commands.add_parser("convert", parents=[common],
                              help="rewrite an RDB file through the reference's writer")
    one.add_argument("file", metavar="FILE")
    one.add_argument("out", metavar="OUT")
    one.add_argument("--compress", action=argparse.BooleanOptionalAction, default=True,
                     help="LZF-compress long strings, as rdbcompression (default: yes)")
    one.add_argument("--checksum", action=argparse.BooleanOptionalAction, default=True,
                     help="end the file with its CRC-64, as rdbchecksum (default: yes)")
    return top


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        return SUBCOMMANDS[args.command](args)
    except RDBFileError as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
    except DuplicateKey as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
    except BrokenPipeError:  # `dump ... | head`: the reader has had enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as error:
        print(f"error: {error.filename or args.file}: {error.strerror or error}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
