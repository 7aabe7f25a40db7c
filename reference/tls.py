"""TLS as redis-server 7.0 built with OpenSSL has it (Debian's is), through Python's ssl module.

`tls-port` listens on the `bind` addresses as `port` does, with connections that speak TLS; the
context is made from `tls-cert-file`, `tls-key-file` (`tls-key-file-pass`), `tls-ca-cert-file`
or `tls-ca-cert-dir`, `tls-protocols`, `tls-ciphers`, `tls-prefer-server-ciphers`,
`tls-dh-params-file`, and `tls-auth-clients` says whether a client must show a certificate the
CA signed (`yes`), may (`optional`) or need not (`no`). As Redis's tlsConfigure, the context is
made at start-up when `tls-port` (or `tls-replication`, `tls-cluster`) is set, and made again
when CONFIG SET changes a tls-* option; a context that cannot be made is logged, with the
reason OpenSSL gives, and ends the start or fails the CONFIG SET, leaving the old one in use.

What Python's ssl module cannot set is refused rather than ignored: `tls-ciphersuites` (the
TLS 1.3 suites) fails the configuration as a suite list OpenSSL rejects does. The session
cache options (`tls-session-caching`, `-size`, `-timeout`) are taken and have no effect: the
module has no session cache settings for a server (spec/server.md)."""
from __future__ import annotations

import _ssl
import ssl
import warnings

from reference import log

OPTIONS = ("tls-port", "tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file",
           "tls-client-key-file", "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file",
           "tls-ca-cert-dir", "tls-protocols", "tls-ciphers", "tls-ciphersuites", "tls-prefer-server-ciphers",
           "tls-session-caching", "tls-session-cache-size", "tls-session-cache-timeout", "tls-auth-clients",
           "tls-replication", "tls-cluster")
UNABLE = "Unable to update TLS configuration. Check server logs."
# tls-protocols' words (in any case), oldest first -> (the version, the option that leaves it out).
PROTOCOLS = {"tlsv1": (ssl.TLSVersion.TLSv1, ssl.OP_NO_TLSv1), "tlsv1.1": (ssl.TLSVersion.TLSv1_1, ssl.OP_NO_TLSv1_1),
             "tlsv1.2": (ssl.TLSVersion.TLSv1_2, ssl.OP_NO_TLSv1_2),
             "tlsv1.3": (ssl.TLSVersion.TLSv1_3, ssl.OP_NO_TLSv1_3)}
DEFAULT_PROTOCOLS = ("tlsv1.2", "tlsv1.3")  # Redis's default with an OpenSSL that has TLS 1.3
CLIENT_AUTH = {"no": ssl.CERT_NONE, "optional": ssl.CERT_OPTIONAL, "yes": ssl.CERT_REQUIRED}

# The names OpenSSL 3 gives its libraries in error strings (ERR_lib_error_string).
LIBRARY_NAMES = {"SSL": "SSL routines", "PEM": "PEM routines", "X509": "x509 certificate routines",
                 "ASN1": "asn1 encoding routines", "EVP": "digital envelope routines", "BIO": "BIO routines",
                 "DECODER": "DECODER routines", "X509V3": "X509 V3 routines"}
SYSTEM_ERROR_FLAG = 0x80000000  # OpenSSL 3 packs a system error as this flag | errno
# What OpenSSL 3.0 says first of a file without a PEM block of the kind wanted: read as a
# certificate, and as a key (its decoders find none that fits).
NO_PEM_CERTIFICATE = "error:0480006C:PEM routines::no start line"
NO_PEM_KEY = "error:1E08010C:DECODER routines::unsupported"
NO_KEY_PASSWORD = "error:07880109:common libcrypto routines::interrupted or cancelled"  # an encrypted key
BAD_KEY_PASSWORD = "error:1C800064:Provider routines::bad decrypt"
# (library name, reason name) -> (library code, reason code), as the ssl module names errors.
_ERROR_CODES = {(_ssl.lib_codes_to_names.get(library), reason_name): (library, reason)
                for (library, reason), reason_name in _ssl.err_codes_to_names.items()}


