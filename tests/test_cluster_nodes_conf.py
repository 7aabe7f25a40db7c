"""reference/cluster/nodes_conf.py: nodes.conf as real redis-server 7.0.15 writes it (slots,
slots being moved, a replica, a hostname) parses and renders back to the same text, and says
what the nodes say; files Redis refuses to start with are refused, files it starts with are
read as it reads them."""
import os
import random

import pytest

from conformance.targets import free_port, run_until_exit
from conformance.waiting import wait_for
from reference.cluster.bus import NodeFlag
from reference.cluster.nodes_conf import Node, NodesConf, NodesConfError, node_line, parse, render
from tests import cluster_nodes

launcher = cluster_nodes.launcher  # (the fixture)

DEADLINE = 30.0


def start_node(launcher, **options):
    """A real cluster node, its `name` set."""
    server = cluster_nodes.start_node(launcher, **options)
    with server.client() as client:
        server.name = client.call("CLUSTER", "MYID").decode()
    return server


def nodes_lines(client) -> dict[str, list[str]]:
    return {words[0]: words[1:] for words in map(str.split, client.call("CLUSTER", "NODES").decode().splitlines())}


def knows_all(servers) -> bool:
    for server in servers:
        with server.client() as client:
            lines = nodes_lines(client)
        for other in servers:
            line = lines.get(other.name)
            if not line or "handshake" in line[1] or line[6] != "connected":
                return False
    return True


def saved_config(server) -> str:
    """The node's nodes.conf once whole (Redis rewrites it in place: read it after a save)."""
    with server.client() as client:
        assert client.call("CLUSTER", "SAVECONFIG") == "OK"
    path = os.path.join(server.dir, "nodes.conf")

    def whole():
        with open(path) as file:
            text = file.read()
        lines = text.split("\n")
        return text if len(lines) > 2 and lines[-1] == "" and lines[-2].startswith("vars ") else None
    return wait_for(whole, "a whole nodes.conf")


def test_files_redis_wrote_round_trip_and_say_what_the_nodes_say(launcher):
    a = start_node(launcher, cluster_announce_hostname="node-a.example")
    b = start_node(launcher)
    c = start_node(launcher)
    with a.client() as to_a, b.client() as to_b, c.client() as to_c:
        assert to_a.call("CLUSTER", "ADDSLOTSRANGE", "0", "100", "200", "300") == "OK"
        assert to_a.call("CLUSTER", "ADDSLOTS", "5000", "7000") == "OK"
        assert to_b.call("CLUSTER", "ADDSLOTSRANGE", "101", "199") == "OK"
        for other in (b, c):
            assert to_a.call("CLUSTER", "MEET", "127.0.0.1", str(other.port)) == "OK"
        wait_for(lambda: knows_all([a, b, c]), "the three know each other", DEADLINE)
        assert to_c.call("CLUSTER", "REPLICATE", a.name) == "OK"
        assert to_a.call("CLUSTER", "SETSLOT", "5000", "MIGRATING", b.name) == "OK"
        assert to_a.call("CLUSTER", "SETSLOT", "6000", "IMPORTING", b.name) == "OK"
        assert to_b.call("CLUSTER", "SETSLOT", "5000", "IMPORTING", a.name) == "OK"
        wait_for(lambda: all("slave" in nodes_lines(client)[c.name][1] for client in (to_a, to_b)),
                 "a and b know c is a replica")
        epochs = {server.name: client.call("CLUSTER", "INFO").decode() for server, client in ((a, to_a), (b, to_b), (c, to_c))}

    for server in (a, b, c):
        text = saved_config(server)
        conf = parse(text)
        assert render(conf) == text
        assert conf.myself.name == server.name and conf.myself.port == server.port
        assert {node.name for node in conf.nodes} == {a.name, b.name, c.name}
        assert f"cluster_current_epoch:{conf.current_epoch}\r\n" in epochs[server.name]
        assert conf.last_vote_epoch == 0
        by_name = {node.name: node for node in conf.nodes}
        assert by_name[a.name].slots == [(0, 100), (200, 300), (5000, 5000), (7000, 7000)]
        assert by_name[a.name].hostname == "node-a.example"
        assert by_name[b.name].slots == [(101, 199)]
        assert by_name[c.name].master == a.name and by_name[c.name].flags & NodeFlag.SLAVE
        assert by_name[c.name].slots == [] and by_name[b.name].master is None
        assert all(node.link_state == "connected" for node in conf.nodes)
    assert parse(saved_config(a)).myself.migrating == {5000: b.name}
    assert parse(saved_config(a)).myself.importing == {6000: b.name}
    assert parse(saved_config(b)).myself.importing == {5000: a.name}
    assert parse(saved_config(b)).myself.migrating == {}


