"""Where the time goes on the ingest path: cProfile of POST /xapi/statements, by layer.

Runs the app in-process (Flask's test client, so no HTTP server or client costs are
counted) on a fresh SQLite store, posts batches of 100 and single statements, and
attributes each function's own time to a layer by the file it lives in.

    .venv/bin/python bench/profile_ingest.py
"""

from __future__ import annotations

import base64
import cProfile
import json
import pstats
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.workload import Workload
from portfolio.clients import create_client
from portfolio.storage import open_store
from service import create_app

LAYERS = (
    ("sqlite3 (incl. COMMIT fsync)", "sqlite3"),
    ("schemas (validation)", "/schemas/"),
    ("portfolio.lrs (limits, normalise, index, compare)", "/portfolio/lrs/"),
    ("portfolio.storage (SQL building, rows)", "/portfolio/storage/"),
    ("service (routes, auth, headers)", "/service/"),
    ("flask / werkzeug (request handling)", "/flask/"),
    ("flask / werkzeug (request handling)", "/werkzeug/"),
    ("JSON (orjson)", "orjson"),
)


def layer_of(filename: str, function: str) -> str:
    where = f"{filename} {function}"
    for name, marker in LAYERS:
        if marker in where:
            return name
    return "other (stdlib, interpreter)"


def profile(batch: int, requests: int) -> tuple[float, Counter[str]]:
    root = tempfile.mkdtemp()
    url = f"sqlite:///{root}/profile.db"
    store = open_store(url)
    store.migrate()
    created = create_client(store.clients, name="profile", scopes=["all"])
    app = create_app(
        {"database_url": url, "secret_key": "profile", "log_level": "WARNING"}, store_=store
    )
    client = app.test_client()
    token = base64.b64encode(f"{created.record.key}:{created.secret}".encode()).decode()
    headers = {
        "Authorization": f"Basic {token}",
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
    }
    workload = Workload(seed=3)

    def body() -> str:
        statements = [workload.statement() for _ in range(batch)]
        return json.dumps(statements if batch > 1 else statements[0])

    for _ in range(20):  # warm caches and the store
        client.post("/xapi/statements", data=body(), headers=headers)
    bodies = [body() for _ in range(requests)]
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for data in bodies:
        response = client.post("/xapi/statements", data=data, headers=headers)
        assert response.status_code == 200, response.data
    profiler.disable()
    elapsed = time.perf_counter() - started
    stats = pstats.Stats(profiler)
    layers: Counter[str] = Counter()
    for (filename, _line, function), row in stats.stats.items():  # type: ignore[attr-defined]
        layers[layer_of(filename, function)] += row[2]  # own time
    total = sum(layers.values())
    return elapsed / (requests * batch) * 1e6, Counter({k: v / total for k, v in layers.items()})


def main() -> None:
    for batch, requests in ((100, 60), (1, 1500)):
        per_statement_us, shares = profile(batch, requests)
        print(f"\nbatch of {batch}: {per_statement_us:.0f} µs per statement (under the profiler)")
        for name, share in shares.most_common():
            print(f"  {share * 100:5.1f} %  {name}")


if __name__ == "__main__":
    main()
