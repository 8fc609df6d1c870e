"""Pull throughput: `cpdfolio sync` from a local peer LRS into an empty store (issue 6).

Two peers, each a real server on loopback:
- a second cpdfolio instance (`cpdfolio serve`, 2 gunicorn workers, SQLite), loaded with
  N statements through StatementIngest before it starts;
- Ralph 5.1.0 with its file-system backend (tests/peers; `make peers` builds its venv),
  loaded over its own POST. Ralph re-reads its whole JSON Lines file for every page, so a
  pull from it is quadratic in its size: its figure is Ralph's scan, kept small.

The statements are bench/workload's (about 1 KB each: score, duration, context). Each
run syncs into a fresh, initialised SQLite store: `cpdfolio sync` is timed from outside,
interpreter start to exit, in a child forked by bench/bundle's launcher so that its peak
RSS is its own. Figures are medians of the runs.

    .venv/bin/python bench/pull.py --sizes 10000 50000 --runs 3
    .venv/bin/python bench/pull.py --sizes 1000 --runs 1 --peers cpdfolio   # quick check
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
from bench.bundle import spawn  # noqa: E402
from bench.workload import Workload  # noqa: E402

CPDFOLIO = str(Path(sys.executable).parent / "cpdfolio")


def _env(root: Path, **extra: str) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("CPDFOLIO_")},
        "CPDFOLIO_DATABASE_URL": f"sqlite:///{root / 'cpdfolio.db'}",
        "CPDFOLIO_SECRET_KEY": "bench-secret-key",
        **extra,
    }


def _cli(root: Path, *args: str, stdin: str | None = None, **env: str) -> str:
    done = subprocess.run(
        [CPDFOLIO, *args],
        env=_env(root, **env),
        cwd=root,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cpdfolio {' '.join(args)}: {done.stderr or done.stdout}")
    return done.stdout


def _workload(size: int) -> list[dict[str, Any]]:
    workload = Workload(seed=11)
    return [workload.statement() for _ in range(size)]


class CpdfolioPeer:
    """A cpdfolio instance holding the statements, served by gunicorn."""

    name = "cpdfolio"
    since_field = "stored"

    def __init__(self, root: Path, statements: list[dict[str, Any]]) -> None:
        from portfolio.lrs.ingest import StatementIngest, Submitter
        from portfolio.storage.sqlite import SqliteStore

        root.mkdir(parents=True)
        _cli(root, "db", "init")
        client = json.loads(
            _cli(root, "clients", "create", "--name", "bench", "--scope", "all", "--json")
        )
        self.key, self.secret = client["key"], client["secret"]
        store = SqliteStore(root / "cpdfolio.db")
        ingest = StatementIngest(store.statements)
        submitter = Submitter(self.key, {"objectType": "Agent", "mbox": "mailto:lms@example"})
        for start in range(0, len(statements), 500):
            ingest.post(statements[start : start + 500], submitter=submitter, version="1.0.3")
        store.close()
        from tests.e2e.conftest import free_port

        port = free_port()
        self.process = subprocess.Popen(
            [CPDFOLIO, "serve", "--port", str(port), "--workers", "2"],
            env=_env(root),
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.endpoint = f"http://127.0.0.1:{port}/xapi/"
        _wait(f"http://127.0.0.1:{port}/health")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


class RalphPeer:
    name = "ralph"
    since_field = "timestamp"  # Ralph's `since` compares timestamps

    def __init__(self, root: Path, statements: list[dict[str, Any]]) -> None:
        from tests.peers.ralph import Ralph

        self.ralph = Ralph(root)
        self.ralph.start()
        self.ralph.post(statements)
        self.endpoint = self.ralph.endpoint
        self.key, self.secret = self.ralph.username, self.ralph.password

    def stop(self) -> None:
        self.ralph.stop()


def _wait(url: str) -> None:
    import requests

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer in 60 s")


def sync_once(peer: CpdfolioPeer | RalphPeer, root: Path, page_size: int) -> dict[str, Any]:
    """One `cpdfolio sync` into a fresh store: wall seconds and peak RSS."""
    root.mkdir(parents=True)
    _cli(root, "db", "init")
    _cli(
        root,
        "sources",
        "add",
        "peer",
        "--endpoint",
        peer.endpoint,
        "--key",
        peer.key,
        "--secret-stdin",
        "--since-field",
        peer.since_field,
        stdin=peer.secret + "\n",
    )
    env = _env(root, CPDFOLIO_PULL_PAGE_SIZE=str(page_size))
    wall, peak, status = spawn([CPDFOLIO, "sync", "peer"], env=env)
    if status != 0:
        raise RuntimeError(f"cpdfolio sync failed with exit status {status}")
    summary = _cli(root, "sources", "list", "--json")
    run = json.loads(summary)[0]["last_run"]
    shutil.rmtree(root)
    return {"seconds": wall, "peak_rss_mb": peak, "new": run["new"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--peers", nargs="+", default=["cpdfolio", "ralph"])
    parser.add_argument("--ralph-max", type=int, default=10_000, help="largest Ralph store")
    parser.add_argument("--page-sizes", type=int, nargs="+", default=[100, 500])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="cpdfolio-bench-pull-") as tmp:
        for size in args.sizes:
            statements = _workload(size)
            # Voided statements are not returned by a query (Data 2.3.2), so not pulled;
            # Ralph returns them all the same (docs/research/ralph-peer.md).
            voided = {s["object"]["id"] for s in statements if s["verb"]["id"].endswith("/voided")}
            for peer_name in args.peers:
                if peer_name == "ralph" and size > args.ralph_max:
                    continue
                peer_root = Path(tmp) / f"{peer_name}-{size}"
                peer: CpdfolioPeer | RalphPeer = (
                    CpdfolioPeer(peer_root, statements)
                    if peer_name == "cpdfolio"
                    else RalphPeer(peer_root, statements)
                )
                expected = size if peer_name == "ralph" else size - len(voided)
                try:
                    # Ralph caps a page at 100 statements, whatever is asked.
                    page_sizes = args.page_sizes if peer_name == "cpdfolio" else [100]
                    for page_size in page_sizes:
                        runs = [
                            sync_once(
                                peer,
                                Path(tmp) / f"sync-{peer_name}-{size}-{page_size}-{i}",
                                page_size,
                            )
                            for i in range(args.runs)
                        ]
                        assert all(r["new"] == expected for r in runs), (expected, runs)
                        seconds = statistics.median(r["seconds"] for r in runs)
                        result = {
                            "peer": peer_name,
                            "statements": size,
                            "pulled": expected,
                            "page_size": page_size,
                            "runs": [round(r["seconds"], 2) for r in runs],
                            "median_seconds": round(seconds, 2),
                            "statements_per_second": round(expected / seconds),
                            "median_peak_rss_mb": round(
                                statistics.median(r["peak_rss_mb"] for r in runs), 1
                            ),
                        }
                        print(json.dumps(result), flush=True)
                        results.append(result)
                finally:
                    peer.stop()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
