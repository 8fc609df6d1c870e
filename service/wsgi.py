"""Running the app under gunicorn, from `cpdfolio serve` or `gunicorn service.wsgi:app`."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from service import create_app

# The access log leaves out query strings: they can hold personal data (agent=...).
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        # Called in each worker after the fork: every worker opens its own store.
        return create_app()


def run_gunicorn(*, host: str, port: int, workers: int, threads: int = 2) -> None:
    """Serve with `workers` processes of `threads` threads each.

    Threads, not gunicorn's sync worker: the sync worker closes every connection and
    lingers until the client has closed its end, so a worker sits idle whenever a client
    is slow; threaded workers keep connections alive (browser content and LMSs send many
    small requests), and while one thread waits for the disk (a durable commit) or for the
    write lock, another can validate the next request. Two threads, not more: a thread
    back from the disk waits for the GIL behind CPU-bound siblings, and in our benchmark
    more threads bought nothing (docs/benchmarks.md).
    """
    _Gunicorn(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": threads,
            "keepalive": 5,
            "accesslog": "-",
            "access_log_format": ACCESS_LOG_FORMAT,
            "timeout": 60,
            "graceful_timeout": 10,
        }
    ).run()


def __getattr__(name: str) -> Flask:
    # `gunicorn service.wsgi:app` builds the app lazily, so importing this module
    # (as `cpdfolio serve` does) opens nothing.
    if name == "app":
        return create_app()
    raise AttributeError(name)
