"""Draft ```command declarations from a live server's COMMAND INFO and COMMAND DOCS.

A starting point for a new spec family, read off the oracle (real redis-server):

    python tools/draft_declarations.py --port 6379 lpush lpop client

The drafts carry the facts the server reports (syntax, arity, flags, keys, ACL categories);
the summary and the prose around each block are ours to write.
"""
import argparse

import redis

DEFAULT_TYPE = {"key": "key"}


def _token(token: str) -> str:
    return token if not any(c.islower() for c in token) else f'"{token}"'


def render(arg: dict) -> str:
    """One argument in our notation (see spec/grammar.lark), mirroring how spec/ reads it back."""
    kind, token, flags = arg["type"], arg.get("token"), arg.get("flags", [])
    optional, multiple = "optional" in flags, "multiple" in flags
    if kind == "pure-token":
        body = _token(token)
        if arg["name"] != token.lower():
            body = f"({arg['name']}: {body})"
            if optional:
                return f"[{body[1:-1]}]"
            return body
    elif kind in ("oneof", "block"):
        members = [render(a) for a in arg["arguments"]]
        joined = "_".join(a["name"] for a in arg["arguments"])
        if kind == "oneof":
            label = "" if arg["name"] == joined else arg["name"] + ": "
            body = f"({label}{' | '.join(members)})"
            if token:
                body = f"{_token(token)} {body}"
        else:
            default = token.lower() if token else joined
            needs_label = arg["name"] != default or len(members) == 1
            label = arg["name"] + ": " if needs_label else ""
            inner = " ".join(members)
            body = f"({label}{_token(token) + ' ' if token else ''}{inner})"
            if not token and not label and multiple and not optional:
                return f"{inner} [{inner} ...]"
        if multiple:
            body = f"{body} ..."
        if optional:
            body = f"[{body[1:-1]}]" if body.startswith("(") and body.endswith(")") else f"[{body}]"
        return body
    else:
        body = arg["name"] if kind == DEFAULT_TYPE.get(arg["name"], "string") else f"{arg['name']}:{kind}"
        if multiple:
            again = f"{_token(token)} {body}" if "multiple_token" in flags else body
            body = f"{body} [{again} ...]"
        if token:
            body = f"{_token(token)} {body}"
    return f"[{body}]" if optional else body


def render_key_specs(specs) -> str:
    """COMMAND INFO's key specifications in the spec's notation (see spec/grammar.lark)."""
    dec = lambda v: v.decode() if isinstance(v, bytes) else v
    rendered = []
    for spec in specs:
        spec = {dec(k): v for k, v in zip(spec[::2], spec[1::2])} if isinstance(spec, list) else \
            {dec(k): v for k, v in spec.items()}
        def pairs(x):
            return {dec(k): v for k, v in zip(x[::2], x[1::2])} if isinstance(x, list) else \
                {dec(k): v for k, v in x.items()}
        begin, find = pairs(spec["begin_search"]), pairs(spec["find_keys"])
        begin_spec, find_spec = pairs(begin["spec"]), pairs(find["spec"])
        if dec(begin["type"]) == "index":
            begin_text = f"index {begin_spec['index']}"
        elif dec(begin["type"]) == "keyword":
            begin_text = f"keyword {dec(begin_spec['keyword'])} {begin_spec['startfrom']}"
        else:
            begin_text = "unknown"
        if dec(find["type"]) == "range":
            find_text = f"range {find_spec['lastkey']} {find_spec['keystep']} {find_spec['limit']}"
        elif dec(find["type"]) == "keynum":
            find_text = f"keynum {find_spec['keynumidx']} {find_spec['firstkey']} {find_spec['keystep']}"
        else:
            find_text = "unknown"
        flags = " ".join(dec(f) for f in spec["flags"])
        rendered.append(f"{begin_text} / {find_text} / {flags}")
    return "; ".join(rendered)


def _draft(info, docs, name):
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in zip(docs[::2], docs[1::2])} if isinstance(docs, list) else docs
    dec = lambda v: v.decode() if isinstance(v, bytes) else v
    def norm(a):
        a = {dec(k): v for k, v in zip(a[::2], a[1::2])}
        out = {"name": dec(a["name"]), "type": dec(a["type"]), "flags": [dec(f) for f in a.get("flags", [])]}
        if "token" in a:
            out["token"] = dec(a["token"])
        if "arguments" in a:
            out["arguments"] = [norm(x) for x in a["arguments"]]
        return out
    args = [norm(a) for a in d.get("arguments", [])]
    display = name.replace("|", " ").upper()
    lines = [" ".join([display, *(render(a) for a in args)])]
    lines.append(f"arity: {info[1]}")
    lines.append("flags: " + " ".join(dec(f) for f in info[2]))
    if info[3]:
        lines.append(f"keys: {info[3]} {info[4]} {info[5]}")
    if info[6]:
        lines.append("acl: " + " ".join(dec(c) for c in info[6]))
    lines.append(f"group: {dec(d['group'])}")
    lines.append(f"since: {dec(d['since'])}")
    if d.get("complexity"):
        lines.append(f"complexity: {dec(d['complexity'])}")
    if info[7]:
        lines.append("tips: " + " ".join(dec(t) for t in info[7]))
    if info[8]:
        lines.append("key-specs: " + render_key_specs(info[8]))
    if d.get("doc_flags"):
        lines.append("doc-flags: " + " ".join(dec(f) for f in d["doc_flags"]))
    if d.get("deprecated_since"):
        lines.append(f"deprecated-since: {dec(d['deprecated_since'])}")
    if d.get("replaced_by"):
        lines.append(f"replaced-by: {dec(d['replaced_by'])}")
    if info[9]:
        lines.append("container: yes")
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("commands", nargs="+")
    opts = ap.parse_args()
    conn = redis.Connection(port=opts.port, protocol=2)

    class Raw:  # no response callbacks: the replies as the server sent them
        def execute_command(self, *args):
            conn.send_command(*args)
            return conn.read_response()
    r = Raw()
    for name in opts.commands:
        raw_info = r.execute_command("COMMAND", "INFO", name)
        raw_docs = r.execute_command("COMMAND", "DOCS", name)
        info = raw_info[0] if isinstance(raw_info, list) else list(raw_info.values())[0]
        docs = raw_docs[1] if isinstance(raw_docs, list) else list(raw_docs.values())[0]
        print("```command")
        print("\n".join(_draft(info, docs, name)))
        print("```\n")
        subs = info[9] or []
        for sub in subs:
            sname = sub[0].decode()
            sdocs_raw = r.execute_command("COMMAND", "DOCS", sname)
            sdocs = sdocs_raw[1] if isinstance(sdocs_raw, list) else list(sdocs_raw.values())[0]
            print("```command")
            print("\n".join(_draft(sub, sdocs, sname)))
            print("```\n")


if __name__ == "__main__":
    main()
