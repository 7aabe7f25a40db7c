"""sanitize-dump-payload in the reference: when the deep check applies, how scores are read, and
that whatever a load accepts, with the deep check or without, is a sound value: one that DUMPs
and loads back, deeply checked, equal (so every command of its family can work on it)."""
import math
import random
from types import SimpleNamespace

import pytest

import reference.commands.hashes  # noqa: F401  (the value types register with the keyspace,
import reference.commands.lists  # noqa: F401  which DUMP asks for a value's type)
import reference.commands.sets  # noqa: F401
import reference.commands.sorted_sets  # noqa: F401
import reference.commands.strings  # noqa: F401
from conformance import payload_fuzz as fuzz
from reference.persistence.rdb import dump_payload
from reference.persistence.rdb_load import RDBLoadError, load_payload, payload_ok
from reference.persistence.sanitize import deep_validation, listpack_score, strtod_prefix


def client(loading=False, is_master=False):
    server = SimpleNamespace(keyspace=SimpleNamespace(loading=loading), replication=SimpleNamespace(master_client=None))
    me = SimpleNamespace(server=server)
    if is_master:
        server.replication.master_client = me
    return me


@pytest.mark.parametrize("mode, who, deep", [
    ("yes", None, True), ("yes", client(), True), ("yes", client(loading=True), True),
    ("no", None, False), ("no", client(), False),
    ("clients", client(), True), ("clients", None, False), ("clients", client(loading=True), False),
    ("clients", client(is_master=True), False),
])
def test_when_the_deep_check_applies(mode, who, deep):
    assert deep_validation({"sanitize-dump-payload": mode}, who) is deep


@pytest.mark.parametrize("text, number", [
    (b"1.5", 1.5), (b"1.", 1.0), (b" -2e3x", -2000.0), (b"0x1p4", 16.0), (b"0x", 0.0), (b"-inf", -math.inf),
    (b"1e999", math.inf), (b".5", 0.5), (b"1_0", 1.0), (b"2\x003", 2.0), (b"INFINITY", math.inf),
])
def test_a_score_is_the_number_strtod_reads_first(text, number):
    assert strtod_prefix(text) == number == listpack_score(text)


def test_what_strtod_cannot_read():
    assert strtod_prefix(b"abc") is None and listpack_score(b"abc") == 0.0
    assert strtod_prefix(b"e5") is None
    assert math.isnan(strtod_prefix(b"nan"))
    assert listpack_score(b"1" + b"0" * 200) == 1e126  # only 127 bytes are looked at


CASES = 3000


def test_every_accepted_mutation_is_a_sound_value():
    loaded = 0
    for case in range(CASES):
        rng = random.Random(f"unit:{case}")
        payload = fuzz.payload_of(rng, rng.choice(fuzz.SEEDS))
        if not payload_ok(payload):
            continue
        for deep in (False, True):
            try:
                value = load_payload(payload, None, deep)
            except RDBLoadError:
                continue
            loaded += 1
            assert isinstance(value, bytes) or len(value) > 0  # no empty collection
            assert load_payload(dump_payload(value), None, True) == value, payload.hex()
    assert loaded > 500
