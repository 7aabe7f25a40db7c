"""The cluster as one node sees it, and how each bus message it receives changes that view, as
Redis 7.0's clusterProcessPacket does (spec/cluster.md, "One node's view"). Without I/O and
without a clock: the caller says when things happen (`now`, Unix milliseconds), which links
open and close, and gets back what the node would send as `Send`s rather than having it sent.

- `State.receive(link, message, now)`: a message read on a link;
- `State.connect(node, local_ip, now)` / `State.accept(peer_ip, local_ip, now)` / `State.close(link)`:
  the node opens a link to a node it knows (clusterCron), accepts one, loses one;
- `State.sent(link, message, now)`: the node sent a message on a link (a PING starts its wait
  for the PONG; the first message to a MEET node is the MEET);
- `State.cron(now)`: the timeouts: a node whose PONG is overdue becomes PFAIL, a handshake
  that lasted too long is dropped;
- the node's own acts: `add_slots`, `set_config_epoch`, `meet`.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from reference.cluster import bus, nodes_conf
from reference.cluster.bus import (NULL_NAME, ClusterState, Fail, Gossip, Header, Message, MessageFlag,
                                   MessageType, NodeFlag, NoBody, Ping, Update)
from reference.cluster.slots import SLOTS, bitmap_to_slots, slot_ranges, slots_to_bitmap

FAIL_REPORT_VALIDITY_MULT = 2  # a failure report counts for 2 x node timeout
FAIL_UNDO_TIME_MULT = 2  # a master FAIL that long, reachable again and still with slots, is cleared
MIN_HANDSHAKE_TIMEOUT = 1000  # a handshake lasts the node timeout, but at least this (ms)
PONG_TIME_TOLERANCE = 500  # a gossiped pong time may be this far in our future (ms)


@dataclass(eq=False)
class Link:
    """A connection to another node's bus port. An outbound link (opened by this node) belongs
    to the node it was opened to; an inbound one to the node that says it sent it, once known."""
    inbound: bool
    node: Node | None
    peer_ip: bytes  # the address at the other end
    local_ip: bytes  # this node's address as the other end sees it
    created: int  # ms
    has_sent: bool = False  # a first message went out on it


@dataclass(eq=False)
class Node:
    name: bytes
    flags: NodeFlag
    ip: bytes = b""
    port: int = 0
    cport: int = 0
    pport: int = 0
    hostname: bytes = b""
    master: Node | None = None  # a replica's master
    config_epoch: int = 0
    slots: set[int] = field(default_factory=set)
    ping_sent: int = 0  # ms, 0: no PING awaiting its PONG
    pong_received: int = 0
    data_received: int = 0  # the last message from it, of any type
    fail_time: int = 0
    voted_time: int = 0  # when this node (as master) last had a replica voted for
    replication_offset: int = 0
    created: int = 0
    fail_reports: dict[bytes, int] = field(default_factory=dict)  # reporting master's name -> ms
    link: Link | None = None  # outbound
    inbound_link: Link | None = None

    def has(self, flag: NodeFlag) -> bool:
        return bool(self.flags & flag)

    @property
    def is_master(self) -> bool:
        return self.has(NodeFlag.MASTER)

    @property
    def is_replica(self) -> bool:
        return self.has(NodeFlag.SLAVE)

    @property
    def in_handshake(self) -> bool:
        return self.has(NodeFlag.HANDSHAKE)


@dataclass
class Send:
    """A message the node would send on a link."""
    link: Link
    message: Message


class State:
    """One node's view: its node table, epochs, slot owners."""

    def __init__(self, name: bytes, *, port: int, cport: int, node_timeout: int, pport: int = 0,
                 announce_ip: bytes = b"", hostname: bytes = b"", now: int = 0, rng: random.Random | None = None):
        self.node_timeout = node_timeout
        self.announce_ip = announce_ip
        self.rng = rng or random.Random()
        self.myself = Node(name, NodeFlag.MYSELF | NodeFlag.MASTER, port=port, cport=cport, pport=pport,
                           hostname=hostname, created=now)
        self.nodes: dict[bytes, Node] = {name: self.myself}
        self.slot_owner: list[Node | None] = [None] * SLOTS
        self.current_epoch = 0
        self.last_vote_epoch = 0
        self.failover_auth_epoch = 0  # the epoch of this replica's election
        self.failover_auth_count = 0  # the votes it received for it
        self.blacklist: set[bytes] = set()  # names CLUSTER FORGET keeps out (not timed here)
        # Slots whose owner stopped claiming them: kept bound, but anyone may take them, and an
        # UPDATE does not speak of them (owner_not_claiming_slot).
        self.not_claimed: set[int] = set()
        self.pending: list[Send] = []  # what a step decided to send, beyond its direct answer

    # -- the node's own acts ---------------------------------------------------------------

    def add_slots(self, slots) -> None:
        """CLUSTER ADDSLOTS (ADDSLOTSRANGE): the slots must be free."""
        for slot in slots:
            assert self.slot_owner[slot] is None, f"slot {slot} is already busy"
            self._bind(slot, self.myself)

    def set_config_epoch(self, epoch: int) -> None:
        """CLUSTER SET-CONFIG-EPOCH."""
        self.myself.config_epoch = epoch
        self.current_epoch = max(self.current_epoch, epoch)

    def meet(self, ip: bytes, port: int, cport: int, now: int) -> Node:
        """CLUSTER MEET: a node in handshake under a random name, to be sent a MEET
        (clusterStartHandshake). Nothing if a handshake with that address is under way."""
        for node in self.nodes.values():
            if node.in_handshake and (node.ip.lower(), node.port, node.cport) == (ip.lower(), port, cport):
                return node
        node = Node(self._random_name(), NodeFlag.HANDSHAKE | NodeFlag.MEET, ip=ip, port=port, cport=cport,
                    created=now)
        self.nodes[node.name] = node
        return node

    # -- links -------------------------------------------------------------------------------

    def connect(self, node: Node, local_ip: bytes, now: int) -> Link:
        """A link this node opened to `node` (clusterCron does, for every node without one)."""
        link = Link(False, node, node.ip, local_ip, now)
        node.link = link
        return link

    def accept(self, peer_ip: bytes, local_ip: bytes, now: int) -> Link:
        """A link another node opened to this one: its node is known when a message says."""
        return Link(True, None, peer_ip, local_ip, now)

    def close(self, link: Link) -> None:
        """freeClusterLink."""
        node = link.node
        if node is not None:
            if node.link is link:
                node.link = None
            if node.inbound_link is link:
                node.inbound_link = None
        link.node = None

    def sent(self, link: Link, message: Message, now: int) -> None:
        """What sending does to the view: a PING on an outbound link starts the wait for its PONG,
        but the first message of a new link keeps a wait still going (clusterLinkConnectHandler),
        after which the node is no longer sent MEETs."""
        node, first = link.node, not link.has_sent
        link.has_sent = True
        if link.inbound or node is None:
            return
        if message.type == MessageType.PING and not (first and node.ping_sent):
            node.ping_sent = now
        if first:
            node.flags &= ~NodeFlag.MEET

    def first_message(self, link: Link) -> Message:
        """What a new outbound link starts with: a MEET to a node flagged so, else a PING."""
        meet = link.node is not None and link.node.has(NodeFlag.MEET)
        return self.ping_message(MessageType.MEET if meet else MessageType.PING)

    # -- time --------------------------------------------------------------------------------

    def cron(self, now: int) -> None:
        """clusterCron's timeouts: a handshake older than the node timeout (at least a second) is
        dropped; a node that has not answered a PING, nor sent anything, for longer than the node
        timeout is PFAIL."""
        handshake_timeout = max(self.node_timeout, MIN_HANDSHAKE_TIMEOUT)
        for node in list(self.nodes.values()):
            if node.has(NodeFlag.MYSELF | NodeFlag.NOADDR):
                continue
            if node.in_handshake and now - node.created > handshake_timeout:
                self._delete(node)
                continue
            if node.in_handshake or not node.ping_sent:
                continue
            delay = min(now - node.ping_sent, now - node.data_received)
            if delay > self.node_timeout and not node.has(NodeFlag.PFAIL | NodeFlag.FAIL):
                node.flags |= NodeFlag.PFAIL

    # -- receiving ---------------------------------------------------------------------------

    def receive(self, link: Link, message: Message, now: int) -> list[Send]:
        """clusterProcessPacket: the view after `message` arrived on `link`; what to send."""
        out = self._receive(link, message, now)
        out += self.pending
        self.pending = []
        return out

    def _receive(self, link: Link, message: Message, now: int) -> list[Send]:
        header, kind = message.header, message.type
        sender = self._sender_of(link, header)
        if sender is not None:
            sender.data_received = now
        sender_current_epoch = sender_config_epoch = 0  # not taken from a node in handshake
        if sender is not None and not sender.in_handshake:
            sender_current_epoch, sender_config_epoch = header.current_epoch, header.config_epoch
            self.current_epoch = max(self.current_epoch, sender_current_epoch)
            sender.config_epoch = max(sender.config_epoch, sender_config_epoch)
            sender.replication_offset = header.replication_offset
        out: list[Send] = []
        if kind in (MessageType.PING, MessageType.MEET):
            if (kind == MessageType.MEET or not self.myself.ip) and not self.announce_ip:
                self.myself.ip = link.local_ip
            if sender is None and kind == MessageType.MEET:
                node = Node(self._random_name(), NodeFlag.HANDSHAKE, ip=self._address_of(link, header),
                            port=header.port, pport=header.pport, cport=header.cport, created=now)
                self.nodes[node.name] = node
                self._process_gossip(None, message.body, now)
            out.append(Send(link, self.ping_message(MessageType.PONG)))
        if kind in bus.TYPES_WITH_GOSSIP:
            if not self._ping_config(link, sender, message, sender_config_epoch, now, out):
                return out
        elif kind == MessageType.FAIL:
            failing = self.nodes.get(message.body.node)
            if sender is not None and failing is not None and not failing.has(NodeFlag.FAIL | NodeFlag.MYSELF):
                failing.flags = (failing.flags | NodeFlag.FAIL) & ~NodeFlag.PFAIL
                failing.fail_time = now
        elif kind == MessageType.FAILOVER_AUTH_REQUEST:
            if sender is not None and self._grants_vote(sender, header, now):
                if sender.link is not None:
                    out.append(Send(sender.link, self.message(MessageType.FAILOVER_AUTH_ACK, NoBody())))
        elif kind == MessageType.FAILOVER_AUTH_ACK:
            if (sender is not None and sender.is_master and sender.slots
                    and sender_current_epoch >= self.failover_auth_epoch):
                self.failover_auth_count += 1
        elif kind == MessageType.UPDATE:
            node = self.nodes.get(message.body.node)
            if sender is not None and node is not None and node.config_epoch < message.body.config_epoch:
                if node.is_replica:
                    self._set_as_master(node)
                node.config_epoch = message.body.config_epoch
                self._update_slots_with(node, node.config_epoch, message.body.slots)
        elif kind == MessageType.MFSTART:
            if sender is not None and sender.master is self.myself:
                # The manual failover itself (pausing clients) is not part of the view.
                out.append(Send(link, self.ping_message(MessageType.PING)))
        # PUBLISH, PUBLISHSHARD, MODULE: for the node's clients and modules, not its view.
        return out

    def _sender_of(self, link: Link, header: Header) -> Node | None:
        """getNodeFromLinkAndMsg: the link's node, unless in handshake; else the node the header
        names, which an inbound link then belongs to."""
        if link.node is not None and not link.node.in_handshake:
            return link.node
        sender = self.nodes.get(header.sender)
        if sender is not None and link.node is None:
            link.node = sender
            sender.inbound_link = link
        return sender

    def _ping_config(self, link: Link, sender: Node | None, message: Message, sender_config_epoch: int,
                     now: int, out: list[Send]) -> bool:
        """The configuration a PING, PONG or MEET carries. False if the link is gone after it."""
        header = message.header
        if not link.inbound:
            node = link.node
            if node.in_handshake:
                if sender is not None:  # a node we know under another address: keep that one
                    self._update_address(sender, link, header)
                    self._delete(node)
                    return False
                del self.nodes[node.name]  # the handshake is over: the node takes its real name
                node.name = header.sender
                self.nodes[node.name] = node
                node.flags &= ~NodeFlag.HANDSHAKE
                node.flags |= header.flags & (NodeFlag.MASTER | NodeFlag.SLAVE)
            elif node.name != header.sender:  # not who we thought: forget its address
                node.flags |= NodeFlag.NOADDR
                node.ip, node.port, node.pport, node.cport = b"", 0, 0, 0
                self.close(link)
                return False
        if sender is not None:
            sender.flags = (sender.flags & ~NodeFlag.NOFAILOVER) | (header.flags & NodeFlag.NOFAILOVER)
            if message.type == MessageType.PING and not sender.in_handshake:
                self._update_address(sender, link, header)
        if not link.inbound and message.type == MessageType.PONG:
            node = link.node
            node.pong_received, node.ping_sent = now, 0
            if node.has(NodeFlag.PFAIL):
                node.flags &= ~NodeFlag.PFAIL
            elif node.has(NodeFlag.FAIL):
                self._clear_failure_if_needed(node, now)
        if sender is None:
            return True
        self._role_from(sender, header)
        sender_master = sender if sender.is_master else sender.master
        dirty = sender_master is not None and slots_to_bitmap(sender_master.slots) != header.slots
        if sender.is_master and dirty:
            self._update_slots_with(sender, sender_config_epoch, header.slots)
        if dirty:  # the sender claims slots someone newer owns: tell it
            for slot in bitmap_to_slots(header.slots):
                owner = self.slot_owner[slot]
                if owner is sender or self._unclaimed(slot):
                    continue
                if owner.config_epoch > sender_config_epoch:
                    if sender.link is not None:
                        out.append(Send(sender.link, self.update_message(owner)))
                    break
        if self.myself.is_master and sender.is_master and sender_config_epoch == self.myself.config_epoch:
            self._handle_config_epoch_collision(sender)
        self._process_gossip(sender, message.body, now)
        sender.hostname = message.body.hostname
        return True

    def _role_from(self, sender: Node, header: Header) -> None:
        """A master that says it is a replica, a replica that says it is a master, a new master."""
        if header.master == NULL_NAME:
            self._set_as_master(sender)
            return
        master = self.nodes.get(header.master)
        if sender.is_master:
            self._del_node_slots(sender)
            sender.flags = (sender.flags & ~(NodeFlag.MASTER | NodeFlag.MIGRATE_TO)) | NodeFlag.SLAVE
        if master is not None and sender.master is not master:
            sender.master = master

    def _set_as_master(self, node: Node) -> None:
        """clusterSetNodeAsMaster."""
        if node.is_master:
            return
        if node.master is not None and node is not self.myself:
            node.flags |= NodeFlag.MIGRATE_TO
        node.flags = (node.flags & ~NodeFlag.SLAVE) | NodeFlag.MASTER
        node.master = None

    def _update_slots_with(self, sender: Node, config_epoch: int, bitmap: bytes) -> None:
        """clusterUpdateSlotsConfigWith: slots claimed with a greater configEpoch than their
        owner's (or free) go to the claimant; a master left without slots, or a replica whose
        master is, follows the claimant."""
        if sender is self.myself:
            return
        myself = self.myself
        current_master = myself if myself.is_master else myself.master
        claimed = bitmap_to_slots(bitmap)
        for slot in sender.slots - set(claimed):  # bound to it, no longer claimed by it
            self.not_claimed.add(slot)
        new_master = None
        for slot in claimed:
            owner = self.slot_owner[slot]
            if owner is sender:
                self.not_claimed.discard(slot)
                continue
            if self._unclaimed(slot) or owner.config_epoch < config_epoch:
                if owner is current_master and current_master is not None:
                    new_master = sender
                self._unbind(slot)
                self._bind(slot, sender)
                self.not_claimed.discard(slot)
        # (Keys in slots this master lost would be deleted here: the keyspace is not the view.)
        if new_master is not None and not current_master.slots:
            # cluster-allow-replica-migration is taken as its default, yes.
            self._set_my_master(sender)
        elif myself.master is not None and myself.master.master is not None \
                and myself.master.master is not myself:
            self._set_my_master(myself.master.master)  # no replica of a replica

    def _set_my_master(self, master: Node) -> None:
        """clusterSetMaster: this node becomes a replica of master."""
        myself = self.myself
        myself.flags = (myself.flags & ~(NodeFlag.MASTER | NodeFlag.MIGRATE_TO)) | NodeFlag.SLAVE
        myself.master = master

    def _handle_config_epoch_collision(self, sender: Node) -> None:
        """clusterHandleConfigEpochCollision: of two masters with one configEpoch, the one with
        the smaller name takes a new one."""
        if sender.config_epoch != self.myself.config_epoch or not sender.is_master or not self.myself.is_master:
            return
        if sender.name <= self.myself.name:
            return
        self.current_epoch += 1
        self.myself.config_epoch = self.current_epoch

    def _process_gossip(self, sender: Node | None, body: Ping, now: int) -> None:
        """clusterProcessGossipSection. From a sender we do not know (a MEET's), it only updates
        what we know of nodes we know: failure reports and new nodes need a known sender."""
        for entry in body.gossip:
            node = self.nodes.get(entry.node)
            failing = entry.flags & (NodeFlag.FAIL | NodeFlag.PFAIL)
            if node is not None:
                if sender is not None and sender.is_master and node is not self.myself:
                    if failing:
                        node.fail_reports[sender.name] = now
                        self._mark_failing_if_needed(node, now)
                    elif node.fail_reports.pop(sender.name, None) is not None:
                        self._clean_fail_reports(node, now)
                if not failing and node.ping_sent == 0 and self._fail_report_count(node, now) == 0:
                    pong_time = entry.pong_received * 1000
                    if node.pong_received < pong_time <= now + PONG_TIME_TOLERANCE:
                        node.pong_received = pong_time
                entry_ip = bus.c_string(entry.ip)
                if (node.has(NodeFlag.FAIL | NodeFlag.PFAIL) and not entry.flags & NodeFlag.NOADDR and not failing
                        and (node.ip.lower() != entry_ip.lower() or node.port != entry.port
                             or node.cport != entry.cport)):
                    if node.link is not None:
                        self.close(node.link)
                    node.ip, node.port, node.pport, node.cport = entry_ip, entry.port, entry.pport, entry.cport
                    node.flags &= ~NodeFlag.NOADDR
            elif (sender is not None and not entry.flags & NodeFlag.NOADDR
                  and entry.node not in self.blacklist):
                self.nodes[entry.node] = Node(entry.node, NodeFlag(entry.flags), ip=bus.c_string(entry.ip),
                                              port=entry.port, pport=entry.pport, cport=entry.cport,
                                              created=now)

    def _mark_failing_if_needed(self, node: Node, now: int) -> None:
        """markNodeAsFailingIfNeeded: a node PFAIL here and reported failing by enough masters
        (this one counting if a master) to make a majority of the masters serving slots is FAIL,
        and every node is told so."""
        if not node.has(NodeFlag.PFAIL) or node.has(NodeFlag.FAIL):
            return
        failures = self._fail_report_count(node, now) + (1 if self.myself.is_master else 0)
        if failures < self.size // 2 + 1:
            return
        node.flags = (node.flags & ~NodeFlag.PFAIL) | NodeFlag.FAIL
        node.fail_time = now
        self.pending.extend(self.broadcast(self.message(MessageType.FAIL, Fail(node.name))))

    def _clear_failure_if_needed(self, node: Node, now: int) -> None:
        """clearNodeFailureIfNeeded: a FAIL node that answers again is cleared if a replica or a
        master without slots, or a master whose slots nobody took for a while."""
        if node.is_replica or not node.slots:
            node.flags &= ~NodeFlag.FAIL
        if node.is_master and node.slots and now - node.fail_time > self.node_timeout * FAIL_UNDO_TIME_MULT:
            node.flags &= ~NodeFlag.FAIL

    def _fail_report_count(self, node: Node, now: int) -> int:
        self._clean_fail_reports(node, now)
        return len(node.fail_reports)

    def _clean_fail_reports(self, node: Node, now: int) -> None:
        validity = self.node_timeout * FAIL_REPORT_VALIDITY_MULT
        node.fail_reports = {name: time for name, time in node.fail_reports.items() if now - time <= validity}

    def _grants_vote(self, replica: Node, request: Header, now: int) -> bool:
        """clusterSendFailoverAuthIfNeeded: a master serving slots votes once per epoch, for a
        replica whose master is FAIL (or any, for a manual failover's FORCEACK), not twice for
        the same master within 2 x node timeout, and only if no slot the replica claims has an
        owner with a greater configEpoch than the request's."""
        myself, master = self.myself, replica.master
        if myself.is_replica or not myself.slots:
            return False
        if request.current_epoch < self.current_epoch or self.last_vote_epoch == self.current_epoch:
            return False
        force = request.message_flags & MessageFlag.FORCEACK
        if replica.is_master or master is None or (not master.has(NodeFlag.FAIL) and not force):
            return False
        if now - master.voted_time < self.node_timeout * 2:
            return False
        for slot in bitmap_to_slots(request.slots):
            owner = self.slot_owner[slot]
            if owner is not None and owner.config_epoch > request.config_epoch:
                return False
        self.last_vote_epoch = self.current_epoch
        master.voted_time = now
        return True

    # -- nodes and slots ---------------------------------------------------------------------

    @property
    def size(self) -> int:
        """The masters serving at least one slot (Redis recomputes it in clusterUpdateState)."""
        return sum(1 for node in self.nodes.values() if node.is_master and node.slots)

    def _unclaimed(self, slot: int) -> bool:
        """isSlotUnclaimed: no owner, or one that stopped claiming it."""
        return self.slot_owner[slot] is None or slot in self.not_claimed

    def _bind(self, slot: int, node: Node) -> None:
        self.slot_owner[slot] = node
        node.slots.add(slot)

    def _unbind(self, slot: int) -> None:
        owner = self.slot_owner[slot]
        if owner is not None:
            owner.slots.discard(slot)
            self.slot_owner[slot] = None

    def _del_node_slots(self, node: Node) -> None:
        for slot in list(node.slots):
            self._unbind(slot)

    def _delete(self, node: Node) -> None:
        """clusterDelNode: its slots unassigned, its failure reports withdrawn, its links closed."""
        self._del_node_slots(node)
        for other in self.nodes.values():
            other.fail_reports.pop(node.name, None)
            if other.master is node:
                other.master = None
        for link in (node.link, node.inbound_link):
            if link is not None:
                self.close(link)
        del self.nodes[node.name]

    def _update_address(self, node: Node, link: Link, header: Header) -> bool:
        """nodeUpdateAddressIfNeeded: the address a node sends from (or announces) becomes its
        address, unless the message came on the node's own outbound link."""
        if link is node.link:
            return False
        ip = self._address_of(link, header)
        if (node.ip, node.port, node.pport, node.cport) == (ip, header.port, header.pport, header.cport):
            return False
        node.ip, node.port, node.pport, node.cport = ip, header.port, header.pport, header.cport
        if node.link is not None:
            self.close(node.link)
        node.flags &= ~NodeFlag.NOADDR
        return True

    @staticmethod
    def _address_of(link: Link, header: Header) -> bytes:
        """The announced address, else the address the link comes from."""
        return bus.c_string(header.ip) or link.peer_ip

    def _random_name(self) -> bytes:
        while (name := b"%040x" % self.rng.getrandbits(160)) in self.nodes:
            pass
        return name

    # -- what it sends -----------------------------------------------------------------------

    def header(self, message_type: int) -> Header:
        """clusterBuildMessageHdr: a replica speaks of its master's slots and configEpoch."""
        myself = self.myself
        master = myself.master if myself.is_replica and myself.master else myself
        return Header(message_type, myself.name, port=myself.port, cport=myself.cport, pport=myself.pport,
                      flags=myself.flags, current_epoch=self.current_epoch, config_epoch=master.config_epoch,
                      slots=slots_to_bitmap(master.slots),
                      master=myself.master.name if myself.master else NULL_NAME, ip=self.announce_ip,
                      state=self.cluster_state)

    def message(self, message_type: int, body) -> Message:
        return Message(self.header(message_type), body)

    def ping_message(self, message_type: int) -> Message:
        """A PING, PONG or MEET with its gossip: some random nodes (a tenth of them, at least 3)
        other than this one, in handshake, without address or without link nor slots; then every
        PFAIL node (clusterSendPing). The hostname extension if this node has one."""
        candidates = [node for node in self.nodes.values()
                      if node is not self.myself and not node.has(NodeFlag.PFAIL | NodeFlag.HANDSHAKE | NodeFlag.NOADDR)
                      and (node.link is not None or node.slots)]
        wanted = min(max(len(self.nodes) // 10, 3), len(self.nodes) - 2, len(candidates))
        chosen = self.rng.sample(candidates, max(wanted, 0))
        chosen += [node for node in self.nodes.values()
                   if node.has(NodeFlag.PFAIL) and not node.has(NodeFlag.HANDSHAKE | NodeFlag.NOADDR)]
        extensions = [bus.Extension.with_hostname(self.myself.hostname)] if self.myself.hostname else []
        return self.message(message_type, Ping([self.gossip_entry(node) for node in chosen], extensions))

    @staticmethod
    def gossip_entry(node: Node) -> Gossip:
        return Gossip(node.name, node.ping_sent // 1000, node.pong_received // 1000, node.ip, node.port,
                      node.cport, node.flags, node.pport)

    def update_message(self, node: Node) -> Message:
        """clusterSendUpdate: a node's configEpoch and the slots it still claims."""
        slots = slots_to_bitmap(node.slots - self.not_claimed)
        return self.message(MessageType.UPDATE, Update(node.name, node.config_epoch, slots))

    def broadcast(self, message: Message) -> list[Send]:
        """clusterBroadcastMessage: to every node with a link, not in handshake."""
        return [Send(node.link, message) for node in self.nodes.values()
                if node.link is not None and not node.has(NodeFlag.MYSELF | NodeFlag.HANDSHAKE)]

    @property
    def cluster_state(self) -> ClusterState:
        """Simplified clusterUpdateState: ok when every slot has an owner that is not FAIL."""
        if all(owner is not None and not owner.has(NodeFlag.FAIL) for owner in self.slot_owner):
            return ClusterState.OK
        return ClusterState.FAIL

    # -- as CLUSTER NODES shows it -----------------------------------------------------------

    def nodes_conf(self) -> nodes_conf.NodesConf:
        """The view as nodes.conf (and CLUSTER NODES, with handshake nodes) writes it."""
        lines = []
        for node in self.nodes.values():
            epoch = node.master.config_epoch if node.is_replica and node.master else node.config_epoch
            connected = node.link is not None or node.has(NodeFlag.MYSELF)
            lines.append(nodes_conf.Node(
                node.name.decode(), node.ip.decode(), node.port, node.cport,
                NodeFlag(node.flags & ~(NodeFlag.MEET | NodeFlag.MIGRATE_TO)),
                node.master.name.decode() if node.master else None, node.ping_sent, node.pong_received, epoch,
                "connected" if connected else "disconnected", slot_ranges(sorted(node.slots)),
                node.hostname.decode()))
        return nodes_conf.NodesConf(lines, self.current_epoch, self.last_vote_epoch)
