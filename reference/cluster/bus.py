"""The messages of Redis 7.0's cluster bus (spec/cluster.md, "The cluster bus"), without I/O.

Every message is one fixed header (HEADER_SIZE bytes, integers in network byte order) followed
by a body whose form depends on the message type. `encode` turns a `Message` into bytes,
`decode` a whole message's bytes into a `Message`; `BusReader` cuts the byte stream of a link
into whole messages by the length each one starts with.

Redis refuses what it receives at two levels, and so does this module:
- `LinkError`: the link is unusable (a bad signature, a length below the header's): Redis
  closes the connection.
- `InvalidMessage`: one message is malformed (another protocol version, a length that does not
  agree with what its type says it holds): Redis drops the message and keeps the link.

Decoding keeps every byte of what it decodes (the unused fields, the bytes after the end of an
address's text), so that `encode(decode(frame)) == frame` for any message Redis accepts.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

from reference.cluster.slots import BITMAP_SIZE

SIGNATURE = b"RCmb"  # "Redis Cluster message bus"
PROTOCOL_VERSION = 1
NAME_SIZE = 40  # a node's name: 40 hexadecimal characters
IP_SIZE = 46  # an address's text, NUL-terminated, in a field of this size
NULL_NAME = bytes(NAME_SIZE)  # the master field of a master
NO_SLOTS = bytes(BITMAP_SIZE)


class MessageType(IntEnum):
    PING = 0
    PONG = 1  # the answer to a PING or MEET, in the same form
    MEET = 2  # a PING that makes the receiver add the sender to its nodes
    FAIL = 3  # a node is failing: everyone mark it so
    PUBLISH = 4  # PUBLISH, to every node
    FAILOVER_AUTH_REQUEST = 5  # a replica asks the masters for their vote
    FAILOVER_AUTH_ACK = 6  # a master's vote
    UPDATE = 7  # the slots and config epoch of a node, sent to a node that is behind
    MFSTART = 8  # a replica asks its master to pause its clients for a manual failover
    MODULE = 9  # a module's message
    PUBLISHSHARD = 10  # SPUBLISH, to the nodes of the shard


class NodeFlag(IntFlag):
    """A node's flags, as the header says the sender's and a gossip entry another node's."""
    MASTER = 1
    SLAVE = 2
    PFAIL = 4  # the sender could not reach it within the node timeout
    FAIL = 8  # a majority of masters agreed it fails
    MYSELF = 16
    HANDSHAKE = 32  # met, not answered yet
    NOADDR = 64  # address unknown
    MEET = 128  # to be sent a MEET rather than a PING
    MIGRATE_TO = 256  # a master a replica may migrate to
    NOFAILOVER = 512  # a replica that never fails over (cluster-replica-no-failover)


class MessageFlag(IntFlag):
    """The first byte of the header's message flags (the other two are unused)."""
    PAUSED = 1  # the sender is a master paused for a manual failover
    FORCEACK = 2  # vote for this request even though the master is up (manual failover)
    EXT_DATA = 4  # a PING, PONG or MEET with extensions after its gossip


class ClusterState(IntEnum):
    OK = 0
    FAIL = 1


EXTENSION_HOSTNAME = 0  # the only extension type of Redis 7.0 (cluster-announce-hostname)

# sig, totlen, ver, port, type, count, currentEpoch, configEpoch, offset, sender, myslots,
# slaveof, myip, extensions, notused1, pport, cport, flags, state, mflags
_HEADER = struct.Struct(f">4sIHHHHQQQ{NAME_SIZE}s{BITMAP_SIZE}s{NAME_SIZE}s{IP_SIZE}sH30sHHHB3s")
HEADER_SIZE = _HEADER.size  # 2256: the shortest message
# nodename, ping_sent, pong_received, ip, port, cport, flags, pport, notused1
_GOSSIP = struct.Struct(f">{NAME_SIZE}sII{IP_SIZE}sHHHHH")
GOSSIP_SIZE = _GOSSIP.size  # 104
_EXTENSION = struct.Struct(">IHH")  # length (with these 8 bytes), type, unused
_PUBLISH = struct.Struct(">II")  # channel length, message length; then channel and message
_UPDATE = struct.Struct(f">Q{NAME_SIZE}s{BITMAP_SIZE}s")  # configEpoch, nodename, slots
_MODULE = struct.Struct(">8sIB")  # module id, payload length, type; then the payload
FRAME_PREFIX = 8  # signature and length: what a reader needs to know a message's size

