"""Handlers of spec/bitmaps.md: bit and bitfield commands over string values.

Bit 0 is the most significant bit of the first byte. A string a bit command writes becomes a
`bytearray` (changed in place from then on, OBJECT ENCODING raw).

BITCOUNT, BITPOS and BITFIELD look at their words themselves (their declarations' `parse:` lines
take the words as they come): Redis reads them interleaved with the key lookup, and the order of
the errors is part of what these commands are.
"""
from __future__ import annotations

from reference.commands import getkeys, handler
from reference.commands.strings import STRING_TYPES
from reference.dispatch import WRONGTYPE, CommandError
from reference.values import parse_int

OFFSET_ERROR = "ERR bit offset is not an integer or out of range"
BIT_ERROR = "ERR bit is not an integer or out of range"
SYNTAX_ERROR = "ERR syntax error"
TYPE_ERROR = ("ERR Invalid bitfield type. Use something like i16 u8. "
              "Note that u64 is not supported but i64 is.")


def _string(value):
    if value is not None and not isinstance(value, STRING_TYPES):
        raise CommandError(WRONGTYPE)
    return value


def _check_offset(client, offset: int) -> int:
    """A bit offset must be non-negative and its byte below proto-max-bulk-len, unless the
    command comes from the AOF being loaded or from our master (which Redis obeys)."""
    obeyed = client.kind == "master" or client.server.keyspace.loading
    if offset < 0 or (not obeyed and offset >> 3 >= client.server.config["proto-max-bulk-len"]):
        raise CommandError(OFFSET_ERROR)
    return offset


def _parse_offset(client, raw: bytes, width: int = 0) -> int:
    """An offset word; with a width (BITFIELD), `#n` means n fields of that width."""
    fields = width and raw.startswith(b"#")
    offset = parse_int(raw[1:] if fields else raw, OFFSET_ERROR)
    return _check_offset(client, offset * width if fields else offset)


def _store_quietly(db, key: bytes, value: bytearray) -> None:
    """Put value at key (missing, or holding the same bytes) without counting a change or telling
    WATCHers, as Redis's dbAdd and dbUnshareStringValue: the command signals the key only once
    it has changed something, so a write that fails under OVERFLOW FAIL leaves a transaction be."""
    db.data[key] = value
    db.access[key] = db.clock.ms


def _writable(client, key: bytes, last_bit: int) -> tuple[bytearray, bool]:
    """The string at key, created or extended with zero bytes to hold `last_bit`, in place;
    and whether it was created or grew (Redis's lookupStringForBitCommand)."""
    db = client.db
    value = _string(db.get(key))
    length = (last_bit >> 3) + 1
    if value is None:
        value = bytearray(length)
        _store_quietly(db, key, value)
        return value, True
    grew = len(value) < length
    if not isinstance(value, bytearray):
        value = bytearray(value)
        _store_quietly(db, key, value)
    if grew:
        value.extend(bytes(length - len(value)))
    return value, grew


# --- SETBIT and GETBIT -------------------------------------------------------------------

@handler("setbit")
def setbit(client, args):
    offset = _check_offset(client, args["offset"])
    if args["value"] not in (0, 1):
        raise CommandError(BIT_ERROR)
    value, grew = _writable(client, args["key"], offset)
    byte, mask = offset >> 3, 0x80 >> (offset & 7)
    old = 1 if value[byte] & mask else 0
    if grew or old != args["value"]:
        value[byte] = (value[byte] & ~mask) | (mask if args["value"] else 0)
        client.db.changed(args["key"])
    return old


@handler("getbit")
def getbit(client, args):
    offset = _check_offset(client, args["offset"])
    value = _string(client.db.lookup_read(args["key"])) or b""
    byte = offset >> 3
    return 1 if byte < len(value) and value[byte] & (0x80 >> (offset & 7)) else 0


# --- BITCOUNT and BITPOS -----------------------------------------------------------------

def _unit_is_bit(word: bytes) -> bool:
    unit = word.lower()
    if unit not in (b"bit", b"byte"):
        raise CommandError(SYNTAX_ERROR)
    return unit == b"bit"


def _clamp(start: int, end: int, total: int) -> tuple[int, int]:
    """Offsets counted from the end made absolute, then kept within [0, total - 1]."""
    if start < 0:
        start += total
    if end < 0:
        end += total
    return max(start, 0), min(max(end, 0), total - 1)


