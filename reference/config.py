"""redis-server's configuration: command line, config file, CONFIG GET and CONFIG SET.

The reference server is started with the same words as redis-server 7.0:

    python -m reference [config-file | -] [--name value ...] [-]

`Config.from_argv` turns those words into a `Config` the way redis-server does:
the command line options are rewritten into config-file lines ("--port 7000"
becomes the line `port "7000"`) and appended after the config file and stdin,
so one loader reads all three, and an error anywhere is reported by line
number in that combined text. Errors raise `ConfigError`, whose `text` is
exactly what redis-server prints (to stderr, or to its log when `logged`).

The table of every option Redis 7.0 has (type, default, bounds, flags) is
`OPTIONS` in reference/config_options.py. A value lives in a Config in its
typed form (int, bool, str, list...) and is rendered to text only for CONFIG GET.

`Config.get` and `Config.set` are CONFIG GET and CONFIG SET, with Redis's
error replies (`ConfigSetError.message`), its all-or-nothing rollback and its
glob matching (reference/patterns.py, Redis's stringmatchlen).

Deliberately not supported (StartupExit with a plain message): sentinel mode
(--sentinel), --test-memory N and --check-system. `-v` reports malloc=libc.
"""

from __future__ import annotations

import errno
import glob
import math
import os
import stat
import sys

from reference.config_options import (
    _BY_NAME, _DEPRECATED_DIRECTIVES, HIDDEN, IMMUTABLE, LLONG_MAX, MULTI_ARG,
    NOTIFY_ALL, NOTIFY_CLASSES, NOTIFY_TARGETS, OPTIONS, PROTECTED, ULLONG_MAX, VOLATILE, Option,
    _ascii_lower, find_option,
)
from reference.patterns import glob_match
from reference.protocol import split_inline_args
from reference.values import string2ll

REDIS_VERSION = "7.0.15"

CLIENT_CLASSES = ("normal", "slave", "pubsub")  # client-output-buffer-limit classes, in GET order
BIND_MAX = 16


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------

class StartupExit(Exception):
    """redis-server stops before serving: write `text` to `stream`
    ("stdout" or "stderr") and exit with `status`. When `logged` is true
    Redis reports `text` through its log (level warning), not as raw output."""

    def __init__(self, text: str, status: int, stream: str = "stderr", logged: bool = False):
        super().__init__(text)  # str(self) is the text
        self.text, self.status, self.stream, self.logged = text, status, stream, logged


class ConfigError(StartupExit):
    """A fatal error in the command line or a config file (exit status 1)."""

    def __init__(self, reason: str, line_number: int | None = None, line: str | None = None,
                 logged: bool = False):
        if logged:
            text = reason
        else:
            text = f"\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***\n"
            if line_number is not None:
                text += f"Reading the configuration file, at line {line_number}\n>>> '{line}'\n"
            text += reason + "\n"
        super().__init__(text, status=1, stream="stderr", logged=logged)
        self.reason, self.line_number, self.line = reason, line_number, line


class ConfigSetError(Exception):
    """CONFIG SET refused: `message` is the error reply without '-' and CRLF."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class ConfigApplyError(Exception):
    """Raised by an on_change callback that cannot apply the new value;
    CONFIG SET then restores every value it set and fails with `str(self)`."""


class _Invalid(Exception):
    """A value (or argument count) an option refuses; str() is Redis's reason."""



# --------------------------------------------------------------------------
# C-library and sds parsing, byte for byte as Redis does it
# --------------------------------------------------------------------------



def split_args(line: bytes) -> list[bytes] | None:
    """sdssplitargs: split a line into words, honouring "double quotes" (with
    \\n \\r \\t \\b \\a \\xHH and \\<char> escapes) and 'single quotes' (only
    \\' escapes). None on unbalanced quotes or a closing quote not followed by
    a space."""
    # sdssplitargs over a C string: the line ends at a NUL, as Redis reads it.
    return split_inline_args(line.split(b"\0", 1)[0])


