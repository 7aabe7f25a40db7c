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
import select
import signal
import time

from reference import log
from reference.persistence.rdb import dump_rdb

RETRY_DELAY = 5  # seconds between a failed background save and the next automatic attempt
# The status a child stopped by SIGUSR1 exits with (Redis's SERVER_CHILD_NOERROR_RETVAL): its
# parent reads it as "stopped on purpose", the same as dying of SIGUSR1.
STOPPED_STATUS = 255

MISCONF = ("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to "
           "persist to disk. Commands that may modify the data set are disabled, because this "
           "instance is configured to report errors during writes if RDB snapshotting fails "
           "(stop-writes-on-bgsave-error option). Please check the Redis logs for details about "
           "the RDB error.")


_signals: int | None = None  # in a child: a pipe the signals it receives write to (become_child)


def become_child(server) -> None:
    """Set up a child just forked (a save or an AOF rewrite) as Redis's redisFork does.
    SIGUSR1, the parent's way to stop it, ends it with STOPPED_STATUS, logged; SIGTERM and SIGINT
    keep the parent's handler, which only logs and sets a flag the child never reads (so a
    signal sent to the whole process group, as Ctrl-C does, lets a save finish); the listening
    sockets are closed, so that the parent alone holds its ports (it may move them, or exit and
    be started again on them, while the child still runs)."""
    def stopped(signum, frame) -> None:
        log.from_signal_handler("Received SIGUSR1 in child, exiting now.")
        os._exit(STOPPED_STATUS)

    global _signals
    _signals, wakeup = os.pipe()  # (the parent's wakeup socket is not the child's to use)
    os.set_blocking(wakeup, False)
    signal.set_wakeup_fd(wakeup)
    signal.signal(signal.SIGUSR1, stopped)
    for listener in server.listening_sockets():
        listener.close()


_copy_on_write_readings: list[int] = []  # in a child: its private dirty bytes at each report


def report_copy_on_write(what: str, final: bool) -> None:
    """What a child logs of the memory it no longer shares with its parent, as Redis's
    sendChildInfoGeneric: when it starts writing keys (verbose, if there is any), and once its
    file is complete (notice). `what` is "RDB" or "AOF rewrite"."""
    current = _private_dirty_bytes()
    _copy_on_write_readings.append(current)
    if current or final:
        peak, average = max(_copy_on_write_readings), sum(_copy_on_write_readings) // len(_copy_on_write_readings)
        log.write(f"Fork CoW for {what}: current {current >> 20} MB, peak {peak >> 20} MB, average {average >> 20} MB",
                  "notice" if final else "verbose")


