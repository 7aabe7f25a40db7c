"""Run the keyspace state machine (models/keyspace.py) against the target.

Below the machine's run: fixed scenarios, written as the steps Hypothesis
prints for a failing run (`state.rule(...)` becomes `machine.rule(...)`).
Each failure Hypothesis finds is kept here, so it is checked on every run,
whatever the profile draws.
"""

import pytest

from models.keyspace import machine_on, run_against


def test_keyspace_model(target):
    run_against(target)


@pytest.fixture
def machine(target):
    machine = machine_on(target)()
    machine.choose_protocol(protocol=2)
    yield machine
    machine.teardown()


def steps(machine, *calls):
    """Run rules in order, checking the invariants after each, as Hypothesis does."""
    machine.selected_db_matches_the_model()
    for name, arguments in calls:
        getattr(machine, name)(**arguments)
        machine.selected_db_matches_the_model()


def test_expiry_already_past_deletes_at_once(machine):
    steps(
        machine,
        ("set", dict(key=b"a", value=b"1", condition=None, get=False, expiry=("EXAT", "past"))),
        ("set", dict(key=b"b", value=b"1", condition=None, get=True, expiry=("PXAT", "past"))),
        ("set", dict(key=b"c", value=b"1", condition=None, get=False, expiry=None)),
        ("getex", dict(key=b"c", option="EXAT", horizon="past")),
        ("mset", dict(pairs=[(b"a", b"1"), (b"b", b"2")])),
        ("expire", dict(command="EXPIRE", key=b"a", horizon="zero", flags=[])),
        ("expire", dict(command="PEXPIREAT", key=b"b", horizon="past", flags=["LT"])),
    )


def test_expire_conditions_on_a_key_without_expiry(machine):
    steps(
        machine,
        ("set", dict(key=b"a", value=b"v", condition=None, get=False, expiry=None)),
        ("expire", dict(command="EXPIRE", key=b"a", horizon="100s", flags=["XX"])),
        ("expire", dict(command="EXPIRE", key=b"a", horizon="100s", flags=["GT"])),
        ("expire", dict(command="EXPIRE", key=b"a", horizon="10000s", flags=["LT"])),
        ("expire", dict(command="PEXPIRE", key=b"a", horizon="1000s", flags=["XX", "LT"])),
        ("expire", dict(command="EXPIREAT", key=b"a", horizon="100s", flags=["NX"])),
        ("expire", dict(command="EXPIRE", key=b"a", horizon="100s", flags=["NX", "GT"])),
        ("expire", dict(command="EXPIRE", key=b"a", horizon="100s", flags=["GT", "LT"])),
        ("ttl", dict(command="EXPIRETIME", key=b"a")),
    )


def test_invalid_expire_times(machine):
    steps(
        machine,
        ("getex", dict(key=b"a", option="EX", horizon="zero")),  # missing key: nil, not an error
        ("set", dict(key=b"a", value=b"v", condition=None, get=False, expiry=("EX", "huge"))),
        ("set", dict(key=b"a", value=b"v", condition="XX", get=True, expiry=("PX", "zero"))),
        ("setex", dict(command="SETEX", key=b"a", horizon="past", value=b"v")),
        ("setex", dict(command="PSETEX", key=b"a", horizon="huge", value=b"v")),
        ("set", dict(key=b"a", value=b"v", condition=None, get=False, expiry=("PXAT", "huge"))),
        ("getex", dict(key=b"a", option="EXAT", horizon="huge")),
        ("expire", dict(command="PEXPIRE", key=b"a", horizon="huge", flags=[])),
        ("expire", dict(command="EXPIREAT", key=b"a", horizon="huge", flags=[])),
        ("ttl", dict(command="PEXPIRETIME", key=b"a")),
    )


def test_keys_move_between_databases_with_their_expiry(machine):
    steps(
        machine,
        ("setex", dict(command="SETEX", key=b"a", horizon="1000s", value=b"v")),
        ("copy", dict(source=b"a", destination=b"b", db=1, replace=False)),
        ("move", dict(key=b"a", db=2)),
        ("swapdb", dict(first=0, second=1)),
        ("select", dict(index=1)),
        ("select", dict(index=2)),
        ("rename", dict(source=b"a", destination=b"ab")),
        ("copy", dict(source=b"ab", destination=b"ab", db=None, replace=True)),
        ("flush", dict(command="FLUSHALL", mode="ASYNC")),
    )