def repr_arg(arg: bytes) -> bytes:
    """sdscatrepr: quote `arg` so that split_args gives it back."""
    out = bytearray(b'"')
    named = {ord("\\"): b"\\\\", ord('"'): b'\\"', ord("\n"): b"\\n", ord("\r"): b"\\r",
             ord("\t"): b"\\t", ord("\a"): b"\\a", ord("\b"): b"\\b"}
    for byte in arg:
        if byte in named:
            out += named[byte]
        elif 0x20 <= byte <= 0x7E:
            out.append(byte)
        else:
            out += b"\\x%02x" % byte
    return bytes(out + b'"')


def string_to_int(text: str) -> int | None:
    """string2ll over text (a strict signed 64-bit decimal), or None."""
    return string2ll(text.encode("utf-8", "surrogateescape"))


def c_strtoll(text: str, base: int = 10) -> tuple[int, bool, bool]:
    """strtoll: (value, whole string used, overflowed). Leading spaces and a
    sign are accepted; "" is 0 and "wholly used" (the end pointer stays on its
    NUL); overflow saturates."""
    i, n = 0, len(text)
    while i < n and text[i] in " \t\n\v\f\r":
        i += 1
    sign = 1
    if i < n and text[i] in "+-":
        sign = -1 if text[i] == "-" else 1
        i += 1
    start = i
    digits = "0123456789"[:base]
    while i < n and text[i] in digits:
        i += 1
    if i == start:  # no conversion: the end pointer is the start of the string
        return 0, n == 0, False
    value = sign * int(text[start:i], base)
    clamped = max(-2**63, min(LLONG_MAX, value))
    return clamped, i == n, clamped != value


def memory_to_int(text: str) -> int | None:
    """memtoull: digits followed by b, k, kb, m, mb, g or gb (any case),
    wrapping to 64 bits as C does. None when it is not a memory value."""
    if text.startswith("-"):
        return None
    i = 0
    while i < len(text) and "0" <= text[i] <= "9":
        i += 1
    digits, unit = text[:i], _ascii_lower(text[i:])
    units = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000**2, "mb": 1024**2,
             "g": 1000**3, "gb": 1024**3}
    if unit not in units or len(digits) >= 128:
        return None
    value = min(int(digits), ULLONG_MAX) if digits else 0  # strtoull("") is 0, overflow saturates
    return value * units[unit] % 2**64


def string_to_double(text: str) -> float | None:
    """string2d: strtod over the whole string, no leading space, no NaN."""
    if not text or text[0] in " \t\n\v\f\r" or "_" in text or text[-1] in " \t\n\v\f\r":
        return None
    try:
        value = float.fromhex(text) if "0x" in _ascii_lower(text) else float(text)
    except ValueError:
        return None
    if math.isnan(value):
        return None
    if math.isinf(value) and "inf" not in _ascii_lower(text):
        return None  # overflow to infinity is a range error; "inf" itself is fine
    if value == 0 and any(c in "123456789" for c in text.split("e")[0].split("E")[0]):
        return None  # underflow to zero is a range error
    return value


def _c_int(value: int) -> int:
    """Truncate to a C int as an assignment does."""
    return (value + 2**31) % 2**32 - 2**31


# --------------------------------------------------------------------------
# Parsing and rendering one option's value
# --------------------------------------------------------------------------

def _enum_error(option: Option) -> str:
    names = ", ".join(name for name, _ in option.choices)
    return ("argument(s) must be one of the following: " + names)[:255]  # Redis's 256-byte buffer


