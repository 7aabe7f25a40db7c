"""Handlers of spec/server.md: the keyspace as a whole, INFO, CONFIG, COMMAND, SHUTDOWN (DEBUG's
are in debug.py).

COMMAND and its subcommands describe the server's command table (`server.commands`, built from
the loaded spec), so what they report is what the server serves; nothing here re-declares a
command. Replies follow Redis 7.0's shapes: flags, ACL categories, tips and key specifications
are sets (arrays in RESP2), documentation is a map (a flat array in RESP2).
"""
from __future__ import annotations

import time

import spec
from reference import info
from reference.commands import GETKEYS, handler, subcommand_help
from reference.config import ConfigSetError
from reference.dispatch import CommandError
from reference.patterns import glob_match
from reference.protocol import OK, RespSet, Status, Verbatim
from reference.blocking import Block
from reference.server import NO_REPLY
from reference.shutdown import SHUTDOWN_ERROR, SHUTDOWN_FAILED, SHUTDOWN_WAITING
from reference.values import BadValue, parse_int

INT_MIN, INT_MAX = -(1 << 31), (1 << 31) - 1


# --- DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME ----------------------------------------------

@handler("dbsize")
def dbsize(client, args):
    return len(client.db)


@handler("flushdb")
def flushdb(client, args):
    # ASYNC and SYNC differ only in who frees the memory; the keys are gone at once either way.
    client.db.flush()
    client.force_propagation = True  # recorded even when the database was empty already
    return OK


@handler("flushall")
def flushall(client, args):
    server = client.server
    for db in server.keyspace.dbs:
        db.flush()
    server.keyspace.replica_own_expires.clear()  # (nothing left for a writable replica to expire)
    # As Redis: a background save of the old data is pointless now, and with save points
    # configured the (empty) dataset is saved at once.
    server.snapshots.kill_child()
    if server.config["save"]:
        server.snapshots.save()
    client.force_propagation = True  # recorded even when every database was empty already
    return OK


def _db_index(raw: bytes, which: str) -> int:
    # Redis reads a C int: anything else, or beyond 32 bits, is "invalid" (the spec's bad-value),
    # checked for the first index before the second is looked at; then the range check.
    error = f"ERR invalid {which} DB index"
    index = parse_int(raw, error)
    if not INT_MIN <= index <= INT_MAX:
        raise BadValue(error)
    return index


@handler("swapdb", raw=("index1", "index2"))
def swapdb(client, args):
    server = client.server
    if server.config["cluster-enabled"]:
        raise CommandError("ERR SWAPDB is not allowed in cluster mode")
    first = _db_index(args["index1"], "first")
    second = _db_index(args["index2"], "second")
    databases = len(server.keyspace)
    if not (0 <= first < databases and 0 <= second < databases):
        raise CommandError("ERR DB index is out of range")
    server.keyspace.swap(first, second)
    server.keyspace.dirty += 1  # one change, even when both are empty or the same database
    return OK


