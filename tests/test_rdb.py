"""RDB files the reference writes: encodings, checksum, and redis-check-rdb's verdict."""
import subprocess

import pytest

from reference.keyspace import Keyspace
from reference.persistence.crc64 import crc64
from reference.persistence.rdb import dump_rdb, encode_length, encode_string, save_rdb
from reference.persistence import intset, listpack
from reference.persistence.rdb_load import RDBLoadError, parse_rdb
from reference.persistence.rdb_scan import Aux, SelectDB
from reference.tools import KeyEntry, RDBScanner


def test_crc64_check_value():
    assert crc64(b"123456789") == 0xE9C6D914C4B8D9CA
    assert crc64(b"6789", crc64(b"12345")) == crc64(b"123456789")


def _crc64_by_definition(data: bytes) -> int:
    """Bit by bit: reflected input and output, polynomial 0xad93d23594c935a9, init 0, no xor."""
    poly_reflected = int(f"{0xAD93D23594C935A9:064b}"[::-1], 2)
    crc = 0
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ poly_reflected if crc & 1 else crc >> 1
    return crc


@pytest.mark.parametrize("data", [b"", b"\x00", b"\xff" * 3, bytes(range(256)), b"REDIS0010" * 50])
def test_crc64_is_the_jones_polynomial_bit_by_bit(data):
    assert crc64(data) == _crc64_by_definition(data)
    assert crc64(memoryview(data)[1:], crc64(data[:1])) == _crc64_by_definition(data)


@pytest.mark.parametrize("n, encoded", [
    (0, b"\x00"), (63, b"\x3f"), (64, b"\x40\x40"), (16383, b"\x7f\xff"),
    (16384, b"\x80\x00\x00\x40\x00"), (1 << 32, b"\x81\x00\x00\x00\x01\x00\x00\x00\x00"),
])
def test_length_encoding(n, encoded):
    assert encode_length(n) == encoded


@pytest.mark.parametrize("value, encoded", [
    (b"7", b"\xc0\x07"), (b"-128", b"\xc0\x80"), (b"300", b"\xc1\x2c\x01"),
    (b"100000", b"\xc2\xa0\x86\x01\x00"), (b"012", b"\x03012"), (b"99999999999", b"\x0b99999999999"),
    (b"abc", b"\x03abc"),
])
def test_string_encoding(value, encoded):
    assert encode_string(value) == encoded


def test_file_layout_and_checksum():
    keyspace = Keyspace(16)
    keyspace[0].set(b"k", b"v")
    data = dump_rdb(keyspace)
    assert data.startswith(b"REDIS0010")
    assert b"\xfe\x00\xfb\x01\x00\x00\x01k\x01v\xff" in data
    assert int.from_bytes(data[-8:], "little") == crc64(data[:-8])
    assert dump_rdb(keyspace, checksum=False)[-8:] == bytes(8)


def test_redis_check_rdb_accepts_the_file(tmp_path):
    keyspace = Keyspace(16)
    for i in range(500):
        keyspace[i % 3].set(b"key:%d" % i, b"%d" % (i * 1000 - 7) if i % 2 else b"v" * i)
    keyspace[1].set_expire(b"key:1", 4_000_000_000_000)
    save_rdb(keyspace, str(tmp_path), "dump.rdb")
    result = subprocess.run(["redis-check-rdb", str(tmp_path / "dump.rdb")], capture_output=True, text=True)
    assert "RDB looks OK" in result.stdout, result.stdout
    assert "500 keys read" in result.stdout and "1 expires" in result.stdout


# --- reading: parse_rdb's rules on top of the scanner ---------------------------------------------



def _file(body: bytes, checksum: bool = True) -> bytes:
    data = b"REDIS0010" + body + b"\xff"
    return data + (crc64(data) if checksum else 0).to_bytes(8, "little")


def _string_key(key: bytes, value: bytes, expire_ms: int | None = None) -> bytes:
    prefix = b"\xfc" + expire_ms.to_bytes(8, "little") if expire_ms is not None else b""
    return prefix + b"\x00" + encode_string(key) + encode_string(value)


def _config(**changes):
    from reference.persistence.rdb_load import DEFAULTS
    return {**DEFAULTS, **changes}


def test_the_scanner_yields_the_items_in_file_order():
    data = _file(b"\xfa" + encode_string(b"redis-ver") + encode_string(b"7.0.15") + b"\xfe\x03\xfb\x02\x01"
                 + _string_key(b"a", b"1", expire_ms=5) + _string_key(b"b", b"2"))
    scanner = RDBScanner(data, now_ms=10)
    items = list(scanner)
    assert [type(item) for item in items] == [Aux, SelectDB, KeyEntry, KeyEntry]
    assert (items[1].db, items[2].key, items[2].expire_at_ms, items[3].expire_at_ms) == (3, b"a", 5, None)
    assert (scanner.keys_read, scanner.expires, scanner.already_expired, scanner.checksum) == (2, 1, 1, "ok")