def _parse_number(option: Option, text: str) -> int:
    value = None
    if option.kind == "memory":
        value = memory_to_int(text)
        if value is not None and not option.unsigned:
            value = value - 2**64 if value > LLONG_MAX else value  # stored into a signed long long
    if value is None and option.percent and len(text) > 1 and text.endswith("%"):
        percent = string_to_int(text[:-1])
        if percent is not None and percent >= 0:
            value = -percent  # a percentage is stored negated
    if value is None and option.kind == "octal":
        number, whole, overflow = c_strtoll(text, 8)
        value = number if whole and not overflow else None
    if value is None and option.kind == "int":
        value = string_to_int(text)
    if value is None:
        raise _Invalid({"int": "argument couldn't be parsed into an integer",
                        "octal": "argument couldn't be parsed as an octal number"}.get(
            option.kind, "argument must be a memory or percent value" if option.percent
            else "argument must be a memory value"))
    if option.unsigned:
        value %= 2**64  # C compares unsigned types as unsigned: -1 is huge
        if not option.low <= value <= option.high:
            fmt = "o" if option.kind == "octal" else "d"
            raise _Invalid(f"argument must be between {option.low:{fmt}} and "
                           f"{option.high:{fmt}} inclusive")
    elif option.percent and value < 0:
        if value < option.low:
            raise _Invalid(f"percentage argument must be less or equal to {-option.low}")
    elif not option.low <= value <= option.high:
        raise _Invalid(f"argument must be between {option.low} and {option.high} inclusive")
    return value


def _parse_enum(option: Option, words: list[str]):
    multi = option.kind == "flags"
    if not words or (not multi and len(words) != 1):
        raise _Invalid(_enum_error(option))
    value = 0
    for word in words:
        matches = [v for name, v in option.choices if name == _ascii_lower(word)]
        if not matches:
            raise _Invalid(_enum_error(option))
        value |= matches[0]
    # A plain enum is kept as its canonical (first) name; flags as a bit mask.
    return value if multi else next(name for name, v in option.choices if v == value)


def _render_flags(option: Option, value: int) -> str:
    names, unmatched = [], value
    for name, bits in option.choices:
        if bits == value:
            return name
        if bits and bits == unmatched & bits:
            names.append(name)
            unmatched &= ~bits
    return " ".join(names) if names and not unmatched else "unknown"


