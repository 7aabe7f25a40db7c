"""The compatibility report: what a server passed, per command, per family and per test.

The conformance plugin gathers one TestResult per test when asked (--compat-report DIR) and
hands them to build_report and write_report; everything here is plain functions of plain
data, so it is tested without a server. `redspec-conformance` (main) runs the suite and the
models with a JUnit XML file and this report side by side in one directory:

    redspec-conformance --target 127.0.0.1:6379 [--out DIR] [any pytest arguments]
    redspec-conformance --server "/path/to/server" [--out DIR] [any pytest arguments]

What the report holds for each test: its outcome, the commands it sent (the raw client tells
the plugin of every command), the first failing assertion when it failed, and the Redis
version its behaviour comes from: the test's @pytest.mark.since("X") when it has one (a
behaviour newer than its command, e.g. an option added later), else the newest `since` of the
commands it sent, as spec/ declares them.
"""

from __future__ import annotations

import argparse
import collections
import html
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

OUTCOMES = ("passed", "failed", "error", "skipped")
JSON_NAME = "compatibility.json"
HTML_NAME = "compatibility.html"
JUNIT_NAME = "junit.xml"


@dataclass
class TestResult:
    """One test as the report sees it."""

    __test__ = False  # not a pytest test class, whatever its name says

    nodeid: str
    outcome: str  # one of OUTCOMES
    duration: float = 0.0  # seconds, all phases
    commands: tuple[str, ...] = ()  # command names it sent, e.g. ("GET", "OBJECT FREQ")
    since: str | None = None  # from @pytest.mark.since, if any
    failure: str | None = None  # the first failing assertion, when failed or error


def family_of(nodeid: str) -> str:
    """conformance/test_strings.py::test_x[1] -> "strings"."""
    module = nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    return module.removesuffix(".py").removeprefix("test_")


def command_catalog() -> dict[str, dict]:
    """Every command and subcommand spec/ declares: {"OBJECT FREQ": {"group", "since"}, ...}."""
    import spec  # here, so that the rest of this module needs nothing but the standard library

    catalog = {}
    for command in spec.load().values():
        catalog[command.name.upper()] = {"group": command.group, "since": command.since}
        for sub in command.subcommands.values():
            name = sub.name.replace("|", " ").upper()
            catalog[name] = {"group": sub.group or command.group, "since": sub.since}
    return catalog


def _word(arg) -> str:
    if isinstance(arg, bytes):
        return arg.decode("utf-8", "replace").upper()
    return str(arg).upper()


def command_name(args, catalog: dict) -> str:
    """The name a command is reported under: ("object", "freq", "k") -> "OBJECT FREQ" when the
    catalog knows that subcommand, else the first word alone ("SET")."""
    if not args:
        return ""
    first = _word(args[0])
    if len(args) > 1:
        pair = f"{first} {_word(args[1])}"
        if pair in catalog:
            return pair
    return first


def version_key(version: str) -> tuple[int, ...]:
    """ "6.2.0" -> (6, 2, 0); words that are not numbers count as 0."""
    return tuple(int(part) if part.isdigit() else 0 for part in version.split("."))


def behaviour_version(result: TestResult, catalog: dict) -> tuple[str | None, str]:
    """(version, where it comes from) for the behaviour a test judges."""
    if result.since:
        return result.since, "marker"
    known = [(catalog[name]["since"], name) for name in result.commands if name in catalog]
    if not known:
        return None, ""
    version, name = max(known, key=lambda pair: version_key(pair[0]))
    return version, f"newest command: {name}"


def first_failure(message: str, max_lines: int = 6, max_chars: int = 500) -> str:
    """The head of a failure message: its first lines, shortened."""
    lines = [line.rstrip() for line in message.strip().splitlines()]
    text = "\n".join(lines[:max_lines])
    if len(lines) > max_lines:
        text += "\n..."
    if len(text) > max_chars:
        text = text[: max_chars - 3] + "..."
    return text


def is_assertion(message: str) -> bool:
    """Did the test fail on an assertion (pytest's message for one starts "assert" or
    "AssertionError"), rather than on an exception its code met?"""
    return message.lstrip().startswith(("assert", "AssertionError"))


