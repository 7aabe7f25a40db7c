"""TLS as redis-server 7.0.15 built with OpenSSL (Debian's) has it: `tls-port` with
`tls-cert-file`, `tls-key-file` and `tls-ca-cert-file`, `tls-auth-clients` (yes, optional, no),
the configuration checked at start-up and on CONFIG SET with Redis's log lines and errors, the
listener moved by CONFIG SET tls-port, what a failed handshake logs.

Certificates are made for the session with the openssl command (a CA, the server's, a client's);
clients are redis-py's with `ssl=True`, as an application's. Servers are the tests' own."""
from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest
import redis

from conformance.targets import free_port

pytestmark = [pytest.mark.launches, pytest.mark.internals("the TLS listener")]

DEADLINE = 60.0
LINE = re.compile(r"\d+:[CMSX] \d\d \w{3} \d{4} \d\d:\d\d:\d\d\.\d{3} ([.*#-]) (.*)")
UNABLE = ("ERR CONFIG SET failed (possibly related to argument '{}') - Unable to update TLS configuration. "
          "Check server logs.")


def openssl(*words: str, cwd) -> None:
    subprocess.run(["openssl", *words], cwd=cwd, check=True, capture_output=True, timeout=DEADLINE)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, str]:
    """A CA, a server certificate and a client certificate it signed, and a stranger's
    certificate no CA here signed; {name: path}."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to make certificates with")
    where = tmp_path_factory.mktemp("certificates")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
            "-subj", "/CN=redspec CA", cwd=where)
    for name in ("server", "client"):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
                "-subj", f"/CN={name}", cwd=where)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", f"{name}.crt", "-days", "2", cwd=where)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "stranger.key", "-out", "stranger.crt",
            "-days", "2", "-subj", "/CN=stranger", cwd=where)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-passout", "pass:secret", "-keyout", "locked.key", "-out",
            "locked.crt", "-days", "2", "-subj", "/CN=locked", cwd=where)  # its key encrypted
    (where / "garbage.pem").write_text("not PEM\n")
    return {path.stem + path.suffix.replace(".", "_"): str(path) for path in where.iterdir()}


def tls_options(certificates) -> dict[str, str]:
    return {"tls_cert_file": certificates["server_crt"], "tls_key_file": certificates["server_key"],
            "tls_ca_cert_file": certificates["ca_crt"]}


def tls_client(port: int, certificates, who: str | None = "client") -> redis.Redis:
    """A redis-py client over TLS that trusts the CA, showing `who`'s certificate (or none)."""
    mine = {"ssl_certfile": certificates[f"{who}_crt"], "ssl_keyfile": certificates[f"{who}_key"]} if who else {}
    return redis.Redis(host="127.0.0.1", port=port, ssl=True, ssl_ca_certs=certificates["ca_crt"],
                       ssl_check_hostname=False, socket_timeout=DEADLINE, decode_responses=True, **mine)


def messages(path) -> list[tuple[str, str]]:
    """(mark, message) of each log line."""
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    return [(match[1], match[2]) for match in map(LINE.fullmatch, text.splitlines()) if match]


def wait_for_line(path, wanted: str) -> tuple[str, str]:
    deadline = time.monotonic() + DEADLINE
    while True:
        found = [line for line in messages(path) if line[1] == wanted]
        if found:
            return found[0]
        assert time.monotonic() < deadline, f"{wanted!r} not logged: {messages(path)[-10:]}"
        time.sleep(0.05)


def test_clients_over_tls(launcher, certificates):
    """A client the CA knows connects at tls-port and is an ordinary client; one without a
    certificate, or with one the CA did not sign, is refused during the handshake; one that
    does not speak TLS too; each refusal logged as OpenSSL words it."""
    tls_port = free_port()
    server = launcher.start(tls_port=str(tls_port), logfile="redis.log", loglevel="verbose",
                            **tls_options(certificates))
    log = os.path.join(server.dir, "redis.log")
    client = tls_client(tls_port, certificates)
    assert client.ping() is True
    info = dict(field.split("=", 1) for field in client.execute_command("CLIENT", "INFO").split())
    assert info["laddr"] == f"127.0.0.1:{tls_port}" and info["flags"] == "N"
    assert client.config_get("tls-port") == {"tls-port": str(tls_port)}
    client.set("k", "v" * 100_000)  # more than one TLS record each way
    assert client.get("k") == "v" * 100_000
    assert server.client().call("GET", "k") == b"v" * 100_000  # the same server over TCP

    with pytest.raises(redis.ConnectionError):
        tls_client(tls_port, certificates, who=None).ping()
    assert wait_for_line(log, "Error accepting a client connection: error:0A0000C7:SSL routines::peer did "
                              "not return a certificate")[0] == "#"
    with pytest.raises(redis.ConnectionError):
        tls_client(tls_port, certificates, who="stranger").ping()
    wait_for_line(log, "Error accepting a client connection: error:0A000086:SSL routines::certificate verify failed")
    with pytest.raises(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=tls_port, socket_timeout=DEADLINE).ping()
    wait_for_line(log, "Error accepting a client connection: error:0A00010B:SSL routines::wrong version number")
    assert client.ping() is True
    client.close()  # (no TLS close_notify: the server reads the end of the stream as an error)
    assert wait_for_line(log, "Reading from client: error:0A000126:SSL routines::unexpected eof while "
                              "reading")[0] == "-"