class ConfigureError(Exception):
    """The context could not be made (the reason is logged already)."""


def needed(config) -> bool:
    """Whether Redis makes a TLS context: something would use it."""
    return bool(config["tls-port"] or config["tls-replication"] or config["tls-cluster"])


def make_context(config) -> ssl.SSLContext:
    """A server context from the tls-* options, checked in tlsConfigure's order and its words
    logged for the first thing wrong (raises ConfigureError). The client side's certificate
    (tls-client-cert-file and -key-file, for connections the server makes) is checked too."""
    if not config["tls-cert-file"]:
        fail("No tls-cert-file configured!")
    if not config["tls-key-file"]:
        fail("No tls-key-file configured!")
    if ((config["tls-auth-clients"] != "no" or config["tls-cluster"] or config["tls-replication"])
            and not config["tls-ca-cert-file"] and not config["tls-ca-cert-dir"]):
        fail("Either tls-ca-cert-file or tls-ca-cert-dir must be specified when tls-cluster, "
             "tls-replication or tls-auth-clients are enabled!")
    protocols = _protocols(config["tls-protocols"])
    context = _context(config, protocols, ssl.PROTOCOL_TLS_SERVER, "")
    context.verify_mode = CLIENT_AUTH[config["tls-auth-clients"]]
    context.options &= ~ssl.OP_CIPHER_SERVER_PREFERENCE  # (Python's default; Redis's is no)
    if config["tls-prefer-server-ciphers"]:
        context.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    dh_params = config["tls-dh-params-file"]
    if dh_params:
        try:
            with open(dh_params, "rb"):
                pass
        except OSError as error:
            fail(f"Failed to load {dh_params}: {error.strerror}")
        try:
            context.load_dh_params(dh_params)
        except (ssl.SSLError, OSError):
            fail(f"{dh_params}: failed to read DH params.")
    if config["tls-client-cert-file"] and config["tls-client-key-file"]:
        _context(config, protocols, ssl.PROTOCOL_TLS_CLIENT, "client-")
    return context


def _context(config, protocols: tuple[str, ...], side: int, which: str) -> ssl.SSLContext:
    """What Redis's createSSLContext makes for either side: the protocols, the certificate and
    key of tls-{which}cert-file and tls-{which}key-file, the CA, the ciphers."""
    context = ssl.SSLContext(side)
    order = list(PROTOCOLS)
    chosen = [index for index, name in enumerate(order) if name in protocols]
    context.minimum_version = PROTOCOLS[order[chosen[0]]][0]
    context.maximum_version = PROTOCOLS[order[chosen[-1]]][0]
    with warnings.catch_warnings():  # (the only way to leave out a version between two others)
        warnings.simplefilter("ignore", DeprecationWarning)
        for index in range(chosen[0], chosen[-1]):
            if index not in chosen:
                context.options |= PROTOCOLS[order[index]][1]
    cert, key = config[f"tls-{which}cert-file"], config[f"tls-{which}key-file"]
    password = config[f"tls-{which}key-file-pass"].encode()  # (none: b"", never a prompt on a terminal)
    _readable(cert, "Failed to load certificate: {}: {}")
    try:
        context.load_cert_chain(cert, key, password=lambda: password)
    except (ssl.SSLError, OSError) as error:  # as Redis, the certificate is blamed first
        if not _holds_certificate(cert):
            reason = _pem_error_text(error, cert, b"CERTIFICATE-----", NO_PEM_CERTIFICATE)
            fail(f"Failed to load certificate: {cert}: {reason}")
        _readable(key, "Failed to load private key: {}: {}")
        fail(f"Failed to load private key: {key}: {_key_error_text(error, key, password)}")
    ca_file, ca_dir = config["tls-ca-cert-file"] or None, config["tls-ca-cert-dir"] or None
    if ca_file or ca_dir:
        try:
            context.load_verify_locations(ca_file, ca_dir)
        except (ssl.SSLError, OSError) as error:
            fail(f"Failed to configure CA certificate(s) file/directory: {_openssl_text(error)}")
    try:
        context.set_ciphers(config["tls-ciphers"] or "DEFAULT")  # OpenSSL's default list, as Redis
    except ssl.SSLError:
        fail(f"Failed to configure ciphers: {config['tls-ciphers']}")
    if config["tls-ciphersuites"]:  # Python's ssl cannot set the TLS 1.3 suites: refused, not ignored
        fail(f"Failed to configure ciphersuites: {config['tls-ciphersuites']}")
    return context


