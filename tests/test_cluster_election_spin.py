"""Redis Cluster's failover election and configEpoch collision handling as a Promela model
(models/cluster_election.pml), checked exhaustively by spin: no replica wins an epoch another
replica won; once nothing can happen any more, the masters' configEpochs are unique and the
failed master's slot has exactly one owner, the same for every node. Each seeded mistake (a
master voting twice in an epoch, a win without a majority, no collision handling) is found, and
so is what Redis 7.0 does with a vote that arrives after the election it answered has been
replaced by a new one: it counts it, and two replicas win the same epoch. The quick run uses small
bounds; HYPOTHESIS_PROFILE=thorough larger ones too (some minutes)."""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

MODEL = Path(__file__).resolve().parent.parent / "models" / "cluster_election.pml"
THOROUGH = os.environ.get("HYPOTHESIS_PROFILE") == "thorough"
QUICK_BOUNDS = ["-DMAXEPOCH=4", "-DBUMPS=0"]  # elections at epochs 3 and 4; about 1.3 million states

pytestmark = pytest.mark.skipif(shutil.which("spin") is None, reason="needs spin (apt-get install spin)")


def check(tmp_path, *defines: str, full_search: bool = True) -> str:
    """Generate the verifier with these -D options, compile it, run it; its report. A search
    expected to stop at its first error is not worth compiling with optimizations."""
    model = tmp_path / MODEL.name
    model.write_bytes(MODEL.read_bytes())
    subprocess.run(["spin", "-a", *defines, model.name], cwd=tmp_path, check=True, capture_output=True,
                   timeout=120)
    subprocess.run(["cc", "-O2" if full_search else "-O0", "-DSAFETY", "-DCOLLAPSE", "-DMEMLIM=4000", "-o", "pan", "pan.c"], cwd=tmp_path,
                   check=True, capture_output=True, timeout=300)
    run = subprocess.run(["./pan", "-m200000"], cwd=tmp_path, capture_output=True, text=True, timeout=3600)
    return run.stdout


def assert_searched_all_without_error(report: str) -> None:
    assert "errors: 0" in report, report
    assert "Search not completed" not in report, report  # the whole state space was searched


# The model's own bounds (elections up to epoch 5), and a bump without consensus: a minute or two
# each. And Redis's late votes with the one-winner assertion left out: once quiet, configEpochs are
# unique and the failed master's slot has one owner all the same (collision handling repairs an
# epoch won twice).
THOROUGH_BOUNDS = [[], ["-DMAXEPOCH=4", "-DBUMPS=1"], ["-DLATE_VOTES", "-DSHARED_EPOCHS_ALLOWED", *QUICK_BOUNDS]]


@pytest.mark.parametrize("bounds", [QUICK_BOUNDS, *(THOROUGH_BOUNDS if THOROUGH else [])])
def test_the_rules_keep_every_assertion(tmp_path, bounds):
    assert_searched_all_without_error(check(tmp_path, *bounds))


ONE_WINNER = "assertion violated (winner[auth_epoch["
UNIQUE_CONFIG_EPOCHS = "assertion violated ((((i==j)|| !(master[i]))|| !(master[j]))||(config[i]!=config[j]))"


@pytest.mark.parametrize("mistake, violated", [
    ("MISTAKE_TWO_VOTES", ONE_WINNER),               # no lastVoteEpoch check
    ("MISTAKE_NO_QUORUM", ONE_WINNER),               # a win with one vote
    ("MISTAKE_NO_COLLISION", UNIQUE_CONFIG_EPOCHS),  # no clusterHandleConfigEpochCollision
])
def test_a_seeded_mistake_is_found(tmp_path, mistake, violated):
    report = check(tmp_path, f"-D{mistake}", *QUICK_BOUNDS, full_search=False)
    assert violated in report, report
    assert "errors: 1" in report


def test_redis_counts_a_late_vote_towards_the_next_election(tmp_path):
    """With votes that outlive their election, two replicas win one epoch (Redis 7.0.15's rule:
    spec/cluster.md, "Failover")."""
    report = check(tmp_path, "-DLATE_VOTES", *QUICK_BOUNDS, full_search=False)
    assert ONE_WINNER in report, report
