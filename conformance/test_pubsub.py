"""Conformance of the pub/sub family (spec/pubsub.md): SUBSCRIBE, UNSUBSCRIBE, PSUBSCRIBE,
PUNSUBSCRIBE, SSUBSCRIBE, SUNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB's subcommands, in RESP2
(pushes are arrays read as replies) and RESP3 (push frames)."""
from __future__ import annotations

import time

import pytest

from conformance.client import ErrorReply, Push

CONTEXT_ERROR = ("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
                 "RESET are allowed in this context")
SSUBSCRIBE_IN_EXEC = ErrorReply("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client")


def bulk(data: bytes) -> bytes:
    return b"$%d\r\n%b\r\n" % (len(data), data)


def frame(kind: bytes, *items, resp: int = 2) -> bytes:
    """The wire form of a pub/sub push: bytes are bulks, ints integers, None a null."""
    head = b">" if resp == 3 else b"*"
    parts = [head + b"%d\r\n" % (len(items) + 1), bulk(kind)]
    for item in items:
        if item is None:
            parts.append(b"_\r\n" if resp == 3 else b"$-1\r\n")
        elif isinstance(item, int):
            parts.append(b":%d\r\n" % item)
        else:
            parts.append(bulk(item))
    return b"".join(parts)


def wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


# What PUBSUB still counted after a whole wait for closed connections to be forgotten: a server
# that never forgets them is not waited for again, test after test, for the same subscriptions.
never_forgotten = []


@pytest.fixture
def quiet(client):
    """A client on a server where nobody subscribes to anything (earlier tests' subscribers,
    whose connections were closed, may take a moment to be forgotten)."""
    def counts():
        return [client.call("PUBSUB", sub) for sub in ("NUMPAT", "CHANNELS", "SHARDCHANNELS")]

    def nobody_subscribes():
        numpat, channels, shard_channels = counts()
        # A server without sharded pub/sub (Redis before 7.0) refuses SHARDCHANNELS: the
        # SSUBSCRIBE tests fail on it, the others need not.
        return numpat == 0 and channels == [] and (shard_channels == [] or isinstance(shard_channels, ErrorReply))

    if never_forgotten and counts() == never_forgotten[-1]:
        pytest.fail("subscriptions of connections closed by earlier tests are never forgotten:"
                    f" PUBSUB NUMPAT, CHANNELS, SHARDCHANNELS answer {counts()!r}", pytrace=False)
    if not wait_until(nobody_subscribes):
        never_forgotten.append(counts())
        pytest.fail("subscriptions of connections closed by earlier tests are still counted 30s later:"
                    f" PUBSUB NUMPAT, CHANNELS, SHARDCHANNELS answer {never_forgotten[-1]!r}", pytrace=False)
    return client


@pytest.fixture
def make(client_factory):
    """make(resp) -> a new connection speaking RESP2 or RESP3."""
    def new(resp: int = 2):
        connection = client_factory()
        if resp == 3:
            assert isinstance(connection.hello(3), dict)
        return connection
    return new


def raw_pushes(connection, count: int) -> list[bytes]:
    """The next `count` pub/sub frames the connection receives, as bytes."""
    if connection.protover == 3:
        return [connection.next_raw_push() for _ in range(count)]
    return [connection.read_raw_reply() for _ in range(count)]


def pushes(connection, count: int) -> list:
    if connection.protover == 3:
        return [connection.next_push() for _ in range(count)]
    return [connection.read_reply() for _ in range(count)]


def receive(connection, length: int) -> bytes:
    """The next `length` bytes the connection receives, pushes and replies in the order they
    came (the client's readers would sort pushes from replies; here their order is the point).
    Reads the client's buffer, then its socket."""
    data = bytes(connection._buf)
    connection._buf.clear()
    while len(data) < length:
        chunk = connection.sock.recv(1 << 16)
        if not chunk:
            break
        data += chunk
    return data


def no_push_pending(connection) -> bool:
    """Nothing was sent to a RESP2 subscriber: its PING answer is the next frame it reads."""
    return connection.call("PING") == [b"pong", b""]


# --- subscribing and its confirmations ----------------------------------------------------------