def _parse_output_buffer_limits(words: list[str], current: dict) -> dict:
    if len(words) % 4:
        raise _Invalid("Wrong number of arguments in buffer limit configuration.")
    limits = dict(current)
    for i in range(0, len(words), 4):
        name = {"replica": "slave"}.get(_ascii_lower(words[i]), _ascii_lower(words[i]))
        if name not in CLIENT_CLASSES:  # 'master' is a client class but has no limits
            raise _Invalid("Invalid client class specified in buffer limit configuration.")
        hard, soft = memory_to_int(words[i + 1]), memory_to_int(words[i + 2])
        seconds, whole, _ = c_strtoll(words[i + 3])
        seconds = _c_int(seconds)
        if hard is None or soft is None or seconds < 0 or not whole:
            raise _Invalid("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
        limits[name] = (hard, soft, seconds)
    return limits


def _parse_oom_values(words: list[str]) -> tuple:
    if len(words) != 3:
        raise _Invalid("wrong number of arguments")
    values = []
    for word in words:
        value, whole, _ = c_strtoll(word)
        if not whole or not -2000 <= value <= 2000:
            raise _Invalid("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
        values.append(value)
    return tuple(values)


def _parse_notify(words: list[str]) -> int:
    flags = 0  # (one word: not a multi-word option)
    for char in words[0]:
        if char == "A":
            flags |= NOTIFY_ALL
        elif char in NOTIFY_CLASSES or char in NOTIFY_TARGETS:
            flags |= NOTIFY_CLASSES.get(char) or NOTIFY_TARGETS[char]
        else:
            raise _Invalid("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
    return flags


def _render_notify(flags: int) -> str:
    if flags & NOTIFY_ALL == NOTIFY_ALL:
        text = "A"
    else:
        text = "".join(char for char, bit in NOTIFY_CLASSES.items() if flags & bit)
    return text + "".join(char for char, bit in NOTIFY_TARGETS.items() if flags & bit)


def _parse_bind(words: list[str]) -> list[str]:
    if len(words) > BIND_MAX:
        raise _Invalid("Too many bind addresses specified.")
    return [] if words == [""] else list(words)


def _parse_replicaof(words: list[str]):
    if len(words) != 2:
        raise _Invalid("wrong number of arguments")
    host, port = words
    if _ascii_lower(host) == "no" and _ascii_lower(port) == "one":
        return None
    number, whole, _ = c_strtoll(port)
    if not whole or not 0 <= number <= 65535:
        raise _Invalid("Invalid master port")
    return (host, number)


def _parse_percentiles(words: list[str]) -> list[float]:
    if words == [""]:
        return []
    values = []
    for word in words:
        value = string_to_double(word)
        if value is None:
            raise _Invalid("Invalid latency-tracking-info-percentiles parameters")
        if not 0.0 <= value <= 100.0:
            raise _Invalid("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
        values.append(value)
    return values


def _render_double(value: float) -> str:
    text = f"{value:f}"  # printf %f, then trailing zeros (and a bare '.') dropped
    return text.rstrip("0").rstrip(".") if "." in text else text


def _render(option: Option, value) -> str:
    """How CONFIG GET shows a typed value."""
    kind = option.kind
    if kind == "bool":
        return "yes" if value else "no"
    if kind in ("int", "memory"):
        return f"{-value}%" if option.percent and value < 0 else str(value)
    if kind == "octal":
        return f"{value:o}"
    if kind == "flags":
        return _render_flags(option, value)
    if kind == "save":
        return " ".join(f"{seconds} {changes}" for seconds, changes in value)
    if kind == "client-output-buffer-limit":
        return " ".join(f"{name} {value[name][0]} {value[name][1]} {value[name][2]}"
                        for name in CLIENT_CLASSES)
    if kind == "oom-score-adj-values":
        return " ".join(map(str, value))
    if kind == "notify-keyspace-events":
        return _render_notify(value)
    if kind == "bind":
        return " ".join(value)
    if kind == "replicaof":
        return f"{value[0]} {value[1]}" if value else ""
    if kind == "latency-tracking-info-percentiles":
        return " ".join(map(_render_double, value))
    return value  # enum, string, dir



# --------------------------------------------------------------------------
# The configuration of one server
# --------------------------------------------------------------------------

# Special options CONFIG SET always counts as changed (their setters report so).
_ALWAYS_CHANGED = {"dir", "save", "client-output-buffer-limit", "notify-keyspace-events", "bind",
                   "replicaof", "latency-tracking-info-percentiles"}

USAGE = """\
Usage: ./redis-server [/path/to/redis.conf] [options] [-]
       ./redis-server - (read config from stdin)
       ./redis-server -v or --version
       ./redis-server -h or --help
       ./redis-server --test-memory <megabytes>
       ./redis-server --check-system

Examples:
       ./redis-server (run the server with default conf)
       echo 'maxmemory 128mb' | ./redis-server -
       ./redis-server /etc/redis/6379.conf
       ./redis-server --port 7777
       ./redis-server --port 7777 --replicaof 127.0.0.1 8888
       ./redis-server /etc/myredis.conf --loglevel verbose -
       ./redis-server /etc/myredis.conf --loglevel verbose

Sentinel mode:
       ./redis-server /etc/sentinel.conf --sentinel
"""
VERSION_LINE = f"Redis server v={REDIS_VERSION} sha=00000000:0 malloc=libc bits=64 build=0\n"


def _text(word: bytes) -> str:
    return word.decode("utf-8", "surrogateescape")


def _bytes(word) -> bytes:
    return word if isinstance(word, bytes) else os.fsencode(word)


def _clamp_hz(config: Config, name: str) -> None:
    # hz is a hint: out-of-range values are accepted and then capped.
    config._values["hz"] = min(max(config._values["hz"], 1), 500)


class Config:
    """Every option's typed value, plus what the config file said besides options.

    Attributes besides the options:
      config_file       absolute path of the config file given on the command line, or None
      read_stdin        True when the config was also read from stdin ('-')
      renamed_commands  [(old, new)] from rename-command ('' new name: command removed)
      modules           [(path, [arg, ...])] from loadmodule
      module_configs    {name: value} for `module.option value` lines
    """

    def __init__(self):
        self._values = {option.name: option.default for option in OPTIONS}
        self._values["dir"] = os.getcwd()
        self._callbacks: dict[str, list] = {}
        self._reading_config_file = False
        self._save_loaded = False  # Redis forgets the default save points at the first `save` line
        self._command_overlay: dict[str, bool] = {}  # command name -> exists, after renames
        self._command_exists = _declared_command
        self.config_file: str | None = None
        self.read_stdin = False
        self.renamed_commands: list[tuple[str, str]] = []
        self.modules: list[tuple[str, list[str]]] = []
        self.module_configs: dict[str, str] = {}
        self.warn = lambda message: None  # the server's log at warning level, for what CONFIG SET logs
        self.on_change("hz", _clamp_hz)

    # --- reading values

    def __getitem__(self, name: str):
        """The typed value of an option (by name or alias): int for numbers and
        memory sizes (maxmemory-clients: -N means N%), bool, str for strings
        and enums (flag enums as rendered, e.g. "nosave now"), [(seconds,
        changes)] for save, [str] for bind, (host, port) or None for replicaof,
        {class: (hard, soft, seconds)} for client-output-buffer-limit, (3 ints)
        for oom-score-adj-values, [float] for latency-tracking-info-percentiles,
        an int of NOTIFY_* bits for notify-keyspace-events."""
        option = _BY_NAME.get(name) or _BY_NAME[_ascii_lower(name)]  # KeyError if unknown
        value = self._values[option.name]
        return _render_flags(option, value) if option.kind == "flags" else value

    def protected_action_allowed(self, name: str, client_is_local: bool) -> bool:
        """For enable-protected-configs, enable-debug-command, enable-module-command."""
        value = self[name]
        return value == "yes" or (value == "local" and client_is_local)

    # --- CONFIG GET

    def get(self, patterns: list) -> dict[str, str]:
        """CONFIG GET: {name: value} for every option matching a pattern. A
        pattern without * ? [ is an exact, case-insensitive lookup that
        answers under the name as asked (and may name a hidden option).
        Aliases match patterns like any name."""
        found: dict[str, tuple[str, Option]] = {}  # lower-case name -> (name shown, option)
        for pattern in patterns:
            pattern = _text(_bytes(pattern))
            if not any(c in pattern for c in "[*?"):
                option = find_option(pattern)
                if option and _ascii_lower(pattern) not in found:
                    found[_ascii_lower(pattern)] = (pattern, option)
                continue
            for name, option in _BY_NAME.items():
                if HIDDEN not in option.flags and name not in found and \
                        glob_match(_bytes(pattern), name.encode(), nocase=True):
                    found[name] = (name, option)
        return {shown: _render(option, self._values[option.name]) for shown, option in found.values()}

    # --- CONFIG SET

    def on_change(self, name: str, callback) -> None:
        """Call callback(config, name) after a CONFIG SET that changed option
        `name`. A callback registered for several options runs once per CONFIG
        SET. It may raise ConfigApplyError to undo the whole CONFIG SET."""
        self._callbacks.setdefault(find_option(name).name, []).append(callback)

    def set(self, pairs: list, *, client_is_local: bool = False) -> None:
        """CONFIG SET name value [name value ...]: all or nothing.
        Raises ConfigSetError with Redis's error reply."""
        def failed(name, reason):
            return ConfigSetError(f"ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}")

        chosen: list[tuple[Option, str, str]] = []  # (option, registered name used, value)
        for name, value in pairs:
            name, value = _text(_bytes(name)), _text(_bytes(value))
            option = find_option(name)
            if option is None:
                raise ConfigSetError(f"ERR Unknown option or number of arguments for CONFIG SET - '{name}'")
            if IMMUTABLE in option.flags:
                raise failed(name, "can't set immutable config")
            if PROTECTED in option.flags and \
                    not self.protected_action_allowed("enable-protected-configs", client_is_local):
                raise failed(name, "can't set protected config")
            registered = _ascii_lower(name)  # an alias is a separate entry: alias + name is no duplicate
            if any(registered == used for _, used, _ in chosen):
                raise failed(name, "duplicate parameter")
            chosen.append((option, registered, value))

        before = dict(self._values)
        changed: list[tuple[Option, str]] = []
        for option, registered, value in chosen:
            words = value.split(" ") if value else []  # several words: split on single spaces
            try:
                new = self._parse(option, words if MULTI_ARG in option.flags else [value])
            except _Invalid as reason:
                self._values = before
                raise failed(registered, reason) from None
            old, self._values[option.name] = self._values[option.name], new
            if new != old or option.kind in _ALWAYS_CHANGED or VOLATILE in option.flags:
                changed.append((option, registered))

        # Each callback once, for the first changed option it was registered for.
        pending: dict = {}  # callback -> (option name, name as given)
        for option, registered in changed:
            for callback in self._callbacks.get(option.name, []):
                pending.setdefault(callback, (option.name, registered))
        ran: list = []  # (callback, option name) in the order they ran
        for callback, (name, registered) in pending.items():
            ran.append((callback, name))
            try:
                callback(self, name)
            except ConfigApplyError as reason:
                self.warn(f"Failed applying new configuration. Possibly related to new "
                          f"{name} setting. Restoring previous settings.")
                self._values = before
                for done, done_name in ran:  # re-apply the old values; Redis only logs a failure
                    try:
                        done(self, done_name)
                    except ConfigApplyError as restoring:
                        self.warn(f"Failed applying restored failed CONFIG SET command: {restoring}")
                raise failed(registered, reason) from None

    # --- parsing one option's words

    def _parse(self, option: Option, words: list[str]):
        """The new typed value of `option` from its words, or _Invalid."""
        kind = option.kind
        if kind == "bool":
            word = _ascii_lower(words[0])
            if word not in ("yes", "no"):
                raise _Invalid("argument must be 'yes' or 'no'")
            value = word == "yes"
        elif kind in ("int", "memory", "octal"):
            value = _parse_number(option, words[0])
        elif kind in ("enum", "flags"):
            value = _parse_enum(option, words)
        elif kind == "string":
            value = words[0]
        elif kind == "save":
            value = self._parse_save(words)
        elif kind == "dir":
            value = self._parse_dir(words)
        elif kind == "client-output-buffer-limit":
            value = _parse_output_buffer_limits(words, self._values[option.name])
        elif kind == "oom-score-adj-values":
            value = _parse_oom_values(words)
        elif kind == "notify-keyspace-events":
            value = _parse_notify(words)
        elif kind == "bind":
            value = _parse_bind(words)
        elif kind == "replicaof":
            value = _parse_replicaof(words)
        else:
            value = _parse_percentiles(words)
        error = option.check(value, self) if option.check else None
        if error:
            raise _Invalid(error)
        return value

    def _parse_save(self, words: list[str]) -> list[tuple[int, int]]:
        cleared = words == [""]  # `save ""`: no save points
        if cleared:
            words = []
        numbers = [c_strtoll(word) for word in words]
        if len(words) % 2 or any(not whole or value < (1 if i % 2 == 0 else 0)
                                 for i, (value, whole, _) in enumerate(numbers)):
            raise _Invalid("Invalid save parameters")
        points = [(numbers[i][0], _c_int(numbers[i + 1][0])) for i in range(0, len(numbers), 2)]
        # In a config file, save lines add up (the defaults go at the first one);
        # CONFIG SET replaces them.
        keep = self._reading_config_file and self._save_loaded and not cleared
        if self._reading_config_file:
            self._save_loaded = True
        return (self._values["save"] if keep else []) + points

    def _parse_dir(self, words: list[str]) -> str:
        # (One word: not a multi-word option.) Redis chdir()s; we only resolve and check, the
        # server changes directory.
        try:
            if words[0] == "":
                raise FileNotFoundError(errno.ENOENT, "")
            path = self._path(words[0])
            mode = os.stat(path).st_mode
            if not stat.S_ISDIR(mode):
                raise NotADirectoryError(errno.ENOTDIR, "")
            if not os.access(path, os.X_OK):
                raise PermissionError(errno.EACCES, "")
        except OSError as error:
            raise _Invalid(os.strerror(error.errno)) from None
        return os.path.realpath(path)

    def _path(self, path: str) -> str:
        """A path as Redis opens it: relative to `dir` (Redis's working directory)."""
        return os.path.join(self._values["dir"], path)

    # --- command line and config files

    @classmethod
    def from_argv(cls, argv: list, *, stdin=None, command_exists=None) -> Config:
        """The configuration redis-server would run with, given the words after
        the program name. Raises StartupExit for -v/-h and friends, and
        ConfigError for anything redis-server refuses.

        stdin: binary file read for '-' (default sys.stdin.buffer).
        command_exists(name) -> bool: the command table rename-command checks names
        against (default: the commands spec/ declares)."""
        config = cls()
        config._command_exists = command_exists or _declared_command
        config._load_argv([_bytes(word) for word in argv], stdin)
        return config

    def _load_argv(self, argv: list[bytes], stdin) -> None:
        first = argv[0] if argv else b""
        if first in (b"-v", b"--version"):
            raise StartupExit(VERSION_LINE, 0, "stdout")
        if first in (b"--help", b"-h"):
            raise StartupExit(USAGE, 1)
        if first == b"--test-memory" and len(argv) != 2:
            raise StartupExit("Please specify the amount of memory to test in megabytes.\n"
                              "Example: ./redis-server --test-memory 4096\n\n", 1)
        if first in (b"--test-memory", b"--check-system") or b"--sentinel" in argv:
            raise StartupExit("The reference server has no memory test, system check or sentinel "
                              "mode\n", 1)

        # The options become config lines appended after the file: "--port 7000"
        # gives `port "7000"`. A name without a value yet makes the next word its
        # value even if it starts with "--"; a valueless --save means --save "".
        index, options, expecting_name = 0, b"", True
        if first and not first.startswith(b"-"):
            self.config_file = _absolute_path(_text(first))
            index = 1
        while index < len(argv):
            word = argv[index]
            last = index == len(argv) - 1
            if word == b"-" and (index == 0 or last):
                self.read_stdin = True
            elif expecting_name and word.startswith(b"--"):
                options += (b"\n" if options else b"") + word[2:] + b" "
                words = split_args(word)
                expecting_name = not (words is not None and len(words) == 1)
                if not expecting_name and _ascii_lower(_text(word)) == "--save":
                    if not last and argv[index + 1].startswith(b"--"):
                        options += b'""'
                        expecting_name = True
                    elif last:
                        options += b'""'
            else:
                options += repr_arg(word) + b" "
                expecting_name = True
            index += 1

        text = b""
        if self.config_file is not None:
            text += self._read_config_file(self.config_file)
        if self.read_stdin:
            text += (stdin or sys.stdin.buffer).read()
        self._load_text(text + b"\n" + options)

    def _read_config_file(self, name: str) -> bytes:
        try:
            with open(self._path(name), "rb") as file:
                return file.read()
        except OSError as error:
            raise ConfigError(f"Fatal error, can't open config file '{name}': "
                              f"{os.strerror(error.errno)}", logged=True) from None

    def _load_text(self, text: bytes) -> None:
        """Apply config-file text line by line (config.c loadServerConfigFromString)."""
        self._reading_config_file = True
        for number, line in enumerate(text.split(b"\n"), 1):
            line = line.strip(b" \t\r\n")
            if not line or line.startswith(b"#"):
                continue
            words = split_args(line)
            try:
                if words is None:
                    raise _Invalid("Unbalanced quotes in configuration line")
                if words:
                    self._directive(_ascii_lower(_text(words[0])), words[1:])
            except _Invalid as reason:
                raise ConfigError(str(reason), number, _text(line)) from None

        if self["logfile"]:
            try:  # Redis opens (so creates) the log file now, to fail early
                open(self._path(self["logfile"]), "a").close()
            except OSError as error:
                raise ConfigError(f"Can't open the log file: {os.strerror(error.errno)}") from None
        if self["cluster-enabled"] and self["replicaof"]:
            raise ConfigError("replicaof directive not allowed in cluster mode")
        _clamp_hz(self, "hz")
        self._reading_config_file = False  # also after an include: later save lines then replace

    def _directive(self, name: str, args: list[bytes]) -> None:
        option = find_option(name)
        if option:
            words = [_text(arg) for arg in args]
            if MULTI_ARG not in option.flags and len(words) != 1:
                raise _Invalid("wrong number of arguments")
            if MULTI_ARG in option.flags and len(words) == 1 and words[0]:
                # One quoted word holds them all: --save "900 1 300 10"
                words = [_text(word) for word in split_args(args[0]) or []]
            self._values[option.name] = self._parse(option, words)
        elif _DEPRECATED_DIRECTIVES.get(name) == len(args) + 1:
            pass
        elif name == "include" and len(args) == 1:
            self._include(_text(args[0]))
        elif name == "rename-command" and len(args) == 2:
            self._rename_command(_text(args[0]), _text(args[1]))
        elif name == "user" and args:
            pass  # ACL users: the reference knows only `default` (a divergence, README)
        elif name == "loadmodule" and args:
            self.modules.append((_text(args[0]), [_text(arg) for arg in args[1:]]))
        elif "." in name:
            if not args:
                raise _Invalid("Module config specified without value")
            self.module_configs[name] = " ".join(_text(arg) for arg in args)
        elif name == "sentinel":
            if args:
                raise _Invalid("sentinel directive while not in sentinel mode")
        else:
            raise _Invalid("Bad directive or wrong number of arguments")

    def _include(self, pattern: str) -> None:
        if any(c in pattern for c in "*?["):
            # A pattern that matches nothing is fine: an empty conf.d is no error.
            names = sorted(glob.glob(pattern, root_dir=self._values["dir"]))
            text = b"".join(self._read_config_file(name) for name in names)
        else:
            text = self._read_config_file(pattern)
        self._load_text(text)

    def _rename_command(self, old: str, new: str) -> None:
        def exists(name):  # in the command table as the renames so far left it
            name = _ascii_lower(name)
            return self._command_overlay.get(name, self._command_exists(name))

        if not exists(old):
            raise _Invalid("No such command in rename-command")
        self._command_overlay[_ascii_lower(old)] = False
        if new:
            if exists(new):
                raise _Invalid("Target command name already exists")
            self._command_overlay[_ascii_lower(new)] = True
        self.renamed_commands.append((old, new))


def _declared_command(name: str) -> bool:
    import spec  # only when a config names a command: the table is the spec's
    return name in spec.load()


def _absolute_path(path: str) -> str:
    """util.c getAbsolutePath: join to the working directory, folding leading '../'."""
    path = path.strip(" \r\n\t")
    if path.startswith("/"):
        return path
    base = os.getcwd().rstrip("/") + "/"
    while path.startswith("../"):
        path = path[3:]
        if len(base) > 1:
            base = base[:base.rstrip("/").rfind("/") + 1]
    return base + path
