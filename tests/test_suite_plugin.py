"""The conformance plugin judged against a tiny scripted server: what it makes of a target that
has no DEBUG command, and of one that has no INFO field or CONFIG parameter a test reads."""

import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from conformance.targets import run_until_exit, server_words


class ScriptedServer:
    """Answers PING with PONG, GET with a nil, DEBUG as a server without it, INFO with one
    field, CONFIG GET with nothing, and everything else with OK."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        buffer = b""
        with connection:
            while chunk := connection.recv(65536):
                buffer += chunk
                while (command := self._take_command(buffer)) is not None:
                    words, buffer = command
                    connection.sendall(self._answer(words))

    @staticmethod
    def _take_command(buffer: bytes):
        """One RESP array of bulk strings from the buffer, or None if it is incomplete."""
        if not buffer.startswith(b"*") or b"\r\n" not in buffer:
            return None
        head, rest = buffer.split(b"\r\n", 1)
        words = []
        for _ in range(int(head[1:])):
            if b"\r\n" not in rest:
                return None
            length_line, rest = rest.split(b"\r\n", 1)
            length = int(length_line[1:])
            if len(rest) < length + 2:
                return None
            words.append(rest[:length])
            rest = rest[length + 2:]
        return words, rest

    @staticmethod
    def _answer(words: list[bytes]) -> bytes:
        name = words[0].upper()
        if name == b"PING":
            return b"+PONG\r\n"
        if name == b"GET":
            return b"$-1\r\n"
        if name == b"DEBUG":
            return b"-ERR unknown command 'debug', with args beginning with: \r\n"
        if name == b"INFO":
            text = b"# Stats\r\nexpired_keys:0\r\n"
            return b"$%d\r\n%s\r\n" % (len(text), text)
        if name == b"CONFIG":
            return b"*0\r\n"
        return b"+OK\r\n"

    def close(self):
        self.listener.close()


TESTS = textwrap.dedent('''
    from conformance.readings import config_value, info

    def test_needs_debug(client):
        assert client.call("DEBUG", "SET-ACTIVE-EXPIRE", "0") == "OK"

    def test_ignores_debug_then_fails(client):
        client.call("DEBUG", "SET-ACTIVE-EXPIRE", "0")  # what fails later may follow from it
        assert client.call("GET", "k") == b"v"

    def test_fails_without_debug(client):
        assert client.call("GET", "k") == b"v"

    def test_reads_a_missing_info_field(client):
        assert info(client, "stats")["keyspace_hits"] == "0"

    def test_reads_a_missing_parameter(client):
        assert config_value(client, "list-max-listpack-size") == b"-2"
''')


@pytest.fixture
def scripted_server():
    server = ScriptedServer()
    yield server
    server.close()


def test_a_target_without_debug_skips_what_needs_it_and_names_what_it_lacks(scripted_server, tmp_path):
    (tmp_path / "test_scripted.py").write_text(TESTS)
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["conformance.plugin"]\n')
    result = subprocess.run([sys.executable, "-m", "pytest", "-rsf", "-p", "no:cacheprovider", str(tmp_path),
                             "--target", f"127.0.0.1:{scripted_server.port}", "--rootdir", str(tmp_path)],
                            capture_output=True, text=True, timeout=120)
    out = result.stdout
    assert "2 skipped" in out and "3 failed" in out, out
    assert out.count("this test needs DEBUG, and the target has none: "
                     "'DEBUG SET-ACTIVE-EXPIRE 0' -> ERR unknown command 'debug'") == 2, out
    assert "test_scripted.py::test_fails_without_debug" in out
    assert "INFO stats has no field 'keyspace_hits'" in out
    assert "CONFIG GET list-max-listpack-size: the server has no such parameter" in out


def test_a_server_that_does_not_exit_fails_the_test_saying_so():
    words = server_words(f"{sys.executable} -c 'import time; time.sleep(60)'")
    with pytest.raises(AssertionError, match="was still running after 1s; Redis 7.0 exits here"):
        run_until_exit(words, timeout=1)


def test_a_relative_program_path_is_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert server_words(".venv/bin/redis-server --port 1") == [
        str(tmp_path / ".venv/bin/redis-server"), "--port", "1"]
    assert server_words("redis-server --port 1") == ["redis-server", "--port", "1"]
