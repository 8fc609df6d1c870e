"""Ralph (ralph-malph 5.1.0), an independent xAPI LRS, run as a real separate process.

Ralph lives in its own venv (`make peers`) because its exact pins would tie down the
project's. See docs/research/ralph-peer.md for how it behaves.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = Path(__file__).with_name("ralph_server.py")
HOST = "127.0.0.1"
START_TIMEOUT = 30.0
PAGE_LIMIT = 100  # Ralph's cap
# Each POST rereads Ralph's whole store to find the ids it knows: few, large batches.
POST_BATCH = 500
ALICE = ("alice", "secret", "mailto:alice@example.org")
# Hashed by Ralph's own bcrypt: the project venv has none. Cost 4 keeps it fast.
HASH_PASSWORDS = (
    "import bcrypt, json, sys; print(json.dumps([bcrypt.hashpw(p.encode(), bcrypt.gensalt(4))"
    ".decode() for p in json.load(sys.stdin)]))"
)


def ralph_python() -> Path:
    """The Ralph venv's interpreter: CPDFOLIO_RALPH_PYTHON, else the repo's .venv-ralph."""
    configured = os.environ.get("CPDFOLIO_RALPH_PYTHON")
    return Path(configured) if configured else REPO / ".venv-ralph" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


class PortTaken(RuntimeError):
    """Ralph could not bind its port."""


class Ralph:
    """One Ralph server on a loopback port, with its store, auth file and log under `root`.

    `users` are (username, password, mbox); requests made by this class use the first one.
    Ralph reads the auth file once, at its first authenticated request: give every user
    here, before `start()`.
    """

    def __init__(self, root: Path, users: Sequence[tuple[str, str, str]] = (ALICE,)) -> None:
        self.python = ralph_python()
        if not self.python.exists():
            raise FileNotFoundError(
                f"no Ralph venv at {self.python}: run `make peers` to build .venv-ralph "
                "(or set CPDFOLIO_RALPH_PYTHON to its python)"
            )
        self.users = list(users)
        self.username, self.password, _ = self.users[0]
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.data_dir = root / "data"
        self.log_path = root / "ralph.log"
        self._write_auth_file()
        self.port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.session = requests.Session()
        self.session.auth = (self.username, self.password)
        self.session.headers["X-Experience-API-Version"] = "1.0.3"

    @property
    def base_url(self) -> str:
        assert self.port is not None, "Ralph has not been started"
        return f"http://{HOST}:{self.port}"

    @property
    def endpoint(self) -> str:
        """The xAPI endpoint, as clients are given it (Ralph spells it with a capital API)."""
        return f"{self.base_url}/xAPI/"

    def _write_auth_file(self) -> None:
        passwords = [password for _, password, _ in self.users]
        hashed = subprocess.run(
            [str(self.python), "-c", HASH_PASSWORDS],
            input=json.dumps(passwords).encode(),
            capture_output=True,
            check=True,
        )
        accounts = [
            {
                "username": username,
                "hash": digest,
                "scopes": ["all"],
                "agent": {"mbox": mbox, "objectType": "Agent"},
            }
            for (username, _, mbox), digest in zip(
                self.users, json.loads(hashed.stdout), strict=True
            )
        ]
        (self.root / "auth.json").write_text(json.dumps(accounts))

    def _environment(self) -> dict[str, str]:
        """The caller's environment without RALPH_* (Ralph reads every one) or CPDFOLIO_*,
        plus what points Ralph at this server's files."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("RALPH_", "CPDFOLIO_"))
        }
        env.update(
            RALPH_RUNSERVER_BACKEND="fs",
            # The LRS prefix matters: RALPH_BACKENDS__DATA__FS__* is ignored by the server.
            RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH=str(self.data_dir),
            RALPH_AUTH_FILE=str(self.root / "auth.json"),
            # Both default to ~/.config/ralph, which tests must not touch.
            RALPH_HISTORY_FILE=str(self.root / "history.json"),
            RALPH_APP_DIR=str(self.root / "app"),
        )
        return env

    def start(self) -> None:
        """Start the server and wait for its heartbeat. The first start picks a free port;
        later ones reuse it, so clients configured with `endpoint` keep working."""
        assert self._process is None, "Ralph is already running"
        # A picked port can be taken before Ralph binds it (its imports take a second): by
        # another worker's server or an outgoing connection. Then pick again.
        pick_port = self.port is None
        for attempt in range(1, 4):
            if pick_port:
                self.port = free_port()
            self._spawn()
            try:
                self._wait_until_ready()
                return
            except PortTaken:
                self.kill()
                if not pick_port or attempt == 3:
                    raise
            except BaseException:
                self.kill()
                raise

    def _spawn(self) -> None:
        with self.log_path.open("wb") as log:
            # cwd is ours: Ralph reads ./.env and would default its store to the cwd.
            # -I (isolated): the launcher's directory stays off sys.path, else this module,
            # ralph.py, shadows the ralph package; PYTHONPATH and user site are ignored too.
            self._process = subprocess.Popen(
                [str(self.python), "-I", str(LAUNCHER), HOST, str(self.port)],
                cwd=self.root,
                env=self._environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def _wait_until_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                output = self.log_path.read_text(errors="replace")
                error = PortTaken if "address already in use" in output else RuntimeError
                raise error(
                    f"Ralph exited with {self._process.returncode} before it was ready:\n{output}"
                )
            try:
                if requests.get(f"{self.base_url}/__heartbeat__", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass  # not listening yet, or someone else is: its exit says which
            time.sleep(0.1)
        raise TimeoutError(
            f"Ralph did not answer /__heartbeat__ within {START_TIMEOUT:.0f} s:\n"
            + self.log_path.read_text(errors="replace")
        )

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it hangs. uvicorn re-raises SIGTERM, so the returncode
        is -15, not 0: it says nothing about a clean stop."""
        self._end(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL: only while idle. A write torn by it leaves a broken last line in Ralph's
        store, and every later POST and full read answers 500."""
        self._end(signal.SIGKILL)

    def _end(self, signum: signal.Signals) -> None:
        self.session.close()  # no pooled connection to a dead server is reused
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(signum)
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def restart(self) -> None:
        """Stop and start again on the same port, with the same store."""
        self.stop()
        self.start()

    def post(self, statements: list[dict[str, Any]]) -> list[str]:
        """POST raw JSON in batches; the ids Ralph stored (it leaves out ones it knew)."""
        ids: list[str] = []
        for start in range(0, len(statements), POST_BATCH):
            response = self.session.post(
                self.endpoint + "statements",
                json=statements[start : start + POST_BATCH],
                timeout=30,
            )
            assert response.status_code in (200, 204), (response.status_code, response.text)
            if response.status_code == 200:  # 204 (nothing new) has no body
                ids.extend(response.json())
        return ids

    def all_statements(self) -> list[dict[str, Any]]:
        """Every stored statement, in Ralph's order (as stored), following `more` to the end."""
        statements: list[dict[str, Any]] = []
        url: str | None = self.endpoint + "statements"
        params: dict[str, Any] | None = {"limit": PAGE_LIMIT}
        while url:
            response = self.session.get(url, params=params, timeout=30)
            assert response.status_code == 200, (response.status_code, response.text)
            page = response.json()
            statements.extend(page["statements"])
            # `more` is relative and carries the query; a full last page is followed by an
            # empty one without `more`.
            more = page.get("more")
            url, params = (urljoin(self.base_url, more), None) if more else (None, None)
        return statements
