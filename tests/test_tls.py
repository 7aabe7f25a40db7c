"""reference/tls.py's wording of OpenSSL's errors, and the protocols tls-protocols names."""
import errno
import ssl

import pytest

from reference import tls


def ssl_error(library: str, reason: str) -> ssl.SSLError:
    error = ssl.SSLError(1, f"[{library}: {reason}] some words of Python's (_ssl.c:1)")
    error.library, error.reason = library, reason
    return error


@pytest.mark.parametrize("library, reason, text", [
    ("SSL", "PEER_DID_NOT_RETURN_A_CERTIFICATE", "error:0A0000C7:SSL routines::peer did not return a certificate"),
    ("SSL", "UNEXPECTED_EOF_WHILE_READING", "error:0A000126:SSL routines::unexpected eof while reading"),
    ("X509", "KEY_VALUES_MISMATCH", "error:05800074:x509 certificate routines::key values mismatch"),
])
def test_openssl_errors_as_openssl_words_them(library, reason, text):
    assert tls.error_text(ssl_error(library, reason)) == text


def test_a_system_error():
    error = FileNotFoundError(errno.ENOENT, "No such file or directory")
    assert tls.error_text(error) == "No such file or directory"  # a socket's error, as Redis logs it
    assert tls._openssl_text(error) == "error:80000002:system library::No such file or directory"  # a file's


@pytest.mark.parametrize("text, protocols", [
    ("", ("tlsv1.2", "tlsv1.3")), ("TLSv1.2", ("tlsv1.2",)), ("tlsv1 TLSV1.1", ("tlsv1", "tlsv1.1")),
])
def test_protocols(text, protocols):
    assert tls._protocols(text) == protocols


@pytest.mark.parametrize("text", ["SSLv3", "TLSv1.2  TLSv1.3", "TLSv1.2 "])
def test_protocols_refused(text):
    with pytest.raises(tls.ConfigureError, match="Invalid tls-protocols specified"):
        tls._protocols(text)
