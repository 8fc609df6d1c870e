"""Ingest and query benchmark against a live `cpdfolio serve` on the SQLite store.

What it measures (issue 2, item 7):
- ingest, statements/s: batches of 100 and one statement per request, 4 concurrent clients;
- GET latency p50/p99 at N stored statements for agent, verb, activity, activity with
  related_activities, registration and since queries;
- paging through `more` links.

How: a fresh store in a temporary directory, `cpdfolio serve --workers 2` (one gunicorn
worker per core on the 2-core development machine). Clients are separate processes using
http.client with keep-alive and bodies serialised before the clock starts, so the load
generator costs as little CPU as possible (it shares the machine's two cores with the
server). Each figure is the median of --runs runs.

    .venv/bin/python bench/ingest_query.py --statements 100000 --runs 3 --write docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import platform
import random
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.workload import VERBS, Workload

CPDFOLIO = str(Path(sys.executable).parent / "cpdfolio")
CLIENTS = 4


# --------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def server(workers: int) -> Iterator[tuple[int, str]]:
    """A fresh instance: (port, Basic auth header)."""
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as root:
        env = {
            **os.environ,
            "CPDFOLIO_DATABASE_URL": f"sqlite:///{root}/bench.db",
            "CPDFOLIO_SECRET_KEY": "bench",
            "CPDFOLIO_LOG_LEVEL": "WARNING",
        }
        subprocess.run([CPDFOLIO, "db", "init"], env=env, check=True, capture_output=True)
        created = subprocess.run(
            [CPDFOLIO, "clients", "create", "--name", "bench", "--scope", "all", "--json"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        creds = json.loads(created.stdout)
        auth = "Basic " + base64.b64encode(f"{creds['key']}:{creds['secret']}".encode()).decode()
        port = free_port()
        proc = subprocess.Popen(
            [CPDFOLIO, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                    conn.request("GET", "/health")
                    if conn.getresponse().status == 200:
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            yield port, auth
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


def headers(auth: str) -> dict[str, str]:
    return {
        "Authorization": auth,
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }


# ----------------------------------------------------------------------- ingest


def _post_all(args: tuple[int, str, list[bytes]]) -> int:
    port, auth, bodies = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    hdrs = headers(auth)
    sent = 0
    for body in bodies:
        conn.request("POST", "/xapi/statements", body=body, headers=hdrs)
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST failed {response.status}: {data[:300]!r}")
        sent += len(json.loads(data))
    return sent


def ingest(port: int, auth: str, workload: Workload, *, total: int, batch: int) -> float:
    """Post `total` statements in requests of `batch`, from CLIENTS processes; statements/s."""
    per_client = total // CLIENTS
    jobs = []
    for _ in range(CLIENTS):
        bodies = []
        for _ in range(per_client // batch):
            statements = [workload.statement() for _ in range(batch)]
            bodies.append(json.dumps(statements if batch > 1 else statements[0]).encode())
        jobs.append((port, auth, bodies))
    with multiprocessing.Pool(CLIENTS) as pool:
        started = time.perf_counter()
        sent = sum(pool.map(_post_all, jobs))
        elapsed = time.perf_counter() - started
    return sent / elapsed


# ------------------------------------------------------------------------ queries


def get(conn: http.client.HTTPConnection, auth: str, path: str) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    conn.request("GET", path, headers=headers(auth))
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"GET {path} failed {response.status}: {data[:300]!r}")
    return elapsed, json.loads(data)


def query_paths(workload: Workload, kind: str, rng: random.Random, stored_times: list[str]) -> str:
    def q(params: dict[str, str]) -> str:
        return "/xapi/statements?" + urllib.parse.urlencode(params)

    if kind == "agent":
        return q(
            {
                "agent": json.dumps({"mbox": workload.agent_mbox(rng.randrange(workload.agents))}),
                "limit": "50",
            }
        )
    if kind == "verb":
        return q({"verb": rng.choice(VERBS), "limit": "50"})
    if kind == "activity":
        return q(
            {"activity": workload.activity_id(rng.randrange(workload.activities)), "limit": "50"}
        )
    if kind == "activity+related":
        return q(
            {
                "activity": workload.programme_id(rng.randrange(workload.activities)),
                "related_activities": "true",
                "limit": "50",
            }
        )
    if kind == "registration":
        return q({"registration": rng.choice(workload.registrations), "limit": "50"})
    if kind == "since":
        return q({"since": rng.choice(stored_times), "limit": "50"})
    raise ValueError(kind)


KINDS = ["agent", "verb", "activity", "activity+related", "registration", "since"]


def query_latencies(
    port: int, auth: str, workload: Workload, *, requests_per_kind: int
) -> dict[str, dict[str, float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    rng = random.Random(11)
    _, sample = get(conn, auth, "/xapi/statements?limit=500")
    stored_times = [s["stored"] for s in sample["statements"]]
    results = {}
    for kind in KINDS:
        times = []
        for _ in range(10):  # warm-up
            get(conn, auth, query_paths(workload, kind, rng, stored_times))
        for _ in range(requests_per_kind):
            elapsed, _ = get(conn, auth, query_paths(workload, kind, rng, stored_times))
            times.append(elapsed * 1000)
        times.sort()
        results[kind] = {
            "p50": statistics.median(times),
            "p99": times[int(len(times) * 0.99) - 1],
        }
    return results


def paging(port: int, auth: str, *, statements: int, limit: int) -> dict[str, float]:
    """Follow `more` links from the newest statement until `statements` were read."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    path = f"/xapi/statements?limit={limit}"
    read = pages = 0
    started = time.perf_counter()
    while path and read < statements:
        _, body = get(conn, auth, path)
        read += len(body["statements"])
        pages += 1
        path = body["more"]
    elapsed = time.perf_counter() - started
    return {
        "statements_per_s": read / elapsed,
        "ms_per_page": elapsed / pages * 1000,
        "pages": pages,
    }