def _private_dirty_bytes() -> int:
    """This process's pages written since the fork (the kernel's Private_Dirty, summed over its
    mappings as Redis sums /proc/self/smaps); 0 where the kernel does not tell."""
    try:
        with open("/proc/self/smaps_rollup") as f:
            for line in f:
                if line.startswith("Private_Dirty:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def child_outcome(status: int) -> tuple[int, int]:
    """(exit code, signal) of a reaped child, as Redis reads them: STOPPED_STATUS counts as
    ended by SIGUSR1."""
    if os.WIFSIGNALED(status):
        return -1, os.WTERMSIG(status)
    if os.WEXITSTATUS(status) == STOPPED_STATUS:
        return 1, signal.SIGUSR1
    return os.WEXITSTATUS(status), 0


def key_save_delay(server) -> None:
    """rdb-key-save-delay, a test hook: writing the dataset (a save, an AOF rewrite's base)
    sleeps this many microseconds per key, as Redis's debugDelay does after each key it writes.
    In a child, a signal cuts the sleep of the key at hand short, as it interrupts usleep."""
    delay = server.config["rdb-key-save-delay"] / 1_000_000
    if delay <= 0:
        return
    for _ in range(server.keyspace.total_keys()):
        if _signals is None:
            time.sleep(delay)
        elif select.select([_signals], [], [], delay)[0]:
            os.read(_signals, 512)  # a signal came: its handler has run


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
        """Write the RDB file from this process, as rdbSave: `temp-<pid>.rdb` in dir (the
        working directory) first, renamed over dbfilename once complete; log how it went. A
        file that could not be completed is removed."""
        config = self.server.config
        temporary = f"temp-{os.getpid()}.rdb"
        try:
            file = open(temporary, "wb")
        except OSError as error:
            log.warning(f"Failed opening the temp RDB file {temporary} (in server root dir {_cwd()}) for "
                        f"saving: {error.strerror}")
            return False
        step = "rdbSaveRio"  # what Redis names the step that failed
        try:
            with file:
                key_save_delay(self.server)  # while the file exists, as Redis sleeps per key written
                file.write(dump_rdb(self.server.keyspace, checksum=config["rdbchecksum"], config=config,
                                    replication=self.server.replication.save_info()))
                step = "fflush"
                file.flush()
                step = "fsync"
                os.fsync(file.fileno())
        except OSError as error:
            log.warning(f"Write error saving DB on disk({step}): {error.strerror}")
            _unlink(temporary)
            return False
        try:
            os.rename(temporary, config["dbfilename"])
        except OSError as error:
            log.warning(f"Error moving temp DB file {temporary} on the final destination "
                        f"{config['dbfilename']} (in server root dir {_cwd()}): {error.strerror}")
            _unlink(temporary)
            return False
        log.notice("DB saved on disk")
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
            log.warning(f"Can't save in background: fork: {error.strerror}")
            return False
        self.count_fork(started)
        self.child_pid = pid
        self.child_started = int(time.time())
        log.notice(f"Background saving started by pid {pid}")
        return True

    def count_fork(self, started: float) -> None:
        """A child was forked at perf_counter `started` (a save's or an AOF rewrite's): INFO
        total_forks and latest_fork_usec count every fork, as Redis's redisFork does."""
        self.forks += 1
        self.last_fork_usec = int((time.perf_counter() - started) * 1_000_000)

    def _aof_rewriting(self) -> bool:
        return self.server.aof.in_progress  # reference/persistence/aof.py

    def _child(self) -> None:
        status = 1
        become_child(self.server)
        try:
            if any(db.data for db in self.server.keyspace.dbs):
                report_copy_on_write("RDB", final=False)  # at its first key, as Redis
            if self._write():
                report_copy_on_write("RDB", final=True)
                status = 0
        finally:
            os._exit(status)  # no atexit handlers, no flushing the parent's buffers

    def stop_child(self) -> None:
        """Stop a running background save at exit, as Redis does: without waiting for it (an
        exit that fails leaves it to the cron to reap), its temporary file removed."""
        os.kill(self.child_pid, signal.SIGUSR1)
        _unlink(f"temp-{self.child_pid}.rdb")

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
        if not by_signal and exit_code == 0:
            log.notice("Background saving terminated with success")
            self.saved_at = self.forked_at  # changes made while it saved remain to be saved
            self.lastsave = int(time.time())
            self.last_bgsave_ok = True
        elif not by_signal:
            log.warning("Background saving error")
            self.last_bgsave_ok = False
        else:
            log.warning(f"Background saving terminated by signal {by_signal}")
            _unlink(f"temp-{pid}.rdb")  # what it was writing (a failing child removes its own)
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
                log.notice(f"{changes} changes in {seconds} seconds. Saving...")
                self.start_background_save()
                break

    def _reap(self) -> None:
        pid, status = os.waitpid(self.child_pid, os.WNOHANG)  # (only this reaps the child)
        if pid == 0:
            return  # still saving
        self._finished(pid, *child_outcome(status))


def _cwd() -> str:
    try:
        return os.getcwd()
    except OSError:
        return "unknown"  # the directory was removed under us


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


# --- counting changes ------------------------------------------------------------------------
