"""Command handlers, one module per spec family.

A handler holds a command's semantics only: the dispatcher has already checked arity and
matched the arguments against the declaration, so it receives `(client, args)` where `args`
maps the spec's argument names to parsed values (see reference/matcher.py). It returns a reply
value (reference/protocol.py) or raises `reference.dispatch.CommandError`.

    @handler("get")
    def get(client, args):
        ...

`raw=` names arguments the handler converts itself (when Redis checks something else first);
`convert=` gives the matcher a parser of the handler's own for an argument Redis reads its way.
"""
from __future__ import annotations

import importlib

# sort: SORT of spec/generic.md; debug: DEBUG of spec/server.md
FAMILY_MODULES = ("connection", "generic", "sort", "strings", "server", "debug", "lists", "hashes", "sets",
                  "sorted_sets", "transactions", "pubsub", "persistence", "dump", "aof", "replication",
                  "bitmaps", "hyperloglog")

_HANDLERS: dict[str, tuple[object, frozenset[str], dict]] = {}


def handler(name: str, raw: tuple[str, ...] = (), convert: dict | None = None):
    """Register the decorated function as the handler of command `name` ("client|kill").

    `convert` maps an argument name to a parser of the handler's own (bytes -> value, raising
    CommandError) that the matcher uses for it, in its usual order.
    """
    def register(function):
        assert name not in _HANDLERS, f"two handlers for {name}"  # a mistake in this package
        _HANDLERS[name] = (function, frozenset(raw), dict(convert or {}))
        return function
    return register


# Commands whose key specs cannot say where the keys are or how they are used (a spec with
# variable_flags, or unknown begin/find): command name -> function(argv) -> [(position, flags)]
# of the keys of this invocation (COMMAND GETKEYS), as Redis's getkeys procedures decide.
GETKEYS: dict[str, object] = {}


def getkeys(name: str):
    def register(function):
        GETKEYS[name] = function
        return function
    return register


def subcommand_help(client, container: str) -> list:
    """A container's HELP reply (CLIENT HELP, ...): a line naming it, then per subcommand its
    syntax and, indented, its summary, all from the spec, in the order the spec declares them."""
    from reference.protocol import Status
    from spec import load as load_spec

    spec = load_spec()[container]  # (from the spec: the command may have been renamed)
    lines = [f"{spec.display_name} <subcommand> [<arg> ...]; its subcommands:"]
    for sub in spec.subcommands.values():
        lines.append(sub.docs_syntax()[len(spec.display_name) + 1:])
        lines.append(f"    {sub.summary}")
    return [Status(line) for line in lines]


def load_handlers() -> dict[str, tuple[object, frozenset[str], dict]]:
    for module in FAMILY_MODULES:
        importlib.import_module(f"reference.commands.{module}")
    return dict(_HANDLERS)