@pytest.mark.parametrize("resp", [2, 3])
def test_subscribe_sends_one_confirmation_per_channel(quiet, make, resp):
    sub = make(resp)
    sub.send_command("SUBSCRIBE", "news", "sport", "news")
    assert raw_pushes(sub, 3) == [
        frame(b"subscribe", b"news", 1, resp=resp),
        frame(b"subscribe", b"sport", 2, resp=resp),
        frame(b"subscribe", b"news", 2, resp=resp),  # already subscribed: same count
    ]
    assert quiet.call("PUBSUB", "NUMSUB", "news", "sport") == [b"news", 1, b"sport", 1]


@pytest.mark.parametrize("resp", [2, 3])
def test_psubscribe_and_ssubscribe_confirmations(quiet, make, resp):
    sub = make(resp)
    sub.send_command("SUBSCRIBE", "a")
    sub.send_command("PSUBSCRIBE", "n*", "s?", "n*")
    sub.send_command("SSUBSCRIBE", "shard1", "a")
    assert raw_pushes(sub, 6) == [
        frame(b"subscribe", b"a", 1, resp=resp),
        # channels and patterns are counted together ...
        frame(b"psubscribe", b"n*", 2, resp=resp),
        frame(b"psubscribe", b"s?", 3, resp=resp),
        frame(b"psubscribe", b"n*", 3, resp=resp),
        # ... shard channels alone
        frame(b"ssubscribe", b"shard1", 1, resp=resp),
        frame(b"ssubscribe", b"a", 2, resp=resp),
    ]


@pytest.mark.parametrize("command,kind", [("UNSUBSCRIBE", b"unsubscribe"),
                                          ("PUNSUBSCRIBE", b"punsubscribe"),
                                          ("SUNSUBSCRIBE", b"sunsubscribe")])
@pytest.mark.parametrize("resp", [2, 3])
def test_unsubscribe_all_from_nothing_sends_a_null_name(quiet, make, command, kind, resp):
    sub = make(resp)
    sub.send_command(command)
    null = b"$-1\r\n" if resp == 2 else b"_\r\n"
    head = b"*3\r\n" if resp == 2 else b">3\r\n"
    assert raw_pushes(sub, 1) == [head + bulk(kind) + null + b":0\r\n"]
    # Not subscribed afterwards: an ordinary command runs.
    assert sub.call("SET", "k", "v") == "OK"


@pytest.mark.parametrize("resp", [2, 3])
def test_unsubscribe_names_not_subscribed(quiet, make, resp):
    sub = make(resp)
    sub.send_command("SUBSCRIBE", "x")
    sub.send_command("UNSUBSCRIBE", "y", "x", "x")
    sub.send_command("PUNSUBSCRIBE", "x*")
    sub.send_command("SUNSUBSCRIBE", "x")
    assert raw_pushes(sub, 6) == [
        frame(b"subscribe", b"x", 1, resp=resp),
        frame(b"unsubscribe", b"y", 1, resp=resp),
        frame(b"unsubscribe", b"x", 0, resp=resp),
        frame(b"unsubscribe", b"x", 0, resp=resp),
        frame(b"punsubscribe", b"x*", 0, resp=resp),
        frame(b"sunsubscribe", b"x", 0, resp=resp),
    ]


@pytest.mark.parametrize("resp", [2, 3])
def test_unsubscribe_all_leaves_every_channel_and_only_channels(quiet, make, resp):
    sub = make(resp)
    sub.send_command("SUBSCRIBE", "c1", "c2", "c3")
    sub.send_command("PSUBSCRIBE", "p*")
    sub.send_command("SSUBSCRIBE", "s")
    pushes(sub, 5)
    sub.send_command("UNSUBSCRIBE")
    left = pushes(sub, 3)
    # Channels leave in no particular order; the counts go down one by one.
    assert sorted(push[1] for push in left) == [b"c1", b"c2", b"c3"]
    assert [(push[0], push[2]) for push in left] == [(b"unsubscribe", 3), (b"unsubscribe", 2),
                                                     (b"unsubscribe", 1)]
    assert quiet.call("PUBSUB", "CHANNELS") == []
    assert quiet.call("PUBSUB", "NUMPAT") == 1
    assert quiet.call("PUBSUB", "SHARDCHANNELS") == [b"s"]


