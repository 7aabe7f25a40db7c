"""Unit tests of conformance/report.py: the compatibility report's pure parts."""

import json

from conformance.report import (RunInfo, TestResult, behaviour_version, build_report, command_name, describe_reply,
                                family_of, first_failure, is_assertion, pytest_arguments, render_html, version_key,
                                write_report)

CATALOG = {
    "GET": {"group": "string", "since": "1.0.0"},
    "SET": {"group": "string", "since": "1.0.0"},
    "GETEX": {"group": "string", "since": "6.2.0"},
    "OBJECT": {"group": "generic", "since": "2.2.3"},
    "OBJECT FREQ": {"group": "generic", "since": "4.0.0"},
    "LPOS": {"group": "list", "since": "6.0.6"},
}


def test_family_is_the_module_name():
    assert family_of("conformance/test_sorted_sets.py::test_x[a-b]") == "sorted_sets"
    assert family_of("models/test_keyspace.py::test_keyspace_model") == "keyspace"


def test_command_names_take_a_known_subcommand():
    assert command_name((b"object", b"freq", b"k"), CATALOG) == "OBJECT FREQ"
    assert command_name(("OBJECT", "nosuch"), CATALOG) == "OBJECT"
    assert command_name(("set", "k", "v"), CATALOG) == "SET"
    assert command_name(("get", "freq"), CATALOG) == "GET"  # a key is no subcommand
    assert command_name(("DEBUG", "SLEEP", 0), CATALOG) == "DEBUG"  # unknown to the catalog
    assert command_name((), CATALOG) == ""


def test_versions_compare_as_numbers():
    assert version_key("6.10.0") > version_key("6.9.9")
    assert max(["6.0.6", "6.2.0", "1.0.0"], key=version_key) == "6.2.0"


def test_behaviour_version_is_the_marker_else_the_newest_command():
    assert behaviour_version(TestResult("t", "passed", commands=("GET", "LPOS", "GETEX")), CATALOG) == (
        "6.2.0", "newest command: GETEX")
    assert behaviour_version(TestResult("t", "passed", commands=("GET",), since="7.0.0"), CATALOG) == (
        "7.0.0", "marker")
    assert behaviour_version(TestResult("t", "passed", commands=("DEBUG",)), CATALOG) == (None, "")


def test_first_failure_keeps_the_head():
    message = "AssertionError: assert 1 == 2\n" + "\n".join(f" +  line {n}" for n in range(20))
    head = first_failure(message, max_lines=3)
    assert head.splitlines() == ["AssertionError: assert 1 == 2", " +  line 0", " +  line 1", "..."]
    assert len(first_failure("x" * 2000, max_chars=100)) == 100


def test_a_failure_that_is_no_assertion_is_told_with_the_last_reply():
    assert is_assertion("AssertionError: assert 1 == 2") and is_assertion("assert ErrorReply('x') == 0")
    assert not is_assertion("KeyError: 'redis_version'")
    assert describe_reply("'INFO server'", "ERR unknown command") == \
        "last reply read: 'INFO server' -> 'ERR unknown command'"
    assert describe_reply("'KEYS *'", [b"k"] * 1000, limit=40).endswith("...")


RESULTS = [
    TestResult("conformance/test_strings.py::test_get", "passed", 0.1, ("GET", "SET")),
    TestResult("conformance/test_strings.py::test_getex", "failed", 0.2, ("GETEX", "SET"),
               failure="AssertionError: assert None == b'v'"),
    TestResult("conformance/test_generic.py::test_freq", "error", 0.3, ("OBJECT FREQ",),
               failure="(in setup) ReplyTimeout: no reply to 'FLUSHALL'"),
    TestResult("conformance/test_generic.py::test_skip", "skipped"),
]


def test_build_report_counts_per_family_command_and_total():
    report = build_report(RESULTS, CATALOG, RunInfo(target="--target h:1", server_version="x 1.0",
                                                   duration=12.0, deselected=5))
    assert report["totals"] == {"passed": 1, "failed": 1, "error": 1, "skipped": 1, "tests": 4, "deselected": 5}
    families = {row["family"]: row for row in report["families"]}
    assert (families["strings"]["passed"], families["strings"]["failed"]) == (1, 1)
    assert (families["generic"]["error"], families["generic"]["skipped"]) == (1, 1)
    commands = {row["command"]: row for row in report["commands"]}
    assert commands["GET"]["status"] == "pass"
    assert commands["SET"]["status"] == "partial"
    assert commands["GETEX"]["status"] == "fail"
    assert commands["GETEX"]["failing_tests"] == ["conformance/test_strings.py::test_getex"]
    assert commands["OBJECT FREQ"]["status"] == "fail"
    assert commands["LPOS"]["status"] == "untested" and commands["LPOS"]["tests"] == 0
    tests = {row["nodeid"]: row for row in report["tests"]}
    assert tests["conformance/test_strings.py::test_getex"]["version"] == "6.2.0"
    assert report["summary"] == ("x 1.0 --target h:1: 1 of 4 tests passed (25.0%), 1 failed, 1 errors, 1 skipped;"
                                 " 1 of 4 commands exercised passed every test; 5 tests deselected; 12s")


def test_commands_outside_the_catalog_are_listed_too():
    report = build_report([TestResult("conformance/test_server.py::test_debug", "passed", commands=("DEBUG",))],
                          CATALOG, RunInfo())
    (debug,) = [row for row in report["commands"] if row["command"] == "DEBUG"]
    assert (debug["group"], debug["since"], debug["status"]) == ("", "", "pass")


def test_html_escapes_and_shows_each_failure():
    results = [TestResult("conformance/test_x.py::test_<b>", "failed", commands=("GET",),
                          failure="assert b'<script>' == b''")]
    page = render_html(build_report(results, CATALOG, RunInfo(events=["restarted <it>"])))
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "test_&lt;b&gt;" in page and "restarted &lt;it&gt;" in page
    assert page.count('<tr class="fail">') == 1  # GET


def test_write_report_writes_json_and_html(tmp_path):
    report = build_report(RESULTS, CATALOG, RunInfo())
    json_path, html_path = write_report(report, tmp_path / "out")
    assert json.loads(json_path.read_text()) == report
    assert html_path.read_text().startswith("<!doctype html>")


def test_the_console_script_runs_the_suite_and_the_models_into_one_directory():
    args = pytest_arguments("out", ["--target", "h:1", "-k", "strings"])
    assert args[0].endswith("conformance") and args[1].endswith("models")
    assert args[2:] == ["--junitxml", "out/junit.xml", "--compat-report", "out", "--target", "h:1", "-k", "strings"]
