"""Handlers of spec/connection.md: the connection's own state, and the list of connections.

HELLO's options and CLIENT KILL's filters are read here, word by word, because Redis reads them
itself and reports the first bad word with a text of its own (their `parse:` lines hand the
words over unread).
"""
from __future__ import annotations

import time

from reference import client_pause
from reference.commands import handler, subcommand_help
from reference.config import REDIS_VERSION
from reference.dispatch import CommandError
from reference.protocol import OK, PONG, Status, Verbatim, wire_text
from reference.values import parse_int

SYNTAX_ERROR = "ERR syntax error"
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
BAD_NAME = "ERR Client names cannot contain spaces, newlines or special characters."
HELLO_NOAUTH = (
    "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    "HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
    "the RESP protocol version at the same time")
AUTH_WITHOUT_PASSWORD = (
    "ERR AUTH <password> called without any password configured for the default user. "
    "Are you sure your configuration is correct?")
KILL_ID_ERROR = "ERR client-id should be greater than 0"
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
INT_RANGE_ERROR = f"ERR value is out of range, value must between {INT32_MIN} and {INT32_MAX}"

# The only user the reference knows (ACL is a named divergence, see the spec).
DEFAULT_USER = b"default"

# What CLIENT LIST / CLIENT KILL TYPE accept, and the type each name stands for.
CLIENT_TYPES = {b"normal": "normal", b"master": "master", b"replica": "replica",
                b"slave": "replica", b"pubsub": "pubsub"}

# --- helpers shared by several commands -----------------------------------------------------


def authenticate(client, username: bytes, password: bytes) -> bool:
    """Check a user and password; on success the connection is authenticated."""
    requirepass = client.server.config["requirepass"]
    if username != DEFAULT_USER:
        return False
    if requirepass and password != requirepass.encode("utf-8", "surrogateescape"):
        return False
    client.set_authenticated(True)
    return True


def valid_name(name: bytes) -> bool:
    """Printable ASCII without space, so that a CLIENT LIST line splits on spaces."""
    return all(0x21 <= byte <= 0x7E for byte in name)


def set_name(client, name: bytes) -> None:
    if not valid_name(name):
        raise CommandError(BAD_NAME)
    client.name = name


def client_type(client) -> str:
    """The type CLIENT LIST TYPE and CLIENT KILL TYPE select by."""
    if client.kind in ("master", "replica"):  # our master's link; a replica's (reference/replication/)
        return client.kind
    if client.subscription_count():
        return "pubsub"
    return "normal"  # a MONITOR connection too


def client_type_by_name(word: bytes) -> str:
    kind = CLIENT_TYPES.get(word.lower())
    if kind is None:
        raise CommandError(f"ERR Unknown client type '{wire_text(word)}'")
    return kind


def flag_letters(client) -> str:
    letters = {"replica": "S", "master": "M"}.get(client.kind, "")  # (no O: no MONITOR in the reference)
    if client.subscription_count():
        letters += "P"
    if client.transaction is not None:
        letters += "x"
    if client.blocked or client.postponed is not None:  # (a command a pause holds is blocked)
        letters += "b"
    if client.dirty_cas:
        letters += "d"
    if client.close_after_reply:
        letters += "c"
    if client.unix_socket:
        letters += "U"
    return letters or "N"


def _buffered_bytes(client) -> tuple[int, int, int]:
    """Bytes of commands received and not yet run, of commands queued by MULTI, of replies
    waiting to be written."""
    return (client.parser.pending(), sum(len(arg) for argv in client.transaction or () for arg in argv),
            sum(len(chunk) for chunk in client.out))


def memory_of(client) -> int:
    """CLIENT LIST's tot-mem: what the connection holds, its reply buffer included."""
    return sum(_buffered_bytes(client)) + client.reply_buffer.size


