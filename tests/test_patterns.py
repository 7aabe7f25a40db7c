"""reference/patterns.py: Redis's glob matcher, checked against KEYS on a live redis-server 7.0.15."""

import pytest

from reference.patterns import glob_match


@pytest.mark.parametrize("pattern, string, result", [
    (b"*", b"anything", True),
    (b"*", b"", False),            # KEYS/SCAN special-case a lone "*" before matching
    (b"h?llo", b"hello", True),
    (b"h?llo", b"hllo", False),
    (b"h*llo", b"heeeello", True),
    (b"h[ae]llo", b"hallo", True),
    (b"h[ae]llo", b"hillo", False),
    (b"h[^e]llo", b"hallo", True),
    (b"h[^e]llo", b"hello", False),
    (b"h[!e]llo", b"hello", True),  # only ^ negates
    (b"h[a-b]llo", b"hbllo", True),
    (b"h[b-a]llo", b"hbllo", True),  # reversed range
    (b"h\\*llo", b"h*llo", True),
    (b"h\\*llo", b"hello", False),
    (b"[\\]]", b"]", True),
    (b"[a-]", b"]", True),           # "a-]" is the range a..]
    (b"ab[c", b"abc", True),         # unterminated class
    (b"[^", b"x", True),
    (b"[", b"[", False),
    (b"a\\", b"a\\", True),
    (b"**a", b"ba", True),
    (b"a*", b"a", True),
    (b"[\x80-\xff]", b"\xe9", True),
    (b"[a-\xe9]", b"b", False),      # bytes compare as signed chars: \xe9 sorts below 'a'
])
def test_glob_match(pattern, string, result):
    assert glob_match(pattern, string) is result


def test_glob_match_nocase():
    assert glob_match(b"MAX*", b"maxmemory", nocase=True)
    assert glob_match(b"[A-Z]x", b"qx", nocase=True)
    assert not glob_match(b"MAX*", b"maxmemory")
    assert not glob_match(b"[\\M]", b"m", nocase=True)  # an escaped byte inside a class is exact