def test_parse_rdb_drops_expired_and_empty_keys_and_counts_them():
    empty_list = b"\x12" + encode_string(b"empty") + b"\x00"       # a quicklist of no nodes
    data = _file(b"\xfe\x00" + _string_key(b"gone", b"v", expire_ms=5) + empty_list
                 + _string_key(b"kept", b"v", expire_ms=50))
    loaded = parse_rdb(data, now_ms=10)
    assert loaded.data[0] == {b"kept": b"v"} and loaded.expires[0] == {b"kept": 50}
    assert (loaded.keys_loaded, loaded.keys_expired, loaded.empty_skipped) == (1, 1, 1)


def test_parse_rdb_refuses_a_duplicated_key_and_too_high_a_database():
    with pytest.raises(RDBLoadError) as error:
        parse_rdb(_file(b"\xfe\x00" + _string_key(b"k", b"1") + _string_key(b"k", b"2")))
    assert error.value.log_lines[0] == ("warning", "RDB has duplicated key 'k' in DB 0")
    with pytest.raises(RDBLoadError) as error:
        parse_rdb(_file(b"\xfe\x10" + _string_key(b"k", b"1")), _config(databases=16))
    assert "more than 16 databases" in error.value.log_lines[0][1]


def test_the_checksum_is_verified_unless_rdbchecksum_is_off_but_always_in_check_mode():
    data = bytearray(_file(b"\xfe\x00" + _string_key(b"k", b"v")))
    data[-1] ^= 1
    with pytest.raises(RDBLoadError) as error:
        parse_rdb(bytes(data))
    assert error.value.log_lines[0][1].startswith("Wrong RDB checksum expected: (")
    assert parse_rdb(bytes(data), _config(rdbchecksum=False)).data[0] == {b"k": b"v"}
    from reference.tools import RDBFileError
    with pytest.raises(RDBFileError, match="RDB CRC error"):
        list(RDBScanner(bytes(data), config=_config(rdbchecksum=False)))
    assert parse_rdb(_file(b"\xfe\x00" + _string_key(b"k", b"v"), checksum=False)).keys_loaded == 1


def test_the_server_refuses_module_data_as_redis_without_the_module_does():
    module_id = encode_length(12345 << 10 | 1)
    with pytest.raises(RDBLoadError) as error:
        parse_rdb(_file(b"\xfe\x00\x07" + encode_string(b"m") + module_id + b"\x00"))
    assert "no matching module type 'AAAAAADA5'" in error.value.log_lines[-1][1]
    with pytest.raises(RDBLoadError) as error:
        parse_rdb(_file(b"\xf7" + module_id + b"\x02\x02\x00"))
    assert error.value.log_lines == [
        ("warning", "The RDB file contains AUX module data I can't load: no matching module 'AAAAAADA5'")]


def test_the_cyclic_collector_is_off_while_loading_and_on_again_after():
    import gc

    from reference.persistence.rdb import cyclic_gc_paused
    try:
        with cyclic_gc_paused(freeze=True):  # as start-up loads the file
            with cyclic_gc_paused():         # as parse_rdb does inside
                assert not gc.isenabled()
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_the_scanner_says_where_it_stopped():
    """What redis-check-rdb reports: what it was doing, and the key and type at hand."""
    from reference.tools import RDBFileError
    whole = _file(b"\xfe\x00" + _string_key(b"k", b"value"))
    scanner = RDBScanner(whole)
    list(scanner)
    assert (scanner.doing, scanner.key, scanner.rdb_type, scanner.keys_read) == ("check-sum", None, None, 1)
    cut_in_value = whole.index(b"value") + 2
    cut_in_key = whole.index(b"\x01k")
    cut_at_type = cut_in_key - 1
    for cut, where in ((cut_in_value, ("read-object-value", b"k", 0)), (cut_in_key, ("read-key", None, 0)),
                       (cut_at_type, ("read-type", None, None))):
        with pytest.raises(RDBFileError) as error:
            list(RDBScanner(whole[:cut]))
        assert (error.value.doing, error.value.key, error.value.rdb_type) == where
    assert error.value.offset == cut_at_type  # (the type byte it could not read)


def _compact_key(rdb_type: int, key: bytes, blob: bytes) -> bytes:
    return bytes([rdb_type]) + encode_string(key) + encode_string(blob)


SANITIZED = {"sanitize-dump-payload": "yes"}  # the deep check; Redis's default (no) skips it