@pytest.mark.parametrize("resp", [2, 3])
def test_punsubscribe_all_leaves_patterns_in_subscription_order(quiet, make, resp):
    sub = make(resp)
    sub.send_command("PSUBSCRIBE", "b*", "a*", "c*")
    sub.send_command("SUBSCRIBE", "chan")
    pushes(sub, 4)
    sub.send_command("PUNSUBSCRIBE")
    assert raw_pushes(sub, 3) == [
        frame(b"punsubscribe", b"b*", 3, resp=resp),
        frame(b"punsubscribe", b"a*", 2, resp=resp),
        frame(b"punsubscribe", b"c*", 1, resp=resp),
    ]
    assert quiet.call("PUBSUB", "NUMPAT") == 0
    assert quiet.call("PUBSUB", "NUMSUB", "chan") == [b"chan", 1]


@pytest.mark.parametrize("resp", [2, 3])
def test_sunsubscribe_all(quiet, make, resp):
    sub = make(resp)
    sub.send_command("SSUBSCRIBE", "s1", "s2")
    sub.send_command("SUBSCRIBE", "c")
    pushes(sub, 3)
    sub.send_command("SUNSUBSCRIBE")
    left = pushes(sub, 2)
    assert sorted(push[1] for push in left) == [b"s1", b"s2"]
    assert [push[2] for push in left] == [1, 0]  # shard channels only: the channel is not counted
    assert quiet.call("PUBSUB", "SHARDCHANNELS") == []
    assert quiet.call("PUBSUB", "CHANNELS") == [b"c"]


# --- publishing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("resp", [2, 3])
def test_publish_message_bytes(quiet, make, resp):
    sub = make(resp)
    sub.send_command("SUBSCRIBE", "ch")
    pushes(sub, 1)
    assert quiet.call_raw("PUBLISH", "ch", "hello") == b":1\r\n"
    assert raw_pushes(sub, 1) == [frame(b"message", b"ch", b"hello", resp=resp)]
    # Binary safe, empty messages included.
    assert quiet.call("PUBLISH", "ch", b"a\r\nb\x00") == 1
    assert quiet.call("PUBLISH", "ch", "") == 1
    assert raw_pushes(sub, 2) == [frame(b"message", b"ch", b"a\r\nb\x00", resp=resp),
                                  frame(b"message", b"ch", b"", resp=resp)]


def test_publish_to_nobody(quiet):
    assert quiet.call_raw("PUBLISH", "nobody-listens", "x") == b":0\r\n"
    assert quiet.call_raw("SPUBLISH", "nobody-listens", "x") == b":0\r\n"


def test_several_subscribers_receive_every_message_in_order(quiet, make):
    subscribers = [make(2), make(3), make(2)]
    for sub in subscribers:
        sub.send_command("SUBSCRIBE", "ch")
        pushes(sub, 1)
    assert quiet.call("PUBSUB", "NUMSUB", "ch") == [b"ch", 3]
    for n in range(5):
        assert quiet.call("PUBLISH", "ch", f"m{n}") == 3
    for sub in subscribers:
        assert [push[2] for push in pushes(sub, 5)] == [b"m0", b"m1", b"m2", b"m3", b"m4"]


@pytest.mark.parametrize("resp", [2, 3])
def test_pmessage_bytes(quiet, make, resp):
    sub = make(resp)
    sub.send_command("PSUBSCRIBE", "news.*")
    pushes(sub, 1)
    assert quiet.call("PUBLISH", "news.tech", "chips") == 1
    assert quiet.call("PUBLISH", "sport", "goal") == 0
    assert raw_pushes(sub, 1) == [frame(b"pmessage", b"news.*", b"news.tech", b"chips", resp=resp)]


def test_channel_and_matching_patterns_each_count(quiet, make):
    sub = make(2)
    sub.send_command("SUBSCRIBE", "hello")
    sub.send_command("PSUBSCRIBE", "h*", "h?llo", "x*")
    pushes(sub, 4)
    other = make(2)
    other.send_command("PSUBSCRIBE", "h*")
    pushes(other, 1)
    assert quiet.call("PUBLISH", "hello", "m") == 4
    # The channel's message first, then one pmessage per matching pattern (patterns in no
    # particular order).
    received = pushes(sub, 3)
    assert received[0] == [b"message", b"hello", b"m"]
    assert sorted(received[1:]) == [[b"pmessage", b"h*", b"hello", b"m"],
                                    [b"pmessage", b"h?llo", b"hello", b"m"]]
    assert pushes(other, 1) == [[b"pmessage", b"h*", b"hello", b"m"]]
    assert no_push_pending(sub) and no_push_pending(other)


