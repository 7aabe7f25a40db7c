"""Redis's glob patterns (util.c stringmatchlen), as KEYS, SCAN MATCH, PSUBSCRIBE and CONFIG GET
use them: `*` (several in a row are one), `?`, classes `[abc]`, `[^abc]`, ranges `[a-z]` (written
either way round), `\\` escaping the next byte inside a class or out, a class left open at the
end of the pattern; CONFIG GET matches regardless of case, ranges included. The expected matches
are Redis's."""
from __future__ import annotations

import pytest

NAMES = [b"a", b"ab", b"abc", b"abxbx", b"aXc", b"a]c", b"a-c", b"a\\c", b"zz", b"m", b"[abc"]


@pytest.mark.parametrize("pattern, matches", [
    ("a**c", [b"a-c", b"a\\c", b"a]c", b"aXc", b"abc"]),
    ("a***", [b"a", b"a-c", b"a\\c", b"a]c", b"aXc", b"ab", b"abc", b"abxbx"]),
    ("a*b*c", [b"abc"]),  # abxbx: once "*c" has failed for one start it fails for all
    ("a*x*c", []),
    ("a[\\]]c", [b"a]c"]),  # an escaped ] inside a class
    ("a[\\-]c", [b"a-c"]),
    ("a[\\\\]c", [b"a\\c"]),
    ("a[c-a]c", [b"abc"]),  # a range written backwards
    ("a[^a-z]c", [b"a-c", b"a\\c", b"a]c", b"aXc"]),
    ("[m", [b"m"]),  # an unterminated class: as if closed at the end
    ("[z", []),
    ("a[bX", [b"ab"]),
    ("\\[abc", [b"[abc"]),
    ("[[]abc", [b"[abc"]),
])
def test_keys_patterns(client, pattern, matches):
    assert client.pipeline(*[("SET", name, "1") for name in NAMES]) == ["OK"] * len(NAMES)
    assert sorted(client.call("KEYS", pattern)) == sorted(matches)


MAXMEMORY_ALL = [b"maxmemory", b"maxmemory-clients", b"maxmemory-eviction-tenacity", b"maxmemory-policy",
                 b"maxmemory-samples"]


@pytest.mark.internals("the names of redis-server's options")
@pytest.mark.parametrize("pattern, names", [
    ("[L-N]AXMEMORY", [b"maxmemory"]),
    ("[n-l]axmemory", [b"maxmemory"]),
    ("[^a-k]axmemory", [b"maxmemory"]),
    ("maxMemory*", MAXMEMORY_ALL),
    ("*[Z-Z]SET-MAX-*", [b"zset-max-listpack-entries", b"zset-max-listpack-value",
                         b"zset-max-ziplist-entries", b"zset-max-ziplist-value"]),  # aliases too
])
def test_config_get_matches_regardless_of_case(client, pattern, names):
    assert sorted(client.call("CONFIG", "GET", pattern)[0::2]) == names
