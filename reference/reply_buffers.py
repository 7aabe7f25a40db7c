"""Each client's reply buffer, sized as Redis 7.0 sizes it (CLIENT LIST `rbs` and `rbp`).

A client's replies go into a buffer of its own, 16 KB at first, and the client remembers the
most of it one write filled (its peak). Every cron tick, while resizing is on, a buffer whose
peak is under half its size shrinks to the peak plus one byte (1 KB at least), and one whose
peak filled it doubles (16 KB at most); then, every `peak_reset_ms`, the peak is forgotten:
it becomes what the buffer holds now. DEBUG REPLYBUFFER changes both settings. The bytes are
held elsewhere (Client.out): this is their accounting.

**Output buffer limits** (`client-output-buffer-limit`, spec/connection.md). Replies that do
not fit the buffer go, as in Redis, to a list of blocks, each allocated for at least 16 KB (the
allocator's size class for what it holds, as jemalloc rounds); a reply first fills what is
left of the last block. What counts toward a client's limits is Redis's: the list's blocks
(their allocated sizes, plus 40 bytes of list node each), not the buffer. A replica's replies
are the stream, which Redis keeps in a buffer shared by all replicas: what counts for it is
the stream not yet written to it, held back or queued; its copy (and the `+FULLRESYNC` line,
the newlines that keep it waiting) is written around the buffer and does not count. A client
over its hard limit, or over its soft limit for more than its seconds, is closed: at once by
the cron, or, when a reply made it so, after the loop turn, without anything more written.
"""
from __future__ import annotations

import time
from collections import deque

from reference import log
from reference.commands.connection import client_type, describe

INITIAL_SIZE = 16384  # also the largest a buffer grows to; the least a list block holds
MIN_SIZE = 1024
DEFAULT_PEAK_RESET_MS = 5000
BLOCK_HEADER = 16  # a list block's own fields (its size and use) share its allocation
BLOCK_OVERHEAD = 40  # the list node and that header, counted with each block
LIMIT_CLASSES = {"normal": "normal", "master": "normal", "replica": "slave", "pubsub": "pubsub"}