def test_every_command_refuses_a_key_of_another_type(machine):
    """WRONGTYPE, and nothing changed (the invariants read every key back after each step)."""
    steps(
        machine,
        ("set", dict(key=b"a", value=b"1", condition=None, get=False, expiry=None)),
        ("push", dict(command="RPUSH", key=b"b", items=[b"x", b"1"])),
        ("hset", dict(key=b"c", pairs=[(b"f", b"5")])),
        ("sadd", dict(key=b"ab", members=[b"x", b"2"])),
        ("zadd", dict(key=b"ba", flags=[], pairs=[(b"1.5", b"x")])),
        # strings' commands on the list, the hash...
        ("get", dict(key=b"b")),
        ("incr", dict(key=b"c")),
        ("incrbyfloat", dict(key=b"ab", increment=b"abc")),  # the type is checked before the number
        ("append", dict(key=b"ba", value=b"x")),
        ("setrange", dict(key=b"b", offset=0, value=b"")),
        ("getex", dict(key=b"c", option="EX", horizon="zero")),  # before the expiry is validated
        ("set", dict(key=b"ab", value=b"v", condition="NX", get=True, expiry=None)),
        ("mget", dict(keys=[b"a", b"b", b"c", b"ab", b"ba"])),  # nil, not an error
        # ...and each family's commands on the others' keys.
        ("push", dict(command="LPUSHX", key=b"a", items=[b"x"])),
        ("pop", dict(command="RPOP", key=b"c", count=0)),
        ("lrange", dict(key=b"ab", start=0, stop=-1)),
        ("lset", dict(key=b"ba", index=0, element=b"x")),
        ("lmove", dict(source=b"b", destination=b"c", wherefrom="LEFT", whereto="RIGHT")),
        ("lpos", dict(key=b"a", element=b"x", rank=None, count=1, maxlen=None)),
        ("hget", dict(key=b"b", field=b"f")),
        ("hincrby", dict(key=b"ab", field=b"f", increment=1)),
        ("hgetall", dict(key=b"ba")),
        ("sadd", dict(key=b"c", members=[b"x"])),
        ("smembers", dict(key=b"ba")),
        ("set_algebra", dict(command="SINTER", sources=[b"ab", b"c"], destination=None)),
        ("set_algebra", dict(command="SUNION", sources=[b"ab", b"b"], destination=b"ab")),
        ("smove", dict(source=b"ab", destination=b"a", member=b"x")),
        ("zadd", dict(key=b"a", flags=["INCR"], pairs=[(b"1", b"x")])),
        ("zscore", dict(key=b"c", member=b"f")),
        ("zrange_by_score", dict(key=b"b", first=b"-inf", second=b"+inf", rev=False, withscores=True, limit=None)),
        ("zincrby", dict(key=b"ab", increment=b"1", member=b"x")),
        ("zrank", dict(key=b"a", member=b"x")),
    )


def test_bit_commands(machine):
    """SETBIT grows a string with zero bytes and keeps its expiry; BITOP replaces or deletes its
    destination, refuses a source of another type (the invariants read every key back)."""
    steps(
        machine,
        ("set", dict(key=b"a", value=b"1", condition=None, get=False, expiry=("EX", "1000s"))),
        ("setbit", dict(key=b"a", offset=20, bit=1)),
        ("setbit", dict(key=b"b", offset=9, bit=0)),
        ("bitcount", dict(key=b"a")),
        ("bitop", dict(operation="XOR", destination=b"a", sources=[b"a", b"b", b"c"])),
        ("bitop", dict(operation="NOT", destination=b"c", sources=[b"b", b"a"])),
        ("bitop", dict(operation="AND", destination=b"c", sources=[b"ab"])),   # nothing: deleted
        ("push", dict(command="RPUSH", key=b"ba", items=[b"x"])),
        ("bitop", dict(operation="OR", destination=b"ab", sources=[b"a", b"ba"])),
        ("setbit", dict(key=b"ba", offset=0, bit=1)),
        ("bitcount", dict(key=b"ba")),
        ("bitop", dict(operation="OR", destination=b"ba", sources=[b"a"])),   # another type: replaced
    )