def bits_of(value: bytes, start: int, end: int) -> str:
    """The bits from start to end inclusive, as a string of 0s and 1s."""
    first, last = start >> 3, end >> 3
    text = "".join(f"{byte:08b}" for byte in value[first:last + 1])
    return text[start - first * 8:end - first * 8 + 1]


@handler("bitcount")
def bitcount(client, args):
    value = _string(client.db.lookup_read(args["key"]))
    if value is None:
        return 0
    words = args.get("range", [])
    if len(words) not in (0, 2, 3):
        raise CommandError(SYNTAX_ERROR)
    if not words:
        return sum(bin(byte).count("1") for byte in value)
    start, end = parse_int(words[0]), parse_int(words[1])
    if start < 0 and end < 0 and start > end:
        return 0
    in_bits = len(words) == 3 and _unit_is_bit(words[2])
    start, end = _clamp(start, end, len(value) * 8 if in_bits else len(value))
    if start > end:
        return 0
    if not in_bits:
        start, end = start * 8, end * 8 + 7
    return bits_of(value, start, end).count("1")


@handler("bitpos")
def bitpos(client, args):
    bit = parse_int(args["bit"])
    if bit not in (0, 1):
        raise CommandError("ERR The bit argument must be 1 or 0.")
    value = _string(client.db.lookup_read(args["key"]))
    if value is None:
        return -1 if bit else 0
    words = args.get("range", [])
    if len(words) > 3:
        raise CommandError(SYNTAX_ERROR)
    in_bits, end_given = False, len(words) >= 2
    if words:
        start = parse_int(words[0])
        in_bits = len(words) == 3 and _unit_is_bit(words[2])
        end = parse_int(words[1]) if end_given else -1
    else:
        start, end = 0, -1
    total = len(value) * 8 if in_bits else len(value)
    start, end = _clamp(start, end, total)
    if start > end:
        return -1
    if not in_bits:
        start, end = start * 8, end * 8 + 7
    found = bits_of(value, start, end).find(str(bit))
    if found >= 0:
        return start + found
    # Looking for a 0 without an end: the string continues with zeros past its last byte.
    return -1 if bit or end_given else (end | 7) + 1


# --- BITOP ---------------------------------------------------------------------------------

@handler("bitop")
def bitop(client, args):
    operation = args["operation"]        # the matcher has refused other words
    keys = args["key"]
    if operation == "not" and len(keys) != 1:
        raise CommandError("ERR BITOP NOT must be called with a single source key.")
    sources = [_string(client.db.lookup_read(key)) or b"" for key in keys]
    length = max(len(source) for source in sources)
    db, destination = client.db, args["destkey"]
    if not length:
        if db.get(destination) is not None:
            db.delete(destination)
        return 0
    numbers = [int.from_bytes(bytes(source).ljust(length, b"\0"), "big") for source in sources]
    result = numbers[0]
    for number in numbers[1:]:
        if operation == "and":
            result &= number
        elif operation == "or":
            result |= number
        else:
            result ^= number
    if operation == "not":
        result ^= (1 << (8 * length)) - 1
    db.set(destination, bytearray(result.to_bytes(length, "big")))
    return length


# --- BITFIELD ------------------------------------------------------------------------------

def field_type(raw: bytes) -> tuple[bool, int]:
    """`i8` -> (signed, 8): i1 to i64, u1 to u63."""
    signed = raw[:1] == b"i"
    if raw[:1] not in (b"i", b"u"):
        raise CommandError(TYPE_ERROR)
    width = parse_int(raw[1:], TYPE_ERROR)
    if not 1 <= width <= (64 if signed else 63):
        raise CommandError(TYPE_ERROR)
    return signed, width


def overflow(value: int, signed: bool, width: int, mode: bytes) -> int | None:
    """value stored in a field of that type under an OVERFLOW mode (b"wrap", b"sat", b"fail"):
    the value itself if it fits, else wrapped, saturated, or None (FAIL: nothing written)."""
    low, high = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    if low <= value <= high:
        return value
    if mode == b"sat":
        return high if value > high else low
    if mode == b"fail":
        return None
    wrapped = value & ((1 << width) - 1)
    return wrapped - (1 << width) if signed and wrapped > high else wrapped