def allocation_size(n: int) -> int:
    """What jemalloc hands out for n bytes (n > 8): its size classes are four per doubling."""
    spacing = max(16, 1 << ((n - 1).bit_length() - 3))
    return -(-n // spacing) * spacing


class ReplyBuffer:
    """One client's buffer: its size and the most of it one write filled; where the bytes of
    Client.out are in Redis's terms (the buffer, the list of blocks, or written around both)."""
    __slots__ = ("size", "peak", "peak_reset_at", "used", "sent", "blocks", "list_bytes", "head_sent",
                 "unsent", "direct", "soft_limit_since", "closing")

    def __init__(self):
        self.size = INITIAL_SIZE
        self.peak = INITIAL_SIZE
        # Redis stamps a new client's last reset in seconds and compares it with milliseconds:
        # the first tick forgets the peak at once. So does 0 here.
        self.peak_reset_at = 0
        self.used = 0  # bytes put in the buffer since it was last emptied (CLIENT LIST obl)
        self.sent = 0  # of which written
        self.blocks: deque[list[int]] = deque()  # the list: [allocated size, bytes put in it]
        self.list_bytes = 0  # the blocks' allocated sizes
        self.head_sent = 0  # bytes of the first block written
        self.unsent = 0  # bytes of Client.out not yet written
        self.direct = 0  # of which, at its front, written around the buffer (a replica's copy)
        self.soft_limit_since = 0  # when (unix seconds) the soft limit was seen reached, 0: not
        self.closing = False  # over a limit: closed after this loop turn, nothing more written

    def queue(self, n: int, replica: bool = False, direct: bool = False) -> bool:
        """n more bytes at the end of Client.out: True if they took a new block of the list."""
        self.unsent += n
        if direct:
            self.direct += n
            return False
        if replica:  # the stream: Redis's shared replication buffer, not this one
            return False
        if not self.blocks:
            fits = max(0, min(n, self.size - self.used))
            self.used += fits
            n -= fits
        if n and self.blocks:
            tail = self.blocks[-1]
            fits = min(n, tail[0] - tail[1])
            tail[1] += fits
            n -= fits
        if not n:
            return False
        size = allocation_size(max(n, INITIAL_SIZE) + BLOCK_HEADER) - BLOCK_HEADER
        self.blocks.append([size, n])
        self.list_bytes += size
        return True

    def write(self, n: int) -> None:
        """n bytes from the front of Client.out were written: the direct ones, then the
        buffer's, then the list's, block by block (an emptied buffer starts over)."""
        self.unsent -= n
        done = min(n, self.direct)
        self.direct -= done
        n -= done
        done = min(n, self.used - self.sent)
        self.sent += done
        n -= done
        if self.sent == self.used:
            self.used = self.sent = 0
        while n and self.blocks:
            size, held = self.blocks[0]
            done = min(n, held - self.head_sent)
            self.head_sent += done
            n -= done
            if self.head_sent == held:
                self.blocks.popleft()
                self.list_bytes -= size
                self.head_sent = 0

    def list_memory(self) -> int:
        """The list's part of Redis's output buffer memory (its blocks and their nodes)."""
        return self.list_bytes + BLOCK_OVERHEAD * len(self.blocks)

    def filled(self, waiting: int) -> None:
        """`waiting` bytes of replies are about to be written: the buffer held what fits."""
        if waiting > self.peak and self.peak < self.size:
            self.peak = min(waiting, self.size)


class ReplyBufferSettings:
    """The server's settings (DEBUG REPLYBUFFER): resizing on or off, and how often a peak is
    forgotten (-1: never)."""

    def __init__(self):
        self.resizing = True
        self.peak_reset_ms = DEFAULT_PEAK_RESET_MS


def resize(server, now_ms: int) -> None:
    """The cron's pass over every client's buffer, as Redis's clientsCronResizeOutputBuffer;
    resizes count in INFO's reply_buffer_shrinks and reply_buffer_expands."""
    settings = server.reply_buffers
    if not settings.resizing:
        return
    stats = server.stats
    for client in server.clients.values():
        buffer = client.reply_buffer
        if buffer.size // 2 >= MIN_SIZE and buffer.peak < buffer.size // 2:
            new_size = max(MIN_SIZE, buffer.peak + 1)
            stats["reply_buffer_shrinks"] = stats.get("reply_buffer_shrinks", 0) + 1
        elif buffer.size * 2 < INITIAL_SIZE * 2 and buffer.peak == buffer.size:
            new_size = min(INITIAL_SIZE, buffer.size * 2)
            stats["reply_buffer_expands"] = stats.get("reply_buffer_expands", 0) + 1
        else:
            new_size = 0
        if settings.peak_reset_ms >= 0 and now_ms - buffer.peak_reset_at >= settings.peak_reset_ms:
            buffer.peak = min(buffer.size, sum(map(len, client.out)))  # what it holds now
            buffer.peak_reset_at = now_ms
        if new_size:
            buffer.size = new_size


# --- output buffer limits --------------------------------------------------------------------


def output_memory(client) -> int:
    """What counts toward the client's output buffer limits (CLIENT LIST omem): a replica's
    stream not yet written to it (held back or queued), another client's list of blocks."""
    buffer = client.reply_buffer
    if client.kind == "replica":
        return buffer.unsent - buffer.direct + client.server.replication.held_bytes(client)
    return buffer.list_memory()


def queued(client, n: int, direct: bool = False) -> None:
    """n bytes were added to Client.out (`direct`: written around the buffer): a reply that
    took a new block, or any stream for a replica, may put the client over its limits."""
    replica = client.kind == "replica"
    if client.reply_buffer.queue(n, replica, direct) or (replica and not direct):
        close_if_over_limits(client, at_once=False)


def written(client, n: int) -> None:
    """n bytes of Client.out were written (they are gone from it)."""
    client.reply_buffer.write(n)
    if client.kind == "replica":
        client.server.replication.written(client, n)


def over_limits(client, now: int) -> bool:
    """As Redis's checkClientOutputBufferLimits: the hard limit reached (for a replica, never
    below repl-backlog-size), or the soft one reached for more than its seconds. Seeing the
    soft limit reached starts its clock; seeing it not reached stops it."""
    config = client.server.config
    hard, soft, seconds = config["client-output-buffer-limit"][LIMIT_CLASSES[client_type(client)]]
    used = output_memory(client)
    hard_at = max(hard, config["repl-backlog-size"]) if client.kind == "replica" else hard
    over_hard = hard and used >= hard_at
    buffer = client.reply_buffer
    over_soft = bool(soft and used >= soft)
    if not over_soft:
        buffer.soft_limit_since = 0
    elif not buffer.soft_limit_since:
        buffer.soft_limit_since = now
        over_soft = False
    elif now - buffer.soft_limit_since <= seconds:
        over_soft = False
    return bool(over_hard or over_soft)


def close_if_over_limits(client, at_once: bool) -> bool:
    """As Redis's closeClientOnOutputBufferLimitReached: a client over its limits is closed
    (`at_once`: now, by the cron) or marked to be, logged with its CLIENT LIST line. A client
    other than a replica with nothing in its list is not looked at (its soft clock stays)."""
    buffer = client.reply_buffer
    if buffer.closing or client.closed or (client.kind != "replica" and not buffer.blocks):
        return False
    if not over_limits(client, int(time.time())):
        return False
    line = describe(client)
    if at_once:
        client.server.close_client(client)
        log.warning(f"Client {line} closed for overcoming of output buffer limits.")
    else:
        close_asap(client)
        log.warning(f"Client {line} scheduled to be closed ASAP for overcoming of output buffer limits.")
    return True


def close_asap(client) -> None:
    """As Redis's freeClientAsync: nothing more is written to the client; it is closed when
    the loop next writes (Server._flush), after the command that asked it."""
    client.reply_buffer.closing = True
    client.server.pending_writes.add(client)


def close_over_limits(server) -> None:
    """The cron's pass over the clients (Redis's clientsCron): those over their limits go now."""
    for client in list(server.clients.values()):
        close_if_over_limits(client, at_once=True)