TYPES_WITH_GOSSIP = (MessageType.PING, MessageType.PONG, MessageType.MEET)


class LinkError(ValueError):
    """The stream is not cluster bus messages: Redis closes such a link."""


class InvalidMessage(ValueError):
    """A message Redis drops (the link stays): the reason as Redis logs it, when it does."""


@dataclass
class Header:
    """The header every message starts with, about its sender. A replica sends its master's
    slots and config epoch. Byte strings are kept as received (ip: all IP_SIZE bytes);
    shorter ones are padded with zero bytes when encoded."""
    type: int  # MessageType, or a type this version does not know
    sender: bytes  # the sender's node name
    port: int = 0  # its clients' port (the TLS one with tls-cluster)
    cport: int = 0  # its cluster bus port
    pport: int = 0  # its plain-text clients' port when `port` is TLS, else 0
    flags: int = 0  # NodeFlag
    current_epoch: int = 0
    config_epoch: int = 0
    replication_offset: int = 0  # a master's offset, or what a replica has processed
    slots: bytes = field(default=NO_SLOTS, repr=False)  # bitmap (slots.slots_to_bitmap)
    master: bytes = NULL_NAME  # the node name of the sender's master; zeros for a master
    ip: bytes = b""  # cluster-announce-ip; empty: the receiver takes the connection's
    state: int = ClusterState.OK  # the cluster's state as the sender sees it
    message_flags: int = 0  # MessageFlag
    version: int = PROTOCOL_VERSION
    # Written from the body for PING, PONG and MEET (entries in the gossip section, extensions);
    # other types carry what their sender put there (Redis: 0) and nobody reads it.
    count: int = 0
    extensions: int = 0
    unused: bytes = bytes(30)  # reserved by Redis for later use
    unused_message_flags: bytes = bytes(2)


@dataclass
class Gossip:
    """What the sender knows of another node (a PING, PONG or MEET carries a few)."""
    node: bytes  # its name
    ping_sent: int  # when the sender last pinged it, Unix seconds (0: no ping pending)
    pong_received: int  # when the sender last heard a PONG from it, Unix seconds
    ip: bytes
    port: int
    cport: int
    flags: int  # NodeFlag
    pport: int = 0
    unused: int = 0


@dataclass
class Extension:
    """One extension after a PING's gossip: its type and its data, padded to 8 bytes."""
    type: int
    data: bytes
    unused: int = 0

    @classmethod
    def with_hostname(cls, hostname: bytes) -> Extension:
        """The hostname extension: the name, a zero byte, zeros to a multiple of 8 bytes."""
        text = hostname + b"\0"
        return cls(EXTENSION_HOSTNAME, text + bytes(-len(text) % 8))

    @property
    def hostname(self) -> bytes:
        """The announced hostname, for a hostname extension: its data up to the first zero."""
        return c_string(self.data)


@dataclass
class Ping:
    """The body of PING, PONG and MEET."""
    gossip: list[Gossip] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)

    @property
    def hostname(self) -> bytes:
        """The sender's announced hostname: the last hostname extension's, b"" if none."""
        names = [ext.hostname for ext in self.extensions if ext.type == EXTENSION_HOSTNAME]
        return names[-1] if names else b""


@dataclass
class Fail:
    node: bytes  # the node to mark as failing


