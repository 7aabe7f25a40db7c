"""redis-py, used as an everyday application uses it, against the target: a work queue with
BLPOP, a leaderboard, optimistic locking with WATCH, a pub/sub listener, pipelines — in RESP2
and RESP3. (redis-py's own parsing of every reply is part of what is judged.)"""
from __future__ import annotations

import threading
import time

import pytest
import redis


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request, target, client, reply_timeout):  # `client` flushes the target first
    connection = redis.Redis(host=target.host, port=target.port, protocol=request.param,
                             decode_responses=True, socket_timeout=reply_timeout)
    yield connection
    connection.close()


def test_strings_and_expiry(r):
    assert r.set("greeting", "hello", ex=100) is True
    assert r.get("greeting") == "hello"
    assert 0 < r.ttl("greeting") <= 100
    assert r.incrby("counter", 5) == 5
    assert r.incrbyfloat("counter", 0.5) == 5.5
    assert r.mget("greeting", "missing") == ["hello", None]
    assert r.getex("greeting", persist=True) == "hello" and r.ttl("greeting") == -1


def test_work_queue_with_blpop(r, target, reply_timeout):
    # The jobs come at once, so the worker never blocks for long: reply_timeout bounds its reads.
    worker = redis.Redis(host=target.host, port=target.port, decode_responses=True,
                         socket_timeout=reply_timeout)
    done = []

    def consume():
        while True:
            item = worker.blpop(["jobs"], timeout=60)
            if item is None or item[1] == "stop":
                return
            done.append(item[1])

    thread = threading.Thread(target=consume)
    thread.start()
    time.sleep(0.1)  # the worker is (most likely) waiting already; either way it gets them all
    for n in range(20):
        r.rpush("jobs", f"job-{n}")
    r.rpush("jobs", "stop")
    thread.join(60)
    assert not thread.is_alive(), "the worker still waits"
    worker.close()
    assert done == [f"job-{n}" for n in range(20)]
    assert r.blpop(["jobs"], timeout=0.1) is None


def test_leaderboard(r):
    r.zadd("board", {"alice": 10, "bob": 30, "carol": 20})
    r.zincrby("board", 15, "alice")
    pairs = r.zrevrange("board", 0, -1, withscores=True)  # redis-py gives tuples (RESP2) or lists
    assert [tuple(pair) for pair in pairs] == [("bob", 30.0), ("alice", 25.0), ("carol", 20.0)]
    assert r.zrevrank("board", "alice") == 1
    assert r.zscore("board", "carol") == 20.0
    assert r.zrangebyscore("board", 21, "+inf") == ["alice", "bob"]
    popped = r.zpopmax("board")  # redis-py shapes this differently in RESP2 and RESP3
    assert "bob" in str(popped) and r.zscore("board", "bob") is None and r.zcard("board") == 2


def test_hash_profile(r):
    r.hset("user:1", mapping={"name": "Ada", "visits": 1})
    r.hincrby("user:1", "visits", 2)
    assert r.hgetall("user:1") == {"name": "Ada", "visits": "3"}
    assert r.hmget("user:1", "name", "nope") == ["Ada", None]


def test_sets_for_tags(r):
    r.sadd("tags:a", "x", "y", "z")
    r.sadd("tags:b", "y", "z", "w")
    assert r.sinter("tags:a", "tags:b") == {"y", "z"}
    assert r.sunion("tags:a", "tags:b") == {"w", "x", "y", "z"}
    assert r.smismember("tags:a", ["x", "w"]) == [1, 0]


def test_optimistic_locking_with_watch_under_contention(r, target, reply_timeout):
    r.set("balance", 0)
    threads = []

    def add_one_hundred_times():
        conn = redis.Redis(host=target.host, port=target.port, decode_responses=True,
                           socket_timeout=reply_timeout)
        for _ in range(100):
            while True:
                with conn.pipeline() as pipe:
                    try:
                        pipe.watch("balance")
                        value = int(pipe.get("balance"))
                        pipe.multi()
                        pipe.set("balance", value + 1)
                        pipe.execute()
                        break
                    except redis.WatchError:
                        continue
        conn.close()

    for _ in range(3):
        thread = threading.Thread(target=add_one_hundred_times)
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join(60)
    assert r.get("balance") == "300"  # no increment lost, whatever the interleaving


def test_transaction_pipeline(r):
    with r.pipeline(transaction=True) as pipe:
        pipe.set("a", 1).incr("a").lpush("l", "x").get("a")
        assert pipe.execute() == [True, 2, 1, "2"]


def test_pubsub_listener(r, target, reply_timeout):
    listener = redis.Redis(host=target.host, port=target.port, decode_responses=True,
                           socket_timeout=reply_timeout).pubsub()
    listener.subscribe("news")
    listener.psubscribe("sport.*")
    assert listener.get_message(timeout=30)["type"] == "subscribe"
    assert listener.get_message(timeout=30)["type"] == "psubscribe"
    assert r.publish("news", "hello") == 1
    assert r.publish("sport.tennis", "match") == 1
    first = listener.get_message(timeout=30)
    second = listener.get_message(timeout=30)
    assert (first["type"], first["channel"], first["data"]) == ("message", "news", "hello")
    assert (second["type"], second["pattern"], second["channel"], second["data"]) == \
        ("pmessage", "sport.*", "sport.tennis", "match")
    assert r.pubsub_numsub("news") == [("news", 1)]
    listener.close()


def test_scan_iter_and_types(r):
    for n in range(50):
        r.set(f"s:{n}", n)
    r.rpush("l", 1)
    assert set(r.scan_iter(match="s:*", count=7)) == {f"s:{n}" for n in range(50)}
    assert list(r.scan_iter(_type="list")) == ["l"]
    assert r.type("l") == "list"
