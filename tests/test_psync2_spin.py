"""The PSYNC2 rules as a Promela model (models/psync2.pml), checked exhaustively by spin: no
reachable state breaks its assertions (a replica takes +CONTINUE only when its history is a
prefix of the master's; one replication id names one history; a linked replica holds a prefix of
its master's history; the stream appends one write at a time), and each seeded mistake in the
rules is found. The quick run searches small bounds; HYPOTHESIS_PROFILE=thorough the model's
own, larger ones (about 15 million states, some minutes)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parent.parent / "models" / "psync2.pml"
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"

pytestmark = pytest.mark.skipif(shutil.which("spin") is None, reason="needs spin (apt-get install spin)")


def check(tmp_path, *defines: str) -> str:
    """Generate the verifier with these -D options, compile it, run it; its report."""
    model = tmp_path / MODEL.name
    model.write_bytes(MODEL.read_bytes())
    subprocess.run(["spin", "-a", *defines, model.name], cwd=tmp_path, check=True, capture_output=True,
                   timeout=120)
    subprocess.run(["cc", "-O2", "-DSAFETY", "-o", "pan", "pan.c"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=300)
    run = subprocess.run(["./pan", "-m200000"], cwd=tmp_path, capture_output=True, text=True, timeout=1800)
    return run.stdout


def test_the_rules_keep_every_assertion(tmp_path):
    bounds = [] if THOROUGH else ["-DMAXID=5", "-DMAXTOKEN=4"]
    report = check(tmp_path, *bounds)
    assert "errors: 0" in report, report
    assert "Search not completed" not in report, report  # the whole state space was searched


@pytest.mark.parametrize("mistake, bounds", [
    ("MISTAKE_NO_SHIFT", ["-DMAXID=5", "-DMAXTOKEN=4"]),         # promotion keeps the old id
    ("MISTAKE_NO_SECOND_CHECK", ["-DMAXID=6", "-DMAXTOKEN=4"]),  # replid2 past second_repl_offset
    ("MISTAKE_ANY_ID", ["-DMAXID=5", "-DMAXTOKEN=4"]),           # no id checked at all
])
def test_a_seeded_mistake_is_found(tmp_path, mistake, bounds):
    report = check(tmp_path, f"-D{mistake}", *bounds)
    assert "assertion violated prefix_ok" in report, report
    assert "errors: 1" in report