def test_an_encrypted_key_and_its_password(launcher, certificates):
    tls_port = free_port()
    launcher.start(tls_port=str(tls_port), tls_cert_file=certificates["locked_crt"],
                   tls_key_file=certificates["locked_key"], tls_key_file_pass="secret", tls_auth_clients="no")
    client = redis.Redis(host="127.0.0.1", port=tls_port, ssl=True, ssl_ca_certs=certificates["locked_crt"],
                         ssl_check_hostname=False, socket_timeout=DEADLINE)
    assert client.ping() is True


@pytest.mark.parametrize("setting", ["no", "optional"])
def test_tls_auth_clients(launcher, certificates, setting):
    """`no` and `optional` let a client in without a certificate; `optional` still checks one
    that is shown."""
    tls_port = free_port()
    server = launcher.start(tls_port=str(tls_port), tls_auth_clients=setting, **tls_options(certificates))
    assert tls_client(tls_port, certificates, who=None).ping() is True
    assert tls_client(tls_port, certificates).ping() is True
    stranger = tls_client(tls_port, certificates, who="stranger")
    if setting == "optional":
        with pytest.raises(redis.ConnectionError):
            stranger.ping()
    else:
        assert stranger.ping() is True
    assert server.client().call("CONFIG", "GET", "tls-auth-clients") == [b"tls-auth-clients", setting.encode()]


def test_tls_set_at_run_time(launcher, certificates):
    """tls-port set by CONFIG SET configures TLS first: without a certificate that fails;
    with one it listens, and a later bad file is refused, the old context kept. tls-port 0
    closes the listener; with port 0 too, INFO's tcp_port shows the TLS port."""
    server = launcher.start()
    c = server.client()
    tls_port = free_port()
    assert c.call("CONFIG", "SET", "tls-port", str(tls_port)) == UNABLE.format("tls-port")
    assert c.call("CONFIG", "GET", "tls-port") == [b"tls-port", b"0"]
    for name, value in tls_options(certificates).items():
        assert c.call("CONFIG", "SET", name.replace("_", "-"), value) == "OK"  # (TLS not in use: not checked)
    assert c.call("CONFIG", "SET", "tls-port", str(tls_port)) == "OK"
    client = tls_client(tls_port, certificates)
    assert client.ping() is True
    assert c.call("CONFIG", "SET", "tls-cert-file", certificates["ca_crt"] + ".missing") == \
        UNABLE.format("tls-cert-file")
    assert c.call("CONFIG", "GET", "tls-cert-file") == [b"tls-cert-file", certificates["server_crt"].encode()]
    assert tls_client(tls_port, certificates).ping() is True
    assert client.config_set("port", "0") is True
    assert int(client.info("server")["tcp_port"]) == tls_port
    assert client.config_set("port", str(server.port)) is True
    assert c.call("CONFIG", "SET", "tls-port", "0") == "OK"
    with pytest.raises(redis.ConnectionError):
        tls_client(tls_port, certificates).ping()


def run_until_exit(request, tmp_path, *words: str) -> tuple[int, list[str]]:
    command = request.config.getoption("server").split() + ["--port", str(free_port()), "--dir", str(tmp_path),
                                                             "--save", "", *words]
    result = subprocess.run(command, capture_output=True, timeout=DEADLINE, stdin=subprocess.DEVNULL)
    found = [match[2] for match in map(LINE.fullmatch, result.stdout.decode("utf-8", "replace").splitlines())
             if match]
    return result.returncode, found


@pytest.mark.parametrize("case", ["no-cert", "no-key", "no-ca", "missing-cert", "missing-key", "garbage-cert",
                                  "garbage-key", "key-of-another", "locked-key", "wrong-password", "missing-ca",
                                  "garbage-ca", "bad-protocols", "bad-ciphers", "bad-ciphersuites",
                                  "missing-dh-params", "garbage-dh-params", "missing-client-cert"])
