"""reference/cluster/bus.py: Redis 7.0's cluster bus messages, judged by real redis-server 7.0.15
nodes: a MEET built here is answered with a PONG whose every field agrees with what the node
says of itself; what the node drops or closes the link for, decode refuses alike; and two (then
three) real nodes talking through a relay owned by the test form a cluster, fail over, mark a
node failing and correct a stale slot claim, with every message they send decoded and
re-encoded to the same bytes."""
from __future__ import annotations

import os
import socket
import struct

import pytest

from conformance.targets import free_port
from conformance.waiting import wait_for
from reference.cluster import bus
from reference.cluster.bus import (HEADER_SIZE, NULL_NAME, BusReader, ClusterState, Extension, Fail, Gossip,
                                   Header, InvalidMessage, LinkError, Message, MessageFlag, MessageType, Module,
                                   NodeFlag, NoBody, Ping, Publish, UnknownBody, Update, decode, encode)
from reference.cluster.slots import SLOTS, bitmap_to_slots, slots_to_bitmap
from tests import cluster_nodes
from tests.cluster_nodes import Relay, start_node, start_relayed_node

launcher = cluster_nodes.launcher  # (the fixture)

DEADLINE = 30.0  # seconds for a cluster state to be reached: generous on a busy machine


def some_name(seed: str) -> bytes:
    return (seed * 40)[:40].encode()


def ip_field(text: bytes) -> bytes:
    """An address as decode gives it: the whole field, zero bytes after the text."""
    return text.ljust(bus.IP_SIZE, b"\0")


def sample_header(message_type: int, **fields) -> Header:
    return Header(message_type, some_name("a1"), port=7000, cport=17000, flags=NodeFlag.MASTER,
                  current_epoch=5, config_epoch=3, replication_offset=1234,
                  slots=slots_to_bitmap(range(100, 200)), **fields)


SAMPLE_BODIES = {
    MessageType.PING: Ping([Gossip(some_name("b2"), 1700000000, 1700000001, ip_field(b"10.0.0.2"), 7001, 17001,
                                   NodeFlag.SLAVE | NodeFlag.PFAIL)], [Extension.with_hostname(b"host-a")]),
    MessageType.PONG: Ping(),
    MessageType.MEET: Ping([Gossip(some_name("c3"), 0, 0, ip_field(b"::1"), 7002, 17002, NodeFlag.MASTER,
                                   pport=6379)]),
    MessageType.FAIL: Fail(some_name("d4")),
    MessageType.PUBLISH: Publish(b"channel", b"a message\x00\xff"),
    MessageType.PUBLISHSHARD: Publish(b"", b""),
    MessageType.FAILOVER_AUTH_REQUEST: NoBody(),
    MessageType.FAILOVER_AUTH_ACK: NoBody(),
    MessageType.UPDATE: Update(some_name("e5"), 9, slots_to_bitmap([0, SLOTS - 1])),
    MessageType.MFSTART: NoBody(),
    MessageType.MODULE: Module(b"\x01\x02\x03\x04\x05\x06\x07\x08", 200, b"payload"),
    42: UnknownBody(b"what a later version may send"),
}


# -- the format on its own ----------------------------------------------------------------------

@pytest.mark.parametrize("message_type", list(SAMPLE_BODIES))
def test_every_message_type_round_trips(message_type):
    message = Message(sample_header(message_type), SAMPLE_BODIES[message_type])
    frame = encode(message)
    assert frame[:4] == b"RCmb" and struct.unpack_from(">IHHH", frame, 4) == (len(frame), 1, 7000, message_type)
    decoded = decode(frame)
    assert decoded.body == message.body and decoded.header.sender == message.header.sender
    assert bitmap_to_slots(decoded.header.slots) == list(range(100, 200))
    assert encode(decoded) == frame