def test_pattern_glob_rules(quiet, make):
    sub = make(2)
    sub.send_command("PSUBSCRIBE", "h[ae]llo", r"star\*", "[^a]x")
    pushes(sub, 3)
    replies = {channel: quiet.call("PUBLISH", channel, "m")
               for channel in ("hallo", "hello", "hillo", "star*", "starx", "bx", "ax")}
    assert replies == {"hallo": 1, "hello": 1, "hillo": 0, "star*": 1, "starx": 0, "bx": 1, "ax": 0}


def test_a_pattern_subscription_is_not_a_channel_subscription(quiet, make):
    sub = make(2)
    sub.send_command("SUBSCRIBE", "x")
    sub.send_command("PSUBSCRIBE", "x")
    assert raw_pushes(sub, 2) == [frame(b"subscribe", b"x", 1), frame(b"psubscribe", b"x", 2)]
    assert quiet.call("PUBLISH", "x", "m") == 2
    assert pushes(sub, 2) == [[b"message", b"x", b"m"], [b"pmessage", b"x", b"x", b"m"]]
    assert quiet.call("PUBSUB", "NUMSUB", "x") == [b"x", 1]
    assert quiet.call("PUBSUB", "NUMPAT") == 1


@pytest.mark.parametrize("resp", [2, 3])
def test_spublish_reaches_shard_subscribers_only(quiet, make, resp):
    shard = make(resp)
    shard.send_command("SSUBSCRIBE", "orders")
    pushes(shard, 1)
    plain = make(2)
    plain.send_command("SUBSCRIBE", "orders")
    plain.send_command("PSUBSCRIBE", "*")
    pushes(plain, 2)
    assert quiet.call_raw("SPUBLISH", "orders", "o1") == b":1\r\n"
    assert raw_pushes(shard, 1) == [frame(b"smessage", b"orders", b"o1", resp=resp)]
    assert no_push_pending(plain)  # patterns and channels never see shard messages
    # ... and PUBLISH never reaches a shard subscriber.
    assert quiet.call("PUBLISH", "orders", "o2") == 2
    assert pushes(plain, 2) == [[b"message", b"orders", b"o2"], [b"pmessage", b"*", b"orders", b"o2"]]
    if resp == 2:
        assert no_push_pending(shard)
    else:
        assert shard.call("PING") == "PONG"
        with pytest.raises(TimeoutError):
            shard.next_push(timeout=0.2)


def test_resp3_publisher_receives_its_own_messages_before_its_reply(quiet, make):
    sub = make(3)
    sub.send_command("SUBSCRIBE", "me")
    pushes(sub, 1)
    sub.send_command("PUBLISH", "me", "hi")
    expected = frame(b"message", b"me", b"hi", resp=3) + b":1\r\n"
    assert receive(sub, len(expected)) == expected


# --- the subscribed context -------------------------------------------------------------------


@pytest.mark.parametrize("subscribe", [("SUBSCRIBE", "c"), ("PSUBSCRIBE", "p*"),
                                       ("SSUBSCRIBE", "s")])
def test_resp2_subscribed_context_allows_only_pubsub_ping_quit_reset(quiet, make, subscribe):
    sub = make(2)
    sub.send_command(*subscribe)
    pushes(sub, 1)
    assert sub.call_raw("GET", "k") == (
        b"-" + CONTEXT_ERROR.format("get").encode() + b"\r\n")
    assert sub.call("MULTI") == ErrorReply(CONTEXT_ERROR.format("multi"))
    assert sub.call("CLIENT", "ID") == ErrorReply(CONTEXT_ERROR.format("client|id"))
    assert sub.call_raw("PING") == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    assert sub.call_raw("PING", "hey") == b"*2\r\n$4\r\npong\r\n$3\r\nhey\r\n"
    # Leaving the last subscription leaves the context.
    unsubscribe = {"SUBSCRIBE": "UNSUBSCRIBE", "PSUBSCRIBE": "PUNSUBSCRIBE",
                   "SSUBSCRIBE": "SUNSUBSCRIBE"}[subscribe[0]]
    sub.send_command(unsubscribe)
    assert pushes(sub, 1)[0][2] == 0
    assert sub.call_raw("PING") == b"+PONG\r\n"
    assert sub.call("GET", "k") is None