def test_hyperloglog_commands(machine):
    """PFADD creates an HLL and keeps an expiry; PFCOUNT writes only its cache; a string that
    is not an HLL and a key of another type are refused in key order; a string command that
    damages an HLL's runs leaves it an HLL by its header, which a count then finds corrupt."""
    steps(
        machine,
        ("pfadd", dict(key=b"a", elements=[])),
        ("set", dict(key=b"b", value=b"1", condition=None, get=False, expiry=("EX", "1000s"))),
        ("pfadd", dict(key=b"b", elements=[b"a"])),                 # not an HLL
        ("pfcount", dict(keys=[b"a", b"b"])),
        ("pfadd", dict(key=b"a", elements=[b"a", b"b", b"a"])),
        ("expire", dict(command="EXPIRE", key=b"a", horizon="1000s", flags=[])),
        ("pfadd", dict(key=b"a", elements=[b"c"])),
        ("pfcount", dict(keys=[b"a"])),
        ("pfcount", dict(keys=[b"a"])),                             # cached
        ("push", dict(command="RPUSH", key=b"ba", items=[b"x"])),
        ("pfcount", dict(keys=[b"c", b"ba", b"b"])),                # WRONGTYPE first
        ("pfmerge", dict(destination=b"c", sources=[b"a", b"ab"])),
        ("pfmerge", dict(destination=b"a", sources=[])),
        ("append", dict(key=b"c", value=b"1")),                     # a ZERO run too many
        ("pfcount", dict(keys=[b"c"])),
        ("pfadd", dict(key=b"c", elements=[b"hello"])),
        ("pfmerge", dict(destination=b"ab", sources=[b"c"])),
    )


def test_containers_that_become_empty_disappear(machine):
    steps(
        machine,
        ("push", dict(command="LPUSH", key=b"a", items=[b"x", b"y"])),
        ("pop", dict(command="LPOP", key=b"a", count=5)),
        ("push", dict(command="RPUSH", key=b"a", items=[b"x", b"x", b"y"])),
        ("lrem", dict(key=b"a", count=-1, element=b"x")),
        ("ltrim", dict(key=b"a", start=2, stop=1)),
        ("push", dict(command="RPUSH", key=b"a", items=[b"x"])),
        ("lmove", dict(source=b"a", destination=b"b", wherefrom="RIGHT", whereto="LEFT")),
        ("hset", dict(key=b"c", pairs=[(b"f", b"1"), (b"g", b"2")])),
        ("hdel", dict(key=b"c", fields=[b"f", b"g", b"h"])),
        ("sadd", dict(key=b"c", members=[b"1"])),
        ("smove", dict(source=b"c", destination=b"ab", member=b"1")),
        ("srem", dict(key=b"ab", members=[b"1"])),
        ("sadd", dict(key=b"c", members=[b"1", b"x"])),
        ("sadd", dict(key=b"ab", members=[b"y"])),
        ("set_algebra", dict(command="SINTER", sources=[b"c", b"ab"], destination=b"c")),  # empty: deletes c
        ("set_algebra", dict(command="SDIFF", sources=[b"ab", b"ab"], destination=b"b")),  # empty: deletes b
        ("zadd", dict(key=b"ba", flags=[], pairs=[(b"1", b"x"), (b"10", b"y")])),
        ("zrem", dict(key=b"ba", members=[b"x", b"y"])),
        ("zadd", dict(key=b"ba", flags=["XX"], pairs=[(b"1", b"x")])),  # XX creates no key
        ("push", dict(command="RPUSHX", key=b"ba", items=[b"x"])),  # nor does RPUSHX
    )


def test_generic_commands_on_every_type(machine):
    steps(
        machine,
        ("push", dict(command="RPUSH", key=b"a", items=[b"x", b"y"])),
        ("hset", dict(key=b"b", pairs=[(b"f", b"v")])),
        ("sadd", dict(key=b"c", members=[b"1", b"2"])),
        ("zadd", dict(key=b"ab", flags=[], pairs=[(b"-inf", b"x"), (b"inf", b"y")])),
        ("expire", dict(command="EXPIRE", key=b"a", horizon="1000s", flags=[])),
        ("lmove", dict(source=b"a", destination=b"a", wherefrom="LEFT", whereto="RIGHT")),  # keeps its TTL
        ("copy", dict(source=b"a", destination=b"ba", db=None, replace=False)),
        ("copy", dict(source=b"ab", destination=b"ba", db=1, replace=False)),
        ("copy", dict(source=b"c", destination=b"b", db=None, replace=True)),
        ("scan", dict(count=2, pattern=None, type_="zset")),
        ("scan", dict(count=None, pattern=b"*a", type_="list")),
        ("rename", dict(source=b"c", destination=b"ab")),
        ("move", dict(key=b"ab", db=2)),
        ("swapdb", dict(first=0, second=1)),
        ("type_", dict(key=b"ba")),
        ("zrange_by_rank", dict(key=b"ba", start=0, stop=-1, rev=True, withscores=True, limit=None)),
        ("select", dict(index=1)),
        ("short_ttl_then_wait", dict(key=b"a", value=b"v", how="PEXPIRE", ttl=50)),
        ("flush", dict(command="FLUSHDB", mode=None)),
    )


