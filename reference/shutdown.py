"""How the server stops (spec/server.md, "SHUTDOWN"): SHUTDOWN and the signals, the wait for
lagging replicas, and everything done before exiting, with Redis's log lines in its order.
`ShuttingDown` is a part of `Server` (reference/server.py).
"""
from __future__ import annotations

import contextlib
import os
import signal

from reference import log
from reference.client_pause import DURING_SHUTDOWN, FOREVER, WRITE
from reference.protocol import ErrorReply

# What begin_shutdown says happened: SHUTDOWN replies, fails, or waits for the replicas.
SHUTDOWN_DONE, SHUTDOWN_FAILED, SHUTDOWN_WAITING = "done", "failed", "waiting"
SHUTDOWN_ERROR = "ERR Errors trying to SHUTDOWN. Check logs."


def _shutdown_failed() -> bool:
    log.warning("Errors trying to shut down the server. Check the logs for more information.")
    return False


class ShuttingDown:
    """A `Server`'s way out: `stopping` once it may exit, `exit_code` its status."""

    def _on_signal(self, signum, frame) -> None:
        name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
        if signum == signal.SIGINT and self.signalled:
            # A second SIGINT while the first's shutdown is pending (waiting for replicas, say):
            # stop now, saving nothing, as Redis does.
            log.from_signal_handler("You insist... exiting now.")
            os._exit(1)
        log.from_signal_handler(f"Received {name} scheduling shutdown...")
        self.signalled = True
        self.last_signal = signum

    def begin_shutdown(self, *, save: bool = False, nosave: bool = False, now: bool = False,
                       force: bool = False, from_signal: bool = False) -> str:
        """SHUTDOWN and the signals, as Redis's prepareForShutdown: unless `now` (or
        shutdown-timeout is 0), a master whose replicas have not all acknowledged its stream
        pauses writes, asks them for an ACK and waits (SHUTDOWN_WAITING; the cron ends the
        wait). Else the server stops at once (SHUTDOWN_DONE) or cannot (SHUTDOWN_FAILED,
        logged). After a signal the flags are shutdown-on-sigterm's or shutdown-on-sigint's."""
        if from_signal:
            setting = self.config["shutdown-on-sigint" if self.last_signal == signal.SIGINT
                                  else "shutdown-on-sigterm"].split()
            save, nosave, now, force = ("save" in setting, "nosave" in setting, "now" in setting,
                                        "force" in setting)
        self.shutdown_flags = {"save": save, "nosave": nosave, "force": force}
        log.warning("User requested shutdown...")
        if not now and self.config["shutdown-timeout"] and not self.replication.replicas_caught_up():
            self.shutdown_deadline_ms = self.keyspace.clock.tick() + self.config["shutdown-timeout"] * 1000
            if not self.clients_paused():  # (a paused master adds nothing to the stream)
                self.replication.ask_for_acks()
            self.pause_clients(DURING_SHUTDOWN, FOREVER, WRITE)
            log.notice("Waiting for replicas before shutting down.")
            return SHUTDOWN_WAITING
        return self._end_shutdown()

    def abort_shutdown(self) -> bool:
        """SHUTDOWN ABORT: cancel a shutdown waiting for replicas, or one a signal asked for
        and not yet begun. False if there is none."""
        if self.shutdown_deadline_ms:
            self.cancel_shutdown()
        elif self.signalled:
            self.signalled = False
        else:
            return False
        log.notice("Shutdown manually aborted.")
        return True

    def _end_shutdown(self) -> str:
        if self.prepare_shutdown(**self.shutdown_flags, log_request=False):
            self.stopping = True
            return SHUTDOWN_DONE
        self.cancel_shutdown()
        return SHUTDOWN_FAILED

    def cancel_shutdown(self) -> None:
        """A shutdown failed or was aborted: the SHUTDOWN clients get an error, writes resume."""
        self.shutdown_deadline_ms = 0
        self.shutdown_flags = {}
        self.signalled = False
        for client in self.shutdown_waiters:
            self.blocked.release(client)
            client.reply(ErrorReply(SHUTDOWN_ERROR))
            self.count_error(SHUTDOWN_ERROR)
            self.resume(client)
        self.shutdown_waiters.clear()
        self.unpause_clients(DURING_SHUTDOWN)

    def shutdown_in_ms(self) -> int | None:
        """INFO shutdown_in_milliseconds: the time a waiting shutdown has left (may be < 0)."""
        return self.shutdown_deadline_ms - self.keyspace.clock.tick() if self.shutdown_deadline_ms else None

    def _shutdown_cron(self) -> None:
        """A shutdown waiting for replicas ends once they are all in sync, or at its deadline."""
        if self.shutdown_deadline_ms and (self.keyspace.clock.ms >= self.shutdown_deadline_ms
                                          or self.replication.replicas_caught_up()):
            self._end_shutdown()

    def prepare_shutdown(self, *, save: bool = False, nosave: bool = False, force: bool = False,
                         log_request: bool = True) -> bool:
        """Everything Redis does before it exits (finishShutdown), with its log lines in its
        order: the replicas still behind, stop a background save (not waiting for it) and an AOF
        rewrite, fsync the AOF, save if save points are configured (or `save`, unless
        `nosave`), remove the pid file and the unix socket file. False, logged, if a file
        could not be written and `force` was not given: the server goes on."""
        if log_request:
            log.warning("User requested shutdown...")
        self.replication.log_lagging_replicas()
        if self.snapshots.in_progress:
            log.warning("There is a child saving an .rdb. Killing it!")
            self.snapshots.stop_child()  # (reaped by the cron if the shutdown fails)
        if self.aof.refuses_shutdown(force):  # the AOF being turned on is not written yet
            return _shutdown_failed()
        self.aof.shutdown()  # stop a rewrite; write and fsync what is pending
        if (self.config["save"] and not nosave) or save:
            log.notice("Saving the final RDB snapshot before exiting.")
            if not self.snapshots.save():
                if not force:
                    log.warning("Error trying to save the DB, can't exit.")
                    return _shutdown_failed()
                log.warning("Error trying to save the DB. Exit anyway.")
        if self.config["daemonize"] or self.config["pidfile"]:
            log.notice("Removing the pid file.")
            with contextlib.suppress(OSError):
                os.unlink(self.config["pidfile"])
        self.close_listeners(unlink_unix_socket=True)
        log.warning("Redis is now ready to exit, bye bye...")
        return True

    def save_rdb(self) -> bool:
        """The keyspace to `dbfilename` in `dir` now (DEBUG RELOAD), after stopping a background
        save; False (and logged) if it cannot be written."""
        self.stop_background_save()
        return self.snapshots.save()

    def stop_background_save(self) -> None:
        if self.snapshots.in_progress:
            log.warning("There is a child saving an .rdb. Killing it!")
            self.snapshots.kill_child()

    def finish_shutdown(self) -> int:
        """After prepare_shutdown: the connections close; the exit status."""
        for client in list(self.clients.values()):
            self.close_client(client)
        return self.exit_code
