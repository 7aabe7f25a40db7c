"""Matchers compiled from declarations: structure first, then typed values."""
import pytest
from hypothesis import given, settings, strategies as st

import spec
from reference.matcher import MatchError, Rules, _Matcher, _positional_layout, compile_matcher
from reference.values import BadValue

FIELDS = "\narity: -1\nflags: readonly\ngroup: generic\nsince: 1.0.0\n"


def matcher(syntax):
    return compile_matcher(spec.parse_declaration(syntax + FIELDS, "test").arguments)


def argv(text):
    return [w.encode() for w in text.split()]


SET = matcher("SET key value [condition: NX | XX] [GET] [expiration: EX seconds:integer | "
              "PX milliseconds:integer | EXAT unix-time-seconds:unix-time | "
              "PXAT unix-time-milliseconds:unix-time | KEEPTTL]")


def test_options_in_any_order_and_any_case():
    got = SET(argv("k v get ex 10 nx"))
    assert got == {"key": b"k", "value": b"v", "get": True, "expiration": "seconds",
                   "seconds": 10, "condition": "nx", "nx": True}


def test_two_alternatives_of_one_oneof_is_a_syntax_error():
    with pytest.raises(MatchError, match="ERR syntax error"):
        SET(argv("k v NX XX"))


def test_repeating_the_same_alternative_keeps_the_last():
    assert SET(argv("k v EX 1 EX 2"))["seconds"] == 2


def test_structure_is_checked_before_numbers():
    with pytest.raises(MatchError):
        SET(argv("k v EX abc NX XX"))
    with pytest.raises(BadValue, match="not an integer"):
        SET(argv("k v EX abc"))


def test_keyword_missing_its_value_is_a_syntax_error():
    with pytest.raises(MatchError):
        SET(argv("k v EX"))


def test_leftover_arguments_are_a_syntax_error():
    with pytest.raises(MatchError):
        SET(argv("k v bogus"))


def test_repeated_block():
    mset = matcher("MSET key value [key value ...]")
    assert mset(argv("a 1 b 2"))["key_value"] == [{"key": b"a", "value": b"1"}, {"key": b"b", "value": b"2"}]
    with pytest.raises(MatchError):
        mset(argv("a 1 b"))


def test_optional_positional_before_required():
    auth = matcher("AUTH [username] password")
    assert auth(argv("pw")) == {"password": b"pw"}
    assert auth(argv("user pw")) == {"username": b"user", "password": b"pw"}


def test_repeated_integers_are_converted_each():
    m = matcher("CMD [id: ID client-id:integer [client-id:integer ...]]")
    assert m(argv("ID 1 2 3"))["client-id"] == [1, 2, 3]


def test_keywordless_oneof_tries_alternatives():
    m = matcher("KILL (filter: ip:port | (new-format: [ID client-id:integer] | [SKIPME yes/no]) ...)")
    assert m(argv("1.2.3.4:5")) == {"ip:port": b"1.2.3.4:5", "filter": "ip:port"}
    got = m(argv("ID 7 SKIPME no"))
    assert got["filter"] == "new-format"
    assert got["new-format"] == [{"client-id": 7, "new-format": "client-id"},
                                 {"yes/no": b"no", "new-format": "yes/no"}]


def test_raw_arguments_are_not_converted():
    scan = compile_matcher(spec.load()["scan"].arguments, Rules(raw=frozenset({"cursor"})))
    assert scan(argv("abc"))["cursor"] == b"abc"
    assert scan(argv("0 COUNT 5 MATCH a*"))["count"] == 5


@pytest.mark.parametrize("text", ["", "a", "-", "01", "+1", " 1", "1 ", "9223372036854775808", "1.0"])
def test_strict_integers(text):
    from reference.values import parse_int
    with pytest.raises(BadValue):
        parse_int(text.encode())


def test_every_declared_command_compiles():
    for command in spec.all_commands():
        compile_matcher(command.parse_arguments)


EXPIRE = spec.parse_declaration(
    "EXPIRE key seconds:integer [condition: NX | XX | GT | LT]" + FIELDS
    + "combinable: condition\nunknown-option: ERR Unsupported option {option}\n"
    + "bad-value: seconds = ERR custom\n", "test")


def expire(text):
    rules = Rules(combinable=EXPIRE.combinable, unknown_option=EXPIRE.unknown_option,
                  bad_values=EXPIRE.bad_values)
    return compile_matcher(EXPIRE.arguments, rules)(argv(text))


def test_combinable_oneof_collects_a_set():
    assert expire("k 10 XX GT")["condition"] == {"xx", "gt"}


def test_unknown_option_template():
    with pytest.raises(MatchError, match="ERR Unsupported option FOO"):
        expire("k 10 NX FOO")


def test_bad_value_message_from_the_spec():
    with pytest.raises(BadValue, match="ERR custom"):
        expire("k abc")


# --- the positional matchers against the general one ------------------------------------
# compile_matcher matches declarations that start with positional arguments by position when
# it can (reference/matcher.py, _positional_layout); the general matcher must agree on every
# argv, for every declared command with its handler's rules.

def _declared_commands():
    from reference import commands
    from reference.dispatch import matcher_rules
    handlers = commands.load_handlers()
    found = []
    for command in spec.all_commands():
        if command.container:
            continue
        _, raw, converters = handlers[command.name]
        rules = matcher_rules(command, raw, converters)
        arguments = tuple(command.parse_arguments)
        if arguments and _positional_layout(arguments, rules) is not None:
            found.append(pytest.param(arguments, rules, id=command.name))
    return found


def _tokens(arguments):
    for arg in arguments:
        if arg.token:
            yield arg.token
        yield from _tokens(arg.children)


def _outcome(match, words):
    try:
        return "match", match(words)
    except Exception as error:  # MatchError, BadValue, CommandError: type and text
        return type(error).__name__, str(error)


POSITIONAL_COMMANDS = _declared_commands()


def test_the_common_commands_are_matched_by_position():
    names = {param.id for param in POSITIONAL_COMMANDS}
    assert {"get", "set", "mset", "hset", "lrange", "zrange", "lpush", "lpop", "incr", "zadd"} <= names


@pytest.mark.parametrize("arguments, rules", POSITIONAL_COMMANDS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_positional_matching_agrees_with_the_general_matcher(arguments, rules, data):
    tokens = set(_tokens(arguments))
    words = st.sampled_from(sorted(tokens | {t.lower() for t in tokens} | {"0", "1", "-1", "2.5", "inf", "abc", ""}))
    argv_ = [w.encode() for w in data.draw(st.lists(words, max_size=len(arguments) + 4))]
    assert _outcome(compile_matcher(arguments, rules), argv_) == _outcome(_Matcher(arguments, rules), argv_)
