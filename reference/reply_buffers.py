"""Each client's reply buffer, sized as Redis 7.0 sizes it (CLIENT LIST `rbs` and `rbp`).

A client's replies go into a buffer of its own, 16 KB at first, and the client remembers the
most of it one write filled (its peak). Every cron tick, while resizing is on, a buffer whose
peak is under half its size shrinks to the peak plus one byte (1 KB at least), and one whose
peak filled it doubles (16 KB at most); then, every `peak_reset_ms`, the peak is forgotten:
it becomes what the buffer holds now. DEBUG REPLYBUFFER changes both settings. The bytes are
held elsewhere (Client.out): this is only the buffer's size and peak.
"""
from __future__ import annotations

INITIAL_SIZE = 16384  # also the largest a buffer grows to
MIN_SIZE = 1024
DEFAULT_PEAK_RESET_MS = 5000


class ReplyBuffer:
    """One client's buffer: its size and the most of it one write filled."""
    __slots__ = ("size", "peak", "peak_reset_at")

    def __init__(self):
        self.size = INITIAL_SIZE
        self.peak = INITIAL_SIZE
        # Redis stamps a new client's last reset in seconds and compares it with milliseconds:
        # the first tick forgets the peak at once. So does 0 here.
        self.peak_reset_at = 0

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
