"""Handlers of spec/pubsub.md: channels, patterns and shard channels, and who listens to them.

The registries live on the server (`server.pubsub`, made on first use); each connection's own
subscriptions are its `channels`, `patterns` and `shard_channels` (reference/server.py), which
CLIENT LIST and the RESP2 subscribed-context check read. Both sides change together, only here.

Subscribing commands answer with one push per argument. A handler returns them as one `Frames`
value, so that inside EXEC they stand, together, where that command's reply goes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from reference.commands import handler, subcommand_help
from reference.dispatch import CommandError
from reference.patterns import glob_match
from reference.protocol import Frames, Push
from reference.server import CLIENT_STATE_HOOKS


class Registry:
    """Name -> its subscribers in the order they subscribed (a dict used as an ordered set)."""

    def __init__(self):
        self.channels: dict[bytes, dict] = {}
        self.patterns: dict[bytes, dict] = {}
        self.shard_channels: dict[bytes, dict] = {}


def registry(server) -> Registry:
    if not hasattr(server, "pubsub"):
        server.pubsub = Registry()
    return server.pubsub


# --- the three kinds of subscription ----------------------------------------------------------
#
# A kind says which registry and which of the client's collections it uses, the words of its
# pushes, and what its counts count: channels and patterns are counted together, shard
# channels alone.


@dataclass(frozen=True)
class Kind:
    registry_name: str    # the Registry's and the client's attribute
    subscribed: bytes     # the first word of a subscription's push
    unsubscribed: bytes   # ... and of an unsubscription's
    count: Callable       # client -> the count its pushes carry

    def mine(self, client) -> dict:
        """The client's own subscriptions of this kind, in subscription order (PUNSUBSCRIBE
        without arguments leaves patterns in that order): a dict used as an ordered set."""
        return getattr(client, self.registry_name)

    def subscribers(self, server) -> dict[bytes, dict]:
        return getattr(registry(server), self.registry_name)


def _global_count(client) -> int:
    return len(client.channels) + len(client.patterns)


CHANNELS = Kind("channels", b"subscribe", b"unsubscribe", _global_count)
PATTERNS = Kind("patterns", b"psubscribe", b"punsubscribe", _global_count)
SHARD_CHANNELS = Kind("shard_channels", b"ssubscribe", b"sunsubscribe",
                      lambda client: len(client.shard_channels))


def subscribe(client, kind: Kind, names: list[bytes]) -> Frames:
    frames = Frames()
    mine = kind.mine(client)
    for name in names:
        if name not in mine:
            mine[name] = None
            kind.subscribers(client.server).setdefault(name, {})[client] = None
        frames.append(Push([kind.subscribed, name, kind.count(client)]))
    return frames


def unsubscribe(client, kind: Kind, names: list[bytes]) -> Frames:
    """Leave the names given, or every subscription of this kind when none is given."""
    mine = kind.mine(client)
    if not names:
        names = list(mine)
        if not names:
            return Frames([Push([kind.unsubscribed, None, kind.count(client)])])
    frames = Frames()
    for name in names:
        if name in mine:
            _leave(client, kind, name)
        frames.append(Push([kind.unsubscribed, name, kind.count(client)]))
    return frames


def _leave(client, kind: Kind, name: bytes) -> None:
    del kind.mine(client)[name]
    registered = kind.subscribers(client.server)
    listeners = registered[name]
    del listeners[client]
    if not listeners:  # a name nobody listens to is forgotten (PUBSUB CHANNELS no longer lists it)
        del registered[name]


def forget_subscriber(server, client) -> None:
    """On disconnect or RESET: leave everything, silently."""
    for kind in (CHANNELS, PATTERNS, SHARD_CHANNELS):
        for name in list(kind.mine(client)):
            _leave(client, kind, name)


CLIENT_STATE_HOOKS.append(forget_subscriber)


def publish(server, channel: bytes, message: bytes, publisher=None) -> tuple[int, list]:
    """Send a message to a channel's subscribers, then to matching patterns' subscribers.

    Returns the number of pushes and the pushes meant for `publisher` itself, which are not sent
    but handed back: they go out with its reply, before the count (so inside EXEC they stand in
    EXEC's array, where Redis writes them).
    """
    pubsub = registry(server)
    deliveries = [(subscriber, Push([b"message", channel, message]))
                  for subscriber in pubsub.channels.get(channel, ())]
    for pattern, subscribers in pubsub.patterns.items():
        if glob_match(pattern, channel):
            deliveries += [(subscriber, Push([b"pmessage", pattern, channel, message]))
                           for subscriber in subscribers]
    return len(deliveries), _deliver(deliveries, publisher)


def shard_publish(server, channel: bytes, message: bytes, publisher=None) -> tuple[int, list]:
    """As publish, for a shard channel (patterns play no part)."""
    deliveries = [(subscriber, Push([b"smessage", channel, message]))
                  for subscriber in registry(server).shard_channels.get(channel, ())]
    return len(deliveries), _deliver(deliveries, publisher)


def _deliver(deliveries: list, publisher) -> list:
    """Send each (subscriber, push); return the publisher's own pushes, unsent."""
    own = []
    for subscriber, push in deliveries:
        if subscriber is publisher:
            own.append(push)
        else:
            subscriber.reply(push)
    return own


def _count_after_own_pushes(receivers: int, own: list):
    return Frames([*own, receivers]) if own else receivers


# --- commands ---------------------------------------------------------------------------------


@handler("subscribe")
def subscribe_command(client, args):
    return subscribe(client, CHANNELS, args["channel"])


@handler("unsubscribe")
def unsubscribe_command(client, args):
    return unsubscribe(client, CHANNELS, args.get("channel", []))


@handler("psubscribe")
def psubscribe_command(client, args):
    # The declaration's repeated group named "pattern" holds one argument named "pattern".
    return subscribe(client, PATTERNS, [group["pattern"] for group in args["pattern"]])


@handler("punsubscribe")
def punsubscribe_command(client, args):
    return unsubscribe(client, PATTERNS, args.get("pattern", []))


@handler("ssubscribe")
def ssubscribe_command(client, args):
    # Redis refuses it to a client that expects one reply per command, which EXEC's is.
    if client.in_exec:
        raise CommandError("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")
    return subscribe(client, SHARD_CHANNELS, args["shardchannel"])


@handler("sunsubscribe")
def sunsubscribe_command(client, args):
    return unsubscribe(client, SHARD_CHANNELS, args.get("shardchannel", []))


@handler("publish")
def publish_command(client, args):
    return _count_after_own_pushes(*publish(client.server, args["channel"], args["message"], client))


@handler("spublish")
def spublish_command(client, args):
    return _count_after_own_pushes(
        *shard_publish(client.server, args["shardchannel"], args["message"], client))


def _names_matching(names, pattern: bytes | None) -> list[bytes]:
    return [name for name in names if pattern is None or glob_match(pattern, name)]


def _counts(subscribers: dict[bytes, dict], names: list[bytes]) -> list:
    return [item for name in names for item in (name, len(subscribers.get(name, ())))]


@handler("pubsub|channels")
def pubsub_channels(client, args):
    return _names_matching(registry(client.server).channels, args.get("pattern"))


@handler("pubsub|shardchannels")
def pubsub_shardchannels(client, args):
    return _names_matching(registry(client.server).shard_channels, args.get("pattern"))


@handler("pubsub|numsub")
def pubsub_numsub(client, args):
    return _counts(registry(client.server).channels, args.get("channel", []))


@handler("pubsub|shardnumsub")
def pubsub_shardnumsub(client, args):
    return _counts(registry(client.server).shard_channels, args.get("shardchannel", []))


@handler("pubsub|numpat")
def pubsub_numpat(client, args):
    return len(registry(client.server).patterns)


# The text Redis 7.0 answers (a reply, so the oracle's bytes).


@handler("pubsub|help")
def pubsub_help(client, args):
    return subcommand_help(client, "pubsub")