def test_field_offsets_are_those_of_redis_7_0():
    """The offsets cluster.h asserts, seen in the bytes encode writes."""
    header = sample_header(MessageType.PING, pport=6380, state=ClusterState.FAIL, ip=b"192.168.1.1",
                           master=some_name("f6"), message_flags=MessageFlag.PAUSED)
    frame = encode(Message(header, Ping([], [Extension.with_hostname(b"h")])))
    assert struct.unpack_from(">QQQ", frame, 16) == (5, 3, 1234)
    assert frame[40:80] == header.sender and frame[2128:2168] == header.master
    assert frame[2168:2168 + 12] == b"192.168.1.1\x00"
    assert struct.unpack_from(">H", frame, 2214) == (1,)  # extensions
    assert struct.unpack_from(">HHHB", frame, 2246) == (6380, 17000, NodeFlag.MASTER, ClusterState.FAIL)
    assert frame[2253] == MessageFlag.PAUSED | MessageFlag.EXT_DATA  # set for the extension
    # the hostname extension: length 16 (8 + "h\0" padded to 8), type 0, then the name
    assert frame[HEADER_SIZE:] == struct.pack(">IHH", 16, 0, 0) + b"h" + bytes(7)
    assert len(encode(Message(sample_header(MessageType.FAIL), Fail(some_name("d4"))))) == HEADER_SIZE + 40
    update = Message(sample_header(MessageType.UPDATE), SAMPLE_BODIES[MessageType.UPDATE])
    assert len(encode(update)) == HEADER_SIZE + 2096
    gossip = encode(Message(sample_header(MessageType.MEET), SAMPLE_BODIES[MessageType.MEET]))[HEADER_SIZE:]
    assert len(gossip) == 104 and gossip[48:52] == b"::1\x00"
    assert struct.unpack_from(">HHHHH", gossip, 94) == (7002, 17002, NodeFlag.MASTER, 6379, 0)


def test_a_body_must_fit_its_type():
    with pytest.raises(TypeError):
        encode(Message(sample_header(MessageType.FAIL), Ping()))
    with pytest.raises(ValueError):
        encode(Message(sample_header(MessageType.FAIL), Fail(b"short")))
    with pytest.raises(ValueError):
        encode(Message(sample_header(MessageType.PING), Ping([], [Extension(0, b"odd")])))


def test_reader_cuts_the_stream_into_messages_whatever_the_chunks():
    frames = [encode(Message(sample_header(message_type), body)) for message_type, body in SAMPLE_BODIES.items()]
    stream = b"".join(frames)
    for chunk in (1, 7, 8, 9, 1000, len(stream)):
        reader = BusReader()
        received = []
        for start in range(0, len(stream), chunk):
            received += reader.feed(stream[start:start + chunk])
        assert received == frames and reader.pending == 0


def test_reader_refuses_a_bad_signature_or_a_length_below_the_header():
    good = encode(Message(sample_header(MessageType.PONG), Ping()))
    with pytest.raises(LinkError):
        BusReader().feed(b"RCmc" + good[4:])
    short = good[:4] + struct.pack(">I", HEADER_SIZE - 1) + good[8:]
    with pytest.raises(LinkError):
        BusReader().feed(short)
    assert BusReader().feed(b"RCmb\x00\x00") == []  # not yet 8 bytes: nothing to check
    with pytest.raises(LinkError):
        decode(good[:-1])


def test_decode_refuses_what_redis_drops():
    ping = encode(Message(sample_header(MessageType.PING), Ping([], [Extension.with_hostname(b"host")])))
    for reason, frame in invalid_messages(ping).items():
        with pytest.raises(InvalidMessage):
            decode(frame)
    unknown_version = set_u16(ping, 8, 2)
    with pytest.raises(InvalidMessage):
        decode(unknown_version)


def set_u16(frame: bytes, offset: int, value: int) -> bytes:
    return frame[:offset] + struct.pack(">H", value) + frame[offset + 2:]


def set_total_length(frame: bytes) -> bytes:
    return frame[:4] + struct.pack(">I", len(frame)) + frame[8:]


def invalid_messages(ping_with_extension: bytes) -> dict[str, bytes]:
    """Messages of a right frame but wrong content, each as Redis would drop it."""
    base = ping_with_extension
    no_extension = set_u16(set_total_length(base[:HEADER_SIZE]), 2214, 0)
    no_extension = no_extension[:2253] + b"\x00" + no_extension[2254:]
    return {
        "gossip count beyond the message": set_u16(no_extension, 14, 1),
        "bytes after the last gossip entry": set_total_length(no_extension + bytes(8)),
        "extension not padded to 8": set_total_length(base[:HEADER_SIZE] + struct.pack(">IHH", 12, 0, 0) + b"abcd"),
        "extension longer than the message":
            base[:HEADER_SIZE] + struct.pack(">IHH", 24, 0, 0) + base[HEADER_SIZE + 8:],
        "fail without its node": set_total_length(set_u16(no_extension, 12, MessageType.FAIL)),
        "update cut short": set_total_length(set_u16(no_extension, 12, MessageType.UPDATE) + bytes(100)),
        "publish lengths beyond the message": set_total_length(
            set_u16(no_extension, 12, MessageType.PUBLISH) + struct.pack(">II", 3, 3) + b"abc"),
        "auth request with a body":
            set_total_length(set_u16(no_extension, 12, MessageType.FAILOVER_AUTH_REQUEST) + bytes(8)),
        "module length beyond the message": set_total_length(
            set_u16(no_extension, 12, MessageType.MODULE) + bytes(8) + struct.pack(">IB", 5, 1) + b"abc"),
    }


