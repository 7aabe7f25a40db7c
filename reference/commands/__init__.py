"""Command handlers, one module per spec family.

A handler holds a command's semantics only: the dispatcher has already checked arity and
matched the arguments against the declaration, so it receives `(client, args)` where `args`
maps the spec's argument names to parsed values (see reference/matcher.py). It returns a reply
value (reference/protocol.py) or raises `reference.dispatch.CommandError`.

    @handler("get")
    def get(client, args):
        ...

`raw=` names arguments the handler converts itself, because Redis reports a bad value for them
with an error text of the command's own.
"""
from __future__ import annotations

import importlib

FAMILY_MODULES = ("connection", "generic", "strings", "server")

_HANDLERS: dict[str, tuple[object, frozenset[str]]] = {}


def handler(name: str, raw: tuple[str, ...] = ()):
    """Register the decorated function as the handler of command `name` ("client|kill")."""
    def register(function):
        if name in _HANDLERS:
            raise RuntimeError(f"two handlers for {name}")
        _HANDLERS[name] = (function, frozenset(raw))
        return function
    return register


def load_handlers() -> dict[str, tuple[object, frozenset[str]]]:
    for module in FAMILY_MODULES:
        importlib.import_module(f"reference.commands.{module}")
    return dict(_HANDLERS)
