"""RDB snapshots as Redis takes them: SAVE in the server's own process, BGSAVE in a forked child.

A background save forks (os.fork): the child owns a copy-on-write image of the keyspace as it was
at the fork, writes it with `save_rdb` (a temporary file renamed over `dbfilename` in `dir`) and
exits with status 0 (saved) or 1 (failed). The parent goes on serving; its cron reaps the child
without waiting (os.waitpid WNOHANG) and records the outcome: `lastsave`, the changes left to
save, `last_bgsave_ok`. A child killed with SIGUSR1 was stopped on purpose (SHUTDOWN, FLUSHALL):
that is not a failed save.

The same cron starts background saves by itself: when a `save` point "N seconds and M changes"
is reached (more than N seconds since the last successful save and at least M changes since),
and for a BGSAVE that was scheduled (asked inside a transaction, or with SCHEDULE while an AOF
rewrite ran). One child at a time: neither starts while an AOF rewrite runs. After a failed
background save it waits RETRY_DELAY seconds before trying again, as Redis does.

`dirty` counts the changes since the last successful save (INFO rdb_changes_since_last_save):
the keyspace's own change counter (Keyspace.dirty) less its value at that save.
"""
from __future__ import annotations

import os
import signal
import time

from reference.persistence.rdb import save_rdb

RETRY_DELAY = 5  # seconds between a failed background save and the next automatic attempt

MISCONF = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
           "persist to disk. Commands that may modify the data set are disabled, because this "
           "instance is configured to report errors during writes if RDB snapshotting fails "
           "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
           "the RDB error.")


def key_save_delay(server) -> None:
    """rdb-key-save-delay, a test hook: a child writing the dataset (a snapshot, or an AOF
    rewrite's base) takes this many microseconds per key longer."""
    delay_us = server.config["rdb-key-save-delay"]
    if delay_us > 0:
        time.sleep(delay_us * server.keyspace.total_keys() / 1_000_000)