def test_sorted_set_options(machine):
    steps(
        machine,
        ("zadd", dict(key=b"a", flags=["CH"], pairs=[(b"1", b"x"), (b"10", b"x"), (b"1e3", b"y")])),
        ("zadd", dict(key=b"a", flags=["XX", "GT", "CH"], pairs=[(b"1", b"x"), (b"10", b"y"), (b"0", b"z")])),
        ("zadd", dict(key=b"a", flags=["LT", "INCR"], pairs=[(b"1", b"x")])),  # not lower: nil
        ("zadd", dict(key=b"a", flags=["NX", "INCR"], pairs=[(b"1", b"x")])),  # exists: nil
        ("zadd", dict(key=b"a", flags=["NX", "GT"], pairs=[(b"1", b"x")])),
        ("zadd", dict(key=b"a", flags=["NX", "XX"], pairs=[(b"1", b"x")])),
        ("zadd", dict(key=b"a", flags=["INCR"], pairs=[(b"1", b"x"), (b"1", b"y")])),
        ("zadd", dict(key=b"a", flags=[], pairs=[(b"1", b"x"), (b"nan", b"y")])),
        ("zadd", dict(key=b"a", flags=[], pairs=[(b"inf", b"x")])),
        ("zincrby", dict(key=b"a", increment=b"-inf", member=b"x")),  # inf - inf: NaN, refused
        ("zadd", dict(key=b"a", flags=["INCR"], pairs=[(b"-inf", b"x")])),
        ("zincrby", dict(key=b"a", increment=b"0.25", member=b"new")),
        ("zrange_by_rank", dict(key=b"a", start=0, stop=-1, rev=False, withscores=False, limit=(0, 1))),
        ("zrange_by_score", dict(key=b"a", first=b"(1", second=b"+inf", rev=False, withscores=True, limit=(1, -1))),
        ("zrange_by_score", dict(key=b"a", first=b"inf", second=b"(-inf", rev=True, withscores=True, limit=(0, 1))),
        ("zrange_by_score", dict(key=b"a", first=b"-inf", second=b"inf", rev=False, withscores=False, limit=(-1, 2))),
        ("zrange_by_score", dict(key=b"a", first=b"abc", second=b"1", rev=False, withscores=False, limit=None)),
        ("zrank", dict(key=b"a", member=b"y")),
    )


def test_list_positions_and_edits(machine):
    steps(
        machine,
        ("push", dict(command="RPUSH", key=b"a", items=[b"x", b"y", b"x", b"x"])),
        ("lpos", dict(key=b"a", element=b"x", rank=-2, count=None, maxlen=None)),
        ("lpos", dict(key=b"a", element=b"x", rank=2, count=0, maxlen=None)),
        ("lpos", dict(key=b"a", element=b"x", rank=-1, count=2, maxlen=1)),
        ("lpos", dict(key=b"a", element=b"x", rank=0, count=None, maxlen=None)),
        ("lpos", dict(key=b"b", element=b"x", rank=None, count=1, maxlen=None)),  # missing key, COUNT: []
        ("linsert", dict(key=b"a", where="AFTER", pivot=b"x", element=b"z")),
        ("linsert", dict(key=b"a", where="BEFORE", pivot=b"2", element=b"z")),
        ("lset", dict(key=b"a", index=-1, element=b"1")),
        ("lset", dict(key=b"a", index=5, element=b"1")),
        ("lset", dict(key=b"b", index=0, element=b"1")),
        ("lindex", dict(key=b"a", index=-5)),
        ("pop", dict(command="RPOP", key=b"a", count=2)),
        ("pop", dict(command="LPOP", key=b"b", count=1)),
        ("pop", dict(command="LPOP", key=b"a", count=-1)),
        ("hincrby", dict(key=b"c", field=b"f", increment=9223372036854775807)),
        ("hincrby", dict(key=b"c", field=b"f", increment=1)),
        ("hset", dict(key=b"c", pairs=[(b"g", b"007"), (b"g", b"1")])),
        ("hsetnx", dict(key=b"c", field=b"g", value=b"x")),
        ("hincrby", dict(key=b"c", field=b"g", increment=b"1.5")),
    )
