"""The output buffer accounting of reference/reply_buffers.py (spec/connection.md, *Output
buffer limits*)."""
from __future__ import annotations

from types import SimpleNamespace

from reference import reply_buffers
from reference.reply_buffers import ReplyBuffer, allocation_size

MB = 1 << 20
GET_REPLY = len(b"$1048576\r\n") + MB + 2  # a bulk reply of 1 MB


def test_allocation_sizes_are_jemallocs_classes():
    assert [allocation_size(n) for n in (100, 16384 + 16, 20480, 20481, MB + 16)] == [
        112, 20480, 20480, 24576, MB + MB // 4]


def test_eight_big_replies_count_as_real_redis_counts_them():
    # Real Redis 7.0.15 logged obl=16384 oll=8 omem=8388800 for this client: eight GETs of a
    # 1 MB value, nothing written yet.
    buffer = ReplyBuffer()
    new_blocks = [buffer.queue(GET_REPLY) for _ in range(8)]
    assert new_blocks == [True] * 8
    assert (buffer.used, len(buffer.blocks), buffer.list_memory()) == (16384, 8, 8388800)


def test_small_replies_fill_the_buffer_then_the_last_block():
    buffer = ReplyBuffer()
    assert not buffer.queue(16000)
    assert buffer.queue(1000)  # 384 bytes fit the buffer, the rest takes a block of 20464
    assert buffer.blocks[0] == [20464, 616]
    assert not buffer.queue(19848)  # fills the block exactly
    assert buffer.queue(1)
    assert buffer.list_bytes == 2 * 20464


def test_writing_empties_the_buffer_then_the_blocks():
    buffer = ReplyBuffer()
    buffer.queue(20000)  # 16384 in the buffer, 3616 in a block
    buffer.queue(30000)  # 16848 more in that block, 13152 in a second
    buffer.write(16384)
    assert (buffer.used, buffer.sent, len(buffer.blocks)) == (0, 0, 2)
    buffer.write(20000)
    assert len(buffer.blocks) == 2 and buffer.head_sent == 20000
    buffer.write(464)
    assert len(buffer.blocks) == 1  # the first block is all written
    buffer.write(13152)
    assert (buffer.list_bytes, buffer.unsent, len(buffer.blocks)) == (0, 0, 0)


def test_direct_bytes_do_not_count_and_go_first():
    buffer = ReplyBuffer()
    buffer.queue(1000, replica=True, direct=True)
    buffer.queue(500, replica=True)
    assert (buffer.unsent, buffer.direct, buffer.list_bytes) == (1500, 1000, 0)
    buffer.write(1200)
    assert (buffer.unsent, buffer.direct) == (300, 0)


def client_with_limits(limits: str):
    hard, soft, seconds = (int(word) for word in limits.split())
    config = {"client-output-buffer-limit": {"normal": (hard, soft, seconds)}, "repl-backlog-size": MB}
    server = SimpleNamespace(config=config)
    return SimpleNamespace(kind="normal", server=server, reply_buffer=ReplyBuffer(),
                           subscription_count=lambda: 0)


def test_the_soft_limit_counts_whole_seconds_from_when_it_was_seen():
    client = client_with_limits(f"0 {MB} 2")
    client.reply_buffer.queue(2 * MB)
    assert not reply_buffers.over_limits(client, 100)  # seen: the clock starts
    assert not reply_buffers.over_limits(client, 102)  # not more than 2 seconds yet
    assert reply_buffers.over_limits(client, 103)
    client.reply_buffer.write(2 * MB)
    assert not reply_buffers.over_limits(client, 104)  # under it: the clock stops
    assert client.reply_buffer.soft_limit_since == 0


def test_the_hard_limit_at_once():
    client = client_with_limits(f"{MB} 0 0")
    client.reply_buffer.queue(MB // 2)
    assert not reply_buffers.over_limits(client, 100)
    client.reply_buffer.queue(MB)
    assert reply_buffers.over_limits(client, 100)
