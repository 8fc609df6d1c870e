"""End-to-end fixtures: the installed `cpdfolio` command, run as real processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

CPDFOLIO = str(Path(sys.executable).parent / "cpdfolio")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Instance:
    """One cpdfolio instance: its own directory, store and environment."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("CPDFOLIO_")},
            "CPDFOLIO_DATABASE_URL": f"sqlite:///{root / 'var' / 'cpdfolio.db'}",
        }
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def cli(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CPDFOLIO, *args],
            env=self.env,
            cwd=self.root,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def serve(self, *, workers: int = 2, port: int | None = None) -> str:
        """Start `cpdfolio serve` on `port` (a free one if not given); its base URL."""
        port = port or free_port()
        self.process = subprocess.Popen(
            [CPDFOLIO, "serve", "--port", str(port), "--workers", str(workers)],
            env=self.env,
            cwd=self.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"cpdfolio serve exited: {self.process.stdout.read()}")  # type: ignore[union-attr]
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return self.url
            except (requests.ConnectionError, requests.Timeout):
                # Accepting connections before the workers have booted; on a busy machine
                # the first answer can take longer than the poll's timeout.
                time.sleep(0.1)
        raise RuntimeError("cpdfolio serve did not become healthy in 30 s")

    def stop(self) -> str:
        if self.process is None:
            return ""
        self.process.send_signal(signal.SIGTERM)
        try:
            output, _ = self.process.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            output, _ = self.process.communicate()
        self.process = None
        return output


@pytest.fixture
def instance(tmp_path: Path) -> Iterator[Instance]:
    inst = Instance(tmp_path)
    yield inst
    inst.stop()
