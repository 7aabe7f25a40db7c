"""From an argv to a reply: the command table and the checks Redis makes before a handler runs.

The table is built once at start-up from the loaded spec: each declared command (and
subcommand) gets its handler from `reference.commands` and an argument matcher compiled from its
declared argument tree. A declared command without a handler, or a handler without a
declaration, stops the server from starting: what COMMAND lists is what the server serves.

Checks in Redis's order (processCommand in server.c): known command, known subcommand, arity,
authentication; then the matcher turns argv into named arguments and the handler runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import spec
from reference import commands
from reference.matcher import MatchError, Rules, compile_matcher
from reference.protocol import ErrorReply, wire_bytes, wire_text
from reference.values import BadValue


class CommandError(Exception):
    """Raised by a handler: the message is the whole error reply, e.g. 'ERR syntax error'."""


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"


@dataclass
class Command:
    spec: spec.CommandSpec
    handler: object            # handler(client, args) -> reply
    match: object              # argv[first_arg:] -> Args
    first_arg: int             # 1 for a command, 2 for a subcommand
    flags: frozenset[str]
    subcommands: dict[bytes, Command]
    calls: int = 0
    usec: int = 0
    rejected_calls: int = 0
    failed_calls: int = 0
    latency: dict[int, int] = field(default_factory=dict)  # µs -> calls (INFO latencystats)
    name: str = field(init=False)  # the spec's name, "get" or "client|kill" (read per command)

    def __post_init__(self) -> None:
        self.name = self.spec.name


def build_table(table: dict[str, spec.CommandSpec] | None = None) -> dict[bytes, Command]:
    """Lowercase command name -> Command, every declared command paired with its handler."""
    table = spec.load() if table is None else table
    registered = commands.load_handlers()
    used = set()

    def make(command_spec: spec.CommandSpec, first_arg: int) -> Command:
        subs = {name.encode(): make(sub, 2) for name, sub in command_spec.subcommands.items()}
        entry = registered.get(command_spec.name)
        if entry is None and not command_spec.container:
            raise RuntimeError(f"{command_spec.name} is declared in spec/ but has no handler")
        used.add(command_spec.name)
        handler, raw, converters = entry if entry is not None else (None, frozenset(), {})
        rules = matcher_rules(command_spec, raw, converters)
        return Command(spec=command_spec, handler=handler,
                       match=compile_matcher(command_spec.parse_arguments, rules),
                       first_arg=first_arg, flags=frozenset(command_spec.flags), subcommands=subs)

    result = {name.encode(): make(command_spec, 1) for name, command_spec in table.items()}
    for command_spec in [c for top in table.values() for c in (top, *top.subcommands.values())]:
        resolves_itself = any("variable_flags" in k.flags or k.begin_search == ("unknown",)
                              for k in command_spec.key_specs)
        if resolves_itself and command_spec.name not in commands.GETKEYS:
            raise RuntimeError(f"{command_spec.name}: its key specs need a @getkeys function")
    unused = set(registered) - used
    if unused:
        raise RuntimeError(f"handlers without a declaration in spec/: {sorted(unused)}")
    return result


def matcher_rules(command_spec: spec.CommandSpec, raw: frozenset[str], converters: dict) -> Rules:
    """What the matcher must know of a declaration beyond its argument tree; raw and
    converters come from the handler's registration."""
    return Rules(raw=raw, combinable=command_spec.combinable, bad_values=command_spec.bad_values,
                 unknown_option=command_spec.unknown_option, exclusive=command_spec.exclusive,
                 as_read=command_spec.conversion == "as-read", converters=converters,
                 missing_argument=command_spec.missing_argument or "ERR syntax error",
                 repeats=command_spec.repeats != "none", once=_once(command_spec),
                 overrides=command_spec.overrides,
                 **_numkeys_rules(command_spec))


def _once(command_spec: spec.CommandSpec) -> frozenset[str]:
    """The options `repeats: once NAME ...` allows only once."""
    words = command_spec.repeats.split()
    return frozenset(words[1:]) if words[0] == "once" else frozenset()


def _numkeys_rules(command_spec: spec.CommandSpec) -> dict:
    if command_spec.numkeys_errors is None:
        return {}
    too_few, too_many = command_spec.numkeys_errors
    return {"numkeys_too_few": too_few, "numkeys_too_many": too_many}


def _c_string(text: bytes, limit: int) -> str:
    """At most `limit` bytes, up to any NUL, as C's "%.*s" prints; raw bytes kept (wire_text)."""
    return wire_text(text.split(b"\0", 1)[0][:limit])


def unknown_command_error(argv: list[bytes]) -> str:
    # Quotes the name (128 bytes at most) and as many arguments as fit while the quoted list,
    # quotes and spaces included, is shorter than 128 bytes.
    args = ""
    for arg in argv[1:]:
        used = len(wire_bytes(args))
        if used >= 128:
            break
        args += f"'{_c_string(arg, 128 - used)}' "
    return f"ERR unknown command '{_c_string(argv[0], 128)}', with args beginning with: {args}"


def lookup(table: dict[bytes, Command], argv: list[bytes]) -> tuple[Command | None, str | None]:
    """The Command for argv and None, or what was found (if anything) and the error reply text
    when the command is unknown or its arity is wrong."""
    command = table.get(argv[0].lower())
    if command is None:
        return None, unknown_command_error(argv)
    if command.subcommands and len(argv) >= 2:
        sub = command.subcommands.get(argv[1].lower())
        if sub is None:
            return None, (f"ERR unknown subcommand '{_c_string(argv[1], 128)}'. "
                             f"Try {command.spec.display_name} HELP.")
        command = sub
    arity = command.spec.arity
    if (arity > 0 and len(argv) != arity) or len(argv) < -arity:
        return command, f"ERR wrong number of arguments for '{command.name}' command"
    return command, None


def run(command: Command, client, argv: list[bytes]):
    """Match the arguments and run the handler; errors become error replies. The handler
    finds the command line as given in `client.argv` (for what it propagates)."""
    client.argv = argv
    try:
        args = command.match(argv[command.first_arg:])
        return command.handler(client, args)
    except MatchError as error:
        text = error.args[0]
        if len(argv) > 1:  # a text may quote the subcommand as typed (DEBUG's: its first word)
            text = text.replace("{subcommand}", argv[1].decode("utf-8", "replace")[:128])
        return ErrorReply(text)
    except (CommandError, BadValue) as error:
        return ErrorReply(error.args[0])