def read_field(value, offset: int, signed: bool, width: int) -> int:
    """The field at bit `offset` of value (zeros past its end)."""
    first = offset >> 3
    chunk = bytes(value[first:((offset + width - 1) >> 3) + 1])
    number = int.from_bytes(chunk.ljust(((offset + width - 1) >> 3) + 1 - first, b"\0"), "big")
    number = (number >> ((8 - (offset + width) % 8) % 8)) & ((1 << width) - 1)
    if signed and number >> (width - 1):
        number -= 1 << width
    return number


def write_field(value: bytearray, offset: int, width: int, number: int) -> None:
    """Store number's low `width` bits at bit `offset` (value is long enough)."""
    first, last = offset >> 3, (offset + width - 1) >> 3
    shift = (8 - (offset + width) % 8) % 8
    mask = ((1 << width) - 1) << shift
    size = last - first + 1
    chunk = int.from_bytes(value[first:last + 1], "big")
    chunk = (chunk & ~mask) | ((number << shift) & mask)
    value[first:last + 1] = chunk.to_bytes(size, "big")


def _operations(client, words: list[bytes]) -> list[tuple]:
    """BITFIELD's words -> [(op, signed, width, offset, amount, mode)], op b"get"/b"set"/b"incrby",
    read as Redis reads them, the first error raised."""
    operations, mode, i = [], b"wrap", 0
    while i < len(words):
        op, left = words[i].lower(), len(words) - i - 1
        if op == b"overflow" and left >= 1:
            mode = words[i + 1].lower()
            if mode not in (b"wrap", b"sat", b"fail"):
                raise CommandError("ERR Invalid OVERFLOW type specified")
            i += 2
            continue
        if not (op == b"get" and left >= 2 or op in (b"set", b"incrby") and left >= 3):
            raise CommandError(SYNTAX_ERROR)
        signed, width = field_type(words[i + 1])
        offset = _parse_offset(client, words[i + 2], width)
        amount = parse_int(words[i + 3]) if op != b"get" else 0
        operations.append((op, signed, width, offset, amount, mode))
        i += 3 if op == b"get" else 4
    return operations


def _bitfield(client, args, read_only: bool):
    key = args["key"]
    operations = _operations(client, args.get("word", []))
    writes = [operation for operation in operations if operation[0] != b"get"]
    if not writes:
        value = _string(client.db.lookup_read(key)) or b""
    elif read_only:
        raise CommandError("ERR BITFIELD_RO only supports the GET subcommand")
    else:
        last_bit = max(offset + width - 1 for _, _, width, offset, _, _ in writes)
        value, grew = _writable(client, key, last_bit)
    replies, changes = [], 0
    for op, signed, width, offset, amount, mode in operations:
        old = read_field(value, offset, signed, width)
        if op == b"get":
            replies.append(old)
            continue
        if op == b"incrby":
            new = old + amount
        else:   # an unsigned field takes the value as Redis's uint64_t does: -1 is 2**64 - 1
            new = amount if signed else amount & 0xFFFF_FFFF_FFFF_FFFF
        new = overflow(new, signed, width, mode)
        if new is None:
            replies.append(None)
            continue
        replies.append(new if op == b"incrby" else old)
        write_field(value, offset, width, new)
        if grew or new != old:
            changes += 1
    if changes:
        client.db.changed(key, changes)
    return replies


@handler("bitfield")
def bitfield(client, args):
    return _bitfield(client, args, read_only=False)


@handler("bitfield_ro")
def bitfield_ro(client, args):
    return _bitfield(client, args, read_only=True)


@getkeys("bitfield")
def bitfield_keys(argv: list[bytes]) -> list[tuple[int, tuple[str, ...]]]:
    """BITFIELD's key is only read when its operations (as far as they parse) are GETs."""
    i = 2
    while i < len(argv):
        word, left = argv[i].lower(), len(argv) - i - 1
        if word == b"get" and left >= 2:
            i += 3
        elif word == b"overflow" and left >= 1:
            i += 2
        else:   # a write, or a syntax error (which Redis takes for a write, to be safe)
            return [(1, ("RW", "access", "update"))]
    return [(1, ("RO", "access"))]
