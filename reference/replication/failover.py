"""Handing the master role over in an orderly way (spec/replication.md, "FAILOVER"), and what a
SHUTDOWN asks of the replicas before the server stops (spec/server.md, "SHUTDOWN").

FAILOVER, on the master: writes are paused (the failover's own pause, see
reference/client_pause.py) and the state is `waiting-for-sync` until a replica (the one named,
or any) has acknowledged the master's whole stream; then `failover-in-progress`: the master
becomes a replica of that replica and asks it for `PSYNC <replid> <offset> FAILOVER`. The
target, seeing FAILOVER and its own replication id, becomes a master (as REPLICAOF NO ONE) and
answers the PSYNC as any master would, normally `+CONTINUE`: the old master then follows it and
the pause ends (`no-failover`). A target that refuses, a TIMEOUT without FORCE, or FAILOVER
ABORT puts everything back (a master again, writes resumed). With FORCE the hand-over starts
when the timeout ends even if the target is behind.

`FailoverSide` is a part of `Replication` (reference/replication/__init__.py): it wraps steps
of the replica side (`psync_request`, `partial_resync_accepted`, `link_failed`) and hears of a
`+FULLRESYNC` (`full_resync_answered`, from link.py) to add FAILOVER to the PSYNC and to learn
how the target answered.
"""
from __future__ import annotations

import time

from reference import client_pause, log
from reference.replication.master import GETACK, INFO_STATES, ONLINE

NO_FAILOVER, WAITING_FOR_SYNC, IN_PROGRESS = "no-failover", "waiting-for-sync", "failover-in-progress"