@dataclass
class Publish:
    """The body of PUBLISH and PUBLISHSHARD."""
    channel: bytes
    message: bytes


@dataclass
class Update:
    node: bytes  # the node whose configuration this is
    config_epoch: int
    slots: bytes = field(repr=False)  # its slots, bitmap


@dataclass
class Module:
    module_id: bytes  # 8 bytes, in the byte order of the sending module's host
    module_type: int  # 0-255, the module's own message type
    payload: bytes


@dataclass
class NoBody:
    """FAILOVER_AUTH_REQUEST, FAILOVER_AUTH_ACK and MFSTART are a header only."""


@dataclass
class UnknownBody:
    """A type this version does not know: Redis takes its length as given."""
    data: bytes


_BODY_OF_TYPE = {
    MessageType.PING: Ping, MessageType.PONG: Ping, MessageType.MEET: Ping,
    MessageType.FAIL: Fail, MessageType.PUBLISH: Publish, MessageType.PUBLISHSHARD: Publish,
    MessageType.UPDATE: Update, MessageType.MODULE: Module,
    MessageType.FAILOVER_AUTH_REQUEST: NoBody, MessageType.FAILOVER_AUTH_ACK: NoBody,
    MessageType.MFSTART: NoBody,
}


@dataclass
class Message:
    header: Header
    body: Ping | Fail | Publish | Update | Module | NoBody | UnknownBody

    @property
    def type(self) -> int:
        return self.header.type


def c_string(field_bytes: bytes) -> bytes:
    """A NUL-terminated text field's text: its bytes up to the first zero byte."""
    return field_bytes.split(b"\0", 1)[0]


def type_name(message_type: int) -> str:
    """A type's name as Redis's logs and CLUSTER INFO's counters spell it."""
    names = {MessageType.FAILOVER_AUTH_REQUEST: "auth-req", MessageType.FAILOVER_AUTH_ACK: "auth-ack"}
    if message_type in names:
        return names[message_type]
    try:
        return MessageType(message_type).name.lower()
    except ValueError:
        return "unknown"


# -- encoding ---------------------------------------------------------------------------------

def encode(message: Message) -> bytes:
    """The bytes of a message, its length and (for PING, PONG, MEET) counts computed."""
    header, body = message.header, message.body
    expected = _BODY_OF_TYPE.get(header.type, UnknownBody)
    if not isinstance(body, expected):
        raise TypeError(f"a {type_name(header.type)} message has a {expected.__name__} body, "
                        f"not {type(body).__name__}")
    count, extensions, message_flags = header.count, header.extensions, header.message_flags
    if isinstance(body, Ping):
        count, extensions = len(body.gossip), len(body.extensions)
        if body.extensions:
            message_flags |= MessageFlag.EXT_DATA
        payload = b"".join([*map(_encode_gossip, body.gossip), *map(_encode_extension, body.extensions)])
    elif isinstance(body, Fail):
        payload = _name(body.node)
    elif isinstance(body, Publish):
        payload = _PUBLISH.pack(len(body.channel), len(body.message)) + body.channel + body.message
    elif isinstance(body, Update):
        payload = _UPDATE.pack(body.config_epoch, _name(body.node), _bitmap(body.slots))
    elif isinstance(body, Module):
        payload = _MODULE.pack(_fixed(body.module_id, 8, "module id", exact=True), len(body.payload),
                               body.module_type) + body.payload
    elif isinstance(body, NoBody):
        payload = b""
    else:
        payload = body.data
    return _HEADER.pack(
        SIGNATURE, HEADER_SIZE + len(payload), header.version, header.port, header.type, count,
        header.current_epoch, header.config_epoch, header.replication_offset, _name(header.sender),
        _bitmap(header.slots), _name(header.master),
        _fixed(header.ip, IP_SIZE, "ip"), extensions, _fixed(header.unused, 30, "unused"),
        header.pport, header.cport, header.flags, header.state,
        bytes([message_flags]) + _fixed(header.unused_message_flags, 2, "unused message flags"),
    ) + payload


