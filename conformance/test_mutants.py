"""Behaviours that mutation testing found unjudged (scripts/mutation-test.py).

Each test here checks something real Redis 7.0 does that no other test of the suite looked at:
a mutant of the reference that changed it survived the whole suite (or, for CONFIG GET's escapes,
a neighbour of such a behaviour). reports/mutation/survivors.md names the mutant each test
answers. Grouped by family; the families' own files stay as they were.
"""
import pytest

from conformance.blocking import wait_until_blocked

# --- the glob matcher (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET) ----------------------------

GLOB_KEYS = [b"\x00", b"\x7f", b"a", b"A", b"5", b"-", b"\\", b"]", b"\xb0", b"\xc8", b"\xff",
             b"ax", b"]x", b"\\x", b"-x", b"bx"]


@pytest.mark.parametrize("pattern, expected", [
    # Range ends compare as signed chars: \xc8 is -56, so [\x00-\xc8] is the range -56..0,
    # which holds \x00 and the bytes \xc8-\xff, but neither \x7f nor \xb0 (-80).
    (b"[\x00-\xc8]", [b"\x00", b"\xc8", b"\xff"]),
    (b"[\xc8-\xff]", [b"\xc8", b"\xff"]),
    (b"[a-\xc8]", [b"\x00", b"5", b"-", b"A", b"\\", b"]", b"a", b"\xc8", b"\xff"]),
    # A class of digits, and one of upper-case letters, without nocase.
    (b"[0-9]", [b"5"]),
    (b"[A-Z]", [b"A"]),
    # A backslash in a class escapes the next byte, wherever it stands in the class.
    (b"[\\]a]x", [b"]x", b"ax"]),
    (b"[a\\-]x", [b"-x", b"ax"]),
    (b"[\\\\]x", [b"\\x"]),
    (b"[^\\]a]x", [b"-x", b"\\x", b"bx"]),
    # A class left open at the end of the pattern is closed there.
    (b"[ab", [b"a"]),
    (b"[^ab", [b"\x00", b"\x7f", b"A", b"5", b"-", b"\\", b"]", b"\xb0", b"\xc8", b"\xff"]),
])
def test_keys_glob_classes(client, pattern, expected):
    client.pipeline(*(("SET", key, "1") for key in GLOB_KEYS))
    assert sorted(client.call("KEYS", pattern)) == sorted(expected)


@pytest.mark.parametrize("pattern, names", [
    # CONFIG GET matches without case, but an escaped byte in a class compares exactly.
    ("[P]ort", [b"port"]),
    ("[\\P]ort", []),
    ("[\\p]ort", [b"port"]),
    # Outside a class an escaped byte matches without case too ...
    ("\\P*rt", [b"port"]),
    # ... but a name with none of * ? [ is looked up as it is, not matched as a pattern.
    ("\\port", []),
])
def test_config_get_escapes_without_case(client, pattern, names):
    assert client.call("CONFIG", "GET", pattern)[::2] == names


# --- strings ----------------------------------------------------------------------------------


@pytest.mark.parametrize("argv, flags", [
    (["SET", "k", "v"], ["OW", "update"]),
    (["SET", "k", "v", "EX", "10"], ["OW", "update"]),
    # With GET, SET also reads the key it overwrites, in any case of the word and wherever it stands.
    (["SET", "k", "v", "GET"], ["RW", "access", "update"]),
    (["SET", "k", "v", "get", "EX", "10"], ["RW", "access", "update"]),
    (["SET", "k", "v", "NX", "Get"], ["RW", "access", "update"]),
])
def test_set_key_flags_depend_on_get(client, argv, flags):
    assert client.call("COMMAND", "GETKEYSANDFLAGS", *argv) == [[b"k", flags]]


# --- lists ------------------------------------------------------------------------------------


@pytest.mark.parametrize("wherefrom, whereto, moved, destination", [
    ("LEFT", "LEFT", b"a", [b"a", b"x", b"y"]),
    ("LEFT", "RIGHT", b"a", [b"x", b"y", b"a"]),
    ("RIGHT", "LEFT", b"c", [b"c", b"x", b"y"]),
    ("RIGHT", "RIGHT", b"c", [b"x", b"y", b"c"]),
])
def test_blmove_directions_into_a_list_that_has_elements(client, client_factory, wherefrom, whereto,
                                                         moved, destination):
    # Served at once (the source has elements) ...
    client.call("RPUSH", "src", "a", "b", "c")
    client.call("RPUSH", "dst", "x", "y")
    assert client.call("BLMOVE", "src", "dst", wherefrom, whereto, 0) == moved
    assert client.call("LRANGE", "dst", 0, -1) == destination
    # ... and served later, by a push to the source it waits on.
    client.call("DEL", "src", "dst")
    client.call("RPUSH", "dst", "x", "y")
    waiter = client_factory()
    waiter.send_command("BLMOVE", "src", "dst", wherefrom, whereto, 0)
    wait_until_blocked(client, 1)
    client.call("RPUSH", "src", "a", "b", "c")
    assert waiter.read_reply() == moved
    assert client.call("LRANGE", "dst", 0, -1) == destination