# --------------------------------------------------------------------------- main


def wrk_single(port: int, auth: str, *, seconds: int) -> tuple[float, int] | None:
    """Single-statement POSTs/s with wrk (a C load generator): the server's capacity
    without the Python clients' own CPU cost on the same two cores. None without wrk."""
    if shutil.which("wrk") is None:
        return None
    script = Path(__file__).with_name("single_post.lua")
    result = subprocess.run(
        [
            "wrk",
            f"-t{CLIENTS}",
            f"-c{CLIENTS}",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/xapi/statements",
        ],
        env={**os.environ, "CPDFOLIO_BENCH_AUTH": auth},
        capture_output=True,
        text=True,
        check=True,
    )
    if "unexpected status" in result.stderr:
        raise RuntimeError(result.stderr[:500])
    lines = result.stdout.splitlines()
    rate = next(ln for ln in lines if ln.startswith("Requests/sec:")).split()[1]
    sent = next(ln for ln in lines if " requests in " in ln).split()[0]
    return float(rate), int(sent)


def run(args: argparse.Namespace) -> dict[str, Any]:
    figures: dict[str, list[Any]] = {
        "batch": [],
        "single": [],
        "single_wrk": [],
        "queries": [],
        "paging": [],
    }
    for run_no in range(args.runs):
        with server(args.workers) as (port, auth):
            workload = Workload(seed=run_no)
            figures["batch"].append(ingest(port, auth, workload, total=args.batch_total, batch=100))
            figures["single"].append(ingest(port, auth, workload, total=args.single_total, batch=1))
            by_wrk = wrk_single(port, auth, seconds=10)
            figures["single_wrk"].append(by_wrk[0] if by_wrk else None)
            loaded = args.batch_total + args.single_total + (by_wrk[1] if by_wrk else 0)
            while loaded < args.statements:
                chunk = min(20_000, args.statements - loaded)
                ingest(port, auth, workload, total=chunk, batch=100)
                loaded += chunk
            figures["queries"].append(
                query_latencies(port, auth, workload, requests_per_kind=args.queries)
            )
            figures["paging"].append(paging(port, auth, statements=10_000, limit=100))
        print(
            f"run {run_no + 1}: batch {figures['batch'][-1]:.0f}/s,"
            f" single {figures['single'][-1]:.0f}/s, single (wrk) {figures['single_wrk'][-1]}/s",
            file=sys.stderr,
        )
    median_queries = {
        kind: {p: statistics.median(r[kind][p] for r in figures["queries"]) for p in ("p50", "p99")}
        for kind in KINDS
    }
    return {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}",
        "workers": args.workers,
        "runs": args.runs,
        "statements": args.statements,
        "batch_per_s": statistics.median(figures["batch"]),
        "batch_runs": figures["batch"],
        "single_per_s": statistics.median(figures["single"]),
        "single_runs": figures["single"],
        "single_wrk_per_s": (
            statistics.median(figures["single_wrk"]) if None not in figures["single_wrk"] else None
        ),
        "single_wrk_runs": figures["single_wrk"],
        "queries": median_queries,
        "paging": {
            k: statistics.median(p[k] for p in figures["paging"]) for k in figures["paging"][0]
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--statements", type=int, default=100_000, help="statements stored before querying"
    )
    parser.add_argument(
        "--batch-total", type=int, default=40_000, help="statements posted in batches of 100"
    )
    parser.add_argument(
        "--single-total", type=int, default=4_000, help="statements posted one at a time"
    )
    parser.add_argument("--queries", type=int, default=200, help="requests per query kind")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path, help="write the figures as JSON here")
    args = parser.parse_args()
    figures = run(args)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
