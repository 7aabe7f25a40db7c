#!/usr/bin/env python3
"""Mutation testing of a sample of reference/, with the conformance suite as the judge.

    .venv/bin/python scripts/mutation-test.py                 # the whole sample (see below)
    .venv/bin/python scripts/mutation-test.py --per-module 5  # a quick look
    .venv/bin/python scripts/mutation-test.py --rejudge-survivors   # after adding tests

What it does. For each sampled module of reference/ (MODULES below) cosmic-ray lists every
mutant its operators can make (a comparison flipped, a number changed, `and` made `or`, a
decorator removed ...); mutants inside type annotations are dropped, as they can never change
behaviour (every module says `from __future__ import annotations`). From the rest a fixed-seed
random sample of --per-module mutants is drawn. Each mutant is written into a PRIVATE COPY of the
work tree (a temporary directory; the checkout itself is never touched), and the module's judge
runs: pytest on the conformance files and models that concern the module, with
`--server "PYTHON -m reference"` and PYTHONPATH pointing at the copy, so the servers the suite
launches import the mutated module. The judge stops at its first failure (-x), family file first,
so a killed mutant costs a few seconds and a surviving one the whole judge (about 1-2 minutes).
A mutant is killed when the judge fails (or runs past its timeout), survives when it passes; one
that is not valid Python (cosmic-ray writes a few) is "incompetent" and left out of the score.

The score is killed / (killed + survived) over the sample, with a 95% interval for what the
score of all the module's mutants would be (the sample is random, so the score is an estimate).

Time. The unmutated judges run once first (they must pass). On the project's 2-core machine,
shared with other test runs, the default sample (3 modules x 30 mutants) took 33 minutes, most
of it in the survivors' whole judges (about 60-95 s each, against 3-10 s for most killed ones);
--per-module 5 takes about five minutes.

Output, in reports/mutation/:
  summary.md, summary.json  the score per module and overall, every survivor with its diff, the
                            test that killed each killed mutant (summary.json only);
  <module>.sqlite           cosmic-ray's session for the module (`cr-report`, `cr-html` read it).
Survivors are analysed by hand in reports/mutation/survivors.md, which this script leaves alone.

--rejudge-survivors re-runs only the mutants that survived in summary.json (same modules, seed and
sample; refused if a sampled module changed since) and carries the killed ones over: tests only
ever get added, so a killed mutant stays killed.

Needs cosmic-ray: `.venv/bin/pip install -e '.[test,mutation]'` (done here if it is missing).
Not part of the test command (scripts/test-all.sh).
"""
from __future__ import annotations

import argparse
import ast
import datetime
import difflib
import hashlib
import json
import math
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT_DIR = ROOT / "reports" / "mutation"
SUMMARY_JSON = REPORT_DIR / "summary.json"

# What a copy of the tree leaves out: environments, caches, outputs of runs.
NOT_COPIED = (".git", ".venv", "reports", "__pycache__", ".hypothesis", "*.egg-info",
              "appendonlydir", "dump.rdb", "build")

# Files that judge every module: commands' argument grammar, what a write dirties, MULTI.
COMMON = ["conformance/test_grammar.py", "conformance/test_dirty.py", "conformance/test_transactions.py"]


@dataclass(frozen=True)
class Module:
    """A sampled module and its judge: the family's own file first (most mutants die there, and
    -x stops the run), then the files where the module's behaviour shows up too."""

    path: str
    judge: tuple[str, ...]


