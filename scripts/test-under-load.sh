#!/usr/bin/env bash
# Show that the suite does not depend on an idle machine: run the test command (scripts/test-all.sh:
# unit tests, conformance and models against real redis-server and against the reference) while
# busy loops keep every core busy, ROUNDS times in a row (default 2), stopping at the first round
# that fails. The busy loops are stopped however this script ends.
#
#   bash scripts/test-under-load.sh            # 2 rounds, one busy loop per core
#   ROUNDS=3 LOAD=4 bash scripts/test-under-load.sh
#
# Each round's output goes to reports/under-load-<round>.log; its last lines are printed.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-2}
load=${LOAD:-$(nproc)}
mkdir -p reports

busy=()
stop_load() {
    if [ ${#busy[@]} -gt 0 ]; then
        kill "${busy[@]}" 2>/dev/null || true
        wait "${busy[@]}" 2>/dev/null || true
        busy=()
    fi
}
trap stop_load EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for _ in $(seq "$load"); do
    python3 -c 'while True: pass' &
    busy+=($!)
done
echo "== $load busy loops (pids ${busy[*]}) on $(nproc) cores; $rounds rounds of scripts/test-all.sh"

for round in $(seq "$rounds"); do
    log="reports/under-load-$round.log"
    started=$SECONDS
    status=0
    bash scripts/test-all.sh >"$log" 2>&1 || status=$?
    elapsed=$((SECONDS - started))
    # test-all.sh's headings, each suite's outcome, and the coverage total
    grep -E '^== |[0-9]+ (passed|failed|errors?)\b.* in [0-9.]+s|^TOTAL' "$log" || true
    if [ "$status" != 0 ]; then
        echo "== round $round FAILED after ${elapsed} s (status $status): see $log"
        exit 1
    fi
    echo "== round $round green in ${elapsed} s ($(awk '{print $1}' /proc/loadavg) load average)"
done
echo "== $rounds rounds green in a row under load"