def _protocols(text: str) -> tuple[str, ...]:
    if not text:
        return DEFAULT_PROTOCOLS
    chosen = []
    for word in text.split(" "):
        if word.lower() not in PROTOCOLS:
            fail("Invalid tls-protocols specified. Use a combination of 'TLSv1', 'TLSv1.1', 'TLSv1.2' and 'TLSv1.3'.")
        chosen.append(word.lower())
    return tuple(chosen)


def _readable(path: str, line: str) -> None:
    """A file OpenSSL cannot open is reported with the system's reason (raises ConfigureError)."""
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        fail(line.format(path, _openssl_text(error)))


def _holds_certificate(path: str) -> bool:
    """Whether the file starts with a PEM certificate OpenSSL would read (then the key is at fault)."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            ssl.PEM_cert_to_DER_cert(f.read().split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n")
        return True
    except (OSError, ValueError):
        return False


def fail(message: str):
    log.warning(message)
    raise ConfigureError(message)


def error_text(error: OSError) -> str:
    """An error as OpenSSL 3's ERR_error_string words it (`error:0A0000C7:SSL
    routines::peer did not return a certificate`), as Redis logs TLS errors; a plain system
    error by its strerror."""
    if not isinstance(error, ssl.SSLError) or not getattr(error, "library", None):
        return error.strerror or str(error)
    codes = _ERROR_CODES.get((error.library, error.reason))
    code = ((codes[0] & 0xFF) << 23) | (codes[1] & 0x7FFFFF) if codes else 0
    # OpenSSL's reason strings are its reason names in lower case, words apart (Python words
    # some errors its own way, "EOF occurred in violation of protocol").
    reason = (error.reason or "").lower().replace("_", " ")
    return f"error:{code:08X}:{LIBRARY_NAMES.get(error.library, error.library)}::{reason}"


def _openssl_text(error: OSError) -> str:
    """What OpenSSL says of a file it could not use: a system error is one of its errors too."""
    if isinstance(error, ssl.SSLError) or not error.errno:
        return error_text(error)
    return f"error:{SYSTEM_ERROR_FLAG | error.errno:08X}:system library::{error.strerror}"


def _pem_error_text(error: OSError, path: str, block: bytes, unreadable: str) -> str:
    """Python reports a file OpenSSL could not decode as its own `PEM lib` error, the reason
    lost: when the file has no PEM block of the kind wanted, OpenSSL 3's first error is known
    (`unreadable`)."""
    if isinstance(error, ssl.SSLError) and error.reason is None:
        try:
            with open(path, "rb") as f:
                if block not in f.read():
                    return unreadable
        except OSError:
            pass
    return _openssl_text(error)


def _key_error_text(error: OSError, path: str, password: bytes) -> str:
    """As _pem_error_text, for the key: also an encrypted one without its password (OpenSSL
    3.0 says the prompt was cancelled) or with a wrong one."""
    if isinstance(error, ssl.SSLError) and error.reason is None:
        try:
            with open(path, "rb") as f:
                encrypted = b"ENCRYPTED" in f.read()
        except OSError:
            encrypted = False
        if encrypted:
            return NO_KEY_PASSWORD if not password else BAD_KEY_PASSWORD
    return _pem_error_text(error, path, b"PRIVATE KEY-----", NO_PEM_KEY)


def wrap(context: ssl.SSLContext, sock):
    """An accepted connection, its handshake left to the server's loop."""
    return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False,
                               suppress_ragged_eofs=False)  # a cut connection is an error, as in Redis


def is_tls(sock) -> bool:
    return isinstance(sock, ssl.SSLSocket)


# What a non-blocking TLS socket raises when it must wait: for more bytes, or room to write.
WOULD_BLOCK = (ssl.SSLWantReadError, ssl.SSLWantWriteError)
