"""The portfolio bundle: export, offline verify and import at 10,000 and 100,000 statements
(issue 5 benchmarks).

For each size, a portfolio is built once, in-process, on a fresh SQLite store
(synchronous=FULL) in a temporary directory: `rich_portfolio` (an attachment, a signed
statement, a goal, a reflection) and 21 mapping rules, then the statements about that
person posted through StatementIngest in batches of 500, each witnessed into their record
as it arrives. The statements are realistic, about 1 KB each as stored: a result with a
score and a duration, a context with a registration, parent and grouping activities, a
platform, a language and an extension; 40 % of them are about a course a rule maps, so
they become evidence. The build is timed on its own and is not part of the figures.

Then, for each run, each operation in a fresh child process, so that its peak RSS is its
own: the ru_maxrss os.wait4 gives for it, forked from a small launcher (see LAUNCHER);
the child also reads its VmHWM, RssAnon and RssFile from /proc just before it exits:
- export: `export_bundle` of the whole portfolio to a file;
- verify: `verify_bundle` of that file;
- import: `Importer.import_bundle` of that file into a second, empty store;
- cli: `cpdfolio verify FILE`, timed from outside (interpreter start to exit).

The in-process times exclude the interpreter's start, imports, opening the store and
logging in; each child also reports the RSS it had before starting its operation. An
idle interpreter with the same imports gives the baseline.

    .venv/bin/python bench/bundle.py --sizes 10000 100000 --runs 3
    .venv/bin/python bench/bundle.py --sizes 1000 --runs 1      # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.workload import Workload  # noqa: E402

CPDFOLIO = str(Path(sys.executable).parent / "cpdfolio")
INSTANCE_A = "https://council-a.example.gov.uk"
INSTANCE_B = "https://council-b.example.gov.uk"
STANDARD = "https://cpdfolio.org/frameworks/vsc-cymru-standard"
ITEMS = [f"{STANDARD}/items/KS.{i}" for i in (1, 2, 3)] + [
    f"{STANDARD}/items/PC.{i}" for i in range(1, 8)
]
COURSES = 50  # of which the first 20 are mapped to items by a rule
MAPPED = 20
BATCH = 500
MB = 1024 * 1024


def course(i: int) -> str:
    return f"https://learning.example.gov.uk/course/{i}"  # as Workload.activity_id


# ----------------------------------------------------------------------------- build


def build(root: Path, size: int) -> dict[str, Any]:
    """The portfolio of `size` statements (plus rich_portfolio's two) in root/a."""
    from portfolio.evidence.rules import MappingRule, save_rule
    from tests.bundle_support import Council, rich_portfolio

    council = Council(root / "a", url=INSTANCE_A)
    started = time.perf_counter()
    rich_portfolio(council, statements=0)
    for i in range(MAPPED):
        rule = MappingRule(
            id=f"course-{i}",
            framework=STANDARD,
            match={"activity": course(i)},
            items=(ITEMS[i % len(ITEMS)], ITEMS[(i + 3) % len(ITEMS)]),
            hours=2.0,
        )
        save_rule(council.store, rule)
    workload = Workload(seed=size)
    ann = {"objectType": "Agent", "name": "Ann Jones", "mbox": "mailto:ann@example.org"}
    sizes = []
    for start in range(0, size, BATCH):
        batch = [
            workload.course_statement(ann, workload.rng.randrange(COURSES), cohort=start % 12)
            for _ in range(min(BATCH, size - start))
        ]
        sizes += [len(json.dumps(s)) for s in batch[:5]]
        council.post(batch)
    seconds = time.perf_counter() - started
    head = council.store.records.head(council.owner().person.id)
    assert head is not None
    council.store.close()
    db = sum(p.stat().st_size for p in (root / "a").glob("cpdfolio.db*"))
    return {
        "statements": size + 2,
        "entries": head.seq,
        "build_seconds": seconds,
        "build_per_s": size / seconds,
        "store_mb": db / MB,
        "statement_bytes_as_posted": statistics.median(sizes),
    }


# ------------------------------------------------------------------- child processes


def _proc_status() -> dict[str, float]:
    """This process's current resident set, split into anonymous and file-backed (the
    SQLite store is memory-mapped, and its mapped pages count in RSS)."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmHWM", "RssAnon", "RssFile"):
            values[name] = int(rest.split()[0]) / 1024
    return values


def _maxrss_mb() -> float:
    """The peak RSS so far: VmHWM, which (unlike ru_maxrss) a fresh exec starts at 0."""
    return _proc_status()["VmHWM"]


def child(op: str, root: Path, bundle: Path, out: Path) -> None:
    """One operation, in this (fresh) process; writes what it measured to `out`."""
    report: dict[str, Any] = {}
    if op == "idle":
        import portfolio.bundle.export
        import portfolio.bundle.importer
        import portfolio.bundle.verify  # noqa: F401
        import tests.bundle_support  # noqa: F401

    elif op == "export":
        from portfolio.bundle.export import export_bundle
        from tests.bundle_support import Council

        council = Council(root / "a", url=INSTANCE_A)
        owner = council.owner()
        report["rss_before_mb"] = _maxrss_mb()
        started = time.perf_counter()
        with bundle.open("wb") as stream:
            result = export_bundle(
                council.store,
                owner.person,
                stream,
                owner_key=owner.key,
                instance_key=council.key,
                instance_url=INSTANCE_A,
            )
        report["seconds"] = time.perf_counter() - started
        report["statements"] = result.statements
        report["entries"] = result.entries
        report["bundle_mb"] = bundle.stat().st_size / MB
    elif op == "verify":
        from portfolio.bundle.verify import verify_bundle

        report["rss_before_mb"] = _maxrss_mb()
        started = time.perf_counter()
        verified = verify_bundle(str(bundle))
        report["seconds"] = time.perf_counter() - started
        report["statements"] = verified.statements
        report["entries"] = verified.record.entries
    elif op == "import":
        from tests.bundle_support import PASSWORD, Council

        council = Council(root / "b", url=INSTANCE_B)
        report["rss_before_mb"] = _maxrss_mb()
        started = time.perf_counter()
        imported = council.importer.import_bundle(str(bundle), password=PASSWORD)
        report["seconds"] = time.perf_counter() - started
        report["statements"] = imported.statements
        report["entries"] = imported.entries
        council.store.close()
        report["store_mb"] = sum(p.stat().st_size for p in (root / "b").glob("cpdfolio.db*")) / MB
    else:
        raise SystemExit(f"unknown operation {op}")
    report.update(_proc_status())
    out.write_text(json.dumps(report))


# Run by a small interpreter of its own: on Linux a child's ru_maxrss starts at the RSS of
# the process it was forked from (the mm copied at fork is carried into the high-water
# mark at exec), so a child forked from this process, which holds the built portfolio's
# imports, would report at least this process's RSS. Forked from this ~10 MB launcher
# instead, the operation's peak is its own.
LAUNCHER = """
import json, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"wall": time.perf_counter() - started, "maxrss_kb": usage.ru_maxrss,
                  "status": os.waitstatus_to_exitcode(status)}))