def describe_reply(command: str, reply, limit: int = 300) -> str:
    """The line that goes with a failure that is no assertion: the last reply read."""
    text = repr(reply)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return f"last reply read: {command} -> {text}"


def _counts(outcomes) -> dict:
    counter = collections.Counter(outcomes)
    counts = {outcome: counter[outcome] for outcome in OUTCOMES}
    counts["tests"] = sum(counts.values())
    return counts


def _status(counts: dict) -> str:
    """pass: every test that used it passed; fail: none did; partial: some did; untested."""
    bad = counts["failed"] + counts["error"]
    if counts["passed"] + bad == 0:
        return "untested"
    if bad == 0:
        return "pass"
    return "fail" if counts["passed"] == 0 else "partial"


@dataclass
class RunInfo:
    """What the report says about the run itself."""

    target: str = ""  # "127.0.0.1:6379" or the server command
    server_version: str = ""  # as the server reports it (INFO or HELLO), if it does
    duration: float = 0.0  # seconds
    deselected: int = 0
    events: list[str] = field(default_factory=list)  # e.g. "restarted the server after X"


def build_report(results: list[TestResult], catalog: dict, run: RunInfo) -> dict:
    """The whole report as plain data (what compatibility.json holds)."""
    tests = []
    for result in results:
        version, version_source = behaviour_version(result, catalog)
        tests.append({**asdict(result), "duration": round(result.duration, 3), "commands": list(result.commands),
                      "family": family_of(result.nodeid),
                      "version": version, "version_source": version_source})

    by_family = collections.defaultdict(list)
    by_command = collections.defaultdict(list)
    for test in tests:
        by_family[test["family"]].append(test)
        for name in test["commands"]:
            by_command[name].append(test)

    families = [{"family": family, **_counts(test["outcome"] for test in members)}
                for family, members in sorted(by_family.items())]

    commands = []
    for name in sorted(set(catalog) | set(by_command)):
        users = by_command.get(name, [])
        counts = _counts(test["outcome"] for test in users)
        known = catalog.get(name, {})
        commands.append({
            "command": name, "group": known.get("group", ""), "since": known.get("since", ""),
            **counts, "status": _status(counts),
            "failing_tests": [test["nodeid"] for test in users if test["outcome"] in ("failed", "error")],
        })

    totals = _counts(test["outcome"] for test in tests)
    totals["deselected"] = run.deselected
    return {
        "summary": summary_line(totals, commands, run),
        "run": asdict(run),
        "totals": totals,
        "families": families,
        "commands": commands,
        "tests": tests,
    }


def summary_line(totals: dict, commands: list[dict], run: RunInfo) -> str:
    ran = totals["tests"]
    share = f" ({100 * totals['passed'] / ran:.1f}%)" if ran else ""
    statuses = collections.Counter(command["status"] for command in commands)
    exercised = len(commands) - statuses["untested"]
    server = " ".join(part for part in (run.server_version, run.target) if part) or "the server"
    line = (f"{server}: {totals['passed']} of {ran} tests passed{share}, {totals['failed']} failed,"
            f" {totals['error']} errors, {totals['skipped']} skipped;"
            f" {statuses['pass']} of {exercised} commands exercised passed every test")
    if run.deselected:
        line += f"; {run.deselected} tests deselected"
    return line + f"; {run.duration:.0f}s"


# -- HTML -----------------------------------------------------------------------------------

STYLE = """
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; vertical-align: top; }
td.n { text-align: right; }
tr.pass td.status { background: #cfc; } tr.fail td.status { background: #fcc; }
tr.partial td.status { background: #fec; } tr.untested td.status { color: #888; }
pre { margin: 0; white-space: pre-wrap; max-width: 70em; }
"""


def _table(headers, rows) -> str:
    """rows: (css class, [cell html, ...]); a cell that is a number is right-aligned."""
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in headers) + "</tr>"]
    for css, cells in rows:
        tds = "".join(f'<td class="n">{c}</td>' if isinstance(c, int) else f"<td>{c}</td>" for c in cells)
        out.append(f'<tr class="{css}">{tds}</tr>')
    out.append("</table>")
    return "\n".join(out)