def test_resp2_context_lasts_while_any_kind_of_subscription_remains(quiet, make):
    sub = make(2)
    sub.send_command("SUBSCRIBE", "c")
    sub.send_command("SSUBSCRIBE", "s")
    pushes(sub, 2)
    sub.send_command("UNSUBSCRIBE")
    assert pushes(sub, 1) == [[b"unsubscribe", b"c", 0]]
    assert sub.call("GET", "k") == ErrorReply(CONTEXT_ERROR.format("get"))
    sub.send_command("SUNSUBSCRIBE")
    assert pushes(sub, 1) == [[b"sunsubscribe", b"s", 0]]
    assert sub.call("GET", "k") is None


def test_resp3_subscriber_may_run_any_command(quiet, make):
    sub = make(3)
    sub.send_command("SUBSCRIBE", "c")
    assert pushes(sub, 1) == [Push([b"subscribe", b"c", 1])]
    assert sub.call_raw("PING") == b"+PONG\r\n"
    assert sub.call("SET", "k", "v") == "OK"
    assert sub.call_raw("GET", "k") == b"$1\r\nv\r\n"
    assert quiet.call("PUBLISH", "c", "m") == 1
    assert sub.call("GET", "k") == b"v"
    assert pushes(sub, 1) == [Push([b"message", b"c", b"m"])]


def list_fields(lines: bytes) -> list[dict[str, str]]:
    """CLIENT LIST's lines -> their fields."""
    return [dict(item.split("=", 1) for item in line.split(" "))
            for line in lines.decode().splitlines()]


def test_client_list_shows_subscriptions(quiet, make):
    sub = make(2)
    sub_id = sub.call("CLIENT", "ID")
    sub.send_command("SUBSCRIBE", "a", "b")
    sub.send_command("PSUBSCRIBE", "p*")
    sub.send_command("SSUBSCRIBE", "s1", "s2", "s3")
    pushes(sub, 6)
    [fields] = list_fields(quiet.call("CLIENT", "LIST", "ID", sub_id))
    assert (fields["flags"], fields["sub"], fields["psub"], fields["ssub"]) == ("P", "2", "1", "3")
    pubsub_ids = [int(fields["id"]) for fields in
                  list_fields(quiet.call("CLIENT", "LIST", "TYPE", "pubsub"))]
    assert pubsub_ids == [sub_id]
    sub.send_command("RESET")
    assert sub.read_reply() == "RESET"
    [fields] = list_fields(quiet.call("CLIENT", "LIST", "ID", sub_id))
    assert (fields["flags"], fields["sub"], fields["psub"], fields["ssub"]) == ("N", "0", "0", "0")


# --- transactions -------------------------------------------------------------------------------


@pytest.mark.parametrize("resp", [2, 3])
def test_subscribe_inside_exec(quiet, make, resp):
    sub = make(resp)
    assert sub.call("MULTI") == "OK"
    for command in (("SUBSCRIBE", "m1", "m2"), ("PSUBSCRIBE", "p*"), ("SSUBSCRIBE", "q"),
                    ("PING",)):
        assert sub.call(*command) == "QUEUED"
    sub.send_command("EXEC")
    pong = b"*2\r\n$4\r\npong\r\n$0\r\n\r\n" if resp == 2 else b"+PONG\r\n"
    expected = (b"*4\r\n"  # one element per command; SUBSCRIBE's two frames stand for one
                + frame(b"subscribe", b"m1", 1, resp=resp)
                + frame(b"subscribe", b"m2", 2, resp=resp)
                + frame(b"psubscribe", b"p*", 3, resp=resp)
                + b"-" + SSUBSCRIBE_IN_EXEC.encode() + b"\r\n"
                + pong)
    assert receive(sub, len(expected)) == expected
    assert quiet.call("PUBSUB", "NUMSUB", "m1", "m2") == [b"m1", 1, b"m2", 1]
    assert quiet.call("PUBSUB", "SHARDNUMSUB", "q") == [b"q", 0]


def test_unsubscribe_inside_exec(quiet, make):
    sub = make(2)
    assert sub.call("MULTI") == "OK"
    assert sub.call("SUBSCRIBE", "x") == "QUEUED"
    assert sub.call("UNSUBSCRIBE", "x") == "QUEUED"
    assert sub.call("GET", "k") == "QUEUED"
    assert sub.call_raw("EXEC") == (b"*3\r\n" + frame(b"subscribe", b"x", 1)
                                    + frame(b"unsubscribe", b"x", 0) + b"$-1\r\n")
    assert sub.call("GET", "k") is None