def test_a_tls_configuration_that_ends_the_start(request, tmp_path, certificates, case):
    """What is wrong is logged as Redis's tlsConfigure says it, then `Failed to configure TLS.
    Check logs for more info.`, and the server exits 1."""
    given = {"--tls-cert-file": certificates["server_crt"], "--tls-key-file": certificates["server_key"],
             "--tls-ca-cert-file": certificates["ca_crt"]}
    missing, garbage = str(tmp_path / "missing.pem"), certificates["garbage_pem"]
    locked = {"--tls-cert-file": certificates["locked_crt"], "--tls-key-file": certificates["locked_key"]}
    reason = {
        "no-cert": "No tls-cert-file configured!",
        "no-key": "No tls-key-file configured!",
        "no-ca": "Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, tls-replication "
                 "or tls-auth-clients are enabled!",
        "missing-cert": f"Failed to load certificate: {missing}: error:80000002:system library::No such file or "
                        "directory",
        "missing-key": f"Failed to load private key: {missing}: error:80000002:system library::No such file or "
                       "directory",
        "bad-protocols": "Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and "
                         "'TLSv1.3'.",
        "bad-ciphers": "Failed to configure ciphers: NO-SUCH-CIPHER",
        "garbage-cert": f"Failed to load certificate: {garbage}: error:0480006C:PEM routines::no start line",
        "garbage-key": f"Failed to load private key: {garbage}: error:1E08010C:DECODER routines::unsupported",
        "key-of-another": f"Failed to load private key: {certificates['client_key']}: error:05800074:x509 "
                          "certificate routines::key values mismatch",
        "locked-key": f"Failed to load private key: {certificates['locked_key']}: error:07880109:common libcrypto "
                      "routines::interrupted or cancelled",
        "wrong-password": f"Failed to load private key: {certificates['locked_key']}: error:1C800064:Provider "
                          "routines::bad decrypt",
        "missing-ca": "Failed to configure CA certificate(s) file/directory: error:80000002:system library::No such "
                      "file or directory",
        "garbage-ca": "Failed to configure CA certificate(s) file/directory: error:05800088:x509 certificate "
                      "routines::no certificate or crl found",
        "bad-ciphersuites": "Failed to configure ciphersuites: NO-SUCH-SUITE",
        "missing-dh-params": f"Failed to load {missing}: No such file or directory",
        "garbage-dh-params": f"{garbage}: failed to read DH params.",
        "missing-client-cert": f"Failed to load certificate: {missing}: error:80000002:system library::No such file "
                               "or directory",
    }[case]
    if case == "no-cert":
        del given["--tls-cert-file"]
    elif case == "no-key":
        del given["--tls-key-file"]
    elif case == "no-ca":
        del given["--tls-ca-cert-file"]
    elif case == "missing-cert":
        given["--tls-cert-file"] = missing
    elif case == "missing-key":
        given["--tls-key-file"] = missing
    elif case == "bad-protocols":
        given["--tls-protocols"] = "TLSv1.2 SSLv3"
    elif case == "bad-ciphers":
        given["--tls-ciphers"] = "NO-SUCH-CIPHER"
        given["--tls-protocols"] = "TLSv1.2"
    elif case in ("garbage-cert", "garbage-key"):
        given["--tls-cert-file" if case == "garbage-cert" else "--tls-key-file"] = garbage
    elif case == "key-of-another":
        given["--tls-key-file"] = certificates["client_key"]
    elif case in ("locked-key", "wrong-password"):
        given.update(locked, **({"--tls-key-file-pass": "wrong"} if case == "wrong-password" else {}))
    elif case in ("missing-ca", "garbage-ca"):
        given["--tls-ca-cert-file"] = missing if case == "missing-ca" else garbage
    elif case == "bad-ciphersuites":
        given["--tls-ciphersuites"] = "NO-SUCH-SUITE"
    elif case in ("missing-dh-params", "garbage-dh-params"):
        given["--tls-dh-params-file"] = missing if case == "missing-dh-params" else garbage
    else:
        given.update({"--tls-client-cert-file": missing, "--tls-client-key-file": certificates["client_key"]})
    status, found = run_until_exit(request, tmp_path, "--tls-port", str(free_port()),
                                   *(word for pair in given.items() for word in pair))
    assert status == 1
    assert found[-2:] == [reason, "Failed to configure TLS. Check logs for more info."]
    assert "Server initialized" not in found


def speak(port: int, certificates, version: ssl.TLSVersion | None) -> str:
    """Connect offering only `version` (or any), PING; the version spoken."""
    context = ssl.create_default_context(cafile=certificates["ca_crt"])
    context.check_hostname = False
    if version is not None:
        context.minimum_version = context.maximum_version = version
    with socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as raw:
        with context.wrap_socket(raw) as connection:
            connection.sendall(b"PING\r\n")
            assert connection.recv(100) == b"+PONG\r\n"
            return connection.version()


TLS_1_2, TLS_1_3 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3


@pytest.mark.parametrize("setting, spoken, refused", [("TLSv1.2", [TLS_1_2], [TLS_1_3]),
                                                      ("tlsv1.3", [TLS_1_3], [TLS_1_2]),
                                                      ("", [TLS_1_2, TLS_1_3], [])])
def test_tls_protocols(launcher, certificates, setting, spoken, refused):
    """The server speaks the versions tls-protocols lists (by default TLSv1.2 and TLSv1.3): a
    client that offers only another is refused."""
    tls_port = free_port()
    launcher.start(tls_port=str(tls_port), tls_auth_clients="no", tls_protocols=setting or None,
                   **tls_options(certificates))
    assert speak(tls_port, certificates, None) == spoken[-1].name.replace("_", ".")
    for version in spoken:
        assert speak(tls_port, certificates, version) == version.name.replace("_", ".")
    for version in refused:
        with pytest.raises(ssl.SSLError):
            speak(tls_port, certificates, version)