MODULES = {
    # Redis's glob (util.c stringmatchlen): KEYS, SCAN/HSCAN/SSCAN/ZSCAN MATCH, PSUBSCRIBE,
    # CONFIG GET, and the keyspace model's KEYS and SCAN.
    "patterns": Module("reference/patterns.py", (
        "conformance/test_generic.py", "conformance/test_pubsub.py", "conformance/test_hashes.py",
        "conformance/test_sets.py", "conformance/test_sorted_sets.py", "conformance/test_server.py",
        "conformance/test_ecosystem.py", "conformance/test_mutants.py", "models/test_keyspace.py")),
    "strings": Module("reference/commands/strings.py", (
        "conformance/test_strings.py", *COMMON, "conformance/test_generic.py",
        "conformance/test_aof_bytes.py", "conformance/test_ecosystem.py",
        "conformance/test_mutants.py", "models/test_keyspace.py")),
    "lists": Module("reference/commands/lists.py", (
        "conformance/test_lists.py", *COMMON, "conformance/test_generic.py", "conformance/test_sort.py",
        "conformance/test_aof_bytes.py", "conformance/test_ecosystem.py",
        "conformance/test_mutants.py", "models/test_keyspace.py")),
}


# -- the sample ------------------------------------------------------------------------------


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """(start, end) positions, as (line, column), of every type annotation in source."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        annotations = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            annotations.append(node.returns)
        elif isinstance(node, ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for a in annotations:
            if a is not None:
                spans.append(((a.lineno, a.col_offset), (a.end_lineno, a.end_col_offset)))
    return spans


def mutant_id(module: str, mutation) -> str:
    line, column = mutation.start_pos
    return f"{module}:{line}:{column} {mutation.operator_name.removeprefix('core/')} #{mutation.occurrence}"


def draw_sample(work_items, source: str, per_module: int, seed: int):
    """(all mutants outside annotations, the fixed-seed sample of them), in source order."""
    spans = annotation_spans(source)

    def in_annotation(mutation) -> bool:
        return any(start <= tuple(mutation.start_pos) < end for start, end in spans)

    def order(item):
        m = item.mutations[0]
        return (tuple(m.start_pos), tuple(m.end_pos), m.operator_name, m.occurrence)

    candidates = sorted((w for w in work_items if not in_annotation(w.mutations[0])), key=order)
    sample = random.Random(seed).sample(candidates, min(per_module, len(candidates)))
    return candidates, sorted(sample, key=order)


# -- the judge -------------------------------------------------------------------------------


def mutated_source(source: str, mutation) -> str:
    import cosmic_ray.plugins
    from cosmic_ray.mutating import mutate_code

    operator = cosmic_ray.plugins.get_operator(mutation.operator_name)(**(mutation.operator_args or {}))
    return mutate_code(source, operator, mutation.occurrence)


def is_python(code: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. `is` with a literal: a warning, still Python
            compile(code, "mutant", "exec")
    except SyntaxError:
        return False
    return True


def judge_files(module: Module, copy: Path) -> list[str]:
    return [f for f in module.judge if (copy / f).exists()]


def judge_command(files: list[str]) -> list[str]:
    """pytest on files against the reference launched from the copy; stop at the first failure."""
    return [sys.executable, "-m", "pytest", *files, "-x", "-q", "--tb=line", "-rf", "-p", "no:cacheprovider",
            "--server", f"{sys.executable} -m reference"]


def killer(output: str) -> str:
    """The first failing test in a judge's output (pytest -rf's 'FAILED nodeid - ...' line)."""
    for line in output.splitlines():
        if line.startswith(("FAILED ", "ERROR ")):
            return line.split(" - ", 1)[0].split(" ", 1)[1]
    if output.strip() == "timeout":
        return "(the judge ran past its timeout)"
    return "(" + (output.strip().splitlines() or ["no output"])[-1][:120] + ")"


def make_copy() -> Path:
    """A private copy of the work tree: mutants are written there, never in the checkout."""
    copy = Path(tempfile.mkdtemp(prefix="redspec-mutation-")) / "tree"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_COPIED), symlinks=True)
    return copy


def check_imports_from(copy: Path) -> None:
    """The launched servers must import the copy's reference/, not the checkout's (which the
    editable install points at)."""
    found = subprocess.run([sys.executable, "-c", "import reference, conformance; print(reference.__file__)"],
                           capture_output=True, text=True, check=True).stdout.strip()
    if not Path(found).is_relative_to(copy):
        sys.exit(f"the copy's Python imports reference from {found}, not from {copy}")


# -- reporting -------------------------------------------------------------------------------


def interval(killed: int, judged: int, population: int) -> tuple[float, float]:
    """A 95% Wilson interval for the score of the whole population, from a sample without
    replacement (finite population correction)."""
    if judged == 0:
        return (0.0, 1.0)
    z = 1.96
    p = killed / judged
    fpc = math.sqrt((population - judged) / (population - 1)) if population > 1 else 0.0
    centre = (p + z * z / (2 * judged)) / (1 + z * z / judged)
    half = z * math.sqrt(p * (1 - p) / judged + z * z / (4 * judged * judged)) / (1 + z * z / judged) * fpc
    return (max(0.0, centre - half), min(1.0, centre + half))


def score_line(counts: dict) -> str:
    judged = counts["killed"] + counts["survived"]
    if not judged:
        return "no mutant judged"
    low, high = interval(counts["killed"], judged, counts["population"])
    return (f"{counts['killed']}/{judged} killed = {100 * counts['killed'] / judged:.1f}% "
            f"(95% interval for all {counts['population']} mutants: {100 * low:.0f}-{100 * high:.0f}%)")


def total_counts(modules: dict) -> dict:
    keys = ("population", "sampled", "killed", "timeouts", "survived", "incompetent")
    return {key: sum(module["counts"][key] for module in modules.values()) for key in keys}


def table_row(name: str, c: dict) -> str:
    return (f"| {name} | {c['population']} | {c['sampled']} | {c['killed']} | {c['timeouts']} "
            f"| {c['survived']} | {c['incompetent']} | {score_line(c)} |")


def diff_body(diff: str) -> list[str]:
    """A cosmic-ray diff from its first hunk on (the file names are in the mutant's id)."""
    lines = diff.strip().splitlines()
    hunk = next((n for n, line in enumerate(lines) if line.startswith("@@")), 0)
    return lines[hunk:]


def write_reports(summary: dict) -> None:
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    SUMMARY_JSON.write_text(json.dumps(summary, indent=1) + "\n")
    lines = [
        "# Mutation score of a sample of reference/",
        "",
        f"Seed {summary['seed']}, {summary['per_module']} mutants sampled per module, cosmic-ray "
        f"{summary['cosmic_ray']}. The judge of each module is the conformance files and models listed "
        "below, run against the reference launched from a private copy of the tree that holds the "
        "mutant; a mutant is killed when the judge fails (or runs past its timeout). Mutants inside "
        "type annotations are left out (they cannot change behaviour). Survivors are analysed in "
        "survivors.md.",
        "",
        "| module | mutants | sampled | killed | (by timeout) | survived | incompetent | score |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
        *(table_row(module["path"], module["counts"]) for module in summary["modules"].values()),
        table_row("all", total_counts(summary["modules"])),
        "",
        "Runs (a rejudge judges the previous run's survivors again, with the tests of its day):",
        "",
        *(f"- {run['date']}, commit {run['commit']}: `{run['command']}`, {run['run_time_s'] / 60:.0f} min: "
          f"{run['score']}" for run in summary["runs"]),
        "",
    ]
    for module in summary["modules"].values():
        lines += [f"## {module['path']}", "", "Judge: " + ", ".join(f"`{f}`" for f in module["judge"]), ""]
        survivors = [m for m in module["mutants"] if m["outcome"] == "survived"]
        others = [m for m in module["mutants"] if m["outcome"] == "incompetent"]
        lines.append(f"Survivors ({len(survivors)}):" if survivors else "No survivor.")
        for m in survivors + others:
            lines += ["", f"- `{m['id']}` ({m['outcome']}) in `{m['definition']}`", "", "```diff",
                      *diff_body(m["diff"]), "```"]
        lines.append("")
    (REPORT_DIR / "summary.md").write_text("\n".join(lines))
    print(f"\noverall: {summary['score']}\nreport: {REPORT_DIR / 'summary.md'}")


# -- the run ---------------------------------------------------------------------------------


def ensure_cosmic_ray() -> None:
    try:
        import cosmic_ray  # noqa: F401
    except ImportError:
        print("== installing the mutation extra (cosmic-ray)")
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                        "-e", f"{ROOT}[test,mutation]"], check=True)


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def run_module(name: str, module: Module, copy: Path, args, previous: dict | None) -> dict:
    from cosmic_ray.commands import init
    from cosmic_ray.mutating import mutate_and_test
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    source = (copy / module.path).read_text()
    digest = hashlib.sha256(source.encode()).hexdigest()
    if previous is not None and previous["sha256"] != digest:
        sys.exit(f"{module.path} changed since {SUMMARY_JSON}: run the whole sample again")
    earlier = {m["id"]: m for m in (previous or {}).get("mutants", [])}

    files = judge_files(module, copy)
    command = judge_command(files)
    print(f"\n== {module.path}: the judge, unmutated: {' '.join(files)}", flush=True)
    started = time.monotonic()
    baseline = subprocess.run(command, capture_output=True, text=True)
    baseline_s = time.monotonic() - started
    if baseline.returncode != 0:
        sys.exit(f"the unmutated judge of {module.path} fails:\n{baseline.stdout[-3000:]}{baseline.stderr[-2000:]}")
    timeout = 3 * baseline_s + 120
    print(f"   passed in {baseline_s:.0f} s; a mutant's judge gets {timeout:.0f} s", flush=True)

    db_path = copy.parent / f"{name}.sqlite"
    with use_db(str(db_path), WorkDB.Mode.create) as db:
        init([Path(module.path)], db, {})
        candidates, sample = draw_sample(db.work_items, source, args.per_module, args.seed)
        chosen = {w.job_id for w in sample}
        db.set_multiple_results([w.job_id for w in db.work_items if w.job_id not in chosen],
                                WorkResult(worker_outcome=WorkerOutcome.SKIPPED))
        mutants = []
        for number, item in enumerate(sample, 1):
            mutation = item.mutations[0]
            ident = mutant_id(name, mutation)
            before = earlier.get(ident)
            if previous is not None and (before is None or before["outcome"] == "killed"):
                if before is None:
                    sys.exit(f"{ident} is not in {SUMMARY_JSON}: run the whole sample again")
                mutants.append(before)
                continue
            t0 = time.monotonic()
            code = mutated_source(source, mutation)
            if not is_python(code):
                # cosmic-ray's parso-based operators now and then write code Python cannot
                # parse (e.g. the bare `*` of keyword-only parameters taken for a product).
                diff = difflib.unified_diff(source.splitlines(), code.splitlines(), lineterm="", n=1)
                result = WorkResult(worker_outcome=WorkerOutcome.NORMAL, test_outcome=TestOutcome.INCOMPETENT,
                                    output="the mutant does not compile", diff="\n".join(diff))
            else:
                result = mutate_and_test(item.mutations, " ".join(_quote(word) for word in command), timeout)
            db.set_result(item.job_id, result)
            if result.worker_outcome != WorkerOutcome.NORMAL:
                outcome = "incompetent"
            else:
                outcome = {TestOutcome.KILLED: "killed", TestOutcome.SURVIVED: "survived"}.get(
                    result.test_outcome, "incompetent")
            record = {"id": ident, "definition": mutation.definition_name, "outcome": outcome,
                      "timeout": result.output == "timeout", "diff": result.diff or "",
                      "killed_by": killer(result.output or "") if outcome == "killed" else None}
            mutants.append(record)
            print(f"   [{number}/{len(sample)}] {outcome:<8} {time.monotonic() - t0:5.0f} s  {ident}"
                  + (f"  <- {record['killed_by']}" if record["killed_by"] else ""), flush=True)
    REPORT_DIR.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(db_path, REPORT_DIR / f"{name}.sqlite")
    counts = {"population": len(candidates), "sampled": len(sample),
              "killed": sum(m["outcome"] == "killed" for m in mutants),
              "timeouts": sum(m["outcome"] == "killed" and m["timeout"] for m in mutants),
              "survived": sum(m["outcome"] == "survived" for m in mutants),
              "incompetent": sum(m["outcome"] == "incompetent" for m in mutants)}
    print(f"   {module.path}: {score_line(counts)}", flush=True)
    return {"path": module.path, "sha256": digest, "judge": files,
            "baseline_s": round(baseline_s), "counts": counts, "mutants": mutants}


