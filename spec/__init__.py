"""Load and validate redspec's command declarations.

Each family file (`spec/<family>.md`) is literate: prose around ```command blocks. The blocks are
parsed with the lark grammar in `grammar.lark` and turned into plain data: one `CommandSpec` per
command or subcommand, whose `arguments` is the argument tree in the shape `COMMAND DOCS` reports.

    >>> import spec
    >>> table = spec.load()             # {"set": CommandSpec, "client": CommandSpec, ...}
    >>> table["set"].arity
    -3
    >>> table["client"].subcommands["kill"].name
    'client|kill'
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from lark import Lark, Transformer

SPEC_DIR = Path(__file__).parent
FAMILIES = ("connection", "generic", "strings", "server", "lists", "hashes", "sets", "sorted-sets",
            "transactions", "pubsub", "persistence", "replication", "bitmaps", "hyperloglog")

ARGUMENT_TYPES = ("key", "string", "integer", "double", "pattern", "unix-time")
COMMAND_FLAGS = frozenset("""
    write readonly denyoom module admin pubsub noscript blocking loading stale skip_monitor
    skip_slowlog asking fast no_auth may_replicate sentinel only_sentinel no_mandatory_keys
    protected movablekeys no_async_loading no_multi allow_busy
""".split())
FIELDS = {"arity", "flags", "keys", "acl", "group", "since", "summary", "complexity", "reply",
          "parse", "container", "tips", "doc-flags", "deprecated-since", "replaced-by",
          "combinable", "unknown-option", "bad-value", "exclusive", "conversion", "missing-argument", "repeats", "key-specs", "numkeys", "overrides"}


class SpecError(Exception):
    """A declaration that does not parse or does not make sense."""


@dataclass(frozen=True)
class Arg:
    """One node of an argument tree, as COMMAND DOCS describes it."""
    name: str
    type: str          # one of ARGUMENT_TYPES, or pure-token, oneof, block
    token: str | None = None
    optional: bool = False
    multiple: bool = False
    multiple_token: bool = False
    children: tuple[Arg, ...] = ()

    def docs(self) -> str:
        """This argument in the notation of the Redis documentation."""
        if self.type == "pure-token":
            text = self.token
        elif self.type == "oneof":
            text = " | ".join(child.docs() for child in self.children)
        elif self.type == "block":
            text = " ".join(child.docs() for child in self.children)
        else:
            text = self.name
        if self.multiple:
            again = f"{self.token} {text}" if self.multiple_token else text
            text = f"{text} [{again} ...]"
        if self.token and self.type != "pure-token":
            text = f"{self.token} {text}"
        if self.optional:
            return f"[{text}]"
        return f"<{text}>" if self.type == "oneof" else text


KEY_SPEC_FLAGS = ("RO", "RW", "OW", "RM", "access", "update", "insert", "delete", "not_key",
                  "incomplete", "variable_flags")


@dataclass(frozen=True)
class KeySpec:
    """Where a command's keys are and how it uses them, as COMMAND INFO's key specifications:
    begin_search ("index", pos) or ("keyword", word, startfrom) or ("unknown",); find_keys
    ("range", lastkey, keystep, limit) or ("keynum", keynumidx, firstkey, keystep) or
    ("unknown",) (the keys depend on the arguments: the command finds them itself, as SORT's
    BY and STORE); flags such as RW access update."""
    begin_search: tuple
    find_keys: tuple
    flags: tuple[str, ...]
    notes: str = ""  # why the flags are what they are, where Redis says it (COMMAND INFO shows it)
    # key arguments it stands for (COMMAND DOCS' key_spec_index), when not found by position;
    # not part of what COMMAND INFO shows, so not compared
    arguments: tuple[str, ...] = field(default=(), compare=False)


def parse_key_specs(text: str) -> tuple[KeySpec, ...]:
    """`index 1 / range 0 1 0 / RW access delete; index 2 / range 0 1 0 / OW update`, each
    optionally followed by `/ name` (the key argument it stands for, in COMMAND DOCS), then
    by `notes: text` (the rest of the item, slashes included)."""
    specs = []
    for item in filter(str.strip, text.split(";")):
        item, _, notes = item.partition("notes:")
        try:
            begin, find, flags, *named = (part.split() for part in item.split("/"))
            if begin[0] == "index":
                begin_search = ("index", int(begin[1]))
            elif begin[0] == "keyword":
                begin_search = ("keyword", begin[1], int(begin[2]))
            elif begin == ["unknown"]:
                begin_search = ("unknown",)
            else:
                raise ValueError(begin[0])
            if find == ["unknown"]:
                find_keys = ("unknown",)
            elif find[0] in ("range", "keynum"):
                find_keys = (find[0], int(find[1]), int(find[2]), int(find[3]))
            else:
                raise ValueError(find[0])
        except (ValueError, IndexError):
            raise SpecError(f"bad key spec {item.strip()!r}") from None
        if set(flags) - set(KEY_SPEC_FLAGS):
            raise SpecError(f"bad key spec flags {flags}")
        specs.append(KeySpec(begin_search, find_keys, tuple(flags), notes.strip(), tuple(named[0]) if named else ()))
    return tuple(specs)


@dataclass
class CommandSpec:
    name: str                       # lowercase; "client|kill" for a subcommand
    family: str                     # the spec file it is declared in
    syntax: str                     # the syntax line as written
    arguments: tuple[Arg, ...]      # the documented argument tree
    parse_arguments: tuple[Arg, ...]  # what the server accepts (== arguments unless `parse:` says)
    arity: int
    flags: tuple[str, ...]
    first_key: int
    last_key: int
    key_step: int
    acl_categories: tuple[str, ...]
    group: str
    since: str
    summary: str = ""
    complexity: str = ""
    reply: str = ""
    tips: tuple[str, ...] = ()
    doc_flags: tuple[str, ...] = ()
    deprecated_since: str = ""
    replaced_by: str = ""
    container: bool = False
    combinable: frozenset[str] = frozenset()   # oneofs whose alternatives Redis accepts together
    unknown_option: str | None = None          # error for an unknown option, "{option}" = the word
    bad_values: dict[str, str] = field(default_factory=dict)  # argument -> error for a bad number
    exclusive: frozenset[str] = frozenset()    # optional arguments of which at most one may be given
    conversion: str = "after-match"            # or "as-read": when numbers are converted
    missing_argument: str | None = None        # error when argv ends where more is needed
    repeats: str = "last-wins"                 # "none" (no option twice) or "once NAME ...": those
    key_specs: tuple[KeySpec, ...] = ()
    numkeys_errors: tuple[str, str] | None = None  # (count too small, count too large)
    overrides: frozenset[str] = frozenset()    # oneofs whose later alternative replaces an earlier
    subcommands: dict[str, CommandSpec] = field(default_factory=dict)
    prose: str = ""                 # the markdown that follows the declaration

    @property
    def parent(self) -> str | None:
        return self.name.split("|")[0] if "|" in self.name else None

    @property
    def display_name(self) -> str:
        return self.name.replace("|", " ").upper()

    def docs_syntax(self) -> str:
        """The syntax line as the Redis documentation would print it."""
        return " ".join([self.display_name, *(arg.docs() for arg in self.arguments)])

    def fenced(self, info: str) -> str:
        """The text of the ```info block in the prose after the declaration (DEBUG's help is
        a ```help block)."""
        match = re.search(rf"^```{re.escape(info)}\n(.*?)^```$", self.prose, re.S | re.M)
        if match is None:
            raise SpecError(f"{self.name}: no ```{info} block")
        return match.group(1)


# --- the grammar ---------------------------------------------------------------------------

_parser = Lark.open(str(SPEC_DIR / "grammar.lark"), start="declaration", parser="lalr")

# A parsed syntax element before normalisation: ("token", "NX") | ("arg", name, type) |
# ("group", optional, label, [alternative, ...]) with each alternative a list of elements,
# and any element may carry "repeat" as its last item.


class _ToElements(Transformer):
    def token(self, children):
        text = str(children[0])
        return ["token", text.strip('"')]

    def argument(self, children):
        text = str(children[0])
        name, _, kind = text.partition(":")
        if kind and kind in ARGUMENT_TYPES:
            return ["arg", name, kind]
        # "ip:port" is a name, not a typed argument
        return ["arg", text, "key" if text == "key" else "string"]

    def label(self, children):
        return str(children[0])[:-1]

    def _group(self, children, optional):
        label = children[0] if isinstance(children[0], str) else None
        return ["group", optional, label, children[-1]]

    def optional_group(self, children):
        return self._group(children, True)

    def required_group(self, children):
        return self._group(children, False)

    def alternatives(self, children):
        return list(children)

    def sequence(self, children):
        return list(children)

    def element(self, children):  # only reached with a repeat
        return children[0] + ["repeat"]

    def repeat(self, children):
        return "repeat"

    def field(self, children):
        value = str(children[1]).strip() if len(children) > 1 else ""
        return (str(children[0]), value)

    def syntax_line(self, children):
        return (str(children[0]), children[1] if len(children) > 1 else [])

    def declaration(self, children):
        return children[0], dict(children[1:])


def _repeated(element) -> bool:
    return element[-1] == "repeat"


def _bare(element):
    return element[:-1] if _repeated(element) else element


def _same_shape(a, b) -> bool:
    """Equal as written, ignoring group labels (used to spot the docs form `x [x ...]`)."""
    def strip(e):
        if e[0] == "group":
            return ["group", e[1], None, [[strip(x) for x in alt] for alt in e[3]]]
        return e
    return strip(a) == strip(b)


def _fold_repeats(elements: list) -> list:
    """Rewrite the docs form `x [x ...]` (and `A b [A b ...]`) into `x ...` with repeat marks.

    A trailing `[label: x y ...]` that repeats the k elements before it folds them into one
    repeated required group, labelled by the label given in the brackets.
    """
    out: list = []
    for element in elements:
        if (element[0] == "group" and element[1] and len(element[3]) == 1
                and element[3][0] and _repeated(element[3][0][-1])):
            body = element[3][0][:-1] + [_bare(element[3][0][-1])]
            k = len(body)
            if len(out) >= k and all(_same_shape(a, b) for a, b in zip(out[-k:], body)):
                del out[-k:]
                if k == 1 and element[2] is None:
                    out.append(body[0] + ["repeat"])
                else:
                    out.append(["group", False, element[2], [body], "repeat"])
                continue
        out.append(element)
    return out


def counts_next(args, i: int) -> bool:
    """Is args[i] the number of the keys that follow it? In the notation an integer argument
    right before a repeated key argument (`numkeys key [key ...]`) always is."""
    return (args[i].type == "integer" and not args[i].optional and not args[i].multiple
            and args[i].token is None and i + 1 < len(args)
            and args[i + 1].type == "key" and args[i + 1].multiple and args[i + 1].token is None)


def _default_name(args: list[Arg]) -> str:
    return "_".join(a.name for a in args)


def _normalise_sequence(elements: list) -> list[Arg]:
    """A sequence of elements becomes a list of Args: a keyword immediately followed by an
    argument (or a required group) lends it its token, as COMMAND DOCS shows `EX seconds`."""
    elements = _fold_repeats(elements)
    args: list[Arg] = []
    i = 0
    while i < len(elements):
        element = elements[i]
        if element[0] == "token":
            token = element[1]
            nxt = elements[i + 1] if i + 1 < len(elements) else None
            lends = nxt is not None and (nxt[0] == "arg" or (nxt[0] == "group" and not nxt[1]))
            # A keyword followed by several arguments in one group is a block (handled by the caller).
            if lends and not _repeated(element):
                target = _normalise_element(nxt)
                args.append(_with(target, token=token))
                i += 2
                continue
            args.append(Arg(name=token.lower(), type="pure-token", token=token,
                            multiple=_repeated(element)))
        else:
            args.append(_normalise_element(element))
        i += 1
    return args


def _with(arg: Arg, **changes) -> Arg:
    values = {**arg.__dict__, **changes}
    return Arg(**values)


def _normalise_element(element) -> Arg:
    repeated = _repeated(element)
    element = _bare(element)
    if element[0] == "arg":
        return Arg(name=element[1], type=element[2], multiple=repeated)
    if element[0] == "token":
        return Arg(name=element[1].lower(), type="pure-token", token=element[1], multiple=repeated)
    _, optional, label, alternatives = element
    if len(alternatives) == 1:
        arg = _normalise_alternative(alternatives[0], label)
    else:
        members = [_normalise_alternative(alt, None) for alt in alternatives]
        arg = Arg(name=label or _default_name(members), type="oneof", children=tuple(members))
    # `[GET pattern [GET pattern ...]]`: the keyword repeats with the argument
    multiple_token = repeated and arg.token is not None
    return _with(arg, optional=optional or arg.optional, multiple=repeated or arg.multiple,
                 multiple_token=multiple_token or arg.multiple_token)


def _normalise_alternative(sequence: list, label: str | None) -> Arg:
    """One alternative of a group: a single thing, a keyword with what follows, or a block.

    `[LIMIT offset count]` is a block carrying its keyword, while `[MATCH pattern]` is the argument
    `pattern` carrying the keyword MATCH. A labelled group is always a block (or a oneof), but
    for a lone keyword: `[change: CH]` names the keyword.
    """
    sequence = _fold_repeats(sequence)
    if label and len(sequence) == 1 and sequence[0][0] == "token":
        # `[change: CH]`: a keyword whose name is not its own lowercase
        return Arg(name=label, type="pure-token", token=sequence[0][1], multiple=_repeated(sequence[0]))
    only_tokens = all(element[0] == "token" for element in sequence)  # `(no-one: NO ONE)`
    if (sequence and sequence[0][0] == "token" and (len(sequence) > 2 or label) and not _repeated(sequence[0])
            and not only_tokens):
        # `LIMIT offset count`: a block that carries the keyword
        token = sequence[0][1]
        members = _normalise_sequence(sequence[1:])
        return Arg(name=label or token.lower(), type="block", token=token, children=tuple(members))
    members = _normalise_sequence(sequence)
    if len(members) == 1 and not label:
        return _with(members[0], name=label or members[0].name)
    return Arg(name=label or _default_name(members), type="block", children=tuple(members))


# --- declarations --------------------------------------------------------------------------

_BLOCK = re.compile(r"^```command\n(.*?)^```\n?", re.S | re.M)


def parse_declaration(text: str, family: str = "", containers: frozenset[str] = frozenset(),
                      prose: str = "") -> CommandSpec:
    """One ```command block's text -> CommandSpec."""
    try:
        tree = _parser.parse(text.strip() + "\n")
    except Exception as exc:  # lark's own exceptions carry line and column
        raise SpecError(f"{family}: cannot parse declaration:\n{text}\n{exc}") from None
    (word, elements), fields = _ToElements().transform(tree)
    unknown = set(fields) - FIELDS
    if unknown:
        raise SpecError(f"{family}: {word}: unknown fields {sorted(unknown)}")
    name = word.lower()
    if word.lower() in containers and elements and elements[0][0] == "token":
        name = f"{name}|{elements[0][1].lower()}"
        elements = elements[1:]
    arguments = tuple(_normalise_sequence(elements))
    parse_arguments = arguments
    if "parse" in fields:
        (_, parse_elements), _ = _ToElements().transform(_parser.parse(fields["parse"] + "\n"))
        if "|" in name:
            parse_elements = parse_elements[1:]
        parse_arguments = tuple(_normalise_sequence(parse_elements))

    def need(key):
        if key not in fields:
            raise SpecError(f"{family}: {name}: missing field {key!r}")
        return fields[key]

    flags = tuple(need("flags").split())
    bad_flags = set(flags) - COMMAND_FLAGS
    if bad_flags:
        raise SpecError(f"{family}: {name}: unknown flags {sorted(bad_flags)}")
    acl = tuple(fields.get("acl", "").split())
    if any(not c.startswith("@") for c in acl):
        raise SpecError(f"{family}: {name}: ACL categories are written @name")
    first, last, step = (int(x) for x in fields.get("keys", "0 0 0").split())
    return CommandSpec(
        name=name, family=family, syntax=text.strip().splitlines()[0],
        arguments=arguments, parse_arguments=parse_arguments,
        arity=int(need("arity")), flags=flags, first_key=first, last_key=last, key_step=step,
        acl_categories=acl, group=need("group"), since=need("since"),
        summary=fields.get("summary", ""), complexity=fields.get("complexity", ""),
        reply=fields.get("reply", ""), tips=tuple(fields.get("tips", "").split()),
        doc_flags=tuple(fields.get("doc-flags", "").split()),
        deprecated_since=fields.get("deprecated-since", ""),
        replaced_by=fields.get("replaced-by", ""),
        container=fields.get("container", "") == "yes", prose=prose,
        combinable=frozenset(fields.get("combinable", "").split()),
        unknown_option=fields.get("unknown-option") or None,
        bad_values=_bad_values(fields.get("bad-value", "")),
        exclusive=frozenset(fields.get("exclusive", "").split()),
        conversion=fields.get("conversion", "after-match"),
        missing_argument=fields.get("missing-argument") or None,
        repeats=fields.get("repeats", "last-wins"),
        key_specs=parse_key_specs(fields.get("key-specs", "")),
        numkeys_errors=_numkeys_errors(fields.get("numkeys")),
        overrides=frozenset(fields.get("overrides", "").split()),
    )


def _numkeys_errors(text: str | None) -> tuple[str, str] | None:
    """`numkeys: ERR numkeys should be greater than 0 | ERR syntax error`"""
    if text is None:
        return None
    too_few, _, too_many = text.partition(" | ")
    return too_few.strip(), (too_many.strip() or "ERR syntax error")


def _bad_values(text: str) -> dict[str, str]:
    """`bad-value: cursor = ERR invalid cursor; index1 = ERR invalid first DB index`"""
    pairs = (item.split("=", 1) for item in text.split(";") if item.strip())
    return {name.strip(): message.strip() for name, message in pairs}


def load_family(family: str, path: Path | None = None) -> list[CommandSpec]:
    text = (path or SPEC_DIR / f"{family}.md").read_text()
    blocks = list(_BLOCK.finditer(text))
    containers = frozenset(
        m.group(1).split()[0].lower() for m in blocks if re.search(r"^container:\s*yes", m.group(1), re.M))
    specs = []
    for i, match in enumerate(blocks):
        end = blocks[i + 1].start() if i + 1 < len(blocks) else len(text)
        prose = text[match.end():end].strip()
        specs.append(parse_declaration(match.group(1), family, containers, prose))
    return specs


@cache
def load() -> dict[str, CommandSpec]:
    """Every declared command by lowercase name; subcommands hang off their container."""
    table: dict[str, CommandSpec] = {}
    subcommands: list[CommandSpec] = []
    for family in FAMILIES:
        for command in load_family(family):
            if command.parent:
                subcommands.append(command)
            elif command.name in table:
                raise SpecError(f"{command.name} declared twice")
            else:
                table[command.name] = command
    for command in subcommands:
        container = table.get(command.parent)
        if container is None or not container.container:
            raise SpecError(f"{command.name}: no container command {command.parent!r}")
        container.subcommands[command.name.split("|")[1]] = command
    for command in table.values():
        validate(command)
        for sub in command.subcommands.values():
            validate(sub)
    return table


def validate(command: CommandSpec) -> None:
    """Checks that hold for every declaration whatever its family."""
    def walk(args):
        for arg in args:
            yield arg
            yield from walk(arg.children)

    if command.conversion not in ("after-match", "as-read"):
        raise SpecError(f"{command.name}: conversion is after-match or as-read")
    if command.repeats not in ("last-wins", "none") and not command.repeats.startswith("once "):
        raise SpecError(f"{command.name}: repeats is last-wins, none or once NAME ...")
    for arg in walk(command.arguments):
        if arg.type in ("oneof", "block") and not arg.children:
            raise SpecError(f"{command.name}: empty group {arg.name}")
    if command.arity == 0:
        raise SpecError(f"{command.name}: arity 0")
    if command.key_step < 0 or (command.first_key == 0) != (command.key_step == 0):
        raise SpecError(f"{command.name}: inconsistent key positions")
    if command.first_key and not command.key_specs:
        raise SpecError(f"{command.name}: a command with keys declares its key-specs")


def all_commands() -> list[CommandSpec]:
    """Every command and subcommand, containers first."""
    out = []
    for command in load().values():
        out.append(command)
        out.extend(command.subcommands.values())
    return out


def arguments_from_docs(arguments: list[dict]) -> tuple[Arg, ...]:
    """COMMAND DOCS' argument list (as a list of dicts with str keys and values) -> Args,
    so a target's documentation can be compared with a declaration."""
    def one(doc: dict) -> Arg:
        flags = doc.get("flags", [])
        return Arg(name=doc["name"], type=doc["type"], token=doc.get("token"),
                   optional="optional" in flags, multiple="multiple" in flags,
                   multiple_token="multiple_token" in flags,
                   children=tuple(one(child) for child in doc.get("arguments", [])))
    return tuple(one(doc) for doc in arguments)


def key_specs_from_info(specs: list[dict]) -> tuple[KeySpec, ...]:
    """COMMAND INFO's key specifications (dicts with str keys and values, as from a RESP3
    reply) -> KeySpecs, to compare a target with a declaration."""
    out = []
    for item in specs:
        begin, find = item["begin_search"], item["find_keys"]
        if begin["type"] == "index":
            begin_search = ("index", begin["spec"]["index"])
        elif begin["type"] == "keyword":
            begin_search = ("keyword", begin["spec"]["keyword"], begin["spec"]["startfrom"])
        else:
            begin_search = ("unknown",)
        f = find["spec"]
        if find["type"] == "range":
            find_keys = ("range", f["lastkey"], f["keystep"], f["limit"])
        elif find["type"] == "keynum":
            find_keys = ("keynum", f["keynumidx"], f["firstkey"], f["keystep"])
        else:
            find_keys = ("unknown",)
        out.append(KeySpec(begin_search, find_keys, tuple(item["flags"]), item.get("notes", "")))
    return tuple(out)


def key_spec_indexes(command: CommandSpec) -> list[int]:
    """The key spec each key argument refers to in COMMAND DOCS, in argument order: the one that
    names it (`/ destination`), else by position: the n-th key argument has the n-th key spec,
    the last key spec taking any further ones."""
    def keys(args):
        for arg in args:
            if arg.type == "key":
                yield arg
            yield from keys(arg.children)
    count = len(command.key_specs)
    if not count:
        return []
    named = {name: i for i, key_spec in enumerate(command.key_specs) for name in key_spec.arguments}
    return [named.get(arg.name, min(i, count - 1)) for i, arg in enumerate(keys(command.arguments))]
