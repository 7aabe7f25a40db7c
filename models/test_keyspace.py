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
