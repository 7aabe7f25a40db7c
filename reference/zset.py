"""The sorted set value: members with scores, ordered by (score, member bytes).

A `ZSet` is a dict member -> score (O(1) ZSCORE, membership) plus its `order`, the sorted
(score, member) pairs (ranks, ranges, pops in O(log N)), the two always kept in step by the
methods below. Equal scores order by member bytes, as Redis's memcmp does. The order of a set
of up to SMALL_ORDER_LIMIT pairs is a SmallOrder, a plain sorted list: all that a SortedList of
that size holds (one sublist, below its load factor), without its bookkeeping. A set that grows
past the limit gets a SortedList. The two have the methods used here; most sets are small, and
a SmallOrder costs far less to build (loading a file builds one per set).

`skiplist` records the encoding Redis would use: a new set starts as a listpack and becomes a
skiplist for good once it holds more than zset-max-listpack-entries members or a member longer
than zset-max-listpack-value bytes; only the *STORE commands build a fresh value small enough
to be a listpack again. Two visible differences follow the encoding: a listpack stores a score
of -0 as 0, and ZSCAN returns a listpack's members all at once.

Range bounds are parsed here as Redis reads them: a score bound is C's strtod over the rest of
the text after an optional "(" (so leading spaces, "" meaning 0, hex and "inf" are accepted;
NaN and trailing text are not); a lex bound is "[x", "(x", "-" or "+".
"""
from __future__ import annotations

import math
from bisect import bisect_left, insort
from dataclasses import dataclass

from sortedcontainers import SortedList

from reference.values import BadValue, index_range, parse_float


class _Above:
    """Sorts after every bytes member: (score, ABOVE) comes after every pair with that score
    (bisect_left, the only search made with it, asks `member < ABOVE`, answered here)."""
    __slots__ = ()

    def __gt__(self, other):
        return True


ABOVE = _Above()


SMALL_ORDER_LIMIT = SortedList.DEFAULT_LOAD_FACTOR


class SmallOrder(list):
    """A small set's order: a plain sorted list with the SortedList methods ZSet uses (add,
    remove, bisect_left; indexing, slices and their deletion, len and iteration are the
    list's own)."""
    __slots__ = ()

    def add(self, pair: tuple) -> None:
        insort(self, pair)

    def remove(self, pair: tuple) -> None:
        index = bisect_left(self, pair)
        if index == len(self) or self[index] != pair:
            raise ValueError(f"{pair!r} not in the order")
        del self[index]

    def bisect_left(self, pair: tuple) -> int:
        return bisect_left(self, pair)


def order_of(pairs) -> SmallOrder | SortedList:
    """The order holding `pairs`, (score, member) in any order."""
    order = SmallOrder(pairs)
    order.sort()
    return order if len(order) <= SMALL_ORDER_LIMIT else SortedList(order)


class ZSet(dict):
    __slots__ = ("order", "skiplist", "scan_index")

    def __init__(self):  # (empty: there is nothing for dict.__init__ to do)
        self.order = SmallOrder()
        self.skiplist = False
        self.scan_index = None  # ZSCAN's snapshot of the member order (see scan_batch)

    def add(self, member: bytes, score: float) -> None:
        """Insert or move member (the caller decides whether it should)."""
        if score == 0 and not self.skiplist:
            score = 0.0  # a listpack stores -0 as the integer 0
        order = self.order
        old = self.get(member)
        if old is not None:
            order.remove((old, member))
        self[member] = score
        order.add((score, member))
        if len(order) > SMALL_ORDER_LIMIT and type(order) is SmallOrder:
            self.order = SortedList(order)

    def remove(self, member: bytes) -> bool:
        score = self.pop(member, None)
        if score is None:
            return False
        self.order.remove((score, member))
        return True

    def rank(self, member: bytes) -> int | None:
        score = self.get(member)
        return None if score is None else self.order.bisect_left((score, member))

    # --- ranges: each returns the half-open index interval [start, end) of the order ----

    def rank_range(self, start: int, stop: int) -> tuple[int, int]:
        """Redis's inclusive start/stop ranks, negatives counting from the end."""
        ranks = index_range(len(self), start, stop)
        return (0, 0) if ranks is None else (ranks[0], ranks[1] + 1)

    def score_range(self, low: ScoreBound, high: ScoreBound) -> tuple[int, int]:
        order = self.order
        start = (order.bisect_left((low.value, ABOVE)) if low.exclusive
                 else order.bisect_left((low.value,)))
        end = (order.bisect_left((high.value,)) if high.exclusive
               else order.bisect_left((high.value, ABOVE)))
        return start, max(start, end)

    def lex_range(self, low: LexBound, high: LexBound, reverse: bool = False) -> tuple[int, int]:
        """Meaningful when all scores are equal (the members are then in byte order). With
        mixed scores the members are not in byte order, and the answer is how the encoding is
        searched, as in Redis: a listpack is walked from its first member (its last, for a
        reverse range) to the first one inside the bounds, then on while members stay inside;
        a skiplist is searched by halves here (Redis's answer then depends on its skiplist's
        random levels: unspecified)."""
        if not self.skiplist:
            return _walked_lex_range(self.order, low, high, reverse)
        order = self.order
        start = _first_index(len(order), lambda i: low.allows_above(order[i][1]))
        end = _first_index(len(order), lambda i: not high.allows_below(order[i][1]), start)
        return start, max(start, end)

    def pairs(self, start: int, end: int, reverse: bool = False):
        """(member, score) of the order's slice, backwards if reverse."""
        chunk = self.order[start:end]
        if reverse:
            chunk.reverse()
        return [(member, score) for score, member in chunk]

    def delete_slice(self, start: int, end: int) -> int:
        for score, member in self.order[start:end]:
            del self[member]
        del self.order[start:end]
        return max(0, end - start)

    def note_size(self, config, longest: int = 0) -> None:
        """Become a skiplist if the listpack limits are exceeded (after adding members, the
        longest of which was `longest` bytes)."""
        if not self.skiplist and (len(self) > config["zset-max-listpack-entries"]
                                  or longest > config["zset-max-listpack-value"]):
            self.skiplist = True

    def copy(self) -> ZSet:
        other = ZSet()
        dict.update(other, self)
        other.order = order_of(self.order)
        other.skiplist = self.skiplist
        return other

    @classmethod
    def of_members(cls, members: list[bytes], scores: list[float]) -> ZSet:
        """A set of members[i] with scores[i], as loading builds one (`skiplist` is the caller's
        to set). The members should be distinct: a duplicate shows as len(result) <
        len(members), and the caller refuses it."""
        zset = dict.__new__(cls)  # (not cls(): its empty order would be made only to be replaced)
        dict.update(zset, zip(members, scores))
        zset.order = order_of(zip(scores, members))
        zset.skiplist = False
        zset.scan_index = None
        return zset


