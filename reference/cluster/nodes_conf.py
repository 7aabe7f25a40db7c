"""nodes.conf, the file a cluster node keeps its view of the cluster in (spec/cluster.md,
"nodes.conf"): one line per node in the form of CLUSTER NODES, then a `vars` line with the
node's current epoch and the epoch of its last vote.

`parse` reads a file as Redis 7.0 loads one (what it accepts, it accepts; what makes Redis
exit, `NodesConfError` refuses, with the reason); `render` writes one as Redis saves it, and
`node_line` is one node's line, which is also its line in CLUSTER NODES. A file Redis wrote
parses and renders back to the same text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from reference.cluster.bus import NodeFlag
from reference.cluster.slots import SLOTS
from reference.config import c_strtoll, split_args

DEFAULT_BUS_PORT_OFFSET = 10000  # the bus port of a line without `@cport` (files before 4.0)

# The flags a line names, in the order Redis writes them.
FLAG_NAMES = (
    (NodeFlag.MYSELF, "myself"), (NodeFlag.MASTER, "master"), (NodeFlag.SLAVE, "slave"),
    (NodeFlag.PFAIL, "fail?"), (NodeFlag.FAIL, "fail"), (NodeFlag.HANDSHAKE, "handshake"),
    (NodeFlag.NOADDR, "noaddr"), (NodeFlag.NOFAILOVER, "nofailover"),
)
NO_FLAGS = "noflags"


class NodesConfError(ValueError):
    """A file Redis refuses to start with."""


@dataclass
class Node:
    """One node as a line describes it."""
    name: str  # 40 characters, [a-z0-9]
    ip: str  # empty while the node does not know its own address
    port: int  # clients' port
    cport: int  # cluster bus port
    flags: NodeFlag
    master: str | None  # the name of the master of a replica, None for `-`
    ping_sent: int  # Unix milliseconds of the PING awaiting an answer, 0 if none
    pong_received: int  # Unix milliseconds of the last PONG
    config_epoch: int  # (a replica's line: its master's)
    link_state: str  # "connected" or "disconnected"
    slots: list[tuple[int, int]] = field(default_factory=list)  # (first, last) ranges
    hostname: str = ""  # cluster-announce-hostname, "" if none
    # Slots in the middle of a move (only on the line of `myself`): slot -> the other node.
    migrating: dict[int, str] = field(default_factory=dict)
    importing: dict[int, str] = field(default_factory=dict)


@dataclass
class NodesConf:
    nodes: list[Node]
    current_epoch: int = 0
    last_vote_epoch: int = 0

    @property
    def myself(self) -> Node:
        return next(node for node in self.nodes if node.flags & NodeFlag.MYSELF)


# -- writing ----------------------------------------------------------------------------------

def render(conf: NodesConf) -> str:
    """The file's text: a line per node, then the vars line."""
    lines = [node_line(node) + "\n" for node in conf.nodes]
    lines.append(f"vars currentEpoch {conf.current_epoch} lastVoteEpoch {conf.last_vote_epoch}\n")
    return "".join(lines)


def node_line(node: Node) -> str:
    """`<name> <ip>:<port>@<cport>[,<hostname>] <flags> <master|-> <ping sent> <pong received>
    <config epoch> <link state> <slots ...>` (no newline)."""
    address = f"{node.ip}:{node.port}@{node.cport}" + (f",{node.hostname}" if node.hostname else "")
    words = [node.name, address, flags_text(node.flags), node.master or "-", str(node.ping_sent),
             str(node.pong_received), str(node.config_epoch), node.link_state]
    words += [str(first) if first == last else f"{first}-{last}" for first, last in node.slots]
    for slot in sorted(node.migrating.keys() | node.importing.keys()):
        if slot in node.migrating:
            words.append(f"[{slot}->-{node.migrating[slot]}]")
        else:
            words.append(f"[{slot}-<-{node.importing[slot]}]")
    return " ".join(words)


def flags_text(flags: int) -> str:
    """`myself,master`, ..., or `noflags`."""
    return ",".join(name for flag, name in FLAG_NAMES if flags & flag) or NO_FLAGS


# -- reading ----------------------------------------------------------------------------------