class Snapshots:
    """The saving state of one server (what INFO persistence reports about RDB)."""

    def __init__(self, server):
        self.server = server
        self.saved_at = server.keyspace.dirty  # Keyspace.dirty at the last successful save
        self.forked_at = 0                     # Keyspace.dirty when the running child forked
        self.lastsave = int(time.time())  # unix time of the last successful save (LASTSAVE)
        self.last_bgsave_ok = True
        self.last_bgsave_try = 0       # unix time of the last fork
        self.last_bgsave_seconds = -1  # how long the last background save took
        self.saves = 0                 # SAVE and BGSAVE attempts (INFO rdb_saves)
        self.forks = 0
        self.last_fork_usec = 0
        self.child_pid: int | None = None
        self.child_started = 0         # unix time the running child forked
        self.scheduled = False         # a BGSAVE to start as soon as possible

    # --- what the commands and INFO ask --------------------------------------------------

    @property
    def dirty(self) -> int:
        """Changes since the last successful save."""
        return self.server.keyspace.dirty - self.saved_at

    def forget_changes(self) -> None:
        """What was just loaded from disk is not a change to save."""
        self.saved_at = self.server.keyspace.dirty

    @property
    def in_progress(self) -> bool:
        return self.child_pid is not None

    def current_bgsave_seconds(self) -> int:
        return int(time.time()) - self.child_started if self.in_progress else -1

    def writes_refused(self) -> bool:
        """stop-writes-on-bgsave-error: save points exist and the last background save failed."""
        if self.last_bgsave_ok:  # checked first: this runs before every command
            return False
        config = self.server.config
        return config["stop-writes-on-bgsave-error"] and bool(config["save"])

    # --- saving --------------------------------------------------------------------------

    def _write(self) -> bool:
        """Write the RDB file from this process; log how it went."""
        config = self.server.config
        key_save_delay(self.server)
        try:
            save_rdb(self.server.keyspace, config["dir"], config["dbfilename"],
                     checksum=config["rdbchecksum"], config=config)
        except OSError as error:
            try:
                root = os.getcwd()
            except OSError:
                root = "unknown"  # the directory was removed under us
            self.server.log(f"Failed opening the temp RDB file temp-{os.getpid()}.rdb (in server "
                            f"root dir {root}) for saving: {error.strerror}", "warning")
            return False
        self.server.log("DB saved on disk")
        return True

    def save(self) -> bool:
        """SAVE: write the file now, in this process. A failure is logged and does not count as
        a failed background save (it does not stop writes)."""
        self.saves += 1
        if not self._write():
            return False
        self.saved_at = self.server.keyspace.dirty
        self.lastsave = int(time.time())
        self.last_bgsave_ok = True
        return True

    def start_background_save(self) -> bool:
        """Fork a child that writes the file; False if fork fails. The callers start none while
        another child (a save, an AOF rewrite) runs: one child at a time."""
        self.saves += 1
        self.forked_at = self.server.keyspace.dirty
        self.last_bgsave_try = int(time.time())
        started = time.perf_counter()
        try:
            pid = os.fork() or self._child()  # the child (fork gave it 0) never returns from _child
        except OSError as error:
            self.last_bgsave_ok = False
            self.server.log(f"Can't save in background: fork: {error.strerror}", "warning")
            return False
        self.count_fork(started)
        self.child_pid = pid
        self.child_started = int(time.time())
        self.server.log(f"Background saving started by pid {pid}")
        return True

    def count_fork(self, started: float) -> None:
        """A child was forked at perf_counter `started` (a save's or an AOF rewrite's): INFO
        total_forks and latest_fork_usec count every fork, as Redis's redisFork does."""
        self.forks += 1
        self.last_fork_usec = int((time.perf_counter() - started) * 1_000_000)

    def _aof_rewriting(self) -> bool:
        return self.server.aof.in_progress  # reference/persistence/aof.py

    def _child(self) -> None:
        # The parent's signal handlers only set its flags; the child dies of them instead.
        signal.set_wakeup_fd(-1)
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(signum, signal.SIG_DFL)
        self.server.log_role = "C"
        status = 1
        try:
            status = 0 if self._write() else 1
        finally:
            os._exit(status)  # no atexit handlers, no flushing the parent's buffers

    def kill_child(self) -> None:
        """Stop a running background save (SHUTDOWN, FLUSHALL) and remove its temporary file."""
        if not self.in_progress:
            return
        pid = self.child_pid
        os.kill(pid, signal.SIGUSR1)  # (not reaped yet: the pid is still its own)
        os.waitpid(pid, 0)
        self._finished(pid, 1, signal.SIGUSR1)

    def _finished(self, pid: int, exit_code: int, by_signal: int) -> None:
        """Record how the child ended."""
        log = self.server.log
        if not by_signal and exit_code == 0:
            log("Background saving terminated with success")
            self.saved_at = self.forked_at  # changes made while it saved remain to be saved
            self.lastsave = int(time.time())
            self.last_bgsave_ok = True
        elif not by_signal:
            log("Background saving error", "warning")
            self.last_bgsave_ok = False
        else:
            log(f"Background saving terminated by signal {by_signal}", "warning")
            try:
                os.unlink(os.path.join(self.server.config["dir"], f"temp-{pid}.rdb"))
            except OSError:
                pass
            if by_signal != signal.SIGUSR1:  # SIGUSR1: we stopped it, not a failure
                self.last_bgsave_ok = False
        self.child_pid = None
        self.last_bgsave_seconds = int(time.time()) - self.child_started

    # --- periodic work (from Server.cron) ------------------------------------------------

    def cron(self) -> None:
        if self.in_progress:
            self._reap()
            return
        if self._aof_rewriting():  # a scheduled save or a save point waits for it
            return
        now = int(time.time())
        may_retry = self.last_bgsave_ok or now - self.last_bgsave_try > RETRY_DELAY
        if self.scheduled and may_retry:
            self.scheduled = not self.start_background_save()  # (fork failed: try again later)
            return
        for seconds, changes in self.server.config["save"]:
            if self.dirty >= changes and now - self.lastsave > seconds and may_retry:
                self.server.log(f"{changes} changes in {seconds} seconds. Saving...")
                self.start_background_save()
                break

    def _reap(self) -> None:
        pid, status = os.waitpid(self.child_pid, os.WNOHANG)  # (only this reaps the child)
        if pid == 0:
            return  # still saving
        if os.WIFSIGNALED(status):
            self._finished(pid, -1, os.WTERMSIG(status))
        else:
            self._finished(pid, os.WEXITSTATUS(status), 0)


# --- counting changes ------------------------------------------------------------------------