def _quote(word: str) -> str:
    # cosmic-ray splits the test command with shlex.
    return "'" + word.replace("'", "'\"'\"'") + "'" if re.search(r"[^\w@%+=:,./-]", word) else word


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--modules", default=",".join(MODULES),
                        help=f"comma-separated, among {', '.join(MODULES)} (default: all)")
    parser.add_argument("--per-module", type=int, default=30, help="mutants sampled per module (default 30)")
    parser.add_argument("--seed", type=int, default=8, help="seed of the sample (default 8)")
    parser.add_argument("--rejudge-survivors", action="store_true",
                        help="judge again only the survivors of reports/mutation/summary.json")
    parser.add_argument("--keep-copy", action="store_true", help="leave the private copy (printed) in place")
    args = parser.parse_args()
    names = [n for n in args.modules.split(",") if n]
    unknown = [n for n in names if n not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose among {', '.join(MODULES)}")

    previous = None
    if args.rejudge_survivors:
        previous = json.loads(SUMMARY_JSON.read_text())
        if (previous["seed"], previous["per_module"]) != (args.seed, args.per_module) or \
                set(previous["modules"]) != set(names):
            sys.exit(f"--rejudge-survivors: {SUMMARY_JSON} was made with seed {previous['seed']}, "
                     f"--per-module {previous['per_module']}, modules {','.join(previous['modules'])}")

    ensure_cosmic_ray()
    import importlib.metadata

    # A run stopped with SIGTERM (or Ctrl-C) still removes its copy (the `finally` below); the
    # judge running then ends by itself within its timeout.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("stopped"))
    started = time.monotonic()
    copy = make_copy()
    print(f"== private copy of the tree: {copy}")
    home = os.getcwd()
    os.environ["PYTHONPATH"] = str(copy)
    os.environ["HYPOTHESIS_PROFILE"] = "ci"
    # A mutant written within the same second as the original, with the same size, would
    # otherwise be read from a stale .pyc.
    os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
    os.chdir(copy)
    try:
        check_imports_from(copy)
        modules = {name: run_module(name, MODULES[name], copy, args,
                                    previous["modules"][name] if previous else None) for name in names}
    finally:
        os.chdir(home)
        if args.keep_copy:
            print(f"== the copy stays in {copy}")
        else:
            shutil.rmtree(copy.parent, ignore_errors=True)
    command = "python scripts/mutation-test.py" + "".join(
        f" {flag}" for flag, on in ((f"--per-module {args.per_module}", args.per_module != 30),
                                    (f"--seed {args.seed}", args.seed != 8),
                                    (f"--modules {args.modules}", names != list(MODULES))) if on)
    run = {"command": command + (" --rejudge-survivors" if previous else ""),
           "date": datetime.date.today().isoformat(), "commit": git_commit(),
           "run_time_s": round(time.monotonic() - started), "score": score_line(total_counts(modules))}
    write_reports({
        **run, "seed": args.seed, "per_module": args.per_module,
        "cosmic_ray": importlib.metadata.version("cosmic-ray"),
        "runs": (previous or {}).get("runs", []) + [run],  # a rejudge adds to its run's history
        "modules": modules,
    })


if __name__ == "__main__":
    main()