def _encode_gossip(entry: Gossip) -> bytes:
    return _GOSSIP.pack(_name(entry.node), entry.ping_sent, entry.pong_received,
                        _fixed(entry.ip, IP_SIZE, "ip"), entry.port, entry.cport, entry.flags,
                        entry.pport, entry.unused)


def _encode_extension(extension: Extension) -> bytes:
    if len(extension.data) % 8:
        raise ValueError("an extension's data is padded to a multiple of 8 bytes")
    length = _EXTENSION.size + len(extension.data)
    return _EXTENSION.pack(length, extension.type, extension.unused) + extension.data


def _name(name: bytes) -> bytes:
    return _fixed(name, NAME_SIZE, "node name", exact=True)


def _bitmap(slots: bytes) -> bytes:
    return _fixed(slots, BITMAP_SIZE, "slot bitmap", exact=True)


def _fixed(value: bytes, size: int, what: str, exact: bool = False) -> bytes:
    if len(value) > size or (exact and len(value) != size):
        raise ValueError(f"{what} has {size} bytes, not {len(value)}")
    return value + bytes(size - len(value))


# -- decoding ---------------------------------------------------------------------------------

def decode(frame: bytes) -> Message:
    """The message a whole frame holds (as BusReader.feed gives them). Raises LinkError if the
    bytes are no frame at all, InvalidMessage for a message Redis would drop."""
    frame = bytes(frame)
    total_length = _check_frame_prefix(frame)
    if total_length != len(frame):
        raise LinkError(f"the message says it has {total_length} bytes, not {len(frame)}")
    (_, _, version, port, message_type, count, current_epoch, config_epoch, offset, sender,
     slots, master, ip, extensions, unused, pport, cport, flags, state, mflags) = _HEADER.unpack_from(frame)
    if version != PROTOCOL_VERSION:
        raise InvalidMessage(f"protocol version {version}")
    header = Header(message_type, sender, port, cport, pport, NodeFlag(flags), current_epoch,
                    config_epoch, offset, slots, master, ip, state, MessageFlag(mflags[0]), version,
                    count, extensions, unused, mflags[1:])
    _check_length(header, frame)
    return Message(header, _decode_body(header, frame[HEADER_SIZE:]))


def _check_length(header: Header, frame: bytes) -> None:
    """What clusterProcessPacket checks before it looks at a message: its length must be the
    one its type and counts give. Where Redis would read past the message to find out (counts
    of extensions beyond it, lengths only adding up modulo 2**32), the message is refused."""
    total_length, message_type = len(frame), header.type
    if message_type in TYPES_WITH_GOSSIP:
        expected = HEADER_SIZE + GOSSIP_SIZE * header.count
        if header.message_flags & MessageFlag.EXT_DATA:
            expected = _check_extensions(header, frame, expected)
        elif header.extensions:
            raise InvalidMessage(f"{header.extensions} extensions without the extension flag")
    elif message_type == MessageType.FAIL:
        expected = HEADER_SIZE + NAME_SIZE
    elif message_type in (MessageType.PUBLISH, MessageType.PUBLISHSHARD):
        expected = HEADER_SIZE + _PUBLISH.size
        if total_length >= expected:
            expected += sum(_PUBLISH.unpack_from(frame, HEADER_SIZE))
    elif _BODY_OF_TYPE.get(message_type) is NoBody:
        expected = HEADER_SIZE
    elif message_type == MessageType.UPDATE:
        expected = HEADER_SIZE + _UPDATE.size
    elif message_type == MessageType.MODULE:
        expected = HEADER_SIZE + _MODULE.size
        if total_length >= expected:
            expected += _MODULE.unpack_from(frame, HEADER_SIZE)[1]
    else:
        expected = total_length  # a type Redis does not know: taken as well formed
    if total_length != expected:
        raise InvalidMessage(f"Received invalid {type_name(message_type)} packet of length "
                             f"{total_length} but expected length {expected}")


