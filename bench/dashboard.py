"""Dashboard latency of a portfolio with 100,000 statements (issue 4 benchmark).

A fresh `cpdfolio serve --workers 2` on SQLite (synchronous=FULL): one person with the
shipped Standard and 20 mapping rules (each course maps to two of the Standard's items);
100,000 statements about that person posted in batches of 500 by 2 client processes, each
witnessed into the person's record and mapped to items as it arrives; then 200 GETs of
`/api/me/dashboard` (after 10 warm-up requests) over one keep-alive connection, and the
whole record verified with `cpdfolio record verify`.

    .venv/bin/python bench/dashboard.py --statements 100000 --runs 3
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.ingest_query import CPDFOLIO, free_port

STANDARD = "https://cpdfolio.org/frameworks/vsc-cymru-standard"
ITEMS = [f"{STANDARD}/items/KS.{i}" for i in (1, 2, 3)] + [
    f"{STANDARD}/items/PC.{i}" for i in range(1, 8)
]
COURSES = [f"https://learning.example.gov.uk/course/{i}" for i in range(20)]
EMAIL = "sian.jones@council.example.gov.uk"
PASSWORD = "a long passphrase"


def rules() -> list[dict[str, Any]]:
    return [
        {
            "id": f"course-{i}",
            "framework": STANDARD,
            "match": {"activity": course},
            "items": [ITEMS[i % len(ITEMS)], ITEMS[(i + 3) % len(ITEMS)]],
            "hours": 2,
        }
        for i, course in enumerate(COURSES)
    ]


def statement(i: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": {"objectType": "Agent", "name": "Siân Jones", "mbox": f"mailto:{EMAIL}"},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-GB": "done"}},
        "object": {
            "id": COURSES[i % len(COURSES)],
            "definition": {"name": {"en-GB": f"Course {i % len(COURSES)}"}},
        },
        "result": {"completion": True, "duration": "PT1H"},
        "timestamp": "2026-11-23T10:00:00Z",
    }


def post_batches(args: tuple[int, str, int, int]) -> None:
    port, auth, count, batch = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {
        "Authorization": auth,
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    for start in range(0, count, batch):
        body = json.dumps([statement(start + i) for i in range(min(batch, count - start))])
        conn.request("POST", "/xapi/statements", body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, response.status


def run(total: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as root:
        env = {
            **os.environ,
            "CPDFOLIO_DATABASE_URL": f"sqlite:///{root}/bench.db",
            "CPDFOLIO_SECRET_KEY": "bench",
            "CPDFOLIO_LOG_LEVEL": "WARNING",
        }

        def cli(*args: str, stdin: str | None = None) -> str:
            done = subprocess.run(
                [CPDFOLIO, *args], env=env, check=True, capture_output=True, text=True, input=stdin
            )
            return done.stdout

        cli("db", "init")
        creds = json.loads(cli("clients", "create", "--name", "b", "--scope", "all", "--json"))
        auth = "Basic " + base64.b64encode(f"{creds['key']}:{creds['secret']}".encode()).decode()
        cli(
            "people",
            "create",
            "--email",
            EMAIL,
            "--name",
            "Siân",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        rules_file = Path(root) / "rules.json"
        rules_file.write_text(json.dumps(rules()))
        cli("rules", "add", str(rules_file))
        port = free_port()
        proc = subprocess.Popen(
            [CPDFOLIO, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait(port)
            started = time.perf_counter()
            with multiprocessing.Pool(2) as pool:
                pool.map(post_batches, [(port, auth, total // 2, 500)] * 2)
            ingest_seconds = time.perf_counter() - started
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            conn.request(
                "POST",
                "/api/session",
                body=json.dumps({"email": EMAIL, "password": PASSWORD}),
                headers={"Content-Type": "application/json"},
            )
            token = json.loads(conn.getresponse().read())["token"]
            path = "/api/me/dashboard?framework=" + STANDARD
            times = []
            for i in range(210):
                t0 = time.perf_counter()
                conn.request("GET", path, headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                body = json.loads(response.read())
                if i >= 10:
                    times.append((time.perf_counter() - t0) * 1000)
            assert body["totals"]["evidence"] == total, body["totals"]
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
        started = time.perf_counter()
        verified = cli("record", "verify", "--person", EMAIL)
        verify_seconds = time.perf_counter() - started
        times.sort()
        return {
            "ingest_with_witness_per_s": total / ingest_seconds,
            "dashboard_p50_ms": statistics.median(times),
            "dashboard_p99_ms": times[int(len(times) * 0.99) - 1],
            "verify_seconds": verify_seconds,
            "verify_summary": verified.strip(),
        }


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--statements", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    runs = []
    for _ in range(args.runs):
        runs.append(run(args.statements))
        print(json.dumps(runs[-1]), flush=True)
    keys = [k for k in runs[0] if k != "verify_summary"]
    print(json.dumps({k: statistics.median(r[k] for r in runs) for k in keys}, indent=2))


if __name__ == "__main__":
    main()
