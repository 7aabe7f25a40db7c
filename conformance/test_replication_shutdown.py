"""SHUTDOWN waiting for replicas (spec/server.md, "SHUTDOWN"): a master whose replicas have not
acknowledged its whole stream pauses writes and waits (up to shutdown-timeout seconds) before it
stops; SHUTDOWN ABORT cancels; SIGTERM takes the same path.

As in test_replication.py the server under test plays one part and --peer-server the other
(`pair`). A replica is kept behind by pausing its writes (CLIENT PAUSE WRITE holds the commands
its master sends). Every step is polled for with a generous deadline.
"""
from __future__ import annotations

import re
import signal

import pytest

from conformance.blocking import wait_until_blocked
from conformance.readings import info
from conformance.replicas import MASTER_OPTIONS, in_sync, replicate, wait_for

SHUTDOWN_ERROR = "ERR Errors trying to SHUTDOWN. Check logs."

pytestmark = pytest.mark.internals("debug")  # DEBUG DIGEST compares the datasets


def logged(server, line: str) -> None:
    wait_for(lambda: line in server.log_tail(300), f"{server} logging {line!r}")


def exited(server) -> None:
    wait_for(lambda: not server.is_running(), f"{server} exiting")


def behind(master, replica):
    """A master and a replica kept behind it: the replica's writes paused, a write it holds."""
    replicate(replica, master)
    in_sync(master, replica)
    wait_for(lambda: "state=online" in info(master.client(), "replication")["slave0"], "the replica online")
    assert replica.client().call("CLIENT", "PAUSE", 1000000, "WRITE") == "OK"
    master.client().call("SET", "last", "write")
    wait_for(lambda: int(info(replica.client(), "replication")["slave_read_repl_offset"])
             > int(info(replica.client(), "replication")["slave_repl_offset"]), "the replica holding a write back")


def test_shutdown_waits_for_a_replica_behind_and_abort_cancels(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    behind(master, replica)
    stopping, other = master.client(), master.client()
    stopping.send_command("SHUTDOWN")
    logged(master, "Waiting for replicas before shutting down.")
    wait_until_blocked(other, 1)
    fields = info(other, "server")
    assert 0 < int(fields["shutdown_in_milliseconds"]) <= 10000
    assert int(info(other, "clients")["blocked_clients"]) == 1
    writer = master.client()
    writer.send_command("SET", "k", "held")  # writes are paused meanwhile
    wait_until_blocked(other, 2)
    assert other.call("GET", "k") is None
    assert other.call("SHUTDOWN", "ABORT") == "OK"
    assert stopping.read_reply() == SHUTDOWN_ERROR
    assert writer.read_reply() == "OK"
    assert "shutdown_in_milliseconds" not in info(other, "server")
    assert other.call("SHUTDOWN", "ABORT") == "ERR No shutdown in progress."
    logged(master, "Shutdown manually aborted.")
    assert master.is_running()
    assert replica.client().call("CLIENT", "UNPAUSE") == "OK"
    in_sync(master, replica)


def test_shutdown_goes_on_once_the_replicas_caught_up(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    behind(master, replica)
    stopping = master.client()
    stopping.send_command("SHUTDOWN")
    logged(master, "Waiting for replicas before shutting down.")
    joining = master.client()
    joining.send_command("SHUTDOWN", "NOSAVE")  # joins the one waiting
    assert master.is_running()
    assert replica.client().call("CLIENT", "UNPAUSE") == "OK"
    exited(master)
    assert stopping.is_closed() and joining.is_closed()
    log = master.log_tail(300)
    assert "1 of 1 replicas are in sync when shutting down." in log
    assert "Lagging replica" not in log
    assert replica.client().call("GET", "last") == b"write"  # nothing the master had was lost


def test_shutdown_gives_up_waiting_after_shutdown_timeout(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS, **{"shutdown-timeout": "1"})
    replica = replicas.start()
    behind(master, replica)
    master.client().send_command("SHUTDOWN")
    exited(master)
    log = master.log_tail(300)
    assert re.search(rf"# Lagging replica 127\.0\.0\.1:{replica.port} reported offset [1-9]\d* behind master, "
                     r"lag=\d+, state=online\.", log), log
    assert "0 of 1 replicas are in sync when shutting down." in log


def test_shutdown_now_does_not_wait(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    behind(master, replica)
    client = master.client()
    client.send_command("SHUTDOWN", "NOW")
    exited(master)
    assert client.is_closed()
    assert "Waiting for replicas before shutting down." not in master.log_tail(300)


def test_sigterm_waits_for_replicas_too(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    behind(master, replica)
    master.process.terminate()
    logged(master, "Waiting for replicas before shutting down.")
    master.process.terminate()  # a second SIGTERM changes nothing
    assert "shutdown_in_milliseconds" in info(master.client(), "server")
    assert replica.client().call("CLIENT", "UNPAUSE") == "OK"
    exited(master)
    assert "1 of 1 replicas are in sync when shutting down." in master.log_tail(300)


def test_a_second_sigint_while_waiting_exits_at_once(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS)
    replica = replicas.start()
    behind(master, replica)
    master.process.send_signal(signal.SIGINT)
    logged(master, "Waiting for replicas before shutting down.")
    master.process.send_signal(signal.SIGINT)
    exited(master)
    assert master.process.returncode == 1  # not a clean shutdown
    assert "You insist... exiting now." in master.log_tail(300)
    assert "replicas are in sync when shutting down" not in master.log_tail(300)


def test_sigterm_with_the_now_flag_does_not_wait(pair):
    masters, replicas = pair
    master = masters.start(**MASTER_OPTIONS, **{"shutdown-on-sigterm": "now"})
    replica = replicas.start()
    behind(master, replica)
    master.process.terminate()
    exited(master)
    assert master.process.returncode == 0
    log = master.log_tail(300)
    assert "Waiting for replicas before shutting down." not in log
    assert "0 of 1 replicas are in sync when shutting down." in log