def new_zset(config, pairs) -> ZSet:
    """A fresh set of (member, score) pairs in its encoding: one built whole by a *STORE
    command is a listpack if it fits the limits, as Redis's zsetConvertToListpackIfNeeded."""
    zset = ZSet()
    longest = 0
    for member, score in pairs:
        zset[member] = score
        longest = max(longest, len(member))
    zset.order = order_of((score, member) for member, score in zset.items())
    zset.note_size(config, longest)
    if not zset.skiplist:  # stored as a listpack: -0 becomes 0
        for member, score in list(zset.items()):
            if score == 0 and math.copysign(1, score) < 0:
                zset.add(member, 0.0)
    return zset


def _first_index(length: int, predicate, low: int = 0) -> int:
    """The first index in [low, length) where predicate holds (it holds for all after it)."""
    high = length
    while low < high:
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle + 1
    return low


# --- bounds ----------------------------------------------------------------------------------

SCORE_RANGE_ERROR = "ERR min or max is not a float"
LEX_RANGE_ERROR = "ERR min or max not valid string range item"

_C_SPACE = b" \t\n\v\f\r"


@dataclass(frozen=True)
class ScoreBound:
    value: float
    exclusive: bool  # (score_range finds its place in the order with bisect)


def strtod_whole(text: bytes) -> float | None:
    """C's strtod over all of text, NaN refused: leading white space is skipped and an empty
    text reads as 0 (strtod reads nothing and the end pointer is at the terminator)."""
    text = text.lstrip(_C_SPACE)
    if text == b"":
        return 0.0
    try:
        value = parse_float(text)
    except BadValue:
        return None
    return None if math.isnan(value) else value


def parse_score_bound(raw: bytes) -> ScoreBound:
    exclusive = raw[:1] == b"("
    value = strtod_whole(raw[1:] if exclusive else raw)
    if value is None:
        raise BadValue(SCORE_RANGE_ERROR)
    return ScoreBound(value, exclusive)


@dataclass(frozen=True)
class LexBound:
    """A member bound: `value` None with `infinite` -1 for "-", +1 for "+"."""
    value: bytes | None
    exclusive: bool = False
    infinite: int = 0

    def allows_above(self, member: bytes) -> bool:
        """member is not below this bound taken as a minimum"""
        if self.infinite:
            return self.infinite < 0
        return member > self.value if self.exclusive else member >= self.value

    def allows_below(self, member: bytes) -> bool:
        if self.infinite:
            return self.infinite > 0
        return member < self.value if self.exclusive else member <= self.value


def _lex_range_is_empty(low: LexBound, high: LexBound) -> bool:
    """Bounds that nothing can lie between: min above max, or equal with either excluded
    ("-" and "+" count as excluded)."""
    if low.infinite and low.infinite == high.infinite:
        return True
    if low.infinite == -1 or high.infinite == 1:
        return False
    if low.infinite == 1 or high.infinite == -1:
        return True
    return low.value > high.value or (low.value == high.value and (low.exclusive or high.exclusive))


def _walked_lex_range(order, low: LexBound, high: LexBound, reverse: bool) -> tuple[int, int]:
    """lex_range of a listpack: [start, end) of the run described in ZSet.lex_range."""
    n = len(order)
    if (n == 0 or _lex_range_is_empty(low, high) or not low.allows_above(order[-1][1])
            or not high.allows_below(order[0][1])):
        return 0, 0
    if reverse:
        last = next((i for i in range(n - 1, -1, -1) if high.allows_below(order[i][1])), -1)
        first = last
        while first >= 0 and low.allows_above(order[first][1]):
            first -= 1
        return first + 1, last + 1
    start = next((i for i in range(n) if low.allows_above(order[i][1])), n)
    end = start
    while end < n and high.allows_below(order[end][1]):
        end += 1
    return start, end


def parse_lex_bound(raw: bytes) -> LexBound:
    if raw == b"+":
        return LexBound(None, infinite=1)
    if raw == b"-":
        return LexBound(None, infinite=-1)
    if raw[:1] == b"(":
        return LexBound(raw[1:], exclusive=True)
    if raw[:1] == b"[":
        return LexBound(raw[1:])
    raise BadValue(LEX_RANGE_ERROR)