class FailoverSide:
    """The failover's state (INFO master_failover_state) and its steps."""

    def init_failover(self) -> None:
        self.failover_state = NO_FAILOVER
        self.failover_end_ms = 0  # 0: no TIMEOUT, it waits until aborted
        self.failover_force = False
        self.failover_target: tuple[str, int] | None = None  # (host, port) as given or found
        self.getack_due = False  # a WAIT asked for ACKs (sent once no pause is in force)

    # --- the replicas, as a hand-over sees them ---------------------------------------------

    def address_of(self, client) -> str:
        """A replica's address: the one it announced (REPLCONF ip-address), else its
        connection's."""
        return self.peers[client].ip_address or client.addr.rsplit(":", 1)[0].strip("[]")

    def find_replica(self, host: str, port: int):
        """The replica at host:port (its address compared without case), or None."""
        for client in self.replicas:
            if self.address_of(client).lower() == host.lower() and self.peers[client].listening_port == port:
                return client
        return None

    def replicas_caught_up(self) -> bool:
        """Has every replica acknowledged the whole stream (true without replicas)?"""
        return all(self.peers[client].ack_offset == self.offset for client in self.replicas)

    def ask_for_acks(self) -> None:
        """REPLCONF GETACK * into the stream (a replica passes its master's stream on and adds
        nothing to it)."""
        if self.master_host is None:
            self.feed(GETACK)

    def log_lagging_replicas(self) -> None:
        """At the end of a shutdown: each replica behind, then how many are in sync."""
        lagging = 0
        for client in self.replicas:
            peer = self.peers[client]
            if peer.ack_offset != self.offset:
                lagging += 1
                lag = int(time.time() - peer.ack_time) if peer.state == ONLINE else 0
                log.warning(f"Lagging replica {self.name_of(client)} reported offset {self.offset - peer.ack_offset} "
                            f"behind master, lag={lag}, state={INFO_STATES[peer.state]}.")
        if self.replicas:
            log.notice(f"{len(self.replicas) - lagging} of {len(self.replicas)} replicas are in sync when "
                       f"shutting down.")

    def before_sleep(self) -> None:
        """After each loop turn, as Redis's beforeSleep: the GETACK a WAIT asked for (held back
        while clients are paused: it would move the offset a failover or a shutdown waits for
        the replicas to reach), then the failover's progress (an ACK may have come)."""
        if self.getack_due and not self.server.clients_paused():
            self.getack_due = False
            self.ask_for_acks()
        self.update_failover()

    # --- FAILOVER --------------------------------------------------------------------------

    def start_failover(self, target: tuple[str, int] | None, timeout_ms: int, force: bool) -> None:
        """FAILOVER, its checks passed: pause writes until a replica has caught up."""
        if target is not None:
            log.notice(f"FAILOVER requested to {target[0]}:{target[1]}.")
        else:
            log.notice("FAILOVER requested to any replica.")
        now = self.server.keyspace.clock.tick()
        self.failover_end_ms = now + timeout_ms if timeout_ms else 0
        self.failover_force = force
        self.failover_target = target
        self.failover_state = WAITING_FOR_SYNC
        self.server.pause_clients(client_pause.DURING_FAILOVER, client_pause.FOREVER, client_pause.WRITE)

    def clear_failover(self) -> None:
        """The failover is over (done or given up): writes go on."""
        self.failover_end_ms = 0
        self.failover_force = False
        self.failover_target = None
        self.failover_state = NO_FAILOVER
        self.server.unpause_clients(client_pause.DURING_FAILOVER)

    def abort_failover(self, why: str) -> None:
        if self.failover_state == NO_FAILOVER:
            return
        if self.failover_target is not None:
            host, port = self.failover_target
            log.notice(f"FAILOVER to {host}:{port} aborted: {why}")
        else:
            log.notice(f"FAILOVER to any replica aborted: {why}")
        if self.failover_state == IN_PROGRESS:
            self.unset_master()  # a master again, under a new id (its replicas continue partially)
        self.clear_failover()

    def update_failover(self) -> None:
        """While waiting for a replica (after each loop turn and from the cron, as Redis's
        updateFailoverStatus): the timeout, or a replica that has caught up."""
        if self.failover_state != WAITING_FOR_SYNC:
            return
        if self.failover_end_ms and self.failover_end_ms <= self.server.keyspace.clock.tick():
            if self.failover_force:
                host, port = self.failover_target
                log.notice(f"FAILOVER to {host}:{port} time out exceeded, failing over.")
                self._hand_over()
            else:
                self.abort_failover("Replica never caught up before timeout")
            return
        if self.failover_target is not None:
            replica = self.find_replica(*self.failover_target)
        else:
            replica = next((client for client in self.replicas if self.peers[client].ack_offset == self.offset), None)
            if replica is not None:  # this one it is, from now on
                self.failover_target = (self.address_of(replica), self.peers[replica].listening_port)
        if replica is not None and self.peers[replica].ack_offset == self.offset:
            host, port = self.failover_target
            log.notice(f"Failover target {host}:{port} is synced, failing over.")
            self._hand_over()

    def _hand_over(self) -> None:
        """Become a replica of the target; the PSYNC it is sent says FAILOVER."""
        self.failover_state = IN_PROGRESS
        self.set_master(*self.failover_target)

    # --- the replica side's steps, as the old master hears the target's answer -------------

    def psync_request(self) -> tuple[str, ...]:
        words = super().psync_request()
        return (*words, "FAILOVER") if self.failover_state == IN_PROGRESS else words

    def full_resync_answered(self) -> None:
        """The master answered +FULLRESYNC (called for every read of the copy that follows)."""
        if self.failover_state == IN_PROGRESS:  # a full resync: the target took over all the same
            self.clear_failover()

    def partial_resync_accepted(self, sock, new_replid, rest) -> None:
        if self.failover_state == IN_PROGRESS:
            self.clear_failover()
        super().partial_resync_accepted(sock, new_replid, rest)

    def link_failed(self) -> None:
        link = self.link
        if self.failover_state == IN_PROGRESS and link is not None and link.handshake.step == "psync":
            # the target did not accept the PSYNC (or did not answer it)
            self.abort_failover("Failover target rejected psync request")
            return
        super().link_failed()
