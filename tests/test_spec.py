"""The spec loader: notation -> argument trees in COMMAND DOCS' shape."""
import pytest

import spec
from spec import Arg, SpecError, parse_declaration

FIELDS = "\narity: -1\nflags: readonly\ngroup: generic\nsince: 1.0.0\n"


def args_of(syntax: str, containers=frozenset()):
    return parse_declaration(syntax + FIELDS, "test", containers).arguments


def test_plain_arguments_default_to_string_and_key():
    assert args_of("CMD key value") == (Arg("key", "key"), Arg("value", "string"))


def test_typed_argument():
    assert args_of("CMD seconds:integer") == (Arg("seconds", "integer"),)


def test_name_with_colon_that_is_not_a_type():
    assert args_of("CMD ip:port") == (Arg("ip:port", "string"),)


def test_docs_repeat_form_and_compact_form_agree():
    assert args_of("CMD key [key ...]") == args_of("CMD key ...") == (Arg("key", "key", multiple=True),)


def test_repeated_pair_becomes_a_block():
    assert args_of("CMD key value [key value ...]") == (
        Arg("key_value", "block", multiple=True, children=(Arg("key", "key"), Arg("value", "string"))),)


def test_keyword_lends_its_token_to_the_argument():
    assert args_of("CMD [MATCH pattern:pattern]") == (Arg("pattern", "pattern", token="MATCH", optional=True),)


def test_keyword_with_several_arguments_is_a_block():
    assert args_of("CMD [LIMIT offset:integer count:integer]") == (
        Arg("limit", "block", token="LIMIT", optional=True,
            children=(Arg("offset", "integer"), Arg("count", "integer"))),)


def test_repeated_keyword_is_multiple_token():
    assert args_of("CMD [GET pattern [GET pattern ...]]") == (
        Arg("pattern", "string", token="GET", optional=True, multiple=True, multiple_token=True),)


def test_labelled_oneof_of_pure_tokens():
    assert args_of("CMD [condition: NX | XX]") == (
        Arg("condition", "oneof", optional=True,
            children=(Arg("nx", "pure-token", token="NX"), Arg("xx", "pure-token", token="XX"))),)


def test_unlabelled_oneof_takes_joined_names():
    (arg,) = args_of("CMD [ASYNC | SYNC]")
    assert arg.name == "async_sync" and arg.type == "oneof"


def test_quoted_token_keeps_its_case():
    (arg,) = args_of('CMD ("lower" | UPPER)')
    assert arg.children[0] == Arg("lower", "pure-token", token="lower")


def test_subcommand_of_a_container():
    command = parse_declaration("OBJECT ENCODING key" + FIELDS, "test", frozenset({"object"}))
    assert command.name == "object|encoding"
    assert command.arguments == (Arg("key", "key"),)


def test_docs_rendering_round_trips_the_usual_forms():
    command = spec.load()["set"]
    assert command.docs_syntax() == (
        "SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | "
        "PXAT unix-time-milliseconds | KEEPTTL]")
    assert spec.load()["mset"].docs_syntax() == "MSET key value [key value ...]"


def test_unknown_field_is_rejected():
    with pytest.raises(SpecError, match="unknown fields"):
        parse_declaration("CMD" + FIELDS + "colour: blue\n", "test")


def test_unknown_flag_is_rejected():
    with pytest.raises(SpecError, match="unknown flags"):
        parse_declaration("CMD\narity: 1\nflags: sparkly\ngroup: g\nsince: 1\n", "test")


def test_bad_syntax_line_is_rejected():
    with pytest.raises(SpecError, match="cannot parse"):
        parse_declaration("CMD [unclosed" + FIELDS, "test")


def test_every_family_loads_and_subcommands_hang_off_containers():
    table = spec.load()
    assert {"client", "config", "command", "object"} <= {n for n, c in table.items() if c.container}
    assert table["client"].subcommands["kill"].name == "client|kill"
    for command in spec.all_commands():
        assert command.group and command.since and command.arity != 0


def test_arguments_from_docs_matches_declaration_shape():
    docs = [{"name": "condition", "type": "oneof", "flags": ["optional"],
             "arguments": [{"name": "nx", "type": "pure-token", "token": "NX"},
                           {"name": "xx", "type": "pure-token", "token": "XX"}]}]
    assert spec.arguments_from_docs(docs) == args_of("CMD [condition: NX | XX]")
