#!/usr/bin/env bash
# Set up and run every test of redspec on a fresh Debian machine with Python 3.11:
#   1. unit tests of the spec loader and the reference (tests/);
#   2. the conformance suite and the models against a real redis-server 7.0 (the oracle);
#   3. the same against the reference server, run under coverage.py, then the coverage of
#      reference/ that the judge alone reaches.
# Reports (JUnit XML, coverage) go to reports/. HYPOTHESIS_PROFILE=thorough for long runs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
    echo "== installing redis-server and redis-tools"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server redis-tools >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq redis-server redis-tools >/dev/null; fi
fi
if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    python3 -m venv .venv
fi
echo "== installing redspec and its test dependencies"
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
mkdir -p reports
status=0

echo "== unit tests"
.venv/bin/pytest tests -q --junitxml=reports/unit.xml || status=1

echo "== conformance and models against real redis-server ($(redis-server --version | cut -d' ' -f3))"
.venv/bin/pytest conformance models --server "redis-server" -q --junitxml=reports/redis.xml || status=1

echo "== conformance and models against the reference (under coverage)"
rm -f reports/.coverage*
export COVERAGE_FILE="$root/reports/.coverage"
.venv/bin/pytest conformance models \
    --server "$root/.venv/bin/coverage run -p --rcfile=$root/pyproject.toml -m reference" \
    -q --junitxml=reports/reference.xml || status=1

echo "== coverage of reference/ reached by the conformance suite and the models alone"
echo "   (least covered first; reference/tools/ is a command line of its own, which the suite of a"
echo "   server cannot reach: tests/test_tools*.py test it)"
.venv/bin/coverage combine -q --rcfile=pyproject.toml || true
.venv/bin/coverage report --rcfile=pyproject.toml --skip-covered --sort=cover \
    --omit='*/reference/tools/*' > reports/coverage.txt || true
head -22 reports/coverage.txt
tail -3 reports/coverage.txt
exit $status