def parse(text: str | bytes) -> NodesConf:
    """A nodes.conf file's content. Raises NodesConfError where Redis would not start."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else bytes(text)
    conf = NodesConf([])
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line:  # blank lines: padding of a file that was longer before a save
            continue
        words = split_args(line)
        if not words:
            raise NodesConfError(f"line {number}: unbalanced quotes, or no words")
        words = [word.decode("utf-8", "surrogateescape") for word in words]
        try:
            if words[0].lower() == "vars":
                _parse_vars(conf, words[1:])
            else:
                conf.nodes.append(_parse_node(words))
        except NodesConfError as error:
            raise NodesConfError(f"line {number}: {error}") from None
    myselves = [node for node in conf.nodes if node.flags & NodeFlag.MYSELF]
    if len(myselves) != 1:
        raise NodesConfError(f"{len(myselves)} nodes flagged myself (one is needed)")
    return conf


def _parse_vars(conf: NodesConf, words: list[str]) -> None:
    if len(words) % 2:
        raise NodesConfError("vars come in name value pairs")
    for name, value in zip(words[::2], words[1::2]):
        if name.lower() == "currentepoch":
            conf.current_epoch = _c_unsigned(value)
        elif name.lower() == "lastvoteepoch":
            conf.last_vote_epoch = _c_unsigned(value)
        # other names: Redis logs "Skipping unknown cluster config variable" and goes on


def _parse_node(words: list[str]) -> Node:
    if len(words) < 8:
        raise NodesConfError("a node's line has at least 8 fields")
    name, address, flag_words, master, ping_sent, pong_received, config_epoch, link_state = words[:8]
    _check_name(name)
    address, _, hostname = address.partition(",")
    ip, colon, ports = address.rpartition(":")
    if not colon:
        raise NodesConfError(f"no port in {address!r}")
    port_text, at, cport_text = ports.partition("@")
    port = _c_int(port_text)
    cport = _c_int(cport_text) if at else port + DEFAULT_BUS_PORT_OFFSET
    if master[:1] == "-":
        master = None
    else:
        _check_name(master)
    node = Node(name, ip, port, cport, _parse_flags(flag_words), master, _c_int(ping_sent),
                _c_int(pong_received), _c_unsigned(config_epoch), link_state, hostname=hostname)
    for word in words[8:]:
        if word.startswith("["):
            _parse_moving_slot(node, word)
        else:
            first, dash, last = word.partition("-")
            first = _c_int(first)
            last = _c_int(last) if dash else first
            if not (0 <= first < SLOTS and 0 <= last < SLOTS):
                raise NodesConfError(f"slot out of range in {word!r}")
            if first <= last:  # Redis adds no slot for a reversed range, and keeps going
                node.slots.append((first, last))
    return node


def _parse_flags(text: str) -> NodeFlag:
    flags = NodeFlag(0)
    names = {name: flag for flag, name in FLAG_NAMES}
    for word in text.split(","):
        word = word.lower()
        if word in names:
            flags |= names[word]
        elif word != NO_FLAGS:
            raise NodesConfError(f"Unknown flag in redis cluster config file: {word!r}")
    return flags


def _parse_moving_slot(node: Node, word: str) -> None:
    """`[<slot>->-<node>]` (migrating to node) or `[<slot>-<-<node>]` (importing from it)."""
    slot_text, dash, rest = word[1:].partition("-")
    if not dash:
        raise NodesConfError(f"no direction in {word!r}")
    slot = _c_int(slot_text)
    if not 0 <= slot < SLOTS:
        raise NodesConfError(f"slot out of range in {word!r}")
    direction, other = rest[:1], rest[2:]
    other, bracket, _ = other.partition("]")
    if not bracket:
        raise NodesConfError(f"no ] in {word!r}")
    _check_name(other)
    if direction == ">":
        node.migrating[slot] = other
    else:  # Redis takes anything but '>' for importing
        node.importing[slot] = other


def _check_name(name: str) -> None:
    if len(name) != 40 or not all("a" <= c <= "z" or "0" <= c <= "9" for c in name):
        raise NodesConfError(f"bad node name {name!r}")


def _c_int(text: str) -> int:
    """atoi: the leading decimal number, 0 if none, as Redis reads ports and slots."""
    return c_strtoll(text)[0]


def _c_unsigned(text: str) -> int:
    """strtoull, as Redis reads epochs: the leading number (saturating at 2**64 - 1); a minus
    sign negates it modulo 2**64."""
    match = re.match(r"[ \t\n\v\f\r]*([+-]?)([0-9]*)", text)
    value = min(int(match[2] or 0), 2**64 - 1)
    return (-value if match[1] == "-" else value) % 2**64
