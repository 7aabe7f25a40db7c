"""Run the replication-consistency machine (models/replication.py) on launched servers.

--server launches the master and the sub-replica, --peer-server (default: the same command) the
two replicas, so `--server "python -m reference" --peer-server redis-server` judges mixed sets.
Below the machine's run: fixed scenarios, written as the steps Hypothesis prints
(`state.rule(...)` becomes `("rule", dict(...))`), so that the cases that matter most are
checked on every run whatever the profile draws.
"""
import threading

import pytest

from models import replication
from models.replication import machine_on, run_against, steps

pytestmark = [pytest.mark.launches, pytest.mark.internals("DEBUG DIGEST, INFO replication and stats")]

# The nodes that are not the master, in order, as `choice` picks them: r1, r2, s at the start.
R1, R2, S = 0, 1, 2


def served(machine, name: str) -> tuple[int, int, int]:
    """(sync_full, sync_partial_ok, sync_partial_err) of a node as the model predicted them;
    every step checked that INFO stats says the same."""
    counts = machine.nodes[name].served
    return counts["sync_full"], counts["sync_partial_ok"], counts["sync_partial_err"]


def test_replication_model(launcher, peer_launcher):
    run_against(launcher, peer_launcher)
    assert proxy_threads() == [], "the machine's teardown left proxy threads running"


@pytest.fixture
def machine(request, launcher, peer_launcher):
    """A launched machine; a small backlog unless the test gives small_backlog=False."""
    machine = machine_on(launcher, peer_launcher)()
    try:
        machine.launch(small_backlog=getattr(request, "param", True))
        machine.every_node_holds_its_history()
        yield machine
    finally:
        machine.teardown()
    assert proxy_threads() == [], "the machine's teardown left proxy threads running"


def proxy_threads() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name.startswith("proxy:")]


@pytest.mark.parametrize("machine", [True, False], ids=["small-backlog", "big-backlog"], indirect=True)
def test_a_cut_link_resyncs_partially_unless_the_backlog_lost_the_gap(machine):
    """With a small backlog the flood leaves r1 out of it: a full copy, and s (its replica)
    copies in full from r1 in turn; with a big one r1 continues (and s, whose master kept its
    replication id, is not even disconnected)."""
    # The three replicas were masters of their own: each asked to continue that, and got a copy.
    assert served(machine, "m") == (2, 0, 2) and served(machine, "r1") == (1, 0, 1)
    steps(
        machine,
        ("set", dict(db=0, name=b"a", value=b"v")),
        ("cut", dict(choice=R1)),
        ("rpush", dict(db=3, name=b"b", items=[b"1", b"x"])),
        ("flood", dict(db=0, tag=1)),
        ("expire", dict(db=3, kind="list", name=b"b", seconds=100_000)),
        ("read_on_replica", dict(choice=R1, db=3, kind="list", name=b"b")),
        ("restore", dict(choice=R1)),
        ("read_on_replica", dict(choice=S, db=3, kind="list", name=b"b")),
    )
    if machine.backlog_size == replication.SMALL_BACKLOG:
        assert served(machine, "m") == (3, 0, 3) and served(machine, "r1") == (2, 0, 2)
    else:
        assert served(machine, "m") == (2, 1, 2) and served(machine, "r1") == (1, 0, 1)


def test_a_stalled_replica_is_not_counted_by_wait_and_catches_up(machine):
    steps(
        machine,
        ("stall", dict(choice=R2)),
        ("write_then_wait", dict(db=0, name=b"a", value=b"1")),
        ("multi_exec", dict(db=3, writes=[(b"a", b"x"), (b"b", b"y")])),
        ("read_on_replica", dict(choice=R2, db=3, kind="str", name=b"a")),
        ("restore", dict(choice=R2)),
        ("write_then_wait", dict(db=3, name=b"c", value=b"2")),
    )
    assert served(machine, "m") == (2, 0, 2)  # a stall is no resync
    assert [acked for _, _, acked in machine.waits] == [{"r1"}, {"r1", "r2"}]


def test_replicas_restarted_empty_from_a_save_and_from_an_aof(machine):
    steps(
        machine,
        ("hset", dict(db=0, name=b"a", pairs=[(b"f", b"v")])),
        ("kill_replica", dict(choice=R1, from_save=True)),  # continues from its save
        ("zadd", dict(db=3, name=b"a", pairs=[(1.5, b"m")])),
        ("kill_replica", dict(choice=R1, from_save=False)),  # comes back empty: a full copy
        ("kill_replica", dict(choice=R2, from_save=True)),  # the AOF node: data, but no id
        ("sadd", dict(db=0, name=b"c", members=[b"x"])),
        ("kill_replica", dict(choice=S, from_save=True)),
    )
    # r1 continued from its save, then copied in full (no id: PSYNC ? -1, no refusal); so did
    # r2 from its AOF. s, dropped by r1 each time, continued with r1: the same history, and r1
    # (its backlog begun anew at its offset) at s's offset, no write having come between. Then
    # s, from its save, continued too.
    assert served(machine, "m") == (4, 1, 2)
    assert served(machine, "r1") == (0, 2, 0)


def test_the_empty_master_wipes_its_replicas_and_a_cut_off_replica_restores_the_set(machine):
    steps(
        machine,
        ("set", dict(db=0, name=b"a", value=b"precious")),
        ("incr", dict(db=3, name=b"b")),
        ("cut", dict(choice=R2)),
        ("restart_master", dict(how="empty", lost=[])),  # r1 and s wiped; r2 cut off keeps it
        ("read_on_replica", dict(choice=R1, db=0, kind="str", name=b"a")),
        ("promote", dict(choice=R2)),  # r2 brings the data back to everyone
        ("read_on_replica", dict(choice=R1, db=0, kind="str", name=b"a")),
    )
    assert machine.root.name == "r2"
    assert machine.root.lineage.last.state[0][b"str:a"].value == b"precious"


def test_a_master_restarted_from_its_save_lets_the_replicas_continue(machine):
    steps(
        machine,
        ("set", dict(db=0, name=b"a", value=b"saved")),
        # Found once: the master's child for that full copy may still run when SAVE comes
        # (Redis then answers "ERR Background save already in progress"): the model waits.
        ("kill_replica", dict(choice=R2, from_save=False)),
        ("restart_master", dict(how="from its save", lost=[])),
        ("set", dict(db=0, name=b"b", value=b"after")),
        ("cut", dict(choice=R1)),
        ("restart_master", dict(how="from its save", lost=[(b"c", b"lost")])),  # r2, s had c: full
        ("restore_all", {}),
    )


def test_waited_writes_survive_the_promotion_of_those_that_acknowledged(machine):
    steps(
        machine,
        ("write_then_wait", dict(db=0, name=b"a", value=b"acknowledged by all")),
        ("stall", dict(choice=R1)),
        ("write_then_wait", dict(db=0, name=b"b", value=b"by r2 alone")),
        ("set", dict(db=0, name=b"c", value=b"maybe")),
        ("promote", dict(choice=R1)),  # the stalled one: it lacks b, and the others resync in full
        ("write_then_wait", dict(db=3, name=b"a", value=b"x")),
        ("promote", dict(choice=S)),  # a sub-replica promoted
        ("restore_all", {}),
    )


def test_failover_hands_over(machine):
    steps(
        machine,
        ("set", dict(db=0, name=b"a", value=b"1")),
        ("failover", dict(choice=R2)),
        ("set", dict(db=3, name=b"b", value=b"2")),
        ("failover", dict(choice=R1)),  # the old master, now a replica, takes over again
        ("restore_all", {}),
    )