# --- PUBSUB introspection -----------------------------------------------------------------------


def test_pubsub_channels_numsub_numpat(quiet, make):
    assert quiet.call_raw("PUBSUB", "CHANNELS") == b"*0\r\n"
    assert quiet.call_raw("PUBSUB", "NUMPAT") == b":0\r\n"
    assert quiet.call_raw("PUBSUB", "NUMSUB") == b"*0\r\n"
    one, two = make(2), make(3)
    one.send_command("SUBSCRIBE", "news.tech", "news.art", "weather")
    one.send_command("PSUBSCRIBE", "news.*", "w*")
    two.send_command("SUBSCRIBE", "news.tech")
    two.send_command("PSUBSCRIBE", "news.*")
    pushes(one, 5)
    pushes(two, 2)
    assert sorted(quiet.call("PUBSUB", "CHANNELS")) == [b"news.art", b"news.tech", b"weather"]
    assert sorted(quiet.call("PUBSUB", "channels", "news.*")) == [b"news.art", b"news.tech"]
    assert quiet.call("PUBSUB", "CHANNELS", "nomatch*") == []
    assert quiet.call_raw("PUBSUB", "NUMSUB", "news.tech", "weather", "none", "news.tech") == (
        b"*8\r\n" + bulk(b"news.tech") + b":2\r\n" + bulk(b"weather") + b":1\r\n"
        + bulk(b"none") + b":0\r\n" + bulk(b"news.tech") + b":2\r\n")
    assert quiet.call("PUBSUB", "NUMPAT") == 2  # distinct patterns
    # Patterns are not channels.
    assert quiet.call("PUBSUB", "NUMSUB", "news.*") == [b"news.*", 0]


def test_pubsub_replies_in_resp3(quiet, make):
    one = make(2)
    one.send_command("SUBSCRIBE", "c")
    one.send_command("SSUBSCRIBE", "s")
    pushes(one, 2)
    viewer = make(3)
    assert viewer.call_raw("PUBSUB", "CHANNELS") == b"*1\r\n" + bulk(b"c")
    # A flat array, not a map.
    assert viewer.call_raw("PUBSUB", "NUMSUB", "c") == b"*2\r\n" + bulk(b"c") + b":1\r\n"
    assert viewer.call_raw("PUBSUB", "SHARDNUMSUB", "s") == b"*2\r\n" + bulk(b"s") + b":1\r\n"
    assert viewer.call_raw("PUBSUB", "NUMPAT") == b":0\r\n"


def test_pubsub_shardchannels_and_shardnumsub(quiet, make):
    assert quiet.call_raw("PUBSUB", "SHARDCHANNELS") == b"*0\r\n"
    assert quiet.call_raw("PUBSUB", "SHARDNUMSUB") == b"*0\r\n"
    one, two = make(2), make(2)
    one.send_command("SSUBSCRIBE", "orders.1", "orders.2", "users")
    two.send_command("SSUBSCRIBE", "orders.1")
    two.send_command("SUBSCRIBE", "plain")
    pushes(one, 3)
    pushes(two, 2)
    assert sorted(quiet.call("PUBSUB", "SHARDCHANNELS")) == [b"orders.1", b"orders.2", b"users"]
    assert sorted(quiet.call("PUBSUB", "SHARDCHANNELS", "orders.*")) == [b"orders.1", b"orders.2"]
    assert quiet.call("PUBSUB", "SHARDNUMSUB", "orders.1", "users", "plain") == [
        b"orders.1", 2, b"users", 1, b"plain", 0]
    # The two registries are separate.
    assert quiet.call("PUBSUB", "CHANNELS") == [b"plain"]
    assert quiet.call("PUBSUB", "NUMSUB", "orders.1") == [b"orders.1", 0]


def test_pubsub_channels_forgets_channels_nobody_listens_to(quiet, make):
    sub = make(2)
    sub.send_command("SUBSCRIBE", "a", "b")
    pushes(sub, 2)
    sub.send_command("UNSUBSCRIBE", "a")
    pushes(sub, 1)
    assert quiet.call("PUBSUB", "CHANNELS") == [b"b"]