def describe(client) -> str:
    """The connection's CLIENT LIST line (without its newline)."""
    from reference.reply_buffers import output_memory  # (it names clients by this line)
    now = int(time.time())
    query_bytes, multi_bytes, _ = _buffered_bytes(client)
    fields = (
        ("id", client.id),
        ("addr", client.addr),
        ("laddr", client.laddr),
        ("fd", client.fd),
        ("name", client.name.decode("ascii")),
        ("age", now - int(client.created)),
        ("idle", now - int(client.last_interaction)),
        ("flags", flag_letters(client)),
        ("db", client.db_index),
        ("sub", len(client.channels)),
        ("psub", len(client.patterns)),
        ("ssub", len(client.shard_channels)),
        ("multi", -1 if client.transaction is None else len(client.transaction)),
        ("qbuf", query_bytes),
        ("qbuf-free", 0),
        ("argv-mem", 0),
        ("multi-mem", multi_bytes),
        ("rbs", client.reply_buffer.size),
        ("rbp", client.reply_buffer.peak),
        ("obl", client.reply_buffer.used),
        ("oll", len(client.reply_buffer.blocks)),
        ("omem", output_memory(client)),
        ("tot-mem", memory_of(client)),
        ("events", "rw" if client.writing else "r"),
        ("cmd", client.last_command),
        ("user", DEFAULT_USER.decode()),
        ("redir", -1),
        ("resp", client.protocol),
    )
    return " ".join(f"{name}={value}" for name, value in fields)


# --- commands ---------------------------------------------------------------------------------


@handler("ping")
def ping(client, args):
    message = args.get("message")
    # A subscribed RESP2 connection may only receive arrays.
    if client.subscription_count() and client.protocol == 2:
        return [b"pong", b"" if message is None else message]
    return PONG if message is None else message


@handler("echo")
def echo(client, args):
    return args["message"]


@handler("hello")
def hello(client, args):
    protover = args.get("protover")
    if protover is not None and protover not in (2, 3):
        raise CommandError("NOPROTO unsupported protocol version")
    options = args.get("option", [])
    i = 0
    while i < len(options):
        keyword, more = options[i].upper(), len(options) - i - 1
        if keyword == b"AUTH" and more >= 2:
            if not authenticate(client, options[i + 1], options[i + 2]):
                raise CommandError(WRONGPASS)
            i += 3
        elif keyword == b"SETNAME" and more >= 1:
            set_name(client, options[i + 1])
            i += 2
        else:
            raise CommandError(f"ERR Syntax error in HELLO option '{wire_text(options[i])}'")
    if not client.authenticated:
        raise CommandError(HELLO_NOAUTH)
    if protover is not None:
        client.protocol = protover  # the reply below is already encoded in it
    config = client.server.config
    return {
        b"server": b"redis",
        b"version": REDIS_VERSION.encode(),
        b"proto": client.protocol,
        b"id": client.id,
        b"mode": b"cluster" if config["cluster-enabled"] else b"standalone",
        b"role": b"replica" if config["replicaof"] else b"master",
        b"modules": [],
    }


@handler("quit")
def quit(client, args):
    client.close_after_reply = True
    return OK


@handler("reset")
def reset(client, args):
    client.select(0)  # (a replica or master link could not be reset: the reference has none)
    client.protocol = 2
    client.name = b""
    client.set_authenticated(not client.server.config["requirepass"])
    # Leaving a transaction or a subscription also concerns the families that keep server-side
    # state for them (watched keys, channel registries): they forget this client too.
    client.transaction = None
    client.transaction_failed = False
    client.server.forget_client_state(client)
    client.channels.clear()
    client.patterns.clear()
    client.shard_channels.clear()
    return Status("RESET")


@handler("select", raw=("index",))
def select(client, args):
    # Redis reads the index as a C int, with an error text of its own for a 64-bit integer
    # that does not fit.
    index = parse_int(args["index"])
    if not INT32_MIN <= index <= INT32_MAX:
        raise CommandError(INT_RANGE_ERROR)
    if client.server.config["cluster-enabled"] and index != 0:
        raise CommandError("ERR SELECT is not allowed in cluster mode")
    if not 0 <= index < len(client.server.keyspace):
        raise CommandError("ERR DB index is out of range")
    client.select(index)
    return OK


@handler("auth")
def auth(client, args):
    if "username" not in args and not client.server.config["requirepass"]:
        raise CommandError(AUTH_WITHOUT_PASSWORD)
    if not authenticate(client, args.get("username", DEFAULT_USER), args["password"]):
        raise CommandError(WRONGPASS)
    return OK


