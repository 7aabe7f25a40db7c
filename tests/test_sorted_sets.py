"""Unit tests of reference/zset.py: the sorted set value, its ranges and bound parsing."""
import math
import random

import pytest
from sortedcontainers import SortedList

from reference.values import BadValue
from reference.zset import (ABOVE, SMALL_ORDER_LIMIT, LexBound, ScoreBound, SmallOrder, ZSet,
                            new_zset, order_of, parse_lex_bound, parse_score_bound, strtod_whole)

CONFIG = {"zset-max-listpack-entries": 3, "zset-max-listpack-value": 4}


def make(*pairs):
    zset = ZSet()
    for score, member in pairs:
        zset.add(member, score)
    return zset


def test_order_by_score_then_member_bytes():
    zset = make((1, b"b"), (1, b"a"), (0, b"z"), (1, b"\xff"), (-math.inf, b"m"))
    assert [m for _, m in zset.order] == [b"m", b"z", b"a", b"b", b"\xff"]
    assert zset.rank(b"a") == 2
    assert zset.rank(b"none") is None


def test_add_moves_and_remove_keeps_both_views_in_step():
    zset = make((1, b"a"), (2, b"b"))
    zset.add(b"a", 3)
    assert list(zset.order) == [(2, b"b"), (3, b"a")] and zset[b"a"] == 3
    assert zset.remove(b"b") and not zset.remove(b"b")
    assert list(zset.order) == [(3, b"a")] and dict(zset) == {b"a": 3}


def test_listpack_stores_negative_zero_as_zero():
    zset = make((-0.0, b"a"))
    assert math.copysign(1, zset[b"a"]) == 1
    zset.skiplist = True
    zset.add(b"b", -0.0)
    assert math.copysign(1, zset[b"b"]) == -1


@pytest.mark.parametrize("start,stop,interval", [
    (0, -1, (0, 5)), (1, 2, (1, 3)), (-2, -1, (3, 5)), (-100, 0, (0, 1)), (3, 100, (3, 5)),
    (2, 1, (0, 0)), (5, 6, (0, 0)), (-1, -2, (0, 0))])
def test_rank_range(start, stop, interval):
    zset = make(*[(i, b"m%d" % i) for i in range(5)])
    assert zset.rank_range(start, stop) == interval


@pytest.mark.parametrize("low,high,members", [
    ("-inf", "+inf", [b"a", b"b", b"c", b"d"]), ("(1", "2", [b"b", b"c"]), ("1", "(2", [b"a"]),
    ("2", "1", []), ("(2", "(2", []), ("(-inf", "(inf", [b"a", b"b", b"c"]), ("inf", "inf", [b"d"])])
def test_score_range(low, high, members):
    zset = make((1, b"a"), (2, b"b"), (2, b"c"), (math.inf, b"d"))
    start, end = zset.score_range(parse_score_bound(low.encode()), parse_score_bound(high.encode()))
    assert [m for m, _ in zset.pairs(start, end)] == members


@pytest.mark.parametrize("low,high,members", [
    ("-", "+", [b"a", b"b", b"bb", b"c"]), ("[b", "(c", [b"b", b"bb"]), ("(b", "+", [b"bb", b"c"]),
    ("+", "-", []), ("[c", "[a", []), ("-", "(a", [])])
def test_lex_range(low, high, members):
    zset = make((0, b"a"), (0, b"b"), (0, b"bb"), (0, b"c"))
    start, end = zset.lex_range(parse_lex_bound(low.encode()), parse_lex_bound(high.encode()))
    assert [m for m, _ in zset.pairs(start, end)] == members


def test_pairs_reverse_and_delete_slice():
    zset = make((1, b"a"), (2, b"b"), (3, b"c"))
    assert zset.pairs(0, 2, reverse=True) == [(b"b", 2), (b"a", 1)]
    assert zset.delete_slice(0, 2) == 2
    assert dict(zset) == {b"c": 3} and list(zset.order) == [(3, b"c")]


@pytest.mark.parametrize("text,value", [
    (b"", 0.0), (b"  1", 1.0), (b"\t-2.5", -2.5), (b"0x10", 16.0), (b"inf", math.inf),
    (b"-Infinity", -math.inf), (b"1e3", 1000.0)])
def test_strtod_whole_accepts(text, value):
    assert strtod_whole(text) == value