def test_pubsub_errors(quiet):
    assert quiet.call("PUBSUB", "CHANNELS", "a", "b") == ErrorReply(
        "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.")
    assert quiet.call("PUBSUB", "SHARDCHANNELS", "a", "b") == ErrorReply(
        "ERR unknown subcommand or wrong number of arguments for 'SHARDCHANNELS'. "
        "Try PUBSUB HELP.")
    assert quiet.call("PUBSUB", "channels", "a", "b") == ErrorReply(  # quoted as typed
        "ERR unknown subcommand or wrong number of arguments for 'channels'. Try PUBSUB HELP.")
    assert quiet.call("PUBSUB", "NUMPAT", "x") == ErrorReply(
        "ERR wrong number of arguments for 'pubsub|numpat' command")
    assert quiet.call("PUBSUB", "nosuch") == ErrorReply(
        "ERR unknown subcommand 'nosuch'. Try PUBSUB HELP.")
    assert quiet.call("PUBSUB") == ErrorReply("ERR wrong number of arguments for 'pubsub' command")
    assert quiet.call("SUBSCRIBE") == ErrorReply(
        "ERR wrong number of arguments for 'subscribe' command")
    assert quiet.call("PUBLISH", "c") == ErrorReply(
        "ERR wrong number of arguments for 'publish' command")
    assert quiet.call("PING") == "PONG"  # the connection survives, unsubscribed


@pytest.mark.parametrize("resp", [2, 3])
def test_reset_forgets_every_subscription_silently(quiet, make, resp):
    sub = make(resp)
    sub.send_command("SUBSCRIBE", "c1", "c2")
    sub.send_command("PSUBSCRIBE", "p*")
    sub.send_command("SSUBSCRIBE", "s")
    pushes(sub, 4)
    assert sub.call_raw("RESET") == b"+RESET\r\n"  # no unsubscribe pushes
    assert quiet.call("PUBSUB", "NUMSUB", "c1", "c2") == [b"c1", 0, b"c2", 0]
    assert quiet.call("PUBSUB", "NUMPAT") == 0
    assert quiet.call("PUBSUB", "SHARDNUMSUB", "s") == [b"s", 0]
    assert quiet.call("PUBSUB", "CHANNELS") == []
    assert quiet.call("PUBLISH", "c1", "m") == 0
    # RESET also returned the connection to RESP2, outside the subscribed context.
    assert sub.call_raw("GET", "k") == b"$-1\r\n"
    assert sub.call_raw("UNSUBSCRIBE") == frame(b"unsubscribe", None, 0)


def test_disconnect_forgets_every_subscription(quiet, make):
    sub = make(2)
    sub.send_command("SUBSCRIBE", "gone")
    sub.send_command("PSUBSCRIBE", "gone*")
    sub.send_command("SSUBSCRIBE", "gone")
    pushes(sub, 3)
    stays = make(2)
    stays.send_command("SUBSCRIBE", "gone")
    pushes(stays, 1)
    assert quiet.call("PUBSUB", "NUMSUB", "gone") == [b"gone", 2]
    sub.close()
    assert wait_until(lambda: quiet.call("PUBSUB", "NUMSUB", "gone") == [b"gone", 1])
    assert wait_until(lambda: quiet.call("PUBSUB", "NUMPAT") == 0)
    assert wait_until(lambda: quiet.call("PUBSUB", "SHARDNUMSUB", "gone") == [b"gone", 0])
    assert quiet.call("PUBLISH", "gone", "m") == 1
    assert pushes(stays, 1) == [[b"message", b"gone", b"m"]]


@pytest.mark.parametrize("resp", [2, 3])
def test_publishing_to_itself_inside_exec(quiet, make, resp):
    sub = make(resp)
    assert sub.call("MULTI") == "OK"
    assert sub.call("SUBSCRIBE", "self") == "QUEUED"
    assert sub.call("PUBLISH", "self", "m") == "QUEUED"
    sub.send_command("EXEC")
    # Its own message stands in EXEC's array, before PUBLISH's count.
    expected = (b"*2\r\n" + frame(b"subscribe", b"self", 1, resp=resp)
                + frame(b"message", b"self", b"m", resp=resp) + b":1\r\n")
    assert receive(sub, len(expected)) == expected