def render_html(report: dict) -> str:
    e = html.escape
    counts = list(OUTCOMES)
    families = _table(["family", *counts, "tests"],
                      [("", [e(f["family"]), *(f[c] for c in counts), f["tests"]]) for f in report["families"]])
    commands = _table(
        ["command", "group", "since", "status", *counts, "failing tests"],
        [(c["status"], [e(c["command"]), e(c["group"]), e(c["since"]), f'<span>{e(c["status"])}</span>',
                        *(c[o] for o in counts), "<br>".join(e(t) for t in c["failing_tests"][:5])
                        + (f"<br>... {len(c['failing_tests']) - 5} more" if len(c["failing_tests"]) > 5 else "")])
         for c in report["commands"]])
    # the status cell carries the colour
    commands = commands.replace("<td><span>", '<td class="status"><span>')
    failed = [t for t in report["tests"] if t["outcome"] in ("failed", "error")]
    failures = _table(
        ["test", "outcome", "behaviour since", "first failing assertion"],
        [("", [e(t["nodeid"]), e(t["outcome"]),
               e(t["version"] or "?") + (f"<br><small>{e(t['version_source'])}</small>" if t["version_source"] else ""),
               f"<pre>{e(t['failure'] or '')}</pre>"]) for t in failed])
    events = "".join(f"<li>{e(event)}</li>" for event in report["run"]["events"])
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>redspec compatibility report</title>
<style>{STYLE}</style></head><body>
<h1>redspec compatibility report</h1>
<p><b>{e(report["summary"])}</b></p>
{f"<ul>{events}</ul>" if events else ""}
<h2>Per family</h2>
{families}
<h2>Per command</h2>
<p>A command's tests are the tests that sent it; a test that sends many commands (a model) counts
under each. Status: pass (every such test passed), partial, fail (none passed), untested.</p>
{commands}
<h2>Failed tests ({len(failed)})</h2>
<p>How a failure shows a reply: <code>'text'</code> is a simple string (<code>+text</code>),
<code>b'text'</code> a bulk string (<code>$4</code> <code>text</code>), <code>ErrorReply('ERR ...')</code>
an error (<code>-ERR ...</code>), <code>None</code> a null; so <code>assert '1' == b'1'</code> means the
server sent <code>+1</code> where Redis 7.0 sends the bulk string <code>$1 1</code>.</p>
{failures}
</body></html>
"""


def _json_lines(value, depth: int = 0) -> str:
    """JSON with the top two levels spread over lines and anything deeper on one line."""
    if depth >= 2 or not isinstance(value, (dict, list)) or not value:
        return json.dumps(value)
    pad = " " * (depth + 1)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(key)}: {_json_lines(item, depth + 1)}" for key, item in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad[:-1] + "}"
    return "[\n" + ",\n".join(pad + _json_lines(item, depth + 1) for item in value) + "\n" + pad[:-1] + "]"


def write_report(report: dict, directory: str | os.PathLike) -> tuple[Path, Path]:
    """Write compatibility.json and compatibility.html into directory; return their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    json_path, html_path = directory / JSON_NAME, directory / HTML_NAME
    # One line per test, per command, per family: readable, and diffs stay small.
    json_path.write_text(_json_lines(report) + "\n")
    html_path.write_text(render_html(report))
    return json_path, html_path


# -- the console script ---------------------------------------------------------------------


def pytest_arguments(out: str, rest: list[str]) -> list[str]:
    """The pytest command line for the suite and the models, writing into `out`."""
    import conformance
    import models

    suites = [str(Path(package.__file__).parent) for package in (conformance, models)]
    return [*suites, "--junitxml", str(Path(out) / JUNIT_NAME), "--compat-report", out, *rest]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="redspec-conformance",
        allow_abbrev=False,
        description="Judge a Redis-compatible server with redspec's conformance suite and models;"
        f" writes {JUNIT_NAME}, {JSON_NAME} and {HTML_NAME} into --out. Every other argument"
        " goes to pytest: --target HOST:PORT or --server CMD (one is required), --server-options,"
        ' --reply-timeout, -m "not internals", -k, -x ...',
    )
    parser.add_argument("--out", default="compat-report", help="directory for the reports (default: %(default)s)")
    options, rest = parser.parse_known_args(argv)
    import pytest

    return int(pytest.main(pytest_arguments(options.out, rest)))


if __name__ == "__main__":
    sys.exit(main())
