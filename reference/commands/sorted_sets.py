"""Handlers of spec/sorted-sets.md. The value, its ranges and bounds live in reference/zset.py.

Commands taking `numkeys` (ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD, ZMPOP, BZMPOP)
and ZSCAN are declared with a `parse:` that hands the handler the words after the fixed
arguments: Redis reads them with loops of its own (keys counted by numkeys, keys looked up
before the options are read), so those loops are written out here, each error in Redis's order.
"""
from __future__ import annotations

import bisect
import math
import random

from reference.blocking import Block, parse_timeout
from reference.commands import handler
from reference.commands.generic import parse_scan_cursor
from reference.dispatch import WRONGTYPE, CommandError
from reference.keyspace import register_type, type_name
from reference.patterns import glob_match
from reference.protocol import NULL_ARRAY
from reference.values import INT64_MAX, INT64_MIN, BadValue, parse_float, string2ll
from reference.zset import (ZSet, new_zset, parse_lex_bound, parse_score_bound,
                            SCORE_RANGE_ERROR, LEX_RANGE_ERROR)

SYNTAX_ERROR = "ERR syntax error"
NAN_ERROR = "ERR resulting score is not a number (NaN)"
NOT_POSITIVE = "ERR value is out of range, must be positive"
INTEGER_ERROR = "ERR value is not an integer or out of range"


def _encoding(value: ZSet, config) -> str:
    return "skiplist" if value.skiplist else "listpack"


register_type(ZSet, "zset", _encoding, ZSet.copy)


# --- helpers -----------------------------------------------------------------------------------


def _lookup(client, key: bytes, write: bool = False) -> ZSet | None:
    """The sorted set at key, None if missing; WRONGTYPE for another type."""
    db = client.db
    value = db.get(key) if write else db.lookup_read(key)
    if value is not None and type(value) is not ZSet:
        raise CommandError(WRONGTYPE)
    return value


def _changed(client, key: bytes, zset: ZSet, count: int) -> None:
    """After `count` members were removed: delete the key if emptied, else signal the change."""
    if not zset:
        client.db.delete(key, changes=count)
    else:
        client.db.changed(key, count)


def _store(client, key: bytes, pairs) -> int:
    """Overwrite key with a new sorted set of (member, score) pairs; none deletes the key."""
    if not pairs:
        client.db.discard(key)  # not looked up: one past its time counts, no DEL of its own
        return 0
    zset = new_zset(client.server.config, pairs)
    client.db.set(key, zset)
    return len(zset)


def _with_scores(client, pairs, withscores: bool) -> list:
    """Members, or members and scores: flat in RESP2, [member, score] pairs in RESP3."""
    if not withscores:
        return [member for member, _ in pairs]
    if client.protocol >= 3:
        return [[member, score] for member, score in pairs]
    return [item for pair in pairs for item in pair]


def _int_arg(raw: bytes, error: str = INTEGER_ERROR) -> int:
    value = string2ll(raw)
    if value is None:
        raise CommandError(error)
    return value


def _non_negative_count(raw: bytes) -> int:
    value = string2ll(raw)
    if value is None or value < 0:
        raise BadValue(NOT_POSITIVE)
    return value


# --- adding and removing -----------------------------------------------------------------------


def _add(client, key: bytes, pairs, nx=False, xx=False, gt=False, lt=False, incr=False, ch=False):
    """ZADD's and ZINCRBY's common part, after the options were checked and scores parsed."""
    zset = _lookup(client, key, write=True)
    config = client.server.config
    created = zset is None
    if created:
        if xx:
            return None if incr else 0
        zset = ZSet()
    added = updated = processed = 0
    score = None
    for score, member in pairs:
        current = zset.get(member)
        if current is None:
            if xx:
                continue
            if len(zset) + 1 > config["zset-max-listpack-entries"] or \
                    len(member) > config["zset-max-listpack-value"]:
                zset.skiplist = True
            zset.add(member, score)
            added += 1
            processed += 1
            continue
        if nx:
            continue
        if incr:
            score = current + score
            if math.isnan(score):
                raise CommandError(NAN_ERROR)
        if (lt and score >= current) or (gt and score <= current):
            continue
        processed += 1
        if score != current:
            zset.add(member, score)
            updated += 1
    if added or updated:
        if created:
            client.db.set(key, zset)  # counts one change
        client.db.changed(key, added + updated - created)  # Redis counts each member added or moved
    if incr:
        return zset[pairs[0][1]] if processed else None
    return added + updated if ch else added


