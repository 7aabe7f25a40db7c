"""Streams as RDB files hold them (types STREAM_LISTPACKS 15 and STREAM_LISTPACKS_2 19), read
for the file tools only. The reference server has no stream type; it refuses a file with one
(rdb_scan.StreamsNotSupported; see spec/persistence.md).

A stream value in a file is:

- its nodes: a count, then per node a 16-byte master ID (ms and seq, 64-bit big-endian) and a
  listpack of entries, described below; the nodes are ordered by master ID (Redis keeps them in a
  radix tree), not necessarily in file order;
- its length (live entries), last ID (ms, seq), and for type 19 the first ID, the greatest ID
  ever deleted and the count of entries ever added (type 15 leaves them to be derived);
- its consumer groups: name, last delivered ID, (type 19) entries read; the group's pending
  entries list (PEL: 16-byte ID, delivery time in ms as 8 bytes little-endian, delivery count);
  its consumers: name, seen time (8 bytes LE), and the IDs of the PEL entries they own.

A node's listpack starts with its master entry: live count, deleted count, the number of master
fields, the field names, and a 0. Then each entry: flags (1 deleted, 2 same fields as the
master), the ID as differences from the master ID (ms, seq), then either just the values of
the master fields (same-fields) or a field count and field/value pairs; and last the number of
listpack items the entry took ("lp-count", so that it can be walked backwards).

The checks are those Redis makes loading a file with deep sanitization, as redis-check-rdb
does; their failures carry its messages.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from reference.persistence.rdb_load import Corrupt, Reader
from reference.persistence.rdb_scan import TYPE_STREAM_LISTPACKS_2
from reference.values import string2ll

FLAG_DELETED = 1
FLAG_SAMEFIELDS = 2
MAX_ID = (2**64 - 1, 2**64 - 1)
UNKNOWN_ENTRIES_READ = -1  # a group whose read counter Redis cannot tell (SCG_INVALID_ENTRIES_READ)

StreamID = tuple  # (ms, seq): compares as Redis compares stream IDs


def id_text(stream_id: StreamID) -> str:
    return f"{stream_id[0]}-{stream_id[1]}"


@dataclass
class PendingEntry:
    id: StreamID
    delivery_time_ms: int
    delivery_count: int
    consumer: bytes | None = None


@dataclass
class Consumer:
    name: bytes
    seen_time_ms: int
    pending: list[StreamID] = field(default_factory=list)  # ascending


@dataclass
class ConsumerGroup:
    name: bytes
    last_delivered_id: StreamID
    entries_read: int            # UNKNOWN_ENTRIES_READ when Redis cannot tell
    pending: dict[StreamID, PendingEntry] = field(default_factory=dict)
    consumers: list[Consumer] = field(default_factory=list)


@dataclass
class StreamValue:
    entries: list[tuple[StreamID, list[tuple[bytes, bytes]]]]  # live entries, ascending IDs
    length: int
    last_id: StreamID
    first_id: StreamID
    max_deleted_entry_id: StreamID
    entries_added: int
    groups: list[ConsumerGroup]


# --- nodes -----------------------------------------------------------------------------------

class _Items:
    """The items of a node's listpack, taken in order; `integer()` reads one as a stream
    counter (an integer, or a string spelling one), failing the node otherwise."""

    def __init__(self, items: list[bytes]):
        self.items = items
        self.next = 0

    def take(self) -> bytes:
        if self.next >= len(self.items):
            raise _BadNode()
        self.next += 1
        return self.items[self.next - 1]

    def integer(self) -> int:
        n = string2ll(self.take())
        if n is None:
            raise _BadNode()
        return n


class _BadNode(Exception):
    pass


def _node_items(blob: bytes) -> list[bytes]:
    """The listpack's items (integers as their text), read as Redis validates a stream node: the
    header's size and terminator, then entry by entry, each within bounds and with a back-length
    that reads back to its size (lpValidateNext). The header's item count is not checked, and
    the first terminator byte ends the walk."""
    size = len(blob)
    if size < 7 or struct.unpack_from("<I", blob)[0] != size or blob[-1] != 0xFF:
        raise _BadNode()
    items, p = [], 6
    while True:
        if p > size - 1:
            raise _BadNode()
        first = blob[p]
        if first == 0xFF:
            return items
        # How many bytes say the entry's size: the encoding byte, or it and a length after it.
        size_bytes = 2 if 0xE0 <= first < 0xF0 else 5 if first == 0xF0 else 1 if first <= 0xF4 else 0
        if not size_bytes or p + size_bytes > size - 1:
            raise _BadNode()
        encoded = _encoded_size(blob, p)
        backlen = 1 if encoded <= 127 else 2 if encoded < 16383 else 3 if encoded < 2097151 else \
            4 if encoded < 268435455 else 5
        end = p + encoded + backlen
        if end > size - 1 or _decode_backlen(blob, end - 1) != encoded:
            raise _BadNode()
        items.append(_entry_value(blob, p, encoded))
        p = end


def _encoded_size(blob: bytes, p: int) -> int:
    """Bytes of the entry at p but its back-length: encoding, length and data."""
    first = blob[p]
    if first < 0x80:
        return 1
    if first < 0xC0:
        return 1 + (first & 0x3F)
    if first < 0xE0:
        return 2
    if first < 0xF0:
        return 2 + (((first & 0x0F) << 8) | blob[p + 1])
    if first == 0xF0:
        return 5 + struct.unpack_from("<I", blob, p + 1)[0]
    return {0xF1: 3, 0xF2: 4, 0xF3: 5, 0xF4: 9}[first]


def _entry_value(blob: bytes, p: int, encoded: int) -> bytes:
    first = blob[p]
    if first < 0x80:
        return b"%d" % first
    if first < 0xC0:
        return bytes(blob[p + 1:p + encoded])
    if first < 0xE0:
        n = ((first & 0x1F) << 8) | blob[p + 1]
        return b"%d" % (n - 8192 if n >= 4096 else n)
    if first < 0xF0:
        return bytes(blob[p + 2:p + encoded])
    if first == 0xF0:
        return bytes(blob[p + 5:p + encoded])
    return b"%d" % int.from_bytes(blob[p + 1:p + encoded], "little", signed=True)


def _decode_backlen(blob: bytes, last: int) -> int:
    """A back-length read backwards from its last byte, 7 bits a byte while the high bit is set
    (lpDecodeBacklen); a value too long to be one reads as 2**64 - 1."""
    value, shift = 0, 0
    while True:
        byte = blob[last]
        value |= (byte & 127) << shift
        if not byte & 128:
            return value
        shift += 7
        last -= 1
        if shift > 28:
            return 2**64 - 1


def decode_node(master_id: StreamID, blob: bytes) -> list[tuple[StreamID, bool, list[tuple[bytes, bytes]]]]:
    """A node's entries in order as (id, deleted, field/value pairs); Corrupt if the listpack
    does not follow the stream layout exactly, to its last item."""
    try:
        items = _Items(_node_items(blob))
        live, deleted, master_field_count = items.integer(), items.integer(), items.integer()
        master_fields = [items.take() for _ in range(master_field_count)]
        if items.integer() != 0:
            raise _BadNode()
        if live + deleted < 0:  # Redis would walk on until the items run out
            raise _BadNode()
        entries = []
        for _ in range(live + deleted):
            flags = items.integer()
            ms = (master_id[0] + items.integer()) % 2**64
            seq = (master_id[1] + items.integer()) % 2**64
            if flags & FLAG_SAMEFIELDS:
                pairs = [(name, items.take()) for name in master_fields]
                size = master_field_count + 3
            else:
                count = items.integer()
                pairs = [(items.take(), items.take()) for _ in range(count)]
                size = 2 * count + 4
            if items.integer() != size:
                raise _BadNode()
            entries.append(((ms, seq), bool(flags & FLAG_DELETED), pairs))
        if items.next != len(items.items):
            raise _BadNode()
    except _BadNode:
        raise Corrupt("Stream listpack integrity check failed.") from None
    return entries


# --- the value -------------------------------------------------------------------------------

def _raw_id(reader: Reader) -> StreamID:
    return struct.unpack(">QQ", reader.read(16))


def _time_ms(reader: Reader) -> int:
    return struct.unpack("<q", reader.read(8))[0]


def read_stream(reader: Reader, kind: int) -> StreamValue:
    """The stream value of RDB type `kind` (15 or 19) at the reader."""
    nodes: dict[bytes, list] = {}  # master ID (as 16 bytes, which sort as the IDs do) -> entries
    for _ in range(reader.length()):
        node_key = reader.string()
        if len(node_key) != 16:
            raise Corrupt("Stream node key entry is not the size of a stream ID")
        entries = decode_node(struct.unpack(">QQ", node_key), reader.string())
        if node_key in nodes:
            raise Corrupt("Listpack re-added with existing key")
        nodes[node_key] = entries
    live = [(stream_id, pairs) for node_key in sorted(nodes)
            for stream_id, deleted, pairs in nodes[node_key] if not deleted]

    length = reader.length()
    last_id = (reader.length(), reader.length())
    if kind == TYPE_STREAM_LISTPACKS_2:
        first_id = (reader.length(), reader.length())
        max_deleted = (reader.length(), reader.length())
        entries_added = reader.length()
    else:  # derived as Redis derives them for a file of before 7.0
        first_id = live[0][0] if live else MAX_ID
        max_deleted = (0, 0)
        entries_added = length
    if length and not nodes:
        raise Corrupt("Stream length inconsistent with rax entries")
    stream = StreamValue(live, length, last_id, first_id, max_deleted, entries_added, [])

    names = set()
    for _ in range(reader.length()):
        name = reader.string()
        last_delivered = (reader.length(), reader.length())
        if kind == TYPE_STREAM_LISTPACKS_2:
            entries_read = reader.length()
            if entries_read == 2**64 - 1:  # -1 written as an unsigned length
                entries_read = UNKNOWN_ENTRIES_READ
        else:
            entries_read = _estimated_entries_read(stream, last_delivered)
        if name in names:
            raise Corrupt(f"Duplicated consumer group name {name.decode('utf-8', 'backslashreplace')}")
        names.add(name)
        group = ConsumerGroup(name, last_delivered, entries_read)
        for _ in range(reader.length()):
            pending_id = _raw_id(reader)
            entry = PendingEntry(pending_id, _time_ms(reader), reader.length())
            if pending_id in group.pending:
                raise Corrupt("Duplicated global PEL entry loading stream consumer group")
            group.pending[pending_id] = entry
        consumer_names = set()
        for _ in range(reader.length()):
            consumer_name = reader.string()
            if consumer_name in consumer_names:
                raise Corrupt("Duplicate stream consumer detected.")
            consumer_names.add(consumer_name)
            consumer = Consumer(consumer_name, _time_ms(reader))
            owned = set()
            for _ in range(reader.length()):
                pending_id = _raw_id(reader)
                if pending_id not in group.pending:
                    raise Corrupt("Consumer entry not found in group global PEL")
                if pending_id in owned:
                    raise Corrupt("Duplicated consumer PEL entry  loading a stream consumer group")
                owned.add(pending_id)
                group.pending[pending_id].consumer = consumer_name
            consumer.pending = sorted(owned)
            group.consumers.append(consumer)
        if any(entry.consumer is None for entry in group.pending.values()):
            raise Corrupt("Stream CG PEL entry without consumer")
        group.pending = dict(sorted(group.pending.items()))
        group.consumers.sort(key=lambda c: c.name)
        stream.groups.append(group)
    stream.groups.sort(key=lambda g: g.name)
    return stream


def _estimated_entries_read(stream: StreamValue, group_id: StreamID) -> int:
    """A pre-7.0 group's read counter, as Redis estimates it on loading (no deletions known)."""
    if not stream.entries_added:
        return 0
    if not stream.length and group_id <= stream.last_id:
        return stream.entries_added
    if group_id == stream.last_id:
        return stream.entries_added
    if group_id > stream.last_id:
        return UNKNOWN_ENTRIES_READ
    if group_id < stream.first_id:
        return stream.entries_added - stream.length
    if group_id == stream.first_id:
        return stream.entries_added - stream.length + 1
    return UNKNOWN_ENTRIES_READ
