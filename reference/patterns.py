"""Redis's glob matcher (util.c stringmatchlen), shared by CONFIG GET, KEYS,
SCAN MATCH and PSUBSCRIBE."""


def glob_match(pattern: bytes, string: bytes, nocase: bool = False) -> bool:
    """Redis's glob: * ? [abc] [^abc] [a-z] and backslash escapes.

    Quirks kept on purpose: a range may be written backwards ([z-a]); an
    unterminated class matches as if closed at the end of the pattern; bytes
    compare as signed chars in ranges; an empty string matches nothing, not
    even "*" (KEYS and SCAN special-case a lone "*" before calling this)."""
    return _match(pattern, 0, string, 0, nocase, [False])


def _signed(byte: int) -> int:
    return byte - 256 if byte >= 128 else byte


def _lower(byte: int) -> int:
    return byte + 32 if 65 <= byte <= 90 else byte


def _match(p: bytes, pi: int, s: bytes, si: int, nocase: bool, give_up: list) -> bool:
    def at(i):  # C strings end with a NUL that the code sometimes peeks at
        return p[i] if i < len(p) else 0

    def same(a, b):
        return _lower(a) == _lower(b) if nocase else a == b

    while pi < len(p) and si < len(s):
        c = p[pi]
        if c == ord("*"):
            while at(pi + 1) == ord("*"):
                pi += 1
            if pi + 1 == len(p):
                return True
            while si < len(s):
                if _match(p, pi + 1, s, si, nocase, give_up):
                    return True
                if give_up[0]:  # the rest of the pattern matches nowhere: no longer match can help
                    return False
                si += 1
            give_up[0] = True
            return False
        elif c == ord("?"):
            si += 1
        elif c == ord("["):
            pi += 1
            negate = at(pi) == ord("^")
            if negate:
                pi += 1
            matched = False
            while True:
                left = len(p) - pi
                if at(pi) == ord("\\") and left >= 2:
                    pi += 1
                    matched |= p[pi] == s[si]  # an escaped byte compares exactly, even with nocase
                elif at(pi) == ord("]"):
                    break
                elif left == 0:
                    pi -= 1  # unterminated class: stop at the last byte of the pattern
                    break
                elif left >= 3 and p[pi + 1] == ord("-"):
                    start, end, ch = _signed(p[pi]), _signed(p[pi + 2]), _signed(s[si])
                    if start > end:
                        start, end = end, start
                    if nocase:
                        start, end, ch = _lower(start), _lower(end), _lower(ch)
                    pi += 2
                    matched |= start <= ch <= end
                else:
                    matched |= same(p[pi], s[si])
                pi += 1
            if negate:
                matched = not matched
            if not matched:
                return False
            si += 1
        else:
            if c == ord("\\") and len(p) - pi >= 2:
                pi += 1
            if not same(p[pi], s[si]):
                return False
            si += 1
        pi += 1
        if si == len(s):
            while at(pi) == ord("*"):
                pi += 1
            break
    return pi == len(p) and si == len(s)