# -- one real node ------------------------------------------------------------------------------

class BusLink:
    """A connection to a node's bus port, speaking bus.py."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
        self.reader = BusReader()
        self.frames: list[bytes] = []

    def send(self, message: Message | bytes) -> None:
        self.sock.sendall(encode(message) if isinstance(message, Message) else message)

    def receive(self) -> Message:
        while not self.frames:
            data = self.sock.recv(65536)
            assert data, "the node closed the link"
            self.frames += self.reader.feed(data)
        frame = self.frames.pop(0)
        message = decode(frame)
        assert encode(message) == frame
        return message

    def is_closed_by_peer(self) -> bool:
        try:
            return self.sock.recv(65536) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.sock.close()


def our_header(message_type: int, **fields) -> Header:
    """A header from a node that does not exist: its bus port has no listener."""
    return Header(message_type, os.urandom(20).hex().encode(), port=1, cport=free_port(), flags=NodeFlag.MASTER,
                  **fields)


def info_fields(client, section: str) -> dict[str, str]:
    text = client.call("CLUSTER", "INFO") if section == "cluster" else client.call("INFO", section)
    return dict(line.split(":", 1) for line in text.decode().splitlines() if ":" in line)


def pongs_sent(client) -> int:
    return int(info_fields(client, "cluster").get("cluster_stats_messages_pong_sent", "0"))


def nodes_lines(client) -> dict[str, list[str]]:
    """CLUSTER NODES as {name: the other words of its line}."""
    return {words[0]: words[1:] for words in map(str.split, client.call("CLUSTER", "NODES").decode().splitlines())}


def test_a_meet_is_answered_with_a_pong_that_says_what_the_node_says(launcher):
    a = start_node(launcher, cluster_announce_hostname="node-a")
    b = start_node(launcher)
    with a.client() as client, b.client() as other:
        assert client.call("CLUSTER", "ADDSLOTSRANGE", "0", "99", "300", "300") == "OK"
        assert client.call("CLUSTER", "BUMPEPOCH").startswith("BUMPED")
        assert other.call("CLUSTER", "ADDSLOTS", "5000") == "OK"
        assert client.call("CLUSTER", "MEET", "127.0.0.1", str(b.port)) == "OK"
        b_name = other.call("CLUSTER", "MYID").decode()
        wait_for(lambda: "connected" in nodes_lines(client).get(b_name, [])
                 and "handshake" not in nodes_lines(client)[b_name][1], "a knows b")
        link = BusLink(a.port + 10000)
        try:
            link.send(Message(our_header(MessageType.MEET), Ping()))
            pong = link.receive()
            myid = client.call("CLUSTER", "MYID")
            myself = nodes_lines(client)[myid.decode()]
            cluster = info_fields(client, "cluster")
            shard = next(shard for shard in client.call("CLUSTER", "SHARDS")
                         if shard[3][0][1] == myid)
            node = dict(zip(shard[3][0][::2], shard[3][0][1::2]))
            replication = info_fields(client, "replication")
            header = pong.header
            assert header.type == MessageType.PONG and header.version == 1
            assert header.sender == myid
            assert (header.port, header.cport, header.pport) == (a.port, a.port + 10000, 0)
            assert myself[0] == f"127.0.0.1:{a.port}@{a.port + 10000},node-a"
            assert header.flags == NodeFlag.MYSELF | NodeFlag.MASTER and myself[1] == "myself,master"
            assert header.master == NULL_NAME and myself[2] == "-"
            assert header.config_epoch == int(myself[5]) == int(cluster["cluster_my_epoch"])
            assert header.current_epoch == int(cluster["cluster_current_epoch"])
            assert header.state == (ClusterState.OK if cluster["cluster_state"] == "ok" else ClusterState.FAIL)
            assert header.replication_offset == int(replication["master_repl_offset"]) == node[b"replication-offset"]
            assert bitmap_to_slots(header.slots) == list(range(100)) + [300]
            assert shard[1] == [0, 99, 300, 300] and myself[7:] == ["0-99", "300"]
            assert header.ip == bytes(bus.IP_SIZE)  # no cluster-announce-ip: found from the link
            assert pong.body.hostname == node[b"hostname"] == b"node-a"
            assert header.message_flags == MessageFlag.EXT_DATA
            # PONGs gossip about b, now and then (a picks the nodes it gossips about at random)
            def pong_with_gossip():
                link.send(Message(our_header(MessageType.PING), Ping()))
                return link.receive().body.gossip
            pong_before = int(nodes_lines(client)[b_name][4])
            gossip = wait_for(pong_with_gossip, "a PONG with a gossip entry")
            about_b = nodes_lines(client)[b_name]
            assert [entry.node for entry in gossip] == [b_name.encode()]
            assert bus.c_string(gossip[0].ip) + b":%d@%d" % (gossip[0].port, gossip[0].cport) == about_b[0].encode()
            assert gossip[0].flags == NodeFlag.MASTER and about_b[1] == "master"
            # when a last heard a PONG from b, in seconds (a may hear another meanwhile)
            assert pong_before // 1000 <= gossip[0].pong_received <= int(about_b[4]) // 1000
            assert gossip[0].pong_received > 0
        finally:
            link.close()


def test_what_decode_refuses_a_node_drops_and_what_the_reader_refuses_it_closes_the_link_for(launcher):
    """Each malformed message, then a good PING: the node answers the PING alone (its count of
    PONGs sent grows by one) and keeps the link."""
    with start_node(launcher).client() as client:
        port = int(client.call("CONFIG", "GET", "port")[1]) + 10000
        ping = encode(Message(our_header(MessageType.PING), Ping([], [Extension.with_hostname(b"us")])))
        link = BusLink(port)
        try:
            malformed = {**invalid_messages(ping), "protocol version 2": set_u16(ping, 8, 2)}
            for reason, frame in malformed.items():
                with pytest.raises(InvalidMessage):
                    decode(frame)
                sent = pongs_sent(client)
                link.send(frame + ping)
                assert link.receive().header.type == MessageType.PONG, reason
                assert pongs_sent(client) == sent + 1, reason
        finally:
            link.close()
        for frame in (b"RCmc" + ping[4:], ping[:4] + struct.pack(">I", HEADER_SIZE - 1) + ping[8:]):
            with pytest.raises(LinkError):
                BusReader().feed(frame)
            link = BusLink(port)
            try:
                link.send(frame)
                assert link.is_closed_by_peer()
            finally:
                link.close()


# -- real nodes through a relay -----------------------------------------------------------------

class RecordingRelay(Relay):
    """The shared relay (tests/cluster_nodes.py), keeping every message it forwards, in order."""

    def __init__(self):
        self.messages: list[Message] = []
        super().__init__(observe=lambda connection, from_connector, message: self.messages.append(message))

    def of_type(self, *message_types: int, sender: bytes | None = None) -> list[Message]:
        """The messages of these types seen so far (from sender only, if given), in order."""
        with self.lock:
            return [m for m in self.messages if m.type in message_types and sender in (None, m.header.sender)]


@pytest.fixture
def relay():
    relay = RecordingRelay()
    try:
        yield relay
    finally:
        relay.close()


def meet(client, other) -> None:
    assert client.call("CLUSTER", "MEET", "127.0.0.1", str(other.port), str(other.relayed_bus_port)) == "OK"


def knows_all(servers) -> bool:
    """Every node lists every other as a connected node past its handshake."""
    for server in servers:
        with server.client() as client:
            lines = nodes_lines(client)
        for other in servers:
            line = lines.get(other.name.decode())
            if not line or "handshake" in line[1] or "noaddr" in line[1] or line[6] != "connected":
                return False
    return True


def test_two_nodes_through_the_relay_meet_publish_and_fail_over(launcher, relay):
    a = start_relayed_node(launcher, relay, cluster_announce_hostname="node-a")
    b = start_relayed_node(launcher, relay)
    with a.client() as to_a, b.client() as to_b:
        assert to_a.call("CLUSTER", "ADDSLOTSRANGE", "0", str(SLOTS - 1)) == "OK"
        meet(to_a, b)
        wait_for(lambda: knows_all([a, b]), "a and b know each other", DEADLINE)
        meets = relay.of_type(MessageType.MEET)
        assert meets and meets[0].header.sender == a.name
        assert meets[0].header.cport == a.relayed_bus_port  # cluster-announce-bus-port
        assert relay.of_type(MessageType.PING, sender=b.name) and relay.of_type(MessageType.PONG, sender=a.name)
        assert all(m.body.hostname == b"node-a" for m in relay.of_type(MessageType.PONG, sender=a.name))

        assert to_b.call("CLUSTER", "REPLICATE", a.name) == "OK"
        wait_for(lambda: info_fields(to_b, "replication").get("master_link_status") == "up", "b replicates a")
        wait_for(lambda: any(m.header.master == a.name and m.header.flags & NodeFlag.SLAVE
                             for m in relay.of_type(MessageType.PONG, MessageType.PING, sender=b.name)),
                 "b tells a it is its replica")
        assert to_a.call("PUBLISH", "news", "hello") == 0
        assert to_a.call("SPUBLISH", "shard-news", "hi") == 0
        publish = wait_for(lambda: relay.of_type(MessageType.PUBLISH, sender=a.name), "a PUBLISH on the bus")
        assert publish[0].body == Publish(b"news", b"hello")
        sharded = wait_for(lambda: relay.of_type(MessageType.PUBLISHSHARD, sender=a.name), "a PUBLISHSHARD")
        assert sharded[0].body == Publish(b"shard-news", b"hi")

        epoch_before = int(info_fields(to_a, "cluster")["cluster_my_epoch"])
        assert to_b.call("CLUSTER", "FAILOVER") == "OK"
        wait_for(lambda: info_fields(to_b, "replication")["role"] == "master", "b is promoted")
        assert relay.of_type(MessageType.MFSTART, sender=b.name)
        requests = relay.of_type(MessageType.FAILOVER_AUTH_REQUEST, sender=b.name)
        assert requests and requests[0].header.message_flags & MessageFlag.FORCEACK
        assert relay.of_type(MessageType.FAILOVER_AUTH_ACK, sender=a.name)
        from_a = relay.of_type(MessageType.PING, MessageType.PONG, sender=a.name)
        assert any(m.header.message_flags & MessageFlag.PAUSED for m in from_a)  # a paused for b
        # b now claims every slot, with a config epoch above a's old one
        claims = wait_for(lambda: [m for m in relay.of_type(MessageType.PONG, MessageType.PING, sender=b.name)
                                   if m.header.config_epoch > epoch_before], "b's messages with a new config epoch")
        assert all(m.header.flags & NodeFlag.MASTER and m.header.master == NULL_NAME for m in claims)
        assert bitmap_to_slots(claims[0].header.slots) == list(range(SLOTS))
        wait_for(lambda: info_fields(to_a, "replication")["role"] == "slave", "a follows b")
    assert not relay.errors


def test_three_masters_say_fail_about_a_node_gone_and_update_to_a_stale_claim(launcher, relay):
    """Three masters with slots and config epochs 1, 2, 3, node timeout short. The second is
    killed: the two others report it failing in their gossip, and the one that decides it fails
    says FAIL. Then the third is told that slot 0 (the first's) is the dead one's: the first's
    next claim of slot 0, with a config epoch below the dead one's, draws an UPDATE about it (the
    dead node never says it stopped claiming slot 0, so the third's view stands)."""
    servers = [start_relayed_node(launcher, relay, cluster_node_timeout=500) for _ in range(3)]
    ranges = (("0", "5000"), ("5001", "10000"), ("10001", str(SLOTS - 1)))
    for epoch, (server, slots) in enumerate(zip(servers, ranges), 1):
        with server.client() as client:
            assert client.call("CLUSTER", "ADDSLOTSRANGE", *slots) == "OK"
            assert client.call("CLUSTER", "SET-CONFIG-EPOCH", str(epoch)) == "OK"
    first, gone, third = servers
    with first.client() as client:
        meet(client, gone)
        meet(client, third)
    wait_for(lambda: knows_all(servers), "the three know each other", DEADLINE)

    gone.kill()
    failed = wait_for(lambda: relay.of_type(MessageType.FAIL), "a FAIL message", DEADLINE)
    assert failed[0].body.node == gone.name
    assert failed[0].header.sender in (first.name, third.name)
    assert any(entry.node == gone.name and entry.flags & NodeFlag.PFAIL
               for m in relay.of_type(MessageType.PING, MessageType.PONG) for entry in m.body.gossip)

    with third.client() as client:
        assert client.call("CLUSTER", "SETSLOT", "0", "NODE", gone.name) == "OK"
    update = wait_for(lambda: relay.of_type(MessageType.UPDATE, sender=third.name), "an UPDATE", DEADLINE)[0]
    assert update.body.node == gone.name and update.body.config_epoch == 2
    assert bitmap_to_slots(update.body.slots) == [0, *range(5001, 10001)]
    assert not relay.errors