def test_cluster_nodes_lines_are_node_lines(launcher):
    a = start_node(launcher)
    b = start_node(launcher)
    with a.client() as client:
        assert client.call("CLUSTER", "ADDSLOTSRANGE", "0", "10", "12", "12", "16383", "16383") == "OK"
        assert client.call("CLUSTER", "MEET", "127.0.0.1", str(b.port)) == "OK"
        wait_for(lambda: knows_all([a, b]), "a and b know each other", DEADLINE)
        text = client.call("CLUSTER", "NODES").decode()
    conf = parse(text)
    assert "".join(node_line(node) + "\n" for node in conf.nodes) == text
    assert conf.myself.slots == [(0, 10), (12, 12), (16383, 16383)]


def test_render_writes_redis_s_form():
    myself = Node("a" * 40, "127.0.0.1", 7000, 17000, NodeFlag.MYSELF | NodeFlag.MASTER, None, 0, 0, 3,
                  "connected", [(0, 10), (20, 20)], migrating={5: "b" * 40}, importing={5: "c" * 40, 4: "c" * 40})
    replica = Node("b" * 40, "::1", 7001, 17001, NodeFlag.SLAVE | NodeFlag.PFAIL | NodeFlag.NOFAILOVER, "a" * 40,
                   1700000000123, 1700000000456, 3, "disconnected", hostname="host")
    lost = Node("c" * 40, "", 0, 0, NodeFlag(0), None, 0, 0, 0, "disconnected")
    text = render(NodesConf([myself, replica, lost], current_epoch=7, last_vote_epoch=6))
    assert text == (
        f"{'a' * 40} 127.0.0.1:7000@17000 myself,master - 0 0 3 connected 0-10 20 [4-<-{'c' * 40}] [5->-{'b' * 40}]\n"
        f"{'b' * 40} ::1:7001@17001,host slave,fail?,nofailover {'a' * 40} 1700000000123 1700000000456 3 disconnected\n"
        f"{'c' * 40} :0@0 noflags - 0 0 0 disconnected\n"
        "vars currentEpoch 7 lastVoteEpoch 6\n")
    assert render(parse(text)) == text


NAME_A, NAME_B = "0123456789abcdef0123456789abcdef01234567", "fedcba9876543210fedcba9876543210fedcba98"

# Files Redis 7.0 starts with, and how it reads them.
ACCEPTED = {
    "an old line without @cport: the bus port is port + 10000": (
        f"{NAME_A} 127.0.0.1:7000 myself,master - 0 0 0 connected\n{NAME_B} 127.0.0.1:7001 master - 0 0 0 connected 5\n",
        lambda conf: conf.nodes[1].cport == 17001),
    "flags in any case, noflags, blank lines, unknown vars, trailing padding": (
        f"\n{NAME_A} 127.0.0.1:7000@17000 MySelf,Master - 0 0 0 connected\n"
        f"{NAME_B} 127.0.0.1:7001@17001 noflags - 0 0 0 disconnected\n"
        "vars currentEpoch 4 lastVoteEpoch 2 somethingElse 1\n\n\n",
        lambda conf: conf.nodes[1].flags == 0 and (conf.current_epoch, conf.last_vote_epoch) == (4, 2)),
    "no vars line": (f"{NAME_A} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected 0-5\n",
                     lambda conf: conf.myself.slots == [(0, 5)] and conf.current_epoch == 0),
}

