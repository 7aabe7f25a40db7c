"""Argument matchers compiled from the spec's argument trees.

Strategy (as Redis's own option loops behave): arguments are taken in the order declared, except
that a run of optional keyword-headed arguments (`[NX | XX] [GET] [EX seconds | ...]`) is
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

from spec import Arg, counts_next
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
    """Does every form of arg start with a keyword?"""
    if arg.token is not None:
        return True
    if arg.type == "oneof":
        return all(_keyword_headed(child) for child in arg.children)
    return False


def _option(arg: Arg) -> bool:
    """An optional keyword-headed argument: one of a run matched in any order. (A required one,
    as LMOVE's `LEFT | RIGHT` twice, keeps its place.)"""
    return arg.optional and _keyword_headed(arg)


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
        return _upper(self.argv[self.pos])


def _upper(word: bytes) -> str:
    """A word as keywords are compared: upper case, each byte a character."""
    return word.decode("latin-1").upper()


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


def _converter(arg: Arg, rules: Rules):
    """The function turning a leaf argument's bytes into its value, or None to keep the bytes."""
    if arg.name in rules.raw:
        return None
    converter = rules.converters.get(arg.name)
    if converter is not None:
        return converter
    converter = _CONVERT.get(arg.type)
    message = rules.bad_values.get(arg.name)
    if converter is not None and message is not None:
        converter = partial(converter, error=message)
    return converter


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
    once: frozenset[str] = frozenset()         # ... except these (by argument or oneof name)
    numkeys_too_few: str = SYNTAX_ERROR        # numkeys below 1 (below 0 if keys are optional)
    numkeys_too_many: str = SYNTAX_ERROR       # numkeys above the arguments left
    overrides: frozenset[str] = frozenset()    # oneofs where a later alternative replaces an earlier
    converters: dict = field(default_factory=dict)  # argument name -> the handler's own parser


class _Matcher:
    """One command's compiled matcher: the plan of every sequence in its argument tree (which
    arguments form keyword runs, what each run's keywords are, how much later arguments need)
    is worked out once, here, so matching a command line only walks argv."""

    def __init__(self, arguments: tuple[Arg, ...], rules: Rules):
        self.rules = rules
        self.plans: dict[int, list] = {}        # id(sequence) -> its steps
        self.tokens: dict[int, frozenset] = {}  # id(repeated oneof) -> the keywords that continue it
        self.converters: dict[int, object] = {}  # id(leaf) -> its converter, if any
        self.arguments = arguments
        self._plan(arguments)

    def _plan(self, args) -> None:
        steps = []
        i = 0
        while i < len(args):
            if _option(args[i]):
                run = []
                while i < len(args) and _option(args[i]):
                    run.append(args[i])
                    i += 1
                need_after = sum(_min_width(later) for later in args[i:])
                steps.append(("options", need_after, self._options_table(run), tuple(run)))
                continue
            if counts_next(args, i):
                steps.append(("counted", sum(_min_width(later) for later in args[i + 2:]),
                              args[i], args[i + 1]))
                i += 2
                continue
            arg = args[i]
            i += 1
            steps.append(("one", sum(_min_width(later) for later in args[i:]), arg, None))
        self.plans[id(args)] = steps
        for arg in args:
            self._prepare(arg)

    def _prepare(self, arg: Arg) -> None:
        if arg.type == "block":
            self._plan(arg.children)
        elif arg.type == "oneof":
            for child in arg.children:
                self._prepare(child)
            self.tokens[id(arg)] = frozenset(_tokens_of(arg))
        elif arg.type != "pure-token":
            self.converters[id(arg)] = _converter(arg, self.rules)


    @staticmethod
    def _options_table(run) -> dict[str, tuple[Arg, Arg | None]]:
        by_token: dict[str, tuple[Arg, Arg | None]] = {}
        for arg in run:
            if arg.token is not None:
                by_token[arg.token.upper()] = (arg, None)
            else:  # a oneof of keyword-headed alternatives
                for child in arg.children:
                    for token in _tokens_of(child):
                        by_token[token] = (child, arg)
        return by_token

    # --- matching --------------------------------------------------------------------------

    def take_value(self, arg: Arg, cur: _Cursor, container, key) -> None:
        value = cur.take()
        container[key] = value
        converter = self.converters[id(arg)]
        if converter is None:
            return
        if self.rules.as_read:
            container[key] = converter(value)
        else:
            cur.deferred.append((container, key, value, converter))

    def body(self, arg: Arg, cur: _Cursor, out: Args) -> None:
        """One occurrence of arg, its keyword (if any) already consumed."""
        kind = arg.type
        if kind == "pure-token":
            out[arg.name] = True
        elif kind == "block":
            self.sequence(arg.children, cur, out)
        elif kind == "oneof":
            self.oneof(arg, cur, out)
        else:
            self.take_value(arg, cur, out, arg.name)

    def oneof(self, arg: Arg, cur: _Cursor, out: Args) -> None:
        word = cur.peek_upper()
        for child in arg.children:
            if child.token is not None and child.token.upper() == word:
                self.one(child, cur, out)
                out[arg.name] = child.name
                return
        for child in arg.children:  # alternatives without a keyword: the first that fits
            if child.token is None and child.type != "pure-token":
                trial = _Cursor(cur.argv, cur.pos)
                trial.reserve = cur.reserve
                attempt = Args()
                try:
                    self.one(child, trial, attempt)
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

    def item(self, arg: Arg, cur: _Cursor, items: list) -> None:
        """One item of a repeated argument, appended to its list."""
        if arg.type in ("block", "oneof"):
            item = Args()
            self.body(arg, cur, item)
            items.append(item)
        else:
            items.append(None)
            self.take_value(arg, cur, items, len(items) - 1)

    def one(self, arg: Arg, cur: _Cursor, out: Args) -> None:
        """One argument including its keyword; a repeated one collects its items into a list."""
        if not arg.multiple:
            if arg.token is not None:
                cur.take()
            self.body(arg, cur, out)
            return
        items = out.setdefault(arg.name, [])
        if arg.token is not None and not arg.multiple_token:
            cur.take()
        tokens = self.tokens.get(id(arg))
        while True:
            if arg.multiple_token:
                cur.take()
            self.item(arg, cur, items)
            if cur.left() <= cur.reserve:
                break
            if arg.multiple_token and cur.peek_upper() != arg.token.upper():
                break
            if tokens is not None and cur.peek_upper() not in tokens:
                break

    def sequence(self, args, cur: _Cursor, out: Args) -> None:
        """Match a declared sequence, leaving `cur.reserve` items for what follows it."""
        outer_reserve = cur.reserve
        for kind, need_after, what, run in self.plans[id(args)]:
            cur.reserve = outer_reserve + need_after
            if kind == "options":
                self.options(what, run, cur, out)
            elif kind == "counted":
                self.counted(what, run, cur, out)
            elif not what.optional or cur.left() > cur.reserve:
                self.one(what, cur, out)
        cur.reserve = outer_reserve

    def counted(self, count: Arg, keys: Arg, cur: _Cursor, out: Args) -> None:
        """`numkeys key [key ...]`: the number is read first (and converted at once, as Redis
        does), then exactly that many keys."""
        rules = self.rules
        converter = self.converters[id(count)] or parse_int
        number = converter(cur.take())
        if number < (0 if keys.optional else 1):
            raise MatchError(rules.numkeys_too_few)
        if number > cur.left():
            raise MatchError(rules.numkeys_too_many)
        out[count.name] = number
        out[keys.name] = [cur.take() for _ in range(number)]

    def options(self, by_token, run, cur: _Cursor, out: Args) -> None:
        """Keyword-headed arguments in any order."""
        rules = self.rules
        while cur.left() > cur.reserve:
            word = cur.peek_upper()
            if word not in by_token:
                break
            arg, oneof = by_token[word]
            if arg.name in out and (not rules.repeats or arg.name in rules.once
                                    or (oneof is not None and oneof.name in rules.once)):
                raise MatchError(SYNTAX_ERROR)
            if oneof is not None and oneof.name in rules.combinable:
                out.setdefault(oneof.name, set()).add(arg.name)
            elif oneof is not None:
                if out.get(oneof.name, arg.name) != arg.name and oneof.name not in rules.overrides:
                    raise MatchError(SYNTAX_ERROR)
                out[oneof.name] = arg.name
                if arg.token is None:
                    self.body(arg, cur, out)
                    continue
            if arg.multiple_token:
                cur.take()
                self.item(arg, cur, out.setdefault(arg.name, []))
            else:
                self.one(arg, cur, out)
        for arg in run:
            if not arg.optional and arg.name not in out:
                raise MatchError(SYNTAX_ERROR)

    def __call__(self, argv) -> Args:
        rules = self.rules
        cur = _Cursor(argv)
        out = Args()
        try:
            self.sequence(self.arguments, cur, out)
        except _Missing:
            raise MatchError(rules.missing_argument) from None
        if cur.left():
            raise _leftover(rules, cur)
        if rules.exclusive and len(rules.exclusive.intersection(out)) > 1:
            raise MatchError(SYNTAX_ERROR)
        for container, key, value, converter in cur.deferred:
            container[key] = converter(value)
        return out


def _leftover(rules: Rules, cur: _Cursor) -> MatchError:
    if rules.unknown_option is None:
        return MatchError(SYNTAX_ERROR)
    word = cur.argv[cur.pos].decode("utf-8", "replace")
    return MatchError(rules.unknown_option.replace("{option}", word))


def _positional(arg: Arg) -> bool:
    """A required, keyword-less single value (a key, a string, a number ...)."""
    return (arg.token is None and not arg.optional and not arg.multiple
            and arg.type not in ("block", "oneof", "pure-token"))


def _is_plain(arg: Arg, rules: Rules) -> bool:
    """A positional argument taken as the bytes it is, without conversion."""
    return _positional(arg) and _converter(arg, rules) is None


def _positional_layout(arguments: tuple[Arg, ...], rules: Rules):
    """How to match a declaration by position, when it can be, or None. It starts with
    positional arguments (GET key, LRANGE key start stop), after which comes one of:

      * nothing: the arguments are matched by position;
      * only optional arguments (SET key value [NX | XX] [GET] ...): an argv holding just the
        positional arguments is matched by position, any other by the general matcher;
      * one repeated plain argument or group of them (DEL key [key ...], MSET key value
        [key value ...]), perhaps after optional keywords (ZADD key [NX | XX] ... score member
        [score member ...]): the rest of argv is cut into items, unless the word after the
        positional arguments is one of those keywords (then the general matcher takes it).

    Returned as (names, converters, repeated, optional_tail, keywords): converters are the
    (name, function) of the positional arguments to convert, in order; repeated is None,
    (name, None) for a repeated argument or (name, member names) for a repeated group;
    keywords are those of the optional keywords before it."""
    count = 0
    while count < len(arguments) and _positional(arguments[count]):
        count += 1
    fixed, rest = arguments[:count], arguments[count:]
    if any(counts_next(arguments, i) for i in range(len(arguments))):
        return None  # numkeys key [key ...]: the number says how many
    names = tuple(arg.name for arg in fixed)
    converters = tuple((arg.name, converter) for arg in fixed
                       if (converter := _converter(arg, rules)) is not None)
    if converters and rules.as_read:
        return None  # a number's error would come before a missing argument's
    if len(rules.exclusive.intersection(arg.name for arg in arguments if not arg.optional)) > 1:
        return None  # the general matcher refuses every argv
    if all(arg.optional for arg in rest):
        return names, converters, None, bool(rest), frozenset()
    *options, last = rest
    if not all(_option(arg) for arg in options):
        return None
    if not (last.multiple and not last.optional and last.token is None):
        return None
    keywords = frozenset(token for arg in options for token in _tokens_of(arg))
    if last.type == "block" and all(_is_plain(child, rules) for child in last.children):
        return names, converters, (last.name, tuple(child.name for child in last.children)), False, keywords
    if last.type not in ("block", "oneof") and _converter(last, rules) is None:
        return names, converters, (last.name, None), False, keywords
    return None


def _positional_matcher(names, converters, repeated, optional_tail, keywords, rules: Rules, general):
    """A matcher for a positional layout (see above); `general` matches what it does not."""
    count = len(names)

    def convert(out: Args) -> Args:
        for name, converter in converters:  # in the order written, as the general matcher
            out[name] = converter(out[name])
        return out

    if repeated is None:
        def match_positions(argv) -> Args:
            if len(argv) == count:
                return convert(Args(zip(names, argv)))
            if optional_tail:
                return general(argv)
            if len(argv) > count:
                raise _leftover(rules, _Cursor(argv, count))
            raise MatchError(rules.missing_argument)
        return match_positions
    name, members = repeated
    width = len(members) if members else 1

    def match_repeated(argv) -> Args:
        if keywords and len(argv) > count and _upper(argv[count]) in keywords:
            return general(argv)
        rest = len(argv) - count
        if rest < width or rest % width:
            raise MatchError(rules.missing_argument)
        out = Args(zip(names, argv))
        if members is None:
            out[name] = list(argv[count:])
        else:
            out[name] = [Args(zip(members, argv[i:i + width])) for i in range(count, len(argv), width)]
        return convert(out)
    return match_repeated


def compile_matcher(arguments: tuple[Arg, ...], rules: Rules = Rules()):
    """A function argv -> Args for a declared argument tree (argv without the command name).

    A combinable oneof maps to the set of alternative names given (EXPIRE's NX|XX|GT|LT: Redis
    accepts XX GT together and reports the bad combinations with texts of its own).
    """
    arguments = tuple(arguments)
    general = _Matcher(arguments, rules)
    layout = _positional_layout(arguments, rules) if arguments else None
    if layout is not None:
        return _positional_matcher(*layout, rules, general)
    return general
