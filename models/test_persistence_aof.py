"""Run the AOF crash-recovery machine (models/persistence.py's AofMachine) on launched servers.

Below the machine's run: fixed scenarios, written as the steps Hypothesis prints.
"""

import pytest

from models.persistence import AofMachine, machine_on, run_against, steps

pytestmark = pytest.mark.launches


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
