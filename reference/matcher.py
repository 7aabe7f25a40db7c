"""Argument matchers compiled from the spec's argument trees.

Strategy (as Redis's own option loops behave): the arguments that carry no keyword are taken in
the order declared; a run of keyword-headed arguments (`[NX | XX] [GET] [EX seconds | ...]`) is
matched in any order, each keyword case-insensitively. Picking two different alternatives of one
oneof is a syntax error; repeating the same one keeps the last. Whatever is left over, or missing,
is a syntax error.

Typed arguments are converted only after the whole command has matched, in the order they were
written, so `SET k v EX abc NX XX` is a syntax error before `abc` is looked at, as in Redis.
Commands whose Redis option loop converts each value as it reads it (`conversion: as-read` in
the spec; SCAN, for one) get their conversion errors in argv order instead.

A compiled matcher is `match(argv) -> Args`; the result maps each argument's spec name to its
value: bytes for strings and keys, int for integer and unix-time, float for double, True for a
keyword given, the chosen alternative's name for a oneof, a list for a repeated argument (a list
of Args for a repeated group). Absent optional arguments are absent from the result.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from spec import Arg
from reference.values import parse_float, parse_int

SYNTAX_ERROR = "ERR syntax error"


class MatchError(Exception):
    """The command does not fit its declaration; the message is the error reply."""


class _Missing(MatchError):
    """argv ended where the declaration needs more (reported with the spec's text)."""


class Args(dict):
    """Parsed arguments by spec name."""


_CONVERT = {"integer": parse_int, "unix-time": parse_int, "double": parse_float}


def _keyword_headed(arg: Arg) -> bool:
    if arg.token is not None:
        return True
    if arg.type == "oneof":
        return all(_keyword_headed(child) for child in arg.children)
    return False


def _tokens_of(arg: Arg) -> list[str]:
    if arg.token is not None:
        return [arg.token.upper()]
    return [t for child in arg.children for t in _tokens_of(child)]


class _Cursor:
    """Walks argv. `reserve` is how many items later required arguments still need;
    `deferred` collects (container, key, raw value, converter) to convert after matching."""
    __slots__ = ("argv", "pos", "reserve", "deferred")

    def __init__(self, argv, pos=0):
        self.argv = argv
        self.pos = pos
        self.reserve = 0
        self.deferred: list = []

    def left(self) -> int:
        return len(self.argv) - self.pos

    def take(self) -> bytes:
        if self.pos >= len(self.argv):
            raise _Missing()
        value = self.argv[self.pos]
        self.pos += 1
        return value

    def peek_upper(self) -> str | None:
        if self.pos >= len(self.argv):
            return None
        return self.argv[self.pos].decode("latin-1").upper()


def _min_width(arg: Arg) -> int:
    """The fewest argv items an argument can take."""
    if arg.optional:
        return 0
    keyword = 1 if arg.token is not None else 0
    if arg.type == "pure-token":
        return 1
    if arg.type == "block":
        return keyword + sum(_min_width(child) for child in arg.children)
    if arg.type == "oneof":
        return keyword + min(_min_width(child) for child in arg.children)
    return keyword + 1


def _take_value(arg: Arg, cur: _Cursor, container, key, rules) -> None:
    value = cur.take()
    container[key] = value
    if arg.name in rules.raw:
        return
    converter = rules.converters.get(arg.name)
    if converter is None:
        converter = _CONVERT.get(arg.type)
        if converter is None:
            return
        message = rules.bad_values.get(arg.name)
        if message is not None:
            converter = partial(converter, error=message)
    if rules.as_read:
        container[key] = converter(value)
    else:
        cur.deferred.append((container, key, value, converter))


def _match_body(arg: Arg, cur: _Cursor, out: Args, rules) -> None:
    """One occurrence of arg, its keyword (if any) already consumed."""
    if arg.type == "pure-token":
        out[arg.name] = True
    elif arg.type == "block":
        _match_sequence(arg.children, cur, out, rules)
    elif arg.type == "oneof":
        _match_oneof(arg, cur, out, rules)
    else:
        _take_value(arg, cur, out, arg.name, rules)


def _match_oneof(arg: Arg, cur: _Cursor, out: Args, rules) -> None:
    word = cur.peek_upper()
    for child in arg.children:
        if child.token is not None and child.token.upper() == word:
            _match_one(child, cur, out, rules)
            out[arg.name] = child.name
            return
    for child in arg.children:  # alternatives without a keyword: the first that fits
        if child.token is None and (child.type != "pure-token"):
            trial = _Cursor(cur.argv, cur.pos)
            trial.reserve = cur.reserve
            attempt = Args()
            try:
                _match_one(child, trial, attempt, rules)
                if trial.left() > trial.reserve:
                    continue
            except MatchError:
                continue
            out.update(attempt)
            out[arg.name] = child.name
            cur.pos = trial.pos
            cur.deferred.extend(trial.deferred)
            return
    raise MatchError(SYNTAX_ERROR)


def _match_item(arg: Arg, cur: _Cursor, items: list, rules) -> None:
    """One item of a repeated argument, appended to its list."""
    if arg.type in ("block", "oneof"):
        item = Args()
        _match_body(arg, cur, item, rules)
        items.append(item)
    else:
        items.append(None)
        _take_value(arg, cur, items, len(items) - 1, rules)


def _match_one(arg: Arg, cur: _Cursor, out: Args, rules) -> None:
    """One argument including its keyword; a repeated one collects its items into a list."""
    if not arg.multiple:
        if arg.token is not None:
            cur.take()
        _match_body(arg, cur, out, rules)
        return
    items = out.setdefault(arg.name, [])
    if arg.token is not None and not arg.multiple_token:
        cur.take()
    tokens = set(_tokens_of(arg)) if arg.type == "oneof" else None
    while True:
        if arg.multiple_token:
            cur.take()
        _match_item(arg, cur, items, rules)
        if cur.left() <= cur.reserve:
            break
        if arg.multiple_token and cur.peek_upper() != arg.token.upper():
            break
        if tokens is not None and cur.peek_upper() not in tokens:
            break


def _match_sequence(args, cur: _Cursor, out: Args, rules) -> None:
    """Match a declared sequence, leaving `cur.reserve` items for what follows it."""
    outer_reserve = cur.reserve
    i = 0
    while i < len(args):
        if _keyword_headed(args[i]):
            run = []
            while i < len(args) and _keyword_headed(args[i]):
                run.append(args[i])
                i += 1
            cur.reserve = outer_reserve + sum(_min_width(later) for later in args[i:])
            _match_options(run, cur, out, rules)
            continue
        arg = args[i]
        i += 1
        cur.reserve = outer_reserve + sum(_min_width(later) for later in args[i:])
        if not arg.optional or cur.left() > cur.reserve:
            _match_one(arg, cur, out, rules)
    cur.reserve = outer_reserve


def _match_options(run, cur: _Cursor, out: Args, rules) -> None:
    """Keyword-headed arguments in any order."""
    by_token: dict[str, tuple[Arg, Arg | None]] = {}
    for arg in run:
        if arg.token is not None:
            by_token[arg.token.upper()] = (arg, None)
        else:  # a oneof of keyword-headed alternatives
            for child in arg.children:
                for token in _tokens_of(child):
                    by_token[token] = (child, arg)
    while cur.left() > cur.reserve:
        word = cur.peek_upper()
        if word not in by_token:
            break
        arg, oneof = by_token[word]
        if not rules.repeats and arg.name in out:
            raise MatchError(SYNTAX_ERROR)
        if oneof is not None and oneof.name in rules.combinable:
            out.setdefault(oneof.name, set()).add(arg.name)
        elif oneof is not None:
            if out.get(oneof.name, arg.name) != arg.name:
                raise MatchError(SYNTAX_ERROR)
            out[oneof.name] = arg.name
            if arg.token is None:
                _match_body(arg, cur, out, rules)
                continue
        if arg.multiple_token:
            cur.take()
            _match_item(arg, cur, out.setdefault(arg.name, []), rules)
        else:
            _match_one(arg, cur, out, rules)
    for arg in run:
        if not arg.optional and arg.name not in out:
            raise MatchError(SYNTAX_ERROR)


@dataclass(frozen=True)
class Rules:
    """What a declaration says beyond its argument tree (see spec/grammar.lark's fields)."""
    raw: frozenset[str] = frozenset()          # handed over unconverted; the handler converts
    combinable: frozenset[str] = frozenset()   # oneofs whose alternatives may be given together
    bad_values: dict = field(default_factory=dict)  # argument name -> error for a bad number
    unknown_option: str | None = None          # error for a word left over, "{option}" replaced
    exclusive: frozenset[str] = frozenset()    # at most one of these may be given
    as_read: bool = False                      # convert numbers as they are read, not after
    missing_argument: str = SYNTAX_ERROR       # error when argv ends where more is needed
    repeats: bool = True                       # may an option be given twice (the last wins)
    converters: dict = field(default_factory=dict)  # argument name -> the handler's own parser


def compile_matcher(arguments: tuple[Arg, ...], rules: Rules = Rules()):
    """A function argv -> Args for a declared argument tree (argv without the command name).

    A combinable oneof maps to the set of alternative names given (EXPIRE's NX|XX|GT|LT: Redis
    accepts XX GT together and reports the bad combinations with texts of its own).
    """
    arguments = tuple(arguments)

    def leftover(cur: _Cursor) -> MatchError:
        if rules.unknown_option is None:
            return MatchError(SYNTAX_ERROR)
        word = cur.argv[cur.pos].decode("utf-8", "replace")
        return MatchError(rules.unknown_option.replace("{option}", word))

    if not arguments:
        def match_nothing(argv) -> Args:
            if argv:
                raise leftover(_Cursor(argv))
            return Args()
        return match_nothing

    def match(argv) -> Args:
        cur = _Cursor(argv)
        out = Args()
        try:
            _match_sequence(arguments, cur, out, rules)
        except _Missing:
            raise MatchError(rules.missing_argument) from None
        if cur.left():
            raise leftover(cur)
        if len(rules.exclusive.intersection(out)) > 1:
            raise MatchError(SYNTAX_ERROR)
        for container, key, value, converter in cur.deferred:
            container[key] = converter(value)
        return out

    return match
