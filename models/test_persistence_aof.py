"""Run the AOF crash-recovery machine (models/persistence.py's AofMachine) on launched servers.

Below the machine's run: fixed scenarios, written as the steps Hypothesis prints.
"""

import pytest

from models.persistence import AofMachine, machine_on, run_against, steps

pytestmark = [pytest.mark.launches, pytest.mark.internals("rdb-key-save-delay, AOF files")]


def test_aof_recovery_model(launcher):
    run_against(launcher, AofMachine)


@pytest.fixture
def machine(launcher):
    machine = machine_on(launcher, AofMachine)()
    yield machine
    machine.teardown()


def test_every_acknowledged_write_survives_a_crash(machine):
    steps(
        machine,
        ("set", dict(db=0, key=b"a", value=b"x" * 100)),
        ("rpush", dict(db=1, key=b"b", items=[b"1", b"2", b"x", b"y", b"z"])),
        ("zadd", dict(db=0, key=b"c", pairs=[(1.1, b"x"), (float("-inf"), b"y")])),
        ("expire", dict(db=0, key=b"c", seconds=1000)),
        ("kill_and_restart", {}),
        ("bgrewriteaof", {}),
        ("hset", dict(db=1, key=b"d", pairs=[(b"f", b"v")])),
        ("kill_and_restart", {}),
    )


def test_a_torn_last_write_loads_the_state_before_it(machine):
    steps(
        machine,
        ("set", dict(db=0, key=b"a", value=b"1")),
        ("incr", dict(db=0, key=b"a")),
        ("crash_with_a_torn_last_write", {}),  # INCR lost: a holds 1
        ("bgrewriteaof", {}),
        ("sadd", dict(db=1, key=b"b", members=[b"x", b"1"])),
        ("expire", dict(db=1, key=b"b", seconds=100_000)),
        ("crash_with_a_torn_last_write", {}),  # EXPIRE lost
    )


def test_writes_during_a_rewrite_land_in_the_new_incr_file(machine):
    steps(
        machine,
        ("set", dict(db=0, key=b"a", value=b"before")),
        ("rpush", dict(db=1, key=b"b", items=[b"1", b"2", b"x", b"y", b"z"])),
        ("bgrewriteaof_with_writes_meanwhile", dict(writes=[(0, b"a", b"during"), (1, b"c", b"new")])),
        ("crash_with_a_torn_last_write", {}),  # the torn write is the last one made during the rewrite
        ("bgrewriteaof_with_writes_meanwhile", dict(writes=[(0, b"d", b"x" * 100)])),
        ("kill_and_restart", {}),
    )


def test_a_crash_during_a_rewrite_loses_no_acknowledged_write(machine):
    steps(
        machine,
        ("set", dict(db=0, key=b"a", value=b"1")),
        ("zadd", dict(db=1, key=b"b", pairs=[(0.5, b"m"), (-1.0, b"n")])),
        ("expire", dict(db=1, key=b"b", seconds=1000)),
        ("crash_during_bgrewriteaof_and_restart", dict(writes=[(0, b"a", b"2"), (1, b"c", b"meanwhile")])),
        ("set", dict(db=0, key=b"d", value=b"after the restart")),
        ("bgrewriteaof", {}),  # the dead child's temporary file is in the way of nothing
        ("crash_during_bgrewriteaof_and_restart", dict(writes=[])),
        ("kill_and_restart", {}),
    )
