"""The AOF's pure parts: the manifest (format, parsing, naming) and commands as written."""
import pytest

from reference.persistence.aof import Manifest, ManifestError, encode_command


def test_manifest_round_trip_and_naming():
    manifest = Manifest()
    assert manifest.new_base("appendonly.aof", rdb=True) == "appendonly.aof.1.base.rdb"
    assert manifest.new_incr("appendonly.aof") == "appendonly.aof.1.incr.aof"
    assert manifest.text() == (b"file appendonly.aof.1.base.rdb seq 1 type b\n"
                               b"file appendonly.aof.1.incr.aof seq 1 type i\n")
    # A rewrite: a new incr, then a new base; what the base covers becomes history (each
    # added at the head of the history list, as Redis does).
    manifest.new_incr("appendonly.aof")
    manifest.new_base("appendonly.aof", rdb=False)
    manifest.incrs_to_history(keep_last=True)
    assert manifest.text() == (b"file appendonly.aof.2.base.aof seq 2 type b\n"
                               b"file appendonly.aof.1.incr.aof seq 1 type h\n"
                               b"file appendonly.aof.1.base.rdb seq 1 type h\n"
                               b"file appendonly.aof.2.incr.aof seq 2 type i\n")
    again = Manifest.parse(manifest.text())
    assert again.text() == manifest.text()
    assert (again.base_seq, again.incr_seq) == (2, 2)


@pytest.mark.parametrize("text, reason", [
    (b"", "Found an empty AOF manifest"),
    (b"file a seq 1\n", "Invalid AOF manifest file format"),
    (b"file a seq 1 type x\n", "Unknown AOF file type"),
    (b"file a/b seq 1 type b\n", "File can't be a path, just a filename"),
    (b"file a seq 1 type b\nfile b seq 2 type b\n", "Found duplicate base file information"),
    (b"file a seq 2 type i\nfile b seq 1 type i\n", "Found a non-monotonic sequence number"),
    (b"\n", "Invalid AOF manifest file format"),
])
def test_manifest_errors(text, reason):
    with pytest.raises(ManifestError) as error:
        Manifest.parse(text)
    assert error.value.reason == reason


def test_manifest_comments_are_skipped():
    manifest = Manifest.parse(b"# note\nfile a.1.incr.aof seq 1 type i\n")
    assert [f.name for f in manifest.incrs] == ["a.1.incr.aof"]


def test_encode_command():
    assert encode_command([b"SET", b"k", bytearray(b"")]) == b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n"


def test_rewrites_are_held_back_after_three_failures_twice_as_long_each_time(monkeypatch):
    """aof.c aofRewriteLimited: 1 minute, then 2, 4 ... at most 60; logged once per hold-back."""
    from types import SimpleNamespace

    from reference import log
    from reference.persistence import aof as aof_module
    logged = []
    server = SimpleNamespace(config=SimpleNamespace(on_change=lambda name, callback: None))
    aof = aof_module.AppendOnlyFile(server)
    with log.diverted(lambda message, level: logged.append(message)):
        clock = [1_000_000]
        monkeypatch.setattr(aof_module.time, "time", lambda: clock[0])
        aof.consecutive_failures = 2
        assert not aof.rewrite_limited()
        waits = []
        for failures in range(3, 10):
            aof.consecutive_failures = failures
            assert aof.rewrite_limited()  # a failure more: held back, and logged
            minutes = int(logged[-1].rsplit(" ", 2)[-2])
            waits.append(minutes)
            clock[0] += 60 * minutes - 1
            assert aof.rewrite_limited()  # still held back, not logged again
            clock[0] += 1
            assert not aof.rewrite_limited()  # one attempt goes through
        assert waits == [1, 2, 4, 8, 16, 32, 60]
        assert len(logged) == len(waits)
        assert logged[0] == ("Background AOF rewrite has repeatedly failed and triggered the limit, "
                             "will retry in 1 minutes")
        aof.consecutive_failures = 0  # a success starts afresh
        assert not aof.rewrite_limited()
        aof.consecutive_failures = 3
        assert aof.rewrite_limited() and logged[-1].endswith("will retry in 1 minutes")