@pytest.mark.parametrize("rdb_type, blob, reason", [
    (16, listpack.encode([b"f", b"v", b"g"]), "Hash listpack integrity check failed."),  # odd count
    (16, listpack.encode([b"f", b"v", b"f", b"w"]), "Hash listpack integrity check failed."),
    (17, listpack.encode([b"m", b"1", b"m", b"2"]), "Zset listpack integrity check failed."),
    (17, listpack.encode([b"m", b"1", b"n"]), "Zset listpack integrity check failed."),
    (11, intset.encode([]), "Intset integrity check failed."),
    (11, b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00", "Intset integrity check failed."),
    (11, listpack.encode([b"1"]), "Intset integrity check failed."),
])
def test_a_faulty_compact_value_is_refused_with_what_redis_logs(rdb_type, blob, reason):
    with pytest.raises(RDBLoadError) as error:
        parse_rdb(_file(b"\xfe\x00" + _compact_key(rdb_type, b"k", blob)), _config(**SANITIZED))
    assert error.value.log_lines[-1][1].endswith(f"-> {reason}")


@pytest.mark.parametrize("rdb_type, blob, held", [
    (16, listpack.encode([b"f", b"v", b"g"]), {b"f": b"v"}),  # the unpaired field dropped
    (16, listpack.encode([b"f", b"v", b"f", b"w"]), {b"f": b"v"}),  # the first value kept
    (17, listpack.encode([b"m", b"1", b"m", b"2"]), {b"m": 1.0}),
    (11, b"\x02\x00\x00\x00\x02\x00\x00\x00\x02\x00\x01\x00", {b"1", b"2"}),
])
def test_without_sanitizing_a_damaged_compact_value_holds_what_can_be_read(rdb_type, blob, held):
    assert parse_rdb(_file(b"\xfe\x00" + _compact_key(rdb_type, b"k", blob))).data[0][b"k"] == held


@pytest.mark.parametrize("blob", [listpack.encode([b"m", b"nan"]), listpack.encode([b"m", b"1", b"n", b"nan"])])
def test_a_nan_score_in_a_listpack_is_refused_whatever_the_sanitizing(blob):
    """Redis reads the score "nan" as NaN and keeps it; the reference refuses it (a divergence)."""
    for config in (_config(), _config(**SANITIZED)):
        with pytest.raises(RDBLoadError):
            parse_rdb(_file(b"\xfe\x00" + _compact_key(17, b"k", blob)), config)


def test_a_listpack_score_is_read_as_strtod_reads_it():
    loaded = parse_rdb(_file(b"\xfe\x00" + _compact_key(17, b"k", listpack.encode(
        [b"a", b"one", b"b", b"2.5x", b"c", b"0x10", b"d", b" -inf"]))), _config(**SANITIZED))
    assert dict(loaded.data[0][b"k"]) == {b"a": 0.0, b"b": 2.5, b"c": 16.0, b"d": float("-inf")}


def test_a_faulty_quicklist_node_is_refused():
    node = bytearray(listpack.encode([b"a", b"b"]))
    node[-2] = 9  # the last entry's backlen
    with pytest.raises(RDBLoadError) as error:
        parse_rdb(_file(b"\xfe\x00\x12" + encode_string(b"k") + b"\x01\x02" + encode_string(bytes(node))),
                  _config(**SANITIZED))
    assert error.value.log_lines[-1][1].endswith("-> Listpack integrity check failed.")


def test_compact_values_load_as_the_server_holds_them():
    from reference.zset import SmallOrder
    pairs = [b"b", b"2", b"a", b"1", b"c", b"1"]  # not in the order a set keeps them
    data = _file(b"\xfe\x00" + _compact_key(17, b"z", listpack.encode(pairs))
                 + _compact_key(16, b"h", listpack.encode([b"f", b"1", b"g", b"x" * 70]))
                 + _compact_key(11, b"s", intset.encode([b"-70000", b"3"]))
                 + b"\x12" + encode_string(b"l") + b"\x02\x02" + encode_string(listpack.encode([b"a", b"1"]))
                 + b"\x01" + encode_string(b"plain"))
    loaded = parse_rdb(data).data[0]
    zset = loaded[b"z"]
    assert list(zset.order) == [(1.0, b"a"), (1.0, b"c"), (2.0, b"b")] and type(zset.order) is SmallOrder
    assert dict(zset) == {b"a": 1.0, b"b": 2.0, b"c": 1.0} and not zset.skiplist
    assert loaded[b"h"] == {b"f": b"1", b"g": b"x" * 70} and not loaded[b"h"].hashtable
    assert loaded[b"s"] == {b"-70000", b"3"} and loaded[b"s"].intset
    assert list(loaded[b"l"]) == [b"a", b"1", b"plain"]
