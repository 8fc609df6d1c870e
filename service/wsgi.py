"""Running the app under gunicorn, from `cpdfolio serve` or `gunicorn service.wsgi:app`
(then with `--logger-class service.wsgi.RedactingLogger`, so tokens stay out of the log)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.glogging import Logger

from service import create_app
from service.errors import redact_path

# The access log leaves out query strings: they can hold personal data (agent=...).
ACCESS_LOG_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'


def redact_uri(uri: str) -> str:
    """A request target or Referer fit to log: the path redacted (service.errors), in a
    URI that may be absolute (`http://host/review/...`) or carry a query."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=redact_path(parts.path)))


class RedactingLogger(Logger):  # type: ignore[misc]
    """gunicorn's logger, with the token of a one-time link (/review/<token>,
    /mentoring/<token>) redacted from every access-log atom that holds the URL: the path
    (`U`), the request line (`r`), the Referer (`f`) and their header and environ forms.
    Whatever the configured format, the token never reaches the log."""

    def atoms(
        self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta
    ) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        for name in ("U", "{path_info}e"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact_path(atoms[name])
        for name in ("f", "{referer}i", "{http_referer}e", "{raw_uri}e", "{request_uri}e"):
            if isinstance(atoms.get(name), str):
                atoms[name] = redact_uri(atoms[name])
        method, protocol = environ.get("REQUEST_METHOD"), environ.get("SERVER_PROTOCOL")
        atoms["r"] = f"{method} {redact_uri(str(environ.get('RAW_URI', '')))} {protocol}"
        return atoms


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


def gunicorn_options(*, host: str, port: int, workers: int, threads: int = 2) -> dict[str, Any]:
    """The gunicorn settings `cpdfolio serve` runs with (see run_gunicorn)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "keepalive": 5,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "logger_class": RedactingLogger,
        "timeout": 60,
        "graceful_timeout": 10,
    }


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
    _Gunicorn(gunicorn_options(host=host, port=port, workers=workers, threads=threads)).run()


def __getattr__(name: str) -> Flask:
    # `gunicorn service.wsgi:app` builds the app lazily, so importing this module
    # (as `cpdfolio serve` does) opens nothing.
    if name == "app":
        return create_app()
    raise AttributeError(name)