ZADD_OPTIONS = {b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"}


@handler("zadd", raw=("score",))
def zadd(client, args):
    items = args["score_member"]
    if len(items) == 1 and items[0]["score"].upper() in ZADD_OPTIONS:
        # The matcher keeps the last two words for the pair it needs; Redis's loop takes every
        # leading option word, which here leaves one word or none: no pair at all.
        raise CommandError(SYNTAX_ERROR)
    conditions = args.get("condition", set())
    comparisons = args.get("comparison", set())
    nx, xx = "nx" in conditions, "xx" in conditions
    gt, lt = "gt" in comparisons, "lt" in comparisons
    incr = "increment" in args
    if nx and xx:
        raise CommandError("ERR XX and NX options at the same time are not compatible")
    if (gt and nx) or (lt and nx) or (gt and lt):
        raise CommandError("ERR GT, LT, and/or NX options at the same time are not compatible")
    if incr and len(items) > 1:
        raise CommandError("ERR INCR option supports a single increment-element pair")
    pairs = [(parse_float(item["score"]), item["member"]) for item in items]
    return _add(client, args["key"], pairs, nx, xx, gt, lt, incr, "change" in args)


@handler("zincrby", convert={"increment": parse_float})
def zincrby(client, args):
    return _add(client, args["key"], [(args["increment"], args["member"])], incr=True)


@handler("zrem")
def zrem(client, args):
    key = args["key"]
    zset = _lookup(client, key, write=True)
    if zset is None:
        return 0
    removed = sum(zset.remove(member) for member in args["member"])
    if removed:
        _changed(client, key, zset, removed)
    return removed


def _remove_range(client, key: bytes, bounds) -> int:
    zset = _lookup(client, key, write=True)
    if zset is None:
        return 0
    removed = zset.delete_slice(*bounds(zset))
    if removed:
        _changed(client, key, zset, removed)
    return removed


@handler("zremrangebyrank")
def zremrangebyrank(client, args):
    return _remove_range(client, args["key"], lambda z: z.rank_range(args["start"], args["stop"]))


@handler("zremrangebyscore", convert={"min": parse_score_bound, "max": parse_score_bound})
def zremrangebyscore(client, args):
    return _remove_range(client, args["key"], lambda z: z.score_range(args["min"], args["max"]))


@handler("zremrangebylex", convert={"min": parse_lex_bound, "max": parse_lex_bound})
def zremrangebylex(client, args):
    return _remove_range(client, args["key"], lambda z: z.lex_range(args["min"], args["max"]))


# --- reading single members --------------------------------------------------------------------


@handler("zcard")
def zcard(client, args):
    zset = _lookup(client, args["key"])
    return 0 if zset is None else len(zset)


@handler("zscore")
def zscore(client, args):
    zset = _lookup(client, args["key"])
    return None if zset is None else zset.get(args["member"])


@handler("zmscore")
def zmscore(client, args):
    zset = _lookup(client, args["key"]) or {}
    return [zset.get(member) for member in args["member"]]


def _rank(client, args, reverse: bool):
    zset = _lookup(client, args["key"])
    if zset is None:
        return None
    rank = zset.rank(args["member"])
    if rank is None or not reverse:
        return rank
    return len(zset) - 1 - rank


@handler("zrank")
def zrank(client, args):
    return _rank(client, args, reverse=False)


@handler("zrevrank")
def zrevrank(client, args):
    return _rank(client, args, reverse=True)


@handler("zcount", convert={"min": parse_score_bound, "max": parse_score_bound})
def zcount(client, args):
    zset = _lookup(client, args["key"])
    if zset is None:
        return 0
    start, end = zset.score_range(args["min"], args["max"])
    return end - start


@handler("zlexcount", convert={"min": parse_lex_bound, "max": parse_lex_bound})
def zlexcount(client, args):
    zset = _lookup(client, args["key"])
    if zset is None:
        return 0
    start, end = zset.lex_range(args["min"], args["max"])
    return end - start


# --- ranges ------------------------------------------------------------------------------------


def _bad_range(error: str):
    def parse(raw):
        try:
            return (parse_score_bound if error == SCORE_RANGE_ERROR else parse_lex_bound)(raw)
        except BadValue:
            raise CommandError(error) from None
    return parse


def _select(client, key, mode, first, second, reverse, offset=0, limit=-1):
    """(member, score) pairs of the range, as ZRANGE defines it, after the options were
    checked: parse the bounds by mode, look up the key, slice."""
    if mode == "rank":
        start, stop = _int_arg(first), _int_arg(second)
    else:
        parse = _bad_range(SCORE_RANGE_ERROR if mode == "score" else LEX_RANGE_ERROR)
        if reverse:
            first, second = second, first  # given as max, min
        low, high = parse(first), parse(second)
    zset = _lookup(client, key)
    if zset is None:
        return []
    if mode == "rank":
        length = len(zset)
        if reverse:  # ranks counted from the highest score
            begin, end = zset.rank_range(start, stop)
            return zset.pairs(length - end, length - begin, reverse=True)
        return zset.pairs(*zset.rank_range(start, stop))
    begin, end = (zset.score_range(low, high) if mode == "score" else zset.lex_range(low, high, reverse))
    if offset < 0:
        return []
    if reverse:
        end -= offset
        begin = begin if limit < 0 else max(begin, end - limit)
        return zset.pairs(begin, end, reverse=True) if begin < end else []
    begin += offset
    end = end if limit < 0 else min(end, begin + limit)
    return zset.pairs(begin, end) if begin < end else []


def _zrange_options(args):
    """ZRANGE's and ZRANGESTORE's mode checks: (mode, reverse, offset, limit)."""
    mode = {"byscore": "score", "bylex": "lex"}.get(args.get("sortby"), "rank")
    limit = args.get("count", -1) if "offset" in args else -1
    if limit != -1 and mode == "rank":  # LIMIT offset -1 (the default count) passes, ignored
        raise CommandError("ERR syntax error, LIMIT is only supported in combination with either "
                           "BYSCORE or BYLEX")
    if args.get("withscores") and mode == "lex":
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    return mode, "rev" in args, args.get("offset", 0), limit


@handler("zrange")
def zrange(client, args):
    mode, reverse, offset, limit = _zrange_options(args)
    pairs = _select(client, args["key"], mode, args["start"], args["stop"], reverse, offset, limit)
    return _with_scores(client, pairs, "withscores" in args)


@handler("zrangestore")
def zrangestore(client, args):
    mode, reverse, offset, limit = _zrange_options(args)
    pairs = _select(client, args["src"], mode, args["min"], args["max"], reverse, offset, limit)
    return _store(client, args["dst"], pairs)


def _legacy_range(client, args, mode, reverse, low_name, high_name):
    if mode == "lex" and "withscores" in args:
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    offset, limit = (args["offset"], args["count"]) if "offset" in args else (0, -1)
    first, second = (args[high_name], args[low_name]) if reverse else (args[low_name], args[high_name])
    pairs = _select(client, args["key"], mode, first, second, reverse, offset, limit)
    return _with_scores(client, pairs, "withscores" in args)


@handler("zrangebyscore", raw=("min", "max"))
def zrangebyscore(client, args):
    return _legacy_range(client, args, "score", False, "min", "max")


@handler("zrevrangebyscore", raw=("min", "max"))
def zrevrangebyscore(client, args):
    return _legacy_range(client, args, "score", True, "min", "max")


@handler("zrangebylex")
def zrangebylex(client, args):
    return _legacy_range(client, args, "lex", False, "min", "max")


@handler("zrevrangebylex")
def zrevrangebylex(client, args):
    return _legacy_range(client, args, "lex", True, "min", "max")


@handler("zrevrange", raw=("start", "stop"))
def zrevrange(client, args):
    # raw: the ranks are read after the options, as ZRANGE's loop does (LIMIT included)
    if args.get("count", -1) != -1:  # LIMIT offset -1 (the default count) passes, ignored
        raise CommandError("ERR syntax error, LIMIT is only supported in combination with either "
                           "BYSCORE or BYLEX")
    pairs = _select(client, args["key"], "rank", args["start"], args["stop"], True)
    return _with_scores(client, pairs, "withscores" in args)


# --- union, intersection, difference -----------------------------------------------------------


def _inputs(client, keys: list[bytes]):
    """The sorted sets (as {member: score}, None for a missing key) of keys, looked up before
    any option is read, as Redis does."""
    sources = []
    for key in keys:
        value = client.db.lookup_read(key)
        if value is not None and type(value) is not ZSet:
            if type_name(value) != "set":
                raise CommandError(WRONGTYPE)
            value = dict.fromkeys(value, 1.0)  # a set's members weigh 1
        sources.append(value)
    return sources


def _combine_options(words, numkeys, weights_ok, withscores_ok, limit_ok):
    """The option loop after the keys: weights, aggregate, withscores, limit."""
    weights = [1.0] * numkeys
    aggregate, withscores, limit = "sum", False, 0
    i = 0
    while i < len(words):
        word = words[i].upper()
        left = len(words) - i
        if weights_ok and word == b"WEIGHTS" and left >= numkeys + 1:
            for n in range(numkeys):
                weights[n] = parse_float(words[i + 1 + n], "ERR weight value is not a float")
            i += numkeys + 1
        elif weights_ok and word == b"AGGREGATE" and left >= 2:
            aggregate = words[i + 1].lower().decode("latin-1")
            if aggregate not in ("sum", "min", "max"):
                raise CommandError(SYNTAX_ERROR)
            i += 2
        elif withscores_ok and word == b"WITHSCORES":
            withscores = True
            i += 1
        elif limit_ok and word == b"LIMIT" and left >= 2:
            limit = string2ll(words[i + 1])
            if limit is None or limit < 0:
                raise CommandError("ERR LIMIT can't be negative")
            i += 2
        else:
            raise CommandError(SYNTAX_ERROR)
    return weights, aggregate, withscores, limit


def _weighted(score: float, weight: float) -> float:
    product = score * weight
    return 0.0 if math.isnan(product) else product  # 0 * inf counts as 0


def _aggregate(how: str, a: float, b: float) -> float:
    if how == "sum":
        total = a + b
        return 0.0 if math.isnan(total) else total  # inf + -inf counts as 0
    return min(a, b) if how == "min" else max(a, b)


def _union(sources, weights, how) -> dict:
    result: dict = {}
    for source, weight in zip(sources, weights):
        for member, score in (source or {}).items():
            score = _weighted(score, weight)
            result[member] = score if member not in result else _aggregate(how, result[member], score)
    return result


def _inter(sources, weights, how, limit: int = 0) -> dict:
    # Redis walks the smallest input (the first named among equals) and looks the others up.
    ordered = sorted(zip(sources, weights), key=lambda sw: len(sw[0] or ()))
    if not ordered[0][0]:
        return {}
    result = {}
    (first, first_weight), others = ordered[0], ordered[1:]
    for member, score in _in_order(first):
        total = _weighted(score, first_weight)
        for source, weight in others:
            if not source or member not in source:
                break
            total = _aggregate(how, total, _weighted(source[member], weight))
        else:
            result[member] = total
            if limit and len(result) >= limit:
                break
    return result


def _in_order(source):
    """A sorted set's pairs by score (a set's in any order)."""
    if type(source) is ZSet:
        return [(member, score) for score, member in source.order]
    return list(source.items())


def _diff(sources) -> dict:
    first, others = sources[0], [s for s in sources[1:] if s]
    if not first:
        return {}
    return {member: score for member, score in first.items()
            if not any(member in other for other in others)}


def _sorted_pairs(result: dict):
    return sorted(result.items(), key=lambda pair: (pair[1], pair[0]))


def _combine(client, args, op: str, store: bool):
    sources = _inputs(client, args["key"])
    weights, how, withscores, _ = _combine_options(
        args.get("option", []), len(sources), weights_ok=op != "diff", withscores_ok=not store, limit_ok=False)
    if op == "union":
        result = _union(sources, weights, how)
    elif op == "inter":
        result = _inter(sources, weights, how)
    else:
        result = _diff(sources)
    return _sorted_pairs(result), withscores


def _combine_reply(op: str):
    def run(client, args):
        pairs, withscores = _combine(client, args, op, False)
        return _with_scores(client, pairs, withscores)
    return run


def _combine_store(op: str):
    def run(client, args):
        pairs, _ = _combine(client, args, op, True)
        return _store(client, args["destination"], pairs)
    return run


handler("zunion")(_combine_reply("union"))
handler("zinter")(_combine_reply("inter"))
handler("zdiff")(_combine_reply("diff"))
handler("zunionstore")(_combine_store("union"))
handler("zinterstore")(_combine_store("inter"))
handler("zdiffstore")(_combine_store("diff"))


@handler("zintercard")
def zintercard(client, args):
    sources = _inputs(client, args["key"])
    weights, _, _, limit = _combine_options(args.get("option", []), len(sources), False, False,
                                            limit_ok=True)
    return len(_inter(sources, weights, "sum", limit))


# --- popping -----------------------------------------------------------------------------------


def _pop(client, key: bytes, zset: ZSet, count: int, highest: bool):
    """Remove up to count members from one end: (member, score) pairs in pop order."""
    n = min(count, len(zset))
    if highest:
        pairs = zset.pairs(len(zset) - n, len(zset), reverse=True)
    else:
        pairs = zset.pairs(0, n)
    for member, _ in pairs:
        zset.remove(member)
    _changed(client, key, zset, len(pairs))
    return pairs


def _zpop(client, args, highest: bool):
    key = args["key"]
    zset = _lookup(client, key, write=True)
    count = args.get("count")
    if zset is None or count == 0:
        return []
    pairs = _pop(client, key, zset, 1 if count is None else count, highest)
    if count is not None and client.protocol >= 3:
        return [[member, score] for member, score in pairs]
    return [item for pair in pairs for item in pair]


@handler("zpopmin", convert={"count": _non_negative_count})
def zpopmin(client, args):
    return _zpop(client, args, highest=False)


@handler("zpopmax", convert={"count": _non_negative_count})
def zpopmax(client, args):
    return _zpop(client, args, highest=True)


def _first_nonempty(client, keys):
    """The first key holding a sorted set and its value, or (None, None); WRONGTYPE if a key
    of another type comes first."""
    for key in keys:
        zset = _lookup(client, key, write=True)
        if zset is not None:
            return key, zset
    return None, None


def _bzpop(client, args, highest: bool):
    timeout_ms = args["timeout"]
    key, zset = _first_nonempty(client, args["key"])
    if zset is None:
        return Block(args["key"], timeout_ms, NULL_ARRAY)
    [(member, score)] = _pop(client, key, zset, 1, highest)
    client.propagate_as = [[b"ZPOPMAX" if highest else b"ZPOPMIN", key]]  # the AOF's plain pop
    return [key, member, score]


@handler("bzpopmin", convert={"timeout": parse_timeout})
def bzpopmin(client, args):
    return _bzpop(client, args, highest=False)


@handler("bzpopmax", convert={"timeout": parse_timeout})
def bzpopmax(client, args):
    return _bzpop(client, args, highest=True)


def parse_mpop_count(raw: bytes) -> int:
    """ZMPOP's COUNT, checked as it is read: an integer from 1 up."""
    count = string2ll(raw)
    if count is None or count < 1:
        raise CommandError("ERR count should be greater than 0")
    return count


def _mpop_reply(client, key, zset, count, highest):
    pairs = _pop(client, key, zset, count, highest)
    # written to the AOF as ZPOPMIN/ZPOPMAX key count, as Redis does
    client.propagate_as = [[b"ZPOPMAX" if highest else b"ZPOPMIN", key, b"%d" % len(pairs)]]
    return [key, [[member, score] for member, score in pairs]]


@handler("zmpop", convert={"count": parse_mpop_count})
def zmpop(client, args):
    keys, highest, count = args["key"], args["where"] == "max", args.get("count", 1)
    key, zset = _first_nonempty(client, keys)
    if zset is None:
        return NULL_ARRAY
    return _mpop_reply(client, key, zset, count, highest)


@handler("bzmpop", raw=("timeout",), convert={"count": parse_mpop_count})
def bzmpop(client, args):
    # Redis reads the timeout after every other argument.
    keys, highest, count = args["key"], args["where"] == "max", args.get("count", 1)
    timeout_ms = parse_timeout(args["timeout"])
    key, zset = _first_nonempty(client, keys)
    if zset is None:
        return Block(keys, timeout_ms, NULL_ARRAY)
    return _mpop_reply(client, key, zset, count, highest)


# --- random members ----------------------------------------------------------------------------


def _randmember_count(raw: bytes) -> int:
    value = string2ll(raw)
    if value is None:
        raise BadValue(INTEGER_ERROR)
    if value == INT64_MIN:
        raise BadValue("ERR value is out of range, value must between -9223372036854775807 and "
                       "9223372036854775807")
    return value


@handler("zrandmember", convert={"count": _randmember_count})
def zrandmember(client, args):
    key = args["key"]
    if "count" not in args:
        zset = _lookup(client, key)
        return None if zset is None else random.choice(zset.order)[1]
    count, withscores = args["count"], "withscores" in args
    if withscores and abs(count) > INT64_MAX // 2:
        raise CommandError("ERR value is out of range")
    zset = _lookup(client, key)
    if zset is None or count == 0:
        return []
    if count < 0:  # repetitions allowed
        pairs = [(m, s) for s, m in (random.choice(zset.order) for _ in range(-count))]
    elif count >= len(zset):
        pairs = zset.pairs(0, len(zset))
    else:
        pairs = [(m, s) for s, m in random.sample(list(zset.order), count)]
    return _with_scores(client, pairs, withscores)


# --- scanning ----------------------------------------------------------------------------------


class _ScanIndex:
    """A snapshot of the members sorted by hash, taken when a scan starts (cursor 0): a member
    present for the whole scan is in every snapshot that scan uses, at a stable position."""
    __slots__ = ("members", "positions")

    def __init__(self, zset: ZSet):
        self.members = sorted(zset, key=hash)
        self.positions = [hash(member) + (1 << 63) for member in self.members]


def _scan_options(words):
    pattern, count = None, 10
    i = 0
    while i < len(words):
        word = words[i].upper()
        if word == b"COUNT" and i + 1 < len(words):
            count = _int_arg(words[i + 1])
            if count < 1:
                raise CommandError(SYNTAX_ERROR)
        elif word == b"MATCH" and i + 1 < len(words):
            pattern = words[i + 1]
        else:
            raise CommandError(SYNTAX_ERROR)
        i += 2
    return (None if pattern == b"*" else pattern), count


@handler("zscan", convert={"cursor": parse_scan_cursor})
def zscan(client, args):
    cursor = args["cursor"]
    zset = _lookup(client, args["key"])
    if zset is None:
        return [b"0", []]
    pattern, count = _scan_options(args.get("option", []))
    if not zset.skiplist:
        members, next_cursor = [m for s, m in zset.order], 0
        scores = [_listpack_score(zset[m]) for m in members]
    else:
        index = zset.scan_index
        if index is None or cursor == 0:
            index = zset.scan_index = _ScanIndex(zset)
        start = bisect.bisect_left(index.positions, cursor)
        end = min(start + count, len(index.members))
        while 0 < end < len(index.members) and index.positions[end] == index.positions[end - 1]:
            end += 1
        next_cursor = index.positions[end] if end < len(index.members) else 0
        members = [m for m in index.members[start:end] if m in zset]
        scores = [_double_text(zset[m]) for m in members]
        if next_cursor == 0:
            zset.scan_index = None
    reply = []
    for member, score in zip(members, scores):
        if pattern is None or glob_match(pattern, member):
            reply += [member, score]
    return [str(next_cursor).encode(), reply]


def _double_text(score: float) -> bytes:
    """A score as "%.17g" (a skiplist's scores in ZSCAN)."""
    if math.isinf(score):
        return b"inf" if score > 0 else b"-inf"
    return (b"%.17g" % score)


def _listpack_score(score: float) -> bytes:
    """A score as a listpack stores it: an integer if it is one (within +-2^62, as d2string), else %.17g."""
    if not math.isinf(score) and -2.0 ** 62 <= score <= 2.0 ** 62 and score == int(score):
        return str(int(score)).encode()
    return _double_text(score)