@handler("client|setname")
def client_setname(client, args):
    set_name(client, args["connection-name"])
    return OK


@handler("client|getname")
def client_getname(client, args):
    return client.name or None


@handler("client|id")
def client_id(client, args):
    return client.id


@handler("client|info")
def client_info(client, args):
    return Verbatim(describe(client) + "\n")


@handler("client|list")
def client_list(client, args):
    clients = client.server.clients  # by id, so in the order they were accepted
    if "client-type" in args:
        kind = client_type_by_name(args["client-type"])
        chosen = [other for other in clients.values() if client_type(other) == kind]
    elif "client-id" in args:
        chosen = [clients[wanted] for wanted in args["client-id"] if wanted in clients]
    else:
        chosen = list(clients.values())
    return Verbatim("".join(describe(other) + "\n" for other in chosen))


@handler("client|kill")
def client_kill(client, args):
    words = args["word"]
    clients = list(client.server.clients.values())
    if len(words) == 1:
        # The old form: one address, and the caller may kill itself.
        address = wire_text(words[0])
        victims = [other for other in clients if other.addr == address]
        if not victims:
            raise CommandError("ERR No such client")
        reply = OK
    else:
        filters = read_kill_filters(words)
        victims = [other for other in clients if matches_kill_filters(other, client, filters)]
        reply = len(victims)
    for victim in victims:
        if victim is client:
            client.close_after_reply = True  # once this reply is written
        else:
            client.server.close_client(victim)
    return reply


def read_kill_filters(words: list[bytes]) -> dict:
    """The new form's keyword/value pairs, checked left to right; the last of a kind wins."""
    filters = {"skipme": True}
    for i in range(0, len(words), 2):
        if i + 1 == len(words):
            raise CommandError(SYNTAX_ERROR)
        keyword, value = words[i].lower(), words[i + 1]
        if keyword == b"id":
            client_id = parse_int(value, KILL_ID_ERROR)
            if client_id < 1:
                raise CommandError(KILL_ID_ERROR)
            filters["id"] = client_id
        elif keyword == b"type":
            filters["type"] = client_type_by_name(value)
        elif keyword == b"user":
            if value != DEFAULT_USER:
                raise CommandError(f"ERR No such user '{wire_text(value)}'")
            filters["user"] = value
        elif keyword == b"addr":
            filters["addr"] = wire_text(value)
        elif keyword == b"laddr":
            filters["laddr"] = wire_text(value)
        elif keyword == b"skipme" and value.lower() in (b"yes", b"no"):
            filters["skipme"] = value.lower() == b"yes"
        else:
            raise CommandError(SYNTAX_ERROR)
    return filters


def matches_kill_filters(other, caller, filters: dict) -> bool:
    # Every connection is the default user's, so a valid USER filter matches them all.
    return ((filters.get("addr") in (None, other.addr))
            and (filters.get("laddr") in (None, other.laddr))
            and (filters.get("type") in (None, client_type(other)))
            and (filters.get("id") in (None, other.id))
            and not (other is caller and filters["skipme"]))


@handler("client|pause", raw=("timeout",))
def client_pause_command(client, args):
    mode = args.get("mode")
    kind = client_pause.ALL
    if mode is not None:  # (checked before the timeout, as Redis does)
        kinds = {b"write": client_pause.WRITE, b"all": client_pause.ALL}
        kind = kinds.get(mode.lower())
        if kind is None:
            raise CommandError("ERR CLIENT PAUSE mode must be WRITE or ALL")
    timeout = parse_int(args["timeout"], "ERR timeout is not an integer or out of range")
    if timeout < 0:
        raise CommandError("ERR timeout is negative")
    server = client.server
    # 0 ends at once; a timeout so large that adding it overflows ends in the past, as in Redis.
    end = client_pause.wrap_int64(timeout + server.keyspace.clock.tick()) if timeout else 0
    server.pause_clients(client_pause.BY_CLIENT_COMMAND, end, kind)
    return OK


@handler("client|unpause")
def client_unpause(client, args):
    client.server.unpause_clients(client_pause.BY_CLIENT_COMMAND)
    return OK


@handler("client|help")
def client_help(client, args):
    return subcommand_help(client, "client")