# Files Redis 7.0 refuses to start with (it exits).
REFUSED = {
    "fewer than 8 fields": f"{NAME_A} 127.0.0.1:7000@17000 myself,master - 0 0 0\n",
    "a name of 39 characters": f"{NAME_A[:39]} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected\n",
    "a name with a capital": f"{NAME_A[:39]}A 127.0.0.1:7000@17000 myself,master - 0 0 0 connected\n",
    "no port": f"{NAME_A} 127.0.0.1 myself,master - 0 0 0 connected\n",
    "a slot out of range": f"{NAME_A} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected 0-16384\n",
    "a bad master name": f"{NAME_A} 127.0.0.1:7000@17000 myself,slave xyz 0 0 0 connected\n",
    "an unknown flag": f"{NAME_A} 127.0.0.1:7000@17000 myself,master,sleepy - 0 0 0 connected\n",
    "no myself": f"{NAME_A} 127.0.0.1:7000@17000 master - 0 0 0 connected\n",
    "vars without a value": f"{NAME_A} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected\nvars currentEpoch\n",
    "a moving slot's bad node": f"{NAME_A} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected [5->-abc]\n",
    "a moving slot out of range": f"{NAME_A} 127.0.0.1:7000@17000 myself,master - 0 0 0 connected [16384->-{NAME_B}]\n",
}


@pytest.mark.parametrize("case", list(ACCEPTED))
def test_files_redis_accepts(case, launcher, tmp_path):
    text, check = ACCEPTED[case]
    conf = parse(text)
    assert check(conf)
    (tmp_path / "nodes.conf").write_text(text)
    server = launcher.start(dir=str(tmp_path), cluster_enabled="yes", cluster_config_file="nodes.conf")
    with server.client() as client:
        lines = nodes_lines(client)
    assert set(lines) == {node.name for node in conf.nodes}
    for node in conf.nodes:
        if not node.flags & NodeFlag.MYSELF:  # Redis keeps the address it reads for the others
            assert lines[node.name][0] == f"{node.ip}:{node.port}@{node.cport}"


@pytest.mark.parametrize("case", list(REFUSED))
def test_files_redis_refuses(case, tmp_path):
    (tmp_path / "nodes.conf").write_text(REFUSED[case])
    with pytest.raises(NodesConfError):
        parse(REFUSED[case])
    result = run_until_exit(["redis-server", "--port", str(free_port()), "--dir", str(tmp_path), "--save", "",
                             "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
    assert result.returncode != 0, result.stdout.decode()
    output = result.stdout.decode()
    assert "corrupted cluster config file" in output or "Unknown flag in redis cluster config file" in output


def test_random_files_of_redis_s_form_round_trip():
    chooser = random.Random(42)
    names = ["".join(chooser.choice("0123456789abcdef") for _ in range(40)) for _ in range(5)]
    for _ in range(200):
        nodes = []
        for index, name in enumerate(names):
            flags = NodeFlag(chooser.choice([1, 2, 4, 8, 32, 64, 512, 0]) | (NodeFlag.MYSELF if index == 0 else 0))
            slots, start = [], chooser.randrange(0, 100)
            while start < 16384 and len(slots) < 5:
                end = min(16383, start + chooser.randrange(0, 50))
                slots.append((start, end))
                start = end + 2 + chooser.randrange(0, 500)
            moving = {chooser.randrange(16384): chooser.choice(names) for _ in range(chooser.randrange(3))}
            nodes.append(Node(name, chooser.choice(["127.0.0.1", "", "::1", "10.1.2.3"]), chooser.randrange(65536),
                              chooser.randrange(65536), flags, chooser.choice([None, *names]),
                              chooser.randrange(2**40), chooser.randrange(2**40), chooser.randrange(2**63),
                              chooser.choice(["connected", "disconnected"]), slots,
                              hostname=chooser.choice(["", "h", "a.b-c"]),
                              migrating=moving if index == 0 else {}))
        conf = NodesConf(nodes, chooser.randrange(2**64), chooser.randrange(2**64))
        text = render(conf)
        assert parse(text) == conf and render(parse(text)) == text
