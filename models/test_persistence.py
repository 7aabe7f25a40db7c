"""Run the crash-recovery machine (models/persistence.py) against servers it launches.

Every test here launches servers (the `launcher` fixture, marked `launches`):
run with --server CMD. Below the machine's run: fixed scenarios, written as the
steps Hypothesis prints (`state.rule(...)` becomes `machine.rule(...)`), so the
cases that matter most are checked on every run whatever the profile draws.
"""

import pytest

from models.persistence import machine_on, run_against, steps

pytestmark = [pytest.mark.launches, pytest.mark.internals("rdb-key-save-delay, DEBUG RELOAD, list-max-listpack-size")]


def test_rdb_recovery_model(launcher):
    run_against(launcher)


@pytest.fixture
def machine(launcher):
    machine = machine_on(launcher)()
    yield machine
    machine.teardown()


def test_a_crash_before_any_save_loses_everything(machine):
    steps(
        machine,
        ("set", dict(db=0, key=b"a", value=b"v")),
        ("rpush", dict(db=1, key=b"b", items=[b"1", b"x"])),
        ("kill_and_restart", {}),
    )


def test_a_crash_recovers_the_last_save_of_every_type(machine):
    steps(
        machine,
        ("set", dict(db=0, key=b"a", value=b"x" * 100)),
        ("incr", dict(db=0, key=b"b")),
        ("rpush", dict(db=0, key=b"c", items=[b"1", b"2", b"x", b"y"])),
        ("rpush", dict(db=0, key=b"c", items=[b"-3", b""])),  # past 4: a quicklist of two nodes
        ("sadd", dict(db=1, key=b"a", members=[b"1", b"2", b"100"])),  # an intset
        ("sadd", dict(db=1, key=b"b", members=[b"x", b"1"])),
        ("hset", dict(db=1, key=b"c", pairs=[(b"x", b"v"), (b"y", b"12")])),
        ("hset", dict(db=1, key=b"d", pairs=[(b"1", b"0123456789" * 7)])),  # a value too long: hashtable
        ("zadd", dict(db=0, key=b"d", pairs=[(1.1, b"x"), (float("inf"), b"y"), (1e-300, b"1")])),
        ("expire", dict(db=0, key=b"c", seconds=1000)),
        ("expire", dict(db=1, key=b"d", seconds=10_000_000)),
        ("save", {}),
        ("set", dict(db=0, key=b"a", value=b"after the save")),
        ("persist", dict(db=0, key=b"c")),
        ("kill_and_restart", {}),
    )


def test_bgsave_snapshot_is_the_state_at_the_fork(machine):
    steps(
        machine,
        ("set", dict(db=0, key=b"a", value=b"1")),
        ("zadd", dict(db=0, key=b"b", pairs=[(0.5, b"m"), (-1.0, b"n")])),
        ("bgsave_with_writes_meanwhile", dict(writes=[(0, b"a", b"2"), (1, b"c", b"new")])),
        ("kill_and_restart", {}),
    )


@pytest.mark.parametrize("how", ["SIGKILL", "SHUTDOWN NOSAVE", "SHUTDOWN SAVE"])
def test_a_background_save_cut_short(machine, how):
    steps(
        machine,
        ("set", dict(db=0, key=b"a", value=b"saved")),
        ("bgsave", {}),
        ("set", dict(db=0, key=b"a", value=b"not saved")),
        ("sadd", dict(db=1, key=b"b", members=[b"x"])),
        ("stop_during_bgsave_and_restart", dict(how=how, writes=[(0, b"c", b"meanwhile")])),
    )


def test_clean_stops_without_save_points_save_nothing(machine):
    steps(
        machine,
        ("set", dict(db=0, key=b"a", value=b"1")),
        ("debug_reload", {}),
        ("set", dict(db=0, key=b"b", value=b"2")),
        ("stop_without_saving_and_restart", dict(how="SHUTDOWN")),
        ("set", dict(db=0, key=b"c", value=b"3")),
        ("stop_without_saving_and_restart", dict(how="SIGTERM")),
        ("hset", dict(db=1, key=b"d", pairs=[(b"f", b"v")])),
        ("shutdown_save_and_restart", {}),
        ("flushall_during_bgsave", {}),
        ("kill_and_restart", {}),
    )