@handler("time")
def time_(client, args):
    seconds, micros = divmod(time.time_ns() // 1000, 1_000_000)
    return [str(seconds).encode(), str(micros).encode()]


# --- INFO ---------------------------------------------------------------------------------

@handler("info")
def info_(client, args):
    return Verbatim(info.info_text(client.server, args.get("section", [])))


# --- CONFIG -------------------------------------------------------------------------------

@handler("config|get")
def config_get(client, args):
    patterns = [item["parameter"] for item in args["parameter"]]
    return client.server.config.get(patterns)


@handler("config|set")
def config_set(client, args):
    pairs = [(item["parameter"], item["value"]) for item in args["parameter_value"]]
    try:
        client.server.config.set(pairs, client_is_local=client.is_local())
    except ConfigSetError as error:
        raise CommandError(error.message) from None
    return OK


@handler("config|resetstat")
def config_resetstat(client, args):
    info.reset_statistics(client.server)
    return OK


# --- COMMAND ------------------------------------------------------------------------------

# Command flags in the order Redis lists them. may_replicate, sentinel, only_sentinel and
# protected are real flags that COMMAND never shows.
FLAG_ORDER = ("write", "readonly", "denyoom", "module", "admin", "pubsub", "noscript", "blocking",
              "loading", "stale", "skip_monitor", "skip_slowlog", "asking", "fast", "no_auth",
              "no_mandatory_keys", "no_async_loading", "no_multi", "movablekeys", "allow_busy")
ACL_ORDER = ("keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
             "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
             "dangerous", "connection", "transaction", "scripting")


def _in_order(names, order) -> RespSet:
    return RespSet(Status(name) for name in order if name in names)


KEY_SPEC_FLAG_ORDER = ("RO", "RW", "OW", "RM", "access", "update", "insert", "delete",
                       "not_key", "incomplete", "variable_flags")


def key_specs(command_spec) -> list[dict]:
    """COMMAND INFO's key specifications, from the declared `key-specs:`."""
    out = []
    for key_spec in command_spec.key_specs:
        begin = key_spec.begin_search  # (spec/ declares no keyword search)
        if begin[0] == "index":
            begin_search = {"type": "index", "spec": {"index": begin[1]}}
        else:
            begin_search = {"type": "unknown", "spec": {}}
        find = key_spec.find_keys
        if find[0] == "range":
            find_keys = {"type": "range", "spec": {"lastkey": find[1], "keystep": find[2], "limit": find[3]}}
        elif find[0] == "keynum":
            find_keys = {"type": "keynum", "spec": {"keynumidx": find[1], "firstkey": find[2], "keystep": find[3]}}
        else:
            find_keys = {"type": "unknown", "spec": {}}
        notes = {"notes": key_spec.notes} if key_spec.notes else {}  # (first, where Redis puts it)
        out.append({**notes, "flags": _in_order(key_spec.flags, KEY_SPEC_FLAG_ORDER),
                    "begin_search": begin_search, "find_keys": find_keys})
    return out


def command_info(command):
    """COMMAND INFO's ten fields for one command of the table."""
    s = command.spec
    acl = {category.lstrip("@") for category in s.acl_categories}
    subcommands = ([command_info(sub) for sub in command.subcommands.values()]
                   if s.container else RespSet())
    return [s.name.encode(), s.arity, _in_order(s.flags, FLAG_ORDER),
            s.first_key, s.last_key, s.key_step,
            RespSet(Status(f"@{name}") for name in ACL_ORDER if name in acl),
            RespSet(tip.encode() for tip in s.tips),
            RespSet(key_specs(s)), subcommands]


def argument_docs(arg, key_spec_indexes) -> dict:
    """One argument in COMMAND DOCS' shape (the documented tree, not the `parse:` one).
    key_spec_indexes hands out the key spec of each key argument in turn."""
    doc = {"name": arg.name, "type": arg.type}
    if arg.type == "key" and key_spec_indexes is not None:
        doc["key_spec_index"] = next(key_spec_indexes)
    if arg.token is not None:
        doc["token"] = arg.token
    flags = [name for name, present in (("optional", arg.optional), ("multiple", arg.multiple),
                                        ("multiple_token", arg.multiple_token)) if present]
    if flags:
        doc["flags"] = RespSet(Status(flag) for flag in flags)
    if arg.type in ("oneof", "block"):
        doc["arguments"] = [argument_docs(child, key_spec_indexes) for child in arg.children]
    return doc


def command_docs(command) -> dict:
    """COMMAND DOCS' map for one command. There is no `history` (the spec does not record
    how a command changed across versions)."""
    s = command.spec
    doc = {}
    if s.summary:
        doc["summary"] = s.summary
    doc["since"] = s.since
    doc["group"] = s.group
    if s.complexity:
        doc["complexity"] = s.complexity
    if s.doc_flags:
        doc["doc_flags"] = RespSet(Status(flag) for flag in s.doc_flags)
    if s.deprecated_since:
        doc["deprecated_since"] = s.deprecated_since
    if s.replaced_by:
        doc["replaced_by"] = s.replaced_by
    if s.arguments:
        indexes = iter(spec.key_spec_indexes(s)) if s.key_specs else None
        doc["arguments"] = [argument_docs(arg, indexes) for arg in s.arguments]
    if s.container:
        doc["subcommands"] = {sub.name: command_docs(sub) for sub in command.subcommands.values()}
    return doc


def find_command(table, name: bytes):
    """A command by full name ("get", "config|get"; any case), or None."""
    parts = name.lower().split(b"|")
    if len(parts) > 2:
        return None
    command = table.get(parts[0])
    if command is None:
        return None
    if len(parts) == 1:
        return command
    return command.subcommands.get(parts[1]) if command.spec.container else None


def _all_commands(table):
    return info._walk_commands(table)


@handler("command")
def command_(client, args):
    return [command_info(command) for command in client.server.commands.values()]


@handler("command|count")
def command_count(client, args):
    return len(client.server.commands)


@handler("command|info")
def command_info_(client, args):
    table = client.server.commands
    names = args.get("command-name")
    if not names:
        return [command_info(command) for command in table.values()]
    return [None if (found := find_command(table, name)) is None else command_info(found)
            for name in names]


@handler("command|docs")
def command_docs_(client, args):
    table = client.server.commands
    names = args.get("command-name")
    if not names:
        return {command.name: command_docs(command) for command in table.values()}
    docs = {}
    for name in names:  # unknown names are left out
        found = find_command(table, name)
        if found is not None:
            docs[found.name] = command_docs(found)
    return docs


@handler("command|list")
def command_list(client, args):
    commands = list(_all_commands(client.server.commands))
    kind = args.get("filterby")
    if kind == "module-name":
        commands = []  # no module is loaded, so no command belongs to one
    elif kind == "category":
        category = args["category"].decode("latin-1").lower()
        commands = [c for c in commands if f"@{category}" in c.spec.acl_categories]
    elif kind == "pattern":
        pattern = args["pattern"]
        commands = [c for c in commands if glob_match(pattern, c.name.encode(), nocase=True)]
    return [command.name.encode() for command in commands]


def _keys_by_spec(key_spec, argv: list[bytes]) -> list[int] | None:
    """Positions the key spec finds in argv, or None when argv does not fit it. The key specs
    spec/ declares begin at an index and find a range (without a limit) or a count of keys;
    any other kind belongs to a command with a @getkeys function of its own."""
    first = key_spec.begin_search[1]
    kind, *numbers = key_spec.find_keys
    if kind == "range":
        lastkey, step, _ = numbers  # (the limit: 0 in every declared range)
        last = first + lastkey if lastkey >= 0 else len(argv) + lastkey
    else:
        keynumidx, firstkey, step = numbers
        try:
            numkeys = parse_int(argv[first + keynumidx])  # (the command's arity makes it there)
        except BadValue:
            return None
        first += firstkey
        last = first + numkeys - 1  # (a count below 1: last before first, no fit)
    if last >= len(argv) or last < first or first >= len(argv):
        return None
    return list(range(first, last + 1, step))


def keys_of(server, argv: list[bytes]) -> list[tuple[int, tuple[str, ...]]]:
    """COMMAND GETKEYS' analysis of a full command line: (position, flags) of each key, as
    Redis finds them with the key specs (or the command's own flags rule when they vary).
    Raises CommandError with Redis's texts for what cannot be analysed."""
    command = server.commands.get(argv[0].lower())
    if command is not None and command.spec.container:
        command = command.subcommands.get(argv[1].lower())
    if command is None:
        raise CommandError("ERR Invalid command specified")
    s = command.spec
    if not s.key_specs:
        raise CommandError("ERR The command has no key arguments")
    if (s.arity > 0 and len(argv) != s.arity) or len(argv) < -s.arity:
        raise CommandError("ERR Invalid number of arguments specified for command")
    if s.name in GETKEYS:  # key specs that vary or that the command resolves itself
        keys = GETKEYS[s.name](argv)
    else:
        keys = []
        for key_spec in s.key_specs:
            positions = _keys_by_spec(key_spec, argv)
            if positions is None:
                keys = []
                break
            keys.extend((i, key_spec.flags) for i in positions)
    if not keys and "no_mandatory_keys" not in s.flags:
        raise CommandError("ERR Invalid arguments specified for command")
    return keys


def _target_argv(args) -> list[bytes]:
    return [args["command"], *args["arg"]]


@handler("command|getkeys")
def command_getkeys(client, args):
    argv = _target_argv(args)
    return [argv[i] for i, _ in keys_of(client.server, argv)]


@handler("command|getkeysandflags")
def command_getkeysandflags(client, args):
    argv = _target_argv(args)
    return [[argv[i], _in_order(flags, KEY_SPEC_FLAG_ORDER)] for i, flags in keys_of(client.server, argv)]


# --- SHUTDOWN -----------------------------------------------------------------------------

@handler("shutdown")
def shutdown(client, args):
    server = client.server
    if args.get("abort"):
        if len(args) > 1:
            raise CommandError("ERR syntax error")
        if not server.abort_shutdown():
            raise CommandError("ERR No shutdown in progress.")
        return OK
    # The caller waits (blocked, no reply) while the shutdown waits for replicas; one already
    # waiting is joined, whatever this one's flags.
    waiting = Block(keys=[], timeout_ms=0, timeout_reply=None)
    if server.shutdown_deadline_ms:
        server.shutdown_waiters.append(client)
        return waiting
    choice = args.get("nosave_save")
    outcome = server.begin_shutdown(save=choice == "save", nosave=choice == "nosave", now=bool(args.get("now")),
                                    force=bool(args.get("force")))
    if outcome == SHUTDOWN_FAILED:
        raise CommandError(SHUTDOWN_ERROR)
    if outcome == SHUTDOWN_WAITING:
        server.shutdown_waiters.append(client)
        return waiting
    # Success has no reply: the server stops and the connection closes.
    client.close_after_reply = True
    return NO_REPLY


@handler("config|help")
def config_help(client, args):
    return subcommand_help(client, "config")


@handler("command|help")
def command_help(client, args):
    return subcommand_help(client, "command")
