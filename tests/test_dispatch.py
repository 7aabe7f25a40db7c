"""The command table built from the spec, and the checks made before a handler runs."""
import pytest

import spec
from reference.dispatch import build_table, lookup, unknown_command_error


def test_every_declared_command_has_a_handler_and_every_handler_a_declaration():
    table = build_table()  # raises if either is missing
    for command in spec.all_commands():
        entry = table[command.name.split("|")[0].encode()]
        if command.parent:
            entry = entry.subcommands[command.name.split("|")[1].encode()]
        assert entry.spec is command
        assert command.container or entry.handler is not None


@pytest.fixture(scope="module")
def table():
    return build_table()


def test_unknown_command_quotes_name_and_arguments(table):
    assert lookup(table, [b"nosuch", b"a", b"b"])[1] == \
        "ERR unknown command 'nosuch', with args beginning with: 'a' 'b' "


def test_unknown_command_arguments_are_cut_at_128_bytes_of_quoted_text():
    # "'aaa...a' " takes 103 bytes, leaving 25 for the next argument's text
    text = unknown_command_error([b"x", b"a" * 100, b"b" * 100, b"c"])
    assert text == f"ERR unknown command 'x', with args beginning with: '{'a' * 100}' '{'b' * 25}' "


def test_unknown_subcommand(table):
    assert lookup(table, [b"client", b"nosuch"])[1] == "ERR unknown subcommand 'nosuch'. Try CLIENT HELP."


def test_arity_is_checked_with_the_full_name(table):
    assert lookup(table, [b"get"])[1] == "ERR wrong number of arguments for 'get' command"
    assert lookup(table, [b"client", b"kill"])[1] == "ERR wrong number of arguments for 'client|kill' command"
    command, error = lookup(table, [b"GET", b"k"])
    assert command.name == "get" and error is None