def _check_extensions(header: Header, frame: bytes, offset: int) -> int:
    """Walk the extensions as Redis validates them; the offset after the last one."""
    what = type_name(header.type)
    for _ in range(header.extensions):
        if offset + _EXTENSION.size > len(frame):
            raise InvalidMessage(f"{what} packet with more extensions than it holds")
        length = _EXTENSION.unpack_from(frame, offset)[0]
        checked_length = length & 0xFFFF  # Redis checks the length as a 16-bit number
        if checked_length % 8:
            raise InvalidMessage(f"Received a {what} packet without proper padding ({checked_length} bytes)")
        if len(frame) - offset < checked_length:
            raise InvalidMessage(f"Received invalid {what} packet with extension data that exceeds "
                                 f"total packet length ({len(frame)})")
        if checked_length != length or length < _EXTENSION.size:
            raise InvalidMessage(f"{what} packet with an extension of length {length}")
        offset += length
    return offset


def _decode_body(header: Header, data: bytes):
    message_type = header.type
    if message_type in TYPES_WITH_GOSSIP:
        gossip = [Gossip(*fields[:6], NodeFlag(fields[6]), *fields[7:])  # unnamed bits are kept
                  for fields in _GOSSIP.iter_unpack(data[:GOSSIP_SIZE * header.count])]
        extensions, offset = [], GOSSIP_SIZE * header.count
        if header.message_flags & MessageFlag.EXT_DATA:
            for _ in range(header.extensions):
                length, extension_type, unused = _EXTENSION.unpack_from(data, offset)
                extension_data = data[offset + _EXTENSION.size:offset + length]
                extensions.append(Extension(extension_type, extension_data, unused))
                offset += length
        return Ping(gossip, extensions)
    if message_type == MessageType.FAIL:
        return Fail(data)
    if message_type in (MessageType.PUBLISH, MessageType.PUBLISHSHARD):
        channel_length = _PUBLISH.unpack_from(data)[0]
        text = data[_PUBLISH.size:]
        return Publish(text[:channel_length], text[channel_length:])
    if message_type == MessageType.UPDATE:
        config_epoch, node, slots = _UPDATE.unpack(data)
        return Update(node, config_epoch, slots)
    if message_type == MessageType.MODULE:
        module_id, _, module_type = _MODULE.unpack_from(data)
        return Module(module_id, module_type, data[_MODULE.size:])
    if message_type in _BODY_OF_TYPE:
        return NoBody()
    return UnknownBody(data)


def _check_frame_prefix(data: bytes) -> int:
    """The length the first FRAME_PREFIX bytes announce, or LinkError as Redis's reader."""
    if len(data) < FRAME_PREFIX:
        raise LinkError(f"{len(data)} bytes are no message")
    total_length = int.from_bytes(data[4:8], "big")
    if data[:4] != SIGNATURE or total_length < HEADER_SIZE:
        raise LinkError("Bad message length or signature received from Cluster bus.")
    return total_length


class BusReader:
    """Cuts the bytes received on a bus link into whole messages, as Redis's read handler does:
    once the first 8 bytes of a message are in, its signature and length are checked."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """Take data; return the messages it completes, each whole (for `decode`). Raises
        LinkError (and stays broken) at a bad signature or a length below the header's."""
        self._buffer += data
        frames = []
        while len(self._buffer) >= FRAME_PREFIX:
            total_length = _check_frame_prefix(self._buffer[:FRAME_PREFIX])
            if len(self._buffer) < total_length:
                break
            frames.append(bytes(self._buffer[:total_length]))
            del self._buffer[:total_length]
        return frames

    @property
    def pending(self) -> int:
        """Bytes received that are not a whole message yet."""
        return len(self._buffer)