@pytest.mark.parametrize("text", [b"1 ", b"nan", b"x", b"1e", b"0x", b"--1"])
def test_strtod_whole_refuses(text):
    assert strtod_whole(text) is None


def test_bound_parsing():
    assert parse_score_bound(b"(1.5") == ScoreBound(1.5, True)
    assert parse_score_bound(b"(") == ScoreBound(0.0, True)
    assert parse_lex_bound(b"[a") == LexBound(b"a")
    assert parse_lex_bound(b"(") == LexBound(b"", exclusive=True)
    assert parse_lex_bound(b"+").infinite == 1
    for bad in (b"a", b"", b"++", b"-a"):
        with pytest.raises(BadValue):
            parse_lex_bound(bad)
    with pytest.raises(BadValue):
        parse_score_bound(b"(nan")


def test_new_zset_encoding_follows_limits():
    assert not new_zset(CONFIG, [(b"a", 1.0), (b"bbbb", 2.0)]).skiplist
    assert new_zset(CONFIG, [(b"a", 1.0), (b"bbbbb", 2.0)]).skiplist
    assert new_zset(CONFIG, [(b"%d" % i, 1.0) for i in range(4)]).skiplist
    small = new_zset(CONFIG, [(b"a", -0.0)])
    assert math.copysign(1, small[b"a"]) == 1 and list(small.order) == [(0.0, b"a")]


def test_note_size_and_copy_are_independent():
    zset = make((1, b"a"))
    zset.note_size(CONFIG, longest=5)
    assert zset.skiplist
    other = zset.copy()
    other.add(b"b", 2)
    assert b"b" not in zset and len(zset.order) == 1 and other.skiplist


def test_small_order_does_what_a_sorted_list_does():
    """The same adds, removes and searches on a SmallOrder and a SortedList give the same
    answers, ties of score broken by member bytes, and a missing pair refused alike."""
    rng = random.Random(7)
    small, sorted_list = SmallOrder(), SortedList()
    for _ in range(3000):
        pair = (float(rng.randrange(-3, 4)), bytes([rng.randrange(97, 103)]))
        if pair in sorted_list and rng.random() < 0.6:
            small.remove(pair)
            sorted_list.remove(pair)
        elif pair not in sorted_list:
            small.add(pair)
            sorted_list.add(pair)
        probe = (pair[0], ABOVE) if rng.random() < 0.5 else (pair[0],)
        assert small.bisect_left(probe) == sorted_list.bisect_left(probe)
        assert small.bisect_left(pair) == sorted_list.bisect_left(pair)
    assert list(small) == list(sorted_list)
    with pytest.raises(ValueError):
        SmallOrder([(1.0, b"a")]).remove((1.0, b"b"))
    with pytest.raises(ValueError):
        SmallOrder().remove((1.0, b"a"))


def test_a_set_past_the_small_order_limit_gets_a_sorted_list():
    zset = ZSet()
    for n in range(SMALL_ORDER_LIMIT):
        zset.add(b"m%d" % n, float(n % 7))
    assert type(zset.order) is SmallOrder
    zset.add(b"one more", 3.0)
    assert type(zset.order) is SortedList
    assert list(zset.order) == sorted((score, member) for member, score in zset.items())
    assert zset.rank(b"one more") == sorted(zset.order).index((3.0, b"one more"))


def test_order_of_by_size_and_of_members():
    assert type(order_of([(1.0, b"%d" % n) for n in range(SMALL_ORDER_LIMIT)])) is SmallOrder
    assert type(order_of([(1.0, b"%d" % n) for n in range(SMALL_ORDER_LIMIT + 1)])) is SortedList
    assert order_of([(2.0, b"a"), (1.0, b"b"), (1.0, b"a")]) == [(1.0, b"a"), (1.0, b"b"), (2.0, b"a")]
    for n in (0, 2, SMALL_ORDER_LIMIT + 5):
        members = [b"%05d" % (n - i) for i in range(n)]
        scores = [float(i % 3) for i in range(n)]
        zset = ZSet.of_members(members, scores)
        assert dict(zset) == dict(zip(members, scores)) and not zset.skiplist
        assert list(zset.order) == sorted(zip(scores, members))
        copy = zset.copy()
        assert list(copy.order) == list(zset.order) and copy.order is not zset.order
    assert len(ZSet.of_members([b"a", b"a"], [1.0, 2.0])) == 1  # the duplicate shows
