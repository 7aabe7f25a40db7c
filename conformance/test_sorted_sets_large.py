"""Sorted sets past zset-max-listpack-entries (a skiplist in Redis): lex ranges over members of
one score, and a score of -0 from a *STORE command, which a small set (a listpack) keeps as 0."""
from __future__ import annotations

import pytest

MEMBERS = [b"m%d" % i for i in range(1, 201)]  # 200 members: past the 128 of a listpack


@pytest.fixture
def big(client):
    assert client.call("ZADD", "big", *[x for m in MEMBERS for x in (0, m)]) == len(MEMBERS)
    return client


def between(low: bytes, high: bytes, low_exclusive=False, high_exclusive=False) -> list[bytes]:
    return sorted(m for m in MEMBERS if (m > low if low_exclusive else m >= low)
                  and (m < high if high_exclusive else m <= high))


def test_lex_ranges_of_a_large_set(big):
    assert big.call("ZRANGEBYLEX", "big", "[m19", "(m2") == between(b"m19", b"m2", high_exclusive=True)
    assert big.call("ZLEXCOUNT", "big", "(m1", "[m15") == len(between(b"m1", b"m15", low_exclusive=True))
    assert big.call("ZRANGEBYLEX", "big", "-", "+", "LIMIT", 0, 3) == sorted(MEMBERS)[:3]
    assert big.call("ZREVRANGEBYLEX", "big", "(m3", "[m29") == between(b"m29", b"m3", high_exclusive=True)[::-1]
    assert big.call("ZRANGEBYLEX", "big", "(m99", "+") == []
    assert big.call("ZREMRANGEBYLEX", "big", "[m5", "(m6") == len(between(b"m5", b"m6", high_exclusive=True))
    assert big.call("ZCARD", "big") == 200 - 11


@pytest.mark.internals("the encoding threshold zset-max-listpack-entries")
def test_a_stored_minus_zero_is_zero_only_in_a_small_set(big):
    assert big.call("ZADD", "small", 0, "x") == 1
    assert big.call("ZUNIONSTORE", "dst", 1, "small", "WEIGHTS", -1) == 1
    assert big.call("ZSCORE", "dst", "x") == b"0"
    assert big.call("ZUNIONSTORE", "dst", 1, "big", "WEIGHTS", -1) == 200
    assert big.call("ZSCORE", "dst", "m1") == b"-0"
