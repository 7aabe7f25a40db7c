"""The reference's replication pieces that need no network: the backlog's window, the master
client's parser, which counts a command's bytes only once it has run (a transaction at EXEC),
and the replica's handshake, a protocol without I/O."""
from types import SimpleNamespace

from reference.config import Config
from reference.persistence.aof import encode_command
from reference.replication.link import FAILED, Continue, FullResync, Greeting, Handshake, StreamParser
from reference.replication.history import Backlog


def test_backlog_keeps_the_last_bytes_and_says_what_it_covers():
    backlog = Backlog(first=11)  # the master offset was 10
    assert backlog.covers(11) and not backlog.covers(10) and not backlog.covers(12)
    backlog.append(b"abcdef", size=4)
    assert (backlog.first, bytes(backlog.data)) == (13, b"cdef")
    assert backlog.covers(13) and backlog.covers(17) and not backlog.covers(12) and not backlog.covers(18)
    assert backlog.since(15) == b"ef" and backlog.since(17) == b""


class Stream:
    """What StreamParser hands its bytes to."""
    def __init__(self):
        self.fed = b""

    def feed(self, data: bytes) -> None:
        self.fed += data


def test_stream_parser_counts_a_transaction_once_exec_has_run():
    stream = Stream()
    client = SimpleNamespace(server=SimpleNamespace(config=Config()), transaction=None)
    parser = StreamParser(client, stream)
    words = [[b"SET", b"a", b"1"], [b"MULTI"], [b"INCR", b"n"], [b"EXEC"]]
    wire = [encode_command(argv) for argv in words]
    parser.feed(b"".join(wire) + b"*1\r\n$4\r\nPI")  # a last command cut short
    assert parser.next_command() == words[0] and stream.fed == b""
    assert parser.next_command() == words[1] and stream.fed == wire[0]  # SET has run
    client.transaction = []  # MULTI ran
    assert parser.next_command() == words[2] and stream.fed == wire[0]
    assert parser.next_command() == words[3] and stream.fed == wire[0]
    client.transaction = None  # EXEC ran
    assert parser.next_command() is None and stream.fed == b"".join(wire)
    parser.feed(b"NG\r\n")
    assert parser.next_command() == [b"PING"]
    assert parser.next_command() is None and stream.fed == b"".join(wire) + b"*1\r\n$4\r\nPING\r\n"


def handshake(**greeting):
    started = []
    return Handshake(Greeting(6380, **greeting), lambda: ("?", "-1"), lambda: started.append(1)), started


def command(*words: str) -> bytes:
    return encode_command([word.encode() for word in words])


def test_handshake_to_a_full_resync_with_the_eof_form():
    shake, started = handshake(masterauth="pw")
    assert shake.start() == command("PING")
    assert shake.receive(b"+PONG\r\n") == (command("AUTH", "pw") + command("REPLCONF", "listening-port", "6380")
                                           + command("REPLCONF", "capa", "eof", "capa", "psync2"))
    assert shake.receive(b"+OK\r\n+OK\r\n") == b""
    assert shake.receive(b"-ERR unknown\r\n") == command("PSYNC", "?", "-1")  # (capa refused: no matter)
    replid, mark = "a" * 40, b"m" * 40
    assert shake.receive(b"\n+FULLRESYNC %s 42\r\n\n$EOF:%s\r\nRDB" % (replid.encode(), mark)) == b""
    assert shake.receiving_copy and started == [1] and shake.outcome is None
    shake.receive(b"BYTES" + mark)
    assert shake.outcome == FullResync(replid, 42, b"RDBBYTES", b"")


def test_handshake_length_form_keeps_what_follows_and_continue_keeps_the_stream():
    shake, _ = handshake()
    shake.start()
    shake.receive(b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC " + b"b" * 40 + b" 7\r\n$3\r\nabc*1\r\n$4\r\nPING\r\n")
    assert shake.outcome == FullResync("b" * 40, 7, b"abc", b"*1\r\n$4\r\nPING\r\n")
    shake, _ = handshake()
    shake.start()
    shake.receive(b"+PONG\r\n+OK\r\n+OK\r\n+CONTINUE " + b"c" * 40 + b"\r\n*1\r\n")
    assert shake.outcome == Continue("c" * 40, b"*1\r\n")


def test_handshake_fails_on_a_refused_auth_or_a_bad_copy():
    shake, _ = handshake(masterauth="pw", masteruser="u")
    assert command("AUTH", "u", "pw") in shake.receive(b"+PONG\r\n")
    shake.receive(b"-WRONGPASS invalid username-password pair or user is disabled.\r\n")
    assert shake.outcome is FAILED
    shake, _ = handshake()
    shake.receive(b"+PONG\r\n+OK\r\n+OK\r\n+FULLRESYNC " + b"d" * 40 + b" 0\r\nnot a copy\r\n")
    assert shake.outcome is FAILED
