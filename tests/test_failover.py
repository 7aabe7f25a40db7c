"""FAILOVER without sockets: reading its words (reference/commands/replication.py) and the
state machine of reference/replication/failover.py over a fake server."""
from types import SimpleNamespace

import pytest

from reference import client_pause
from reference.commands.replication import _read_failover_options
from reference.dispatch import CommandError
from reference.replication.failover import IN_PROGRESS, NO_FAILOVER, WAITING_FOR_SYNC, FailoverSide


@pytest.mark.parametrize("words, expected", [
    ([], (None, 0, False)),
    ([b"TO", b"h", b"7", b"FORCE", b"TIMEOUT", b"5"], (("h", 7), 5, True)),
    ([b"force", b"timeout", b"9", b"to", b"h", b"-1"], (("h", -1), 9, True)),
])
def test_options_in_any_order(words, expected):
    assert _read_failover_options(words) == expected


@pytest.mark.parametrize("words, error", [
    ([b"TIMEOUT", b"0", b"BOGUS"], "ERR FAILOVER timeout must be greater than 0"),  # read as it comes
    ([b"BOGUS", b"TIMEOUT", b"0"], "ERR syntax error"),
    ([b"TIMEOUT", b"5", b"TIMEOUT", b"x"], "ERR syntax error"),  # a second TIMEOUT is not read
    ([b"TO", b"h", b"p"], "ERR value is not an integer or out of range"),
    ([b"TO", b"h"], "ERR syntax error"),
    ([b"TIMEOUT"], "ERR syntax error"),
    ([b"FORCE", b"FORCE"], "ERR syntax error"),
    ([b"ABORT"], "ERR syntax error"),  # (ABORT alone is handled before)
])
def test_first_bad_word_is_the_reply(words, error):
    with pytest.raises(CommandError) as raised:
        _read_failover_options(words)
    assert raised.value.args[0] == error


class Link:
    """A replica's connection, as the failover reads it."""

    def __init__(self, addr):
        self.addr = addr


class FakeReplication(FailoverSide):
    """A master with replicas at given addresses and ACK offsets; set_master and unset_master
    only note that they were called."""

    def __init__(self, offset, replicas):
        clock = SimpleNamespace(ms=0)
        clock.tick = lambda: clock.ms
        self.paused = []
        self.server = SimpleNamespace(
            keyspace=SimpleNamespace(clock=clock),
            pause_clients=lambda purpose, end, kind: self.paused.append(purpose),
            unpause_clients=lambda purpose: self.paused.remove(purpose))
        self.offset = offset
        self.master_host = None
        self.replicas = [Link(f"{host}:5000") for host, _, _ in replicas]
        self.peers = {client: SimpleNamespace(ip_address=None, listening_port=port, ack_offset=ack)
                      for client, (_, port, ack) in zip(self.replicas, replicas)}
        self.calls = []
        self.init_failover()

    def set_master(self, host, port):
        self.calls.append(("set_master", host, port))

    def unset_master(self):
        self.calls.append(("unset_master",))


def test_any_replica_that_caught_up_is_the_target():
    replication = FakeReplication(100, [("10.0.0.1", 7001, 90), ("10.0.0.2", 7002, 100)])
    replication.start_failover(None, 0, False)
    assert replication.failover_state == WAITING_FOR_SYNC
    assert replication.paused == [client_pause.DURING_FAILOVER]
    replication.update_failover()
    assert replication.failover_state == IN_PROGRESS
    assert replication.calls == [("set_master", "10.0.0.2", 7002)]
    replication.clear_failover()
    assert replication.failover_state == NO_FAILOVER and replication.paused == []


def test_a_named_target_behind_waits_then_times_out():
    replication = FakeReplication(100, [("10.0.0.1", 7001, 90)])
    assert replication.find_replica("10.0.0.1", 7001) is replication.replicas[0]
    assert replication.find_replica("10.0.0.1", 7002) is None
    replication.start_failover(("10.0.0.1", 7001), 500, False)
    replication.update_failover()
    assert replication.failover_state == WAITING_FOR_SYNC and replication.calls == []
    replication.server.keyspace.clock.ms = 500
    replication.update_failover()
    assert replication.failover_state == NO_FAILOVER and replication.calls == []  # gave up
    assert replication.paused == []


def test_force_hands_over_at_the_timeout_and_a_refusal_puts_it_back():
    replication = FakeReplication(100, [("10.0.0.1", 7001, 90)])
    replication.start_failover(("10.0.0.1", 7001), 500, True)
    replication.server.keyspace.clock.ms = 501
    replication.update_failover()
    assert replication.failover_state == IN_PROGRESS
    assert replication.calls == [("set_master", "10.0.0.1", 7001)]
    replication.abort_failover("Failover target rejected psync request")
    assert replication.calls[-1] == ("unset_master",)
    assert replication.failover_state == NO_FAILOVER and replication.paused == []


def test_the_psync_says_failover_only_while_in_progress():
    class Base:
        def psync_request(self):
            return ("id", "101")

    class Both(FailoverSide, Base):
        pass

    both = Both()
    both.init_failover()
    assert both.psync_request() == ("id", "101")
    both.failover_state = IN_PROGRESS
    assert both.psync_request() == ("id", "101", "FAILOVER")
