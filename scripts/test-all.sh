#!/usr/bin/env bash
# Set up and run every test of redspec on a fresh Debian machine with Python 3.11:
#   1. unit tests of the spec loader and the reference (tests/);
#   2. the conformance suite and the models against a real redis-server 7.0 (the oracle);
#   3. the same against the reference server, run under coverage.py, then the coverage of
#      reference/ that the judge alone reaches.
# They run at the same time, in seven jobs (3 cut in four: the AOF's conformance tests, the server
# as a program, the other conformance tests, the models; and a seventh, replication with real Redis
# on the other end): the suites mostly wait, on servers starting, children saving, replies, so two
# cores serve them all. Each job writes its output to reports/<name>.log, printed in short once all have ended
# (in full where tests failed); JUnit XML and the coverage report go to reports/ too. The exit
# status is 1 if any test failed.
# HYPOTHESIS_PROFILE=thorough for a long run (the default, `ci`, is bounded and derandomized).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# redis-server and its tools are the oracle; spin checks the PSYNC2 model (models/psync2.pml).
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null || ! command -v spin >/dev/null; then
    echo "== installing redis-server, redis-tools and spin"
    if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq redis-server redis-tools spin >/dev/null
    else sudo apt-get update -qq && sudo apt-get install -y -qq redis-server redis-tools spin >/dev/null; fi
fi
if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    python3 -m venv .venv
fi
echo "== installing redspec and its test dependencies"
.venv/bin/pip install -q --disable-pip-version-check -e '.[test]'

export HYPOTHESIS_PROFILE="${HYPOTHESIS_PROFILE:-ci}"
mkdir -p reports
rm -f reports/.coverage*
started=$SECONDS

# suite NAME SERVER_COMMAND ARGS...: pytest on ARGS (paths, options) judging servers launched from
# SERVER_COMMAND ("" for none), output into reports/NAME.log and .xml; its status into
# reports/NAME.status.
suite() {
    local name=$1 server=$2
    shift 2
    local args=(-q -rfE --junitxml="reports/$name.xml")
    if [ -n "$server" ]; then args+=(--server "$server"); fi
    local status=0
    .venv/bin/pytest "$@" "${args[@]}" >"reports/$name.log" 2>&1 || status=$?
    echo "$status" >"reports/$name.status"
}

# What a finished suite printed, in short: pytest's summary line; or, where tests failed, the
# failures in full, the table per family and the summary.
show() {
    local name=$1 log="reports/$1.log" status
    status=$(cat "reports/$name.status" 2>/dev/null || echo "(none)")
    if [ "$status" = 0 ]; then
        echo "== $name: $(tail -n 1 "$log") (reports/$name.log)"
    else
        echo "== $name: FAILED, pytest status $status (reports/$name.log)"
        sed -n '/^=* \(FAILURES\|ERRORS\|conformance by family\) =*$/,$p' "$log" | grep . \
            || tail -n 40 "$log"  # no failure report: it stopped before (a collection error...)
    fi
    [ "$status" = 0 ]
}

echo "== unit tests, conformance and models against real redis-server" \
     "$(redis-server --version | cut -d' ' -f3), and against the reference under coverage, in" \
     "seven jobs at the same time (HYPOTHESIS_PROFILE=$HYPOTHESIS_PROFILE)"
rm -f reports/*.status
export COVERAGE_FILE="$root/reports/.coverage"  # the reference's coverage data
reference="$root/.venv/bin/coverage run -p --rcfile=$root/pyproject.toml -m reference"
suite unit "" tests &
pids=($!)
suite redis "redis-server" conformance models &
pids+=($!)
# The reference is slower than Redis (and slower still under coverage): its run is cut in four
# of about the same length: the AOF's conformance tests; the server as a program (start-up, log,
# listeners, limits, DEBUG) and its replication; the other conformance tests; the models.
program=(test_replication*.py test_tls.py test_log.py test_client_limits.py test_client_pause.py
         test_listeners.py test_startup*.py test_crash.py test_debug.py test_unixsocket.py
         test_output_buffer_limits.py)
suite reference-aof "$reference" conformance/test_aof*.py &
pids+=($!)
suite reference-server "$reference" $(printf 'conformance/%s ' "${program[@]}") &
pids+=($!)
suite reference-conformance "$reference" conformance --ignore-glob='conformance/test_aof*.py' \
    $(printf -- "--ignore-glob=conformance/%s " "${program[@]}") &
pids+=($!)
suite reference-models "$reference" models &
pids+=($!)
# Replication with the other implementation on the other end: the reference as master of real
# replicas and as replica of a real master (conformance/test_replication*.py, --peer-server).
suite replication-mixed "$reference" conformance/test_replication*.py models/test_replication.py --peer-server redis-server &
pids+=($!)
wait "${pids[@]}"

status=0
for name in unit redis reference-aof reference-server reference-conformance reference-models replication-mixed; do
    show "$name" || status=1
done
echo "== all suites ended after $((SECONDS - started)) s"

echo "== coverage of reference/ reached by the conformance suite and the models alone"
echo "   (least covered first; reference/tools/ is a command line of its own, which the suite of a"
echo "   server cannot reach: tests/test_tools*.py test it; reference/cluster/ is not yet part of the"
echo "   server: tests/test_cluster_*.py test it)"
.venv/bin/coverage combine -q --rcfile=pyproject.toml || true
.venv/bin/coverage report --rcfile=pyproject.toml --skip-covered --sort=cover \
    --omit='*/reference/tools/*,*/reference/cluster/*' > reports/coverage.txt || true
head -22 reports/coverage.txt
tail -3 reports/coverage.txt
exit $status
