"""Unit tests of reference/hll.py: the dense packing and the sparse edits against a plain list of
registers, the estimator's bounds, and the hash against real redis-server (which register each
element raises, read back with PFDEBUG DECODE)."""
import random
import re
import shutil
import socket

import pytest
from hypothesis import given, settings, strategies as st

from reference import hll
from tests.real_redis import start_redis


def registers_of(value) -> list[int]:
    """The model: every register's value, read from the runs or the 6-bit packing written out."""
    if value[4] == hll.DENSE:
        packed = int.from_bytes(value[hll.HEADER:], "little")
        return [packed >> (6 * i) & 63 for i in range(hll.REGISTERS)]
    registers = []
    for run, register in hll.sparse_runs(value):
        registers += [register] * run
    return registers


def test_a_new_hll_is_one_xzero():
    value = hll.new()
    assert bytes(value) == b"HYLL\x01" + bytes(11) + b"\x7f\xff"
    assert hll.is_hll(value) and hll.cached(value) == 0
    assert registers_of(value) == [0] * hll.REGISTERS
    assert hll.decode(value) == "Z:16384"
    assert hll.count(value) == 0


@settings(deadline=None)
@given(st.dictionaries(st.integers(0, hll.REGISTERS - 1), st.integers(1, 63), max_size=50))
def test_dense_registers_pack_six_bits_from_the_low_end(registers):
    value = hll.new()
    hll.to_dense(value)
    assert len(value) == hll.DENSE_SIZE
    for index, register in registers.items():
        assert hll.dense_set(value, index, register)
    expected = [registers.get(i, 0) for i in range(hll.REGISTERS)]
    assert registers_of(value) == expected == hll.dense_registers(value)
    assert all(hll.dense_get(value, i) == expected[i] for i in registers)
    assert not any(hll.dense_set(value, i, r) for i, r in registers.items())   # not higher: no change


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, hll.REGISTERS - 1), st.integers(1, 40)), max_size=80),
       st.sampled_from([3000, 100, 30]))
def test_sparse_edits_keep_the_registers_a_list_would(sets, limit):
    value, model = hll.new(), [0] * hll.REGISTERS
    for index, register in sets:
        changed = hll.set_register(value, index, register, limit)
        assert changed == (register > model[index])
        model[index] = max(model[index], register)
        assert registers_of(value) == model
        if value[4] == hll.SPARSE:
            assert len(value) <= max(limit, len(hll.new()))
            assert max(model) <= 32
            assert hll.decode(value).count(" ") + 1 == sum(1 for _ in hll.sparse_runs(value))
        else:
            assert len(value) == hll.DENSE_SIZE
    if max(model, default=0) and value[4] == hll.SPARSE:
        assert hll.cached(value) is None        # a sparse edit marks the cache stale (PFADD
                                                # marks a dense one itself)


def test_neighbouring_vals_of_one_value_join():
    value = hll.new()
    for index in (10, 11, 12, 13, 14):
        hll.set_register(value, index, 3, 3000)
    assert hll.decode(value) == "z:10 v:3,4 v:3,1 Z:16369"   # four at most in one VAL
    hll.set_register(value, 20, 3, 3000)
    assert hll.decode(value) == "z:10 v:3,4 v:3,1 z:5 v:3,1 Z:16363"


def test_a_register_above_32_makes_it_dense_keeping_the_header():
    value = hll.new()
    hll.store_cache(value, 77)
    hll.set_register(value, 5, 33, 3000)
    assert value[4] == hll.DENSE and hll.cached(value) == 77
    assert registers_of(value)[5] == 33


@pytest.mark.parametrize("body", [b"", hll._xzero(100), hll._xzero(16384) + hll._zero(1),
                                  hll._xzero(16383) + bytes([hll._val(2, 2)])])
def test_runs_that_do_not_cover_16384_registers_are_corrupt(body):
    value = bytearray(hll.new()[:hll.HEADER]) + body
    with pytest.raises(hll.Corrupt):
        hll.count(value)
    with pytest.raises(hll.Corrupt):
        hll.to_dense(value)
    with pytest.raises(hll.Corrupt):
        hll.merge_into([0] * hll.REGISTERS, value)


@pytest.mark.parametrize("n", [1, 10, 100, 1000, 20000])
def test_the_estimate_is_within_six_standard_errors(n):
    value = hll.new()
    for i in range(n):
        hll.add(value, b"element:%d" % i, 3000)
    allowed = 1 if n <= 10 else n * 6 * 1.04 / 128
    assert abs(hll.count(value) - n) <= allowed


def test_the_estimate_of_an_overflowing_histogram_is_2_to_the_63():
    counts = [0] * 64
    counts[51] = hll.REGISTERS
    assert hll.estimate(counts) == 1 << 63


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_elements_raise_the_registers_redis_raises(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = start_redis(tmp_path, port)
    try:
        rnd = random.Random(12)
        elements = [b"", b"a", b"foo", b"x" * 100] + [rnd.randbytes(rnd.randint(1, 20)) for _ in range(200)]
        pipe = client.pipeline()
        for i, element in enumerate(elements):
            pipe.pfadd(f"h{i}", element)
            pipe.execute_command("PFDEBUG", "DECODE", f"h{i}")
        decoded = pipe.execute()[1::2]
        for element, text in zip(elements, decoded):
            zeros, register = re.fullmatch(rb"(?:[Zz]:(\d+) )?v:(\d+),1(?: [Zz]:\d+)?", text).groups()
            assert hll.register_of(element) == (int(zeros or 0), int(register)), element
    finally:
        client.shutdown(nosave=True)
