"""Unit tests of reference/commands/pubsub.py's registries, deliveries and Frames encoding."""
from types import SimpleNamespace

import pytest

from reference.commands import pubsub
from reference.commands.pubsub import CHANNELS, PATTERNS, SHARD_CHANNELS, Frames
from reference.protocol import Push, encode
from reference.server import CLIENT_STATE_HOOKS


class FakeClient:
    """What the family uses of a connection: its subscriptions, its server, reply()."""

    def __init__(self, server):
        self.server = server
        self.channels, self.patterns, self.shard_channels = {}, {}, {}
        self.sent = []

    def reply(self, value):
        self.sent.append(value)


@pytest.fixture
def server():
    return SimpleNamespace()


def test_frames_are_sent_back_to_back_without_a_header():
    frames = Frames([Push([b"subscribe", b"a", 1]), Push([b"subscribe", b"b", 2])])
    assert encode(frames, 2) == (b"*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
                                 b"*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n")
    assert encode(frames, 3) == (b">3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n"
                                 b">3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n")
    # Inside EXEC's array they count as one element.
    assert encode([frames, 7], 3) == b"*2\r\n" + encode(frames, 3) + b":7\r\n"


def test_subscribe_counts_channels_and_patterns_together_shards_alone(server):
    client = FakeClient(server)
    assert pubsub.subscribe(client, CHANNELS, [b"a", b"b", b"a"]) == [
        [b"subscribe", b"a", 1], [b"subscribe", b"b", 2], [b"subscribe", b"a", 2]]
    assert pubsub.subscribe(client, PATTERNS, [b"p*"]) == [[b"psubscribe", b"p*", 3]]
    assert pubsub.subscribe(client, SHARD_CHANNELS, [b"s"]) == [[b"ssubscribe", b"s", 1]]
    registry = pubsub.registry(server)
    assert list(registry.channels) == [b"a", b"b"]
    assert list(registry.channels[b"a"]) == [client]
    assert list(registry.patterns) == [b"p*"] and list(registry.shard_channels) == [b"s"]


def test_unsubscribe_all_patterns_in_subscription_order(server):
    client = FakeClient(server)
    pubsub.subscribe(client, PATTERNS, [b"z*", b"a*", b"m*"])
    assert pubsub.unsubscribe(client, PATTERNS, []) == [
        [b"punsubscribe", b"z*", 2], [b"punsubscribe", b"a*", 1], [b"punsubscribe", b"m*", 0]]
    assert pubsub.unsubscribe(client, PATTERNS, []) == [[b"punsubscribe", None, 0]]
    assert pubsub.registry(server).patterns == {}


def test_a_name_nobody_listens_to_is_forgotten(server):
    one, two = FakeClient(server), FakeClient(server)
    pubsub.subscribe(one, CHANNELS, [b"c"])
    pubsub.subscribe(two, CHANNELS, [b"c"])
    pubsub.unsubscribe(one, CHANNELS, [b"c"])
    assert list(pubsub.registry(server).channels[b"c"]) == [two]
    pubsub.unsubscribe(two, CHANNELS, [b"c", b"never"])
    assert pubsub.registry(server).channels == {}


def test_publish_delivers_and_keeps_the_publishers_own_pushes(server):
    publisher, listener = FakeClient(server), FakeClient(server)
    pubsub.subscribe(listener, CHANNELS, [b"news"])
    pubsub.subscribe(publisher, CHANNELS, [b"news"])
    pubsub.subscribe(publisher, PATTERNS, [b"n*", b"x*"])
    receivers, own = pubsub.publish(server, b"news", b"m", publisher)
    assert receivers == 3
    assert listener.sent == [[b"message", b"news", b"m"]]
    assert publisher.sent == []
    assert own == [[b"message", b"news", b"m"], [b"pmessage", b"n*", b"news", b"m"]]
    assert all(isinstance(push, Push) for push in own + listener.sent)
    # Shard channels are a registry apart.
    assert pubsub.shard_publish(server, b"news", b"m") == (0, [])


def test_forget_subscriber_is_a_client_state_hook(server):
    assert pubsub.forget_subscriber in CLIENT_STATE_HOOKS
    client = FakeClient(server)
    pubsub.subscribe(client, CHANNELS, [b"a"])
    pubsub.subscribe(client, PATTERNS, [b"p"])
    pubsub.subscribe(client, SHARD_CHANNELS, [b"s"])
    pubsub.forget_subscriber(server, client)
    registry = pubsub.registry(server)
    assert (registry.channels, registry.patterns, registry.shard_channels) == ({}, {}, {})
    assert not (client.channels or client.patterns or client.shard_channels)
    assert client.sent == []  # silently
