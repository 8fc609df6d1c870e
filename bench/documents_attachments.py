"""State document latency and ingest of statements with 100 KB attachments, against a live
`cpdfolio serve` on the SQLite store (issue 3 benchmarks).

- State: PUT (new documents, then overwrites) and GET of a 2 KB JSON document, one client,
  p50/p99 latency in ms (the way a course package saves its bookmark and suspend data);
- Attachments: statements each carrying its own 100 KB attachment, posted as
  multipart/mixed by 4 client processes, one statement per request and 10 per request;
  statements/s and MB/s of attachment data.

    .venv/bin/python bench/documents_attachments.py --runs 3
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import multiprocessing
import os
import statistics
import sys
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.ingest_query import CLIENTS, headers, server
from bench.workload import Workload

ATTACHMENT_BYTES = 100 * 1024


def percentiles(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {"p50": statistics.median(times), "p99": times[max(0, int(len(times) * 0.99) - 1)]}


def state_latency(port: int, auth: str, *, requests: int) -> dict[str, dict[str, float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    hdrs = {k: v for k, v in headers(auth).items() if k != "Content-Type"}
    document = json.dumps({"bookmark": "page-17", "suspend_data": "x" * 2000}).encode()
    activity = "https://learning.example.gov.uk/course/1"
    results: dict[str, list[float]] = {"put_new": [], "put_overwrite": [], "get": []}

    def call(method: str, state_id: str, body: bytes | None = None) -> float:
        learner = int(state_id.split("-")[0]) % 500
        query = urllib.parse.urlencode(
            {
                "activityId": activity,
                "agent": json.dumps({"mbox": f"mailto:learner{learner}@council.example.gov.uk"}),
                "stateId": state_id,
            }
        )
        extra = {"Content-Type": "application/json"} if body is not None else {}
        started = time.perf_counter()
        conn.request(
            method, f"/xapi/activities/state?{query}", body=body, headers={**hdrs, **extra}
        )
        response = conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status not in (200, 204):
            raise RuntimeError(f"{method} state: {response.status}")
        return elapsed

    ids = [f"{i}-bookmark" for i in range(requests)]
    for state_id in ids[:20]:  # warm-up
        call("PUT", state_id, document)
    for state_id in ids:
        results["put_new" if state_id not in ids[:20] else "put_overwrite"].append(
            call("PUT", state_id, document)
        )
    for state_id in ids:
        results["put_overwrite"].append(call("PUT", state_id, document))
        results["get"].append(call("GET", state_id))
    return {kind: percentiles(times) for kind, times in results.items()}


def _multipart(statements: list[dict[str, Any]], attachments: list[bytes]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    delimiter = b"--" + boundary.encode()
    chunks = [
        delimiter,
        b"\r\nContent-Type: application/json\r\n\r\n",
        json.dumps(statements).encode(),
        b"\r\n",
    ]
    for data in attachments:
        chunks += [
            delimiter,
            b"\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: binary",
            b"\r\nX-Experience-API-Hash: " + hashlib.sha256(data).hexdigest().encode(),
            b"\r\n\r\n",
            data,
            b"\r\n",
        ]
    chunks += [delimiter, b"--\r\n"]
    return b"".join(chunks), f'multipart/mixed; boundary="{boundary}"'


def _post_all(args: tuple[int, str, list[tuple[bytes, str]]]) -> int:
    port, auth, bodies = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    sent = 0
    for body, content_type in bodies:
        conn.request(
            "POST",
            "/xapi/statements",
            body=body,
            headers={**headers(auth), "Content-Type": content_type},
        )
        response = conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise RuntimeError(f"POST failed {response.status}: {data[:300]!r}")
        sent += len(json.loads(data))
    return sent


def attachment_ingest(
    port: int, auth: str, *, statements: int, batch: int, seed: int
) -> dict[str, float]:
    workload = Workload(seed=seed)
    jobs = []
    for client in range(CLIENTS):
        bodies = []
        for _ in range(statements // CLIENTS // batch):
            group, files = [], []
            for _ in range(batch):
                data = os.urandom(ATTACHMENT_BYTES)  # distinct, like real certificates
                statement = workload.statement()
                while statement["verb"]["id"].endswith("voided"):
                    statement = workload.statement()
                statement["attachments"] = [
                    {
                        "usageType": "http://id.tincanapi.com/attachment/certificate-of-completion",
                        "display": {"en-GB": "Certificate"},
                        "contentType": "application/pdf",
                        "length": len(data),
                        "sha2": hashlib.sha256(data).hexdigest(),
                    }
                ]
                group.append(statement)
                files.append(data)
            bodies.append(_multipart(group, files))
        jobs.append((port, auth, bodies))
        del client
    with multiprocessing.Pool(CLIENTS) as pool:
        started = time.perf_counter()
        sent = sum(pool.map(_post_all, jobs))
        elapsed = time.perf_counter() - started
    return {"statements_per_s": sent / elapsed, "mb_per_s": sent * ATTACHMENT_BYTES / elapsed / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--state-requests", type=int, default=500)
    parser.add_argument("--attachment-statements", type=int, default=800)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    runs: list[dict[str, Any]] = []
    for run in range(args.runs):
        with server(2) as (port, auth):
            figures = {
                "state": state_latency(port, auth, requests=args.state_requests),
                "attachments_single": attachment_ingest(
                    port, auth, statements=args.attachment_statements, batch=1, seed=run
                ),
                "attachments_batch10": attachment_ingest(
                    port, auth, statements=args.attachment_statements, batch=10, seed=run + 100
                ),
            }
        runs.append(figures)
        print(json.dumps(figures), file=sys.stderr)
    median = {
        "state": {
            kind: {p: statistics.median(r["state"][kind][p] for r in runs) for p in ("p50", "p99")}
            for kind in runs[0]["state"]
        },
        **{
            name: {k: statistics.median(r[name][k] for r in runs) for k in runs[0][name]}
            for name in ("attachments_single", "attachments_batch10")
        },
        "runs": runs,
    }
    text = json.dumps(median, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
