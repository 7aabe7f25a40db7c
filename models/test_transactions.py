"""Run the transactions state machine (models/transactions.py) against the target.

Below the machine's run: fixed scenarios, written as the steps Hypothesis prints
(`state.rule(...)` becomes `machine.rule(...)`), so that the cases that matter most are
checked on every run whatever the profile draws.
"""

import pytest

from models.transactions import machine_on, run_against


def test_transactions_model(target):
    run_against(target)


@pytest.fixture(params=[2, 3])
def machine(target, request):
    machine = machine_on(target)()
    machine.choose_protocol(protocol=request.param)
    yield machine
    machine.teardown()


def steps(machine, *calls):
    """Run rules in order, checking the invariant after each, as Hypothesis does."""
    machine.data_matches_the_model()
    for name, arguments in calls:
        getattr(machine, name)(**arguments)
        machine.data_matches_the_model()


def test_runtime_failure_is_an_element_and_the_rest_runs(machine):
    steps(
        machine,
        ("a_multi", {}),
        ("a_queues", dict(args=("SET", b"a", b"1"))),
        ("a_queues_a_runtime_failure", dict(key=b"b")),
        ("a_queues", dict(args=("RENAME", b"c", b"a"))),
        ("a_queues", dict(args=("INCR", b"a"))),
        ("a_exec", {}),
    )


def test_watched_key_written_by_the_other_client(machine):
    steps(
        machine,
        ("b_writes", dict(args=("SET", b"a", b"1"))),
        ("a_watch", dict(watch=[b"a", b"b"])),
        ("b_reads", dict(key=b"a")),
        ("b_writes", dict(args=("DEL", b"c"))),        # no change to a watched key
        ("a_multi", {}),
        ("b_writes", dict(args=("SET", b"a", b"1"))),  # the same value: still a change
        ("a_queues", dict(args=("INCR", b"a"))),
        ("a_exec", {}),
        ("a_multi", {}),                               # the failed EXEC ended the watches
        ("a_queues", dict(args=("INCR", b"a"))),
        ("a_exec", {}),
    )


def test_no_op_writes_and_flushall_of_missing_keys_do_not_fail_exec(machine):
    steps(
        machine,
        ("b_writes", dict(args=("SET", b"a", b"x"))),
        ("a_watch", dict(watch=[b"a", b"c"])),
        ("b_writes", dict(args=("SET", b"a", b"1", "NX"))),
        ("b_writes", dict(args=("INCR", b"a"))),
        ("b_writes", dict(args=("RENAME", b"b", b"c"))),
        ("a_multi", {}),
        ("a_queues", dict(args=("GET", b"a"))),
        ("a_exec", {}),
        ("a_watch", dict(watch=[b"c"])),
        ("b_flushes", {}),
        ("a_multi", {}),
        ("a_exec", {}),
    )


def test_refused_command_dooms_even_a_dirty_transaction(machine):
    steps(
        machine,
        ("a_watch", dict(watch=[b"a"])),
        ("a_runs_before_multi", dict(args=("APPEND", b"a", b"1"))),
        ("a_multi", {}),
        ("a_watch", dict(watch=[b"b"])),
        ("a_multi", {}),
        ("a_queues_a_refused_command", dict(refusal=(("GET",), "ERR wrong number of arguments for 'get' command"))),
        ("a_queues", dict(args=("SET", b"b", b"1"))),
        ("a_exec", {}),
        ("a_ends_without_multi", dict(command="EXEC")),
    )


def test_unwatch_and_discard(machine):
    steps(
        machine,
        ("a_watch", dict(watch=[b"a"])),
        ("b_writes", dict(args=("SET", b"a", b"1"))),
        ("a_unwatch", {}),
        ("a_watch", dict(watch=[b"b"])),
        ("a_multi", {}),
        ("a_unwatch", {}),
        ("b_writes", dict(args=("SET", b"b", b"1"))),  # the queued UNWATCH has not run yet
        ("a_exec", {}),
        ("a_watch", dict(watch=[b"a"])),
        ("a_multi", {}),
        ("a_discard", {}),
        ("b_writes", dict(args=("DEL", b"a"))),
        ("a_multi", {}),
        ("a_queues", dict(args=("EXISTS", b"a"))),
        ("a_exec", {}),
        ("a_ends_without_multi", dict(command="DISCARD")),
    )