"""


def spawn(argv: list[str], *, env: dict[str, str] | None = None) -> tuple[float, float, int]:
    """Run `argv` to completion; its wall time (s), its own peak RSS (MB), exit status."""
    done = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *argv],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    report = json.loads(done.stdout)
    return report["wall"], report["maxrss_kb"] / 1024, report["status"]


def measure(op: str, root: Path, bundle: Path) -> dict[str, Any]:
    out = root / f"{op}.json"
    argv = [sys.executable, __file__, "--child", op, "--root", str(root), "--bundle", str(bundle)]
    wall, peak, status = spawn([*argv, "--out", str(out)])
    if status != 0:
        raise RuntimeError(f"{op} failed with exit status {status}")
    report: dict[str, Any] = json.loads(out.read_text())
    report["process_seconds"] = wall
    report["peak_rss_mb"] = peak
    return report


def cli_verify(bundle: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CPDFOLIO_")}
    wall, peak, status = spawn([CPDFOLIO, "verify", str(bundle)], env=env)
    if status != 0:
        raise RuntimeError(f"cpdfolio verify failed with exit status {status}")
    return {"seconds": wall, "peak_rss_mb": peak}


# ---------------------------------------------------------------------------- driver


def run_size(size: int, runs: int, tmp: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=tmp) as name:
        root = Path(name)
        built = build(root, size)
        print(json.dumps({"size": size, "build": built}), flush=True)
        bundle = root / "bundle.zip"
        results: dict[str, list[dict[str, Any]]] = {
            "export": [],
            "verify": [],
            "import": [],
            "cli": [],
        }
        for _ in range(runs):
            results["export"].append(measure("export", root, bundle))
            results["verify"].append(measure("verify", root, bundle))
            shutil.rmtree(root / "b", ignore_errors=True)
            results["import"].append(measure("import", root, bundle))
            results["cli"].append(cli_verify(bundle))
            print(
                json.dumps({"size": size, "run": {k: v[-1] for k, v in results.items()}}),
                flush=True,
            )
        statements = built["statements"]
        for op in ("export", "verify", "import"):
            for report in results[op]:
                assert report["statements"] == statements, (op, report["statements"], statements)
        return {
            "size": size,
            "build": built,
            "runs": results,
            "median": _medians(results, statements),
        }


def _medians(
    results: dict[str, list[dict[str, Any]]], statements: int
) -> dict[str, dict[str, float]]:
    medians: dict[str, dict[str, float]] = {}
    for op, reports in results.items():
        keys = [k for k, v in reports[0].items() if isinstance(v, float)]
        medians[op] = {k: statistics.median(r[k] for r in reports) for k in keys}
        medians[op]["statements_per_s"] = statements / medians[op]["seconds"]
    return medians


def baseline(tmp: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=tmp) as name:
        root = Path(name)
        idle = measure("idle", root, root / "none.zip")
        _wall, peak, _ = spawn([CPDFOLIO, "--help"])
        return {"python_with_imports_mb": idle["peak_rss_mb"], "cpdfolio_help_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--bundle", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.root, args.bundle, args.out)
        return
    tmp = os.environ.get("BENCH_TMP")
    figures: dict[str, Any] = {"baseline": baseline(tmp)}
    print(json.dumps(figures), flush=True)
    figures["sizes"] = [run_size(size, args.runs, tmp) for size in args.sizes]
    summary = {
        "baseline": figures["baseline"],
        "sizes": [
            {"size": s["size"], "build": s["build"], "median": s["median"]}
            for s in figures["sizes"]
        ],
    }
    print(json.dumps(summary, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
